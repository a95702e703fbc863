/* flatbuf: bounds-checked FlatBuffers reading.  See flatbuf.h. */
#include "nn/format/flatbuf.h"

#include <string.h>

uint16_t fb_load_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
uint32_t fb_load_u32(const uint8_t *p) { return (uint32_t)fb_load_u16(p) | (uint32_t)fb_load_u16(p + 2) << 16; }
uint64_t fb_load_u64(const uint8_t *p) { return (uint64_t)fb_load_u32(p) | (uint64_t)fb_load_u32(p + 4) << 32; }

float fb_load_f32(const uint8_t *p)
{
    uint32_t u = fb_load_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

const char *fb_strerror(int err)
{
    switch (err) {
    case FB_OK: return "ok";
    case FB_ERR_OFFSET: return "offset points outside the file";
    case FB_ERR_VTABLE: return "table layout (vtable) is malformed or outside the file";
    case FB_ERR_VECTOR: return "vector length runs past the end of the file";
    case FB_ERR_STRING: return "string is not terminated inside the file";
    default: return "unknown flatbuffer error";
    }
}

/* True when [pos, pos+len) lies inside the buffer (no overflow: sizes are compared, not summed). */
static int fits(const struct fb_buf *b, size_t pos, uint64_t len)
{
    return pos <= b->n && len <= b->n - pos;
}

static int table_at(const struct fb_buf *b, size_t pos, struct fb_table *out)
{
    if (!fits(b, pos, 4))
        return FB_ERR_OFFSET;
    int32_t soff = (int32_t)fb_load_u32(b->p + pos);
    int64_t vt = (int64_t)pos - soff;
    if (vt < 0 || !fits(b, (size_t)vt, 4))
        return FB_ERR_VTABLE;
    unsigned vt_len = fb_load_u16(b->p + vt), obj_len = fb_load_u16(b->p + vt + 2);
    if (vt_len < 4 || (vt_len & 1) || !fits(b, (size_t)vt, vt_len) || obj_len < 4 || !fits(b, pos, obj_len))
        return FB_ERR_VTABLE;
    *out = (struct fb_table){ .buf = b, .pos = pos, .vt = (size_t)vt, .vt_fields = (vt_len - 4) / 2,
                              .size = obj_len };
    return FB_OK;
}

int fb_root(const struct fb_buf *buf, struct fb_table *out)
{
    if (!fits(buf, 0, 8))
        return FB_ERR_OFFSET;
    return table_at(buf, fb_load_u32(buf->p), out);
}

int64_t fb_field_pos(const struct fb_table *t, unsigned field, size_t size)
{
    if (field >= t->vt_fields)
        return 0;
    unsigned off = fb_load_u16(t->buf->p + t->vt + 4 + 2 * field);
    if (off == 0)
        return 0;
    if (off < 4 || (uint64_t)off + size > t->size)
        return FB_ERR_VTABLE;
    return (int64_t)(t->pos + off);
}

/* The inline bytes of a scalar field: FB_OK with *at NULL when absent, or an error. */
static int scalar(const struct fb_table *t, unsigned field, size_t size, const uint8_t **at)
{
    int64_t pos = fb_field_pos(t, field, size);
    *at = pos > 0 ? t->buf->p + pos : NULL;
    return pos < 0 ? (int)pos : FB_OK;
}

static uint8_t load_u8(const uint8_t *p) { return *p; }
static int32_t load_i32(const uint8_t *p) { return (int32_t)fb_load_u32(p); }

/* One accessor per scalar type: the field's value, or dflt when absent. */
#define FB_SCALAR(name, type, load)                                                 \
    int name(const struct fb_table *t, unsigned field, type dflt, type *out)       \
    {                                                                              \
        const uint8_t *at;                                                         \
        int rc = scalar(t, field, sizeof(type), &at);                              \
        *out = at ? load(at) : dflt;                                               \
        return rc;                                                                 \
    }
FB_SCALAR(fb_u8, uint8_t, load_u8)
FB_SCALAR(fb_i32, int32_t, load_i32)
FB_SCALAR(fb_f32, float, fb_load_f32)
FB_SCALAR(fb_u64, uint64_t, fb_load_u64)

/* Follows the uoffset stored in a field: 1 and *target set, 0 absent, or an error. */
static int deref(const struct fb_table *t, unsigned field, size_t *target)
{
    int64_t at = fb_field_pos(t, field, 4);
    if (at <= 0)
        return (int)at;
    uint64_t to = (uint64_t)at + fb_load_u32(t->buf->p + at);
    if (to > t->buf->n)
        return FB_ERR_OFFSET;
    *target = (size_t)to;
    return 1;
}

int fb_table(const struct fb_table *t, unsigned field, struct fb_table *out)
{
    size_t to = 0;
    *out = (struct fb_table){ .buf = t->buf }; /* absent reads as a table with no fields */
    int r = deref(t, field, &to);
    if (r <= 0)
        return r;
    r = table_at(t->buf, to, out);
    return r < 0 ? r : 1;
}

static int vector_at(const struct fb_buf *b, size_t pos, size_t elem_size, struct fb_vec *out)
{
    if (!fits(b, pos, 4))
        return FB_ERR_OFFSET;
    uint32_t len = fb_load_u32(b->p + pos);
    if (!fits(b, pos + 4, (uint64_t)len * elem_size))
        return FB_ERR_VECTOR;
    *out = (struct fb_vec){ .buf = b, .pos = pos + 4, .len = len };
    return 1;
}

int fb_vector(const struct fb_table *t, unsigned field, size_t elem_size, struct fb_vec *out)
{
    size_t to = 0;
    *out = (struct fb_vec){ .buf = t->buf }; /* absent reads as empty */
    int r = deref(t, field, &to);
    if (r <= 0)
        return r;
    return vector_at(t->buf, to, elem_size, out);
}

int fb_string(const struct fb_table *t, unsigned field, const char **str, uint32_t *len)
{
    struct fb_vec v;
    int r = fb_vector(t, field, 1, &v);
    if (r <= 0)
        return r;
    if (!fits(t->buf, v.pos, (uint64_t)v.len + 1) || t->buf->p[v.pos + v.len] != 0)
        return FB_ERR_STRING;
    *str = (const char *)t->buf->p + v.pos;
    *len = v.len;
    return 1;
}

int fb_vec_table(const struct fb_vec *v, uint32_t i, struct fb_table *out)
{
    if (i >= v->len)
        return FB_ERR_OFFSET;
    size_t at = v->pos + (size_t)i * 4;
    uint64_t to = (uint64_t)at + fb_load_u32(v->buf->p + at);
    if (to > v->buf->n)
        return FB_ERR_OFFSET;
    return table_at(v->buf, (size_t)to, out);
}

/* Scalar elements: callers index below len (the vector's bytes were checked when it was opened). */
int32_t fb_vec_i32(const struct fb_vec *v, uint32_t i)
{
    return i < v->len ? (int32_t)fb_load_u32(v->buf->p + v->pos + (size_t)i * 4) : 0;
}

int64_t fb_vec_i64(const struct fb_vec *v, uint32_t i)
{
    return i < v->len ? (int64_t)fb_load_u64(v->buf->p + v->pos + (size_t)i * 8) : 0;
}

float fb_vec_f32(const struct fb_vec *v, uint32_t i)
{
    return i < v->len ? fb_load_f32(v->buf->p + v->pos + (size_t)i * 4) : 0.0f;
}

const uint8_t *fb_vec_bytes(const struct fb_vec *v)
{
    return v->buf->p + v->pos;
}
