/* url: parsing "http://host:port/path?query".  No userinfo, no fragments, no https: the service speaks
 * plain HTTP/1.1 only. */
#include "net/url.h"

#include <stdio.h>
#include <string.h>

int url_parse(const char *s, const char *default_path, struct url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *auth = strstr(s, "://");
    if (!auth || auth - s != 4 || strncmp(s, "http", 4) != 0) {
        snprintf(err, errlen, "url %s: only http:// is supported", s);
        return -1;
    }
    auth += 3;
    const char *slash = auth + strcspn(auth, "/?#");
    if (strchr(s, '#')) {
        snprintf(err, errlen, "url %s: fragments are not supported", s);
        return -1;
    }
    char hostport[SOCK_HOST_MAX + 8];
    size_t alen = (size_t)(slash - auth);
    if (alen == 0 || alen >= sizeof hostport) {
        snprintf(err, errlen, "url %s: bad host", s);
        return -1;
    }
    memcpy(hostport, auth, alen);
    hostport[alen] = '\0';
    if (!strchr(hostport, ':') || (hostport[0] == '[' && !strstr(hostport, "]:"))) {
        if (alen + 3 >= sizeof hostport) {
            snprintf(err, errlen, "url %s: bad host", s);
            return -1;
        }
        strcat(hostport, ":80");
    }
    if (sock_parse_hostport(hostport, out->host, sizeof out->host, &out->port, err, errlen) < 0)
        return -1;
    if (out->host[0] == '\0') {
        snprintf(err, errlen, "url %s: empty host", s);
        return -1;
    }
    const char *path = *slash ? slash : default_path;
    if (path[0] == '/' && path[1] == '?')
        path++; /* "host/?q" means the default path with a query */
    char target[URL_TARGET_MAX];
    int n = *path == '?' ? snprintf(target, sizeof target, "%s%s", default_path, path)
                         : snprintf(target, sizeof target, "%s", path);
    if (n < 0 || (size_t)n >= sizeof target) {
        snprintf(err, errlen, "url %s: path too long", s);
        return -1;
    }
    if (strcmp(target, "/") == 0)
        snprintf(target, sizeof target, "%s", default_path);
    memcpy(out->target, target, sizeof target);
    return 0;
}

int url_authority(const struct url *u, char *out, size_t cap)
{
    const char *fmt = strchr(u->host, ':') ? "[%s]:%d" : "%s:%d";
    int n = snprintf(out, cap, fmt, u->host, u->port);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
