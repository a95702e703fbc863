/* defaults: the two paths every subcommand may need, taken from the environment the Makefile sets. */
#include <stdio.h>
#include <stdlib.h>

#include "study/classifier.h"
#include "study/commands.h"

const char *default_model(void)
{
    const char *m = getenv("IMGREC_MODEL");
    return m && *m ? m : "weights/mobilenet_v2_1.0_224_quant.tflite";
}

const char *default_shared(void)
{
    const char *s = getenv("IMGREC_SHARED");
    return s && *s ? s : "../shared";
}

struct classifier *open_classifier(const char *model, const char *url)
{
    char err[512];
    if (model && url) {
        fprintf(stderr, "client: give --model or --url, not both\n");
        return NULL;
    }
    struct classifier *c = classifier_open(url ? NULL : model ? model : default_model(), url, err, sizeof err);
    if (!c)
        fprintf(stderr, "client: %s\n", err);
    return c;
}
