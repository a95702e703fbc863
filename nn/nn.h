/* nn: MobileNetV2-family inference (own AVX-512, AVX2 and generic kernels, or OpenBLAS), read straight from a
 * TFLite file.  The kernels' path is chosen at load: IMGREC_NN_ISA=auto|avx512|avx2|generic|openblas (auto,
 * the default, takes the best this CPU runs; one it cannot run makes nn_load fail with the reason).
 *
 * A model is loaded once (weights dequantized to float32 and laid out for the kernels, one activation
 * arena allocated) and then classifies images or tensors with no allocation per call. No global state:
 * several models may live in one process. A model is not thread-safe: one call at a time per model. */
#ifndef NN_NN_H
#define NN_NN_H

#include <stddef.h>

#define NN_INPUT_SIZE 224          /* the network's input is NN_INPUT_SIZE x NN_INPUT_SIZE x 3 */
#define NN_TOPK_MAX 5
#define NN_BATCH_MAX 64            /* images one forward pass may take (nn_set_max_batch) */

/* Errors, as negative return values.  Each maps to one HTTP status in the worker. */
enum nn_error {
    NN_OK = 0,
    NN_ERR_MODEL = -1,        /* model file missing, truncated, corrupt or unsupported */
    NN_ERR_NOT_IMAGE = -2,    /* bytes are not in any image format we decode (→ 415) */
    NN_ERR_BAD_IMAGE = -3,    /* a known format, but truncated or corrupt (→ 400) */
    NN_ERR_TOO_LARGE = -4,    /* decoded size over the pixel limit (→ 413) */
    NN_ERR_NOMEM = -5,        /* allocation failed (→ 503) */
};

struct nn_model; /* opaque */

struct nn_class {
    int class_index;          /* 0..999 ImageNet index (1001-way output minus the background slot); -1 = background */
    const char *label;        /* owned by the model, valid until nn_free */
    float prob;
};

struct nn_result {
    int k;                            /* entries filled in top[] */
    struct nn_class top[NN_TOPK_MAX]; /* most probable first */
    double decode_ms;                 /* image decode + resize + preprocessing (0 for tensors) */
    double inference_ms;              /* forward pass */
};

/* Loads a .tflite model.  Returns NULL and writes a one-line reason naming path into err on failure;
 * anything but a regular file (directory, device, FIFO) is refused without reading or blocking. */
struct nn_model *nn_load(const char *path, char *err, size_t errlen);
/* The same from len bytes already in memory (not kept: the caller may free them after the call). */
struct nn_model *nn_load_bytes(const void *bytes, size_t len, char *err, size_t errlen);
void nn_free(struct nn_model *m);

/* Threads a forward pass uses (default 1): the model starts n - 1 threads of its own, which sleep between
 * passes, and keeps OpenBLAS single-threaded (that setting is process-wide).  Returns 0, or -1 when the
 * threads could not be started (the model then runs on the calling thread alone). */
int nn_set_threads(struct nn_model *m, int n);
/* Room for batches of up to b images (1..NN_BATCH_MAX) in one forward pass (nn_classify_batch); a model
 * is loaded with room for 1.  Call it while setting the model up, like nn_set_threads: it plans and
 * allocates the activation arena for b images once (MobileNetV2: 5.7 MB for one image, 1.2 MB more per
 * further one), and no pass allocates anything.  Returns 0, or -1 with err filled (the model keeps its old
 * room; if even that cannot be allocated again, nn_max_batch is 0 and every pass fails). */
int nn_set_max_batch(struct nn_model *m, int b, char *err, size_t errlen);
int nn_max_batch(const struct nn_model *m);
/* The kernels' path this model runs: "avx512", "avx2", "generic" or "openblas". */
const char *nn_isa(const struct nn_model *m);
/* Floating-point operations of one forward pass (2 per multiply-add), for GFLOP/s reports. */
double nn_flops(const struct nn_model *m);

/* Classifies encoded image bytes (JPEG, PNG, BMP, GIF, PNM, ...): decode, centre square crop,
 * resize to 224, x = pixel/127.5 - 1, forward.  Returns 0 or a negative enum nn_error with err filled;
 * len 0 (bytes may then be NULL) is NN_ERR_NOT_IMAGE.  k as for nn_forward. */
int nn_classify_image(struct nn_model *m, const void *bytes, size_t len, int k,
                      struct nn_result *out, char *err, size_t errlen);
/* The picture half of nn_classify_image alone (decode, centre square, resize, orient, preprocess) into
 * tensor[NN_INPUT_SIZE*NN_INPUT_SIZE*3], so a caller can decode on another thread than the forward pass.
 * No model needed; thread-safe.  Returns 0 or a negative enum nn_error with err filled. */
int nn_image_to_tensor(const void *bytes, size_t len, float *tensor, char *err, size_t errlen);
/* The last step alone, for pictures already NN_INPUT_SIZE x NN_INPUT_SIZE: rgb (NN_INPUT_SIZE^2 x 3 bytes,
 * NHWC) to tensor, x = pixel/127.5 - 1.  Thread-safe. */
void nn_pixels_to_tensor(const unsigned char *rgb, float *tensor);

/* The model's input buffer (NN_INPUT_SIZE*NN_INPUT_SIZE*3 floats, NHWC, owned by the model): fill it,
 * then call nn_forward.  Lets callers preprocess straight into the arena with no copy.  The forward pass
 * reuses this memory: fill it again before every nn_forward.  NULL when the model has no arena. */
float *nn_input(struct nn_model *m);
/* Runs the network on nn_input() and fills out with the top k.  k is clamped to 0..NN_TOPK_MAX, never an
 * error: out->k says how many entries were filled (0 for k <= 0; nn_probs has them all).  Returns 0
 * (NN_ERR_NOMEM only after a failed nn_set_max_batch left no arena). */
int nn_forward(struct nn_model *m, int k, struct nn_result *out);

/* Classifies a preprocessed NHWC float tensor of NN_INPUT_SIZE*NN_INPUT_SIZE*3 values in [-1, 1]. */
int nn_classify_tensor(struct nn_model *m, const float *input, int k, struct nn_result *out);

/* Classifies n such tensors in one forward pass, out[i] being inputs[i]'s answer, the same as
 * nn_classify_tensor would give it (within 1e-5; make check proves it on every path).  The 1x1
 * convolutions of the small late layers, where batching pays, run as one GEMM over all n images' pixels
 * (nn/graph/plan.c says where the batch starts and why); every out[i].inference_ms is the whole pass.
 * Returns 0, or -1 when n is not 1..nn_max_batch(m) (nothing is run). */
int nn_classify_batch(struct nn_model *m, const float *const inputs[], int n, int k, struct nn_result out[]);

/* The full softmax of the last forward pass (nn_num_classes values, index 0 = background); of image i of
 * the last batch (nn_probs = image 0). */
const float *nn_probs(const struct nn_model *m);
const float *nn_batch_probs(const struct nn_model *m, int i);
int nn_num_classes(const struct nn_model *m);

/* Label of a 1001-way output index (0 = "background"), from the file's metadata; "" when out of range. */
const char *nn_label(const struct nn_model *m, int index1001);

#endif
