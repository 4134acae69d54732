#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "mapping/docmap.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "pipeline/indexer.h"
#include "mapping/partition.h"
#include "pipeline/protocol.h"
#include "split/segment.h"
#include "base/xalloc.h"

/* How often (in lines) a busy loop looks at the clock and the force signal. */
#define CHECK_EVERY 256

struct slot {
	uint64_t partition_id;
	struct segment *seg;
	size_t mem;                     /* last segment_mem_bytes() */
};

struct indexer {
	const struct index_config *cfg;
	char *index_id;
	char *source_id;                /* NULL until known */
	char *publish_token;
	char *scratch_dir;
	int64_t drain_ms;
	struct clock clock;             /* the time scale, read at indexer_new() */
	size_t max_line;
	struct docmap *dm;
	struct partition_expr *pexpr;
	struct slot *slots;
	size_t n_slots, cap_slots;
	size_t last_slot;
	size_t n_regular;               /* slots other than the overflow one */
	uint64_t num_docs;              /* in the workbench */
	uint64_t uncovered;             /* docs added since the last checkpoint record */
	size_t mem_total;
	json_t *delta;                  /* {"<partition>": {"from": N, "to": M}} */
	uint64_t invalid_since_cut;
	int64_t first_ms;               /* first doc or checkpoint of the workbench; -1 */
	struct buf dump;
	struct buf stored;              /* docmap_stored_text() */
	struct docmap_values dv;        /* the document's values (scan or collect), partition keys */
	size_t cap_keys_cap;
	bool scan_ok;                   /* the one-pass path may apply */
	struct indexer_stats st;
};

const char *indexer_trigger_name(enum indexer_trigger t)
{
	switch (t) {
	case TRIGGER_NUM_DOCS: return "num_docs";
	case TRIGGER_MEMORY: return "memory";
	case TRIGGER_TIMEOUT: return "timeout";
	case TRIGGER_FORCE: return "force";
	case TRIGGER_DRAINED: return "drained";
	case TRIGGER_NO_MORE_DOCS: return "no_more_docs";
	case TRIGGER_NONE: break;
	}
	return "none";
}

struct indexer *indexer_new(const struct indexer_opts *o, struct qw_err *err)
{
	struct indexer *ix = NULL;
	struct partition_expr *pexpr = NULL;
	const char *index_id = o->index_id ? o->index_id : o->cfg->index_id;

	if (!index_id) {
		err_set(err, EX_DATAERR, "indexer: no index id");
		goto fail;
	}
	if (ids_check_index(index_id, err) < 0)
		goto fail;
	if (o->source_id && ids_check_source(o->source_id, err) < 0)
		goto fail;
	if (!o->scratch_dir) {
		err_set(err, EX_SOFTWARE, "indexer: no scratch directory");
		goto fail;
	}
	pexpr = partition_expr_parse(o->cfg->partition_key, err);
	if (!pexpr)
		goto fail;
	if (fsutil_mkdir_p(o->scratch_dir, 0755, err) < 0)
		goto fail;
	ix = xcalloc(1, sizeof(*ix));
	ix->pexpr = pexpr;
	pexpr = NULL;
	ix->cfg = o->cfg;
	ix->index_id = xstrdup(index_id);
	ix->source_id = o->source_id ? xstrdup(o->source_id) : NULL;
	ix->publish_token = o->publish_token ? xstrdup(o->publish_token) : NULL;
	ix->drain_ms = o->drain_ms;
	clock_init(&ix->clock);
	ix->max_line = o->max_line;
	ix->first_ms = -1;
	ix->delta = json_object();
	/* absolute, so that the records mean the same in any working directory */
	ix->scratch_dir = realpath(o->scratch_dir, NULL);
	if (!ix->scratch_dir) {
		err_errno(err, EX_CANTCREAT, "cannot resolve '%s'", o->scratch_dir);
		goto fail;
	}
	ix->dm = docmap_new(o->cfg);
	if (!ix->dm) {
		err_set(err, EX_SOFTWARE, "cannot build the doc mapping");
		goto fail;
	}
	ix->scan_ok = true;
	partition_expr_top_keys(ix->pexpr, &ix->dv.cap_keys, &ix->dv.n_cap, &ix->cap_keys_cap);
	return ix;
fail:
	indexer_free(ix);
	partition_expr_free(pexpr);
	return NULL;
}

static void drop_segments(struct indexer *ix)
{
	for (size_t i = 0; i < ix->n_slots; i++)
		segment_free(ix->slots[i].seg);
	ix->n_slots = 0;
	ix->n_regular = 0;
	ix->last_slot = 0;
	ix->num_docs = 0;
	ix->mem_total = 0;
}

void indexer_free(struct indexer *ix)
{
	if (!ix)
		return;
	drop_segments(ix);
	free(ix->slots);
	buf_free(&ix->dump);
	buf_free(&ix->stored);
	for (size_t i = 0; i < ix->dv.n_cap; i++)
		free(ix->dv.cap_keys[i]);
	free(ix->dv.cap_keys);
	docmap_values_free(&ix->dv);
	json_decref(ix->delta);
	if (ix->dm)
		docmap_free(ix->dm);
	partition_expr_free(ix->pexpr);
	free(ix->scratch_dir);
	free(ix->publish_token);
	free(ix->source_id);
	free(ix->index_id);
	free(ix);
}

static struct slot *find_slot(struct indexer *ix, uint64_t pid)
{
	struct slot *s;

	if (ix->last_slot < ix->n_slots && ix->slots[ix->last_slot].partition_id == pid)
		return &ix->slots[ix->last_slot];
	for (size_t i = 0; i < ix->n_slots; i++) {
		if (ix->slots[i].partition_id == pid) {
			ix->last_slot = i;
			return &ix->slots[i];
		}
	}
	/* A new partition: beyond max_num_partitions it goes to the overflow one. */
	if (pid != PARTITION_OTHER_ID && ix->n_regular >= ix->cfg->max_num_partitions)
		return find_slot(ix, PARTITION_OTHER_ID);
	XGROW(ix->slots, ix->n_slots + 1, ix->cap_slots);
	s = &ix->slots[ix->n_slots];
	memset(s, 0, sizeof(*s));
	s->partition_id = pid;
	s->seg = segment_new(ix->cfg);
	/* one partition: its doc store is compressed by a second thread
	 * (with many, one thread each would be too many) */
	if (s->seg && partition_expr_is_empty(ix->pexpr))
		segment_compress_in_background(s->seg);
	if (pid != PARTITION_OTHER_ID)
		ix->n_regular++;
	ix->last_slot = ix->n_slots++;
	return s;
}

/* The canonical JSON of the document into ix->dump (what docmap_canonical_line() gives). */
static void dump_doc(struct indexer *ix, json_t *doc)
{
	buf_reset(&ix->dump);
	docmap_serialize(doc, &ix->dump);
}

static bool blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

/*
 * The partition of the document docmap_scan_line() just read: the
 * expression evaluated on an object of its captured top-level keys, which
 * gives what it gives on the whole document (partition_expr_top_keys).
 */
static int scanned_partition(struct indexer *ix, uint64_t *pid)
{
	json_t *obj;

	*pid = 0;
	if (partition_expr_is_empty(ix->pexpr))
		return 0;
	obj = json_object();
	for (size_t i = 0; i < ix->dv.n_cap; i++) {
		const struct docmap_span *c = &ix->dv.captured[i];
		json_t *v;

		if (!c->s || json_object_get(obj, ix->dv.cap_keys[i]))
			continue;
		v = json_loadb(c->s, c->n, JSON_DECODE_ANY, NULL);
		if (!v || json_object_set_new(obj, ix->dv.cap_keys[i], v) < 0) {
			json_decref(obj);
			return -1;
		}
	}
	*pid = partition_expr_eval(ix->pexpr, obj);
	json_decref(obj);
	return 0;
}

/* A document is in s->seg: account for it and look at the limits. */
static void added(struct indexer *ix, struct slot *s, enum indexer_trigger *fired)
{
	size_t before = s->mem;

	s->mem = segment_mem_bytes(s->seg);
	ix->mem_total = ix->mem_total - before + s->mem;
	ix->num_docs++;
	ix->uncovered++;
	ix->st.docs_valid++;
	if (ix->first_ms < 0)
		ix->first_ms = clock_ms(&ix->clock);
	if (ix->num_docs >= ix->cfg->split_num_docs_target)
		*fired = TRIGGER_NUM_DOCS;
	else if (ix->mem_total >= ix->cfg->heap_size)
		*fired = TRIGGER_MEMORY;
}

int indexer_add_line(struct indexer *ix, const char *line, size_t len,
		     enum indexer_trigger *fired, struct qw_err *err)
{
	struct qw_err derr;
	enum docmap_reason reason = DOC_OK;
	json_t *canon = NULL;
	struct slot *s;
	const char *text;
	size_t text_len;
	uint64_t pid;
	bool dumped = false;
	int ret = -1;

	*fired = TRIGGER_NONE;
	if (blank(line, len))
		return 0;
	/* QW_ERR_INIT's worth without zeroing the whole message for every line */
	err_clear(&derr);
	/* Checkpointed input comes from qw-parse, whose lines are canonical by
	 * contract: store them as they are. Anything else is stored in its
	 * canonical form. */
	text = line;
	text_len = len;
	if (ix->scan_ok) {
		/* the one-pass path: no tree, same values (docmap_scan_line) */
		if (!ix->source_id) {
			buf_reset(&ix->dump);
			if (docmap_canonical_line(ix->dm, line, len, &ix->dump, &reason, &derr) < 0) {
				indexer_count_invalid(ix);
				return 0;
			}
			text = ix->dump.data;
			text_len = ix->dump.len;
			dumped = true;
		}
		if (docmap_scan_line(ix->dm, text, text_len, &ix->dv) &&
		    scanned_partition(ix, &pid) == 0) {
			s = find_slot(ix, pid);
			if (docmap_stores_all(ix->dm)) {
				if (segment_add_values(s->seg, &ix->dv, text, text_len, text_len, err) < 0)
					goto out;
				added(ix, s, fired);
				ret = 0;
				goto out;
			}
			ix->scan_ok = false;    /* fields with stored: false need the tree */
		}
	}
	if (docmap_map_line(ix->dm, line, len, &canon, &reason, &derr) < 0) {
		indexer_count_invalid(ix);
		return 0;
	}
	s = find_slot(ix, partition_expr_eval(ix->pexpr, canon));
	if (!ix->source_id && !dumped) {
		dump_doc(ix, canon);
		text = ix->dump.data;
		text_len = ix->dump.len;
	}
	docmap_collect(ix->dm, canon, &ix->dv);
	if (docmap_stored_text(ix->dm, canon, &ix->stored)) {
		if (segment_add_values(s->seg, &ix->dv, buf_str(&ix->stored), ix->stored.len, text_len,
				       err) < 0)
			goto out;
	} else if (segment_add_values(s->seg, &ix->dv, text, text_len, text_len, err) < 0) {
		goto out;
	}
	added(ix, s, fired);
	ret = 0;
out:
	json_decref(canon);
	return ret;
}

void indexer_count_invalid(struct indexer *ix)
{
	ix->invalid_since_cut++;
	ix->st.docs_invalid++;
}

static int get_position(json_t *rec, const char *key, json_int_t *out, struct qw_err *err)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return err_set(err, EX_DATAERR, "checkpoint record: \"%s\" is not a position", key);
	*out = json_integer_value(v);
	return 0;
}

int indexer_checkpoint(struct indexer *ix, json_t *rec, struct qw_err *err)
{
	const char *source = json_string_value(json_object_get(rec, "source"));
	const char *part = json_string_value(json_object_get(rec, "partition"));
	json_int_t from, to;
	json_t *cur;

	if (!part)
		return err_set(err, EX_DATAERR, "checkpoint record: no \"partition\" string");
	if (get_position(rec, "from", &from, err) < 0 || get_position(rec, "to", &to, err) < 0)
		return -1;
	if (to < from)
		return err_set(err, EX_DATAERR,
			       "checkpoint record for '%s': \"to\" %lld is before \"from\" %lld", part,
			       (long long)to, (long long)from);
	if (source) {
		if (!ix->source_id) {
			if (ids_check_source(source, err) < 0)
				return err_prefix(err, "checkpoint record");
			ix->source_id = xstrdup(source);
		} else if (strcmp(source, ix->source_id) != 0) {
			return err_set(err, EX_DATAERR,
				       "checkpoint record of source '%s' in a pipeline of source '%s'",
				       source, ix->source_id);
		}
	}
	cur = json_object_get(ix->delta, part);
	if (cur) {
		json_int_t prev_to = json_integer_value(json_object_get(cur, "to"));

		if (from != prev_to)
			return err_set(err, EX_DATAERR,
				       "checkpoint record for '%s' starts at %lld, previous one ended at %lld",
				       part, (long long)from, (long long)prev_to);
		json_object_set_new(cur, "to", json_integer(to));
	} else {
		cur = json_pack("{s:I,s:I}", "from", from, "to", to);
		json_object_set_new(ix->delta, part, cur);
	}
	/* the fingerprint of the partition's first bytes travels with its position */
	if (json_is_string(json_object_get(rec, "head")))
		json_object_set(cur, "head", json_object_get(rec, "head"));
	ix->uncovered = 0;
	if (ix->first_ms < 0)
		ix->first_ms = clock_ms(&ix->clock);
	return 0;
}

uint64_t indexer_num_docs(const struct indexer *ix)
{
	return ix->num_docs;
}

bool indexer_cut_ready(const struct indexer *ix)
{
	return !ix->source_id || ix->uncovered == 0;
}

size_t indexer_num_partitions(const struct indexer *ix)
{
	return ix->n_slots;
}

bool indexer_pending(const struct indexer *ix)
{
	return ix->num_docs > 0 || json_object_size(ix->delta) > 0;
}

int64_t indexer_timeout_deadline(const struct indexer *ix)
{
	if (ix->first_ms < 0)
		return -1;
	return ix->first_ms + ix->cfg->commit_timeout_secs * 1000;
}

void indexer_get_stats(const struct indexer *ix, struct indexer_stats *st)
{
	*st = ix->st;
}

static json_t *split_entry(struct slot *s, const char *dir)
{
	int64_t lo, hi;
	json_t *tags = segment_tags(s->seg);
	json_t *tr = segment_time_range(s->seg, &lo, &hi)
		? json_pack("{s:I,s:I}", "start", (json_int_t)lo, "end", (json_int_t)hi)
		: json_null();

	if (!tags)
		tags = json_array();
	return json_pack("{s:s,s:I,s:I,s:o,s:I,s:o}",
			 "dir", dir,
			 "num_docs", (json_int_t)segment_num_docs(s->seg),
			 "uncompressed_bytes", (json_int_t)segment_uncompressed_bytes(s->seg),
			 "time_range", tr,
			 "partition_id", (json_int_t)s->partition_id,
			 "tags", tags);
}

static void reset_workbench(struct indexer *ix)
{
	drop_segments(ix);
	json_object_clear(ix->delta);
	ix->uncovered = 0;
	ix->invalid_since_cut = 0;
	ix->first_ms = -1;
}

int indexer_cut(struct indexer *ix, enum indexer_trigger trigger, json_t **rec,
		struct qw_err *err)
{
	json_t *splits = NULL, *r = NULL;
	char **dirs = NULL;
	size_t n_dirs = 0;
	uint64_t total = 0;
	int ret = -1;

	*rec = NULL;
	if (!indexer_pending(ix))
		return 0;
	splits = json_array();
	dirs = xcalloc(ix->n_slots + 1, sizeof(*dirs));
	for (size_t i = 0; i < ix->n_slots; i++) {
		struct slot *s = &ix->slots[i];
		char ulid[ULID_LEN + 1];
		char name[ULID_LEN + 8];
		char *dir;

		if (segment_num_docs(s->seg) == 0)
			continue;
		if (ids_ulid_new(ulid, err) < 0)
			goto out;
		snprintf(name, sizeof(name), "seg-%s", ulid);
		dir = fsutil_join(ix->scratch_dir, name);
		if (mkdir(dir, 0755) < 0) {
			err_errno(err, EX_CANTCREAT, "cannot create '%s'", dir);
			free(dir);
			goto out;
		}
		dirs[n_dirs++] = dir;
		if (segment_serialize(s->seg, dir, err) < 0) {
			err_prefix(err, "cannot serialize split into '%s'", dir);
			goto out;
		}
		json_array_append_new(splits, split_entry(s, dir));
		total += segment_num_docs(s->seg);
	}
	r = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:I,s:I,s:O,s:o}",
		      "type", REC_SPLIT,
		      "index", ix->index_id,
		      "source", ix->source_id,
		      "publish_token", ix->publish_token,
		      "trigger", indexer_trigger_name(trigger),
		      "num_docs", (json_int_t)total,
		      "docs_invalid", (json_int_t)ix->invalid_since_cut,
		      "splits", splits,
		      "checkpoint_delta", json_deep_copy(ix->delta));
	if (!r) {
		err_set(err, EX_SOFTWARE, "cannot build the split record");
		goto out;
	}
	ix->st.splits += n_dirs;
	ix->st.cuts++;
	reset_workbench(ix);
	*rec = r;
	ret = 0;
out:
	if (ret < 0) {
		for (size_t i = 0; i < n_dirs; i++)
			fsutil_rm_rf(dirs[i], NULL);
	}
	for (size_t i = 0; i < n_dirs; i++)
		free(dirs[i]);
	free(dirs);
	json_decref(splits);
	return ret;
}

/* ------------------------------------------------------------ the loop */

struct loop {
	struct indexer *ix;
	struct protocol_writer w;
	volatile sig_atomic_t *force;
	sigset_t usr1, old_mask;
	enum indexer_trigger pending;   /* a cut waiting for its checkpoint record */
};

static int emit_cut(struct loop *l, enum indexer_trigger t, struct qw_err *err)
{
	json_t *rec = NULL;
	int ret;

	/* Every document of a split must be covered by the record's delta:
	 * wait for the checkpoint record that covers the last documents. */
	if (t != TRIGGER_NO_MORE_DOCS && !indexer_cut_ready(l->ix)) {
		if (l->pending == TRIGGER_NONE)
			l->pending = t;
		return 0;
	}
	l->pending = TRIGGER_NONE;
	if (indexer_cut(l->ix, t, &rec, err) < 0)
		return -1;
	if (!rec)
		return 0;
	ret = protocol_writer_control(&l->w, rec, err);
	json_decref(rec);
	if (ret == 0)
		ret = protocol_writer_flush(&l->w, err);
	return ret;
}

/* Let a pending SIGUSR1 in, then act on the flag. */
static int check_force(struct loop *l, struct qw_err *err)
{
	if (!l->force)
		return 0;
	sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
	sigprocmask(SIG_BLOCK, &l->usr1, NULL);
	if (*l->force) {
		*l->force = 0;
		return emit_cut(l, TRIGGER_FORCE, err);
	}
	return 0;
}

static int check_timeout(struct loop *l, struct qw_err *err)
{
	int64_t dl = indexer_timeout_deadline(l->ix);

	if (!l->pending && dl >= 0 && clock_ms(&l->ix->clock) >= dl)
		return emit_cut(l, TRIGGER_TIMEOUT, err);
	return 0;
}

/* Returns 1 when the `eof` record was seen (stop), 0 to go on, -1 on error. */
static int on_control(struct loop *l, const char *line, size_t len, struct qw_err *err)
{
	struct qw_err perr = QW_ERR_INIT;
	json_t *rec = protocol_parse_control(line, len, &perr);
	const char *type;
	int ret = 0;

	if (!rec) {
		indexer_count_invalid(l->ix);
		return 0;
	}
	type = protocol_type(rec);
	if (strcmp(type, REC_CHECKPOINT) == 0) {
		ret = indexer_checkpoint(l->ix, rec, err);
		if (ret == 0 && l->pending != TRIGGER_NONE)
			ret = emit_cut(l, l->pending, err);
	} else if (strcmp(type, REC_COMMIT) == 0) {
		ret = emit_cut(l, TRIGGER_FORCE, err);
	} else if (strcmp(type, REC_EOF) == 0) {
		ret = emit_cut(l, TRIGGER_NO_MORE_DOCS, err);
		if (ret == 0)
			ret = protocol_writer_control_line(&l->w, line, len, err);
		if (ret == 0)
			ret = 1;
	} else {
		ret = protocol_writer_control_line(&l->w, line, len, err);
	}
	json_decref(rec);
	return ret;
}

static int wait_input(struct loop *l, int fd, int64_t idle_since, struct qw_err *err)
{
	struct indexer *ix = l->ix;
	int64_t now = clock_ms(&ix->clock);
	/* with a cut pending, only a checkpoint record (input) can move on */
	int64_t dl = l->pending ? -1 : indexer_timeout_deadline(ix);
	int64_t drain_dl = (!l->pending && ix->num_docs > 0 && ix->drain_ms > 0)
		? idle_since + ix->drain_ms : -1;
	int64_t next = -1;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	int rc;

	if (dl >= 0 && now >= dl)
		return emit_cut(l, TRIGGER_TIMEOUT, err);
	if (drain_dl >= 0 && now >= drain_dl)
		return emit_cut(l, TRIGGER_DRAINED, err);
	if (dl >= 0)
		next = dl;
	if (drain_dl >= 0 && (next < 0 || drain_dl < next))
		next = drain_dl;
	if (next >= 0) {
		int ms = clock_wait_ms(&ix->clock, next - now);

		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		tsp = &ts;
	}
	if (protocol_writer_flush(&l->w, err) < 0)
		return -1;
	rc = ppoll(&pfd, 1, tsp, l->force ? &l->old_mask : NULL);
	if (rc < 0 && errno != EINTR)
		return err_errno(err, EX_IOERR, "cannot poll the input");
	return 0;
}

int indexer_run(struct indexer *ix, int in_fd, int out_fd, volatile sig_atomic_t *force,
		struct qw_err *err)
{
	struct protocol_reader r;
	struct stage_stats stats;
	struct loop l;
	int flags = fcntl(in_fd, F_GETFL);
	int64_t idle_since = -1;
	unsigned busy = 0;
	int ret = -1;

	memset(&l, 0, sizeof(l));
	l.ix = ix;
	l.force = force;
	if (flags < 0)
		return err_errno(err, EX_IOERR, "cannot read the input");
	if (!(flags & O_NONBLOCK) && fcntl(in_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return err_errno(err, EX_IOERR, "cannot make the input non-blocking");
	if (force) {
		sigemptyset(&l.usr1);
		sigaddset(&l.usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &l.usr1, &l.old_mask);
	}
	protocol_reader_init(&r, in_fd, "standard input", ix->max_line);
	protocol_writer_init(&l.w, out_fd, "standard output");
	stage_stats_init(&stats, "qw-index");
	r.stats = &stats;
	l.w.stats = &stats;
	for (;;) {
		enum indexer_trigger fired = TRIGGER_NONE;
		const char *line;
		size_t len;
		enum line_kind kind;
		int rc = 0;

		if (++busy >= CHECK_EVERY) {
			busy = 0;
			if (check_force(&l, err) < 0 || check_timeout(&l, err) < 0)
				goto out;
		}
		kind = protocol_read_line(&r, &line, &len, err);
		if (kind != LINE_AGAIN)
			idle_since = -1;
		switch (kind) {
		case LINE_DOC:
			rc = indexer_add_line(ix, line, len, &fired, err);
			if (rc == 0 && fired != TRIGGER_NONE)
				rc = emit_cut(&l, fired, err);
			break;
		case LINE_CONTROL:
			rc = on_control(&l, line, len, err);
			if (rc == 1) {
				ret = 0;
				goto out;
			}
			break;
		case LINE_TOO_LONG:
			indexer_count_invalid(ix);
			break;
		case LINE_EOF:
			if (emit_cut(&l, TRIGGER_NO_MORE_DOCS, err) < 0)
				goto out;
			ret = 0;
			goto out;
		case LINE_AGAIN:
			busy = 0;
			if (check_force(&l, err) < 0)
				goto out;
			if (idle_since < 0)
				idle_since = clock_ms(&ix->clock);
			{
				uint64_t t0 = stage_stats_now_us();

				rc = wait_input(&l, in_fd, idle_since, err);
				stats.wait_input_us += stage_stats_now_us() - t0;
			}
			break;
		case LINE_ERROR:
			goto out;
		}
		if (rc < 0)
			goto out;
	}
out:
	if (ret == 0 && protocol_writer_flush(&l.w, err) < 0)
		ret = -1;
	if (ret == 0)
		stage_stats_final(&stats);
	protocol_writer_free(&l.w);
	protocol_reader_free(&r);
	if (force)
		sigprocmask(SIG_SETMASK, &l.old_mask, NULL);
	if (!(flags & O_NONBLOCK))
		fcntl(in_fd, F_SETFL, flags);
	return ret;
}
