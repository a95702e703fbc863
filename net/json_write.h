/* json: the two bits of JSON writing the service needs — escaping a string, and the error body.
 * Both write into a caller's bounded buffer and never allocate. */
#ifndef NET_JSON_H
#define NET_JSON_H

#include <stddef.h>
#include <sys/types.h>

/* Escapes s[0..len) as the inside of a JSON string (no surrounding quotes): '"' '\\' and control
 * characters are escaped; bytes >= 0x80 are copied as they are (UTF-8 passes through; invalid UTF-8
 * bytes become U+FFFD so the output is always valid JSON).  Returns the length written (a NUL is added
 * when there is room for it), or -1 if out[cap] is too small. */
ssize_t json_escape(char *out, size_t cap, const char *s, size_t len);

/* Writes {"error":"<code>","detail":"<detail>"} (both escaped, no newline); code NULL writes the Open
 * Inference Protocol's {"error":"<detail>"}.  Returns length or -1. */
ssize_t json_error_body(char *out, size_t cap, const char *code, const char *detail);

#endif
