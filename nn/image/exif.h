/* exif: read the orientation tag (0x0112) from an EXIF TIFF block, bounds-checked at every step. */
#ifndef NN_EXIF_H
#define NN_EXIF_H

#include <stddef.h>

/* The orientation 1..8 in IFD0 of the TIFF structure tiff[0..len) ("II" or "MM" byte order);
 * 1 when the block is malformed, the tag is missing, or its value is out of range. */
int exif_orientation(const unsigned char *tiff, size_t len);

#endif
