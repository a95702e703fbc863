/* oip: the protocol's paths and health answers (see oip.h). */
#include "net/oip.h"

#include <string.h>

bool oip_path(struct http_str path)
{
    return path.len >= 3 && memcmp(path.p, "/v2", 3) == 0 && (path.len == 3 || path.p[3] == '/');
}

enum oip_health oip_health_path(struct http_str path)
{
    return http_str_eq(path, "/v2/health/live") ? OIP_LIVE : http_str_eq(path, "/v2/health/ready") ? OIP_READY
                                                                                                   : OIP_NOT_HEALTH;
}

void oip_answer_health(struct srv_conn *c, const struct srv_request *r, bool yes, const char *extra)
{
    if (http_str_eq(r->http.method, "GET") || http_str_eq(r->http.method, "HEAD"))
        srv_respond(c, yes ? 200 : 400, NULL, "", 0, extra);
    else
        srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use GET", "Allow: GET, HEAD\r\n");
}
