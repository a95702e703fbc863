/* table: rows of text cells written at once to every sink — the terminal (aligned Markdown or CSV) and,
 * with --out DIR, the study's DIR/<name>.csv and DIR/<name>.md.  Cells are formatted by the caller. */
#ifndef STUDY_TABLE_H
#define STUDY_TABLE_H

#include <stdio.h>

#define TABLE_MAX_COLS 24
#define TABLE_MAX_SINKS 3

struct table {
    int ncols;
    int nsinks;
    FILE *sink[TABLE_MAX_SINKS];
    int csv[TABLE_MAX_SINKS];   /* 1 = CSV, 0 = Markdown */
    int owned[TABLE_MAX_SINKS]; /* files table_close must close */
};

/* Starts a table of ncols columns; stdout gets CSV when csv > 0, Markdown when 0, nothing when < 0. */
void table_init(struct table *t, int ncols, int csv);
/* Adds DIR/<name>.csv and DIR/<name>.md (DIR created if needed; the .md starts with "## title").
 * Returns 0, or -1 with err filled. */
int table_open_files(struct table *t, const char *dir, const char *name, const char *title, char *err, size_t errlen);
/* Writes the header line(s); call once, after the sinks are set. */
void table_header(struct table *t, const char *const *cols);
void table_row(struct table *t, const char *const *cells);
/* A line of prose under the table in the Markdown sinks (e.g. how it was measured). */
void table_note(struct table *t, const char *text);
/* Flushes and closes the files.  Returns 0, or -1 if any write failed. */
int table_close(struct table *t);

#endif
