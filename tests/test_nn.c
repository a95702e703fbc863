/* nn: the engine against ../shared/golden (uint8 model, every case, all 1001 probabilities within 1e-4),
 * the int8 per-channel model's answers, two models in one process, the thread setting, and batches
 * answering as single images do on every path. */
#include "nn/graph/arena.h"
#include "nn/graph/graph.h"
#include "nn/kernels/gemm.h"
#include "nn/kernels/kernels.h"
#include "nn/nn.h"
#include "nn/kernels/isa.h"

#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INPUT_FLOATS (NN_INPUT_SIZE * NN_INPUT_SIZE * 3)
#define CLASSES 1001

static const char *const golden_cases[] = {
    "random0", "random1", "random2", "test_224", "test_16",
    "ILSVRC2012_val_00000347", "ILSVRC2012_val_00000580", "n01491361_tiger_shark",
};
#define NCASES (int)(sizeof golden_cases / sizeof golden_cases[0])

/* The cases the golden tests run: all of them, or the comma-separated names in IMGREC_GOLDEN_CASES (make
 * check-aarch64 runs a few, as emulation is slow).  Set up by test_suite before any test runs. */
static const char *cases[NCASES];
static int ncases;

static void choose_cases(void)
{
    const char *list = getenv("IMGREC_GOLDEN_CASES");
    if (!list || !*list) {
        for (ncases = 0; ncases < NCASES; ncases++)
            cases[ncases] = golden_cases[ncases];
        return;
    }
    for (const char *p = list; *p && ncases < NCASES; p += *p == ',') {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < NCASES; i++)
            if (strlen(golden_cases[i]) == len && strncmp(golden_cases[i], p, len) == 0)
                found = i;
        if (found < 0) {
            fprintf(stderr, "IMGREC_GOLDEN_CASES: %.*s is not a golden case\n", (int)len, p);
            exit(2);
        }
        cases[ncases++] = golden_cases[found];
        p += len;
    }
    printf("nn: golden tests on %d of the %d cases (IMGREC_GOLDEN_CASES=%s)\n", ncases, NCASES, list);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "%s is not set (run through make check)", name);
    return v;
}

/* Reads exactly n little-endian floats from $IMGREC_SHARED/golden/<name><suffix>. */
static void read_floats(const char *name, const char *suffix, float *out, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/%s%s", env("IMGREC_SHARED"), name, suffix);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t got = fread(out, sizeof *out, n, f);
    int extra = fgetc(f);
    fclose(f);
    ck_assert_msg(got == n && extra == EOF, "%s: expected exactly %zu floats", path, n);
}

static struct nn_model *load(const char *env_name)
{
    char err[256] = "";
    struct nn_model *m = nn_load(env(env_name), err, sizeof err);
    ck_assert_msg(m != NULL, "load %s: %s", env_name, err);
    nn_set_threads(m, 1);
    return m;
}

static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

static struct nn_model *uint8_model;
static float *input, *want;

static void setup(void)
{
    uint8_model = load("IMGREC_MODEL");
    input = malloc(INPUT_FLOATS * sizeof *input);
    want = malloc(CLASSES * sizeof *want);
    ck_assert(input && want);
}

static void teardown(void)
{
    nn_free(uint8_model);
    free(input);
    free(want);
}

/* Runs golden case NAME through m and returns the largest |prob - golden| over all outputs. */
static double golden_error(struct nn_model *m, const char *name)
{
    read_floats(name, ".input.f32", input, INPUT_FLOATS);
    read_floats(name, ".prob1001.f32", want, CLASSES);
    struct nn_result r;
    ck_assert_int_eq(nn_classify_tensor(m, input, 1, &r), 0);
    double worst = 0;
    for (int i = 0; i < CLASSES; i++)
        worst = fmax(worst, fabs(nn_probs(m)[i] - want[i]));
    return worst;
}

START_TEST(golden_case_matches)
{
    const char *name = cases[_i];
    read_floats(name, ".input.f32", input, INPUT_FLOATS);
    read_floats(name, ".prob1001.f32", want, CLASSES);
    struct nn_result r;
    ck_assert_int_eq(nn_classify_tensor(uint8_model, input, 5, &r), 0);
    ck_assert_int_eq(nn_num_classes(uint8_model), CLASSES);
    const float *got = nn_probs(uint8_model);
    double worst = 0;
    int worst_at = 0;
    for (int i = 0; i < CLASSES; i++)
        if (fabs(got[i] - want[i]) > worst)
            worst = fabs(got[i] - want[i]), worst_at = i;
    ck_assert_msg(worst <= 1e-4, "%s: prob[%d] = %g, golden %g (diff %g)", name, worst_at, got[worst_at],
                  want[worst_at], worst);
    /* The top-k list agrees with the probabilities it was taken from. */
    int best = argmax(want, CLASSES);
    ck_assert_int_eq(r.k, 5);
    ck_assert_int_eq(r.top[0].class_index, best - 1);
    ck_assert_str_eq(r.top[0].label, nn_label(uint8_model, best));
    for (int j = 1; j < r.k; j++)
        ck_assert(r.top[j - 1].prob >= r.top[j].prob);
    ck_assert(r.inference_ms > 0);
}
END_TEST

START_TEST(labels_come_from_the_file)
{
    ck_assert_str_eq(nn_label(uint8_model, 0), "background");
    ck_assert_str_eq(nn_label(uint8_model, 803), "snowmobile");
    ck_assert_str_eq(nn_label(uint8_model, CLASSES), "");
    ck_assert_str_eq(nn_label(uint8_model, -1), "");
}
END_TEST

/* Filling nn_input() directly gives the same answer as nn_classify_tensor, and repeats are identical. */
START_TEST(input_buffer_and_repeat_are_consistent)
{
    read_floats("test_224", ".input.f32", input, INPUT_FLOATS);
    struct nn_result a, b;
    ck_assert_int_eq(nn_classify_tensor(uint8_model, input, 3, &a), 0);
    memcpy(nn_input(uint8_model), input, INPUT_FLOATS * sizeof *input);
    ck_assert_int_eq(nn_forward(uint8_model, 3, &b), 0);
    ck_assert_int_eq(a.k, 3);
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(a.top[j].class_index, b.top[j].class_index);
        ck_assert_float_eq(a.top[j].prob, b.top[j].prob);
    }
    ck_assert_int_eq(a.top[0].class_index, 802); /* snowmobile, per the golden README */
}
END_TEST

/* What is not a model file is refused at once: a directory, a device, an empty file, and a FIFO with no
 * writer (opening one for reading would block forever). */
START_TEST(non_model_files_are_refused_without_blocking)
{
    char dir[] = "/tmp/imgrec-test-nn-XXXXXX", fifo[64], empty[64], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(empty, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const char *paths[] = { dir, fifo, empty, "/dev/zero", "/no/such/model.tflite" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        err[0] = '\0';
        ck_assert_ptr_null(nn_load(paths[i], err, sizeof err));
        ck_assert_msg(strstr(err, paths[i]) == err, "%s: error should name the file: %s", paths[i], err);
    }
    unlink(fifo);
    unlink(empty);
    rmdir(dir);
}
END_TEST

/* k is clamped to 0..NN_TOPK_MAX (out->k says how many were filled); no bytes is "not an image". */
START_TEST(k_is_clamped_and_empty_input_refused)
{
    read_floats("test_224", ".input.f32", input, INPUT_FLOATS);
    static const int ks[] = { INT_MIN, -1, 0, 1, NN_TOPK_MAX, NN_TOPK_MAX + 1, INT_MAX };
    static const int filled[] = { 0, 0, 0, 1, NN_TOPK_MAX, NN_TOPK_MAX, NN_TOPK_MAX };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        struct nn_result r;
        memset(&r, 0x5a, sizeof r);
        ck_assert_int_eq(nn_classify_tensor(uint8_model, input, ks[i], &r), 0);
        ck_assert_int_eq(r.k, filled[i]);
        if (r.k)
            ck_assert_int_eq(r.top[0].class_index, 802);
    }
    struct nn_result r;
    char err[128];
    ck_assert_int_eq(nn_classify_image(uint8_model, NULL, 0, 5, &r, err, sizeof err), NN_ERR_NOT_IMAGE);
    ck_assert_int_eq(nn_classify_image(uint8_model, "", 0, 5, &r, err, sizeof err), NN_ERR_NOT_IMAGE);
}
END_TEST

/* The int8 per-channel model and the uint8 model live in one process and agree on the clear cases. */
START_TEST(ptq_model_beside_uint8_model)
{
    struct nn_model *ptq = load("IMGREC_MODEL_PTQ");
    int agree = 0;
    for (int c = 0; c < ncases; c++) {
        read_floats(cases[c], ".input.f32", input, INPUT_FLOATS);
        struct nn_result r8, rq;
        ck_assert_int_eq(nn_classify_tensor(uint8_model, input, 1, &r8), 0);
        ck_assert_int_eq(nn_classify_tensor(ptq, input, 1, &rq), 0);
        const float *p = nn_probs(ptq);
        double sum = 0;
        int in_range = 1;
        for (int i = 0; i < CLASSES; i++) {
            in_range &= p[i] >= 0 && p[i] <= 1;
            sum += p[i];
        }
        ck_assert(in_range);
        ck_assert_msg(fabs(sum - 1) < 1e-3, "%s: ptq probabilities sum to %g", cases[c], sum);
        agree += r8.top[0].class_index == rq.top[0].class_index;
        if (strcmp(cases[c], "test_224") == 0)
            ck_assert_str_eq(rq.top[0].label, "snowmobile");
        /* Real photos: both models see the same thing (noise and the 16-px blur are a toss-up). */
        if (strncmp(cases[c], "random", 6) != 0 && strcmp(cases[c], "test_16") != 0)
            ck_assert_msg(r8.top[0].class_index == rq.top[0].class_index, "%s: uint8 says %s, int8 says %s",
                          cases[c], r8.top[0].label, rq.top[0].label);
    }
    ck_assert_int_ge(agree, ncases - 3);
    /* Loading the second model did not disturb the first. */
    double worst = golden_error(uint8_model, "n01491361_tiger_shark");
    ck_assert_msg(worst <= 1e-4, "uint8 model off by %g after the int8 model ran", worst);
    nn_free(ptq);
}
END_TEST

/* Every path this CPU runs (IMGREC_NN_ISA, _i = enum nn_isa; registered only for supported paths) matches
 * golden on every case, and the model says which path it took. */
START_TEST(path_matches_golden)
{
    const char *name = nn_isa_name((enum nn_isa)_i);
    ck_assert_int_eq(setenv("IMGREC_NN_ISA", name, 1), 0);
    struct nn_model *m = load("IMGREC_MODEL");
    ck_assert_int_eq(unsetenv("IMGREC_NN_ISA"), 0);
    ck_assert_str_eq(nn_isa(m), name);
    int others = 0; /* every layer runs the chosen path's kernels, not just the model's label */
    for (int i = 0; i < m->nlayers; i++)
        others += m->layers[i].mat.isa != (enum nn_isa)_i;
    ck_assert_int_eq(others, 0);
    double worst = 0;
    for (int c = 0; c < ncases; c++)
        worst = fmax(worst, golden_error(m, cases[c]));
    ck_assert_msg(worst <= 1e-4, "%s path off by %g", name, worst);
    nn_free(m);
}
END_TEST

/* A path that is not one, or one this CPU cannot run, fails the load with the reason, never SIGILL later. */
START_TEST(unknown_or_unsupported_path_is_refused)
{
    char err[256];
    const char *model = getenv("IMGREC_MODEL");
    ck_assert_ptr_nonnull(model);
    ck_assert_int_eq(setenv("IMGREC_NN_ISA", "avx9000", 1), 0);
    struct nn_model *m = nn_load(model, err, sizeof err);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, "IMGREC_NN_ISA=avx9000") && strstr(err, "generic"), "message: %s", err);
    for (int i = 0; i < NN_ISA_COUNT; i++)
        if (!nn_isa_supported((enum nn_isa)i)) {
            ck_assert_int_eq(setenv("IMGREC_NN_ISA", nn_isa_name((enum nn_isa)i), 1), 0);
            ck_assert_ptr_null(nn_load(model, err, sizeof err));
            ck_assert_msg(strstr(err, "not a path this CPU runs"), "message: %s", err);
        }
    ck_assert_int_eq(unsetenv("IMGREC_NN_ISA"), 0);
}
END_TEST

/* Two threads give the same probabilities as one (within float reassociation). */
START_TEST(two_threads_match_one)
{
    ck_assert_int_eq(nn_set_threads(uint8_model, 2), 0);
    double worst = golden_error(uint8_model, "ILSVRC2012_val_00000580");
    ck_assert_int_eq(nn_set_threads(uint8_model, 1), 0);
    ck_assert_msg(worst <= 1e-4, "2 threads: off by %g", worst);
    ck_assert(nn_flops(uint8_model) > 5e8 && nn_flops(uint8_model) < 7e8);
}
END_TEST

/* A batch gives every image the answer it gets alone: batches of 2, 3 and 8 of different golden inputs
 * (each slot another case than its neighbours, so a slot reading another's pixels would show), on path _i, all 1001
 * probabilities within 1e-5; with one thread and with two.  Out-of-range batch sizes run nothing; going
 * back to batches of 1 gives back the arena of a fresh model. */
START_TEST(batches_match_single_images)
{
    ck_assert_int_eq(setenv("IMGREC_NN_ISA", nn_isa_name((enum nn_isa)_i), 1), 0);
    struct nn_model *m = load("IMGREC_MODEL");
    ck_assert_int_eq(unsetenv("IMGREC_NN_ISA"), 0);
    size_t arena1 = m->arena_floats;
    static float inputs[NCASES][INPUT_FLOATS], alone[NCASES][CLASSES];
    for (int c = 0; c < ncases; c++) { /* the golden cases chosen (all but under emulation) */
        read_floats(cases[c], ".input.f32", inputs[c], INPUT_FLOATS);
        struct nn_result r;
        ck_assert_int_eq(nn_classify_tensor(m, inputs[c], 1, &r), 0);
        memcpy(alone[c], nn_probs(m), sizeof alone[c]);
    }
    char err[256];
    ck_assert_int_eq(nn_max_batch(m), 1);
    ck_assert_int_eq(nn_set_max_batch(m, 8, err, sizeof err), 0);
    ck_assert_int_eq(nn_max_batch(m), 8);
    ck_assert_int_gt(m->split, 0); /* the early layers run image by image, the rest batched */
    ck_assert_int_lt(m->split, m->nlayers);
    static const int sizes[] = { 2, 3, 8 };
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(nn_set_threads(m, threads), 0);
        for (int si = 0; si < 3; si++) {
            int n = sizes[si];
            const float *in[8];
            int which[8];
            struct nn_result out[8];
            for (int j = 0; j < n; j++) {
                which[j] = (j + si) % ncases; /* neighbouring slots hold different cases */
                in[j] = inputs[which[j]];
            }
            ck_assert_int_eq(nn_classify_batch(m, in, n, 5, out), 0);
            double worst = 0;
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < CLASSES; i++)
                    worst = fmax(worst, fabs(nn_batch_probs(m, j)[i] - alone[which[j]][i]));
                ck_assert_int_eq(out[j].k, 5);
                ck_assert_int_eq(out[j].top[0].class_index, argmax(alone[which[j]], CLASSES) - 1);
                ck_assert(out[j].inference_ms > 0);
            }
            ck_assert_msg(worst <= 1e-5, "%s, batch of %d, %d threads: off by %g", nn_isa(m), n, threads, worst);
        }
    }
    struct nn_result out[1];
    const float *in[NN_BATCH_MAX + 1] = { inputs[0] };
    ck_assert_int_eq(nn_classify_batch(m, in, 0, 5, out), -1);
    ck_assert_int_eq(nn_classify_batch(m, in, 9, 5, out), -1);
    ck_assert_int_eq(nn_set_max_batch(m, 0, err, sizeof err), -1);
    ck_assert_int_eq(nn_set_max_batch(m, NN_BATCH_MAX + 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "64"));
    ck_assert_int_eq(nn_max_batch(m), 8);
    ck_assert_int_eq(nn_set_max_batch(m, 1, err, sizeof err), 0);
    ck_assert_uint_eq(m->arena_floats, arena1);
    ck_assert_int_eq(nn_classify_batch(m, in, 2, 5, out), -1);
    double worst = golden_error(m, "test_224");
    ck_assert_msg(worst <= 1e-4, "back to batches of 1: off by %g", worst);
    nn_free(m);
}
END_TEST

/* ---- kernels against plain loops, on awkward shapes (tails of every vector and tile size) ---------------- */

static float rnd(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static float clampf(double v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : (float)v;
}

START_TEST(gemm_matches_plain_loops)
{
    static const int ms[] = { 1, 5, 12, 13, 30 }, ks[] = { 1, 3, 27, 40 }, ns[] = { 1, 16, 17, 33, 70 };
    uint32_t seed = 7;
    float a[30 * 70], w[40 * 70], bias[70], got[30 * 70 + 1], packed[40 * 96];
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        a[i] = rnd(&seed);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = rnd(&seed);
    for (int i = 0; i < 70; i++)
        bias[i] = rnd(&seed);
    enum nn_isa isa = (enum nn_isa)_i;
    for (int mi = 0; mi < 5; mi++)
            for (int ki = 0; ki < 4; ki++)
                for (int ni = 0; ni < 5; ni++) {
                    int m = ms[mi], k = ks[ki], n = ns[ni];
                    struct nn_matrix mat = { .w = w, .isa = isa };
                    if (isa != NN_ISA_OPENBLAS) {
                        ck_assert_uint_le(nn_gemm_packed_size(k, n), sizeof packed / sizeof packed[0]);
                        nn_gemm_pack(w, k, n, packed);
                        mat.w = packed;
                    }
                    float lo = ni % 2 ? 0.0f : -INFINITY, hi = ni % 2 ? 0.5f : INFINITY;
                    got[m * n] = 12345.0f; /* sentinel: nothing written past C */
                    const float *res = ki % 2 ? a : NULL; /* a stands in for an [M, N] residual (it is big enough) */
                    nn_conv1x1(a, k, &mat, bias, res, n, lo, hi, got, 0, m);
                    ck_assert_float_eq(got[m * n], 12345.0f);
                    double worst = 0; /* one assertion per shape: Check reports every assert it runs */
                    for (int r = 0; r < m; r++)
                        for (int j = 0; j < n; j++) {
                            double v = bias[j] + (res ? res[r * n + j] : 0);
                            for (int kk = 0; kk < k; kk++)
                                v += (double)a[r * k + kk] * w[kk * n + j];
                            worst = fmax(worst, fabs(got[r * n + j] - clampf(v, lo, hi)));
                        }
                    ck_assert_msg(worst < 1e-4, "%s m=%d k=%d n=%d: off by %g", nn_isa_name(isa), m, k, n, worst);
                }
}
END_TEST

/* The one-pixel layer from 8-bit codes: per-column scales and zero points (uint8-style, nonzero), column
 * counts around the 64-wide panels, a residual and a clamp; the weights are the float path's exactly. */
START_TEST(gemv_q8_matches_plain_loops)
{
    enum { KMAX = 40, NMAX = 130 };
    static const int ks[] = { 1, 3, 40 }, ns[] = { 1, 16, 63, 64, 65, 130 };
    uint32_t seed = 9;
    static float x[KMAX], bias[NMAX], res[NMAX], got[NMAX + 1], scale[192], zero[192];
    static int8_t codes[NMAX * KMAX], packed[192 * KMAX];
    for (int i = 0; i < KMAX; i++)
        x[i] = rnd(&seed);
    for (int i = 0; i < NMAX; i++)
        bias[i] = rnd(&seed), res[i] = rnd(&seed);
    for (int i = 0; i < NMAX * KMAX; i++)
        codes[i] = (int8_t)(rnd(&seed) * 127);
    for (int i = 0; i < 192; i++) /* padded columns have scale 0, as the loader leaves them */
        scale[i] = i < NMAX ? 0.01f + 0.001f * (float)i : 0.0f, zero[i] = i < NMAX ? (float)(i % 7 - 3) : 0.0f;
    for (int ki = 0; ki < 3; ki++)
        for (int ni = 0; ni < 6; ni++) {
            int k = ks[ki], n = ns[ni];
            ck_assert_uint_le(nn_gemv_q8_bytes(k, n), sizeof packed);
            nn_gemv_q8_pack(codes, k, n, packed);
            struct nn_q8 q = { .codes = packed, .scale = scale, .zero = zero };
            const float *r = ni % 2 ? res : NULL;
            float lo = ni % 2 ? 0.0f : -INFINITY, hi = ni % 2 ? 0.5f : INFINITY;
            got[n] = 12345.0f; /* sentinel: nothing written past N */
            nn_gemv_q8((enum nn_isa)_i, x, k, &q, n, bias, r, lo, hi, got);
            ck_assert_float_eq(got[n], 12345.0f);
            double worst = 0;
            for (int j = 0; j < n; j++) {
                double v = bias[j] + (r ? r[j] : 0);
                for (int kk = 0; kk < k; kk++)
                    v += (double)x[kk] * (float)(scale[j] * ((double)codes[j * k + kk] - zero[j]));
                worst = fmax(worst, fabs(got[j] - clampf(v, lo, hi)));
            }
            ck_assert_msg(worst < 1e-5, "k=%d n=%d: off by %g", k, n, worst);
        }
}
END_TEST

/* A long K makes B wider than one L2 strip: the kernel then walks column strips (panel by panel). */
START_TEST(gemm_in_column_strips_matches)
{
    enum { M = 13, K = 2100, N = 70 };
    uint32_t seed = 3;
    float *a = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * K * N), *bias = calloc(N, sizeof(float));
    float *packed = malloc(sizeof(float) * nn_gemm_packed_size(K, N)), *got = malloc(sizeof(float) * M * N);
    ck_assert(a && w && bias && packed && got);
    for (int i = 0; i < M * K; i++)
        a[i] = rnd(&seed);
    for (int i = 0; i < K * N; i++)
        w[i] = rnd(&seed);
    nn_gemm_pack(w, K, N, packed);
    nn_gemm_rows((enum nn_isa)_i, a, K, packed, N, bias, NULL, -INFINITY, INFINITY, got, 0, M);
    double worst = 0;
    for (int r = 0; r < M; r++)
        for (int j = 0; j < N; j++) {
            double v = 0;
            for (int kk = 0; kk < K; kk++)
                v += (double)a[r * K + kk] * w[kk * N + j];
            worst = fmax(worst, fabs(got[r * N + j] - v));
        }
    ck_assert_msg(worst < 1e-3, "off by %g", worst);
    free(a), free(w), free(bias), free(packed), free(got);
}
END_TEST

enum { CV_HMAX = 9, CV_WMAX = 9, CV_CMAX = 4, CV_OCMAX = 33, CV_K = 9 * CV_CMAX };

/* A 3x3 conv (TF SAME padding, ReLU6) through nn_conv_im2col in two pixel shares that split a row, as two
 * threads would; returns the largest difference from a plain loop.  w is [9*C, OC], packed is scratch. */
static double conv_error(const float *in, const float *w, const float *bias, const int shape[5], enum nn_isa isa,
                         float *packed)
{
    int H = shape[0], W = shape[1], C = shape[2], OC = shape[3], s = shape[4];
    int oh = (H + s - 1) / s, ow = (W + s - 1) / s;
    int pt = ((oh - 1) * s + 3 - H) / 2, pl = ((ow - 1) * s + 3 - W) / 2;
    struct nn_window g = { .h = H, .w = W, .c = C, .oh = oh, .ow = ow, .oc = OC, .kh = 3, .kw = 3,
                           .sh = s, .sw = s, .dh = 1, .dw = 1, .pad_top = pt, .pad_left = pl };
    struct nn_matrix mat = { .w = w, .isa = isa };
    if (isa != NN_ISA_OPENBLAS) {
        nn_gemm_pack(w, 9 * C, OC, packed);
        mat.w = packed;
    }
    static float out[CV_HMAX * CV_WMAX * CV_OCMAX], scratch[CV_HMAX * CV_WMAX * CV_K];
    ck_assert_uint_le(nn_conv_im2col_scratch(&g), sizeof scratch / sizeof scratch[0]);
    int half = oh * ow / 2 + (ow > 2); /* past a row start: each share holds a partial row */
    half = half > oh * ow ? oh * ow : half;
    nn_conv_im2col(in, &g, &mat, bias, 0.0f, 6.0f, scratch, out, 0, half);
    nn_conv_im2col(in, &g, &mat, bias, 0.0f, 6.0f, scratch, out, half, oh * ow);
    double worst = 0;
    for (int p = 0; p < oh * ow; p++)
        for (int o = 0; o < OC; o++) {
            double v = bias[o];
            for (int t = 0; t < 9 * C; t++) {
                int iy = p / ow * s - pt + t / (3 * C), ix = p % ow * s - pl + t / C % 3;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                    v += (double)in[(iy * W + ix) * C + t % C] * w[t * OC + o];
            }
            worst = fmax(worst, fabs(out[p * OC + o] - clampf(v, 0, 6)));
        }
    return worst;
}

/* The first layer's kind of conv: with nn/gemm the windows inside the image are read in place (a strided
 * view of the input), the edge ones gathered; odd and even sizes, both strides, tiny inputs. */
START_TEST(conv_matches_plain_loops)
{
    static const int shapes[][5] = { { 9, 8, 3, 32, 2 }, { 7, 7, 3, 17, 2 }, { 9, 9, 4, 33, 1 }, { 5, 6, 4, 16, 1 },
                                     { 2, 3, 3, 16, 2 }, { 1, 1, 3, 5, 1 },  { 3, 9, 1, 3, 2 } };
    uint32_t seed = 5;
    static float in[CV_HMAX * CV_WMAX * CV_CMAX], w[CV_K * CV_OCMAX], bias[CV_OCMAX], packed[CV_K * 64];
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        in[i] = rnd(&seed);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = rnd(&seed);
    for (int i = 0; i < CV_OCMAX; i++)
        bias[i] = rnd(&seed);
    for (int si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++) {
        double worst = conv_error(in, w, bias, shapes[si], (enum nn_isa)_i, packed);
        ck_assert_msg(worst < 1e-4, "shape %d %s: off by %g", si, nn_isa_name((enum nn_isa)_i), worst);
    }
}
END_TEST

/* Tensors alive at the same step never share memory, and the arena is no bigger than all of them. */
START_TEST(arena_keeps_live_tensors_apart)
{
    enum { N = 300 };
    static struct arena_item items[N];
    uint32_t seed = 5;
    size_t sum = 0;
    for (int i = 0; i < N; i++) {
        int first = (int)((rnd(&seed) + 1) * 50), len = (int)((rnd(&seed) + 1) * 5);
        items[i] = (struct arena_item){ .size = i % 7 ? (size_t)((rnd(&seed) + 1) * 1000) : 0, .first = first,
                                        .last = first + len };
        sum += (items[i].size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    }
    size_t total;
    ck_assert_int_eq(arena_plan(items, N, &total), 0);
    ck_assert_uint_le(total, sum);
    int clashes = 0, misaligned = 0;
    for (int i = 0; i < N; i++) {
        misaligned += items[i].size && items[i].offset % ARENA_ALIGN != 0;
        for (int j = i + 1; j < N; j++) {
            const struct arena_item *a = &items[i], *b = &items[j];
            int live_together = a->first <= b->last && b->first <= a->last;
            int share_bytes = a->offset < b->offset + b->size && b->offset < a->offset + a->size;
            clashes += a->size && b->size && live_together && share_bytes;
        }
    }
    ck_assert_int_eq(clashes, 0);
    ck_assert_int_eq(misaligned, 0);
    ck_assert_uint_lt(total, sum); /* short lifetimes: reuse must happen */
}
END_TEST

enum { DW_HMAX = 9, DW_WMAX = 9, DW_CMAX = 35 };

/* Runs nn_depthwise (3x3, TF SAME padding, ReLU6) on an H x W x C input in two row shares, as two threads
 * would, and returns the largest difference from a plain loop. */
static double depthwise_error(enum nn_isa isa, const float *in, const float *w, const float *bias, int H, int W, int C,
                              int stride)
{
    /* TF SAME: out = ceil(in / stride); padding before = total / 2 (0 for 3x3 stride 2 on even sizes) */
    int oh = (H + stride - 1) / stride, ow = (W + stride - 1) / stride;
    int pt = ((oh - 1) * stride + 3 - H) / 2, pl = ((ow - 1) * stride + 3 - W) / 2;
    struct nn_window g = { .h = H, .w = W, .c = C, .oh = oh, .ow = ow, .oc = C, .kh = 3, .kw = 3,
                           .sh = stride, .sw = stride, .dh = 1, .dw = 1, .pad_top = pt, .pad_left = pl };
    static float out[DW_HMAX * DW_WMAX * DW_CMAX];
    nn_depthwise(isa, in, &g, w, bias, 0.0f, 6.0f, out, 0, oh / 2);
    nn_depthwise(isa, in, &g, w, bias, 0.0f, 6.0f, out, oh / 2, oh);
    double worst = 0;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int c = 0; c < C; c++) {
                double v = bias[c];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = oy * stride - pt + ky, ix = ox * stride - pl + kx;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                            v += (double)in[(iy * W + ix) * C + c] * w[(ky * 3 + kx) * C + c];
                    }
                worst = fmax(worst, fabs(out[(oy * ow + ox) * C + c] - clampf(v, 0, 6)));
            }
    return worst;
}

START_TEST(depthwise_matches_plain_loops)
{
    uint32_t seed = 11;
    float in[DW_HMAX * DW_WMAX * DW_CMAX], w[9 * DW_CMAX], bias[DW_CMAX];
    for (int i = 0; i < DW_HMAX * DW_WMAX * DW_CMAX; i++)
        in[i] = rnd(&seed);
    for (int i = 0; i < 9 * DW_CMAX; i++)
        w[i] = rnd(&seed);
    for (int i = 0; i < DW_CMAX; i++)
        bias[i] = rnd(&seed);
    /* Channel counts that are whole vectors take the vector 3x3 path (its four-pixel blocks, the remainders
     * and both edges on the wider inputs; rows and columns padded on both sides on the 1- and 2-pixel ones):
     * 4 and 12 only at the 4-float width (generic on SSE2 and NEON), 8 and 24 at 4 and 8 floats, 16 and 32
     * at every width; the rest take the general path with its scalar channel tail (35 at every width, 4
     * and 12 at 8 and 16 floats, 8 and 24 at 16). */
    static const int channels[] = { 4, 8, 12, 16, 24, 32, DW_CMAX };
    enum nn_isa isa = (enum nn_isa)_i;
    static const int sizes[][2] = { { 9, 8 }, { 8, 9 }, { 7, 7 }, { 1, 1 }, { 2, 2 }, { 1, 6 }, { 3, 2 } };
    for (int ci = 0; ci < (int)(sizeof channels / sizeof channels[0]); ci++)
        for (int si = 0; si < (int)(sizeof sizes / sizeof sizes[0]); si++)
            for (int stride = 1; stride <= 2; stride++) {
                int h = sizes[si][0], wd = sizes[si][1];
                double worst = depthwise_error(isa, in, w, bias, h, wd, channels[ci], stride);
                ck_assert_msg(worst < 1e-5, "%s %dx%dx%d, stride %d: off by %g", nn_isa_name(isa), h, wd,
                              channels[ci], stride, worst);
            }
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("golden");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    choose_cases();
    tcase_add_loop_test(tc, golden_case_matches, 0, ncases);
    tcase_add_test(tc, labels_come_from_the_file);
    tcase_add_test(tc, input_buffer_and_repeat_are_consistent);
    tcase_add_test(tc, non_model_files_are_refused_without_blocking);
    tcase_add_test(tc, k_is_clamped_and_empty_input_refused);
    tcase_add_test(tc, ptq_model_beside_uint8_model);
    tcase_add_test(tc, two_threads_match_one);
    tcase_add_test(tc, unknown_or_unsupported_path_is_refused);
    suite_add_tcase(s, tc);
    TCase *kernels = tcase_create("kernels");
    /* Each kernel test once per path this CPU runs (_i = the path); a path it cannot run is named on one
     * line and has no test, so nothing unrun is counted as passed. */
    for (int i = 0; i < NN_ISA_COUNT; i++) {
        enum nn_isa isa = (enum nn_isa)i;
        if (!nn_isa_supported(isa)) {
            printf("nn: the %s path cannot run on this CPU: its golden and kernel tests are not run\n",
                   nn_isa_name(isa));
            continue;
        }
        tcase_add_loop_test(tc, path_matches_golden, i, i + 1);
        tcase_add_loop_test(tc, batches_match_single_images, i, i + 1);
        tcase_add_loop_test(kernels, gemm_matches_plain_loops, i, i + 1);
        tcase_add_loop_test(kernels, conv_matches_plain_loops, i, i + 1);
        tcase_add_loop_test(kernels, depthwise_matches_plain_loops, i, i + 1);
        if (isa != NN_ISA_OPENBLAS) { /* the engine's own kernels: strips, and the 8-bit one-pixel layer */
            tcase_add_loop_test(kernels, gemm_in_column_strips_matches, i, i + 1);
            tcase_add_loop_test(kernels, gemv_q8_matches_plain_loops, i, i + 1);
        }
    }
    tcase_add_test(kernels, arena_keeps_live_tensors_apart);
    suite_add_tcase(s, kernels);
    return s;
}
