/* service_harness: processes, ports, raw HTTP and curl for the integration tests (see the header). */
#define _GNU_SOURCE
#include "tests/service_harness.h"
#include "net/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t children[SH_MAX_CHILDREN];
static int nchildren;

long long sh_now_ms(void)
{
    return (long long)clock_now_ms();
}

static int ms_left(long long deadline)
{
    long long left = deadline - sh_now_ms();
    return left < 0 ? 0 : (int)left;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int sh_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

pid_t sh_spawn(const char *const argv[], const char *log_path)
{
    if (nchildren == SH_MAX_CHILDREN)
        return -1;
    int out = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        /* The child dies with the test process, so a crashed test leaves no orphans. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out);
    if (pid > 0)
        children[nchildren++] = pid;
    return pid;
}

int sh_stop(pid_t pid)
{
    for (int i = 0; i < nchildren; i++) {
        if (children[i] == pid) {
            children[i] = children[--nchildren];
            break;
        }
    }
    if (kill(pid, SIGTERM) != 0)
        return -1;
    int status;
    for (long long deadline = sh_now_ms() + 3000; sh_now_ms() < deadline;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    return waitpid(pid, &status, 0) == pid ? status : -1;
}

void sh_stop_all(void)
{
    while (nchildren > 0)
        sh_stop(children[nchildren - 1]);
}

/* True (and the reason on stderr) when pid has exited; it is reaped and forgotten. */
static int has_exited(pid_t pid)
{
    int status;
    if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid)
        return 0;
    if (WIFEXITED(status))
        fprintf(stderr, "process %d exited with status %d%s\n", (int)pid, WEXITSTATUS(status),
                WEXITSTATUS(status) == 127 ? " (could not run the program)" : "");
    else
        fprintf(stderr, "process %d died of signal %d\n", (int)pid, WTERMSIG(status));
    for (int i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = children[--nchildren];
    return 1;
}

int sh_wait_healthy(int port, pid_t pid, int timeout_ms)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    for (long long deadline = sh_now_ms() + timeout_ms; sh_now_ms() < deadline;) {
        struct sh_reply r;
        if (sh_exchange(port, req, sizeof req - 1, &r, 1000) == 0) {
            int ok = r.status == 200;
            sh_reply_free(&r);
            if (ok)
                return 0;
        }
        if (has_exited(pid))
            return -1;
        usleep(20 * 1000);
    }
    return -1;
}

void sh_reply_free(struct sh_reply *r)
{
    free(r->body);
    r->body = NULL;
}

int sh_header(const struct sh_reply *r, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            if (len >= outlen)
                len = outlen - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
    }
    return -1;
}

int sh_connect(struct sh_conn *c, int port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_in a = loopback(port);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

int sh_send(struct sh_conn *c, const void *bytes, size_t len, int timeout_ms)
{
    const char *p = bytes;
    long long deadline = sh_now_ms() + timeout_ms;
    while (len > 0) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
        if (poll(&pfd, 1, ms_left(deadline)) <= 0)
            return -1;
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into c->buf; returns bytes read, 0 at EOF, -1 on error or deadline. */
static ssize_t fill(struct sh_conn *c, long long deadline)
{
    if (c->len == sizeof c->buf)
        return -1;
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    if (poll(&pfd, 1, ms_left(deadline)) <= 0)
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

static void consume(struct sh_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static int parse_head(struct sh_reply *r, long long *content_length)
{
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    char cl[32];
    *content_length = -1;
    if (sh_header(r, "Content-Length", cl, sizeof cl) == 0) {
        char *end;
        *content_length = strtoll(cl, &end, 10);
        if (*end != '\0' || *content_length < 0)
            return -1;
    }
    return 0;
}

/* Moves the first n bytes of c->buf onto the end of the body, keeping it NUL-terminated. */
static int take_body(struct sh_conn *c, struct sh_reply *r, size_t n)
{
    char *grown = realloc(r->body, r->body_len + n + 1);
    if (!grown)
        return -1;
    r->body = grown;
    memcpy(r->body + r->body_len, c->buf, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    consume(c, n);
    return 0;
}

int sh_read_reply(struct sh_conn *c, struct sh_reply *r, int timeout_ms)
{
    long long deadline = sh_now_ms() + timeout_ms;
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
        if (fill(c, deadline) <= 0)
            return -1;
    }
    size_t head_len = (size_t)(end - c->buf) + 4;
    if (head_len >= sizeof r->head)
        return -1;
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = '\0';
    consume(c, head_len);
    long long want;
    if (parse_head(r, &want) != 0 || take_body(c, r, 0) != 0)
        return -1;
    if (r->status < 200 || r->status == 204 || r->status == 304)
        return 0; /* never a body */
    for (;;) {
        size_t have = want < 0 ? c->len : (size_t)(want - (long long)r->body_len);
        if (have > c->len)
            have = c->len;
        if (take_body(c, r, have) != 0)
            break;
        if (want >= 0 && (long long)r->body_len == want)
            return 0;
        ssize_t n = fill(c, deadline);
        if (n == 0 && want < 0)
            return 0; /* body ended by close */
        if (n <= 0)
            break;
    }
    sh_reply_free(r);
    return -1;
}

int sh_peer_closed(struct sh_conn *c, int timeout_ms)
{
    long long deadline = sh_now_ms() + timeout_ms;
    for (;;) {
        ssize_t n = fill(c, deadline);
        if (n == 0)
            return 1;
        if (n < 0)
            return errno == ECONNRESET ? 1 : 0;
        consume(c, c->len); /* discard whatever else arrives */
    }
}

void sh_close(struct sh_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int sh_exchange(int port, const void *req, size_t len, struct sh_reply *r, int timeout_ms)
{
    struct sh_conn *c = malloc(sizeof *c);
    if (!c)
        return -1;
    int rc = -1;
    if (sh_connect(c, port) == 0) {
        if (sh_send(c, req, len, timeout_ms) == 0)
            rc = sh_read_reply(c, r, timeout_ms);
        sh_close(c);
    }
    free(c);
    return rc;
}

int sh_run(const char *const argv[], char *out, size_t cap, int timeout_ms)
{
    int pipefd[2];
    if (cap == 0 || pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pipefd[1], STDOUT_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return -1;
    }
    size_t len = 0;
    long long deadline = sh_now_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
        if (poll(&pfd, 1, ms_left(deadline)) <= 0) {
            timed_out = 1;
            break;
        }
        char scratch[4096];
        char *dst = len < cap - 1 ? out + len : scratch;
        size_t room = len < cap - 1 ? cap - 1 - len : sizeof scratch;
        ssize_t n = read(pipefd[0], dst, room);
        if (n <= 0)
            break;
        if (dst != scratch)
            len += (size_t)n;
    }
    out[len] = '\0';
    close(pipefd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status;
    if (waitpid(pid, &status, 0) != pid || timed_out || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int sh_curl(const char *const args[], char *out, size_t cap)
{
    const char *argv[64] = { "curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}" };
    int n = 6;
    for (int i = 0; args[i]; i++) {
        if (n >= 63)
            return -1;
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    if (sh_run(argv, out, cap, 25000) != 0)
        return -1;
    char *nl = strrchr(out, '\n');
    if (!nl)
        return -1;
    *nl = '\0';
    return atoi(nl + 1);
}

int sh_read_file(const char *path, char **bytes, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    int rc = -1;
    *bytes = NULL;
    if (fstat(fileno(f), &st) == 0 && (*bytes = malloc((size_t)st.st_size + 1)) != NULL) {
        *len = fread(*bytes, 1, (size_t)st.st_size, f);
        (*bytes)[*len] = '\0'; /* callers search it as a string */
        rc = *len == (size_t)st.st_size ? 0 : -1;
    }
    fclose(f);
    if (rc != 0) {
        free(*bytes);
        *bytes = NULL;
    }
    return rc;
}

int sh_count_in_file(const char *path, const char *needle)
{
    char *text;
    size_t len;
    if (sh_read_file(path, &text, &len) != 0)
        return -1;
    int n = 0;
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), needle, strlen(needle))); p++)
        n++;
    free(text);
    return n;
}

/* Points just past "key": (and any spaces), or NULL. */
static const char *json_value(const char *json, const char *key)
{
    char quoted[128];
    if (snprintf(quoted, sizeof quoted, "\"%s\"", key) >= (int)sizeof quoted)
        return NULL;
    const char *p = strstr(json, quoted);
    if (!p)
        return NULL;
    p += strlen(quoted);
    while (*p == ' ')
        p++;
    if (*p++ != ':')
        return NULL;
    while (*p == ' ')
        p++;
    return p;
}

int sh_json_str(const char *json, const char *key, char *out, size_t outlen)
{
    const char *p = json_value(json, key);
    if (!p || *p != '"')
        return -1;
    const char *end = strchr(++p, '"');
    if (!end || (size_t)(end - p) >= outlen)
        return -1;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

int sh_json_num(const char *json, const char *key, double *out)
{
    const char *p = json_value(json, key);
    if (!p)
        return -1;
    char *end;
    *out = strtod(p, &end);
    return end == p ? -1 : 0;
}
