/* csvread: reading back the small CSV files the studies wrote (a header line, then plain cells: the
 * client never writes quotes or embedded commas). */
#ifndef STUDY_CSVREAD_H
#define STUDY_CSVREAD_H

#include <stddef.h>

#define CSV_MAX_COLS 32
#define CSV_MAX_ROWS 256
#define CSV_CELL 64

struct csv {
    int ncols, nrows;
    char head[CSV_MAX_COLS][CSV_CELL];
    char cell[CSV_MAX_ROWS][CSV_MAX_COLS][CSV_CELL];
};

/* Loads path into *out (large: allocate it on the heap).  Rows with a different cell count, or
 * too many rows/columns/characters, are refused.  Returns 0 or -1 with err filled. */
int csv_load(const char *path, struct csv *out, char *err, size_t errlen);
/* Index of the column with this header, or -1. */
int csv_col(const struct csv *c, const char *name);
/* The cell as a number, or NAN when it is not one. */
double csv_num(const struct csv *c, int row, int col);

#endif
