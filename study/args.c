/* args: strict number parsing (strtol/strtod accept trailing junk unless told otherwise). */
#include "study/args.h"

#include "net/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_bad_option(const char *cmd, char *const argv[])
{
    char prog[64];
    snprintf(prog, sizeof prog, "client %s", cmd);
    cli_bad_option(prog, argv);
    cli_hint(prog);
    return 2;
}

/* One number up to ARGS_POSITIVE_MAX, above 0 or (allow_zero) at least 0. */
static int one_number(const char *opt, const char *s, int allow_zero, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(allow_zero ? v >= 0 : v > 0) || !(v <= ARGS_POSITIVE_MAX)) {
        fprintf(stderr, "client: %s: '%s' is not a %s number up to %g\n", opt, s,
                allow_zero ? "non-negative" : "positive", ARGS_POSITIVE_MAX);
        return -1;
    }
    *out = v + 0.0; /* -0 reads as 0 */
    return 0;
}

int args_positive(const char *opt, const char *s, double *out)
{
    return one_number(opt, s, 0, out);
}

int args_nonnegative(const char *opt, const char *s, double *out)
{
    return one_number(opt, s, 1, out);
}

/* Splits s at commas and hands each item to parse_one(item, i); shared by both list parsers. */
static int split_list(const char *opt, const char *s, int max, int (*parse_one)(const char *item, int i, void *ctx),
                      void *ctx)
{
    char copy[1024];
    if (strlen(s) >= sizeof copy) {
        fprintf(stderr, "client: %s: list too long\n", opt);
        return -1;
    }
    strcpy(copy, s);
    int n = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (n == max) {
            fprintf(stderr, "client: %s: more than %d items\n", opt, max);
            return -1;
        }
        if (parse_one(item, n, ctx) < 0)
            return -1;
        n++;
    }
    if (n == 0)
        fprintf(stderr, "client: %s: empty list\n", opt);
    return n ? n : -1;
}

struct int_ctx {
    const char *opt;
    int *out;
    int lo, hi;
};

static int one_int(const char *item, int i, void *ctx)
{
    struct int_ctx *c = ctx;
    long v;
    if (cli_long("client", c->opt, item, c->lo, c->hi, &v) < 0)
        return -1;
    c->out[i] = (int)v;
    return 0;
}

int args_int_list(const char *opt, const char *s, int *out, int max, int lo, int hi)
{
    struct int_ctx c = { opt, out, lo, hi };
    return split_list(opt, s, max, one_int, &c);
}

struct double_ctx {
    const char *opt;
    double *out;
};

static int one_double(const char *item, int i, void *ctx)
{
    struct double_ctx *c = ctx;
    return args_positive(c->opt, item, &c->out[i]);
}

int args_double_list(const char *opt, const char *s, double *out, int max)
{
    struct double_ctx c = { opt, out };
    return split_list(opt, s, max, one_double, &c);
}
