/* img_budget: the memory a picture decoder may hold, enforced on every allocation it makes.
 *
 * stb_image allocates through img_budget_malloc/realloc/free (see stb_decoder.c).  Between
 * img_budget_begin and img_budget_end on one thread, each allocation is counted against two caps: this
 * picture's (img_limits.max_decode_bytes) and all decodes in the process together (the same figure, so
 * concurrent decode threads cannot hold more than one budget between them).  An allocation over a cap
 * fails, and stb_image then fails cleanly.  Every block is zero-filled (realloc's new tail too), so a
 * decoder that never writes some pixels yields zeros, never an earlier request's bytes. */
#ifndef NN_IMAGE_BUDGET_H
#define NN_IMAGE_BUDGET_H

#include <stddef.h>

enum { IMG_BUDGET_MAX_LIVE = 64 }; /* blocks one decode may hold at once (stb_image needs < 20) */

enum img_budget_over {
    IMG_BUDGET_OK = 0,
    IMG_BUDGET_PICTURE,   /* this picture alone needed more than its budget */
    IMG_BUDGET_PROCESS,   /* other decodes hold the rest of the process-wide budget */
};

struct img_budget {
    size_t limit, held, peak;
    enum img_budget_over over;
    int nlive;
    struct { void *p; size_t n; } live[IMG_BUDGET_MAX_LIVE];
};

/* Starts counting this thread's decoder allocations against limit bytes. */
void img_budget_begin(struct img_budget *b, size_t limit);
/* Stops counting.  keep (may be NULL), a block the decoder returned, leaves the budget and becomes
 * the caller's: free() it.  Any other block still held is freed. */
void img_budget_end(struct img_budget *b, void *keep);

/* The allocator stb_image uses; outside begin/end every allocation fails. */
void *img_budget_malloc(size_t n);
void *img_budget_realloc(void *p, size_t n);
void img_budget_free(void *p);

#endif
