/* csvread: strict and bounded; a study file that does not parse is an error, not a guess. */
#include "study/csvread.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits line into cells[]; returns the count or -1 when over the limits. */
static int split(char *line, char cells[][CSV_CELL])
{
    line[strcspn(line, "\r\n")] = '\0';
    int n = 0;
    for (char *p = line;; n++) {
        size_t len = strcspn(p, ",");
        if (n == CSV_MAX_COLS || len >= CSV_CELL)
            return -1;
        memcpy(cells[n], p, len);
        cells[n][len] = '\0';
        if (p[len] == '\0')
            return n + 1;
        p += len + 1;
    }
}

int csv_load(const char *path, struct csv *out, char *err, size_t errlen)
{
    out->ncols = out->nrows = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[CSV_MAX_COLS * CSV_CELL];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        if (lineno == 1) {
            out->ncols = split(line, out->head);
            rc = out->ncols > 0 ? 0 : -1;
        } else if (out->nrows == CSV_MAX_ROWS || split(line, out->cell[out->nrows]) != out->ncols) {
            rc = -1;
        } else {
            out->nrows++;
        }
    }
    fclose(f);
    if (rc < 0 || lineno == 0) {
        snprintf(err, errlen, "%s:%d: not a CSV table this client wrote", path, lineno);
        return -1;
    }
    return 0;
}

int csv_col(const struct csv *c, const char *name)
{
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->head[i], name) == 0)
            return i;
    return -1;
}

double csv_num(const struct csv *c, int row, int col)
{
    if (row < 0 || row >= c->nrows || col < 0 || col >= c->ncols)
        return NAN;
    const char *s = c->cell[row][col];
    char *end;
    double v = strtod(s, &end);
    return end == s || *end ? NAN : v;
}
