/* cli: option values and signal wiring shared by the programs (see cli.h). */
#include "net/cli.h"
#include "net/sock.h"

#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_long(const char *prog, const char *opt, const char *val, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "%s: %s wants a whole number from %ld to %ld, got '%s'\n", prog, opt, min, max, val);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_finish(const char *prog, int rc, int complete, const char *complaint)
{
    if (rc == 0 && !complete) {
        fprintf(stderr, "%s: %s\n", prog, complaint);
        rc = -1;
    }
    if (rc != 0)
        cli_hint(prog);
    return rc == 0 ? 0 : -1;
}

int cli_bad_option(const char *prog, char *const argv[])
{
    const char *typed = optind > 1 ? argv[optind - 1] : "?";
    if (optopt && typed[0] == '-' && typed[1] != '-') /* a short option, maybe inside a cluster */
        fprintf(stderr, "%s: -%c: unknown option or missing value\n", prog, optopt);
    else
        fprintf(stderr, "%s: %s: unknown option or missing value\n", prog, typed);
    return -1;
}

void cli_hint(const char *prog)
{
    fprintf(stderr, "%s: see %s --help\n", prog, prog);
}

void cli_server_usage(FILE *to)
{
    fprintf(to,
            "  --port P              port to listen on (0 = any free port)\n"
            "  --host ADDR           address to listen on (default: all interfaces)\n"
            "  --timeout MS          a request must arrive within MS of its first byte (else 408)\n"
            "                        (default 30000)\n"
            "  --idle-timeout MS     a connection with no request in progress closes (default %d)\n"
            "  --max-conns N         connections at once; at the cap the longest-idle one is closed to\n"
            "                        admit a newcomer (default %d, the same for balancer and workers)\n"
            "  --max-body BYTES      largest request body (default %u; over it -> 413)\n"
            "  --max-memory MB       request bodies and queued answers held at once, all clients\n"
            "                        together (default %d; over it -> 503 with Retry-After)\n"
            "  --log-format F        the access log's lines: text (default) or json (JSON lines); the\n"
            "                        fields are listed in the README (Access log)\n"
            "  --access-log FILE     append the access log to FILE (default -: stderr)\n"
            "  --check               check the options and what they name, then exit: 0 and one line\n"
            "                        when all is well, else the problem and 2 (binds no port, connects\n"
            "                        to no peer)\n",
            CLI_DEFAULT_IDLE_TIMEOUT_MS, CLI_DEFAULT_MAX_CONNS, HTTP_DEFAULT_MAX_BODY, CLI_DEFAULT_MAX_MEMORY_MB);
}

void cli_server_defaults(struct srv_config *cfg, int port)
{
    *cfg = (struct srv_config){ .port = port, .limits = HTTP_LIMITS_DEFAULT, .timeout_ms = 30000,
                                .idle_timeout_ms = CLI_DEFAULT_IDLE_TIMEOUT_MS, .max_conns = CLI_DEFAULT_MAX_CONNS,
                                .max_memory = (size_t)CLI_DEFAULT_MAX_MEMORY_MB << 20 };
}

int cli_server_option(const char *prog, int opt, const char *arg, struct srv_config *cfg)
{
    long v;
    switch (opt) {
    case 'p':
        if (cli_long(prog, "--port", arg, 0, 65535, &v) != 0)
            return -1;
        cfg->port = (int)v;
        return 1;
    case 'H':
        cfg->host = arg;
        return 1;
    case 'T':
        if (cli_long(prog, "--timeout", arg, 10, 3600000, &v) != 0)
            return -1;
        cfg->timeout_ms = (int)v;
        return 1;
    case 'b':
        if (cli_long(prog, "--max-body", arg, 1, 1L << 30, &v) != 0)
            return -1;
        cfg->limits.max_body = (uint64_t)v;
        return 1;
    case 'M':
        if (cli_long(prog, "--max-memory", arg, 1, CLI_MAX_MEMORY_MB, &v) != 0)
            return -1;
        cfg->max_memory = (size_t)v << 20;
        return 1;
    case 'I':
        if (cli_long(prog, "--idle-timeout", arg, 10, 3600000, &v) != 0)
            return -1;
        cfg->idle_timeout_ms = (int)v;
        return 1;
    case 'N':
        if (cli_long(prog, "--max-conns", arg, 1, CLI_MAX_CONNS, &v) != 0)
            return -1;
        cfg->max_conns = (int)v;
        return 1;
    case CLI_OPT_LOG_FORMAT:
        if (alog_parse_format(arg, &cfg->log_format) != 0) {
            fprintf(stderr, "%s: --log-format: text or json, got '%s'\n", prog, arg);
            return -1;
        }
        return 1;
    case CLI_OPT_ACCESS_LOG:
        cfg->access_log = arg;
        return 1;
    }
    return 0;
}

int cli_server_check(const char *prog, const struct srv_config *cfg)
{
    if (!cfg->host || !cfg->host[0])
        return 0;
    struct sock_addr a;
    char err[256];
    if (sock_resolve(cfg->host, cfg->port > 0 ? cfg->port : 0, &a, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --host: %s\n", prog, err);
        return -1;
    }
    return 0;
}

int cli_check_exit(const char *prog, int rc, const char *summary)
{
    if (rc != 0) {
        cli_hint(prog);
        return 2;
    }
    printf("%s: configuration OK: %s\n", prog, summary);
    return 0;
}

static struct loop *signal_loop;

static void on_stop_signal(int sig)
{
    (void)sig;
    loop_stop(signal_loop); /* async-signal-safe by contract */
}

int cli_stop_on_signals(struct loop *l)
{
    signal_loop = l;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -1;
    /* SIGHUP's default would end the process; a program that handles it (a handler, or blocked to be read
     * from a signalfd) keeps its own way. */
    struct sigaction hup;
    sigset_t blocked;
    if (sigaction(SIGHUP, NULL, &hup) != 0 || pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0)
        return -1;
    if (hup.sa_handler != SIG_DFL || sigismember(&blocked, SIGHUP))
        return 0;
    return sigaction(SIGHUP, &sa, NULL);
}

#define FD_RESERVE 256 /* listening socket, backends, logs, files */

int cli_fd_budget(const char *prog, struct srv_config *cfg, int fds_per_conn)
{
    long conns = cfg->max_conns, *max_conns = &conns;
    struct rlimit rl;
    rlim_t want = (rlim_t)*max_conns * (rlim_t)fds_per_conn + FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rlim_t cur = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = cur;
        if (rl.rlim_cur < want) {
            long fit = rl.rlim_cur > 2 * FD_RESERVE ? ((long)rl.rlim_cur - FD_RESERVE) / fds_per_conn : FD_RESERVE;
            fprintf(stderr, "%s: the open-file limit (%llu) allows %ld connections, not %ld\n", prog,
                    (unsigned long long)rl.rlim_cur, fit, *max_conns);
            *max_conns = fit;
        }
    }
    cfg->max_conns = (int)conns;
    return (int)(conns * fds_per_conn + FD_RESERVE);
}
