/* http_testlib: helpers shared by the net/ Check suites — exact-size copies (so ASan sees any read past
 * the input) and a view-equals-string assertion. */
#ifndef TESTS_HTTP_TESTLIB_H
#define TESTS_HTTP_TESTLIB_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

/* A malloc'd copy of s[0..n) with nothing after it; free it. */
static inline char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, s, n);
    return p;
}

#define ck_assert_view(view, lit)                                                                  \
    do {                                                                                           \
        struct http_str v_ = (view);                                                               \
        ck_assert_msg(http_str_eq(v_, (lit)), "expected \"%s\", got \"%.*s\"", (lit), (int)v_.len, \
                      v_.p ? v_.p : "");                                                           \
    } while (0)

#endif
