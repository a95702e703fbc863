/* access_log: one line per answered request, as text or as JSON lines (--log-format text|json).
 *
 * text:  TIME CLIENT "METHOD TARGET HTTP/1.x" STATUS BYTES TOTAL_MS WORKER TRIES QUEUE_MS INFERENCE_MS [NOTE]
 *        2026-12-03T17:45:00.123Z 127.0.0.1:40522 "POST /predict HTTP/1.1" 200 1187 23.601 vm:5001 1 0.101 14.900 snowmobile
 *        Fields are separated by one space; an unknown field is "-"; times are milliseconds with three
 *        decimals; a target is cut at 200 bytes and a '"', '\' or control byte in it is written \xHH (in
 *        CLIENT and WORKER a space too); NOTE is the rest of the line (a label may hold spaces).
 *        A line for a request that never arrived whole (408, a malformed head, a body over --max-memory)
 *        has "-" for the request line.
 * json:  {"time":"2026-12-03T17:45:00.123Z","client":"127.0.0.1:40522","method":"POST","path":"/predict",
 *         "version":"HTTP/1.1","status":200,"bytes":1187,"total_ms":23.601,"worker":"vm:5001","tries":1,
 *         "queue_ms":0.101,"inference_ms":14.9,"note":"snowmobile"}
 *        The same fields; unknown ones are null ("path" is the target as sent, query included).
 *
 * TIME is UTC with milliseconds; BYTES the answer's body; TOTAL_MS from the whole request read to its
 * answer queued; WORKER who computed the answer (the worker's name on a worker, the backend's address on
 * the balancer); TRIES the balancer's tries for it; QUEUE_MS and INFERENCE_MS the worker's own timings
 * (the balancer takes them from the worker's Server-Timing header).
 *
 * Formatting only (the server writes the line): no allocation beyond the caller's buffer. */
#ifndef NET_ACCESS_LOG_H
#define NET_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "net/buf.h"
#include "net/http.h"

enum alog_format { ALOG_TEXT, ALOG_JSON };

struct alog_entry {
    double unix_time;                 /* seconds since the Epoch (CLOCK_REALTIME) */
    const char *client;               /* "ip:port" */
    const struct http_request *req;   /* NULL: no whole request */
    int status;
    size_t bytes;
    double total_ms;                  /* < 0: unknown */
    const char *worker;               /* NULL or "": unknown */
    int tries;                        /* 0: unknown */
    double queue_ms, inference_ms;    /* < 0: unknown */
    const char *note;                 /* NULL or "": none */
};

/* "text" / "json" -> *out; -1 when neither. */
int alog_parse_format(const char *s, enum alog_format *out);
/* Replaces out's content with the line, newline included.  0, or -1 when out is too small. */
int alog_format_line(struct buf *out, enum alog_format f, const struct alog_entry *e);

#endif
