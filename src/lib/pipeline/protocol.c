#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "pipeline/protocol.h"

#define READ_CHUNK (1 << 16)
#define WRITE_CHUNK (1 << 16)

void protocol_reader_init(struct protocol_reader *r, int fd, const char *name, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->name = name;
	r->max_line = max_line;
}

void protocol_reader_free(struct protocol_reader *r)
{
	buf_free(&r->in);
}

/* Drop consumed bytes once they are the larger part of the buffer. */
static void compact(struct protocol_reader *r)
{
	if (r->start == 0)
		return;
	if (r->start >= r->in.len) {
		buf_reset(&r->in);
		r->start = 0;
		return;
	}
	if (r->start > r->in.len / 2 || r->start > (1u << 20)) {
		memmove(r->in.data, r->in.data + r->start, r->in.len - r->start);
		buf_truncate(&r->in, r->in.len - r->start);
		r->start = 0;
	}
}

static enum line_kind classify(const char *p, size_t n, const char **line, size_t *len)
{
	if (n > 0 && p[n - 1] == '\r')
		n--; /* CRLF input: the line is the same line */
	if (n > 0 && p[0] == PROTOCOL_RS) {
		*line = p + 1;
		*len = n - 1;
		return LINE_CONTROL;
	}
	*line = p;
	*len = n;
	return LINE_DOC;
}

static enum line_kind read_line(struct protocol_reader *r, const char **line, size_t *len,
				struct qw_err *err)
{
	for (;;) {
		char *p = r->in.data ? r->in.data + r->start : NULL;
		size_t avail = r->in.len - r->start;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		ssize_t got;
		uint64_t t0;

		if (nl) {
			size_t n = (size_t)(nl - p);

			r->start += n + 1;
			r->bytes_consumed += n + 1;
			if (r->skipping) {
				r->skipping = false;
				*line = NULL;
				*len = n;
				return LINE_TOO_LONG;
			}
			if (r->max_line && n > r->max_line) {
				*line = NULL;
				*len = n;
				return LINE_TOO_LONG;
			}
			return classify(p, n, line, len);
		}
		if (r->eof) {
			if (avail == 0)
				return LINE_EOF;
			r->start += avail;
			r->bytes_consumed += avail;
			if (r->skipping || (r->max_line && avail > r->max_line)) {
				r->skipping = false;
				*line = NULL;
				*len = avail;
				return LINE_TOO_LONG;
			}
			return classify(p, avail, line, len);
		}
		/* Bounded memory: a line over max_line is skipped, not buffered. */
		if (r->max_line && avail > r->max_line) {
			r->skipping = true;
			r->bytes_consumed += avail;
			r->start += avail;
		}
		compact(r);
		buf_grow(&r->in, READ_CHUNK);
		t0 = r->stats ? stage_stats_now_us() : 0;
		got = read(r->fd, r->in.data + r->in.len, r->in.cap - r->in.len - 1);
		if (r->stats) {
			r->stats->wait_input_us += stage_stats_now_us() - t0;
			if (got > 0)
				r->stats->bytes_in += (uint64_t)got;
			stage_stats_tick(r->stats);
		}
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return LINE_AGAIN;
			err_errno(err, EX_IOERR, "cannot read '%s'", r->name);
			return LINE_ERROR;
		}
		if (got == 0) {
			r->eof = true;
			continue;
		}
		r->in.len += (size_t)got;
		r->in.data[r->in.len] = '\0';
	}
}

enum line_kind protocol_read_line(struct protocol_reader *r, const char **line, size_t *len,
				  struct qw_err *err)
{
	enum line_kind k = read_line(r, line, len, err);

	if (r->stats && k == LINE_DOC && *len > 0)
		r->stats->docs_in++;
	return k;
}

json_t *protocol_parse_control(const char *line, size_t len, struct qw_err *err)
{
	json_error_t je;
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);

	if (!rec) {
		err_set(err, EX_DATAERR, "bad control record: col %d: %s", je.column, je.text);
		return NULL;
	}
	if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "type"))) {
		json_decref(rec);
		err_set(err, EX_DATAERR, "bad control record: not an object with a string \"type\"");
		return NULL;
	}
	return rec;
}

/* The documents a control record carries (its "num_docs"): what the stages
 * after qw-index count as documents in and out. */
static uint64_t record_docs(json_t *rec)
{
	json_int_t n = json_integer_value(json_object_get(rec, "num_docs"));

	return n > 0 ? (uint64_t)n : 0;
}

enum line_kind protocol_read_control(struct protocol_reader *r, uint64_t *lineno, const char **line,
				     size_t *len, json_t **rec, struct qw_err *err)
{
	*rec = NULL;
	for (;;) {
		enum line_kind k = protocol_read_line(r, line, len, err);

		if (k == LINE_EOF || k == LINE_AGAIN || k == LINE_ERROR)
			return k;
		++*lineno;
		if (k == LINE_TOO_LONG) {
			err_set(err, EX_DATAERR, "line %" PRIu64 ": record too long (over %zu bytes)",
				*lineno, r->max_line);
			return LINE_ERROR;
		}
		if (k == LINE_DOC) {
			if (*len == 0)
				continue;
			err_set(err, EX_DATAERR,
				"line %" PRIu64 ": a document where a control record was expected",
				*lineno);
			return LINE_ERROR;
		}
		*rec = protocol_parse_control(*line, *len, err);
		if (!*rec) {
			err_prefix(err, "line %" PRIu64, *lineno);
			return LINE_ERROR;
		}
		if (r->stats)
			r->stats->docs_in += record_docs(*rec);
		return LINE_CONTROL;
	}
}

const char *protocol_type(json_t *rec)
{
	const char *t = json_string_value(json_object_get(rec, "type"));

	return t ? t : "";
}

json_t *protocol_new(const char *type)
{
	return json_pack("{s:s}", "type", type);
}

static int dump_control(json_t *rec, struct buf *out, struct qw_err *err)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (!s)
		return err_set(err, EX_SOFTWARE, "cannot serialize control record");
	buf_addc(out, PROTOCOL_RS);
	buf_adds(out, s);
	buf_addc(out, '\n');
	free(s);
	return 0;
}

int protocol_write_line(int fd, const char *line, size_t len, bool control, struct qw_err *err)
{
	struct buf b = BUF_INIT;
	int ret = 0;

	if (control)
		buf_addc(&b, PROTOCOL_RS);
	buf_add(&b, line, len);
	buf_addc(&b, '\n');
	if (fsutil_write_full(fd, b.data, b.len) < 0)
		ret = err_errno(err, EX_IOERR, "cannot write record");
	buf_free(&b);
	return ret;
}

void protocol_writer_init(struct protocol_writer *w, int fd, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->name = name;
}

int protocol_writer_flush(struct protocol_writer *w, struct qw_err *err)
{
	uint64_t t0;
	int rc;

	if (w->out.len == 0)
		return 0;
	t0 = w->stats ? stage_stats_now_us() : 0;
	rc = fsutil_write_full(w->fd, w->out.data, w->out.len);
	if (w->stats) {
		w->stats->blocked_output_us += stage_stats_now_us() - t0;
		if (rc == 0)
			w->stats->bytes_out += w->out.len;
		stage_stats_tick(w->stats);
	}
	if (rc < 0)
		return err_errno(err, errno == EPIPE ? EX_IOERR : EX_IOERR, "cannot write to '%s'",
				 w->name ? w->name : "output");
	buf_reset(&w->out);
	return 0;
}

static int maybe_flush(struct protocol_writer *w, struct qw_err *err)
{
	return w->out.len >= WRITE_CHUNK ? protocol_writer_flush(w, err) : 0;
}

int protocol_writer_doc(struct protocol_writer *w, const char *line, size_t len, struct qw_err *err)
{
	if (w->stats)
		w->stats->docs_out++;
	buf_add(&w->out, line, len);
	buf_addc(&w->out, '\n');
	return maybe_flush(w, err);
}

int protocol_writer_control(struct protocol_writer *w, json_t *rec, struct qw_err *err)
{
	if (dump_control(rec, &w->out, err) < 0)
		return -1;
	if (w->stats)
		w->stats->docs_out += record_docs(rec);
	return maybe_flush(w, err);
}

int protocol_writer_control_line(struct protocol_writer *w, const char *line, size_t len,
				 struct qw_err *err)
{
	buf_addc(&w->out, PROTOCOL_RS);
	buf_add(&w->out, line, len);
	buf_addc(&w->out, '\n');
	return maybe_flush(w, err);
}

void protocol_writer_free(struct protocol_writer *w)
{
	buf_free(&w->out);
}
