/*
 * s3_xml: parse the few XML documents S3 answers with.
 *
 * S3 responses are small, flat and machine-written, so a scanner for
 * "<Tag>text</Tag>" is enough; it never allocates more than the text it
 * returns and never reads past len (the input need not be NUL-terminated).
 * Text is unescaped (&amp; &lt; &gt; &quot; &apos; and numeric &#..;);
 * a malformed entity or an element without its end tag is an EX_DATAERR.
 * Pure functions, thread-safe.
 */
#ifndef QW_S3_XML_H
#define QW_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Text of the first <tag> element at or after *pos, malloc'ed in *out;
 * *pos moves past its end tag. 1 when found, 0 when absent, -1 on a
 * malformed document.
 */
int s3_xml_text(const char *xml, size_t len, size_t *pos, const char *tag, char **out,
		struct qw_err *err);

/* <Error><Code>..</Code><Message>..</Message></Error>: code and message
 * (each malloc'ed, NULL when absent). 0, or -1 when malformed. */
int s3_xml_error(const char *xml, size_t len, char **code, char **message,
		 struct qw_err *err);

/* One object of a ListObjectsV2 page. */
struct s3_xml_object {
	char *key;
	uint64_t size;
	int64_t mtime;   /* LastModified, seconds since the epoch; 0 when absent */
};

/*
 * A ListObjectsV2Result page: its <Contents> objects (malloc'ed array of
 * *n, free with s3_xml_objects_free), and the continuation token when
 * IsTruncated is true (malloc'ed; NULL on the last page).
 */
int s3_xml_list(const char *xml, size_t len, struct s3_xml_object **objs, size_t *n,
		char **next_token, struct qw_err *err);
void s3_xml_objects_free(struct s3_xml_object *objs, size_t n);

#endif
