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
#include <sys/stat.h>

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
/* The same for a path already percent-decoded (NUL-terminated); st (may be NULL) gets the file's stat. */
int static_resolve_decoded(const struct static_root *r, const char *decoded, char *out, size_t outlen,
                           struct stat *st);
/* Percent-decodes url_path into out (NUL-terminated; cap PATH_MAX holds any request target).  0, -400
 * (a bad escape, or longer than cap) or -404 (a NUL or no leading '/'). */
int static_decode(struct http_str url_path, char *out, size_t cap);

/* True when allow is NULL or the name's extension (after the last '.' of its last segment, any case) is
 * one of allow's (a NULL-terminated list such as {"csv", "md", NULL}). */
bool static_ext_allowed(const char *name, const char *const *allow);

/* The Content-Type for a file name, from its extension ("application/octet-stream" when unknown). */
const char *static_content_type(const char *path);

/* Opens a regular file for reading (never blocking on a FIFO) and fills st from the open file.
 * The fd (>= 0; the caller closes it), or -404 / -500. */
int static_open(const char *path, struct stat *st);
/* Reads exactly len bytes from fd into dst.  0, or -500 (an error, or the file is shorter). */
int static_read_fd(int fd, char *dst, size_t len);

#endif
