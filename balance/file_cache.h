/* file_cache: the balancer's static files and folder listings, read once, shared by every answer, and
 * never touched by the event loop's thread.
 *
 * What it serves (one struct fc_source each): the files of a folder (www/, results/, --examples), the
 * results index (balance/results_index.h) and the --examples list.  A request is answered from memory
 * when its entry was checked within the last revalidate_ms (1 s); otherwise it waits (without blocking the
 * loop) while the cache thread checks it: the thread resolves the path (static_files.h), stats the file,
 * and reads it again only when its (device, inode, size, mtime) changed; a listing is rebuilt and kept
 * when its bytes changed.  So each file costs at most one stat a second however many clients ask, the
 * first request for a file waits for one read, and the loop thread makes no file-system call at all
 * (issue 7: no blocking I/O on the balancer's loop).
 *
 * Sharing: an answer borrows the cached bytes (srv_respond_borrowed) and holds a reference until the
 * client has read it, so 100 clients of a 4 MiB file share one copy; a file that changes while being
 * sent keeps its old bytes alive for those clients and new clients get the new ones.
 *
 * Validators (RFC 9110 §8.8, §13): every 200 and 304 carries ETag ("size-mtime" in hex, in nanoseconds, for
 * a file; "length-hash" for a listing), Last-Modified (the file's mtime; for a listing, when its bytes last
 * changed) and Cache-Control: no-cache (a browser revalidates each time and gets 304).
 * If-None-Match / If-Modified-Since give 304 (http_cond.h: If-None-Match wins).
 *
 * Bounds: max_bytes for all cached bytes together, superseded copies still being sent included (when a
 * new file does not fit, unreferenced entries are evicted least recently used first; when it still does
 * not fit, 503 server_busy); a file over max_file is refused with 500 file_too_large (not streamed);
 * max_entries paths at once (errors are never cached); max_waiters requests waiting for the thread at
 * once (more: 503).  The thread reads one file at a time, so beyond max_bytes at most one file of
 * max_file is in flight.
 *
 * Threads: everything here runs on the loop thread except the loading, which runs on the cache's own
 * thread and hands its result back with loop_post.  Lifetimes: the sources must outlive the cache;
 * srv_destroy (which releases every borrowed answer) before fc_destroy, fc_destroy before loop_destroy. */
#ifndef BALANCE_FILE_CACHE_H
#define BALANCE_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "net/loop.h"
#include "net/server.h"

#define FC_DEFAULT_CACHE_MB 32
#define FC_REVALIDATE_MS 1000

struct file_cache; /* opaque */

struct fc_config {
    size_t max_bytes;       /* every cached byte (--cache-mb) */
    size_t max_file;        /* larger files get 500 file_too_large (default max_bytes / 4) */
    int max_entries;        /* paths cached at once */
    int max_waiters;        /* requests waiting for the thread at once (the server's --max-conns) */
    uint64_t revalidate_ms; /* an entry is checked again when older than this */
};

enum fc_kind {
    FC_FILES,      /* the files of dir (a URL path "/a/b.css" under it; a folder means its index.html) */
    FC_STUDIES,    /* results_index_json(dir, allow) */
    FC_FILE_LIST,  /* results_files_json(dir, list_key) */
};

struct fc_source {
    enum fc_kind kind;
    const char *dir;          /* may not exist yet (results appear when a study runs): resolved on each check */
    const char *const *allow; /* NULL, or the only extensions served and listed (NULL-terminated) */
    const char *list_key;     /* FC_FILE_LIST: the JSON key */
    const char *missing;      /* the 404 detail when dir does not exist (NULL: the table's meaning) */
    char tag;                 /* distinct per source (cache keys are tag + path) */
};

/* Starts the cache and its thread.  NULL with err filled on failure. */
struct file_cache *fc_create(struct loop *l, const struct fc_config *cfg, char *err, size_t errlen);
/* Stops the thread and frees everything (see the lifetimes above). */
void fc_destroy(struct file_cache *fc);

/* Answers c's GET/HEAD request from src (path: the URL path below the source's prefix; ignored for
 * listings): at once, or from the loop once the thread has checked the entry.  Exactly one srv_respond*
 * call on c, as server.h asks. */
void fc_serve(struct file_cache *fc, struct srv_conn *c, const struct fc_source *src, struct http_str path);

/* Counters, for tests and logs. */
struct fc_stats {
    size_t bytes;     /* held now (cached and still being sent) */
    int entries;
    long loads;       /* files read or listings rebuilt with new bytes */
    long checks;      /* trips to the thread */
    long hits;        /* answered from memory at once */
};
void fc_stats(const struct file_cache *fc, struct fc_stats *out);

#endif
