/* loop: a small epoll event loop — file events, one-shot timers, and cross-thread posts.
 *
 * Shape (after Redis ae.c): a file event is (fd, mask, callback, data); timers sit beside them; another
 * thread hands work back to the loop thread with loop_post (an eventfd wakes epoll_wait).
 * Everything except loop_post and loop_stop must be called on the loop thread.
 *
 * Ownership: the loop owns only its own table.  Timers and posted tasks are structs the caller embeds in
 * its own objects (no allocation per timer or per post); the caller keeps them alive while armed/queued.
 * The loop never closes a caller's fd: call loop_unwatch(fd) before close(fd). */
#ifndef NET_LOOP_H
#define NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOOP_READABLE 1
#define LOOP_WRITABLE 2

struct loop; /* opaque */

/* mask says what fired (LOOP_READABLE and/or LOOP_WRITABLE).  Errors and hang-ups are reported as both,
 * so the handler finds out through its next read()/write(). */
typedef void loop_file_fn(struct loop *l, int fd, int mask, void *data);
typedef void loop_timer_fn(struct loop *l, void *data);
typedef void loop_task_fn(struct loop *l, void *data);

/* A one-shot timer, embedded in the caller's struct.  Fields are private; use the functions below. */
struct loop_timer {
    loop_timer_fn *fn;
    void *data;
    uint64_t when_ms;   /* private: deadline on the loop's monotonic clock */
    size_t heap_index;  /* private: position in the loop's heap, or SIZE_MAX when not armed */
};

/* A unit of work posted from any thread, embedded in the caller's struct.  Fields are private. */
struct loop_task {
    loop_task_fn *fn;
    void *data;
    struct loop_task *next; /* private */
};

/* Creates a loop for fds 0..max_fds-1 (larger fds are refused by loop_watch).  NULL on failure. */
struct loop *loop_create(int max_fds);
/* Frees the loop.  Caller fds stay open; armed timers become unarmed; queued tasks are dropped
 * without running. */
void loop_destroy(struct loop *l);

/* Watches fd for the events in mask (replacing any previous mask, callback and data).  mask 0 is the
 * same as loop_unwatch.  The mask fd already has costs no system call, so callers need not cache it.  Returns 0, or -1 with errno set (ERANGE when fd >= max_fds). */
int loop_watch(struct loop *l, int fd, int mask, loop_file_fn *fn, void *data);
/* Stops watching fd; no more callbacks for it, not even ones already pending in this iteration. */
void loop_unwatch(struct loop *l, int fd);

/* Timers: init once, then arm (re-arming moves the deadline) and stop freely.  A timer fires once;
 * re-arm it from its callback to repeat.  Arming fails (-1) only when memory runs out. */
void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *data);
int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t after_ms);
void loop_timer_stop(struct loop *l, struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);

/* Thread-safe: queues fn(data) to run on the loop thread and wakes the loop.  task must stay valid until
 * fn runs; it may be reused (posted again) from fn onwards.  Tasks run in posting order. */
void loop_post(struct loop *l, struct loop_task *task, loop_task_fn *fn, void *data);

/* Runs until loop_stop.  Returns 0, or -1 if epoll_wait fails for a reason other than EINTR. */
int loop_run(struct loop *l);
/* One iteration: waits up to timeout_ms (-1 = until something happens, capped by the next timer), then
 * dispatches.  Returns the number of events/timers/tasks handled, or -1 on error.  Handy in tests. */
int loop_run_once(struct loop *l, int timeout_ms);
/* Makes loop_run return after the current iteration.  Safe from any thread and from a signal handler. */
void loop_stop(struct loop *l);

/* Monotonic milliseconds, cached once per iteration (cheap). */
uint64_t loop_now_ms(struct loop *l);

#endif
