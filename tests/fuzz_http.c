/* fuzz_http: libFuzzer target for the request and response parsers and the body reader.
 * Properties checked (abort on violation): views lie inside the input; a prefix of the input is
 * INCOMPLETE or already gets the whole input's verdict; the body reader never consumes or produces more than it was
 * given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "tests/fuzz_check.h"

static void fuzz_body(enum http_framing framing, uint64_t cl, char *body, size_t len)
{
    struct http_body b;
    http_body_init(&b, framing, cl, 1u << 20);
    size_t raw = 0, dec = 0;
    /* feed in pieces of varying size, decoding in place */
    for (size_t step = 1; raw < len; step = step * 3 + 1) {
        size_t n = len - raw < step ? len - raw : step, c, p;
        int rc = http_body_feed(&b, body + raw, n, body + dec, &c, &p);
        CHECK(c <= n && p <= c);
        raw += c;
        dec += p;
        CHECK(dec <= raw);
        if (rc != HTTP_INCOMPLETE)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    struct http_header h[16];
    struct http_request req;
    struct http_limits lim = { 2048, 256, 1u << 20 };
    /* More bytes never change a verdict: a prefix is INCOMPLETE, or already the same head or error. */
    if (size > 0) {
        size_t k = (size_t)data[0] * size / 256;
        struct http_request r2;
        int full = http_parse_request(buf, size, &lim, &r2, h, 16);
        int part = http_parse_request(buf, k, &lim, &r2, h, 16);
        if (full > 0 && k < (size_t)full)
            CHECK(part == HTTP_INCOMPLETE);
        else
            CHECK(part == HTTP_INCOMPLETE || part == full);
    }

    int rc = http_parse_request(buf, size, &lim, &req, h, 16);
    if (rc > 0) {
        CHECK((size_t)rc <= size);
        check_view(req.method, buf, size);
        check_view(req.target, buf, size);
        check_view(req.query, buf, size);
        for (size_t i = 0; i < req.num_headers; i++) {
            check_view(h[i].name, buf, size);
            check_view(h[i].value, buf, size);
        }
        fuzz_body(req.framing, req.content_length, buf + rc, size - (size_t)rc);
    } else {
        CHECK(rc == HTTP_INCOMPLETE || req.error != NULL);
    }
    memcpy(buf, data, size);
    struct http_response res;
    rc = http_parse_response(buf, size, size > 0 && (data[0] & 1), 2048, &res, h, 16);
    if (rc > 0) {
        CHECK((size_t)rc <= size);
        check_view(res.reason, buf, size);
        fuzz_body(res.framing, res.content_length, buf + rc, size - (size_t)rc);
    }

    memcpy(buf, data, size);
    fuzz_body(HTTP_BODY_CHUNKED, 0, buf, size);
    free(buf);
    return 0;
}
