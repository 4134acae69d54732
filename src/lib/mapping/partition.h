/*
 * partition: the doc mapping's partition_key, a routing expression as
 * Quickwit defines it, evaluated to a 64-bit partition id per document.
 *
 * Grammar (Quickwit's routing expression DSL; whitespace around tokens is
 * ignored):
 *   expr     := sub ("," sub)*
 *   sub      := ident | ident "(" arg ("," arg)* ")"
 *   arg      := number | "(" expr ")" | sub
 *   ident    := [A-Za-z0-9_.]+   (a field path; "." walks nested objects)
 * The only function is hash_mod(expr, N) (N >= 1): the hash of expr modulo
 * N, so hash_mod(tenant_id, 4) yields at most 4 partitions.
 *
 * Evaluation hashes the expression tree (salt) then, for each field, a tag
 * for present/absent and the JSON value with its type (FNV-1a 64), kept
 * to 63 bits so that a partition id is a JSON integer everywhere. An
 * empty or absent expression gives partition id 0 for every document (one
 * partition, as in Quickwit). A struct partition_expr is immutable after
 * partition_expr_parse(): safe to share read-only between threads.
 */
#ifndef QW_PARTITION_H
#define QW_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

/* The id of the overflow partition that takes the documents of every
 * partition beyond max_num_partitions (Quickwit's OTHER_PARTITION_ID role). */
#define PARTITION_OTHER_ID UINT64_C(3264326757911759461)

struct partition_expr;

/* Parse src (NULL or blank: the empty expression). EX_DATAERR with the
 * column on a syntax error, an unknown function or a bad modulo. */
struct partition_expr *partition_expr_parse(const char *src, struct qw_err *err);
void partition_expr_free(struct partition_expr *e);
/* True when the expression is empty (every document in partition 0). */
int partition_expr_is_empty(const struct partition_expr *e);
/* Partition id of a document (a JSON object). */
uint64_t partition_expr_eval(const struct partition_expr *e, json_t *doc);
/*
 * The top-level keys of a document that evaluation may look at: for every
 * field path, the path itself and its first dotted segment (lookup tries
 * the literal key, then nested objects). partition_expr_eval() on an object
 * holding just these keys of a document (with their values) gives the
 * document's partition id. Appended to out (may repeat); returns the count.
 */
size_t partition_expr_top_keys(const struct partition_expr *e, char ***out, size_t *n,
			       size_t *cap);
/* Canonical text of the expression (Quickwit's Display form) into out. */
void partition_expr_format(const struct partition_expr *e, struct buf *out);

#endif
