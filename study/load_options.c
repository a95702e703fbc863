/* load_opts: shared option handling for the two load commands. */
#include "net/cli.h"
#include "study/load_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study/args.h"
#include "study/commands.h"
#include "study/files.h"
#include "net/multipart_request.h"

#define IMAGE_FILE_MAX (64u * 1024 * 1024)

void load_opts_defaults(struct load_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cfg.window_s = 5;
    o->cfg.max_windows = 4;
    o->cfg.tolerance = 0.10;
    o->cfg.seed = 1;
    o->cfg.timeout_ms = 30000;
    o->cfg.max_conns = 512;
}

int load_opts_handle(int c, const char *arg, struct load_opts *o)
{
    long v;
    switch (c) {
    case 'u': o->url = arg; return 1;
    case 'i': o->image = arg; return 1;
    case 'o': o->out = arg; return 1;
    case 'c': o->csv = 1; return 1;
    case 'd': return args_positive("--duration", arg, &o->cfg.window_s) < 0 ? -1 : 1;
    case 't': return args_positive("--timeout-ms", arg, &o->cfg.timeout_ms) < 0 ? -1 : 1;
    case 'w':
        if (cli_long("client", "--max-windows", arg, 1, LOAD_MAX_WINDOWS, &v) < 0)
            return -1;
        o->cfg.max_windows = (int)v;
        return 1;
    case 's':
        if (cli_long("client", "--seed", arg, 0, 0x7fffffffL, &v) < 0)
            return -1;
        o->cfg.seed = (uint64_t)v;
        return 1;
    case 'Q':
        if (cli_long("client", "--queue-bound", arg, 0, 1000000, &v) < 0)
            return -1;
        o->queue_bound = (int)v;
        return 1;
    case 'C':
        if (cli_long("client", "--max-conns", arg, 1, 60000, &v) < 0)
            return -1;
        o->cfg.max_conns = (int)v;
        return 1;
    default:
        return 0;
    }
}

int load_opts_request(const struct load_opts *o, const char *url_text, int backends, struct url *u, struct buf *out,
                      size_t *head_len)
{
    char text[URL_TARGET_MAX + 512], err[512];
    int n = backends > 0 ? snprintf(text, sizeof text, "%s%sbackends=%d", url_text,
                                    strchr(url_text, '?') ? "&" : "?", backends)
                         : snprintf(text, sizeof text, "%s", url_text);
    if (n < 0 || (size_t)n >= sizeof text || url_parse(text, "/submit", u, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", n < 0 || (size_t)n >= sizeof text ? "url too long" : err);
        return -1;
    }
    char path[1024];
    const char *image = o->image;
    if (!image) {
        snprintf(path, sizeof path, "%s/eval/seed_test_images/test_224.jpg", default_shared());
        image = path;
    }
    unsigned char *bytes;
    size_t len;
    if (file_read(image, IMAGE_FILE_MAX, &bytes, &len, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    int rc = mp_request_build(u, "image", bytes, len, image, out, head_len);
    free(bytes);
    if (rc < 0)
        fprintf(stderr, "client: building the request failed\n");
    return rc;
}
