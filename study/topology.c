/* topology: the policy names and the grid reader (see topology.h). */
#include "study/topology.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study/csvread.h"

const char *const topo_policy_names[TOPO_POLICIES] = { "random", "p2c", "least", "round-robin" };
const char *const topo_mode_names[TOPO_MODES] = { "off", "on" };

int topo_policy_index(const char *name)
{
    for (int i = 0; i < TOPO_POLICIES; i++)
        if (strcmp(name, topo_policy_names[i]) == 0)
            return i;
    return -1;
}

int topo_read_cells(const char *path, const char *policy, const char *batching, double rate_rps,
                    struct topo_cell *out, int cap, char *err, size_t errlen)
{
    struct csv *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (csv_load(path, c, err, errlen) < 0) {
        free(c);
        return -1;
    }
    int cb = csv_col(c, "batching"), cp = csv_col(c, "policy"), cw = csv_col(c, "workers"),
        ci = csv_col(c, "interval_ms"), c99 = csv_col(c, "p99_ms"), cpr = csv_col(c, "pred_p99_ms"),
        cok = csv_col(c, "ok"), cref = csv_col(c, "refused");
    if (cb < 0 || cp < 0 || cw < 0 || ci < 0 || c99 < 0 || cpr < 0 || cok < 0 || cref < 0) {
        snprintf(err, errlen, "%s lacks the columns of a topology grid", path);
        free(c);
        return -1;
    }
    /* The smallest measured rate at or above the one asked for.  The grid's rates are multiples of a
     * measured S (49.9 req/s, not 50): one up to 5% below counts as the same rate. */
    double rate = INFINITY;
    for (int r = 0; r < c->nrows; r++) {
        double x = 1000 / csv_num(c, r, ci);
        if (strcmp(c->cell[r][cp], policy) == 0 && strcmp(c->cell[r][cb], batching) == 0 && x >= rate_rps * 0.95 &&
            x < rate)
            rate = x;
    }
    int n = 0;
    for (int r = 0; r < c->nrows && n < cap && isfinite(rate); r++) {
        double x = 1000 / csv_num(c, r, ci);
        if (strcmp(c->cell[r][cp], policy) != 0 || strcmp(c->cell[r][cb], batching) != 0 || fabs(x - rate) > 1e-9 * rate)
            continue;
        out[n++] = (struct topo_cell){ (int)csv_num(c, r, cw), x, csv_num(c, r, c99), csv_num(c, r, cpr),
                                       (long)csv_num(c, r, cok), (long)csv_num(c, r, cref) };
    }
    free(c);
    return n;
}
