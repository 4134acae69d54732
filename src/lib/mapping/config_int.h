/*
 * config_int: helpers shared by the files of the config parser (config.c,
 * config_tokenizers.c), so that their messages are worded by one rule.
 * Not for other modules.
 */
#ifndef QW_CONFIG_INT_H
#define QW_CONFIG_INT_H

#include <jansson.h>

#include "base/err.h"

/* A JSON value's type as messages word it ("a mapping", "an integer"...). */
const char *config_json_type_name(const json_t *v);
/* The index of s in a NULL-terminated name table, -1 when absent. */
int config_find_name(const char *const *names, const char *s);
/* err_set(EX_DATAERR) with "path.key: " in front (key may be NULL, path may
 * be ""); returns -1. */
__attribute__((format(printf, 4, 5)))
int config_fail(struct qw_err *err, const char *path, const char *key, const char *fmt, ...);

#endif
