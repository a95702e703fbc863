/* client accuracy: top-1/top-5 over a labelled set, either on the pictures as they are or per degraded
 * resolution (study 1: centre square, down to s x s, up to 224 x 224). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/cli.h"
#include "study/args.h"
#include "study/classifier.h"
#include "study/commands.h"
#include "study/degrade.h"
#include "study/files.h"
#include "study/progress.h"
#include "study/table.h"

#define MAX_SIZES 16
#define IMAGE_FILE_MAX (64u * 1024 * 1024)

struct tally {
    long n, top1, top5;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: client accuracy --set DIR [--sizes 16,32,...] [--model FILE | --url URL] [--csv]\n"
               "                        [--limit N] [--out DIR]\n"
               "  DIR holds images/ and labels.csv (filename,class_index,wnid).  Without --sizes each\n"
               "  picture is classified as it is (centre crop, resize 224).  With --sizes every picture\n"
               "  is cropped to its centre square, shrunk to s x s and blown up to 224 x 224 first; with\n"
               "  --url the degraded picture is sent as PNG.  Prints size,n,top1,top5 (percent) as a\n"
               "  table, or CSV with --csv; --out DIR also writes DIR/accuracy.{csv,md}.\n"
               "  --limit N uses only the first N labelled images.\n");
}

static void count(struct tally *t, const struct prediction *p, int truth)
{
    t->n++;
    t->top1 += prediction_has(p, truth, 1);
    t->top5 += prediction_has(p, truth, 5);
}

/* Decodes the picture and classifies it degraded to every size.  Returns 0, or -1 with err filled. */
static int at_sizes(struct classifier *cl, const struct labeled_image *li, const unsigned char *bytes, size_t len,
                    const int *sizes, int nsizes, struct tally *tallies, char *err, size_t errlen)
{
    struct img im = { 0 };
    struct prediction p;
    int rc = img_decode(bytes, len, &im, err, errlen);
    for (int s = 0; rc == 0 && s < nsizes; s++) {
        struct img small;
        if (degrade(&im, sizes[s], &small) < 0) {
            snprintf(err, errlen, "resizing to %d failed", sizes[s]);
            rc = -1;
        } else if ((rc = classifier_pixels(cl, &small, &p, err, errlen)) == 0) {
            count(&tallies[s], &p, li->class_index);
        }
        img_free(&small);
    }
    img_free(&im);
    return rc < 0 ? -1 : 0;
}

/* Classifies one labelled picture at every size (or as it is when nsizes == 0).  Returns 0 or -1.  The
 * file and classifier messages name the file already; the decode and resize ones do not. */
static int one_image(struct classifier *cl, const struct labeled_image *li, const int *sizes, int nsizes,
                     struct tally *tallies, struct progress *pg)
{
    unsigned char *bytes;
    size_t len;
    char err[1024], why[256];
    struct prediction p;
    double rtt;
    int rc = file_read(li->path, IMAGE_FILE_MAX, &bytes, &len, err, sizeof err);
    if (rc == 0 && nsizes == 0) {
        rc = classifier_bytes(cl, bytes, len, li->path, &p, &rtt, err, sizeof err);
        if (rc == 0)
            count(&tallies[0], &p, li->class_index);
    } else if (rc == 0 && (rc = at_sizes(cl, li, bytes, len, sizes, nsizes, tallies, why, sizeof why)) < 0) {
        snprintf(err, sizeof err, "%s: %s", li->path, why);
    }
    free(bytes);
    if (rc < 0) {
        progress_end(pg); /* the message gets a line of its own */
        fprintf(stderr, "client: %s\n", err);
    }
    return rc;
}

static void print_tallies(const int *sizes, int nsizes, const struct tally *t, int csv, const char *out)
{
    struct table tab;
    char err[512];
    table_init(&tab, 4, csv);
    if (out && table_open_files(&tab, out, "accuracy", "Accuracy vs resolution", err, sizeof err) < 0)
        fprintf(stderr, "client: %s\n", err);
    static const char *const cols[] = { "size", "n", "top1", "top5" };
    table_header(&tab, cols);
    for (int s = 0; s < (nsizes ? nsizes : 1); s++) {
        char size[16], n[24], t1[16], t5[16];
        snprintf(size, sizeof size, nsizes ? "%d" : "orig", nsizes ? sizes[s] : 0);
        snprintf(n, sizeof n, "%ld", t[s].n);
        snprintf(t1, sizeof t1, "%.1f", t[s].n ? 100.0 * (double)t[s].top1 / (double)t[s].n : 0);
        snprintf(t5, sizeof t5, "%.1f", t[s].n ? 100.0 * (double)t[s].top5 / (double)t[s].n : 0);
        const char *const row[] = { size, n, t1, t5 };
        table_row(&tab, row);
    }
    table_note(&tab, "Centre square, down to size x size, up to 224 x 224, then classified; top-1/top-5 in %.");
    if (table_close(&tab) < 0)
        fprintf(stderr, "client: writing the accuracy table failed\n");
}

int cmd_accuracy(int argc, char **argv)
{
    static const struct option opts[] = {
        { "set", required_argument, 0, 's' },   { "sizes", required_argument, 0, 'z' },
        { "model", required_argument, 0, 'm' }, { "url", required_argument, 0, 'u' },
        { "csv", no_argument, 0, 'c' },         { "limit", required_argument, 0, 'l' },
        { "out", required_argument, 0, 'o' },   { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *set = NULL, *model = NULL, *url = NULL, *out = NULL;
    int sizes[MAX_SIZES], nsizes = 0, csv = 0, c;
    long limit = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:z:m:u:cl:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': set = optarg; break;
        case 'z':
            if ((nsizes = args_int_list("--sizes", optarg, sizes, MAX_SIZES, 1, 4096)) < 0)
                return 2;
            break;
        case 'm': model = optarg; break;
        case 'u': url = optarg; break;
        case 'c': csv = 1; break;
        case 'l':
            if (cli_long("client", "--limit", optarg, 1, 1000000, &limit) < 0)
                return 2;
            break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("accuracy", argv);
        }
    }
    if (!set || optind != argc) {
        fprintf(stderr, "client accuracy: --set DIR is required, and nothing else (try --help)\n");
        return 2;
    }
    struct labeled_set ls;
    char err[512];
    if (labels_load(set, (size_t)limit, &ls, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        return 1;
    }
    struct classifier *cl = open_classifier(model, url);
    if (!cl) {
        labels_free(&ls);
        return 1;
    }
    struct tally tallies[MAX_SIZES];
    memset(tallies, 0, sizeof tallies);
    int failed = 0;
    struct progress pg;
    progress_start(&pg, "client accuracy", (long)ls.n);
    for (size_t i = 0; i < ls.n; i++) {
        progress_update(&pg, (long)i, "pictures");
        failed |= one_image(cl, &ls.items[i], sizes, nsizes, tallies, &pg) < 0;
    }
    progress_end(&pg);
    classifier_close(cl);
    labels_free(&ls);
    print_tallies(sizes, nsizes, tallies, csv, out);
    return failed;
}
