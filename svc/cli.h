/* cli: the small pieces of command-line handling the programs share. */
#ifndef SVC_CLI_H
#define SVC_CLI_H

#include "net/loop.h"

/* Parses a whole decimal option value in [min, max] into *out; prints "PROG: --opt: why" and returns -1
 * when it is not. */
int cli_long(const char *prog, const char *opt, const char *val, long min, long max, long *out);

/* SIGINT and SIGTERM stop loop l (loop_run returns); SIGPIPE is ignored. */
int cli_stop_on_signals(struct loop *l);

#endif
