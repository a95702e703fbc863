/* discovery: backends from DNS names and a file, re-resolved and reconciled (see discovery.h).
 *
 * Why one resolver thread and not getaddrinfo_a: getaddrinfo blocks for as long as the DNS server makes
 * it (resolv.conf's timeout x attempts), and the loop must never wait on it.  glibc's getaddrinfo_a is
 * no lighter: it runs each lookup on threads of its own and reports by a signal or by a call on yet
 * another thread, which would still have to hand the answer to the loop, and a lookup in progress can
 * be neither bounded nor cancelled.  One thread of ours that runs a whole round (every source, one after
 * the other) and posts the answers back with loop_post (an eventfd wakes the loop) is bounded (one round
 * at a time, fixed buffers), portable to any libc, and simple to stop. */
#define _GNU_SOURCE
#include "balance/discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define MAX_ADDRS CHOOSE_MAX_BACKENDS    /* addresses kept per source */
#define MAX_FILE_BYTES (256u * 1024)     /* a backends file larger than this is refused */
#define LOG "balancer: "

struct source {
    char host[SOCK_HOST_MAX];
    int port;
};

/* One source's addresses (numeric, as inet_ntop writes them) from one round. */
struct answer {
    int gai;                             /* 0, or getaddrinfo's error code */
    int sys_errno;                       /* errno when gai is EAI_SYSTEM */
    int n;
    char addr[MAX_ADDRS][INET6_ADDRSTRLEN];
};

/* What the loop and the resolver thread share.  The loop writes src/nsources only while no round is out
 * (its busy flag); the thread writes ans only during a round; the mutex orders the hand-overs. */
struct resolver {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pending;                        /* a round is asked for */
    bool running;                        /* the thread is inside a round */
    bool stopping;                       /* discovery_stop ran: exit, post nothing more */
    pthread_t thread;
    struct loop *loop;
    struct loop_task task;
    loop_task_fn *done;                  /* posted with done_data when a round ends */
    void *done_data;
    int nsources;
    struct source src[DISCOVERY_MAX_SOURCES];
    struct answer ans[DISCOVERY_MAX_SOURCES];
};

enum state { ST_OK, ST_NONE, ST_FAILING };

/* A source on the loop side: its last addresses (kept through a failed round) and what was last logged. */
struct source_state {
    struct source s;
    enum state state;
    struct answer last;
};

struct discovery {
    struct loop *loop;
    struct chooser *ch;
    const struct discovery_ops *ops;
    void *ctx;
    const char *file;
    uint64_t interval_ms;
    int nsources, ncmd;                  /* sources: the ncmd --backend values, then the file's lines */
    struct source_state src[DISCOVERY_MAX_SOURCES];
    struct loop_timer tick, sweep;
    int hup[2];                          /* the SIGHUP self-pipe: read end, write end */
    bool busy;                           /* a round is out on the thread */
    bool again, reload;                  /* once it is back: another round; re-read the file first */
    bool dropped_logged;                 /* more addresses than backends, said once */
    struct resolver *r;
};

/* ---- resolving: on the thread, and once at start-up ---------------------------------------------------- */

static void resolve(const struct source *s, struct answer *a)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    a->n = 0;
    a->gai = getaddrinfo(s->host[0] ? s->host : "127.0.0.1", NULL, &hints, &res);
    a->sys_errno = a->gai == EAI_SYSTEM ? errno : 0;
    if (a->gai != 0)
        return;
    for (struct addrinfo *ai = res; ai && a->n < MAX_ADDRS; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *where = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                          : ai->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                                                      : NULL;
        if (!where || !inet_ntop(ai->ai_family, where, text, sizeof text))
            continue;
        bool seen = false;
        for (int k = 0; k < a->n && !seen; k++)
            seen = strcmp(a->addr[k], text) == 0;
        if (!seen)
            memcpy(a->addr[a->n++], text, sizeof text);
    }
    freeaddrinfo(res);
}

static void resolver_free(struct resolver *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void *resolver_main(void *arg)
{
    struct resolver *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->pending && !r->stopping)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stopping)
            break;
        r->pending = false;
        r->running = true;
        pthread_mutex_unlock(&r->mu);
        for (int k = 0; k < r->nsources; k++)
            resolve(&r->src[k], &r->ans[k]);
        pthread_mutex_lock(&r->mu);
        r->running = false;
        if (r->stopping) { /* discovery_stop left us detached: ours to free */
            pthread_mutex_unlock(&r->mu);
            resolver_free(r);
            return NULL;
        }
        loop_post(r->loop, &r->task, r->done, r->done_data);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the backends file ------------------------------------------------------------------------------------ */

int discovery_parse_file(const char *text, size_t len, char (*hosts)[SOCK_HOST_MAX], int *ports, int max,
                         char *err, size_t errlen)
{
    int n = 0, line = 0;
    for (size_t at = 0; at < len;) {
        line++;
        const char *p = text + at, *nl = memchr(p, '\n', len - at);
        size_t l = nl ? (size_t)(nl - p) : len - at;
        at += l + (nl != NULL);
        const char *hash = memchr(p, '#', l);
        if (hash)
            l = (size_t)(hash - p);
        while (l && strchr(" \t\r", p[0])) { /* trim both ends */
            p++;
            l--;
        }
        while (l && strchr(" \t\r", p[l - 1]))
            l--;
        if (l == 0)
            continue;
        char entry[SOCK_HOST_MAX + 8], why[160];
        if (l >= sizeof entry || memchr(p, ' ', l) || memchr(p, '\t', l) || memchr(p, '\0', l)) {
            snprintf(err, errlen, "line %d: one HOST:PORT a line (at most %zu characters)", line, sizeof entry - 1);
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "line %d: more than %d backends", line, max);
            return -1;
        }
        memcpy(entry, p, l);
        entry[l] = '\0';
        if (sock_parse_hostport(entry, hosts[n], SOCK_HOST_MAX, &ports[n], why, sizeof why) != 0) {
            snprintf(err, errlen, "line %d: %s", line, why);
            return -1;
        }
        n++;
    }
    return n;
}

/* Reads d->file into the sources after the --backend ones, keeping what a line already there knew.
 * 0, or -1 with err = "FILE:LINE: why" (the sources are then unchanged). */
static int load_file(struct discovery *d, char *err, size_t errlen)
{
    FILE *f = fopen(d->file, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", d->file, strerror(errno));
        return -1;
    }
    char *text = malloc(MAX_FILE_BYTES + 1);
    size_t len = text ? fread(text, 1, MAX_FILE_BYTES + 1, f) : 0;
    bool bad = !text || ferror(f);
    fclose(f);
    int max = DISCOVERY_MAX_SOURCES - d->ncmd, n = -1;
    char (*hosts)[SOCK_HOST_MAX] = malloc(sizeof *hosts * (size_t)max);
    int *ports = malloc(sizeof *ports * (size_t)max);
    char why[200];
    if (bad || !hosts || !ports)
        snprintf(why, sizeof why, "cannot read it");
    else if (len > MAX_FILE_BYTES)
        snprintf(why, sizeof why, "larger than %u bytes", MAX_FILE_BYTES);
    else
        n = discovery_parse_file(text, len, hosts, ports, max, why, sizeof why);
    if (n < 0) {
        snprintf(err, errlen, "%s:%s%s", d->file, strncmp(why, "line ", 5) == 0 ? "" : " ",
                 strncmp(why, "line ", 5) == 0 ? why + 5 : why);
    } else {
        /* Lines that stay keep their state (a name failing to resolve keeps its addresses). */
        static struct source_state old[DISCOVERY_MAX_SOURCES]; /* loop thread only */
        int nold = d->nsources - d->ncmd;
        memcpy(old, d->src + d->ncmd, sizeof *old * (size_t)nold);
        for (int k = 0; k < n; k++) {
            struct source_state *s = &d->src[d->ncmd + k];
            memset(s, 0, sizeof *s);
            snprintf(s->s.host, sizeof s->s.host, "%s", hosts[k]);
            s->s.port = ports[k];
            for (int j = 0; j < nold; j++)
                if (old[j].s.port == ports[k] && strcmp(old[j].s.host, hosts[k]) == 0)
                    *s = old[j];
        }
        d->nsources = d->ncmd + n;
    }
    free(text);
    free(hosts);
    free(ports);
    return n < 0 ? -1 : 0;
}

/* ---- reconciling the chooser with a round's answers --------------------------------------------------------- */

static void format_name(char *out, size_t cap, const char *addr, int port)
{
    snprintf(out, cap, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
}

static void source_label(const struct source *s, char *out, size_t cap)
{
    snprintf(out, cap, strchr(s->host, ':') ? "[%s]:%d" : "%s:%d", s->host[0] ? s->host : "127.0.0.1", s->port);
}

/* Takes source k's answer of this round into its state, logging when what it says changes. */
static void take_answer(struct discovery *d, int k, const struct answer *a)
{
    struct source_state *s = &d->src[k];
    char label[SOCK_HOST_MAX + 16];
    source_label(&s->s, label, sizeof label);
    const char *why = a->gai == EAI_SYSTEM ? strerror(a->sys_errno) : gai_strerror(a->gai);
    /* No such name, or a name without addresses: the DNS says there are none right now. */
    bool none = a->gai == EAI_NONAME || a->gai == EAI_NODATA || a->gai == EAI_ADDRFAMILY;
    enum state st = a->gai == 0 ? ST_OK : none ? ST_NONE : ST_FAILING;
    if (st == ST_FAILING && s->state != ST_FAILING)
        fprintf(stderr, LOG "%s cannot be resolved (%s): keeping its %d addresses\n", label, why, s->last.n);
    else if (st == ST_NONE && s->state != ST_NONE)
        fprintf(stderr, LOG "%s has no address (%s)\n", label, why);
    else if (st == ST_OK && s->state != ST_OK)
        fprintf(stderr, LOG "%s resolves again (%d addresses)\n", label, a->n);
    s->state = st;
    if (st != ST_FAILING)
        s->last = *a;
}

/* The backends the sources name this round: each address once, in source order, at most as many as the
 * chooser holds (the rest are counted in dropped). */
struct wanted {
    int n, dropped;
    char name[CHOOSE_MAX_BACKENDS][CHOOSE_NAME_MAX];
    const char *addr[CHOOSE_MAX_BACKENDS];
    int port[CHOOSE_MAX_BACKENDS];
    int source[CHOOSE_MAX_BACKENDS];
};

static int wanted_find(const struct wanted *w, const char *name)
{
    for (int k = 0; k < w->n; k++)
        if (strcmp(w->name[k], name) == 0)
            return k;
    return -1;
}

static void collect(const struct discovery *d, struct wanted *w)
{
    w->n = w->dropped = 0;
    for (int k = 0; k < d->nsources; k++) {
        const struct source_state *s = &d->src[k];
        for (int j = 0; j < s->last.n; j++) {
            char name[CHOOSE_NAME_MAX];
            format_name(name, sizeof name, s->last.addr[j], s->s.port);
            if (wanted_find(w, name) >= 0)
                continue;
            if (w->n == CHOOSE_MAX_BACKENDS) {
                w->dropped++;
                continue;
            }
            memcpy(w->name[w->n], name, sizeof name);
            w->addr[w->n] = s->last.addr[j];
            w->port[w->n] = s->s.port;
            w->source[w->n++] = k;
        }
    }
}

static void arm_sweep(struct discovery *d)
{
    if (!loop_timer_armed(&d->sweep) && loop_timer_arm(d->loop, &d->sweep, 0) != 0)
        fprintf(stderr, LOG "cannot schedule the removal of drained backends\n");
}

/* The chooser's backends become the union of every source's addresses: new ones added, missing ones
 * drained, drained ones listed again back in. */
static void reconcile(struct discovery *d, bool initial)
{
    static struct wanted w; /* loop thread only */
    struct chooser *c = d->ch;
    collect(d, &w);
    if (w.dropped && !d->dropped_logged)
        fprintf(stderr, LOG "the backends' names give %d addresses more than the %d backends a balancer holds: "
                "those are left out\n", w.dropped, CHOOSE_MAX_BACKENDS);
    d->dropped_logged = w.dropped > 0;
    for (int i = 0; i < c->n; i++) {
        struct choose_backend *b = &c->b[i];
        bool want = wanted_find(&w, b->name) >= 0;
        if (want && b->draining) {
            b->draining = false;
            fprintf(stderr, LOG "backend %s is listed again: no longer draining\n", b->name);
        } else if (!want && !b->draining) {
            b->draining = true;
            fprintf(stderr, LOG "backend %s is no longer listed: draining (%d in flight)\n", b->name, b->in_flight);
        }
        if (b->draining && b->in_flight == 0)
            arm_sweep(d);
    }
    for (int k = 0; k < w.n; k++) {
        if (choose_find(c, w.name[k]) >= 0)
            continue;
        if (c->n == CHOOSE_MAX_BACKENDS) /* drained ones still hold places: the next round adds it */
            continue;
        if (d->ops->add(d->ctx, w.addr[k], w.port[k], w.name[k], initial) < 0)
            continue; /* the caller said why */
        char label[SOCK_HOST_MAX + 16];
        source_label(&d->src[w.source[k]].s, label, sizeof label);
        if (!initial)
            fprintf(stderr, LOG "backend %s added (listed by %s): it takes requests after a healthy probe\n",
                    w.name[k], label);
    }
}

static void on_sweep(struct loop *l, void *data)
{
    (void)l;
    struct discovery *d = data;
    for (int i = d->ch->n - 1; i >= 0; i--) {
        if (d->ch->b[i].draining && d->ch->b[i].in_flight == 0) {
            fprintf(stderr, LOG "backend %s drained: removed\n", d->ch->b[i].name);
            d->ops->remove(d->ctx, i);
        }
    }
}

void discovery_try_ended(struct discovery *d, int i)
{
    if (d && d->ch->b[i].draining && d->ch->b[i].in_flight == 0)
        arm_sweep(d);
}

/* ---- rounds: the interval, SIGHUP, and the answers coming back -------------------------------------------- */

static void reload_file(struct discovery *d)
{
    char err[512];
    if (d->file && load_file(d, err, sizeof err) != 0)
        fprintf(stderr, LOG "--backends-file %s; keeping the previous backends\n", err);
}

static void start_round(struct discovery *d)
{
    if (d->busy) {
        d->again = true;
        return;
    }
    struct resolver *r = d->r;
    pthread_mutex_lock(&r->mu);
    r->nsources = d->nsources;
    for (int k = 0; k < d->nsources; k++)
        r->src[k] = d->src[k].s;
    r->pending = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    d->busy = true;
}

static void on_round_done(struct loop *l, void *data)
{
    (void)l;
    struct discovery *d = data;
    d->busy = false;
    for (int k = 0; k < d->r->nsources; k++)
        take_answer(d, k, &d->r->ans[k]);
    if (d->reload) {
        d->reload = false;
        reload_file(d);
    }
    reconcile(d, false);
    if (d->again) {
        d->again = false;
        start_round(d);
    }
}

static void on_tick(struct loop *l, void *data)
{
    struct discovery *d = data;
    if (!d->busy) /* a slow DNS server: the next tick comes after the round out, not one more at once */
        start_round(d);
    if (loop_timer_arm(l, &d->tick, d->interval_ms) != 0)
        fprintf(stderr, LOG "cannot re-arm the re-resolve timer\n");
}

static void on_sighup(struct loop *l, int fd, int mask, void *data)
{
    (void)l;
    (void)mask;
    struct discovery *d = data;
    char bytes[64];
    bool got = false;
    for (int k = 0; k < 16 && read(fd, bytes, sizeof bytes) > 0; k++) /* several SIGHUPs: one reload */
        got = true;
    if (!got)
        return;
    fprintf(stderr, LOG "SIGHUP: %sresolving the backends again\n", d->file ? "re-reading --backends-file and " : "");
    if (d->busy) { /* the answers out on the thread are for the current sources: swap them after */
        d->reload = d->file != NULL;
        d->again = true;
        return;
    }
    reload_file(d);
    start_round(d);
}

/* SIGHUP through a self-pipe, not a signalfd: a signalfd needs SIGHUP blocked in every thread, and a
 * thread started before main (a sanitizer's, a library's) would still take it and die of it.  The
 * handler runs on whatever thread gets the signal and only writes one byte. */
static int hup_write_fd = -1; /* one discovery per process */

static void on_hup_signal(int sig)
{
    (void)sig;
    int saved = errno;
    if (write(hup_write_fd, "h", 1) < 0) { /* full: a reload is pending anyway */
    }
    errno = saved;
}

static int watch_sighup(struct discovery *d)
{
    if (pipe2(d->hup, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    hup_write_fd = d->hup[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (loop_watch(d->loop, d->hup[0], LOOP_READABLE, on_sighup, d) != 0)
        return -1;
    return sigaction(SIGHUP, &sa, NULL);
}

/* ---- start and stop ----------------------------------------------------------------------------------------- */

static int start_thread(struct discovery *d, char *err, size_t errlen)
{
    struct resolver *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->loop = d->loop;
    r->done = on_round_done;
    r->done_data = d;
    /* The thread takes no signal (SIGHUP, SIGTERM, SIGINT go to the main thread's handlers). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&r->thread, NULL, resolver_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the resolver thread: %s", strerror(rc));
        resolver_free(r);
        return -1;
    }
    d->r = r;
    return 0;
}

struct discovery *discovery_start(struct loop *l, struct chooser *c, const struct discovery_config *cfg,
                                  const struct discovery_ops *ops, void *ctx, char *err, size_t errlen)
{
    if (cfg->nbackends > DISCOVERY_MAX_SOURCES) {
        snprintf(err, errlen, "at most %d --backend values", DISCOVERY_MAX_SOURCES);
        return NULL;
    }
    struct discovery *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *d = (struct discovery){ .loop = l, .ch = c, .ops = ops, .ctx = ctx, .file = cfg->file,
                             .interval_ms = cfg->interval_ms, .hup = { -1, -1 } };
    char why[160];
    for (int k = 0; k < cfg->nbackends; k++) {
        struct source *s = &d->src[k].s;
        if (sock_parse_hostport(cfg->backends[k], s->host, sizeof s->host, &s->port, why, sizeof why) != 0) {
            snprintf(err, errlen, "--backend %s: %s", cfg->backends[k], why);
            free(d);
            return NULL;
        }
    }
    d->nsources = d->ncmd = cfg->nbackends;
    char ferr[512];
    if (d->file && load_file(d, ferr, sizeof ferr) != 0) {
        snprintf(err, errlen, "--backends-file %s", ferr);
        free(d);
        return NULL;
    }
    /* The start-up round, here and blocking: the balancer starts with the backends it can name. */
    struct answer *a = malloc(sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        free(d);
        return NULL;
    }
    for (int k = 0; k < d->nsources; k++) {
        resolve(&d->src[k].s, a);
        take_answer(d, k, a);
    }
    free(a);
    reconcile(d, true);
    loop_timer_init(&d->tick, on_tick, d);
    loop_timer_init(&d->sweep, on_sweep, d);
    if (watch_sighup(d) != 0) {
        snprintf(err, errlen, "cannot watch SIGHUP: %s", strerror(errno));
        discovery_stop(d);
        return NULL;
    }
    if (start_thread(d, err, errlen) != 0) {
        discovery_stop(d);
        return NULL;
    }
    if (loop_timer_arm(l, &d->tick, d->interval_ms) != 0) {
        snprintf(err, errlen, "cannot arm the re-resolve timer");
        discovery_stop(d);
        return NULL;
    }
    return d;
}

void discovery_stop(struct discovery *d)
{
    if (!d)
        return;
    loop_timer_stop(d->loop, &d->tick);
    loop_timer_stop(d->loop, &d->sweep);
    if (d->hup[0] >= 0) {
        signal(SIGHUP, SIG_IGN); /* from now on a SIGHUP has nowhere to go: ignored, not fatal */
        hup_write_fd = -1;
        loop_unwatch(d->loop, d->hup[0]);
        close(d->hup[0]);
        close(d->hup[1]);
    }
    struct resolver *r = d->r;
    if (r) {
        pthread_mutex_lock(&r->mu);
        r->stopping = true;
        bool running = r->running;
        pthread_t t = r->thread; /* once unlocked, a running thread may free r at any moment */
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (running) { /* inside getaddrinfo, maybe for seconds: it frees r when it comes out */
            pthread_detach(t);
        } else {
            pthread_join(t, NULL);
            resolver_free(r);
        }
    }
    free(d);
}
