/* progress: one line on stderr, rewritten in place, saying how far a long command has got — only when
 * stderr is a terminal (a pipe, a file or a CI log gets nothing).  At most ten updates a second. */
#ifndef STUDY_PROGRESS_H
#define STUDY_PROGRESS_H

#include <stdint.h>

struct progress {
    int on;            /* stderr is a terminal */
    const char *what;  /* e.g. "client accuracy" */
    long total;        /* steps in all (0: unknown) */
    uint64_t last_ns;  /* when the line was last written */
    int shown;         /* a line is on the screen */
};

void progress_start(struct progress *p, const char *what, long total);
/* done of total steps so far, and what is being done now (may be NULL). */
void progress_update(struct progress *p, long done, const char *detail);
/* Clears the line, so what follows starts on a clean one. */
void progress_end(struct progress *p);

#endif
