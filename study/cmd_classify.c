/* client classify: one JSON line per image; a bad image is reported and skipped, not fatal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "study/classifier.h"
#include "study/args.h"
#include "study/commands.h"
#include "study/files.h"

#define IMAGE_FILE_MAX (64u * 1024 * 1024)

static void usage(FILE *f)
{
    fprintf(f, "usage: client classify [--model FILE | --url http://HOST:PORT[/path]] IMAGE...\n"
               "  Prints one JSON object per image: file, label, class_index (0..999), prob, top5;\n"
               "  with --url also worker, timing_ms and rtt_ms.  Default model: $IMGREC_MODEL or\n"
               "  weights/mobilenet_v2_1.0_224_quant.tflite.  Exit status 1 if any image failed.\n");
}

int cmd_classify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "model", required_argument, 0, 'm' }, { "url", required_argument, 0, 'u' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *model = NULL, *url = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'u': url = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("classify", argv);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "client classify: no images given (try --help)\n");
        return 2;
    }
    struct classifier *cl = open_classifier(model, url);
    if (!cl)
        return 1;
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        unsigned char *bytes;
        size_t len;
        char err[512];
        struct prediction p;
        double rtt;
        int rc = file_read(argv[i], IMAGE_FILE_MAX, &bytes, &len, err, sizeof err);
        if (rc == 0)
            rc = classifier_bytes(cl, bytes, len, argv[i], &p, &rtt, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "client: %s\n", err);
            failed = 1;
            if (rc == CLASSIFIER_UNREACHABLE) { /* said once, not once per picture */
                free(bytes);
                break;
            }
        } else if (prediction_print(stdout, argv[i], &p, rtt) < 0) {
            fprintf(stderr, "client: writing the result failed\n");
            failed = 1;
        }
        free(bytes);
        fflush(stdout);
    }
    classifier_close(cl);
    return failed;
}
