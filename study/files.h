/* files: reading whole files (images, labels) with a size bound, and the labelled-set layout
 * DIR/images/ + DIR/labels.csv (filename,class_index,wnid). */
#ifndef STUDY_FILES_H
#define STUDY_FILES_H

#include <stddef.h>

/* Reads path into a malloc'd buffer (*data, caller frees).  Files over max bytes are refused.
 * Returns 0, or -1 with err filled. */
int file_read(const char *path, size_t max, unsigned char **data, size_t *len, char *err, size_t errlen);
/* mkdir -p.  Returns 0 or -1 with err filled. */
int file_mkdirs(const char *path, char *err, size_t errlen);

struct labeled_image {
    char path[512];   /* DIR/images/<filename> */
    int class_index;  /* 0..999 */
};

struct labeled_set {
    size_t n;
    struct labeled_image *items;
};

/* Loads DIR/labels.csv (a header line, then filename,class_index,wnid).  limit > 0 keeps the first limit
 * rows.  Returns 0, or -1 with err filled (naming the line at fault).  Free with labels_free. */
int labels_load(const char *dir, size_t limit, struct labeled_set *out, char *err, size_t errlen);
void labels_free(struct labeled_set *s);

#endif
