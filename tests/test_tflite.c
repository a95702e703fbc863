/* tflite: the model reader on a hand-made model whose answer is worked out by hand, and on the real models
 * made hostile: wrong magic, truncation at many points, corrupted offsets, absurd lengths and indices,
 * random byte flips.  Every broken file must be refused with a message naming the problem. */
#include "nn/format/flatbuf.h"
#include "nn/nn.h"
#include "nn/format/tflite.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct file {
    unsigned char *p;
    size_t n;
};

static struct file read_env_file(const char *var, const char *rel)
{
    const char *dir = getenv(var);
    ck_assert_msg(dir && *dir, "%s is not set (run through make check)", var);
    char path[1024];
    snprintf(path, sizeof path, "%s%s", dir, rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    struct file out = { 0 };
    ck_assert(fseek(f, 0, SEEK_END) == 0);
    out.n = (size_t)ftell(f);
    rewind(f);
    out.p = malloc(out.n);
    ck_assert(out.p && fread(out.p, 1, out.n, f) == out.n);
    fclose(f);
    return out;
}

static struct file model, tiny;

static void setup(void)
{
    model = read_env_file("IMGREC_MODEL", "");
    tiny = read_env_file("IMGREC_TESTS", "/corpus/tflite/tiny.tflite");
}

static void teardown(void)
{
    free(model.p);
    free(tiny.p);
}

/* Loads n bytes copied into a buffer of exactly that size (so a sanitizer sees any read past the end).
 * Returns the model or NULL with err filled. */
static struct nn_model *load_copy(const unsigned char *bytes, size_t n, char *err, size_t errlen)
{
    unsigned char *copy = malloc(n ? n : 1);
    ck_assert(copy != NULL);
    memcpy(copy, bytes, n);
    err[0] = 0;
    struct nn_model *m = nn_load_bytes(copy, n, err, errlen);
    free(copy);
    return m;
}

/* Asserts that the bytes are refused with a message containing `expect`. */
static void assert_refused(const unsigned char *bytes, size_t n, const char *expect, const char *what)
{
    char err[256];
    struct nn_model *m = load_copy(bytes, n, err, sizeof err);
    ck_assert_msg(m == NULL, "%s: a broken file was accepted", what);
    ck_assert_msg(strstr(err, expect) != NULL, "%s: message '%s' does not mention '%s'", what, err, expect);
}

/* ---- the hand-made model ------------------------------------------------------------------------------ */

/* tests/corpus/tflite/make_tiny.py: 1x1 conv (w = 0.01 * (q - 128), bias = 1e-4 * q, RELU6), global average
 * pool, reshape, softmax.  With a constant input the pool changes nothing, so the answer is
 * softmax(clamp(W x + b, 0, 6)). */
START_TEST(tiny_model_computes_what_its_weights_say)
{
    static const float w[3][3] = { { 1.0f, 0, 0 }, { 0, 0.5f, -0.5f }, { 0, 0, 0.25f } };
    static const float b[3] = { 0, 0.1f, -0.1f };
    static const float x[3] = { 0.5f, -0.2f, 0.8f };
    char err[256];
    struct nn_model *m = load_copy(tiny.p, tiny.n, err, sizeof err);
    ck_assert_msg(m != NULL, "tiny model refused: %s", err);
    ck_assert_int_eq(nn_num_classes(m), 3);
    float *in = nn_input(m);
    for (int p = 0; p < NN_INPUT_SIZE * NN_INPUT_SIZE; p++)
        memcpy(in + 3 * p, x, sizeof x);
    struct nn_result r;
    ck_assert_int_eq(nn_forward(m, 3, &r), 0);
    double logit[3], sum = 0;
    for (int o = 0; o < 3; o++) {
        double v = b[o];
        for (int c = 0; c < 3; c++)
            v += w[o][c] * x[c];
        logit[o] = fmin(fmax(v, 0), 6);
        sum += exp(logit[o]);
    }
    for (int o = 0; o < 3; o++)
        ck_assert_msg(fabs(nn_probs(m)[o] - exp(logit[o]) / sum) < 1e-4, "prob[%d] = %g, expected %g", o,
                      nn_probs(m)[o], exp(logit[o]) / sum);
    ck_assert_str_eq(r.top[0].label, "a");
    ck_assert_str_eq(nn_label(m, 2), "c");
    nn_free(m);
}
END_TEST

START_TEST(real_model_structure)
{
    struct tfl_model t;
    char err[256];
    ck_assert_msg(tfl_parse(model.p, model.n, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.nops, 66);
    ck_assert_int_eq(t.nlabels, 1001);
    ck_assert_int_eq(t.ops[0].opcode, TFL_OP_CONV_2D);
    ck_assert_int_eq(t.ops[0].stride_w, 2);
    ck_assert_int_eq(t.ops[0].activation, TFL_ACT_RELU6);
    ck_assert_int_eq(t.ops[t.nops - 1].opcode, TFL_OP_SOFTMAX);
    const struct tfl_tensor *w = &t.tensors[t.ops[0].inputs[1]];
    ck_assert_int_eq(w->type, TFL_UINT8);
    ck_assert_int_eq(w->ndim, 4);
    ck_assert_int_eq(w->shape[0], 32);
    ck_assert_int_eq(w->nquant, 1);
    ck_assert_uint_eq(w->data_len, 32 * 3 * 3 * 3);
    tfl_free(&t);
}
END_TEST

START_TEST(ptq_model_is_per_channel)
{
    struct file ptq = read_env_file("IMGREC_MODEL_PTQ", "");
    struct tfl_model t;
    char err[256];
    ck_assert_msg(tfl_parse(ptq.p, ptq.n, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.ops[0].opcode, TFL_OP_QUANTIZE);
    const struct tfl_tensor *w = &t.tensors[t.ops[1].inputs[1]];
    ck_assert_int_eq(w->type, TFL_INT8);
    ck_assert_int_eq(w->nquant, 32);
    ck_assert_int_eq(w->quant_dim, 0);
    tfl_free(&t);
    free(ptq.p);
}
END_TEST

/* ---- hostile files ------------------------------------------------------------------------------------ */

START_TEST(wrong_magic_refused)
{
    memcpy(model.p + 4, "TFL2", 4);
    assert_refused(model.p, model.n, "TFL3", "magic TFL2");
    assert_refused(model.p, 3, "TFL3", "3 bytes");
    assert_refused((const unsigned char *)"", 0, "TFL3", "empty");
}
END_TEST

/* Every prefix shorter than the file is refused: at each byte of the start, then at many points through. */
START_TEST(truncated_everywhere_refused)
{
    char err[256];
    for (size_t cut = 0; cut < model.n; cut += cut < 256 ? 1 : cut < model.n - 64 ? 9973 : 1) {
        struct nn_model *m = load_copy(model.p, cut, err, sizeof err);
        ck_assert_msg(m == NULL, "truncated at %zu of %zu bytes but accepted", cut, model.n);
        ck_assert_msg(err[0] != 0, "truncated at %zu: no message", cut);
    }
    for (size_t cut = 0; cut < tiny.n; cut++) {
        struct nn_model *m = load_copy(tiny.p, cut, err, sizeof err);
        ck_assert_msg(m == NULL && err[0], "tiny model truncated at %zu accepted", cut);
    }
}
END_TEST

/* The positions of a few fields of the real file, found with the reader's own primitives. */
struct places {
    struct fb_buf buf;
    struct fb_table root, graph, tensor0, weights0, op0, op9, opcode0, conv_options; /* opcode0: op 0's */
    struct fb_vec graphs, tensors, ops, shape0;
};

static void find_places(struct places *pl, const struct file *f)
{
    pl->buf = (struct fb_buf){ f->p, f->n };
    struct fb_vec codes;
    ck_assert(fb_root(&pl->buf, &pl->root) == 0);
    ck_assert(fb_vector(&pl->root, 2, 4, &pl->graphs) == 1);        /* Model.subgraphs */
    ck_assert(fb_vector(&pl->root, 1, 4, &codes) == 1);             /* Model.operator_codes */
    ck_assert(fb_vec_table(&pl->graphs, 0, &pl->graph) == 0);
    ck_assert(fb_vector(&pl->graph, 0, 4, &pl->tensors) == 1);      /* SubGraph.tensors */
    ck_assert(fb_vector(&pl->graph, 3, 4, &pl->ops) == 1);          /* SubGraph.operators */
    ck_assert(fb_vec_table(&pl->tensors, 0, &pl->tensor0) == 0);
    ck_assert(fb_vector(&pl->tensor0, 0, 4, &pl->shape0) == 1);     /* Tensor.shape */
    ck_assert(fb_vec_table(&pl->ops, 0, &pl->op0) == 0);
    int32_t code_index = -1;
    ck_assert(fb_i32(&pl->op0, 0, 0, &code_index) == 0);            /* Operator.opcode_index */
    ck_assert(fb_vec_table(&codes, (uint32_t)code_index, &pl->opcode0) == 0);
    ck_assert(fb_vec_table(&pl->ops, 9, &pl->op9) == 0);            /* the first ADD */
    ck_assert(fb_table(&pl->op0, 4, &pl->conv_options) == 1);       /* Operator.builtin_options */
    struct fb_vec inputs;
    ck_assert(fb_vector(&pl->op0, 1, 4, &inputs) == 1);             /* Operator.inputs */
    ck_assert(fb_vec_table(&pl->tensors, (uint32_t)fb_vec_i32(&inputs, 1), &pl->weights0) == 0);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Overwrites len (1 or 4) bytes at pos, checks the file is refused with `expect`, restores the bytes. */
static void corrupt(size_t pos, size_t len, uint32_t v, const char *expect, const char *what)
{
    unsigned char saved[4];
    memcpy(saved, model.p + pos, len);
    if (len == 1)
        model.p[pos] = (unsigned char)v;
    else
        put_u32(model.p + pos, v);
    assert_refused(model.p, model.n, expect, what);
    memcpy(model.p + pos, saved, len);
}

static void corrupt_u32(size_t pos, uint32_t v, const char *expect, const char *what)
{
    corrupt(pos, 4, v, expect, what);
}

static size_t field(const struct fb_table *t, unsigned id, size_t size)
{
    int64_t at = fb_field_pos(t, id, size);
    ck_assert_msg(at > 0, "field %u of the table at %zu not found", id, t->pos);
    return (size_t)at;
}

START_TEST(corrupted_structure_refused)
{
    struct places pl;
    find_places(&pl, &model);
    corrupt_u32(0, 0xfffffff0u, "model root", "root offset");
    corrupt_u32(pl.root.pos, 0x7fffffff, "vtable", "root vtable offset");
    corrupt_u32(field(&pl.root, 0, 4), 4, "version", "schema version");
    corrupt_u32(pl.graphs.pos - 4, 0x40000000, "subgraphs", "absurd subgraph count");
    corrupt_u32(pl.tensors.pos - 4, 0xffffffffu, "tensors", "absurd tensor count");
    corrupt_u32(pl.ops.pos - 4, 5000, "5000 operators", "too many operators for the planner");
    corrupt_u32(pl.shape0.pos - 4, 0x10000000, "tensor 0", "absurd shape length");
    corrupt_u32(pl.shape0.pos + 4, (uint32_t)-7, "shape dimension", "negative dimension");
    corrupt_u32(pl.shape0.pos + 4, 1u << 30, "shape dimension", "huge dimension");
    corrupt_u32(field(&pl.weights0, 2, 4), 1000000, "buffer index", "buffer index");
    corrupt(field(&pl.weights0, 1, 1), 1, 17, "unsupported type 17", "weights of type int4");
    corrupt_u32(field(&pl.op9, 0, 4), 500, "opcode index", "opcode index");
    corrupt(field(&pl.opcode0, 0, 1), 1, 99, "unsupported operator code 99", "unknown builtin");
    corrupt_u32(field(&pl.conv_options, 1, 4), 3, "computes", "stride inconsistent with shapes");
    corrupt_u32(field(&pl.conv_options, 1, 4), 100000, "stride", "absurd stride");
    struct fb_vec inputs;
    ck_assert(fb_vector(&pl.op9, 1, 4, &inputs) == 1);
    corrupt_u32(inputs.pos, 99999, "tensor index", "operator input index");
    corrupt_u32(inputs.pos, 173, "before any operator writes it", "input read before written");
}
END_TEST

/* The labels zip at the end: broken directory, or cut off entirely. */
START_TEST(broken_labels_refused)
{
    size_t zip_start = 0;
    for (size_t i = model.n - 4; i-- > 0;)
        if (memcmp(model.p + i, "PK\x03\x04", 4) == 0) {
            zip_start = i;
            break;
        }
    ck_assert(zip_start > 0);
    assert_refused(model.p, zip_start, "no labels", "zip cut off");
    unsigned char *cd = NULL;
    for (size_t i = zip_start; i + 4 <= model.n && !cd; i++)
        if (memcmp(model.p + i, "PK\x01\x02", 4) == 0)
            cd = model.p + i;
    ck_assert(cd != NULL);
    cd[0] = 'X';
    assert_refused(model.p, model.n, "zip", "central directory signature");
    cd[0] = 'P';
    cd[10] = 8; /* method deflate */
    assert_refused(model.p, model.n, "compressed", "compressed labels");
}
END_TEST

/* Random byte flips in the hand-made model (which is nearly all structure): refused with a message, or
 * loaded and run.  Deterministic: a fixed-seed generator. */
START_TEST(random_flips_never_crash)
{
    uint32_t state = 12345;
    int refused = 0, loaded = 0;
    unsigned char *f = malloc(tiny.n);
    ck_assert(f != NULL);
    for (int trial = 0; trial < 400; trial++) {
        memcpy(f, tiny.p, tiny.n);
        int flips = 1 + trial % 4;
        for (int k = 0; k < flips; k++) {
            state = state * 1664525u + 1013904223u;
            size_t at = (state >> 8) % tiny.n;
            state = state * 1664525u + 1013904223u;
            f[at] ^= (unsigned char)(1u << (state >> 29));
        }
        char err[256];
        struct nn_model *m = load_copy(f, tiny.n, err, sizeof err);
        if (!m) {
            ck_assert_msg(err[0] != 0, "trial %d: refused without a message", trial);
            refused++;
            continue;
        }
        struct nn_result r;
        memset(nn_input(m), 0, sizeof(float) * NN_INPUT_SIZE * NN_INPUT_SIZE * 3);
        ck_assert_int_eq(nn_forward(m, 1, &r), 0);
        nn_free(m);
        loaded++;
    }
    free(f);
    ck_assert_int_gt(refused, 50);   /* the flips really hit structure */
    ck_assert_int_gt(loaded, 0);     /* and some only changed values */
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("tflite");
    TCase *tc = tcase_create("reader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tiny_model_computes_what_its_weights_say);
    tcase_add_test(tc, real_model_structure);
    tcase_add_test(tc, ptq_model_is_per_channel);
    tcase_add_test(tc, wrong_magic_refused);
    tcase_add_test(tc, truncated_everywhere_refused);
    tcase_add_test(tc, corrupted_structure_refused);
    tcase_add_test(tc, broken_labels_refused);
    tcase_add_test(tc, random_flips_never_crash);
    suite_add_tcase(s, tc);
    return s;
}
