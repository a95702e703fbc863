/* cli: option values and signal wiring shared by the programs (see cli.h). */
#include "net/cli.h"
#include "net/sock.h"

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
            "  --timeout MS          a request must arrive within MS (else 408); idle connections close\n"
            "                        (default 30000)\n"
            "  --max-body BYTES      largest request body (default %u; over it -> 413)\n"
            "  --max-memory MB       request bodies held at once, all clients together (default %d;\n"
            "                        over it -> 503 with Retry-After)\n"
            "  --check               check the options and what they name, then exit: 0 and one line\n"
            "                        when all is well, else the problem and 2 (binds no port, connects to no peer)\n",
            HTTP_DEFAULT_MAX_BODY, CLI_DEFAULT_MAX_MEMORY_MB);
}

void cli_server_defaults(struct srv_config *cfg, int port, int max_conns)
{
    *cfg = (struct srv_config){ .port = port, .limits = HTTP_LIMITS_DEFAULT, .timeout_ms = 30000,
                                .max_conns = max_conns, .max_memory = (size_t)CLI_DEFAULT_MAX_MEMORY_MB << 20 };
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
