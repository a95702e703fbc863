/* zip: finds a stored (uncompressed) member of a zip archive appended to a file, as TFLite metadata does
 * with its associated files (e.g. the labels).  Bounds-checked; nothing allocated. */
#ifndef NN_ZIP_H
#define NN_ZIP_H

#include <stddef.h>
#include <stdint.h>

/* Looks for the first member whose name ends with suffix.  Returns 1 and sets *data and *len (a view into
 * file) when found, 0 when there is no zip or no such member, -1 when the archive is broken or the member
 * is compressed (reason in err). */
int zip_find_stored(const uint8_t *file, size_t n, const char *suffix, const uint8_t **data, size_t *len,
                    char *err, size_t errlen);

#endif
