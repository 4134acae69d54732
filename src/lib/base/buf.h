/*
 * buf: a growable byte buffer, always NUL-terminated (like git's strbuf).
 *
 * The buffer owns its data; buf_free() releases it, buf_detach() hands it
 * over to the caller. A zeroed struct buf (BUF_INIT) is a valid empty
 * buffer. Not thread-safe; one owner at a time.
 */
#ifndef QW_BUF_H
#define QW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
/* Append code point cp (at most U+10FFFF) in UTF-8 (utf8.h). */
void buf_add_utf8(struct buf *b, uint32_t cp);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Little-endian fixed-width and LEB128 variable-length integers. */
void buf_add_u8(struct buf *b, uint8_t v);
void buf_add_u32le(struct buf *b, uint32_t v);
void buf_add_u64le(struct buf *b, uint64_t v);
void buf_add_varint(struct buf *b, uint64_t v);
void buf_reset(struct buf *b);
void buf_truncate(struct buf *b, size_t len);
void buf_free(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);
/* Pointer to the data, "" for an empty buffer. */
const char *buf_str(const struct buf *b);

#endif
