/*
 * checksum: CRC32C (Castagnoli), the checksum of every split section and
 * unit (man/qw-split.5). Uses the SSE4.2 crc32 instruction when the CPU
 * has it, a table-driven (slicing-by-8) version otherwise; both give the
 * same result. checksum_crc32c(0, p, n) checksums a buffer; pass a
 * previous result as crc to continue over several buffers. Reentrant.
 */
#ifndef QW_CHECKSUM_H
#define QW_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint32_t checksum_crc32c(uint32_t crc, const void *data, size_t len);

#endif
