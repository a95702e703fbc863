/* loop: epoll event loop with a timer min-heap and an eventfd-woken task queue. */
#include "net/loop.h"
#include "net/clock.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct file_slot {
    int mask;
    loop_file_fn *fn;
    void *data;
};

struct loop {
    int epfd, evfd;
    int max_fds;
    struct file_slot *slots;            /* indexed by fd */
    struct loop_timer **heap;           /* min-heap on when_ms */
    size_t nheap, heap_cap;
    pthread_mutex_t lock;               /* guards the task queue */
    struct loop_task *head, *tail;
    volatile sig_atomic_t stop;
    uint64_t now;
};

struct loop *loop_create(int max_fds)
{
    if (max_fds <= 0) {
        errno = EINVAL;
        return NULL;
    }
    struct loop *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->epfd = l->evfd = -1;
    l->max_fds = max_fds;
    l->slots = calloc((size_t)max_fds, sizeof *l->slots);
    l->heap_cap = 64;
    l->heap = malloc(l->heap_cap * sizeof *l->heap);
    if (l->slots == NULL || l->heap == NULL || pthread_mutex_init(&l->lock, NULL) != 0)
        goto fail_nolock;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->evfd < 0)
        goto fail;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l->evfd };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0)
        goto fail;
    l->now = clock_now_ms();
    return l;
fail:
    pthread_mutex_destroy(&l->lock);
fail_nolock:
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->evfd >= 0)
        close(l->evfd);
    free(l->slots);
    free(l->heap);
    free(l);
    return NULL;
}

void loop_destroy(struct loop *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nheap; i++)
        l->heap[i]->heap_index = SIZE_MAX; /* the caller's timers read as not armed from now on */
    close(l->epfd);
    close(l->evfd);
    pthread_mutex_destroy(&l->lock);
    free(l->slots);
    free(l->heap);
    free(l);
}

/* ---- file events ---------------------------------------------------------------------------------- */

int loop_watch(struct loop *l, int fd, int mask, loop_file_fn *fn, void *data)
{
    if (fd < 0 || fd >= l->max_fds || fd == l->evfd) {
        errno = ERANGE;
        return -1;
    }
    if (mask == 0) {
        loop_unwatch(l, fd);
        return 0;
    }
    struct file_slot *s = &l->slots[fd];
    if (s->mask == mask) { /* the same events: no system call, only the callback may change */
        s->fn = fn;
        s->data = data;
        return 0;
    }
    struct epoll_event ev = { .events = 0, .data.fd = fd };
    if (mask & LOOP_READABLE)
        ev.events |= EPOLLIN;
    if (mask & LOOP_WRITABLE)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(l->epfd, s->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    s->mask = mask;
    s->fn = fn;
    s->data = data;
    return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
    if (fd < 0 || fd >= l->max_fds || l->slots[fd].mask == 0)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails only if fd was already closed: nothing to undo */
    memset(&l->slots[fd], 0, sizeof l->slots[fd]);
}

/* ---- timers: a binary min-heap of caller-owned structs ------------------------------------------- */

static void heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
    l->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];
    while (i > 0 && l->heap[(i - 1) / 2]->when_ms > t->when_ms) {
        heap_set(l, i, l->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(l, i, t);
}

static void sift_down(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && l->heap[c + 1]->when_ms < l->heap[c]->when_ms)
            c++;
        if (l->heap[c]->when_ms >= t->when_ms)
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *data)
{
    t->fn = fn;
    t->data = data;
    t->when_ms = 0;
    t->heap_index = SIZE_MAX;
}

bool loop_timer_armed(const struct loop_timer *t)
{
    return t->heap_index != SIZE_MAX;
}

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
    if (!loop_timer_armed(t))
        return;
    size_t i = t->heap_index;
    t->heap_index = SIZE_MAX;
    struct loop_timer *last = l->heap[--l->nheap];
    if (i == l->nheap)
        return;
    heap_set(l, i, last);
    sift_up(l, i);
    sift_down(l, last->heap_index);
}

int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t after_ms)
{
    uint64_t when = clock_now_ms() + after_ms;
    if (loop_timer_armed(t)) {
        t->when_ms = when;
        sift_up(l, t->heap_index);
        sift_down(l, t->heap_index);
        return 0;
    }
    if (l->nheap == l->heap_cap) {
        struct loop_timer **h = realloc(l->heap, 2 * l->heap_cap * sizeof *h);
        if (h == NULL)
            return -1;
        l->heap = h;
        l->heap_cap *= 2;
    }
    t->when_ms = when;
    heap_set(l, l->nheap++, t);
    sift_up(l, t->heap_index);
    return 0;
}

/* Fires the timers due now; those armed by a callback wait for the next iteration. */
static int run_timers(struct loop *l)
{
    int fired = 0;
    size_t budget = l->nheap;
    while (budget-- > 0 && l->nheap > 0 && l->heap[0]->when_ms <= l->now) {
        struct loop_timer *t = l->heap[0];
        loop_timer_stop(l, t);
        t->fn(l, t->data);
        fired++;
    }
    return fired;
}

/* ---- cross-thread tasks ---------------------------------------------------------------------------- */

static void wake(struct loop *l)
{
    uint64_t one = 1;
    ssize_t n = write(l->evfd, &one, sizeof one);
    (void)n; /* EAGAIN means the counter is already non-zero: the loop will wake anyway */
}

void loop_post(struct loop *l, struct loop_task *task, loop_task_fn *fn, void *data)
{
    task->fn = fn;
    task->data = data;
    task->next = NULL;
    pthread_mutex_lock(&l->lock);
    if (l->tail)
        l->tail->next = task;
    else
        l->head = task;
    l->tail = task;
    pthread_mutex_unlock(&l->lock);
    wake(l);
}

static int run_tasks(struct loop *l)
{
    uint64_t count;
    ssize_t n = read(l->evfd, &count, sizeof count);
    (void)n; /* EAGAIN: another iteration already drained it */
    pthread_mutex_lock(&l->lock);
    struct loop_task *t = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->lock);
    int ran = 0;
    while (t) {
        struct loop_task *next = t->next; /* fn may re-post t */
        t->fn(l, t->data);
        t = next;
        ran++;
    }
    return ran;
}

void loop_stop(struct loop *l)
{
    l->stop = 1;
    wake(l);
}

/* ---- running --------------------------------------------------------------------------------------- */

uint64_t loop_now_ms(struct loop *l)
{
    return l->now;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
    l->now = clock_now_ms();
    if (l->nheap > 0) {
        uint64_t due = l->heap[0]->when_ms;
        uint64_t wait = due > l->now ? due - l->now : 0;
        if (timeout_ms < 0 || wait < (uint64_t)timeout_ms)
            timeout_ms = wait > 60000 ? 60000 : (int)wait;
    }
    struct epoll_event events[MAX_EVENTS];
    int n = epoll_wait(l->epfd, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    l->now = clock_now_ms();
    int handled = 0;
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if (fd == l->evfd) {
            handled += run_tasks(l);
            continue;
        }
        uint32_t e = events[i].events;
        int fired = 0;
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
            fired |= LOOP_READABLE;
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            fired |= LOOP_WRITABLE;
        struct file_slot *s = &l->slots[fd];
        fired &= s->mask; /* an earlier callback may have unwatched or changed it */
        if (fired) {
            s->fn(l, fd, fired, s->data);
            handled++;
        }
    }
    handled += run_timers(l);
    return handled;
}

int loop_run(struct loop *l)
{
    while (!l->stop) {
        if (loop_run_once(l, -1) < 0)
            return -1;
    }
    l->stop = 0;
    return 0;
}
