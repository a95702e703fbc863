/* results_index: list the study folders and their files as JSON (see results_index.h). */
#define _GNU_SOURCE
#include "balance/results_index.h"
#include "balance/static_files.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct entry {
    char name[NAME_MAX + 1];
    time_t modified;
};

static int newest_first(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->modified != y->modified)
        return x->modified < y->modified ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Fills list with up to max visible entries of dir that are folders (want_dirs) or regular files (with an
 * extension in allow, when not NULL). */
static size_t list_dir(const char *dir, int want_dirs, const char *const *allow, struct entry *list, size_t max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || (!want_dirs && !static_ext_allowed(e->d_name, allow)))
            continue;
        char path[PATH_MAX];
        struct stat st;
        /* lstat: a symlink is never listed (it might point outside the folder; studies write plain files) */
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || lstat(path, &st) != 0)
            continue;
        if (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
            continue;
        snprintf(list[n].name, sizeof list[n].name, "%s", e->d_name);
        list[n].modified = st.st_mtime;
        n++;
    }
    closedir(d);
    return n;
}

int results_index_json(const char *dir, const char *const *allow, struct buf *out)
{
    static struct entry studies[RESULTS_MAX_STUDIES], files[RESULTS_MAX_FILES]; /* one thread only */
    buf_clear(out);
    size_t ns = list_dir(dir, 1, NULL, studies, RESULTS_MAX_STUDIES);
    qsort(studies, ns, sizeof studies[0], newest_first);
    int rc = buf_append_str(out, "{\"studies\":[");
    for (size_t i = 0; i < ns && rc == 0; i++) {
        char path[PATH_MAX];
        size_t nf = 0;
        if (snprintf(path, sizeof path, "%s/%s", dir, studies[i].name) < (int)sizeof path)
            nf = list_dir(path, 0, allow, files, RESULTS_MAX_FILES);
        qsort(files, nf, sizeof files[0], by_name);
        rc |= buf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
        rc |= buf_append_json_str(out, studies[i].name, strlen(studies[i].name));
        rc |= buf_printf(out, ",\"modified\":%lld,\"files\":[", (long long)studies[i].modified);
        for (size_t j = 0; j < nf && rc == 0; j++) {
            if (j)
                rc |= buf_append_str(out, ",");
            rc |= buf_append_json_str(out, files[j].name, strlen(files[j].name));
        }
        rc |= buf_append_str(out, "]}");
    }
    rc |= buf_append_str(out, "]}\n");
    return rc == 0 ? 0 : -1;
}

int results_files_json(const char *dir, const char *key, struct buf *out)
{
    static struct entry files[RESULTS_MAX_FILES]; /* one thread only */
    buf_clear(out);
    size_t nf = list_dir(dir, 0, NULL, files, RESULTS_MAX_FILES);
    qsort(files, nf, sizeof files[0], by_name);
    int rc = buf_printf(out, "{\"%s\":[", key);
    for (size_t j = 0; j < nf && rc == 0; j++) {
        if (j)
            rc |= buf_append_str(out, ",");
        rc |= buf_append_json_str(out, files[j].name, strlen(files[j].name));
    }
    rc |= buf_append_str(out, "]}\n");
    return rc == 0 ? 0 : -1;
}
