/* results_index: what the studies have written, as JSON for the page.
 *
 * The results folder holds one sub-folder per study (results/<study>/{table.md,*.csv,plot.svg,...}).
 * The index lists them newest first:
 *   {"studies":[{"name":"latency","modified":1767225600,"files":["plot.svg","table.md"]},...]}
 * At most RESULTS_MAX_STUDIES studies and RESULTS_MAX_FILES files each; hidden entries and symlinks are
 * skipped.
 * A missing folder is an empty list. */
#ifndef SVC_RESULTS_INDEX_H
#define SVC_RESULTS_INDEX_H

#include "net/buf.h"

#define RESULTS_MAX_STUDIES 64
#define RESULTS_MAX_FILES 64

/* Replaces out's content with the index of dir, listing only files whose extension is in allow (NULL:
 * every file; see static_ext_allowed).  0, or -1 when it does not fit out.  Not thread-safe (static
 * scratch): call it from one thread (the balancer's file cache thread). */
int results_index_json(const char *dir, const char *const *allow, struct buf *out);

/* Replaces out's content with {"<key>":["a.jpg",...]}: the regular files of one folder (the balancer's
 * --examples), by name.  0, or -1 when it does not fit out.  The same thread as results_index_json. */
int results_files_json(const char *dir, const char *key, struct buf *out);

#endif
