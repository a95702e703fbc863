/* fuzz_multipart: libFuzzer target for the multipart parser.  The first line of the input is the
 * Content-Type value, the rest the body.  Checks: every view lies inside the body, the parser
 * terminates, and feeding a prefix first gives the same parts as the whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/multipart.h"
#include "tests/fuzz_check.h"

/* Parses body[0..len) after first feeding body[0..split); returns the parts seen (at most 64). */
static int parse(struct http_str ct, const char *body, size_t len, size_t split, size_t *sizes)
{
    struct mp_parser p;
    struct mp_part part;
    if (mp_init(&p, ct) < 0)
        return -1;
    int n = 0, rc;
    while (n < 64 && (rc = mp_next(&p, body, split, &part)) == MP_PART)
        sizes[n++] = part.data.len;
    while (n < 64 && (rc = mp_next(&p, body, len, &part)) == MP_PART) {
        check_view(part.data, body, len);
        check_view(part.name, body, len);
        check_view(part.filename, body, len);
        for (size_t i = 0; i < part.num_headers; i++)
            check_view(part.headers[i].value, body, len);
        char name[32];
        mp_param_copy(part.name, name, sizeof name);
        sizes[n++] = part.data.len;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL)
        return 0;
    size_t ct_len = (size_t)(nl - data), len = size - ct_len - 1;
    char *ct = malloc(ct_len + 1), *body = malloc(len + 1);
    if (ct == NULL || body == NULL) {
        free(ct);
        free(body);
        return 0;
    }
    memcpy(ct, data, ct_len);
    memcpy(body, nl + 1, len);
    struct http_str ctv = { ct, ct_len };
    size_t a[64], b[64];
    int na = parse(ctv, body, len, len, a);
    int nb = parse(ctv, body, len, len / 2, b);
    CHECK(na == nb);
    for (int i = 0; i < na; i++)
        CHECK(a[i] == b[i]);
    struct mp_part part;
    const char *why;
    mp_find_field(ctv, body, len, "image", &part, &why);
    free(ct);
    free(body);
    return 0;
}
