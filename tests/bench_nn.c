/* bench_nn: forward-pass speed of nn/ (not a test; `make bench` runs it beside ONNX Runtime).
 *
 * usage: bench_nn [--ort-ms MEDIAN] [--ort-min-ms MIN] [--label TEXT] | --layers | --batches
 * Prints, for the model in $IMGREC_MODEL: RSS after load, the check against one golden case, the
 * single-thread median and its GFLOP/s, the ratio to ONNX Runtime's median (when given), the 2-thread
 * speedup for one image, and images/s of two single-threaded engines (uint8 and int8 models) side by side. */
#include "net/clock.h"
#include "nn/kernels/gemm.h"
#include "nn/graph/graph.h"
#include "nn/nn.h"
#include "nn/kernels/isa.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INPUT_FLOATS (NN_INPUT_SIZE * NN_INPUT_SIZE * 3)
#define WARMUP 10
#define RUNS 100
#define SIDE_BY_SIDE_RUNS 60

static double now_s(void)
{
    return (double)clock_now_ns() / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* The machine is shared: the load says how much the numbers below can be trusted. */
static const char *loadavg(void)
{
    static char line[128];
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(line, sizeof line, f))
        snprintf(line, sizeof line, "unknown\n");
    if (f)
        fclose(f);
    return line;
}

static const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "bench_nn: %s is not set (run it through make bench)\n", name);
        exit(2);
    }
    return v;
}

static struct nn_model *load_or_die(const char *env_name)
{
    char err[256];
    struct nn_model *m = nn_load(env_or_die(env_name), err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench_nn: %s\n", err);
        exit(1);
    }
    return m;
}

static int read_golden(const char *name, const char *suffix, float *out, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/%s%s", env_or_die("IMGREC_SHARED"), name, suffix);
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(out, sizeof *out, n, f) : 0;
    if (f)
        fclose(f);
    return got == n ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median forward time in ms over RUNS passes after WARMUP. */
static double median_ms(struct nn_model *m, const float *input, double *min_ms)
{
    double t[RUNS];
    struct nn_result r;
    for (int i = 0; i < WARMUP + RUNS; i++) {
        memcpy(nn_input(m), input, INPUT_FLOATS * sizeof *input);
        double t0 = now_s();
        nn_forward(m, 5, &r);
        if (i >= WARMUP)
            t[i - WARMUP] = (now_s() - t0) * 1e3;
    }
    qsort(t, RUNS, sizeof t[0], cmp_double);
    *min_ms = t[0];
    return t[RUNS / 2];
}


/* --layers: where a single-threaded pass spends its time.  Each layer is timed inside whole passes (run
 * one at a time, in order, so caches hold what a real pass leaves there); median per layer over RUNS. */
#define PROFILE_MAX_LAYERS 256

static const char *kind_name(enum nn_layer_kind k)
{
    static const char *names[] = { "conv1x1", "conv", "depthwise", "avgpool", "mean", "fc", "add", "softmax", "copy" };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* Which implementation runs a layer: the design's "per-layer choice" between OpenBLAS and our kernels. */
static const char *kernel_of(const struct nn_layer *l)
{
    static char name[48];
    const char *isa = nn_isa_name(l->mat.isa);
    switch (l->kind) {
    case NN_LAYER_CONV1X1:
    case NN_LAYER_CONV:
        if (l->mat.isa == NN_ISA_OPENBLAS)
            return "OpenBLAS cblas_sgemm + nn_bias_clamp";
        snprintf(name, sizeof name, "%s %s", l->mat.q8.codes ? "nn_gemv_q8" : "nn_gemm", isa);
        return name;
    case NN_LAYER_DEPTHWISE:
        snprintf(name, sizeof name, "nn_depthwise %s", l->mat.isa == NN_ISA_OPENBLAS ? nn_isa_name(nn_isa_best()) : isa);
        return name;
    default:
        return "plain C (compiled per CPU)";
    }
}

static int profile_layers(struct nn_model *m, const float *input)
{
    static double t[PROFILE_MAX_LAYERS][RUNS];
    struct nn_layer *all = m->layers;
    int n = m->nlayers;
    if (n > PROFILE_MAX_LAYERS)
        return -1;
    for (int r = 0; r < WARMUP + RUNS; r++) {
        memcpy(nn_input(m), input, INPUT_FLOATS * sizeof *input);
        for (int i = 0; i < n; i++) {
            m->layers = all + i, m->nlayers = 1;
            double t0 = now_s();
            nn_run_layers(m, NULL, 0);
            if (r >= WARMUP)
                t[i][r - WARMUP] = (now_s() - t0) * 1e3;
        }
        m->layers = all, m->nlayers = n;
    }
    double total = 0, total_min = 0, by_kind[NN_LAYER_COPY + 1] = { 0 };
    printf("path %s\n", nn_isa(m));
    printf("layer kind       H   W    C ->  OH  OW   OC k s   median_ms  GFLOP/s  kernel\n");
    for (int i = 0; i < n; i++) {
        const struct nn_layer *l = &all[i];
        qsort(t[i], RUNS, sizeof t[i][0], cmp_double);
        double med = t[i][RUNS / 2];
        total += med, total_min += t[i][0], by_kind[l->kind] += med;
        printf("%3d %-9s %3d %3d %4d -> %3d %3d %4d %d %d %s %8.4f %8.1f  %s\n", i, kind_name(l->kind), l->g.h,
               l->g.w, l->g.c, l->g.oh, l->g.ow, l->g.oc, l->g.kh, l->g.sh, l->in2 >= 0 ? "+res" : "    ", med,
               med > 0 ? l->flops / (med * 1e-3) / 1e9 : 0, kernel_of(l));
    }
    printf("sum of medians %.3f ms, of minimums %.3f ms\n", total, total_min);
    for (int k = 0; k <= NN_LAYER_COPY; k++)
        if (by_kind[k] > 0)
            printf("  %-9s %.3f ms (%.0f%%)\n", kind_name((enum nn_layer_kind)k), by_kind[k], 100 * by_kind[k] / total);
    return 0;
}

/* Images/s of one thread at each batch size, from passes of all sizes taken in turn (so load from other
 * processes falls on every size alike): per size the median pass in wall time, and in the thread's CPU
 * time, which time-slicing with other processes on this shared machine does not stretch (their use of
 * the caches still can); the CPU-time median picks the best size.  Every slot holds the same picture: the
 * kernels' time does not depend on the values. */
static const int batch_sizes[] = { 1, 2, 4, 8 };
#define NBATCH (int)(sizeof batch_sizes / sizeof batch_sizes[0])
#define BATCH_ROUNDS 40

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int batch_rows(struct nn_model *m, const float *input)
{
    char err[256];
    enum { MOST = 8 };
    if (nn_set_max_batch(m, MOST, err, sizeof err) < 0) {
        printf("batches: %s\n", err);
        return -1;
    }
    const float *inputs[MOST];
    for (int i = 0; i < MOST; i++)
        inputs[i] = input;
    static double wall[NBATCH][BATCH_ROUNDS], cpu[NBATCH][BATCH_ROUNDS];
    struct nn_result r[MOST];
    for (int round = -2; round < BATCH_ROUNDS; round++) /* two rounds of warm-up */
        for (int b = 0; b < NBATCH; b++) {
            double t0 = now_s(), c0 = thread_cpu_s();
            nn_classify_batch(m, inputs, batch_sizes[b], 5, r);
            if (round >= 0)
                wall[b][round] = now_s() - t0, cpu[b][round] = thread_cpu_s() - c0;
        }
    double best = 0, one_wall = 0, one_cpu = 0;
    int best_b = 1;
    printf("batch  wall ms/pass  images/s  vs B=1 | CPU ms/pass  images/CPU-s  vs B=1   (medians, 1 thread, %s path)\n",
           nn_isa(m));
    for (int b = 0; b < NBATCH; b++) {
        qsort(wall[b], BATCH_ROUNDS, sizeof wall[b][0], cmp_double);
        qsort(cpu[b], BATCH_ROUNDS, sizeof cpu[b][0], cmp_double);
        double w = wall[b][BATCH_ROUNDS / 2], c = cpu[b][BATCH_ROUNDS / 2], n = batch_sizes[b];
        if (b == 0)
            one_wall = w, one_cpu = c;
        printf("%5d  %12.2f  %8.1f  %5.2fx | %11.2f  %12.1f  %5.2fx\n", batch_sizes[b], w * 1e3, n / w,
               n * one_wall / w, c * 1e3, n / c, n * one_cpu / c);
        if (n / c > best)
            best = n / c, best_b = batch_sizes[b];
    }
    printf("best batch size here (images per CPU-second): %d\n", best_b);
    return nn_set_max_batch(m, 1, err, sizeof err);
}

struct runner {
    struct nn_model *m;
    const float *input;
    int runs;
};

static void *run_many(void *arg)
{
    struct runner *r = arg;
    struct nn_result res;
    for (int i = 0; i < r->runs; i++)
        nn_classify_tensor(r->m, r->input, 5, &res);
    return NULL;
}

/* Two models, each single-threaded in its own thread, classifying at the same time. */
static double side_by_side_images_per_s(struct nn_model *a, struct nn_model *b, const float *input)
{
    struct runner ra = { a, input, SIDE_BY_SIDE_RUNS }, rb = { b, input, SIDE_BY_SIDE_RUNS };
    pthread_t ta, tb;
    double t0 = now_s();
    if (pthread_create(&ta, NULL, run_many, &ra) != 0 || pthread_create(&tb, NULL, run_many, &rb) != 0) {
        fprintf(stderr, "bench_nn: pthread_create failed\n");
        exit(1);
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    return 2.0 * SIDE_BY_SIDE_RUNS / (now_s() - t0);
}

int main(int argc, char **argv)
{
    double ort_ms = 0, ort_min_ms = 0;
    const char *label = "default";
    int layers = 0, batches = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ort-ms") == 0 && i + 1 < argc)
            ort_ms = atof(argv[++i]);
        else if (strcmp(argv[i], "--ort-min-ms") == 0 && i + 1 < argc)
            ort_min_ms = atof(argv[++i]);
        else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
            label = argv[++i];
        else if (strcmp(argv[i], "--layers") == 0)
            layers = 1;
        else if (strcmp(argv[i], "--batches") == 0)
            batches = 1;
        else {
            fprintf(stderr, "usage: bench_nn [--ort-ms MEDIAN] [--ort-min-ms MIN] [--label TEXT] | --layers | --batches\n");
            return 2;
        }
    }
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("== nn bench [%s] OPENBLAS_CORETYPE=%s\n", label, coretype ? coretype : "(unset)");
    char why[256];
    enum nn_isa asked;
    if (nn_isa_from_env(&asked, why, sizeof why) < 0) { /* a path this CPU lacks: said, not timed */
        printf("%s: not timed\n", why);
        return 0;
    }
    struct nn_model *m = load_or_die("IMGREC_MODEL");
    printf("path: %s (IMGREC_NN_ISA=%s); load average when starting: %s", nn_isa(m),
           getenv("IMGREC_NN_ISA") ? getenv("IMGREC_NN_ISA") : "auto", loadavg());
    nn_set_threads(m, 1);
    float *input = malloc(INPUT_FLOATS * sizeof *input), *want = malloc(1001 * sizeof *want);
    if (!input || !want || read_golden("test_224", ".input.f32", input, INPUT_FLOATS) < 0 ||
        read_golden("test_224", ".prob1001.f32", want, 1001) < 0) {
        fprintf(stderr, "bench_nn: cannot read golden test_224\n");
        return 1;
    }
    if (layers)
        return profile_layers(m, input) == 0 ? 0 : 1;
    if (batches)
        return batch_rows(m, input) == 0 ? 0 : 1;
    long rss_load = rss_kb();
    struct nn_result r;
    nn_classify_tensor(m, input, 1, &r);
    double worst = 0;
    for (int i = 0; i < 1001; i++)
        worst = fmax(worst, fabs(nn_probs(m)[i] - want[i]));
    printf("golden test_224: top-1 %s (%.4f), max |diff| %.2g -> %s\n", r.top[0].label, r.top[0].prob, worst,
           worst <= 1e-4 ? "ok" : "WRONG");
    printf("RSS after load %.1f MB, after the first forward pass %.1f MB (bar 64 MB)\n", rss_load / 1024.0,
           rss_kb() / 1024.0);

    double min1, med1 = median_ms(m, input, &min1);
    double gflops = nn_flops(m) / (med1 * 1e-3) / 1e9;
    printf("1 thread:  median %.2f ms, min %.2f ms, %.1f GFLOP/s (%.0f MFLOP per pass)\n", med1, min1, gflops,
           nn_flops(m) / 1e6);
    if (ort_ms > 0)
        printf("ONNX Runtime 1 thread median %.2f ms; engine/ORT = %.2f (bar <= 0.80): %s\n", ort_ms, med1 / ort_ms,
               med1 / ort_ms <= 0.8 ? "met" : "NOT met");
    if (ort_min_ms > 0) /* the minimum is what load from other processes disturbs least */
        printf("minimum vs minimum: engine %.2f ms, ORT %.2f ms, ratio %.2f\n", min1, ort_min_ms, min1 / ort_min_ms);
    nn_set_threads(m, 2);
    double min2, med2 = median_ms(m, input, &min2);
    printf("2 threads: median %.2f ms, min %.2f ms, speedup %.2fx\n", med2, min2, med1 / med2);

    nn_set_threads(m, 1);
    struct nn_model *ptq = load_or_die("IMGREC_MODEL_PTQ");
    printf("two single-threaded engines side by side (uint8 + int8 models): %.1f images/s (one engine alone: %.1f)\n",
           side_by_side_images_per_s(m, ptq, input), 1e3 / med1);
    nn_free(ptq);
    nn_free(m);
    free(input);
    free(want);
    return worst <= 1e-4 ? 0 : 1;
}
