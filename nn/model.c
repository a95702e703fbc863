/* model: loading a .tflite file into a runnable network, and the model's accessors. */
#include "nn/graph/graph.h"
#include "nn/nn.h"
#include "nn/team.h"
#include "nn/format/tflite.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MODEL_BYTES (256L << 20)

/* Reads a whole regular file into a malloc'd buffer.  Opened without blocking: a FIFO with no writer
 * would otherwise hang the open before fstat can refuse it. */
static int read_file(const char *path, unsigned char **bytes, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");
    struct stat st;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_MODEL_BYTES) {
        snprintf(err, errlen, "%s: not a regular file of at most %ld bytes", path, MAX_MODEL_BYTES);
        fclose(f);
        return -1;
    }
    *len = (size_t)st.st_size;
    *bytes = malloc(*len ? *len : 1);
    if (!*bytes || fread(*bytes, 1, *len, f) != *len) {
        snprintf(err, errlen, "%s: %s", path, *bytes ? "short read" : "out of memory");
        free(*bytes);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* Takes the labels over from the parsed file; they must be there and name every output. */
static int adopt_labels(struct tfl_model *t, struct nn_model *m, char *err, size_t errlen)
{
    if (!t->labels) {
        snprintf(err, errlen, "no labels: the file ends without a metadata zip holding a .txt labels file");
        return -1;
    }
    if (t->nlabels != m->nclasses) {
        snprintf(err, errlen, "the embedded labels file has %d lines for %d outputs", t->nlabels, m->nclasses);
        return -1;
    }
    m->labels_text = t->labels_text;
    m->labels = t->labels;
    m->nlabels = t->nlabels;
    t->labels_text = NULL;
    t->labels = NULL;
    return 0;
}

struct nn_model *nn_load_bytes(const void *bytes, size_t len, char *err, size_t errlen)
{
    struct tfl_model t;
    if (tfl_parse(bytes, len, &t, err, errlen) < 0)
        return NULL;
    struct nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        tfl_free(&t);
        return NULL;
    }
    m->threads = 0;
    m->batch = 1;
    int rc = nn_isa_from_env(&m->isa, err, errlen);
    if (rc == 0)
        rc = nn_build(&t, m, err, errlen);
    if (rc == 0)
        rc = adopt_labels(&t, m, err, errlen);
    if (rc == 0)
        rc = nn_plan_memory(m, 1, err, errlen);
    tfl_free(&t);
    if (rc < 0) {
        nn_free(m);
        return NULL;
    }
    return m;
}

struct nn_model *nn_load(const char *path, char *err, size_t errlen)
{
    unsigned char *bytes;
    size_t len;
    if (read_file(path, &bytes, &len, err, errlen) < 0)
        return NULL;
    char why[256];
    struct nn_model *m = nn_load_bytes(bytes, len, why, sizeof why);
    if (!m)
        snprintf(err, errlen, "%s: %s", path, why);
    free(bytes);
    return m;
}

void nn_free(struct nn_model *m)
{
    if (!m)
        return;
    nn_team_stop(m->team);
    free(m->layers);
    free(m->weights);
    free(m->arena);
    free(m->act);
    free(m->act_stride);
    free(m->act_size);
    free(m->labels);
    free(m->labels_text);
    free(m);
}

/* The layers are shared out among the model's own threads; OpenBLAS (the fallback GEMM) runs
 * single-threaded inside each of them. */
int nn_set_threads(struct nn_model *m, int n)
{
    n = n < 1 ? 1 : n > 64 ? 64 : n;
    nn_team_stop(m->team);
    m->team = NULL;
    m->threads = 1;
    openblas_set_num_threads(1);
    if (n > 1) {
        m->team = nn_team_start(n, nn_run_layers, m);
        if (!m->team)
            return -1;
        m->threads = n;
    }
    return 0;
}

int nn_set_max_batch(struct nn_model *m, int b, char *err, size_t errlen)
{
    if (b < 1 || b > NN_BATCH_MAX) {
        snprintf(err, errlen, "a batch of %d images: the limit is 1 to %d", b, NN_BATCH_MAX);
        return -1;
    }
    int had = m->max_batch;
    if (b == had)
        return 0;
    if (nn_plan_memory(m, b, err, errlen) == 0)
        return 0;
    char ignored[64]; /* the old arena fit before, and it was freed first: it fits again */
    if (nn_plan_memory(m, had, ignored, sizeof ignored) < 0)
        m->max_batch = 0;
    return -1;
}

const char *nn_isa(const struct nn_model *m)
{
    return nn_isa_name(m->isa);
}

int nn_num_classes(const struct nn_model *m)
{
    return m->nclasses;
}

const char *nn_label(const struct nn_model *m, int index1001)
{
    if (index1001 < 0 || index1001 >= m->nlabels)
        return "";
    return m->labels[index1001];
}

double nn_flops(const struct nn_model *m)
{
    return m->flops;
}
