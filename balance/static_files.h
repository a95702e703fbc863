/* static_files: serve files from one folder without ever leaving it.
 *
 * A URL path is percent-decoded, refused if it holds a NUL or a ".." segment, then resolved with
 * realpath (which follows symlinks) and accepted only if the result still lies inside the root's own
 * real path.  So "..", "%2e%2e" and a symlink pointing outside all end in 404. */
#ifndef SVC_STATIC_FILES_H
#define SVC_STATIC_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/buf.h"
#include "net/http.h"

struct static_root {
    char real[PATH_MAX];  /* realpath of the folder */
    size_t len;
};

/* 0, or -1 with err filled when dir does not exist or is not a folder. */
int static_root_init(struct static_root *r, const char *dir, char *err, size_t errlen);

/* True when the file at path (which may not exist yet: its folder is resolved) would lie inside the
 * root, so serving the root could hand it out (the balancer refuses an --access-log there). */
bool static_root_holds(const struct static_root *r, const char *path);

/* Maps url_path ("/", "/app.js", "/a%20b/c.csv"; a folder means its index.html) to the real path of a
 * regular file inside the root.  Returns 0, or -400 (bad percent-encoding) or -404. */
int static_resolve(const struct static_root *r, struct http_str url_path, char *out, size_t outlen);

/* The Content-Type for a file name, from its extension ("application/octet-stream" when unknown). */
const char *static_content_type(const char *path);

/* Replaces b's content with the whole file (at most max bytes).  0, -404, -413 (too large) or -500. */
int static_read(const char *path, struct buf *b, size_t max);

#endif
