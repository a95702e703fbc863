/* static_files: safe path mapping, content types and whole-file reads (see static_files.h). */
#define _GNU_SOURCE
#include "balance/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int static_root_init(struct static_root *r, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (!realpath(dir, r->real) || stat(r->real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a folder", dir);
        return -1;
    }
    r->len = strlen(r->real);
    return 0;
}

bool static_root_holds(const struct static_root *r, const char *path)
{
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (!realpath(dir, real))
        return false; /* no such folder: the file cannot be opened there either */
    return strncmp(real, r->real, r->len) == 0 && (real[r->len] == '\0' || real[r->len] == '/' || r->len == 1);
}

/* True when a decoded path has a ".." segment. */
static bool has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2) {
        bool starts = s == p || s[-1] == '/';
        bool ends = s[2] == '\0' || s[2] == '/';
        if (starts && ends)
            return true;
    }
    return false;
}

int static_decode(struct http_str url_path, char *out, size_t cap)
{
    if (cap == 0)
        return -404;
    ssize_t n = http_percent_decode(url_path, out, cap - 1, false);
    if (n < 0) /* a bad escape (out is as large as a request target can be) */
        return -400;
    out[n] = '\0';
    return (size_t)n != strlen(out) || out[0] != '/' ? -404 : 0;
}

int static_resolve(const struct static_root *r, struct http_str url_path, char *out, size_t outlen)
{
    char decoded[PATH_MAX];
    int rc = static_decode(url_path, decoded, sizeof decoded);
    return rc != 0 ? rc : static_resolve_decoded(r, decoded, out, outlen, NULL);
}

int static_resolve_decoded(const struct static_root *r, const char *decoded, char *out, size_t outlen,
                           struct stat *st_out)
{
    size_t n = strlen(decoded);
    if (n == 0 || decoded[0] != '/' || has_dotdot(decoded))
        return -404;
    char joined[PATH_MAX * 2];
    const char *index = decoded[n - 1] == '/' ? "index.html" : "";
    if (snprintf(joined, sizeof joined, "%s%s%s", r->real, decoded, index) >= (int)sizeof joined)
        return -404;
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(joined, real) || stat(real, &st) != 0)
        return -404;
    if (S_ISDIR(st.st_mode)) {
        /* "/dir" without the slash: serve its index.html, again through realpath. */
        if (snprintf(joined, sizeof joined, "%s/index.html", real) >= (int)sizeof joined ||
            !realpath(joined, real) || stat(real, &st) != 0)
            return -404;
    }
    size_t len = strlen(real);
    bool inside = len > r->len && strncmp(real, r->real, r->len) == 0 && real[r->len] == '/';
    if (!inside || !S_ISREG(st.st_mode) || len >= outlen)
        return -404;
    memcpy(out, real, len + 1);
    if (st_out)
        *st_out = st;
    return 0;
}

bool static_ext_allowed(const char *name, const char *const *allow)
{
    if (!allow)
        return true;
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    for (size_t i = 0; dot && allow[i]; i++)
        if (strcasecmp(dot + 1, allow[i]) == 0)
            return true;
    return false;
}

const char *static_content_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        { "html", "text/html; charset=utf-8" },  { "css", "text/css; charset=utf-8" },
        { "js", "text/javascript; charset=utf-8" }, { "json", "application/json" },
        { "svg", "image/svg+xml" },              { "png", "image/png" },
        { "jpg", "image/jpeg" },                 { "jpeg", "image/jpeg" },
        { "gif", "image/gif" },                  { "ico", "image/x-icon" },
        { "md", "text/markdown; charset=utf-8" }, { "csv", "text/csv; charset=utf-8" },
        { "txt", "text/plain; charset=utf-8" },
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    }
    return "application/octet-stream";
}

int static_open(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? -404 : -500;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -404;
    }
    return fd;
}

int static_read_fd(int fd, char *dst, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, dst + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -500; /* the file shrank or failed under us */
        got += (size_t)n;
    }
    return 0;
}
