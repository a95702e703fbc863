/* service_harness: helpers for integration tests that run the real programs — spawn and reap processes,
 * find free ports, talk raw HTTP/1.1 over 127.0.0.1 with deadlines, run curl and capture its output,
 * and pull fields out of the workers' flat JSON replies.
 *
 * Everything is bounded: every wait has a deadline, every buffer a capacity.  Functions return 0 / a
 * count, or -1 on failure (deadline passed, I/O error, malformed reply). */
#ifndef TESTS_SERVICE_HARNESS_H
#define TESTS_SERVICE_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#define SH_MAX_CHILDREN 16

/* Monotonic milliseconds (net/clock.h) as a signed count, for deadlines. */
long long sh_now_ms(void);

/* A port nobody listens on right now (bound to 127.0.0.1:0, then released). */
int sh_free_port(void);

/* Starts argv[0] (an absolute path) with stdout+stderr appended to log_path (NULL: /dev/null).
 * The child is remembered so sh_stop_all can end it.  Returns the pid or -1. */
pid_t sh_spawn(const char *const argv[], const char *log_path);
/* SIGTERM, then SIGKILL after a grace period; reaps it.  Returns its wait status or -1. */
int sh_stop(pid_t pid);
/* Stops every child sh_spawn started and has not stopped yet. */
void sh_stop_all(void);

/* Polls GET /healthz on 127.0.0.1:port until it answers 200 (0), or timeout_ms passes or process pid
 * (when > 0) exits (-1, with the reason on stderr). */
int sh_wait_healthy(int port, pid_t pid, int timeout_ms);

/* A parsed HTTP response; body is NUL-terminated (capacity one more than body_len). */
struct sh_reply {
    int status;
    char head[4096];   /* status line and headers, NUL-terminated */
    char *body;        /* malloc'd; free with sh_reply_free */
    size_t body_len;
};
void sh_reply_free(struct sh_reply *r);
/* Value of header name (case-insensitive) copied into out; -1 when absent. */
int sh_header(const struct sh_reply *r, const char *name, char *out, size_t outlen);

/* A blocking connection to 127.0.0.1:port with a receive buffer, for pipelining and slow sends. */
struct sh_conn {
    int fd;
    char buf[65536];
    size_t len;
};
int sh_connect(struct sh_conn *c, int port);
int sh_send(struct sh_conn *c, const void *bytes, size_t len, int timeout_ms);
/* Reads one full response (Content-Length bodies; a close ends a body without one; 1xx/204/304 have none). */
int sh_read_reply(struct sh_conn *c, struct sh_reply *r, int timeout_ms);
/* 1 when the peer has closed the connection within timeout_ms, 0 if still open. */
int sh_peer_closed(struct sh_conn *c, int timeout_ms);
void sh_close(struct sh_conn *c);
/* One request on a fresh connection, one reply. */
int sh_exchange(int port, const void *req, size_t len, struct sh_reply *r, int timeout_ms);

/* Runs argv (argv[0] looked up in PATH) and collects up to cap-1 bytes of its stdout, NUL-terminated.
 * Returns the exit status (0..255) or -1 when it could not run, crashed or passed timeout_ms. */
int sh_run(const char *const argv[], char *out, size_t cap, int timeout_ms);

/* Runs curl -sS with args (NULL-terminated; the URL among them) and a trailing "-w \n%{http_code}".
 * out gets the body; returns the HTTP status, or -1 when curl failed. */
int sh_curl(const char *const args[], char *out, size_t cap);

/* Reads a whole file into a malloc'd buffer, NUL-terminated (the NUL not counted in len).  0 or -1. */
int sh_read_file(const char *path, char **bytes, size_t *len);
/* How many times needle occurs in the file at path (a log); -1 when it cannot be read. */
int sh_count_in_file(const char *path, const char *needle);

/* Flat JSON field lookups on the first occurrence of "key": string value copied out, or number. */
int sh_json_str(const char *json, const char *key, char *out, size_t outlen);
int sh_json_num(const char *json, const char *key, double *out);

#endif
