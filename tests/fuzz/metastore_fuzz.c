/*
 * metastore_fuzz: libFuzzer target for the metastore's two readers of an
 * index document. The input is the document's text; the search's fast
 * reader (metastore_parse_splits_view) must take exactly what jansson's
 * parse (metastore_parse_doc) takes, and give the same split records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/metastore_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_record(const struct split_record *a, const struct split_record *b)
{
	if (strcmp(a->split_id, b->split_id) || a->state != b->state ||
	    !a->publish_token != !b->publish_token ||
	    (a->publish_token && strcmp(a->publish_token, b->publish_token)) ||
	    a->token_is_current != b->token_is_current || a->num_docs != b->num_docs ||
	    a->uncompressed_docs_size_in_bytes != b->uncompressed_docs_size_in_bytes ||
	    a->has_size != b->has_size || a->size_bytes != b->size_bytes ||
	    a->has_time_range != b->has_time_range || a->time_start != b->time_start ||
	    a->time_end != b->time_end || !a->tags != !b->tags || a->n_tags != b->n_tags ||
	    a->has_create_timestamp != b->has_create_timestamp ||
	    a->create_timestamp != b->create_timestamp ||
	    a->has_update_timestamp != b->has_update_timestamp ||
	    a->update_timestamp != b->update_timestamp ||
	    a->has_publish_timestamp != b->has_publish_timestamp ||
	    a->publish_timestamp != b->publish_timestamp || a->delete_opstamp != b->delete_opstamp)
		return false;
	for (size_t i = 0; i < a->n_tags; i++)
		if (strcmp(a->tags[i], b->tags[i]))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qw_err e1 = QW_ERR_INIT, e2 = QW_ERR_INIT;
	json_t *full = metastore_parse_doc((const char *)data, size, "fuzz", &e1);
	json_t *view = metastore_parse_splits_view((const char *)data, size, "fuzz", &e2);
	struct split_record *ra = NULL, *rb = NULL;
	size_t na = 0, nb = 0;

	if (!full != !view || (!full && (e1.code != e2.code || strcmp(e1.msg, e2.msg))))
		abort(); /* one rule: the same documents taken, the same errors */
	if (!full)
		return 0;
	metastore_split_records(full, SPLIT_STATES_ALL, &ra, &na);
	metastore_split_records(view, SPLIT_STATES_ALL, &rb, &nb);
	if (na != nb)
		abort();
	for (size_t i = 0; i < na; i++)
		if (!same_record(&ra[i], &rb[i]))
			abort();
	if (!json_equal(json_object_get(full, "index_config"), json_object_get(view, "index_config")))
		abort();
	metastore_free_splits(ra, na);
	metastore_free_splits(rb, nb);
	json_decref(view);
	json_decref(full);
	return 0;
}
