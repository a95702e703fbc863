/* url: the one URL shape the client talks to, http://HOST:PORT[/path][?query]. */
#ifndef NET_URL_H
#define NET_URL_H

#include "net/sock.h"

#define URL_TARGET_MAX 1024

struct url {
    char host[SOCK_HOST_MAX]; /* as written, without brackets for IPv6 */
    int port;                 /* 80 when not given */
    char target[URL_TARGET_MAX]; /* path and query to send, e.g. "/submit?backends=2" */
};

/* Parses s.  default_path is used when s has no path (e.g. "/submit").  Returns 0, or -1 with err filled. */
int url_parse(const char *s, const char *default_path, struct url *out, char *err, size_t errlen);
/* Writes "HOST:PORT" (bracketed for IPv6) for the Host header.  Returns 0, or -1 if it does not fit. */
int url_authority(const struct url *u, char *out, size_t cap);

#endif
