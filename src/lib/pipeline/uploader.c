/*
 * uploader: stage, store with bounded concurrency, emit in order
 * (see uploader.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/ids.h"
#include "store/metastore.h"
#include "pipeline/protocol.h"
#include "store/storage.h"
#include "pipeline/uploader.h"
#include "base/xalloc.h"

/* One record waiting to be emitted, in arrival order. */
struct entry {
	json_t *rec;        /* uploaded record to emit, or NULL for a raw line */
	char *line;         /* control line passed through (without RS) */
	size_t line_len;
	size_t pending;     /* uploads not finished yet */
};

struct job {
	struct storage *st;     /* borrowed */
	size_t seq;             /* entry sequence number */
	char *src;
	char name[40];
	char split_id[ULID_LEN + 1];
	long delay_ms;
	const char *hold;       /* test knob: wait while this path exists */
	pthread_t thread;
	bool running;
	int done_fd;
	struct qw_err err;
	int ret;
};

struct up {
	const struct uploader_opts *o;
	struct metastore *ms;
	char *st_index;             /* index of the cached storage */
	struct storage *st;
	struct entry *q;            /* queue; q[0] has sequence number base */
	size_t qlen, qcap, base;
	struct job **waiting;       /* jobs not started yet, FIFO */
	size_t nwait, wcap, whead;
	size_t inflight;
	size_t started;             /* uploads started so far (delay knob) */
	int done_pipe[2];
	struct protocol_writer w;
};

static long delay_for(size_t i)
{
#ifdef QW_TEST_KNOBS
	const char *s = getenv("QW_TEST_UPLOAD_DELAY_MS");
#else
	const char *s = NULL; /* a release build has no test knobs */
#endif
	size_t k = 0;

	if (!s || !*s)
		return 0;
	if (!strchr(s, ',')) { /* one value: every upload */
		long v = strtol(s, NULL, 10);

		return v > 0 && v < 600000 ? v : 0;
	}
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s)
			return 0;
		if (k == i)
			return v > 0 && v < 600000 ? v : 0;
		k++;
		s = end;
		if (*s == ',')
			s++;
		else
			break;
	}
	return 0;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	ssize_t n;

	if (j->delay_ms > 0) {
		struct timespec ts = { j->delay_ms / 1000, (j->delay_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	while (j->hold && access(j->hold, F_OK) == 0) {
		struct timespec ts = { 0, 10 * 1000000L };

		nanosleep(&ts, NULL);
	}
	j->ret = storage_put_file(j->st, j->name, j->src, true, &j->err);
	do {
		n = write(j->done_fd, &j, sizeof(j));
	} while (n < 0 && errno == EINTR);
	return NULL;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->src);
	free(j);
}

static struct storage *storage_for(struct up *u, const char *index_id, struct qw_err *err)
{
	if (u->st && !strcmp(u->st_index, index_id))
		return u->st;
	if (u->inflight > 0 || u->nwait > u->whead) {
		/* Jobs may still borrow the cached storage: keep it, open another
		 * only when nothing runs (an index change mid-stream is rare). */
		err_set(err, EX_DATAERR, "records for two indexes ('%s', '%s') in one stream",
			u->st_index, index_id);
		return NULL;
	}
	storage_close(u->st);
	free(u->st_index);
	u->st = NULL;
	u->st_index = NULL;
	if (ids_check_index(index_id, err) < 0)
		return NULL;
	u->st = storage_open_index(u->ms, index_id, err);
	if (!u->st)
		return NULL;
	u->st_index = xstrdup(index_id);
	return u->st;
}

static struct entry *push_entry(struct up *u)
{
	struct entry *e;

	XGROW(u->q, u->qlen + 1, u->qcap);
	e = &u->q[u->qlen++];
	memset(e, 0, sizeof(*e));
	return e;
}

static const char *rec_str(json_t *rec, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v ? v : dflt;
}

static int handle_packaged(struct up *u, json_t *rec, struct qw_err *err)
{
	const char *index_id = rec_str(rec, "index", u->o->target.index_id);
	const char *token = rec_str(rec, "publish_token", u->o->target.publish_token);
	json_t *splits = json_object_get(rec, "splits");
	json_t *metas = NULL, *out = NULL, *osplits;
	struct storage *st;
	struct entry *e;
	size_t seq, i;
	json_t *sp;
	int ret = -1;

	if (!index_id) {
		err_set(err, EX_DATAERR, "packaged record without \"index\" (and no --index)");
		goto out;
	}
	if (!token) {
		err_set(err, EX_DATAERR,
			"packaged record without \"publish_token\" (and no --publish-token)");
		goto out;
	}
	if (!json_is_array(splits)) {
		err_set(err, EX_DATAERR, "packaged record without a \"splits\" array");
		goto out;
	}
	metas = json_array();
	json_array_foreach(splits, i, sp) {
		const char *id = rec_str(sp, "split_id", NULL);
		json_t *md = json_object_get(sp, "metadata");
		json_t *m;

		if (!id || !ids_is_ulid(id)) {
			err_set(err, EX_DATAERR, "packaged split %zu: bad or missing \"split_id\"", i);
			goto out;
		}
		if (!json_is_string(json_object_get(sp, "path"))) {
			err_set(err, EX_DATAERR, "packaged split '%s': missing \"path\"", id);
			goto out;
		}
		m = json_is_object(md) ? json_deep_copy(md) : json_object();
		json_object_set_new(m, "split_id", json_string(id));
		json_array_append_new(metas, m);
	}
	st = storage_for(u, index_id, err);
	if (!st)
		goto out;
	/* Staged before any byte is stored. */
	if (json_array_size(metas) > 0 &&
	    metastore_stage_splits(u->ms, index_id, token, metas, err) < 0) {
		err_prefix(err, "cannot stage splits");
		goto out;
	}
	out = json_deep_copy(rec);
	json_object_set_new(out, "type", json_string(REC_UPLOADED));
	osplits = json_object_get(out, "splits");
	seq = u->base + u->qlen;
	e = push_entry(u);
	e->rec = out;
	json_array_foreach(osplits, i, sp) {
		struct job *j = xcalloc(1, sizeof(*j));
		const char *id = rec_str(sp, "split_id", "");
		char *uri;

		j->st = st;
		j->seq = seq;
		j->src = xstrdup(rec_str(sp, "path", ""));
		snprintf(j->split_id, sizeof(j->split_id), "%s", id);
		storage_split_name(id, j->name);
		j->done_fd = u->done_pipe[1];
		uri = storage_uri(st, j->name, err);
		if (!uri) {
			job_free(j);
			goto out_queued;
		}
		json_object_del(sp, "path");
		json_object_set_new(sp, "uri", json_string(uri));
		free(uri);
		XGROW(u->waiting, u->nwait + 1, u->wcap);
		u->waiting[u->nwait++] = j;
		e->pending++;
	}
	ret = 0;
out_queued:
	out = NULL; /* owned by the queue */
out:
	json_decref(out);
	json_decref(metas);
	return ret;
}

/* One control record (protocol_read_control() has checked the line). */
static int handle_record(struct up *u, json_t *rec, const char *line, size_t len, uint64_t lineno,
			 struct qw_err *err)
{
	if (!strcmp(protocol_type(rec), REC_PACKAGED)) {
		if (handle_packaged(u, rec, err) < 0)
			return err_prefix(err, "line %" PRIu64, lineno);
	} else {
		struct entry *e = push_entry(u);

		e->line = xmemdup(line, len);
		e->line_len = len;
	}
	return 0;
}

static int start_jobs(struct up *u, struct qw_err *err)
{
	while (u->whead < u->nwait && u->inflight < u->o->max_concurrent) {
		struct job *j = u->waiting[u->whead];
		int rc;

		j->delay_ms = delay_for(u->started);
		if (u->started > 0) {
#ifdef QW_TEST_KNOBS
			const char *h = getenv("QW_TEST_UPLOAD_HOLD");
#else
			const char *h = NULL;
#endif

			j->hold = h && *h ? h : NULL;
		}
		rc = pthread_create(&j->thread, NULL, job_main, j);
		if (rc != 0) {
			errno = rc;
			return err_errno(err, EX_OSERR, "cannot start an upload thread");
		}
		j->running = true;
		u->waiting[u->whead++] = NULL;
		u->inflight++;
		u->started++;
	}
	if (u->whead == u->nwait)
		u->whead = u->nwait = 0;
	return 0;
}

static int emit_ready(struct up *u, struct qw_err *err)
{
	size_t i = 0;
	int ret = 0;

	while (i < u->qlen && u->q[i].pending == 0) {
		struct entry *e = &u->q[i];

		if (ret == 0) {
			if (e->rec)
				ret = protocol_writer_control(&u->w, e->rec, err);
			else
				ret = protocol_writer_control_line(&u->w, e->line, e->line_len, err);
		}
		json_decref(e->rec);
		free(e->line);
		i++;
	}
	if (i > 0) {
		memmove(u->q, u->q + i, (u->qlen - i) * sizeof(*u->q));
		u->qlen -= i;
		u->base += i;
	}
	if (ret == 0)
		ret = protocol_writer_flush(&u->w, err);
	return ret;
}

/* Collect finished uploads from the done pipe; blocks when block is set. */
static int reap_jobs(struct up *u, struct qw_err *err)
{
	struct job *js[64];
	ssize_t n;
	int ret = 0;

	do {
		n = read(u->done_pipe[0], js, sizeof(js));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_errno(err, EX_OSERR, "cannot read the upload completion pipe");
	for (size_t i = 0; i < (size_t)n / sizeof(js[0]); i++) {
		struct job *j = js[i];

		pthread_join(j->thread, NULL);
		u->inflight--;
		if (j->ret < 0) {
			if (ret == 0 && err) {
				*err = j->err;
				err_prefix(err, "cannot upload split '%s'", j->split_id);
			}
			ret = -1;
		} else {
			if (u->o->verbose)
				fprintf(stderr, "%s: uploaded %s\n", u->o->prog ? u->o->prog : "qw-upload",
					j->split_id);
			if (j->seq >= u->base && j->seq - u->base < u->qlen)
				u->q[j->seq - u->base].pending--;
		}
		job_free(j);
	}
	return ret;
}

static bool has_buffered_line(const struct protocol_reader *r)
{
	size_t avail = r->in.len - r->start;

	if (r->eof)
		return avail > 0;
	return avail > 0 && memchr(r->in.data + r->start, '\n', avail) != NULL;
}

/* Check the options, then open the completion pipe and the metastore and
 * check --index; u is initialised, so up_free can undo a partial open. */
static int up_open(struct up *u, struct qw_err *err)
{
	const struct uploader_opts *o = u->o;

	if (o->max_concurrent < 1)
		return err_set(err, EX_USAGE, "max concurrent uploads must be at least 1");
	if (pipe2(u->done_pipe, O_CLOEXEC) < 0)
		return err_errno(err, EX_OSERR, "cannot create a pipe");
	u->ms = stage_target_open(&o->target, err);
	if (!u->ms)
		return -1;
	return 0;
}

/* Handle the control lines at hand while every upload could start; sets
 * *in_eof at the end of the input. */
static int read_control_lines(struct up *u, struct protocol_reader *r, uint64_t *lineno, bool *in_eof,
			      struct qw_err *err)
{
	do {
		const char *line;
		size_t len;
		json_t *rec;
		enum line_kind k = protocol_read_control(r, lineno, &line, &len, &rec, err);
		int rc;

		if (k == LINE_EOF) {
			*in_eof = true;
			return 0;
		}
		if (k == LINE_ERROR)
			return -1;
		if (k == LINE_AGAIN)
			return 0;
		rc = handle_record(u, rec, line, len, *lineno, err);
		json_decref(rec);
		if (rc < 0)
			return -1;
	} while (has_buffered_line(r) && u->whead == u->nwait);
	return 0;
}

/* Wait for the uploads in flight after a failure; their errors are secondary. */
static void drain_jobs(struct up *u)
{
	while (u->inflight > 0) {
		struct qw_err e2 = QW_ERR_INIT;

		reap_jobs(u, &e2);
	}
}

/* Free the jobs not started, the entries not emitted, the storage, the
 * metastore, the completion pipe and the writer. */
static void up_free(struct up *u)
{
	for (size_t i = u->whead; i < u->nwait; i++)
		job_free(u->waiting[i]);
	free(u->waiting);
	for (size_t i = 0; i < u->qlen; i++) {
		json_decref(u->q[i].rec);
		free(u->q[i].line);
	}
	free(u->q);
	storage_close(u->st);
	free(u->st_index);
	if (u->ms)
		metastore_close(u->ms);
	if (u->done_pipe[0] >= 0)
		close(u->done_pipe[0]);
	if (u->done_pipe[1] >= 0)
		close(u->done_pipe[1]);
	protocol_writer_free(&u->w);
}

int uploader_run(const struct uploader_opts *o, int in_fd, int out_fd, struct qw_err *err)
{
	struct up u;
	struct protocol_reader r;
	struct stage_stats stats;
	bool in_eof = false;
	uint64_t lineno = 0;
	int ret = -1;

	memset(&u, 0, sizeof(u));
	u.o = o;
	u.done_pipe[0] = u.done_pipe[1] = -1;
	protocol_reader_init(&r, in_fd, "standard input", PROTOCOL_MAX_CONTROL);
	protocol_writer_init(&u.w, out_fd, "standard output");
	stage_stats_init(&stats, "qw-upload");
	r.stats = &stats;
	u.w.stats = &stats;
	if (up_open(&u, err) < 0)
		goto out;
	for (;;) {
		struct pollfd pfd[2];
		nfds_t nfd = 0;
		int in_slot = -1, done_slot = -1;
		uint64_t wait_t0;
		bool in_ready;

		if (start_jobs(&u, err) < 0)
			goto drain;
		if (emit_ready(&u, err) < 0)
			goto drain;
		if (in_eof && u.qlen == 0 && u.inflight == 0 && u.whead == u.nwait)
			break;
		/* Backpressure: read more only when every upload could start. A
		 * whole line already in the reader's buffer is handled first: the
		 * pipe may hold nothing more, and poll would wait for ever. */
		in_ready = !in_eof && u.whead == u.nwait && has_buffered_line(&r);
		if (!in_eof && u.whead == u.nwait && !in_ready) {
			pfd[nfd].fd = in_fd;
			pfd[nfd].events = POLLIN;
			in_slot = (int)nfd++;
		}
		if (u.inflight > 0) {
			pfd[nfd].fd = u.done_pipe[0];
			pfd[nfd].events = POLLIN;
			done_slot = (int)nfd++;
		}
		if (nfd == 0 && !in_ready) {
			err_set(err, EX_SOFTWARE, "uploader: nothing to wait for");
			goto drain;
		}
		/* With no upload in flight a wait in poll is a wait for input
		 * (the stage is idle); with uploads in flight it is the
		 * uploads' time, counted as busy. */
		wait_t0 = in_slot >= 0 && done_slot < 0 ? stage_stats_now_us() : 0;
		if (poll(pfd, nfd, in_ready ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			err_errno(err, EX_OSERR, "poll");
			goto drain;
		}
		if (wait_t0)
			stats.wait_input_us += stage_stats_now_us() - wait_t0;
		if (done_slot >= 0 && (pfd[done_slot].revents & (POLLIN | POLLHUP))) {
			if (reap_jobs(&u, err) < 0)
				goto drain;
		}
		if (in_ready || (in_slot >= 0 && (pfd[in_slot].revents & (POLLIN | POLLHUP | POLLERR)))) {
			if (read_control_lines(&u, &r, &lineno, &in_eof, err) < 0)
				goto drain;
		}
	}
	stage_stats_final(&stats);
	ret = 0;
	goto out;
drain:
	drain_jobs(&u);
out:
	up_free(&u);
	protocol_reader_free(&r);
	return ret;
}
