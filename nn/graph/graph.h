/* graph: the loaded network as nn/ runs it: a flat list of layers whose tensors are already resolved to
 * pointers into the model's weights and activation arena.  Internal to nn/. */
#ifndef NN_GRAPH_H
#define NN_GRAPH_H

#include "nn/kernels/kernels.h"
#include "nn/format/tflite.h"

#include <stddef.h>

enum nn_layer_kind {
    NN_LAYER_CONV1X1,     /* 1x1 stride-1 conv: one GEMM on the activations (may carry a fused ADD) */
    NN_LAYER_CONV,        /* any other conv: im2col + GEMM */
    NN_LAYER_DEPTHWISE,
    NN_LAYER_AVGPOOL,
    NN_LAYER_MEAN,        /* mean over H and W */
    NN_LAYER_FC,
    NN_LAYER_ADD,
    NN_LAYER_SOFTMAX,
    NN_LAYER_COPY,        /* RESHAPE, QUANTIZE, DEQUANTIZE: identities on float data */
};

struct nn_layer {
    enum nn_layer_kind kind;
    int op;                    /* index of the TFLite operator it came from */
    int in, in2, out;          /* tensor indices (in2: ADD's second input, or a conv's fused residual; else -1) */
    struct nn_window g;        /* window geometry (conv, depthwise, pooling) */
    size_t n;                  /* elements of the output */
    int k;                     /* FC: inputs per output */
    const float *w, *bias;     /* laid out for the kernel, inside the model's weight block */
    struct nn_matrix mat;      /* conv weights as a GEMM operand (w, packed or not) */
    float lo, hi;              /* fused activation clamp */
    float beta;                /* softmax */
    size_t scratch_floats;     /* arena scratch the layer needs while it runs */
    double flops;              /* 2 per multiply-add */
    int shared;                /* split among a team's threads (worth a barrier); else thread 0 runs it */
    /* Resolved when the arena is planned: image i of a pass reads x + i*xs (x2 + i*x2s) and writes y + i*ys;
     * a stride is 0 for a tensor that holds one image at a time (see nn_model.split). */
    const float *x, *x2;
    float *y, *scratch;
    size_t xs, x2s, ys;
};

struct nn_model {
    enum nn_isa isa;           /* the kernels' path, chosen at load (nn/kernels/isa.h) */
    int nlayers;
    struct nn_layer *layers;
    float *weights;            /* every constant, dequantized and laid out, one allocation */
    size_t weights_used, weights_cap;
    float *arena;              /* every activation and scratch buffer, one allocation */
    size_t arena_floats;
    int ntensors;
    float **act;               /* per tensor: its place in the arena (NULL for constants) */
    size_t *act_size;          /* per tensor: elements of one image (0 for constants) */
    size_t *act_stride;        /* per tensor: floats from one image to the next, 0 when it holds one image */
    int max_batch;             /* images the arena holds room for (nn_set_max_batch) */
    int batch;                 /* images in the pass being run */
    int split;                 /* layers [0, split) run image by image, the rest on the whole batch at once */
    int input, output;         /* the graph's input and output tensors */
    int nclasses;
    char *labels_text;
    const char **labels;
    int nlabels;
    int threads;
    struct nn_team *team;      /* worker threads when threads > 1, else NULL */
    double flops;              /* multiply-adds * 2 per forward pass */
};

/* Turns the parsed file into layers (shape checks, weight layout).  Fills m->layers, m->weights,
 * m->act_size, m->input/output.  Returns 0 or -1 with the reason in err. */
int nn_build(const struct tfl_model *t, struct nn_model *m, char *err, size_t errlen);

/* Rewrites the built layers: folds residual ADDs into GEMMs, marks the layers threads share. */
void nn_fuse(struct nn_model *m);

struct nn_team;
/* The forward pass proper on m->batch images: the layers before m->split once per image, then the rest
 * once for all; this thread's share of each (part of the team's size; team NULL = all of it).  The shape
 * of nn_team_work, arg being the model. */
void nn_run_layers(void *model, struct nn_team *team, int part);

/* Places activations for up to max_batch images in one arena (replacing any earlier one) and resolves every
 * layer's pointers and strides.  Returns 0 or -1 with the reason in err (the model then has no arena). */
int nn_plan_memory(struct nn_model *m, int max_batch, char *err, size_t errlen);

/* The engine's monotonic clock in milliseconds, for the timings it reports (nn/ uses no net/, so this is
 * the one clock besides net/clock.h). */
double nn_clock_ms(void);

#endif
