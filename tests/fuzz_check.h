/* fuzz_check: what the net/ fuzz targets assert — a failed property aborts, so libFuzzer keeps the input. */
#ifndef TESTS_FUZZ_CHECK_H
#define TESTS_FUZZ_CHECK_H

#include <stdlib.h>

#include "net/http.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

/* A non-empty view must lie inside buf[0..len). */
static inline void check_view(struct http_str v, const char *buf, size_t len)
{
    if (v.len == 0)
        return;
    CHECK(v.p >= buf && v.p + v.len <= buf + len);
}

#endif
