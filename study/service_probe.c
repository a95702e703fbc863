/* service_probe: GET /healthz, read the backend count (see service_probe.h). */
#include "study/service_probe.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "net/http_client.h"
#include "net/json_read.h"
#include "net/loop.h"

#define PROBE_TIMEOUT_MS 5000

/* The "backends" member of a flat JSON object, or 1 when there is none; -1 when it is not JSON. */
static int backends_of(const char *json, size_t len)
{
    struct jr j;
    jr_init(&j, json, len);
    bool first = true;
    char key[64];
    int rc, n = 1;
    while ((rc = jr_next_key(&j, &first, key, sizeof key)) == 1) {
        double v;
        if (strcmp(key, "backends") == 0) {
            if (jr_number(&j, &v) < 0 || !(v >= 1 && v <= 1e6))
                return -1;
            n = (int)v;
        } else if (jr_skip(&j) < 0) {
            return -1;
        }
    }
    return rc == 0 ? n : -1;
}

int service_probe(const struct url *u, int *workers, char *err, size_t errlen)
{
    char host[SOCK_HOST_MAX + 16], head[SOCK_HOST_MAX + 128];
    if (url_authority(u, host, sizeof host) < 0) {
        snprintf(err, errlen, "the URL's host is too long");
        return -1;
    }
    int n = snprintf(head, sizeof head, "GET /healthz HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n", host);
    struct loop *l = loop_create(64);
    struct http_client_opts one = { 1, 0, 64u * 1024 };
    struct http_client *c = l ? http_client_create(l, u->host, u->port, &one, err, errlen) : NULL;
    int rc = -1;
    if (!l) {
        snprintf(err, errlen, "cannot create an event loop");
    } else if (c) {
        struct http_reply r;
        if (http_client_roundtrip(c, head, (size_t)n, NULL, 0, PROBE_TIMEOUT_MS, &r) < 0)
            snprintf(err, errlen, "%s", r.detail);
        else if (r.status != 200)
            snprintf(err, errlen, "%s:%d/healthz answered HTTP %d", u->host, u->port, r.status);
        else if ((*workers = backends_of(r.body, r.body_len)) < 1)
            snprintf(err, errlen, "%s:%d/healthz answered something that is not its JSON", u->host, u->port);
        else
            rc = 0;
        http_reply_free(&r);
    }
    http_client_free(c);
    if (l)
        loop_destroy(l);
    return rc;
}
