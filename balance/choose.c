/* choose: the backend policies over per-backend state (see choose.h). */
#include "balance/choose.h"

#include <stdio.h>
#include <string.h>

static uint64_t next_random(struct chooser *c)
{
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1DULL;
}

void choose_init(struct chooser *c, enum choose_policy p, int max_per_backend, uint64_t slow_start_ms,
                 uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->policy = p;
    c->max_per_backend = max_per_backend;
    c->slow_start_ms = slow_start_ms;
    c->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

static const char *const policy_names[] = { "random", "p2c", "least", "round-robin" };

int choose_policy_parse(const char *s, enum choose_policy *out)
{
    for (int i = 0; i < (int)(sizeof policy_names / sizeof *policy_names); i++) {
        if (strcmp(s, policy_names[i]) == 0) {
            *out = (enum choose_policy)i;
            return 0;
        }
    }
    return -1;
}

const char *choose_policy_name(enum choose_policy p)
{
    return policy_names[p];
}

int choose_add(struct chooser *c, const char *name, void *data, uint64_t now_ms)
{
    if (c->n == CHOOSE_MAX_BACKENDS)
        return -1;
    struct choose_backend *b = &c->b[c->n];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->since_ms = now_ms;
    b->data = data;
    return c->n++;
}

void choose_remove(struct chooser *c, int i)
{
    memmove(&c->b[i], &c->b[i + 1], (size_t)(c->n - i - 1) * sizeof c->b[0]);
    c->n--;
}

int choose_find(const struct chooser *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->b[i].name, name) == 0)
            return i;
    return -1;
}

int choose_weight(const struct chooser *c, int i, uint64_t now_ms)
{
    const struct choose_backend *b = &c->b[i];
    uint64_t age = now_ms > b->since_ms ? now_ms - b->since_ms : 0;
    if (!c->slow_start_ms || age >= c->slow_start_ms)
        return 1000;
    return 100 + (int)(900 * age / c->slow_start_ms);
}

int choose_count_up(const struct chooser *c)
{
    int up = 0;
    for (int i = 0; i < c->n; i++)
        up += c->b[i].up && !c->b[i].draining;
    return up;
}

/* Load of backend i compared across backends: in-flight tries per unit of weight (x1000). */
static uint64_t load(const struct chooser *c, int i, const int *w)
{
    return (uint64_t)c->b[i].in_flight * 1000000u / (uint64_t)w[i];
}

/* A weighted random draw among the cand[0..n) with weights w. */
static int draw(struct chooser *c, const int *cand, int n, const int *w)
{
    uint64_t sum = 0;
    for (int k = 0; k < n; k++)
        sum += (uint64_t)w[cand[k]];
    uint64_t r = next_random(c) % sum;
    for (int k = 0; k < n; k++) {
        if (r < (uint64_t)w[cand[k]])
            return cand[k];
        r -= (uint64_t)w[cand[k]];
    }
    return cand[n - 1];
}

int choose_pick(struct chooser *c, int limit, int avoid, uint64_t now_ms)
{
    if (limit <= 0 || limit > c->n)
        limit = c->n;
    int cand[CHOOSE_MAX_BACKENDS], w[CHOOSE_MAX_BACKENDS];
    int n = 0, up = 0, avoided = -1;
    for (int i = 0; i < limit; i++) {
        const struct choose_backend *b = &c->b[i];
        if (!b->up || b->draining)
            continue;
        up++;
        if (c->max_per_backend > 0 && b->in_flight >= c->max_per_backend)
            continue;
        w[i] = choose_weight(c, i, now_ms);
        if (i == avoid)
            avoided = i;
        else
            cand[n++] = i;
    }
    if (n == 0 && avoided >= 0)
        cand[n++] = avoided;
    if (n == 0)
        return up ? CHOOSE_ALL_BUSY : CHOOSE_NONE_UP;
    switch (c->policy) {
    case CHOOSE_RANDOM:
        return draw(c, cand, n, w);
    case CHOOSE_P2C: {
        int a = draw(c, cand, n, w);
        if (n == 1)
            return a;
        int rest[CHOOSE_MAX_BACKENDS], m = 0;
        for (int k = 0; k < n; k++)
            if (cand[k] != a)
                rest[m++] = cand[k];
        int b = draw(c, rest, m, w);
        return load(c, b, w) < load(c, a, w) ? b : a;
    }
    case CHOOSE_LEAST: {
        /* Scan from a random place so ties go to a random one of the least loaded. */
        int start = (int)(next_random(c) % (uint64_t)n), best = cand[start];
        for (int k = 1; k < n; k++) {
            int i = cand[(start + k) % n];
            if (load(c, i, w) < load(c, best, w))
                best = i;
        }
        return best;
    }
    case CHOOSE_ROUND_ROBIN: {
        /* nginx's smooth weighted round-robin: everyone gains its weight, the richest pays the total. */
        int best = cand[0], total = 0;
        for (int k = 0; k < n; k++) {
            struct choose_backend *b = &c->b[cand[k]];
            b->rr_current += w[cand[k]];
            total += w[cand[k]];
            if (b->rr_current > c->b[best].rr_current)
                best = cand[k];
        }
        c->b[best].rr_current -= total;
        return best;
    }
    }
    return cand[0];
}
