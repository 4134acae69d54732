/*
 * unicode_data: generated Unicode tables for the tokenizer (see
 * gen_unicode.py, which writes unicode_data.c). Read-only data.
 *
 * unicode_word_bmp:    bitmap of word characters (letters, numbers, marks)
 *                      for U+0000..U+FFFF, bit cp&31 of word cp>>5.
 * unicode_word_astral: sorted inclusive ranges of word characters above U+FFFF.
 * unicode_lower:       sorted (code point, simple lowercase) pairs for
 *                      non-ASCII code points whose lowercase differs.
 */
#ifndef QW_UNICODE_DATA_H
#define QW_UNICODE_DATA_H

#include <stddef.h>
#include <stdint.h>

extern const uint32_t unicode_word_bmp[2048];
extern const uint32_t unicode_word_astral[][2];
extern const size_t unicode_word_astral_n;
extern const uint32_t unicode_lower[][2];
extern const size_t unicode_lower_n;

#endif
