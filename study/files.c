/* files: small, bounded file helpers. */
#include "study/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LABELS_FILE_MAX (256u * 1024 * 1024) /* ImageNet val is 50 000 lines, 2.5 MB */

/* Opens path for reading without blocking (a FIFO with no writer would hang fopen) and accepts only a
 * regular file of at most max bytes.  Returns the stream and its size, or NULL with err filled. */
static FILE *open_regular(const char *path, size_t max, size_t *size, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    } else if ((size_t)st.st_size > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
    } else {
        FILE *f = fdopen(fd, "rb");
        if (f) {
            *size = (size_t)st.st_size;
            return f;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

int file_read(const char *path, size_t max, unsigned char **data, size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    size_t size;
    FILE *f = open_regular(path, max, &size, err, errlen);
    if (!f)
        return -1;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf || fread(buf, 1, size, f) != size) {
        snprintf(err, errlen, "%s: %s", path, buf ? "short read" : "out of memory");
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = buf;
    *len = size;
    return 0;
}

int file_mkdirs(const char *path, char *err, size_t errlen)
{
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

/* One data line "filename,class_index,wnid" into item. */
static int parse_label_line(const char *dir, char *line, struct labeled_image *item)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *comma = strchr(line, ',');
    if (!comma || comma == line)
        return -1;
    *comma = '\0';
    char *end;
    long ci = strtol(comma + 1, &end, 10);
    if (end == comma + 1 || (*end != ',' && *end != '\0') || ci < 0 || ci > 999 || strchr(line, '/'))
        return -1;
    int n = snprintf(item->path, sizeof item->path, "%s/images/%s", dir, line);
    if (n < 0 || (size_t)n >= sizeof item->path)
        return -1;
    item->class_index = (int)ci;
    return 0;
}

int labels_load(const char *dir, size_t limit, struct labeled_set *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char path[1024];
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    size_t size;
    FILE *f = open_regular(path, LABELS_FILE_MAX, &size, err, errlen);
    if (!f)
        return -1;
    size_t cap = 0;
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f) && (limit == 0 || out->n < limit)) {
        if (++lineno == 1)
            continue; /* header */
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct labeled_image *grown = realloc(out->items, ncap * sizeof *grown);
            if (!grown) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            out->items = grown;
            cap = ncap;
        }
        if (parse_label_line(dir, line, &out->items[out->n]) < 0) {
            snprintf(err, errlen, "%s:%d: expected filename,class_index,wnid", path, lineno);
            rc = -1;
            break;
        }
        out->n++;
    }
    fclose(f);
    if (rc == 0 && out->n == 0) {
        snprintf(err, errlen, "%s: no labelled images", path);
        rc = -1;
    }
    if (rc < 0)
        labels_free(out);
    return rc;
}

void labels_free(struct labeled_set *s)
{
    free(s->items);
    s->items = NULL;
    s->n = 0;
}
