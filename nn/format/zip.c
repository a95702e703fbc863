/* zip: stored-member lookup in a trailing zip archive.  See zip.h.  Layout: PKWARE APPNOTE 4.3. */
#include "nn/format/zip.h"

#include "nn/format/flatbuf.h"

#include <stdio.h>
#include <string.h>

#define EOCD_SIG 0x06054b50u
#define CDIR_SIG 0x02014b50u
#define LOCAL_SIG 0x04034b50u
#define EOCD_LEN 22
#define CDIR_LEN 46
#define LOCAL_LEN 30

static int ends_with(const uint8_t *name, size_t name_len, const char *suffix)
{
    size_t s = strlen(suffix);
    return name_len >= s && memcmp(name + name_len - s, suffix, s) == 0;
}

/* The end-of-central-directory record: the last signature within the final 64 KiB + 22 bytes. */
static int64_t find_eocd(const uint8_t *p, size_t n)
{
    if (n < EOCD_LEN)
        return -1;
    size_t lowest = n - EOCD_LEN > 65535 ? n - EOCD_LEN - 65535 : 0;
    for (size_t at = n - EOCD_LEN + 1; at-- > lowest;)
        if (fb_load_u32(p + at) == EOCD_SIG)
            return (int64_t)at;
    return -1;
}

int zip_find_stored(const uint8_t *p, size_t n, const char *suffix, const uint8_t **data, size_t *len,
                    char *err, size_t errlen)
{
    int64_t eocd = find_eocd(p, n);
    if (eocd < 0)
        return 0;
    unsigned entries = fb_load_u16(p + eocd + 10);
    uint64_t cd_size = fb_load_u32(p + eocd + 12), cd_off = fb_load_u32(p + eocd + 16);
    if (cd_size > (uint64_t)eocd) {
        snprintf(err, errlen, "zip: central directory (%llu bytes) larger than what precedes it",
                 (unsigned long long)cd_size);
        return -1;
    }
    /* An archive appended to another file stores offsets relative to its own start: shift them. */
    uint64_t cd_at = (uint64_t)eocd - cd_size;
    if (cd_off > cd_at) {
        snprintf(err, errlen, "zip: central directory offset %llu is past its end", (unsigned long long)cd_off);
        return -1;
    }
    uint64_t shift = cd_at - cd_off, at = cd_at;
    for (unsigned i = 0; i < entries; i++) {
        if (at + CDIR_LEN > (uint64_t)eocd || fb_load_u32(p + at) != CDIR_SIG) {
            snprintf(err, errlen, "zip: central directory entry %u is malformed", i);
            return -1;
        }
        unsigned method = fb_load_u16(p + at + 10), name_len = fb_load_u16(p + at + 28);
        unsigned extra = fb_load_u16(p + at + 30), comment = fb_load_u16(p + at + 32);
        uint64_t csize = fb_load_u32(p + at + 20), local = fb_load_u32(p + at + 42) + shift;
        if (at + CDIR_LEN + name_len > (uint64_t)eocd) {
            snprintf(err, errlen, "zip: name of entry %u runs past the directory", i);
            return -1;
        }
        if (ends_with(p + at + CDIR_LEN, name_len, suffix)) {
            if (method != 0) {
                snprintf(err, errlen, "zip: member %.*s is compressed (method %u); only stored is read",
                         (int)name_len, (const char *)p + at + CDIR_LEN, method);
                return -1;
            }
            if (local + LOCAL_LEN > n || fb_load_u32(p + local) != LOCAL_SIG) {
                snprintf(err, errlen, "zip: local header of entry %u is outside the file or malformed", i);
                return -1;
            }
            uint64_t start = local + LOCAL_LEN + fb_load_u16(p + local + 26) + fb_load_u16(p + local + 28);
            if (start > n || csize > n - start) {
                snprintf(err, errlen, "zip: data of entry %u runs past the end of the file", i);
                return -1;
            }
            *data = p + start;
            *len = (size_t)csize;
            return 1;
        }
        at += CDIR_LEN + (uint64_t)name_len + extra + comment;
    }
    return 0;
}
