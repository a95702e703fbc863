/* isa: the engine's instruction-set choice.  See isa.h. */
#include "nn/kernels/isa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[NN_ISA_COUNT] = {
    [NN_ISA_GENERIC] = "generic", [NN_ISA_AVX2] = "avx2", [NN_ISA_AVX512] = "avx512", [NN_ISA_OPENBLAS] = "openblas",
};

const char *nn_isa_name(enum nn_isa isa)
{
    return isa >= 0 && isa < NN_ISA_COUNT ? names[isa] : "?";
}

int nn_isa_supported(enum nn_isa isa)
{
    switch (isa) {
    case NN_ISA_GENERIC:
    case NN_ISA_OPENBLAS:
        return 1;
#if defined(__x86_64__)
    case NN_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NN_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0;
#endif
    default:
        return 0;
    }
}

enum nn_isa nn_isa_best(void)
{
    return nn_isa_supported(NN_ISA_AVX512) ? NN_ISA_AVX512 : nn_isa_supported(NN_ISA_AVX2) ? NN_ISA_AVX2
                                                                                             : NN_ISA_GENERIC;
}

int nn_isa_from_env(enum nn_isa *out, char *err, size_t errlen)
{
    const char *want = getenv("IMGREC_NN_ISA");
    if (!want || !*want || strcmp(want, "auto") == 0) {
        *out = nn_isa_best();
        return 0;
    }
    for (int i = 0; i < NN_ISA_COUNT; i++)
        if (strcmp(want, names[i]) == 0) {
            if (!nn_isa_supported((enum nn_isa)i))
                break;
            *out = (enum nn_isa)i;
            return 0;
        }
    char offer[64] = "";
    for (int i = 0; i < NN_ISA_COUNT; i++)
        if (nn_isa_supported((enum nn_isa)i))
            snprintf(offer + strlen(offer), sizeof offer - strlen(offer), "%s%s", *offer ? "|" : "", names[i]);
    snprintf(err, errlen, "IMGREC_NN_ISA=%s: not a path this CPU runs (auto|%s)", want, offer);
    return -1;
}
