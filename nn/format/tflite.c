/* tflite: TensorFlow Lite flatbuffer → plain structs.  See tflite.h.
 * Field numbers follow tensorflow/lite/schema/schema.fbs (a field's id is its position in the table). */
#include "nn/format/tflite.h"

#include "nn/format/flatbuf.h"
#include "nn/format/zip.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field ids. */
enum { MODEL_VERSION = 0, MODEL_OPCODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED = 0, OPCODE_BUILTIN = 3 };
enum { GRAPH_TENSORS = 0, GRAPH_INPUTS = 1, GRAPH_OUTPUTS = 2, GRAPH_OPERATORS = 3 };
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3, TENSOR_QUANT = 4 };
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DIM = 6 };
enum { OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3, OP_OPTIONS = 4 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };

/* BuiltinOptions union members this reader understands. */
enum { OPT_CONV = 1, OPT_DEPTHWISE = 2, OPT_POOL = 5, OPT_FC = 8, OPT_SOFTMAX = 9, OPT_ADD = 11,
       OPT_RESHAPE = 17, OPT_REDUCER = 27 };

#define MAX_ELEMENTS (1L << 28)   /* no tensor of an image classifier comes near this */
#define MAX_TENSORS 16384         /* MobileNetV2 has 174 tensors and 66 operators; later stages (memory */
#define MAX_OPS 4096              /* planning) are quadratic or worse in these counts */

/* Parsing state: the buffer plus where to write the reason for a refusal. */
struct reader {
    struct fb_buf buf;
    char *err;
    size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Turns a flatbuf result into a refusal naming what was being read; passes 0/1 through. */
static int check(struct reader *r, int rc, const char *what)
{
    return rc < 0 ? fail(r, "%s: %s", what, fb_strerror(rc)) : rc;
}

const char *tfl_opcode_name(int opcode)
{
    switch (opcode) {
    case TFL_OP_ADD: return "ADD";
    case TFL_OP_AVERAGE_POOL_2D: return "AVERAGE_POOL_2D";
    case TFL_OP_CONV_2D: return "CONV_2D";
    case TFL_OP_DEPTHWISE_CONV_2D: return "DEPTHWISE_CONV_2D";
    case TFL_OP_DEQUANTIZE: return "DEQUANTIZE";
    case TFL_OP_FULLY_CONNECTED: return "FULLY_CONNECTED";
    case TFL_OP_RESHAPE: return "RESHAPE";
    case TFL_OP_SOFTMAX: return "SOFTMAX";
    case TFL_OP_MEAN: return "MEAN";
    case TFL_OP_QUANTIZE: return "QUANTIZE";
    default: return NULL;
    }
}

static int type_size(int type)
{
    switch (type) {
    case TFL_FLOAT32: case TFL_INT32: return 4;
    case TFL_FLOAT16: return 2;
    case TFL_UINT8: case TFL_INT8: return 1;
    case TFL_INT64: return 8;
    default: return 0;
    }
}

/* Reads an int vector field into dst[max]; absent → *n = 0. */
static int read_ints(struct reader *r, const struct fb_table *t, unsigned field, int *dst, int max, int *n,
                     const char *what)
{
    struct fb_vec v;
    int rc = check(r, fb_vector(t, field, 4, &v), what);
    *n = 0;
    if (rc <= 0)
        return rc;
    if (v.len > (uint32_t)max)
        return fail(r, "%s: %u entries, at most %d supported", what, v.len, max);
    for (uint32_t i = 0; i < v.len; i++)
        dst[i] = fb_vec_i32(&v, i);
    *n = (int)v.len;
    return 0;
}

static int read_quant(struct reader *r, const struct fb_table *tt, struct tfl_tensor *t, int idx)
{
    struct fb_table q;
    char what[96];
    snprintf(what, sizeof what, "tensor %d quantization", idx);
    int rc = check(r, fb_table(tt, TENSOR_QUANT, &q), what);
    if (rc <= 0)
        return rc;
    struct fb_vec scale = { 0 }, zp = { 0 };
    int32_t dim;
    if (check(r, fb_vector(&q, QUANT_SCALE, 4, &scale), what) < 0 ||
        check(r, fb_vector(&q, QUANT_ZERO_POINT, 8, &zp), what) < 0 ||
        check(r, fb_i32(&q, QUANT_DIM, 0, &dim), what) < 0)
        return -1;
    if (scale.len == 0)
        return 0; /* min/max only: not a quantized tensor for us */
    if (zp.len != 0 && zp.len != scale.len)
        return fail(r, "%s: %u scales but %u zero points", what, scale.len, zp.len);
    if (dim < 0 || dim >= (t->ndim > 0 ? t->ndim : 1))
        return fail(r, "%s: quantized dimension %d outside the tensor's %d dims", what, dim, t->ndim);
    t->scale = malloc(scale.len * sizeof *t->scale);
    t->zero_point = malloc(scale.len * sizeof *t->zero_point);
    if (!t->scale || !t->zero_point)
        return fail(r, "%s: out of memory", what);
    for (uint32_t i = 0; i < scale.len; i++) {
        t->scale[i] = fb_vec_f32(&scale, i);
        t->zero_point[i] = zp.len ? fb_vec_i64(&zp, i) : 0;
    }
    t->nquant = (int)scale.len;
    t->quant_dim = dim;
    return 0;
}

/* The constant bytes of buffer b: inline data, or an (offset, size) range of the file. */
static int buffer_data(struct reader *r, const struct fb_vec *buffers, uint32_t b, const uint8_t **data,
                       size_t *len)
{
    struct fb_table bt;
    struct fb_vec v;
    char what[64];
    snprintf(what, sizeof what, "buffer %u", b);
    if (check(r, fb_vec_table(buffers, b, &bt), what) < 0)
        return -1;
    int rc = check(r, fb_vector(&bt, BUFFER_DATA, 1, &v), what);
    if (rc < 0)
        return -1;
    *data = NULL;
    *len = 0;
    if (rc == 1 && v.len > 0) {
        *data = fb_vec_bytes(&v);
        *len = v.len;
        return 0;
    }
    uint64_t off, size;
    if (check(r, fb_u64(&bt, BUFFER_OFFSET, 0, &off), what) < 0 || check(r, fb_u64(&bt, BUFFER_SIZE, 0, &size), what) < 0)
        return -1;
    if (off > 1 && size > 0) { /* offset 1 is the schema's "not used" marker */
        if (off > r->buf.n || size > r->buf.n - off)
            return fail(r, "%s: data range %llu+%llu is outside the file", what, (unsigned long long)off,
                        (unsigned long long)size);
        *data = r->buf.p + off;
        *len = (size_t)size;
    }
    return 0;
}

static int read_tensor(struct reader *r, const struct fb_vec *tensors, const struct fb_vec *buffers, int idx,
                       struct tfl_tensor *t)
{
    struct fb_table tt;
    char what[96];
    snprintf(what, sizeof what, "tensor %d", idx);
    if (check(r, fb_vec_table(tensors, (uint32_t)idx, &tt), what) < 0)
        return -1;
    const char *name;
    uint32_t name_len;
    int rc = check(r, fb_string(&tt, TENSOR_NAME, &name, &name_len), what);
    if (rc < 0)
        return -1;
    if (rc == 1)
        snprintf(t->name, sizeof t->name, "%.*s", (int)(name_len < sizeof t->name ? name_len : sizeof t->name - 1), name);
    snprintf(what, sizeof what, "tensor %d (%s)", idx, t->name);
    uint8_t type;
    uint32_t buffer;
    int32_t b32;
    if (read_ints(r, &tt, TENSOR_SHAPE, t->shape, TFL_MAX_DIMS, &t->ndim, what) < 0 ||
        check(r, fb_u8(&tt, TENSOR_TYPE, 0, &type), what) < 0 || check(r, fb_i32(&tt, TENSOR_BUFFER, 0, &b32), what) < 0)
        return -1;
    t->type = type;
    buffer = (uint32_t)b32;
    long elements = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] <= 0 || t->shape[d] > MAX_ELEMENTS || (elements *= t->shape[d]) > MAX_ELEMENTS)
            return fail(r, "%s: shape dimension %d is %d (absurd or dynamic)", what, d, t->shape[d]);
    }
    if (buffer >= buffers->len)
        return fail(r, "%s: buffer index %u but the file has %u buffers", what, buffer, buffers->len);
    if (buffer_data(r, buffers, buffer, &t->data, &t->data_len) < 0)
        return -1;
    if (t->data) {
        int size = type_size(t->type);
        if (size == 0)
            return fail(r, "%s: constant data of unsupported type %d", what, t->type);
        if (t->data_len != (size_t)elements * (size_t)size)
            return fail(r, "%s: data has %zu bytes but its shape needs %ld", what, t->data_len, elements * size);
    }
    return read_quant(r, &tt, t, idx);
}

/* The options table of an operator, checked to be of the union member its opcode uses. */
static int read_options(struct reader *r, const struct fb_table *ot, struct tfl_op *op, int idx)
{
    char what[64];
    snprintf(what, sizeof what, "operator %d options", idx);
    static const struct { int opcode, type; } expected[] = {
        { TFL_OP_CONV_2D, OPT_CONV }, { TFL_OP_DEPTHWISE_CONV_2D, OPT_DEPTHWISE }, { TFL_OP_AVERAGE_POOL_2D, OPT_POOL },
        { TFL_OP_FULLY_CONNECTED, OPT_FC }, { TFL_OP_SOFTMAX, OPT_SOFTMAX }, { TFL_OP_ADD, OPT_ADD },
        { TFL_OP_RESHAPE, OPT_RESHAPE }, { TFL_OP_MEAN, OPT_REDUCER },
    };
    int want = 0;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (expected[i].opcode == op->opcode)
            want = expected[i].type;
    uint8_t type;
    struct fb_table o;
    if (check(r, fb_u8(ot, OP_OPTIONS_TYPE, 0, &type), what) < 0)
        return -1;
    int rc = check(r, fb_table(ot, OP_OPTIONS, &o), what);
    if (rc < 0)
        return -1;
    op->stride_w = op->stride_h = op->dilation_w = op->dilation_h = op->depth_multiplier = 1;
    op->beta = 1.0f;
    if (rc == 0 || want == 0)
        return 0;
    if (type != want)
        return fail(r, "%s: %s has options of union type %u, expected %d", what, tfl_opcode_name(op->opcode), type, want);
    uint8_t pad = 0, act = 0, keep = 0;
    int32_t sw = 1, sh = 1, dw = 1, dh = 1, fw = 0, fh = 0, mult = 1;
    int ok = 0;
    switch (op->opcode) {
    case TFL_OP_CONV_2D:
        ok = fb_u8(&o, 0, 0, &pad) | fb_i32(&o, 1, 1, &sw) | fb_i32(&o, 2, 1, &sh) | fb_u8(&o, 3, 0, &act) |
             fb_i32(&o, 4, 1, &dw) | fb_i32(&o, 5, 1, &dh);
        break;
    case TFL_OP_DEPTHWISE_CONV_2D:
        ok = fb_u8(&o, 0, 0, &pad) | fb_i32(&o, 1, 1, &sw) | fb_i32(&o, 2, 1, &sh) | fb_i32(&o, 3, 1, &mult) |
             fb_u8(&o, 4, 0, &act) | fb_i32(&o, 5, 1, &dw) | fb_i32(&o, 6, 1, &dh);
        break;
    case TFL_OP_AVERAGE_POOL_2D:
        ok = fb_u8(&o, 0, 0, &pad) | fb_i32(&o, 1, 1, &sw) | fb_i32(&o, 2, 1, &sh) | fb_i32(&o, 3, 0, &fw) |
             fb_i32(&o, 4, 0, &fh) | fb_u8(&o, 5, 0, &act);
        break;
    case TFL_OP_FULLY_CONNECTED: case TFL_OP_ADD:
        ok = fb_u8(&o, 0, 0, &act);
        break;
    case TFL_OP_SOFTMAX:
        ok = fb_f32(&o, 0, 1.0f, &op->beta);
        break;
    case TFL_OP_MEAN:
        ok = fb_u8(&o, 0, 0, &keep);
        break;
    }
    if (ok != 0)
        return fail(r, "%s: a field lies outside its table", what);
    op->padding = pad;
    op->activation = act;
    op->stride_w = sw, op->stride_h = sh, op->dilation_w = dw, op->dilation_h = dh;
    op->filter_w = fw, op->filter_h = fh, op->depth_multiplier = mult, op->keep_dims = keep;
    return 0;
}

static int check_tensor_refs(struct reader *r, const int *idx, int n, int ntensors, int allow_absent, const char *what)
{
    for (int i = 0; i < n; i++)
        if (idx[i] >= ntensors || idx[i] < (allow_absent ? -1 : 0))
            return fail(r, "%s: tensor index %d but the graph has %d tensors", what, idx[i], ntensors);
    return 0;
}

static int read_operator(struct reader *r, const struct fb_vec *ops, const struct fb_vec *codes, int idx,
                         int ntensors, struct tfl_op *op)
{
    struct fb_table ot, ct;
    char what[64];
    snprintf(what, sizeof what, "operator %d", idx);
    int32_t code_index;
    if (check(r, fb_vec_table(ops, (uint32_t)idx, &ot), what) < 0 || check(r, fb_i32(&ot, OP_OPCODE, 0, &code_index), what) < 0)
        return -1;
    if (code_index < 0 || (uint32_t)code_index >= codes->len)
        return fail(r, "%s: opcode index %d but the file has %u opcodes", what, code_index, codes->len);
    uint8_t deprecated;
    int32_t builtin;
    if (check(r, fb_vec_table(codes, (uint32_t)code_index, &ct), what) < 0 ||
        check(r, fb_u8(&ct, OPCODE_DEPRECATED, 0, &deprecated), what) < 0 ||
        check(r, fb_i32(&ct, OPCODE_BUILTIN, 0, &builtin), what) < 0)
        return -1;
    /* Old files only set the 8-bit code; new ones set both (the deprecated one saturated at 127). */
    op->opcode = builtin > (int8_t)deprecated ? builtin : (int8_t)deprecated;
    if (!tfl_opcode_name(op->opcode))
        return fail(r, "%s: unsupported operator code %d", what, op->opcode);
    char io[96];
    snprintf(io, sizeof io, "%s (%s) inputs", what, tfl_opcode_name(op->opcode));
    if (read_ints(r, &ot, OP_INPUTS, op->inputs, TFL_MAX_OP_IO, &op->ninputs, io) < 0 ||
        check_tensor_refs(r, op->inputs, op->ninputs, ntensors, 1, io) < 0)
        return -1;
    snprintf(io, sizeof io, "%s (%s) outputs", what, tfl_opcode_name(op->opcode));
    if (read_ints(r, &ot, OP_OUTPUTS, op->outputs, TFL_MAX_OP_IO, &op->noutputs, io) < 0 ||
        check_tensor_refs(r, op->outputs, op->noutputs, ntensors, 0, io) < 0)
        return -1;
    return read_options(r, &ot, op, idx);
}

/* Labels: the first .txt member of the metadata zip, one label per line. */
static int read_labels(struct reader *r, struct tfl_model *m)
{
    const uint8_t *data;
    size_t len;
    int rc = zip_find_stored(r->buf.p, r->buf.n, ".txt", &data, &len, r->err, r->errlen);
    if (rc <= 0)
        return rc;
    m->labels_text = malloc(len + 1);
    if (!m->labels_text)
        return fail(r, "labels: out of memory");
    memcpy(m->labels_text, data, len);
    m->labels_text[len] = 0;
    int lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    m->labels = malloc((size_t)lines * sizeof *m->labels);
    if (!m->labels)
        return fail(r, "labels: out of memory");
    char *s = m->labels_text, *end = m->labels_text + len;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *stop = nl ? nl : end;
        if (stop > s && stop[-1] == '\r')
            stop[-1] = 0;
        *stop = 0;
        m->labels[m->nlabels++] = s;
        s = stop + 1;
    }
    return 0;
}

static int read_graph(struct reader *r, const struct fb_table *root, struct tfl_model *m)
{
    struct fb_vec graphs, codes, buffers, tensors, ops;
    struct fb_table g;
    if (check(r, fb_vector(root, MODEL_SUBGRAPHS, 4, &graphs), "subgraphs") < 0 ||
        check(r, fb_vector(root, MODEL_OPCODES, 4, &codes), "operator codes") < 0 ||
        check(r, fb_vector(root, MODEL_BUFFERS, 4, &buffers), "buffers") < 0)
        return -1;
    if (graphs.len == 0)
        return fail(r, "the model has no subgraph");
    if (check(r, fb_vec_table(&graphs, 0, &g), "subgraph 0") < 0 ||
        check(r, fb_vector(&g, GRAPH_TENSORS, 4, &tensors), "tensors") < 0 ||
        check(r, fb_vector(&g, GRAPH_OPERATORS, 4, &ops), "operators") < 0)
        return -1;
    if (tensors.len == 0 || ops.len == 0 || tensors.len > MAX_TENSORS || ops.len > MAX_OPS)
        return fail(r, "subgraph 0 has %u tensors and %u operators (1..%d and 1..%d supported)", tensors.len, ops.len,
                    MAX_TENSORS, MAX_OPS);
    m->tensors = calloc(tensors.len, sizeof *m->tensors);
    m->ops = calloc(ops.len, sizeof *m->ops);
    if (!m->tensors || !m->ops)
        return fail(r, "out of memory for %u tensors, %u operators", tensors.len, ops.len);
    m->ntensors = (int)tensors.len;
    for (int i = 0; i < m->ntensors; i++)
        if (read_tensor(r, &tensors, &buffers, i, &m->tensors[i]) < 0)
            return -1;
    m->nops = (int)ops.len;
    for (int i = 0; i < m->nops; i++)
        if (read_operator(r, &ops, &codes, i, m->ntensors, &m->ops[i]) < 0)
            return -1;
    if (read_ints(r, &g, GRAPH_INPUTS, m->inputs, TFL_MAX_GRAPH_IO, &m->ninputs, "graph inputs") < 0 ||
        check_tensor_refs(r, m->inputs, m->ninputs, m->ntensors, 0, "graph inputs") < 0 ||
        read_ints(r, &g, GRAPH_OUTPUTS, m->outputs, TFL_MAX_GRAPH_IO, &m->noutputs, "graph outputs") < 0 ||
        check_tensor_refs(r, m->outputs, m->noutputs, m->ntensors, 0, "graph outputs") < 0)
        return -1;
    if (m->ninputs == 0 || m->noutputs == 0)
        return fail(r, "the graph declares %d inputs and %d outputs", m->ninputs, m->noutputs);
    return 0;
}

int tfl_parse(const void *bytes, size_t len, struct tfl_model *m, char *err, size_t errlen)
{
    struct reader r = { .buf = { .p = bytes, .n = len }, .err = err, .errlen = errlen };
    struct fb_table root;
    memset(m, 0, sizeof *m);
    if (len < 8 || memcmp(r.buf.p + 4, "TFL3", 4) != 0) {
        fail(&r, "not a TFLite model (no \"TFL3\" identifier at byte 4; %zu bytes)", len);
        return -1;
    }
    int32_t version;
    if (check(&r, fb_root(&r.buf, &root), "model root") < 0 || check(&r, fb_i32(&root, MODEL_VERSION, 0, &version), "model version") < 0)
        return -1;
    if (version != 3) {
        fail(&r, "schema version %d, only version 3 is supported", version);
        return -1;
    }
    m->version = (uint32_t)version;
    if (read_graph(&r, &root, m) < 0 || read_labels(&r, m) < 0) {
        tfl_free(m);
        return -1;
    }
    return 0;
}

void tfl_free(struct tfl_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->ntensors; i++) {
        free(m->tensors[i].scale);
        free(m->tensors[i].zero_point);
    }
    free(m->tensors);
    free(m->ops);
    free(m->labels);
    free(m->labels_text);
    memset(m, 0, sizeof *m);
}
