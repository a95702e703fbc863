/* tflite: reads a TensorFlow Lite model file (schema.fbs, version 3) into plain C structs.
 *
 * Only what a feed-forward image classifier needs: the first subgraph's tensors (shape, type, constant data,
 * quantization incl. per-channel), its operators with their options, and the labels stored in the zip that
 * TFLite metadata appends to the file.  Every offset is bounds-checked; a broken file is refused with a
 * message naming what is wrong.  Constant data stays a view into the caller's bytes, which must outlive
 * the tfl_model; everything else is owned by it (release with tfl_free). */
#ifndef NN_TFLITE_H
#define NN_TFLITE_H

#include <stddef.h>
#include <stdint.h>

#define TFL_MAX_DIMS 6
#define TFL_MAX_OP_IO 8        /* inputs or outputs per operator */
#define TFL_MAX_GRAPH_IO 4     /* inputs or outputs of the graph */

enum tfl_type { TFL_FLOAT32 = 0, TFL_FLOAT16 = 1, TFL_INT32 = 2, TFL_UINT8 = 3, TFL_INT64 = 4, TFL_INT8 = 9 };

enum tfl_opcode {
    TFL_OP_ADD = 0,
    TFL_OP_AVERAGE_POOL_2D = 1,
    TFL_OP_CONV_2D = 3,
    TFL_OP_DEPTHWISE_CONV_2D = 4,
    TFL_OP_DEQUANTIZE = 6,
    TFL_OP_FULLY_CONNECTED = 9,
    TFL_OP_RESHAPE = 22,
    TFL_OP_SOFTMAX = 25,
    TFL_OP_MEAN = 40,
    TFL_OP_QUANTIZE = 114,
};

enum tfl_padding { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum tfl_activation { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU_N1_TO_1 = 2, TFL_ACT_RELU6 = 3 };

struct tfl_tensor {
    char name[64];             /* truncated copy, for messages */
    int type;                  /* enum tfl_type (other values kept as read) */
    int ndim;
    int shape[TFL_MAX_DIMS];
    const uint8_t *data;       /* constant contents (view into the file) or NULL */
    size_t data_len;
    int nquant;                /* 0: not quantized; 1: per-tensor; >1: per-channel along quant_dim */
    int quant_dim;
    float *scale;              /* nquant entries */
    int64_t *zero_point;       /* nquant entries */
};

/* Options of every supported operator, merged (each op reads the ones it has). */
struct tfl_op {
    int opcode;                /* builtin code (enum tfl_opcode for the supported ones) */
    int ninputs, noutputs;
    int inputs[TFL_MAX_OP_IO]; /* tensor indices; -1 = optional input absent */
    int outputs[TFL_MAX_OP_IO];
    int padding;               /* enum tfl_padding */
    int stride_w, stride_h;
    int dilation_w, dilation_h;
    int filter_w, filter_h;    /* pooling */
    int depth_multiplier;
    int activation;            /* enum tfl_activation */
    float beta;                /* softmax */
    int keep_dims;             /* mean */
};

struct tfl_model {
    uint32_t version;
    int ntensors;
    struct tfl_tensor *tensors;
    int nops;
    struct tfl_op *ops;
    int ninputs, noutputs;
    int inputs[TFL_MAX_GRAPH_IO];
    int outputs[TFL_MAX_GRAPH_IO];
    char *labels_text;         /* the labels file's bytes, lines split in place */
    int nlabels;
    const char **labels;       /* nlabels line pointers into labels_text (NULL when the file has none) */
};

/* Parses len bytes.  Returns 0, or -1 with a one-line reason in err (and *out left empty). */
int tfl_parse(const void *bytes, size_t len, struct tfl_model *out, char *err, size_t errlen);
void tfl_free(struct tfl_model *m);

/* Name of a builtin operator code ("CONV_2D"), or NULL when this reader does not know it. */
const char *tfl_opcode_name(int opcode);

#endif
