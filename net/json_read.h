/* json_read: a small pull reader for JSON: the service's replies (read by the client) and the Open
 * Inference Protocol's requests (read by the worker).  A cursor walks the text; every call checks bounds
 * and never allocates, so memory stays bounded whatever the input: arrays of any length are walked one
 * element at a time, nesting is capped at JR_MAX_DEPTH, a number at JR_MAX_NUMBER characters.  The
 * first failure's reason stays in err (static text naming the limit, when a limit was hit). */
#ifndef NET_JSON_READ_H
#define NET_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

#define JR_MAX_DEPTH 32   /* objects and arrays nested deeper are refused by jr_skip */
#define JR_MAX_NUMBER 63  /* characters in one number */

struct jr {
    const char *p, *end;
    int depth;
    const char *err;      /* NULL, or why the first failing call failed */
};

void jr_init(struct jr *j, const char *text, size_t len);
/* Consumes c (after whitespace) if it is next.  Returns true when it was. */
bool jr_eat(struct jr *j, char c);
/* Reads a string into out[cap) (NUL-terminated; \uXXXX becomes UTF-8; too long → truncated, still valid
 * as a C string).  out may point at the string's own opening quote in the (writable) text: the output
 * never overtakes the input, so a string can be unescaped in place.  Returns its length in out (at most
 * cap - 1), or -1 when the next value is not a well-formed string. */
int jr_string(struct jr *j, char *out, size_t cap);
/* Reads a number (RFC 8259 grammar; integers of up to 15 digits without strtod).  Returns 0 or -1. */
int jr_number(struct jr *j, double *out);
/* Skips any value (objects and arrays nested at most JR_MAX_DEPTH deep).  Returns 0 or -1. */
int jr_skip(struct jr *j);
/* At the end of the text (only whitespace left). */
bool jr_at_end(struct jr *j);
/* The next value's first character after whitespace ('\0' at the end): '{', '[', '"', a digit ... */
char jr_peek(struct jr *j);
/* Why the first failure happened ("malformed JSON" when no call said more). */
const char *jr_error(const struct jr *j);

/* Iterates an object's members: call with *first = true; each call reads the next key into key[cap)
 * and leaves the cursor at its value.  Returns 1 (a key), 0 (the closing brace), -1 (malformed). */
int jr_next_key(struct jr *j, bool *first, char *key, size_t cap);
/* Iterates an array: returns 1 (cursor at the next element), 0 (closing bracket), -1. */
int jr_next_elem(struct jr *j, bool *first);

#endif
