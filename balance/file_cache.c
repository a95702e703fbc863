/* file_cache: static files and listings read once on a thread, shared by reference (see file_cache.h). */
#define _GNU_SOURCE
#include "balance/file_cache.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balance/results_index.h"
#include "balance/static_files.h"
#include "net/buf.h"
#include "net/http_cond.h"

#define FC_KEY_MAX 1024               /* tag + decoded path; longer paths are 404 (nothing served is that deep) */
#define LIST_MAX (1024u * 1024)       /* a listing's JSON */
#define TRIM_FREED (1024u * 1024)     /* a freed copy this large goes back to the system at once */
#define RC_CACHE_FULL (-503)
#define RC_INDEX_TOO_LARGE (-507)
#define RC_NO_MEMORY (-12)

/* One version of a file or listing.  Immutable once built, except refs. */
struct fc_blob {
    struct file_cache *fc;
    int refs;                 /* the entry's, plus one per answer being sent (loop thread only) */
    size_t len;
    time_t mtime;             /* Last-Modified */
    const char *type;
    char etag[48];
    char headers[160];        /* "ETag: …\r\nLast-Modified: …\r\nCache-Control: no-cache\r\n" */
    char data[];
};

struct fc_waiter {
    struct srv_conn *c;
    struct fc_waiter *next;
};

struct fc_entry {
    struct file_cache *fc;
    const struct fc_source *src;
    char key[FC_KEY_MAX];             /* tag, then the decoded path */
    struct fc_blob *blob;             /* current bytes (one reference), NULL before the first load */
    uint64_t sig;                     /* what blob was read from: file identity and mtime, or the listing's hash */
    uint64_t checked_ms;              /* loop clock of the last check */
    bool loading;                     /* on the thread: the fields below are the thread's until on_loaded */
    struct fc_waiter *waiters, *waiters_tail;
    struct fc_entry *hnext;           /* hash chain, or the free list */
    struct fc_entry *older, *newer;   /* least recently used first */
    struct fc_entry *job_next;
    struct loop_task task;
    int rc;                           /* the check: 0, or -400/-404/-413/-500 or an RC_ above */
    const char *detail;
    struct fc_blob *fresh;            /* new bytes, NULL when unchanged */
    uint64_t fresh_sig;
};

struct file_cache {
    struct loop *loop;
    struct fc_config cfg;
    struct fc_entry *entries, *free_entries;
    struct fc_entry **buckets;
    size_t nbuckets;
    struct fc_entry *lru_old, *lru_new;
    struct fc_waiter *waiters, *free_waiters;
    size_t bytes;
    int nentries;
    long loads, checks, hits;
    /* the thread */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fc_entry *jobs, *jobs_tail; /* under mu */
    bool stop;                         /* under mu */
    struct buf list;                   /* the thread's listing scratch */
};

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV_START 0xcbf29ce484222325ULL

/* ---- blobs (loop thread, except blob_new on the cache thread) --------------------------------------- */

static struct fc_blob *blob_new(struct file_cache *fc, size_t len, time_t mtime, const char *type)
{
    struct fc_blob *b = malloc(sizeof *b + len);
    if (!b)
        return NULL;
    b->fc = fc;
    b->refs = 1;
    b->len = len;
    b->mtime = mtime;
    b->type = type;
    return b;
}

/* Fills the blob's header lines once its etag is set. */
static void blob_seal(struct fc_blob *b)
{
    char date[HTTP_DATE_LEN + 1];
    if (http_date_format(b->mtime, date, sizeof date) != 0)
        snprintf(date, sizeof date, "Thu, 01 Jan 1970 00:00:00 GMT");
    snprintf(b->headers, sizeof b->headers, "ETag: %s\r\nLast-Modified: %s\r\nCache-Control: no-cache\r\n", b->etag, date);
}

static void blob_unref(struct fc_blob *b)
{
    if (--b->refs > 0)
        return;
    struct file_cache *fc = b->fc;
    fc->bytes -= b->len;
    bool big = b->len >= TRIM_FREED;
    free(b);
    if (big)
        malloc_trim(0); /* a large copy was made on the cache thread's arena: give it back now */
}

static void release_answer(void *ref)
{
    blob_unref(ref);
}

/* ---- the thread ------------------------------------------------------------------------------------- */

static uint64_t file_sig(const struct stat *st)
{
    uint64_t v[5] = { (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                      (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };
    return fnv1a(v, sizeof v, FNV_START);
}

static void load_file(struct file_cache *fc, struct fc_entry *e)
{
    const struct fc_source *src = e->src;
    struct static_root root;
    char err[PATH_MAX + 32], real[PATH_MAX];
    struct stat st;
    if (static_root_init(&root, src->dir, err, sizeof err) != 0) {
        e->rc = -404;
        e->detail = src->missing;
        return;
    }
    int rc = static_resolve_decoded(&root, e->key + 1, real, sizeof real, &st);
    if (rc == 0 && !static_ext_allowed(real, src->allow)) /* a symlink to a file of a refused kind */
        rc = -404;
    if (rc != 0) {
        e->rc = rc;
        return;
    }
    if (e->blob && file_sig(&st) == e->sig)
        return; /* unchanged: one stat */
    int fd = static_open(real, &st);
    if (fd < 0) {
        e->rc = fd;
        return;
    }
    if ((uint64_t)st.st_size > fc->cfg.max_file) {
        e->rc = -413;
    } else if (!(e->fresh = blob_new(fc, (size_t)st.st_size, st.st_mtim.tv_sec, static_content_type(real)))) {
        e->rc = RC_NO_MEMORY;
    } else if ((e->rc = static_read_fd(fd, e->fresh->data, e->fresh->len)) != 0) {
        free(e->fresh);
        e->fresh = NULL;
    } else {
        e->fresh_sig = file_sig(&st);
        snprintf(e->fresh->etag, sizeof e->fresh->etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
                 (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec);
        blob_seal(e->fresh);
    }
    close(fd);
}

static void load_list(struct file_cache *fc, struct fc_entry *e)
{
    const struct fc_source *src = e->src;
    int rc = src->kind == FC_STUDIES ? results_index_json(src->dir, src->allow, &fc->list)
                                     : results_files_json(src->dir, src->list_key, &fc->list);
    if (rc != 0) {
        e->rc = RC_INDEX_TOO_LARGE;
        return;
    }
    size_t len = buf_len(&fc->list);
    uint64_t sig = fnv1a(buf_ptr(&fc->list), len, FNV_START ^ len);
    if (e->blob && sig == e->sig)
        return;
    if (!(e->fresh = blob_new(fc, len, time(NULL), "application/json"))) {
        e->rc = RC_NO_MEMORY;
        return;
    }
    memcpy(e->fresh->data, buf_ptr(&fc->list), len);
    e->fresh_sig = sig;
    snprintf(e->fresh->etag, sizeof e->fresh->etag, "\"%zx-%016llx\"", len, (unsigned long long)sig);
    blob_seal(e->fresh);
}

static void on_loaded(struct loop *l, void *data);

static void *cache_thread(void *arg)
{
    struct file_cache *fc = arg;
    pthread_mutex_lock(&fc->mu);
    while (!fc->stop) {
        struct fc_entry *e = fc->jobs;
        if (!e) {
            pthread_cond_wait(&fc->cv, &fc->mu);
            continue;
        }
        fc->jobs = e->job_next;
        if (!fc->jobs)
            fc->jobs_tail = NULL;
        pthread_mutex_unlock(&fc->mu);
        e->rc = 0;
        e->detail = NULL;
        e->fresh = NULL;
        if (e->src->kind == FC_FILES)
            load_file(fc, e);
        else
            load_list(fc, e);
        loop_post(fc->loop, &e->task, on_loaded, e);
        pthread_mutex_lock(&fc->mu);
    }
    pthread_mutex_unlock(&fc->mu);
    return NULL;
}

/* ---- entries (loop thread) -------------------------------------------------------------------------- */

static size_t bucket_of(const struct file_cache *fc, const char *key)
{
    return (size_t)(fnv1a(key, strlen(key), FNV_START) % fc->nbuckets);
}

static void lru_unlink(struct file_cache *fc, struct fc_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        fc->lru_old = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        fc->lru_new = e->older;
    e->older = e->newer = NULL;
}

static void lru_push(struct file_cache *fc, struct fc_entry *e)
{
    e->older = fc->lru_new;
    e->newer = NULL;
    if (fc->lru_new)
        fc->lru_new->newer = e;
    else
        fc->lru_old = e;
    fc->lru_new = e;
}

/* Drops an entry that is not loading (its bytes live on while answers hold them). */
static void evict(struct file_cache *fc, struct fc_entry *e)
{
    struct fc_entry **p = &fc->buckets[bucket_of(fc, e->key)];
    while (*p && *p != e)
        p = &(*p)->hnext;
    if (*p)
        *p = e->hnext;
    lru_unlink(fc, e);
    if (e->blob)
        blob_unref(e->blob);
    e->blob = NULL;
    e->hnext = fc->free_entries;
    fc->free_entries = e;
    fc->nentries--;
}

/* The least recently used entry whose eviction frees its bytes now (not loading, not being sent). */
static struct fc_entry *evictable(struct file_cache *fc, const struct fc_entry *keep)
{
    for (struct fc_entry *e = fc->lru_old; e; e = e->newer)
        if (e != keep && !e->loading && (!e->blob || e->blob->refs == 1))
            return e;
    return NULL;
}

static struct fc_entry *lookup(struct file_cache *fc, const char *key)
{
    for (struct fc_entry *e = fc->buckets[bucket_of(fc, key)]; e; e = e->hnext)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static struct fc_entry *entry_new(struct file_cache *fc, const char *key, const struct fc_source *src)
{
    if (!fc->free_entries) {
        struct fc_entry *victim = evictable(fc, NULL);
        if (!victim)
            return NULL;
        evict(fc, victim);
    }
    struct fc_entry *e = fc->free_entries;
    fc->free_entries = e->hnext;
    struct loop_task task = e->task;
    memset(e, 0, sizeof *e);
    e->task = task;
    e->fc = fc;
    e->src = src;
    snprintf(e->key, sizeof e->key, "%s", key);
    size_t b = bucket_of(fc, key);
    e->hnext = fc->buckets[b];
    fc->buckets[b] = e;
    lru_push(fc, e);
    fc->nentries++;
    return e;
}

/* Room for need more bytes, evicting what can go (the entry's own current copy counts as freed). */
static bool make_room(struct file_cache *fc, struct fc_entry *e, size_t need)
{
    size_t own = e->blob && e->blob->refs == 1 ? e->blob->len : 0;
    while (fc->bytes - own + need > fc->cfg.max_bytes) {
        struct fc_entry *victim = evictable(fc, e);
        if (!victim)
            return false;
        evict(fc, victim);
    }
    return true;
}

/* ---- answers (loop thread) -------------------------------------------------------------------------- */

static void answer(struct file_cache *fc, struct srv_conn *c, struct fc_blob *b)
{
    (void)fc;
    struct srv_request *r = srv_conn_request(c);
    if (r && http_not_modified(r->headers, r->http.num_headers, b->etag, b->mtime)) {
        srv_respond(c, 304, NULL, NULL, 0, b->headers);
        return;
    }
    b->refs++;
    srv_respond_borrowed(c, 200, b->type, b->data, b->len, b->headers, release_answer, b);
}

static void answer_error(struct file_cache *fc, struct srv_conn *c, int rc, const char *detail)
{
    char text[160];
    switch (rc) {
    case -400:
        srv_respond_error(c, ERR_BAD_PATH, "the path has a malformed %-escape", NULL);
        break;
    case -404:
        srv_respond_error(c, ERR_NOT_FOUND, detail, NULL);
        break;
    case -413:
        snprintf(text, sizeof text, "the file is over the %zu KiB a served file may have (a quarter of --cache-mb)",
                 fc->cfg.max_file / 1024);
        srv_respond_error(c, ERR_FILE_TOO_LARGE, text, NULL);
        break;
    case RC_CACHE_FULL:
    case RC_NO_MEMORY:
        srv_respond_error(c, rc == RC_CACHE_FULL ? ERR_SERVER_BUSY : ERR_OUT_OF_MEMORY,
                          "the file cache (--cache-mb) is full of answers being sent; try again shortly",
                          "Retry-After: 1\r\n");
        break;
    case RC_INDEX_TOO_LARGE:
        srv_respond_error(c, ERR_INDEX_TOO_LARGE, NULL, NULL);
        break;
    default:
        srv_respond_error(c, ERR_FILE_UNREADABLE, NULL, NULL);
    }
}

static void on_loaded(struct loop *l, void *data)
{
    struct fc_entry *e = data;
    struct file_cache *fc = e->fc;
    e->loading = false;
    e->checked_ms = loop_now_ms(l);
    if (e->rc == 0 && e->fresh) {
        struct fc_blob *b = e->fresh;
        e->fresh = NULL;
        if (!make_room(fc, e, b->len)) {
            free(b);
            e->rc = RC_CACHE_FULL;
        } else {
            fc->bytes += b->len;
            fc->loads++;
            if (e->blob)
                blob_unref(e->blob);
            e->blob = b;
            e->sig = e->fresh_sig;
        }
    }
    struct fc_waiter *w = e->waiters;
    e->waiters = e->waiters_tail = NULL;
    while (w) {
        struct fc_waiter *next = w->next;
        if (e->rc == 0)
            answer(fc, w->c, e->blob);
        else
            answer_error(fc, w->c, e->rc, e->detail);
        w->next = fc->free_waiters;
        fc->free_waiters = w;
        w = next;
    }
    if (e->rc != 0)
        evict(fc, e); /* errors are never cached */
}

/* 404 for a name the source does not serve, saying which kinds it does. */
static void refuse_kind(struct srv_conn *c, const struct fc_source *src)
{
    char text[200];
    size_t n = (size_t)snprintf(text, sizeof text, "only");
    for (size_t i = 0; src->allow[i] && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s .%s", i ? "," : "", src->allow[i]);
    if (n < sizeof text)
        snprintf(text + n, sizeof text - n, " files are served here");
    srv_respond_error(c, ERR_NOT_FOUND, text, NULL);
}

void fc_serve(struct file_cache *fc, struct srv_conn *c, const struct fc_source *src, struct http_str path)
{
    char key[FC_KEY_MAX];
    key[0] = src->tag;
    key[1] = '\0';
    if (src->kind == FC_FILES) {
        char decoded[PATH_MAX];
        int rc = static_decode(path, decoded, sizeof decoded);
        size_t n = rc == 0 ? strlen(decoded) : 0;
        if (rc == 0 && n + 2 > sizeof key)
            rc = -404;
        if (rc != 0) {
            answer_error(fc, c, rc, NULL);
            return;
        }
        if (src->allow && !static_ext_allowed(decoded[n - 1] == '/' ? "index.html" : decoded, src->allow)) {
            refuse_kind(c, src);
            return;
        }
        memcpy(key + 1, decoded, n + 1);
    }
    uint64_t now = loop_now_ms(fc->loop);
    struct fc_entry *e = lookup(fc, key);
    if (e && !e->loading && e->blob && now - e->checked_ms < fc->cfg.revalidate_ms) {
        fc->hits++;
        lru_unlink(fc, e);
        lru_push(fc, e);
        answer(fc, c, e->blob);
        return;
    }
    if (!e)
        e = entry_new(fc, key, src);
    struct fc_waiter *w = fc->free_waiters;
    if (!e || !w) {
        srv_respond_error(c, ERR_SERVER_BUSY, "too many files are being read at once; try again shortly",
                          "Retry-After: 1\r\n");
        if (e && !e->loading && !e->blob)
            evict(fc, e);
        return;
    }
    fc->free_waiters = w->next;
    w->c = c;
    w->next = NULL;
    if (e->waiters_tail)
        e->waiters_tail->next = w;
    else
        e->waiters = w;
    e->waiters_tail = w;
    lru_unlink(fc, e);
    lru_push(fc, e);
    if (e->loading)
        return;
    e->loading = true;
    fc->checks++;
    pthread_mutex_lock(&fc->mu);
    e->job_next = NULL;
    if (fc->jobs_tail)
        fc->jobs_tail->job_next = e;
    else
        fc->jobs = e;
    fc->jobs_tail = e;
    pthread_cond_signal(&fc->cv);
    pthread_mutex_unlock(&fc->mu);
}

/* ---- life ------------------------------------------------------------------------------------------- */

struct file_cache *fc_create(struct loop *l, const struct fc_config *cfg, char *err, size_t errlen)
{
    struct file_cache *fc = calloc(1, sizeof *fc);
    if (!fc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fc->loop = l;
    fc->cfg = *cfg;
    if (fc->cfg.max_file == 0)
        fc->cfg.max_file = fc->cfg.max_bytes / 4;
    if (fc->cfg.revalidate_ms == 0)
        fc->cfg.revalidate_ms = FC_REVALIDATE_MS;
    if (fc->cfg.max_entries < 1)
        fc->cfg.max_entries = 1;
    if (fc->cfg.max_waiters < 1)
        fc->cfg.max_waiters = 1;
    fc->nbuckets = (size_t)fc->cfg.max_entries * 2 + 1;
    fc->entries = calloc((size_t)fc->cfg.max_entries, sizeof *fc->entries);
    fc->buckets = calloc(fc->nbuckets, sizeof *fc->buckets);
    fc->waiters = calloc((size_t)fc->cfg.max_waiters, sizeof *fc->waiters);
    buf_init(&fc->list, LIST_MAX);
    pthread_mutex_init(&fc->mu, NULL);
    pthread_cond_init(&fc->cv, NULL);
    if (!fc->entries || !fc->buckets || !fc->waiters) {
        snprintf(err, errlen, "out of memory");
        fc_destroy(fc);
        return NULL;
    }
    for (int i = fc->cfg.max_entries - 1; i >= 0; i--) {
        fc->entries[i].hnext = fc->free_entries;
        fc->free_entries = &fc->entries[i];
    }
    for (int i = fc->cfg.max_waiters - 1; i >= 0; i--) {
        fc->waiters[i].next = fc->free_waiters;
        fc->free_waiters = &fc->waiters[i];
    }
    int rc = pthread_create(&fc->thread, NULL, cache_thread, fc);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the file cache thread: %s", strerror(rc));
        fc_destroy(fc);
        return NULL;
    }
    fc->started = true;
    return fc;
}

void fc_destroy(struct file_cache *fc)
{
    if (!fc)
        return;
    if (fc->started) {
        pthread_mutex_lock(&fc->mu);
        fc->stop = true;
        pthread_cond_signal(&fc->cv);
        pthread_mutex_unlock(&fc->mu);
        pthread_join(fc->thread, NULL);
    }
    for (struct fc_entry *e = fc->lru_old; e; e = e->newer) {
        if (e->blob)
            blob_unref(e->blob);
        free(e->fresh); /* a check finished whose answer the loop never ran */
    }
    pthread_cond_destroy(&fc->cv);
    pthread_mutex_destroy(&fc->mu);
    buf_free(&fc->list);
    free(fc->entries);
    free(fc->buckets);
    free(fc->waiters);
    free(fc);
}

void fc_stats(const struct file_cache *fc, struct fc_stats *out)
{
    *out = (struct fc_stats){ .bytes = fc->bytes, .entries = fc->nentries, .loads = fc->loads,
                              .checks = fc->checks, .hits = fc->hits };
}
