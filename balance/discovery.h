/* discovery: which backends exist.  The balancer's backends come from sources, each a HOST:PORT:
 *   --backend HOST:PORT      HOST may be a DNS name with several addresses (A and AAAA): one backend per
 *                            address (as a Kubernetes headless Service gives), re-resolved every interval
 *   --backends-file FILE     one HOST:PORT a line (# starts a comment), re-read on SIGHUP; a file that
 *                            does not parse keeps the previous set (one log line names the file and line)
 * After each resolution round the set is reconciled with the chooser's backends:
 *   appeared  added through ops->add, down: it takes traffic after its first healthy probe (health.h)
 *   vanished  marked draining (no new tries; the ones in flight finish), removed through ops->remove
 *             once nothing is in flight on it; one that comes back while draining simply stops draining
 * A name that does not exist (NXDOMAIN, no address) counts as no addresses; a failure to resolve
 * (server silent, SERVFAIL) keeps the addresses that name had.  SIGHUP also starts a round at once.
 *
 * getaddrinfo blocks (up to the resolver's timeouts), so rounds after start-up run on one resolver
 * thread and come back to the loop with loop_post (see discovery.c).  Everything else: loop thread only. */
#ifndef BALANCE_DISCOVERY_H
#define BALANCE_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balance/choose.h"
#include "net/loop.h"
#include "net/sock.h"

#define DISCOVERY_DEFAULT_INTERVAL_MS 2000
#define DISCOVERY_MAX_SOURCES 128     /* --backend values plus the file's lines */

struct discovery_ops {
    /* A new backend at numeric host (IPv4 or IPv6) and port, named name ("a.b.c.d:p" or "[v6]:p").
     * initial: found by the start-up round (the caller may take it as up at once).  Returns its chooser
     * index, or -1 (logged by the caller). */
    int (*add)(void *ctx, const char *host, int port, const char *name, bool initial);
    /* Backend i is draining with nothing in flight: the caller frees what it holds for it and removes
     * it from the chooser (choose_remove), fixing any index it keeps.  Never called from inside a try's
     * callback. */
    void (*remove)(void *ctx, int i);
};

struct discovery_config {
    const char *const *backends;  /* --backend values, each HOST:PORT (":PORT" = 127.0.0.1) */
    int nbackends;
    const char *file;             /* --backends-file, or NULL */
    uint64_t interval_ms;         /* re-resolve every this often */
};

struct discovery;

/* Checks and loads the sources, resolves them once (blocking: start-up only) adding every address
 * through ops->add, then starts the resolver thread, the interval and SIGHUP handling (a handler
 * writing to a self-pipe the loop watches; one discovery per process).
 * Returns NULL with err filled when a source is malformed or the file cannot be read. */
struct discovery *discovery_start(struct loop *l, struct chooser *c, const struct discovery_config *cfg,
                                  const struct discovery_ops *ops, void *ctx, char *err, size_t errlen);
/* Call after a try on backend i ended (its in_flight decremented): a draining backend left idle is
 * removed soon after, from a timer. */
void discovery_try_ended(struct discovery *d, int i);
/* Stops the interval, SIGHUP handling and the resolver thread (one busy in getaddrinfo is left to
 * finish on its own and frees its part; its answer is dropped).  NULL is fine. */
void discovery_stop(struct discovery *d);

/* Parses a backends file's text (exposed for tests): one HOST:PORT a line, blank lines and # comments
 * skipped, each entry into hosts[k] and ports[k] (":PORT" gives host ""), at most max entries.  Returns
 * the count, or -1 with err = "line N: why". */
int discovery_parse_file(const char *text, size_t len, char (*hosts)[SOCK_HOST_MAX], int *ports, int max,
                         char *err, size_t errlen);

#endif
