/* cli: the small pieces of command-line handling the programs share. */
#ifndef SVC_CLI_H
#define SVC_CLI_H

#include <stdio.h>

#include "net/loop.h"

/* Parses a whole decimal option value in [min, max] into *out; prints "PROG: --opt: why" and returns -1
 * when it is not. */
int cli_long(const char *prog, const char *opt, const char *val, long min, long max, long *out);

/* Ends option parsing: when rc is 0 but the options are not complete, prints "PROG: complaint";
 * on any error prints the usage to stderr.  Returns 0 when all is well, else -1. */
int cli_finish(const char *prog, int rc, int complete, const char *complaint, void (*usage)(FILE *));

/* The default of --max-memory (MiB of request bodies a program holds at once) and its upper bound. */
#define CLI_DEFAULT_MAX_MEMORY_MB 256
#define CLI_MAX_MEMORY_MB (1L << 20)

/* Connection limits both servers share, so the balancer never holds more connections to a worker than
 * the worker admits: --max-conns (at the cap the longest-idle connection is shed for a newcomer) and
 * --idle-timeout (a keep-alive connection with no request closes; shorter than --timeout). */
#define CLI_DEFAULT_MAX_CONNS 4096
#define CLI_MAX_CONNS 100000
#define CLI_DEFAULT_IDLE_TIMEOUT_MS 5000

/* Raises this process's open-file limit (soft, up to the hard one) so max_conns connections fit, and
 * returns how many fds the event loop should size itself for.  When the hard limit is lower, prints a
 * warning and lowers *max_conns to what fits. */
int cli_fd_budget(const char *prog, long *max_conns);

/* SIGINT and SIGTERM stop loop l (loop_run returns); SIGPIPE is ignored. */
int cli_stop_on_signals(struct loop *l);

#endif
