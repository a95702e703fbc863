/* rng: splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, passes BigCrush, trivially seeded. */
#include "study/rng.h"

#include <math.h>

void rng_seed(struct rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double rng_uniform(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53; /* top 53 bits: every double in [0,1) equally spaced */
}

double rng_exponential(struct rng *r, double mean)
{
    return -mean * log1p(-rng_uniform(r)); /* 1 - u is in (0, 1], so the log is finite */
}
