/* service_probe: GET /healthz, read the backend count (see service_probe.h). */
#include "study/service_probe.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "net/http_client.h"
#include "net/json_read.h"
#include "net/loop.h"

#define PROBE_TIMEOUT_MS 5000

/* How many workers answer behind the service: the balancer's "up" count when it gives one, else its
 * "backends" count, else 1 (a worker alone); -1 when it is not JSON. */
static int backends_of(const char *json, size_t len, char *policy, size_t cap)
{
    struct jr j;
    jr_init(&j, json, len);
    bool first = true;
    char key[64];
    int rc, n = 1, up = -1;
    while ((rc = jr_next_key(&j, &first, key, sizeof key)) == 1) {
        double v;
        if (strcmp(key, "policy") == 0) {
            if (jr_string(&j, policy, cap) < 0)
                return -1;
        } else if (strcmp(key, "backends") == 0 || strcmp(key, "up") == 0) {
            struct jr at = j;
            if (jr_number(&j, &v) < 0) { /* "backends" is the list of them (the balancer with health) */
                j = at;
                if (jr_skip(&j) < 0)
                    return -1;
            } else if (!(v >= 0 && v <= 1e6)) {
                return -1;
            } else if (key[0] == 'u') {
                up = (int)v;
            } else {
                n = (int)v;
            }
        } else if (jr_skip(&j) < 0) {
            return -1;
        }
    }
    return rc == 0 ? (up >= 1 ? up : n) : -1;
}

int service_probe(const struct url *u, int *workers, char *err, size_t errlen)
{
    struct service_info info;
    int rc = service_probe_info(u, &info, err, errlen);
    if (rc == 0)
        *workers = info.workers;
    return rc;
}

int service_probe_info(const struct url *u, struct service_info *out, char *err, size_t errlen)
{
    out->workers = 0;
    out->policy[0] = '\0';
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
        else if ((out->workers = backends_of(r.body, r.body_len, out->policy, sizeof out->policy)) < 1)
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
