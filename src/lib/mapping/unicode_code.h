/*
 * unicode_code: generated Unicode tables for the source_code_default
 * tokenizer and the ascii_folding filter (see gen_source_code.py, which
 * writes unicode_code.c). Read-only data.
 *
 * unicode_code_class:  sorted inclusive ranges {first, last, class} of
 *                      non-ASCII code points; class 1 = uppercase letter,
 *                      2 = other letter, 3 = number. Code points in no
 *                      range are delimiters.
 * unicode_ascii_fold:  sorted (code point, ASCII replacement) pairs of the
 *                      non-ASCII code points that fold to ASCII.
 */
#ifndef QW_UNICODE_CODE_H
#define QW_UNICODE_CODE_H

#include <stddef.h>
#include <stdint.h>

enum { UCODE_DELIM = 0, UCODE_UPPER = 1, UCODE_LOWER = 2, UCODE_NUMERIC = 3 };

struct unicode_fold {
	uint32_t cp;
	const char *ascii;
};

extern const uint32_t unicode_code_class[][3];
extern const size_t unicode_code_class_n;
extern const struct unicode_fold unicode_ascii_fold[];
extern const size_t unicode_ascii_fold_n;

#endif
