/* cli: the small pieces of command-line handling the programs share — whole-number option values, the
 * end of option parsing, the options every server takes (worker and balancer alike), signal wiring. */
#ifndef NET_CLI_H
#define NET_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "net/loop.h"
#include "net/server.h"

/* Parses a whole decimal option value in [min, max] into *out; prints "PROG: --opt: why" and returns -1
 * when it is not. */
int cli_long(const char *prog, const char *opt, const char *val, long min, long max, long *out);

/* Ends option parsing: when rc is 0 but the options are not complete, prints "PROG: complaint"; on any
 * error adds the one-line hint "PROG: see PROG --help" (not the whole usage).  Returns 0 or -1. */
int cli_finish(const char *prog, int rc, int complete, const char *complaint);

/* For getopt_long's '?' (run with opterr = 0): prints "PROG: OPTION: unknown option or missing value"
 * naming what was typed (argv[optind - 1]), once.  Returns -1. */
int cli_bad_option(const char *prog, char *const argv[]);
/* "PROG: see PROG --help" */
void cli_hint(const char *prog);

/* The default of --max-memory (MiB of request bodies a program holds at once) and its upper bound. */
#define CLI_DEFAULT_MAX_MEMORY_MB 256
#define CLI_MAX_MEMORY_MB (1L << 20)

/* Connection limits both servers share, so the balancer never holds more connections to a worker than
 * the worker admits: --max-conns (at the cap the longest-idle connection is shed for a newcomer) and
 * --idle-timeout (a connection with no request in progress closes; shorter than --timeout). */
#define CLI_DEFAULT_MAX_CONNS 4096
#define CLI_MAX_CONNS 100000
#define CLI_DEFAULT_IDLE_TIMEOUT_MS 5000

/* ---- the server options: --port --host --timeout --idle-timeout --max-conns --max-body --max-memory ---- */
/* ---- and the access log's --log-format text|json and --access-log FILE                              ---- */

/* Values of the long-only options below (no letter: nothing to collide with). --check is handled by the
 * program itself (it alone knows what else its options name: a model, a folder). */
enum { CLI_OPT_CHECK = 0x100, CLI_OPT_LOG_FORMAT = 2000, CLI_OPT_ACCESS_LOG };
/* getopt_long entries to splice into a program's table (their letters are p H T I N b M: keep them free). */
#define CLI_SERVER_LONGOPTS                                                                                   \
    { "port", required_argument, NULL, 'p' }, { "host", required_argument, NULL, 'H' },                       \
    { "timeout", required_argument, NULL, 'T' }, { "max-body", required_argument, NULL, 'b' },                \
    { "max-memory", required_argument, NULL, 'M' }, { "idle-timeout", required_argument, NULL, 'I' },         \
    { "max-conns", required_argument, NULL, 'N' }, { "log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT }, \
    { "access-log", required_argument, NULL, CLI_OPT_ACCESS_LOG }, { "check", no_argument, NULL, CLI_OPT_CHECK }
/* Their --help lines (options in a 24-column first field, as the programs print theirs). */
void cli_server_usage(FILE *to);
/* Defaults: port (-1 = the caller requires --port), all interfaces, HTTP_LIMITS_DEFAULT, a 30 s request
 * timeout, the idle timeout, max_conns and max_memory defaults above. */
void cli_server_defaults(struct srv_config *cfg, int port);
/* Handles one getopt letter (call it from the switch's default).  Returns 1 when it was a server option
 * (taken), 0 when it is not one ('?' included), -1 on a bad value (reported as "PROG: --opt ..."). */
int cli_server_option(const char *prog, int opt, const char *arg, struct srv_config *cfg);

/* Raises this process's open-file limit (soft, up to the hard one) so cfg->max_conns connections fit
 * (fds_per_conn each: 2 for the balancer, which may hold a backend connection per client),
 * and returns how many fds the event loop should size itself for.  When the hard limit is lower, prints
 * a warning and lowers cfg->max_conns to what fits. */
int cli_fd_budget(const char *prog, struct srv_config *cfg, int fds_per_conn);

/* --check: what the server options name, checked without binding or connecting: the --host address
 * resolves.  Returns 0, or -1 after printing "PROG: --host ADDR: why". */
int cli_server_check(const char *prog, const struct srv_config *cfg);
/* Ends a --check run: rc 0 prints "PROG: configuration OK: SUMMARY" on stdout and returns 0 (the exit
 * status); otherwise (the problem already printed) adds the --help hint and returns 2. */
int cli_check_exit(const char *prog, int rc, const char *summary);

/* SIGINT and SIGTERM stop loop l (loop_run returns); SIGPIPE is ignored; SIGHUP (systemd's ExecReload,
 * a closed terminal) is ignored unless the program already handles it (a handler, or blocked for a
 * signalfd). */
int cli_stop_on_signals(struct loop *l);

#endif
