/* sock: TCP socket helpers for an event loop — listen, accept, nonblocking connect, "HOST:PORT".
 *
 * Every fd returned is nonblocking and close-on-exec; accepted and connected ones have TCP_NODELAY.
 * The caller owns (and closes) every fd returned.  Functions return 0 / an fd, or -1 with errno set;
 * the ones that can fail for a human-readable reason also fill err[errlen] when err is not NULL. */
#ifndef NET_SOCK_H
#define NET_SOCK_H

#include <stddef.h>
#include <sys/socket.h>

#define SOCK_HOST_MAX 256  /* enough for any DNS name, IPv6 literal or IPv4 address, with the NUL */

/* A resolved address, kept by value so a backend is resolved once (at start-up) and reused. */
struct sock_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Splits "host:port", "[v6addr]:port" or ":port" (host "" = any) into host and port 1..65535.
 * Returns 0, or -1 on bad syntax (err says why). */
int sock_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err, size_t errlen);

/* Binds host:port (host NULL or "" = all interfaces; port 0 = any free port) with SO_REUSEADDR and
 * listens with the given backlog.  Returns the listening fd, or -1 (err says why). */
int sock_listen(const char *host, int port, int backlog, char *err, size_t errlen);
/* The local port of a bound socket (for port 0), or -1. */
int sock_local_port(int fd);

/* Accepts one connection: returns the fd, or -1 with errno EAGAIN/EWOULDBLOCK when none is pending
 * (other errno values are real errors; EMFILE means "out of fds, try later").
 * peer (may be NULL) receives "ip:port" of the remote end. */
int sock_accept(int listen_fd, char *peer, size_t peerlen);

/* Resolves host:port with getaddrinfo (blocking: do it at start-up, not on the loop) into out.
 * Returns 0, or -1 (err says why). */
int sock_resolve(const char *host, int port, struct sock_addr *out, char *err, size_t errlen);
/* Starts a nonblocking connect.  Returns the fd (connection in progress or done), or -1.  Watch the fd
 * for LOOP_WRITABLE, then call sock_connect_result. */
int sock_connect_addr(const struct sock_addr *a);
/* Outcome of a nonblocking connect once the fd is writable: 0 connected, else the errno value
 * (ECONNREFUSED, ETIMEDOUT, ...). */
int sock_connect_result(int fd);
/* Convenience for clients and tests: resolve + sock_connect_addr.  Returns the fd or -1. */
int sock_connect(const char *host, int port, char *err, size_t errlen);

int sock_set_nonblock(int fd);
int sock_set_nodelay(int fd);

#endif
