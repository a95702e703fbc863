/* load_opts: the options `client load` and `client load-study` share (target, picture, windows, seed,
 * limits) and the request both send. */
#ifndef STUDY_LOAD_OPTS_H
#define STUDY_LOAD_OPTS_H

#include <getopt.h>

#include "net/buf.h"
#include "study/load_generator.h"
#include "net/url.h"

struct load_opts {
    struct load_config cfg;
    const char *url, *image, *out;
    int csv;
    int queue_bound;     /* the workers' --queue, for the predictions (0 = unbounded) */
};

/* getopt_long entries for the shared options (splice into each command's table) and their letters. */
#define LOAD_OPTS_LONG                                                                              \
    { "url", required_argument, 0, 'u' }, { "image", required_argument, 0, 'i' },                   \
    { "duration", required_argument, 0, 'd' }, { "max-windows", required_argument, 0, 'w' },        \
    { "seed", required_argument, 0, 's' }, { "timeout-ms", required_argument, 0, 't' },             \
    { "max-conns", required_argument, 0, 'C' }, { "csv", no_argument, 0, 'c' },                     \
    { "out", required_argument, 0, 'o' }, { "queue-bound", required_argument, 0, 'Q' }
#define LOAD_OPTS_SHORT "u:i:d:w:s:t:C:co:Q:"
#define LOAD_OPTS_HELP                                                                              \
    "  --duration SEC     window length (default 5); windows repeat until two agree within 10%%\n"  \
    "  --max-windows K    at most K windows (default 4)\n"                                           \
    "  --seed N           arrival schedule seed (default 1)\n"                                      \
    "  --timeout-ms MS    per request (default 30000)\n"                                            \
    "  --max-conns N      requests in flight at most (default 512; more arrivals count as dropped)\n" \
    "  --image FILE       picture to send (default $IMGREC_SHARED/eval/seed_test_images/test_224.jpg)\n" \
    "  --queue-bound K    the workers queue at most K requests (their --queue): caps predicted waits\n" \
    "  --csv              CSV instead of a table; --out DIR also writes the study files there\n"

void load_opts_defaults(struct load_opts *o);
/* Handles one shared option letter.  Returns 1 handled, 0 not a shared option, -1 bad value (reported). */
int load_opts_handle(int c, const char *arg, struct load_opts *o);
/* Parses url_text (query backends=N appended when backends > 0) and builds the upload of the picture
 * (its head is out[0..*head_len)).  out must be buf_init'ed.  Returns 0 or -1 (reported on stderr). */
int load_opts_request(const struct load_opts *o, const char *url_text, int backends, struct url *u, struct buf *out,
                      size_t *head_len);

#endif
