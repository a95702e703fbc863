/* json_read: a small pull reader for the service's JSON replies (net/ only writes JSON; reading it is the
 * client's business).  A cursor walks the text; every call checks bounds and never allocates. */
#ifndef NET_JSON_READ_H
#define NET_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

struct jr {
    const char *p, *end;
    int depth;
};

void jr_init(struct jr *j, const char *text, size_t len);
/* Consumes c (after whitespace) if it is next.  Returns true when it was. */
bool jr_eat(struct jr *j, char c);
/* Reads a string into out[cap) (NUL-terminated; \uXXXX becomes UTF-8; too long → truncated, still valid
 * as a C string).  Returns 0 or -1 when the next value is not a well-formed string. */
int jr_string(struct jr *j, char *out, size_t cap);
/* Reads a number.  Returns 0 or -1. */
int jr_number(struct jr *j, double *out);
/* Skips any value (objects and arrays nested at most 32 deep).  Returns 0 or -1. */
int jr_skip(struct jr *j);
/* At the end of the text (only whitespace left). */
bool jr_at_end(struct jr *j);

/* Iterates an object's members: call with *first = true; each call reads the next key into key[cap)
 * and leaves the cursor at its value.  Returns 1 (a key), 0 (the closing brace), -1 (malformed). */
int jr_next_key(struct jr *j, bool *first, char *key, size_t cap);
/* Iterates an array: returns 1 (cursor at the next element), 0 (closing bracket), -1. */
int jr_next_elem(struct jr *j, bool *first);

#endif
