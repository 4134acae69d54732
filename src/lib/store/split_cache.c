/*
 * split_cache: local copies of s3:// splits (see split_cache.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "store/s3.h"
#include "store/split_cache.h"
#include "base/xalloc.h"

int split_cache_is_remote(const char *path)
{
	return path && !strncmp(path, "s3://", 5);
}

/* "<fnv1a-64 of the uri>-<last path component>", a flat, safe file name. */
static char *cache_name(const char *uri)
{
	const char *base = strrchr(uri, '/');
	uint64_t h = 1469598103934665603ull;
	struct buf b = BUF_INIT;

	for (const char *p = uri; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ull;
	}
	buf_addf(&b, "%016" PRIx64 "-", h);
	for (const char *p = base ? base + 1 : uri; *p; p++)
		buf_addc(&b, (*p == '.' && p == (base ? base + 1 : uri)) || *p == '/' ? '_' : *p);
	return buf_detach(&b, NULL);
}

struct entry {
	char *path;
	time_t atime;
	uint64_t size;
};

static int by_atime(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->atime < y->atime ? -1 : x->atime > y->atime;
}

/* Remove least recently used copies until the directory fits max bytes;
 * keep is the copy just made. Best effort: a racing process may remove
 * the same files. */
static void evict(const char *dir, const char *keep, uint64_t max)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.' || strstr(de->d_name, ATOMICFILE_INFIX))
			continue;
		p = fsutil_join(dir, de->d_name);
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n].path = p;
		/* the access time of a read may not be kept (noatime): mtime is
		 * refreshed on each use below */
		v[n].atime = st.st_mtime;
		v[n].size = (uint64_t)st.st_size;
		total += v[n].size;
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), by_atime);
	for (size_t i = 0; i < n && total > max; i++) {
		if (!strcmp(v[i].path, keep))
			continue;
		if (unlink(v[i].path) == 0 || errno == ENOENT)
			total -= v[i].size;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/* Into dst atomically (dst != NULL) or into fd. */
static int download(const char *uri, const char *dst, int fd, struct qw_err *err)
{
	char *bucket = NULL, *key = NULL;
	struct s3_client *c = NULL;
	int ret = -1;

	if (s3_parse_uri(uri, &bucket, &key, err) < 0)
		goto out;
	c = s3_client_new(err);
	if (!c)
		goto out;
	ret = dst ? s3_get_file(c, bucket, key, dst, err) : s3_get_fd(c, bucket, key, fd, err);
out:
	s3_client_free(c);
	free(key);
	free(bucket);
	return ret;
}

int split_cache_open(const char *uri, struct qw_err *err)
{
	const char *dir = getenv("QW_SPLIT_CACHE_DIR");
	char *name = NULL, *path = NULL;
	uint64_t max = 10ull << 30;
	int fd = -1;

	if (dir && *dir) {
		const char *m = getenv("QW_SPLIT_CACHE_MAX_BYTES");

		if (m && *m) {
			char *end;

			errno = 0;
			max = strtoull(m, &end, 10);
			if (errno || *end || m[0] == '-') {
				err_set(err, EX_USAGE, "QW_SPLIT_CACHE_MAX_BYTES: '%s' is not a byte count",
					m);
				goto out;
			}
		}
		if (fsutil_mkdir_p(dir, 0755, err) < 0)
			goto out;
		name = cache_name(uri);
		path = fsutil_join(dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			/* a hit: mark it recently used for eviction */
			if (futimens(fd, NULL) < 0) {
				/* read-only cache: still a valid copy */
			}
			goto out;
		}
		if (download(uri, path, -1, err) < 0)
			goto out;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_errno(err, EX_IOERR, "cannot open cached split '%s'", path);
			goto out;
		}
		evict(dir, path, max);
	} else {
		struct buf b = BUF_INIT;
		const char *tmp = getenv("TMPDIR");

		/* an unlinked temp: the fd is its only name, nothing is left behind */
		buf_addf(&b, "%s/qw-split-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		path = buf_detach(&b, NULL);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0) {
			err_errno(err, EX_CANTCREAT, "cannot create '%s'", path);
			goto out;
		}
		if (unlink(path) < 0) {
			err_errno(err, EX_IOERR, "cannot remove '%s'", path);
			close(fd);
			fd = -1;
			goto out;
		}
		if (download(uri, NULL, fd, err) < 0) {
			close(fd);
			fd = -1;
		}
	}
out:
	free(path);
	free(name);
	return fd;
}

int split_cache_enabled(void)
{
	const char *dir = getenv("QW_SPLIT_CACHE_DIR");

	return dir && *dir;
}

struct split_remote {
	struct s3_client *client;
	char *bucket, *key;
	struct buf chunk;
};

struct split_remote *split_remote_open(const char *uri, uint64_t *size, struct qw_err *err)
{
	struct split_remote *s = xcalloc(1, sizeof(*s));
	int r;

	s->chunk = (struct buf)BUF_INIT;
	if (s3_parse_uri(uri, &s->bucket, &s->key, err) < 0)
		goto fail;
	s->client = s3_client_new(err);
	if (!s->client)
		goto fail;
	r = s3_head(s->client, s->bucket, s->key, size, err);
	if (r < 0)
		goto fail;
	if (r == 0) {
		err_set(err, EX_NOINPUT, "split '%s' does not exist", uri);
		goto fail;
	}
	return s;
fail:
	split_remote_close(s);
	return NULL;
}

int split_remote_pread(struct split_remote *s, void *buf, size_t len, uint64_t off,
		       struct qw_err *err)
{
	if (len == 0)
		return 0;
	buf_reset(&s->chunk);
	if (s3_get(s->client, s->bucket, s->key, off, len, &s->chunk, err) < 0)
		return -1;
	memcpy(buf, s->chunk.data, len);   /* s3_get checked the length */
	/* a big unit must not pin its memory for the reader's life */
	if (s->chunk.cap > (4u << 20))
		buf_free(&s->chunk);
	return 0;
}

void split_remote_io(const struct split_remote *s, uint64_t *requests, uint64_t *bytes)
{
	struct s3_stats st;

	s3_client_stats(s->client, &st);
	*requests = st.requests;
	*bytes = st.bytes_in;
}

void split_remote_close(struct split_remote *s)
{
	if (!s)
		return;
	buf_free(&s->chunk);
	s3_client_free(s->client);
	free(s->key);
	free(s->bucket);
	free(s);
}
