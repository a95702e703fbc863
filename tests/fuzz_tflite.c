/* libFuzzer target for the model reader: any bytes go through nn_load_bytes (flatbuffer, graph checks,
 * dequantization, labels zip); whatever loads is run once.  Seed: tests/corpus/tflite/tiny.tflite. */
#include "nn/nn.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct nn_model *m = nn_load_bytes(data, size, err, sizeof err);
    if (!m)
        return 0;
    struct nn_result r;
    memset(nn_input(m), 0, sizeof(float) * NN_INPUT_SIZE * NN_INPUT_SIZE * 3);
    nn_forward(m, NN_TOPK_MAX, &r);
    nn_free(m);
    return 0;
}
