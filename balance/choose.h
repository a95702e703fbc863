/* choose: which backend gets the next try.  The per-backend state the chooser reads (after nginx's
 * ngx_http_upstream_round_robin: up/down, draining, in-flight, failures, a connection cap) and four
 * policies over it:
 *   random       uniform over the eligible backends (the original study's rule; the default)
 *   p2c          two random eligible backends, the one with fewer tries in flight (HAProxy random(2),
 *                Envoy least_request)
 *   least        the eligible backend with the fewest tries in flight (ties: a random one of them)
 *   round-robin  each eligible backend in turn (smooth weighted, as nginx)
 * A backend is eligible when it is up, not draining, below max_per_backend tries in flight, among the
 * first `limit` in configured order (`?backends=N`), and not the one to avoid (the one that just failed)
 * unless it is the only one left.  A backend that came back up less than slow_start_ms ago has a weight
 * rising linearly from 1/10 to 1, so its share of the picks rises with it (in-flight counts are compared
 * after dividing by the weight).
 *
 * Pure state and arithmetic: no loop, no sockets, the time is passed in.  Owned by the caller (one
 * struct chooser, backends in a fixed array). */
#ifndef BALANCE_CHOOSE_H
#define BALANCE_CHOOSE_H

#include <stdbool.h>
#include <stdint.h>

#define CHOOSE_MAX_BACKENDS 64
#define CHOOSE_NAME_MAX 64

enum choose_policy { CHOOSE_RANDOM, CHOOSE_P2C, CHOOSE_LEAST, CHOOSE_ROUND_ROBIN };

struct choose_backend {
    char name[CHOOSE_NAME_MAX];  /* "host:port" */
    bool up;                     /* may be chosen (health decides, see health.h) */
    bool draining;               /* vanished from discovery: no new tries, in-flight ones finish */
    uint64_t since_ms;           /* when up last changed (the slow start counts from here) */
    int in_flight;               /* tries sent and not done (the caller counts them) */
    int fails;                   /* consecutive failed tries or probes */
    uint64_t fails_total;        /* every failed try or probe since start */
    int rr_current;              /* private: smooth round-robin state */
    void *data;                  /* the caller's (its HTTP client) */
};

struct chooser {
    struct choose_backend b[CHOOSE_MAX_BACKENDS];
    int n;
    enum choose_policy policy;
    int max_per_backend;         /* 0 = no cap */
    uint64_t slow_start_ms;      /* 0 = none */
    uint64_t rng;                /* xorshift64* state, never 0 */
};

#define CHOOSE_NONE_UP (-1)      /* no eligible backend is up: answer 503 at once */
#define CHOOSE_ALL_BUSY (-2)     /* some are up but every one is at max_per_backend: wait or 503 */

/* Zeroes c and sets policy, cap, slow start and the seed (any value; 0 is mapped to a fixed one). */
void choose_init(struct chooser *c, enum choose_policy p, int max_per_backend, uint64_t slow_start_ms,
                 uint64_t seed);
/* "random", "p2c", "least", "round-robin" -> policy; -1 when unknown. */
int choose_policy_parse(const char *s, enum choose_policy *out);
const char *choose_policy_name(enum choose_policy p);

/* Appends a backend (down, since now_ms).  Its index, or -1 when the array is full. */
int choose_add(struct chooser *c, const char *name, void *data, uint64_t now_ms);
/* Removes backend i (the ones after it move down one place). */
void choose_remove(struct chooser *c, int i);
/* Index of the backend named name, or -1. */
int choose_find(const struct chooser *c, const char *name);

/* The weight of backend i at now_ms in 1..1000 (1000 = full; less during the slow start). */
int choose_weight(const struct chooser *c, int i, uint64_t now_ms);
/* Picks among the first limit backends (limit <= 0 or > n: all), avoiding avoid (-1: none) unless it is
 * the only eligible one.  The index, CHOOSE_NONE_UP or CHOOSE_ALL_BUSY.  Does not count the try: the
 * caller increments in_flight when it sends and decrements when the try ends. */
int choose_pick(struct chooser *c, int limit, int avoid, uint64_t now_ms);
/* Backends up and not draining. */
int choose_count_up(const struct chooser *c);

#endif
