/* split_bundle: see split_bundle.h; layout in qw-split(5). */
#include "split/split_bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "split/split_internal.h"

#define COPY_CHUNK (1u << 20)

/* Append file dir/name to fd; fills its length and CRC32C. */
static int copy_section(const char *dir, const char *name, int out, char *chunk, uint64_t *len,
			uint32_t *crc, struct qw_err *err)
{
	char *p = fsutil_join(dir, name);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	int ret = -1;

	*len = 0;
	*crc = 0;
	if (fd < 0) {
		err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open '%s'", p);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(err, EX_IOERR, "cannot read '%s'", p);
			goto out;
		}
		if (n == 0)
			break;
		*crc = checksum_crc32c(*crc, chunk, (size_t)n);
		*len += (uint64_t)n;
		if (fsutil_write_full(out, chunk, (size_t)n) < 0) {
			err_errno(err, EX_IOERR, "cannot write split");
			goto out;
		}
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(p);
	return ret;
}

int split_bundle(const char *segment_dir, const char *out_path, json_t *extra,
		 json_t **meta_out, struct qw_err *err)
{
	struct buf segjson = BUF_INIT, hot = BUF_INIT, footer = BUF_INIT;
	json_t *meta = NULL;
	json_error_t jerr;
	struct atomicfile af = ATOMICFILE_INIT;
	char *chunk = NULL, *sj = NULL, *hp = NULL, *mtext = NULL;
	int fd, ret = -1;
	uint64_t off[SEC_COUNT], len[SEC_COUNT], pos = 0;
	uint32_t crc[SEC_COUNT];

	if (meta_out)
		*meta_out = NULL;
	sj = fsutil_join(segment_dir, "segment.json");
	if (fsutil_read_all(sj, &segjson, err) < 0)
		goto out;
	meta = json_loadb(segjson.data ? segjson.data : "", segjson.len, 0, &jerr);
	if (!json_is_object(meta)) {
		err_set(err, EX_DATAERR, "'%s': not a JSON object: %s", sj, jerr.text);
		goto out;
	}
	if (extra && json_is_object(extra) && json_object_update(meta, extra) < 0) {
		err_set(err, EX_SOFTWARE, "cannot merge split metadata");
		goto out;
	}
	json_object_set_new(meta, "format_version", json_integer(SPLIT_VERSION));
	hp = fsutil_join(segment_dir, "hotcache");
	if (fsutil_read_all(hp, &hot, err) < 0)
		goto out;

	if (atomicfile_open(&af, out_path, 0644, err) < 0)
		goto out;
	fd = af.fd;
	chunk = xmalloc(COPY_CHUNK);
	for (int i = 0; i < SEC_COUNT; i++) {
		off[i] = pos;
		if (copy_section(segment_dir, split_section_names[i], fd, chunk, &len[i], &crc[i],
				 err) < 0)
			goto out;
		pos += len[i];
	}

	/* footer: hotcache, metadata JSON, section table, trailer */
	mtext = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	if (!mtext) {
		err_set(err, EX_SOFTWARE, "cannot serialize split metadata");
		goto out;
	}
	if (split_footer_encode(&footer, &hot, mtext, off, len, crc, err) < 0)
		goto out;
	if (fsutil_write_full(fd, footer.data, footer.len) < 0) {
		err_errno(err, EX_IOERR, "cannot write '%s'", af.tmp);
		goto out;
	}
	if (atomicfile_commit(&af, err) < 0)
		goto out;
	if (meta_out) {
		json_t *fo = json_object();

		json_object_set_new(fo, "start", json_integer((json_int_t)pos));
		json_object_set_new(fo, "end", json_integer((json_int_t)(pos + footer.len)));
		json_object_set_new(meta, "footer_offsets", fo);
		json_object_set_new(meta, "split_size_bytes", json_integer((json_int_t)(pos + footer.len)));
		*meta_out = json_incref(meta);
	}
	ret = 0;
out:
	atomicfile_rollback(&af);
	free(mtext);
	free(chunk);
	free(hp);
	free(sj);
	json_decref(meta);
	buf_free(&footer);
	buf_free(&hot);
	buf_free(&segjson);
	return ret;
}
