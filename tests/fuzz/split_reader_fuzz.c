/*
 * libFuzzer target for the split reader: the input is a whole .split file.
 * Everything readable is read (fields, dictionaries, postings with
 * positions, advance, field norms, column values, stored docs); any input must give either
 * results or a clean error, never a crash or an out-of-bounds read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "split/split_format.h"
#include "split/split_reader.h"

static void read_all(struct split_reader *r, bool from_start)
{
	struct qw_err err = QW_ERR_INIT;

	for (size_t i = 0; i < split_reader_num_fields(r); i++) {
		const struct split_field_info *fi = split_reader_field(r, i);

		if (fi->indexed) {
			struct split_terms *it = split_terms_open(r, (int)i, from_start ? NULL : "m",
								  from_start ? 0 : 1, &err);
			const uint8_t *t;
			size_t tl;
			struct split_term_info ti;
			int n = 0;

			while (it && split_terms_next(it, &t, &tl, &ti, &err) == 1 && n++ < 256) {
				struct split_postings *p;
				uint32_t doc;
				bool pos = fi->record == RECORD_POSITION;

				/* a lookup scans a dictionary block: a few per field keep the
				 * target fast (one lookup per term is quadratic) */
				if (n % 64 == 1)
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
			if (fi->kind == VK_TEXT) {
				const uint8_t *ids;
				uint64_t tokens, sum = 0;

				if (split_reader_field_norms(r, (int)i, &ids, &tokens, &err) == 0 && ids)
					for (uint32_t d = 0; d < split_reader_num_docs(r); d++)
						sum += fieldnorm_decode(ids[d]);
				(void)sum;
			}
		}
		if (fi->fast) {
			struct split_column *c = split_column_open(r, (int)i, &err);
			uint64_t lo, hi, v, sum = 0;

			if (c)
				(void)split_column_min_max(c, &lo, &hi);
			for (uint32_t d = 0; c && d < split_reader_num_docs(r) && d < 4096; d++) {
				uint64_t s, e;

				split_column_doc_range(c, d, &s, &e);
				if (split_column_first(c, d, &v))
					sum += v;
				for (; s < e; s++) {
					const uint8_t *t;
					size_t tl;

					v = split_column_value(c, s);
					sum += v;
					(void)split_column_dict_term(c, v, &t, &tl);
				}
			}
			(void)sum;
			split_column_free(c);
		}
	}
	for (uint32_t d = 0; d < split_reader_num_docs(r) && d < 4096; d++) {
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
		/* every other input from the first term, else from a lower bound */
		read_all(r, size % 2 == 0);
		split_reader_close(r);
	}
	d = split_reader_describe(path, true, NULL, &err);
	json_decref(d);
	close(fd);
	return 0;
}
