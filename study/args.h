/* args: option values the subcommands share — numbers and comma-separated lists, each checked whole. */
#ifndef STUDY_ARGS_H
#define STUDY_ARGS_H

/* Parses "16,32,64" into out[0..max).  Every item must be an integer in [lo, hi].  Returns the count, or
 * -1 (with a one-line message on stderr naming opt) on a bad or too long list. */
int args_int_list(const char *opt, const char *s, int *out, int max, int lo, int hi);
/* Same for decimal numbers (e.g. "2.5,1,0.5"); items must be > 0. */
int args_double_list(const char *opt, const char *s, double *out, int max);
/* One number in (0, ARGS_POSITIVE_MAX].  The bound keeps seconds, milliseconds and rates far from
 * overflowing the nanosecond clocks they end up in.  Returns 0 or -1 (message on stderr). */
#define ARGS_POSITIVE_MAX 1e9

int args_positive(const char *opt, const char *s, double *out);
/* The same, 0 allowed (e.g. a squared coefficient of variation: 0 is a constant service time). */
int args_nonnegative(const char *opt, const char *s, double *out);
/* For getopt_long's '?': "client CMD: OPTION: unknown option or missing value" and the "see --help" hint.
 * Returns 2 (the exit status of a usage error). */
int args_bad_option(const char *cmd, char *const argv[]);
/* (One integer in [lo, hi]: cli_long in net/cli.h, shared with the servers.) */

#endif
