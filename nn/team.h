/* team: a model's own worker threads.  A forward pass runs on every thread of the team in lockstep: each
 * walks the same layer list, does its share of each layer and meets the others at a barrier before the
 * next layer.  Between passes the workers sleep on a condition variable (no spinning while idle). */
#ifndef NN_TEAM_H
#define NN_TEAM_H

struct nn_team;

/* work(arg, team, part) runs once per thread for every nn_team_run, part = 0 .. n-1 (0 is the caller). */
typedef void nn_team_work(void *arg, struct nn_team *team, int part);

/* Starts n - 1 threads (n >= 2).  Returns NULL when a thread cannot be created (none are left running). */
struct nn_team *nn_team_start(int n, nn_team_work *work, void *arg);
/* Runs work on every thread and returns when all have finished. */
void nn_team_run(struct nn_team *t);
/* Waits until every thread of the team has reached this barrier (called from inside work). */
void nn_team_barrier(struct nn_team *t, int part);
int nn_team_size(const struct nn_team *t);
/* Stops and joins the threads and frees the team (NULL is fine). */
void nn_team_stop(struct nn_team *t);

/* [*begin, *end): part's share of total items, in whole multiples of `align` (the last part takes the rest). */
void nn_share(int total, int part, int parts, int align, int *begin, int *end);

#endif
