/* table: one writer, two formats.  CSV cells are plain (the client never emits commas in them). */
#include "study/table.h"

#include <string.h>

#include "study/files.h"

static int add_sink(struct table *t, FILE *f, int csv, int owned)
{
    if (t->nsinks == TABLE_MAX_SINKS)
        return -1;
    t->sink[t->nsinks] = f;
    t->csv[t->nsinks] = csv;
    t->owned[t->nsinks] = owned;
    t->nsinks++;
    return 0;
}

void table_init(struct table *t, int ncols, int csv)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols < TABLE_MAX_COLS ? ncols : TABLE_MAX_COLS;
    if (csv >= 0)
        add_sink(t, stdout, csv, 0);
}

int table_open_files(struct table *t, const char *dir, const char *name, const char *title, char *err, size_t errlen)
{
    if (file_mkdirs(dir, err, errlen) < 0)
        return -1;
    static const char *const ext[2] = { "md", "csv" };
    for (int csv = 1; csv >= 0; csv--) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[csv]);
        FILE *f = fopen(path, "w");
        if (!f || add_sink(t, f, csv, 1) < 0) {
            snprintf(err, errlen, "cannot write %s", path);
            if (f)
                fclose(f);
            return -1;
        }
        if (!csv)
            fprintf(f, "## %s\n\n", title);
    }
    return 0;
}

static void write_row(struct table *t, int s, const char *const *cells)
{
    FILE *f = t->sink[s];
    for (int i = 0; i < t->ncols; i++) {
        if (t->csv[s])
            fprintf(f, "%s%s", i ? "," : "", cells[i]);
        else
            fprintf(f, "| %s ", cells[i]);
    }
    fputs(t->csv[s] ? "\n" : "|\n", f);
}

void table_header(struct table *t, const char *const *cols)
{
    for (int s = 0; s < t->nsinks; s++) {
        write_row(t, s, cols);
        if (t->csv[s])
            continue;
        for (int i = 0; i < t->ncols; i++)
            fputs(i ? "---|" : "|---|", t->sink[s]);
        fputc('\n', t->sink[s]);
    }
}

void table_row(struct table *t, const char *const *cells)
{
    for (int s = 0; s < t->nsinks; s++) {
        write_row(t, s, cells);
        fflush(t->sink[s]);
    }
}

void table_note(struct table *t, const char *text)
{
    for (int s = 0; s < t->nsinks; s++)
        if (!t->csv[s] && t->owned[s])
            fprintf(t->sink[s], "\n%s\n", text);
}

int table_close(struct table *t)
{
    int rc = 0;
    for (int s = 0; s < t->nsinks; s++) {
        if (fflush(t->sink[s]) != 0 || ferror(t->sink[s]))
            rc = -1;
        if (t->owned[s] && fclose(t->sink[s]) != 0)
            rc = -1;
    }
    t->nsinks = 0;
    return rc;
}
