/* cli: option values and signal wiring shared by the programs (see cli.h). */
#include "net/cli.h"

#include <sys/resource.h>

#include <errno.h>
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

int cli_finish(const char *prog, int rc, int complete, const char *complaint, void (*usage)(FILE *))
{
    if (rc == 0 && !complete) {
        fprintf(stderr, "%s: %s\n", prog, complaint);
        rc = -1;
    }
    if (rc != 0)
        usage(stderr);
    return rc == 0 ? 0 : -1;
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
    return sigaction(SIGPIPE, &sa, NULL);
}

#define FD_RESERVE 256 /* listening socket, backends, logs, files */

int cli_fd_budget(const char *prog, long *max_conns)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)*max_conns + FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rlim_t cur = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = cur;
        if (rl.rlim_cur < want) {
            long fit = rl.rlim_cur > 2 * FD_RESERVE ? (long)rl.rlim_cur - FD_RESERVE : FD_RESERVE;
            fprintf(stderr, "%s: the open-file limit (%llu) allows %ld connections, not %ld\n", prog,
                    (unsigned long long)rl.rlim_cur, fit, *max_conns);
            *max_conns = fit;
        }
    }
    return (int)(*max_conns + FD_RESERVE);
}
