/* progress: "\r" + the line + "erase to end of line" (ANSI EL), so a shorter line leaves no tail. */
#include "study/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "net/clock.h"

#define PROGRESS_EVERY_NS 100000000ull

void progress_start(struct progress *p, const char *what, long total)
{
    *p = (struct progress){ .on = isatty(STDERR_FILENO), .what = what, .total = total };
}

void progress_update(struct progress *p, long done, const char *detail)
{
    if (!p->on)
        return;
    uint64_t now = clock_now_ns();
    if (p->shown && now - p->last_ns < PROGRESS_EVERY_NS && done < p->total)
        return;
    p->last_ns = now;
    p->shown = 1;
    if (p->total > 0)
        fprintf(stderr, "\r%s: %ld/%ld (%ld%%)%s%s\033[K", p->what, done, p->total, 100 * done / p->total,
                detail ? " " : "", detail ? detail : "");
    else
        fprintf(stderr, "\r%s: %ld%s%s\033[K", p->what, done, detail ? " " : "", detail ? detail : "");
    fflush(stderr);
}

void progress_end(struct progress *p)
{
    if (p->on && p->shown)
        fputs("\r\033[K", stderr);
    p->shown = 0;
}
