/*
 * extract_fuzz: libFuzzer target for field extraction (mapping/extract.h).
 * The input is one plain log line, matched by every built-in pattern: a
 * match must give JSON members that parse (invalid UTF-8 and control bytes
 * escaped), whose values are substrings of the line; never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "mapping/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; extract_names[i]; i++) {
		struct qw_err err = QW_ERR_INIT;
		struct extract *x = extract_new(extract_names[i], &err);
		struct buf b = BUF_INIT;
		json_t *o;
		int m;

		if (!x)
			abort();        /* the built-in patterns compile */
		buf_addc(&b, '{');
		m = extract_line(x, (const char *)data, size, &b, &err);
		if (m < 0 && err.code == 0)
			abort();
		if (m > 0) {
			buf_adds(&b, "\"_end\":1}");
			o = json_loadb(b.data, b.len, JSON_ALLOW_NUL, NULL);
			if (!json_is_object(o))
				abort();
			json_decref(o);
		}
		buf_free(&b);
		extract_free(x);
	}
	return 0;
}
