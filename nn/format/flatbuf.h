/* flatbuf: bounds-checked reading of a FlatBuffers binary (no flatbuffers library).
 *
 * Every accessor checks that what it reads lies inside the buffer, so a truncated or hostile file gives an
 * error code, never an out-of-bounds read.  Values are read little-endian with memcpy (no alignment
 * assumptions).  Nothing here allocates; tables and vectors are views into the caller's bytes. */
#ifndef NN_FLATBUF_H
#define NN_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

enum fb_error {
    FB_OK = 0,
    FB_ERR_OFFSET = -1,   /* an offset points outside the buffer */
    FB_ERR_VTABLE = -2,   /* a table's vtable is outside the buffer or malformed */
    FB_ERR_VECTOR = -3,   /* a vector's length runs past the end of the buffer */
    FB_ERR_STRING = -4,   /* a string is not terminated inside the buffer */
};

struct fb_buf {
    const uint8_t *p;
    size_t n;
};

struct fb_table {
    const struct fb_buf *buf;
    size_t pos;          /* where the table starts */
    size_t vt;           /* where its vtable starts */
    unsigned vt_fields;  /* number of field slots in the vtable */
    size_t size;         /* inline size of the table as the vtable states it */
};

struct fb_vec {
    const struct fb_buf *buf;
    size_t pos;          /* first element */
    uint32_t len;        /* number of elements */
};

const char *fb_strerror(int err);

/* The root table (offset in the first 4 bytes). */
int fb_root(const struct fb_buf *buf, struct fb_table *out);

/* Scalars: *out = the field's value, or dflt when the field is absent. */
int fb_u8(const struct fb_table *t, unsigned field, uint8_t dflt, uint8_t *out);
int fb_i32(const struct fb_table *t, unsigned field, int32_t dflt, int32_t *out);
int fb_f32(const struct fb_table *t, unsigned field, float dflt, float *out);
int fb_u64(const struct fb_table *t, unsigned field, uint64_t dflt, uint64_t *out);

/* Where a field's inline value of size bytes lies in the buffer: 0 when absent, FB_ERR_* when it would lie
 * outside its table.  (Tools and tests use it to find the bytes behind a field.) */
int64_t fb_field_pos(const struct fb_table *t, unsigned field, size_t size);

/* Referenced objects: 1 when present (out filled), 0 when absent (out empty: no fields, no elements),
 * negative enum fb_error when broken.
 * fb_vector checks that len * elem_size bytes follow the length word. */
int fb_table(const struct fb_table *t, unsigned field, struct fb_table *out);
int fb_vector(const struct fb_table *t, unsigned field, size_t elem_size, struct fb_vec *out);
int fb_string(const struct fb_table *t, unsigned field, const char **str, uint32_t *len);

/* Elements of a vector (index must be < len; checked). */
int fb_vec_table(const struct fb_vec *v, uint32_t i, struct fb_table *out);
int32_t fb_vec_i32(const struct fb_vec *v, uint32_t i);
int64_t fb_vec_i64(const struct fb_vec *v, uint32_t i);
float fb_vec_f32(const struct fb_vec *v, uint32_t i);
const uint8_t *fb_vec_bytes(const struct fb_vec *v);

/* Little-endian loads from memory the caller has already bounds-checked. */
uint16_t fb_load_u16(const uint8_t *p);
uint32_t fb_load_u32(const uint8_t *p);
uint64_t fb_load_u64(const uint8_t *p);
float fb_load_f32(const uint8_t *p);

#endif
