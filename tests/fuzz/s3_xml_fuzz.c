/*
 * s3_xml_fuzz: libFuzzer target for the S3 XML scanner. The input is an
 * S3 answer (list page, error, multipart answer), not NUL-terminated.
 * Whatever it is, the scanner must parse it or fail with EX_DATAERR and a
 * message, never read past the input or leak; a parsed list page has a
 * key for every object, and the failure paths return nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any over-read */
	char *xml = malloc(size ? size : 1);
	struct s3_xml_object *objs = NULL;
	struct qw_err err = QW_ERR_INIT;
	char *tok = NULL, *code = NULL, *msg = NULL, *id = NULL;
	size_t n = 0, pos = 0;

	if (!xml)
		return 0;
	memcpy(xml, data, size);
	if (s3_xml_list(xml, size, &objs, &n, &tok, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!objs[i].key)
				abort();
		s3_xml_objects_free(objs, n);
		free(tok);
	} else if (err.code != EX_DATAERR || !err.msg[0] || objs || tok) {
		abort();
	}
	if (s3_xml_error(xml, size, &code, &msg, &err) < 0 && (code || msg))
		abort();
	free(code);
	free(msg);
	while (s3_xml_text(xml, size, &pos, "UploadId", &id, &err) == 1) {
		if (pos > size)
			abort();
		free(id);
		id = NULL;
	}
	free(id);
	free(xml);
	return 0;
}
