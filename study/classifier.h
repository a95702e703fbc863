/* classifier: "classify this picture" whether the network runs here (nn/) or behind the service (--url),
 * so classify and accuracy are written once for both. */
#ifndef STUDY_CLASSIFIER_H
#define STUDY_CLASSIFIER_H

#include <stddef.h>

#include "nn/image/image.h"
#include "study/prediction.h"

#define CLASSIFIER_TIMEOUT_MS 60000

struct classifier; /* opaque */

/* Exactly one of model (a .tflite path) and url (http://HOST:PORT[/path]) is non-NULL.  NULL + err. */
struct classifier *classifier_open(const char *model, const char *url, char *err, size_t errlen);
void classifier_close(struct classifier *c);

/* Classifies an encoded image file's bytes (name is used for the upload's filename).  *rtt_ms gets the
 * round trip for remote classifiers (-1 for local ones).  Returns 0, or -1 with err filled (naming the
 * picture, or the service when the exchange failed), or CLASSIFIER_UNREACHABLE when the service cannot
 * be connected to at all (err names its address: no point trying the next picture). */
#define CLASSIFIER_UNREACHABLE (-2)
int classifier_bytes(struct classifier *c, const void *bytes, size_t len, const char *name,
                     struct prediction *out, double *rtt_ms, char *err, size_t errlen);
/* Classifies decoded pixels already cropped and resized to NN_INPUT_SIZE square: locally straight into
 * the network's input; remotely sent as a lossless PNG (so the server sees exactly these pixels). */
int classifier_pixels(struct classifier *c, const struct img *im, struct prediction *out, char *err, size_t errlen);

#endif
