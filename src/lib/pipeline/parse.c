/* parse: see parse.h */
#include "pipeline/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "mapping/datetime.h"
#include "mapping/extract.h"
#include "base/fsutil.h"
#include "pipeline/protocol.h"
#include "pipeline/resume.h"
#include "pipeline/source.h"
#include "base/xalloc.h"

#define POLL_INTERVAL_MS 200
#define DEAD_LETTER_FLUSH (64 * 1024)

struct run {
	const struct parse_opts *o;
	struct parse_stats *st;
	struct docmap *dm;
	struct protocol_writer w;
	struct stage_stats stats;   /* counters for the supervisor */
	struct buf doc;             /* serialized document */
	struct buf dl;              /* pending dead-letter lines */
	struct buf fixed;           /* a plain line as JSON text */
	struct buf nul;             /* a plain line without NUL bytes */
	int dl_fd;
	const char *source_id;
	const char *body_field;
	const struct field_mapping *ts_field;
	struct extract *fields;     /* the pattern, or NULL */
	struct extract *ml_start;   /* the multi-line start, or NULL */
	bool pattern_ts;            /* the pattern captures the timestamp field */
	bool pattern_body;          /* ... the body field */
	struct buf ev;              /* the pending multi-line event */
	bool ev_pending;
	uint64_t ev_start;          /* its position (partition offset) */
	uint64_t line_pos;          /* position of the line or event being mapped */
	int worst;                  /* exit code for input problems */
	struct qw_err last;
	struct source *src;
	json_t *claimed;            /* {"partition": true}: the ids read in this run */
	json_t *cp, *heads;         /* the checkpoint resumed from (without opts->no_resume) */
	json_t *stream_pos;         /* {"partition": position}: streams read in this run */
	uint64_t base;              /* a stream: its stored position, added to its offsets */
	bool wait_failed;           /* flushing before a blocking read failed: */
	struct qw_err wait_err;     /* ... why */
};

/* The head of the current partition over want bytes; false when it cannot be
 * had. The bytes come from what source.h kept of the partition (the bytes
 * read, or its first bytes as they were when it was opened or skipped), not
 * from the file as it is now: a file rewritten since gives no new head. */
static bool current_head(struct run *r, size_t want, uint64_t ino, struct buf *out)
{
	struct qw_err e = QW_ERR_INIT;
	const char *h;
	size_t n;

	if (source_head(r->src, want, &h, &n, &e) < 0 || n < want)
		return false;
	resume_head_fingerprint(h, n, out);
	if (ino)
		buf_addf(out, ":%llu", (unsigned long long)ino);
	return true;
}

static void warn(struct run *r, const struct qw_err *e)
{
	if (r->o->warn)
		r->o->warn(r->o->warn_ctx, e);
}

static void note_failure(struct run *r, const struct qw_err *e)
{
	warn(r, e);
	if (e->code == EX_IOERR || r->worst == 0)
		r->worst = e->code ? e->code : EX_IOERR;
	r->last = *e;
}

static int flush_dead_letters(struct run *r, struct qw_err *err)
{
	if (r->dl_fd < 0 || r->dl.len == 0)
		return 0;
	if (fsutil_write_full(r->dl_fd, r->dl.data, r->dl.len) < 0)
		return err_errno(err, EX_IOERR, "cannot write dead letters to '%s'", r->o->dead_letter);
	buf_reset(&r->dl);
	return 0;
}

static int dead_letter(struct run *r, const struct source_part *p, enum docmap_reason reason,
		       const char *msg, const char *line, size_t len, struct qw_err *err)
{
	struct buf *b = &r->dl;

	if (r->dl_fd < 0)
		return 0;
	buf_adds(b, "{\"reason\":");
	docmap_json_string(b, docmap_reason_name(reason), strlen(docmap_reason_name(reason)));
	buf_adds(b, ",\"message\":");
	docmap_json_string(b, msg, strlen(msg));
	buf_adds(b, ",\"source\":");
	docmap_json_string(b, r->source_id, strlen(r->source_id));
	buf_adds(b, ",\"partition\":");
	docmap_json_string(b, p->id, strlen(p->id));
	buf_addf(b, ",\"position\":%llu,\"line\":", (unsigned long long)(r->base + r->line_pos));
	docmap_json_string(b, line, len);
	buf_adds(b, "}\n");
	if (b->len >= DEAD_LETTER_FLUSH)
		return flush_dead_letters(r, err);
	return 0;
}

/* Before blocking on a pipe: what was written so far goes out (protocol.h). */
static void before_wait(void *ctx)
{
	struct run *r = ctx;

	if (r->wait_failed)
		return;
	if (protocol_writer_flush(&r->w, &r->wait_err) < 0 || flush_dead_letters(r, &r->wait_err) < 0)
		r->wait_failed = true;
}

static int emit_checkpoint(struct run *r, const struct source_part *p, uint64_t from, uint64_t to,
			   struct qw_err *err)
{
	json_t *rec = protocol_new(REC_CHECKPOINT);
	struct buf head = BUF_INIT;
	int rc;

	/* a stream has no head to check on resume: it is never resumed */
	if (!rec || json_object_set_new(rec, "source", json_string(r->source_id)) ||
	    json_object_set_new(rec, "partition", json_string(p->id)) ||
	    json_object_set_new(rec, "from", json_integer((json_int_t)(r->base + from))) ||
	    json_object_set_new(rec, "to", json_integer((json_int_t)(r->base + to))) ||
	    (!p->stream &&
	     current_head(r, to < SOURCE_HEAD_MAX ? (size_t)to : SOURCE_HEAD_MAX, p->ino, &head) &&
	     json_object_set_new(rec, "head", json_string(head.data)))) {
		json_decref(rec);
		buf_free(&head);
		return err_set(err, EX_DATAERR, "cannot build a checkpoint record for '%s'", p->name);
	}
	buf_free(&head);
	rc = protocol_writer_control(&r->w, rec, err);
	json_decref(rec);
	if (rc == 0)
		rc = flush_dead_letters(r, err);
	return rc;
}

static int emit_simple(struct run *r, const char *type, struct qw_err *err)
{
	json_t *rec = protocol_new(type);
	int rc;

	if (!rec)
		return err_set(err, EX_SOFTWARE, "cannot build a %s record", type);
	rc = protocol_writer_control(&r->w, rec, err);
	json_decref(rec);
	return rc;
}

static int emit_eof(struct run *r, struct qw_err *err)
{
	json_t *rec = protocol_new(REC_EOF), *by = json_object();
	int rc = -1;

	if (!rec || !by)
		goto fail;
	for (int i = 1; i < DOC_REASON_COUNT; i++)
		if (r->st->by_reason[i] &&
		    json_object_set_new(by, docmap_reason_name((enum docmap_reason)i),
					json_integer((json_int_t)r->st->by_reason[i])))
			goto fail;
	if (json_object_set_new(rec, "docs_read", json_integer((json_int_t)r->st->docs_read)) ||
	    json_object_set_new(rec, "docs_valid", json_integer((json_int_t)r->st->docs_valid)) ||
	    json_object_set_new(rec, "docs_invalid", json_integer((json_int_t)r->st->docs_invalid)))
		goto fail;
	rc = json_object_set_new(rec, "invalid_by_reason", by);
	by = NULL;              /* json_object_set_new took it, even on failure */
	if (rc)
		goto fail;
	rc = protocol_writer_control(&r->w, rec, err);
	json_decref(rec);
	return rc;
fail:
	json_decref(by);
	json_decref(rec);
	return err_set(err, EX_SOFTWARE, "cannot build the eof record");
}

/*
 * A plain text line as a document: {"<ts>": leading timestamp, "<body>": line}
 * written as JSON text (invalid UTF-8 becomes U+FFFD), then mapped like any line.
 */
static int map_plain(struct run *r, const char *line, size_t len, struct buf *out,
		     enum docmap_reason *reason, struct qw_err *err)
{
	struct buf *j = &r->fixed;

	if (memchr(line, '\0', len)) {
		/* NUL bytes in text become U+FFFD too (JSON documents cannot hold them) */
		struct buf *c = &r->nul;

		buf_reset(c);
		for (size_t i = 0; i < len; i++) {
			if (line[i])
				buf_addc(c, line[i]);
			else
				buf_add(c, "\xef\xbf\xbd", 3);
		}
		line = c->data;
		len = c->len;
	}
	buf_reset(j);
	buf_addc(j, '{');
	if (r->fields) {
		int m = extract_line(r->fields, line, len, j, err);

		if (m <= 0) {
			*reason = DOC_NO_MATCH;
			if (m == 0)
				err_set(err, EX_DATAERR, "the line does not match the pattern");
			return -1;
		}
	}
	if (r->ts_field && !r->pattern_ts) {
		for (size_t i = 0; i < r->ts_field->n_input_formats; i++) {
			int64_t us;

			if (datetime_parse_prefix(r->ts_field->input_formats[i], line, len, &us)) {
				docmap_json_string(j, r->o->cfg->timestamp_field,
						   strlen(r->o->cfg->timestamp_field));
				buf_add(j, ":\"", 2);
				datetime_format_rfc3339(us, j);
				buf_add(j, "\",", 2);
				break;
			}
		}
	}
	if (!r->pattern_body) {
		docmap_json_string(j, r->body_field, strlen(r->body_field));
		buf_addc(j, ':');
		docmap_json_string(j, line, len);
	} else if (j->data[j->len - 1] == ',') {
		j->len--;       /* the captures end with a comma */
	}
	buf_addc(j, '}');
	return docmap_canonical_line(r->dm, j->data, j->len, out, reason, err);
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* The first plain line without a timestamp when the pattern captures
 * none: most likely the time group is not named as the timestamp field
 * (the line's start, where the timestamp is then looked for, rarely has
 * one when a pattern is needed at all), so say it once. */
static void hint_timestamp_group(struct run *r)
{
	const char *ts = r->o->cfg->timestamp_field;
	struct qw_err e = QW_ERR_INIT;

	err_set(&e, 0, "a line has no timestamp: the pattern has no group named '%s' (the "
		"index's timestamp_field), so it is looked for at the start of each line; "
		"name the time group (?<%s>...) to take it from there", ts, ts);
	warn(r, &e);
}

static int handle_line(struct run *r, const struct source_part *p, bool plain, const char *line,
		       size_t len, struct qw_err *err)
{
	struct qw_err derr;
	enum docmap_reason reason = DOC_OK;
	int rc;

	/* QW_ERR_INIT's worth without zeroing the whole message for every line */
	err_clear(&derr);

	r->st->docs_read++;
	r->stats.docs_in = r->st->docs_read;
	r->stats.bytes_in += len + 1;
	buf_reset(&r->doc);
	if (plain) {
		rc = map_plain(r, line, len, &r->doc, &reason, &derr);
	} else {
		rc = docmap_canonical_line(r->dm, line, len, &r->doc, &reason, &derr);
	}
	if (rc) {
		r->st->docs_invalid++;
		r->st->by_reason[reason]++;
		if (plain && reason == DOC_NO_TIMESTAMP && r->fields && !r->pattern_ts &&
		    r->st->by_reason[reason] == 1)
			hint_timestamp_group(r);
		return dead_letter(r, p, reason, derr.msg, line, len, err);
	}
	r->st->docs_valid++;
	return protocol_writer_doc(&r->w, r->doc.data, r->doc.len, err);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool flag(volatile sig_atomic_t *f)
{
	return f && *f;
}

/* Count a line or event over --max-line as read and invalid and
 * dead-letter it with msg. */
static int reject_too_long(struct run *r, const struct source_part *p, const char *msg,
			   const char *line, size_t len, struct qw_err *err)
{
	r->st->docs_read++;
	r->st->docs_invalid++;
	r->st->by_reason[DOC_TOO_LONG]++;
	return dead_letter(r, p, DOC_TOO_LONG, msg, line, len, err);
}

/* The pending multi-line event as one document. */
static int flush_event(struct run *r, const struct source_part *p, struct qw_err *err)
{
	int rc;

	if (!r->ev_pending)
		return 0;
	r->ev_pending = false;
	r->line_pos = r->ev_start;
	if (r->ev.len > r->o->max_line) {
		char msg[128];

		snprintf(msg, sizeof(msg), "event of %zu bytes is longer than %zu bytes", r->ev.len,
			 r->o->max_line);
		rc = reject_too_long(r, p, msg, r->ev.data, r->ev.len, err);
	} else {
		rc = handle_line(r, p, true, r->ev.data, r->ev.len, err);
	}
	buf_reset(&r->ev);
	return rc;
}

/* A plain line with --multiline-start: 1 when it went into the pending
 * event (the caller maps nothing now), 0 when the caller maps it alone. */
static int multiline(struct run *r, const struct source_part *p, const char *line, size_t len,
		     struct qw_err *err)
{
	struct qw_err e = QW_ERR_INIT;
	int m = extract_matches(r->ml_start, line, len, &e);

	if (m < 0)
		m = 1;          /* a regex that cannot say: the line starts an event */
	if (m == 0 && r->ev_pending) {
		buf_addc(&r->ev, '\n');
		buf_add(&r->ev, line, len);
		return 1;
	}
	if (flush_event(r, p, err))
		return -1;
	r->ev_pending = true;
	r->ev_start = p->line_start;
	buf_add(&r->ev, line, len);
	return 1;
}

/* Where a checkpoint record may end now: never inside a pending event. */
static uint64_t checkpoint_to(const struct run *r, const struct source_part *p)
{
	return r->ev_pending ? r->ev_start : p->pos;
}

/* Where reading p starts: a stream goes on from its stored position
 * (r->base), a file on first open from the checkpoint. False when the file
 * cannot be resumed (the failure is noted, the partition is left alone). */
static bool start_partition(struct run *r, struct source *src, struct source_part *p,
			    uint64_t *from)
{
	const struct parse_opts *o = r->o;
	struct qw_err e = QW_ERR_INIT;

	r->base = 0;
	if (p->stream) {
		/* read all of it; its offsets go on from where the stored ones end */
		json_t *v = json_object_get(r->stream_pos, p->id);

		if (!v)
			v = json_object_get(o->checkpoint, p->id);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			r->base = (uint64_t)json_integer_value(v);
	} else if (p->pos == 0 && r->cp) {
		/* resume from the checkpoint on first open */
		struct resume_ctx rc = { src, r->cp, r->heads, r->claimed, o->no_resume };
		struct resume_plan plan;
		struct qw_err notice = QW_ERR_INIT;

		if (resume_partition(&rc, p, &plan, &e) == RESUME_FAILED) {
			resume_plan_free(&plan);
			note_failure(r, &e);
			return false;
		}
		if (resume_notice(&plan, p, &notice))
			warn(r, &notice);
		*from = plan.pos;
		resume_plan_free(&plan);
	}
	return true;
}

/* A checkpoint record from *from to where one may end now (when that is
 * further on); *from moves there. */
static int checkpoint_now(struct run *r, const struct source_part *p, uint64_t *from,
			  struct qw_err *err)
{
	uint64_t to = checkpoint_to(r, p);

	if (to > *from && emit_checkpoint(r, p, *from, to, err))
		return -1;
	*from = to;
	return 0;
}

/* One line of text that fits: strip CR and a leading BOM, settle the format
 * on the first line when it is auto, then map it or add it to the pending
 * event. 1 for a blank line (nothing mapped, nothing counted). */
static int map_text_line(struct run *r, const struct source_part *p, enum parse_format *fmt,
			 const char *line, size_t len, struct qw_err *err)
{
	if (len && line[len - 1] == '\r')
		len--;
	/* a UTF-8 byte order mark at the start of a file is not text */
	if (p->line_start == 0 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		len -= 3;
	}
	if (is_blank(line, len))
		return 1;
	if (*fmt == PARSE_AUTO) {
		size_t i = 0;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		*fmt = (i < len && line[i] == '{') ? PARSE_NDJSON : PARSE_PLAIN;
	}
	r->line_pos = p->line_start;
	if (*fmt != PARSE_NDJSON && r->ml_start)
		return multiline(r, p, line, len, err) < 0 ? -1 : 0;
	return handle_line(r, p, *fmt != PARSE_NDJSON, line, len, err) ? -1 : 0;
}

/* The end of what p holds: its last event, its last checkpoint record and,
 * for a stream, the position the next run goes on from. */
static int finish_partition(struct run *r, struct source_part *p, uint64_t from, struct qw_err *err)
{
	/* a file still written to (growing) may go on with the last event's
	 * next lines: the next run reads it again from its start; elsewhere
	 * the end of what the partition holds ends its last event */
	bool hold = p->growing && r->ev_pending;
	uint64_t to = hold ? r->ev_start : p->pos;

	if (hold) {
		r->ev_pending = false;
		buf_reset(&r->ev);
	} else if (flush_event(r, p, err)) {
		return -1;
	}
	if (to > from && emit_checkpoint(r, p, from, to, err))
		return -1;
	if (p->stream &&
	    json_object_set_new(r->stream_pos, p->id, json_integer((json_int_t)(r->base + p->pos))) < 0)
		return err_set(err, EX_SOFTWARE, "cannot record partition '%s'", p->name);
	return 0;
}

/* Read one partition to its end (or to what is there, following). */
static int run_partition(struct run *r, struct source *src, struct source_part *p,
			 struct qw_err *err)
{
	const struct parse_opts *o = r->o;
	enum parse_format fmt = o->format;
	uint64_t from = p->pos, since = 0;
	struct qw_err e = QW_ERR_INIT;

	if (!start_partition(r, src, p, &from))
		return 0;
	if (json_object_set_new(r->claimed, p->id, json_true()) < 0)
		return err_set(err, EX_SOFTWARE, "cannot record partition '%s'", p->name);
	for (;;) {
		const char *line;
		size_t len;
		enum source_line k;

		if (flag(o->commit_flag)) {
			*o->commit_flag = 0;
			if (checkpoint_now(r, p, &from, err))
				return -1;
			since = 0;
			if (emit_simple(r, REC_COMMIT, err))
				return -1;
		}
		if (flag(o->stop_flag))
			break;
		k = source_read_line(src, &line, &len, &e);
		if (r->wait_failed) {
			*err = r->wait_err;
			return -1;
		}
		if (k == SRC_INTR)
			continue;       /* a signal: look at the flags */
		if (k == SRC_END || k == SRC_AGAIN)
			break;
		if (k == SRC_ERROR) {
			note_failure(r, &e);
			break;
		}
		r->st->bytes += p->line_len + 1;
		if (k == SRC_TOO_LONG) {
			char msg[128];

			r->line_pos = p->line_start;
			snprintf(msg, sizeof(msg), "line of %llu bytes is longer than %zu bytes",
				 (unsigned long long)p->line_len, o->max_line);
			if (reject_too_long(r, p, msg, line, len, err))
				return -1;
		} else {
			uint64_t valid_before = r->st->docs_valid;
			int m = map_text_line(r, p, &fmt, line, len, err);

			if (m < 0)
				return -1;
			if (m > 0)
				continue;
			/* a checkpoint record after every split_num_docs_target-th
			 * valid document (counted over the whole run): qw-index cuts
			 * a num_docs split there, not at the next --checkpoint-every */
			if (r->st->docs_valid != valid_before && o->cfg &&
			    o->cfg->split_num_docs_target &&
			    r->st->docs_valid % o->cfg->split_num_docs_target == 0)
				since = o->checkpoint_every - 1;
		}
		if (++since >= o->checkpoint_every && checkpoint_to(r, p) > from) {
			if (checkpoint_now(r, p, &from, err))
				return -1;
			since = 0;
		}
	}
	return finish_partition(r, p, from, err);
}

/* *out: a new reference to obj without the keys of drop (obj itself when
 * drop is NULL, NULL when obj is). -1 when out of memory. */
static int without_keys(json_t *obj, json_t *drop, json_t **out)
{
	json_t *v;
	const char *key;

	*out = NULL;
	if (!obj || !drop) {
		*out = json_incref(obj);
		return 0;
	}
	*out = json_object();
	if (!*out)
		return -1;
	json_object_foreach(obj, key, v) {
		if (!json_object_get(drop, key) && json_object_set(*out, key, v) < 0) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

/* Compile the pattern and the multi-line start (options first, then the
 * index config's), unless the input is NDJSON; --format regex needs one. */
static int compile_patterns(struct run *r, struct qw_err *err)
{
	const struct parse_opts *o = r->o;
	const char *pat = o->pattern ? o->pattern : o->cfg ? o->cfg->plain_pattern : NULL;
	const char *ml = o->multiline_start ? o->multiline_start :
			 o->cfg ? o->cfg->multiline_start : NULL;
	struct qw_err e = QW_ERR_INIT;

	if (o->format == PARSE_REGEX && !pat)
		return err_set(err, EX_USAGE, "--format regex needs --pattern (or the index config's "
			       "indexing_settings.plain_text.pattern)");
	if (pat && o->format != PARSE_NDJSON) {
		r->fields = extract_new(pat, &e);
		if (!r->fields)
			return err_set(err, o->pattern ? EX_USAGE : EX_DATAERR, "%s '%s': %s",
				       o->pattern ? "--pattern" : "indexing_settings.plain_text.pattern",
				       pat, e.msg);
		r->pattern_ts = o->cfg && o->cfg->timestamp_field &&
				extract_has_field(r->fields, o->cfg->timestamp_field);
		r->pattern_body = extract_has_field(r->fields, r->body_field);
	}
	if (ml && o->format != PARSE_NDJSON) {
		r->ml_start = extract_new_plain(ml, &e);
		if (!r->ml_start)
			return err_set(err, o->multiline_start ? EX_USAGE : EX_DATAERR, "%s '%s': %s",
				       o->multiline_start ? "--multiline-start" :
				       "indexing_settings.plain_text.multiline_start", ml, e.msg);
	}
	return 0;
}

/* Following, with every partition read: flush what was written, then wait
 * for new data or a new partition, answering a commit request meanwhile. */
static int wait_for_input(struct run *r, struct source *src, struct qw_err *err)
{
	const struct parse_opts *o = r->o;
	struct qw_err e = QW_ERR_INIT;

	if (protocol_writer_flush(&r->w, err) || flush_dead_letters(r, err))
		return -1;
	while (!flag(o->stop_flag)) {
		if (flag(o->commit_flag)) {
			*o->commit_flag = 0;
			if (emit_simple(r, REC_COMMIT, err) || protocol_writer_flush(&r->w, err))
				return -1;
		}
		if (source_poll(src, &e) > 0)
			break;
		sleep_ms(POLL_INTERVAL_MS);
	}
	return 0;
}

int parse_run(const struct parse_opts *o, struct parse_stats *st, struct qw_err *err)
{
	struct source_opts so = {
		.max_line = o->max_line, .follow = o->follow, .growing = o->growing,
		.wait_cb = before_wait, .stop_flag = o->stop_flag,
	};
	struct run r;
	struct source *src = NULL;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	memset(st, 0, sizeof(*st));
	r.o = o;
	r.st = st;
	r.dl_fd = -1;
	so.wait_ctx = &r;
	r.source_id = o->source_id ? o->source_id : "files";
	r.body_field = o->body_field ? o->body_field : "body";
	if (o->cfg && o->cfg->timestamp_field)
		r.ts_field = config_find_field(o->cfg, o->cfg->timestamp_field);
	protocol_writer_init(&r.w, o->out_fd, "stdout");
	stage_stats_init(&r.stats, "qw-parse");
	r.w.stats = &r.stats;
	if (compile_patterns(&r, err) < 0)
		goto out;
	if (o->dead_letter) {
		r.dl_fd = open(o->dead_letter, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (r.dl_fd < 0) {
			err_errno(err, EX_CANTCREAT, "cannot open dead-letter file '%s'", o->dead_letter);
			goto out;
		}
	}
	r.dm = docmap_new(o->cfg);
	r.claimed = json_object();
	r.stream_pos = json_object();
	if (!r.claimed || !r.stream_pos || without_keys(o->checkpoint, o->no_resume, &r.cp) < 0 ||
	    without_keys(o->checkpoint_heads, o->no_resume, &r.heads) < 0) {
		err_set(err, EX_SOFTWARE, "cannot set up the checkpoint to resume from");
		goto out;
	}
	src = source_new(o->inputs, o->n_inputs, &so);
	r.src = src;
	for (;;) {
		struct source_part *p;
		struct qw_err e = QW_ERR_INIT;
		int n;

		if (flag(o->stop_flag))
			break;
		n = source_next(src, &p, &e);
		if (n < 0) {
			note_failure(&r, &e);
			continue;
		}
		if (n == 0) {
			if (!o->follow)
				break;
			if (wait_for_input(&r, src, err))
				goto out;
			continue;
		}
		if (run_partition(&r, src, p, err))
			goto out;
	}
	if (emit_eof(&r, err) || protocol_writer_flush(&r.w, err) || flush_dead_letters(&r, err))
		goto out;
	r.stats.docs_in = st->docs_read;
	stage_stats_final(&r.stats);
	rc = 0;
	if (r.worst) {
		*err = r.last;
		err->code = r.worst;
		rc = r.worst;
	}
out:
	source_free(src);
	extract_free(r.ml_start);
	extract_free(r.fields);
	buf_free(&r.ev);
	docmap_free(r.dm);
	json_decref(r.claimed);
	json_decref(r.stream_pos);
	json_decref(r.cp);
	json_decref(r.heads);
	if (r.dl_fd >= 0 && close(r.dl_fd) < 0 && rc == 0)
		rc = err_errno(err, EX_IOERR, "cannot close '%s'", o->dead_letter);
	protocol_writer_free(&r.w);
	buf_free(&r.doc);
	buf_free(&r.dl);
	buf_free(&r.fixed);
	buf_free(&r.nul);
	if (rc < 0 && err->code == 0)
		err->code = EX_SOFTWARE;
	return rc;
}

void parse_summary(const struct parse_stats *st, struct buf *out)
{
	bool first = true;

	buf_addf(out, "%llu docs read, %llu valid, %llu invalid",
		 (unsigned long long)st->docs_read, (unsigned long long)st->docs_valid,
		 (unsigned long long)st->docs_invalid);
	for (int i = 1; i < DOC_REASON_COUNT; i++) {
		if (!st->by_reason[i])
			continue;
		buf_addf(out, "%s%s: %llu", first ? " (" : ", ", docmap_reason_name((enum docmap_reason)i),
			 (unsigned long long)st->by_reason[i]);
		first = false;
	}
	if (!first)
		buf_addc(out, ')');
}
