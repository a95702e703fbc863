/* rng: a small seeded generator (splitmix64) so every load run's arrival schedule can be replayed. */
#ifndef STUDY_RNG_H
#define STUDY_RNG_H

#include <stdint.h>

struct rng {
    uint64_t state;
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);
/* Exponentially distributed with the given mean (inverse transform). */
double rng_exponential(struct rng *r, double mean);

#endif
