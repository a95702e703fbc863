/* topology: what `client topology` (study 3, second part) and `client recommend --policy` share — the
 * names of the balancer's policies and of the batching settings, and reading the measured grid back. */
#ifndef STUDY_TOPOLOGY_H
#define STUDY_TOPOLOGY_H

#include <stddef.h>

#define TOPO_POLICIES 4
#define TOPO_MODES 2 /* batching off, on */

extern const char *const topo_policy_names[TOPO_POLICIES]; /* random, p2c, least, round-robin */
extern const char *const topo_mode_names[TOPO_MODES];      /* off, on */

/* Index of a policy name, or -1. */
int topo_policy_index(const char *name);

/* One measured cell of DIR/topology/grid.csv, as recommend reads it. */
struct topo_cell {
    int workers;
    double rate_rps;   /* 1000 / interval_ms */
    double p99_ms, pred_p99_ms;
    long ok, refused;
};

#define TOPO_MAX_CELLS 16

/* The cells of grid (path) for this policy and batching setting at the smallest measured rate at or
 * above rate_rps (one up to 5% below it counts: the grid's rates are multiples of a measured S), in the file's order (ascending workers).  Returns how many (0: no measured rate is that
 * high, or the policy was not measured), or -1 with err filled (unreadable file, missing columns). */
int topo_read_cells(const char *path, const char *policy, const char *batching, double rate_rps,
                    struct topo_cell *out, int cap, char *err, size_t errlen);

#endif
