/*
 * libFuzzer target for the split reader: the input is a whole .split file.
 * Everything readable is read (fields, dictionaries, postings with
 * positions, advance, columns, stored docs); any input must give either
 * results or a clean error, never a crash or an out-of-bounds read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "split_reader.h"

static void read_all(struct split_reader *r)
{
	struct qw_err err = QW_ERR_INIT;

	for (size_t i = 0; i < split_reader_num_fields(r); i++) {
		const struct split_field_info *fi = split_reader_field(r, i);

		if (fi->indexed) {
			struct split_terms *it = split_terms_open(r, (int)i, "m", 1, &err);
			const uint8_t *t;
			size_t tl;
			struct split_term_info ti;
			int n = 0;

			while (it && split_terms_next(it, &t, &tl, &ti, &err) == 1 && n++ < 1000) {
				struct split_postings *p;
				uint32_t doc;
				bool pos = fi->record == RECORD_POSITION;

				(void)split_reader_term_lookup(r, (int)i, t, tl, &ti, &err);
				p = split_postings_open(r, &ti, pos, &err);
				if (!p)
					continue;
				while (split_postings_advance(p, split_postings_doc(p) == SPLIT_DOC_END ? 0 :
							      split_postings_doc(p) + 2, &doc, &err) == 0 &&
				       doc != SPLIT_DOC_END) {
					const uint32_t *pv;
					uint32_t np;

					(void)split_postings_freq(p);
					if (pos && split_postings_positions(p, &pv, &np, &err) < 0)
						break;
				}
				split_postings_free(p);
			}
			split_terms_free(it);
		}
		if (fi->fast) {
			struct split_column *c = split_column_open(r, (int)i, &err);

			for (uint32_t d = 0; c && d < split_reader_num_docs(r) && d < 100000; d++) {
				uint64_t s, e;

				split_column_doc_range(c, d, &s, &e);
				for (; s < e; s++) {
					const uint8_t *t;
					size_t tl;

					(void)split_column_dict_term(c, split_column_value(c, s), &t, &tl);
				}
			}
			split_column_free(c);
		}
	}
	for (uint32_t d = 0; d < split_reader_num_docs(r) && d < 100000; d++) {
		const char *j;
		size_t jl;

		if (split_reader_doc(r, d, &j, &jl, &err) < 0)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qw_err err = QW_ERR_INIT;
	char path[64];
	int fd = memfd_create("split", MFD_CLOEXEC);
	struct split_reader *r;
	json_t *d;

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = split_reader_open(path, &err);
	if (r) {
		read_all(r);
		split_reader_close(r);
	}
	d = split_reader_describe(path, true, &err);
	json_decref(d);
	close(fd);
	return 0;
}
