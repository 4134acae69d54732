/*
 * config_fuzz: libFuzzer target for the index config reader. The input is
 * a YAML (or JSON: YAML reads it too) document; whatever it is, the reader
 * must return a config or an error with a message, never crash. An
 * accepted config must survive config_to_json -> config_from_json and map
 * to the same JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = NULL, *back = NULL;
	json_t *root, *j1 = NULL, *j2 = NULL;

	root = config_yaml_to_json((const char *)data, size, "fuzz", &e);
	if (!root) {
		if (e.code == 0 || e.msg[0] == '\0')
			abort(); /* an error must say what failed */
		return 0;
	}
	cfg = config_from_json(root, &e);
	if (!cfg) {
		if (e.code != EX_DATAERR || e.msg[0] == '\0')
			abort();
		goto out;
	}
	(void)config_find_field(cfg, "a.b");
	(void)config_resolve_field(cfg, "a.b.c", NULL);
	j1 = config_to_json(cfg);
	back = config_from_json(j1, &e);
	if (!back) {
		fprintf(stderr, "round trip refused: %s\n", e.msg);
		abort();
	}
	j2 = config_to_json(back);
	if (!json_equal(j1, j2))
		abort();
out:
	json_decref(j2);
	json_decref(j1);
	config_free(back);
	config_free(cfg);
	json_decref(root);
	return 0;
}
