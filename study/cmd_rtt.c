/* client rtt: study 2 — the same photo at several sizes, each sent n times in a row; bytes on the wire
 * and the RTT's mean, p50 and p99 per size. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/buf.h"
#include "net/cli.h"
#include "study/args.h"
#include "study/commands.h"
#include "study/service_probe.h"
#include "study/degrade.h"
#include "study/image_encode.h"
#include "study/files.h"
#include "study/measure.h"
#include "study/progress.h"
#include "study/stats.h"
#include "study/table.h"
#include "net/multipart_request.h"

#define MAX_SIZES 16
#define IMAGE_FILE_MAX (64u * 1024 * 1024)
#define RTT_TIMEOUT_MS 60000
#define JPEG_QUALITY 90

static const int default_sizes[] = { 16, 32, 64, 96, 128, 224, 2000 };

static void usage(FILE *f)
{
    fprintf(f, "usage: client rtt --url URL [--image FILE | --photo FILE] [--sizes 16,32,...] [--n N]\n"
               "                   [--csv] [--out DIR] [--name NAME]\n"
               "  Sends each picture N times (default 20) one after another on a keep-alive connection,\n"
               "  after one warm-up, and prints size,image_bytes,request_bytes,n,errors,mean_ms,p50_ms,p99_ms.\n"
               "  Pictures: by default the original study's test_<size>.jpg from $IMGREC_SHARED/eval/\n"
               "  seed_test_images (sizes 16,32,64,96,128,224,2000); --photo FILE makes them from any photo\n"
               "  (centre square, resized, JPEG quality %d); --image FILE sends just that file.\n"
               "  --out DIR writes DIR/<NAME>.{csv,md} (NAME defaults to rtt).\n", JPEG_QUALITY);
}

struct rtt_opts {
    const char *url, *image, *photo, *out, *name;
    int sizes[MAX_SIZES], nsizes, n, csv;
};

/* The encoded picture for one row: a file's bytes, or the photo resized to s and encoded. */
static int picture(const struct rtt_opts *o, const struct img *photo, int s, unsigned char **bytes, size_t *len,
                   char *err, size_t errlen)
{
    if (o->image)
        return file_read(o->image, IMAGE_FILE_MAX, bytes, len, err, errlen);
    if (!photo) {
        char path[1024];
        snprintf(path, sizeof path, "%s/eval/seed_test_images/test_%d.jpg", default_shared(), s);
        return file_read(path, IMAGE_FILE_MAX, bytes, len, err, errlen);
    }
    struct img square, sized;
    int rc = img_crop_center(photo, &square);
    if (rc == 0) {
        rc = img_resize(&square, s, s, &sized);
        img_free(&square);
    }
    if (rc == 0) {
        rc = img_encode_jpeg(&sized, JPEG_QUALITY, bytes, len);
        img_free(&sized);
    }
    if (rc < 0)
        snprintf(err, errlen, "making the %dx%d picture failed", s, s);
    return rc < 0 ? -1 : 0;
}

static int image_width(const unsigned char *bytes, size_t len)
{
    struct img im = { 0 };
    char err[128];
    int w = img_decode(bytes, len, &im, err, sizeof err) == 0 ? im.w : 0;
    img_free(&im);
    return w;
}

static void fmt_row(struct table *t, int size, size_t image_bytes, size_t req_bytes, const struct sequential *q)
{
    struct summary sm;
    stats_summarize(q->rtt_ms, (size_t)q->ok, &sm);
    char c[8][32];
    snprintf(c[0], sizeof c[0], "%d", size);
    snprintf(c[1], sizeof c[1], "%zu", image_bytes);
    snprintf(c[2], sizeof c[2], "%zu", req_bytes);
    snprintf(c[3], sizeof c[3], "%d", q->ok);
    snprintf(c[4], sizeof c[4], "%d", q->errors);
    snprintf(c[5], sizeof c[5], "%.2f", sm.mean);
    snprintf(c[6], sizeof c[6], "%.2f", sm.p50);
    snprintf(c[7], sizeof c[7], "%.2f", sm.p99);
    const char *const row[] = { c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7] };
    table_row(t, row);
}

/* What a row's messages name: the --image file (its single row has no size of its own), else the size. */
static void row_name(const struct rtt_opts *o, int i, char *name, size_t cap)
{
    if (o->image)
        snprintf(name, cap, "%s", o->image);
    else
        snprintf(name, cap, "size %d", o->sizes[i]);
}

static int run_rows(const struct rtt_opts *o, const struct url *u, const struct img *photo, struct table *t)
{
    int failed = 0;
    struct progress pg;
    progress_start(&pg, "client rtt", o->nsizes);
    for (int i = 0; i < o->nsizes; i++) {
        unsigned char *bytes = NULL;
        size_t len = 0;
        char err[512];
        struct buf req;
        buf_init(&req, IMAGE_FILE_MAX + 4096);
        struct sequential q = { 0 };
        char name[256];
        row_name(o, i, name, sizeof name);
        progress_update(&pg, i, name);
        int rc = picture(o, photo, o->sizes[i], &bytes, &len, err, sizeof err);
        if (rc < 0) /* its messages name the file or the size already */
            name[0] = '\0';
        size_t head_len = 0;
        if (rc == 0 && mp_request_build(u, "image", bytes, len, "image.jpg", &req, &head_len) < 0) {
            snprintf(err, sizeof err, "building the request failed");
            rc = -1;
        }
        if (rc == 0)
            rc = measure_sequential(u, buf_ptr(&req), head_len, buf_len(&req), o->n, RTT_TIMEOUT_MS, &q, err,
                                    sizeof err);
        progress_end(&pg); /* the row or the message starts a clean line */
        if (rc == 0) {
            fmt_row(t, o->image ? image_width(bytes, len) : o->sizes[i], len, buf_len(&req), &q);
            if (q.errors)
                fprintf(stderr, "client: %s: %d errors (last: %s)\n", name, q.errors, q.last_error);
            failed |= q.errors > 0;
        } else {
            fprintf(stderr, "client: %s%s%s\n", name, name[0] ? ": " : "", err);
            failed = 1;
        }
        sequential_free(&q);
        buf_free(&req);
        free(bytes);
    }
    return failed;
}

static int parse(int argc, char **argv, struct rtt_opts *o)
{
    static const struct option opts[] = {
        { "url", required_argument, 0, 'u' },   { "image", required_argument, 0, 'i' },
        { "photo", required_argument, 0, 'p' }, { "sizes", required_argument, 0, 'z' },
        { "n", required_argument, 0, 'n' },     { "csv", no_argument, 0, 'c' },
        { "out", required_argument, 0, 'o' },   { "name", required_argument, 0, 'N' },
        { "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    o->n = 20;
    o->name = "rtt";
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "u:i:p:z:n:co:N:h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': o->url = optarg; break;
        case 'i': o->image = optarg; break;
        case 'p': o->photo = optarg; break;
        case 'z':
            if ((o->nsizes = args_int_list("--sizes", optarg, o->sizes, MAX_SIZES, 1, 8192)) < 0)
                return 2;
            break;
        case 'n':
            if (cli_long("client", "--n", optarg, 1, 100000, &v) < 0)
                return 2;
            o->n = (int)v;
            break;
        case 'c': o->csv = 1; break;
        case 'o': o->out = optarg; break;
        case 'N': o->name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("rtt", argv);
        }
    }
    if (!o->url || optind != argc || (o->image && o->photo)) {
        fprintf(stderr, "client rtt: needs --url, at most one of --image/--photo, no other arguments\n");
        return 2;
    }
    if (o->image) {
        o->nsizes = 1; /* one row; its size is read from the file */
    } else if (o->nsizes == 0) {
        o->nsizes = (int)(sizeof default_sizes / sizeof default_sizes[0]);
        memcpy(o->sizes, default_sizes, sizeof default_sizes);
    }
    return -1;
}

int cmd_rtt(int argc, char **argv)
{
    struct rtt_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct url u;
    char err[512];
    if (url_parse(o.url, "/submit", &u, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        return 2;
    }
    struct img photo = { 0 };
    if (o.photo) {
        unsigned char *bytes;
        size_t len;
        char why[400];
        rc = file_read(o.photo, IMAGE_FILE_MAX, &bytes, &len, err, sizeof err); /* err names the file */
        if (rc == 0 && img_decode(bytes, len, &photo, why, sizeof why) < 0) {
            snprintf(err, sizeof err, "%s: %s", o.photo, why);
            rc = -1;
        }
        free(bytes);
        if (rc < 0) {
            fprintf(stderr, "client: %s\n", err);
            return 1;
        }
    }
    int workers;
    unsigned char *image = NULL;
    size_t image_len;
    /* What was typed is checked before the network: a bad --image is named, then a dead URL in one line
     * (not a table of zeros). */
    if ((o.image && file_read(o.image, IMAGE_FILE_MAX, &image, &image_len, err, sizeof err) < 0) ||
        service_probe(&u, &workers, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        img_free(&photo);
        return 1;
    }
    free(image);
    struct table t;
    table_init(&t, 8, o.csv);
    char title[300];
    snprintf(title, sizeof title, "RTT vs image size: %s", o.name);
    if (o.out && table_open_files(&t, o.out, o.name, title, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        img_free(&photo);
        return 1;
    }
    static const char *const cols[] = { "size", "image_bytes", "request_bytes", "n", "errors",
                                        "mean_ms", "p50_ms", "p99_ms" };
    table_header(&t, cols);
    int failed = run_rows(&o, &u, o.photo ? &photo : NULL, &t);
    char note[1200];
    snprintf(note, sizeof note, "Sequential requests to %s, %d per size after one warm-up; RTT in ms.", o.url, o.n);
    table_note(&t, note);
    failed |= table_close(&t) < 0;
    img_free(&photo);
    return failed;
}
