/*
 * split_cache: range reads of s3:// splits and their cached footers
 * (see split_cache.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "base/fsutil.h"
#include "store/s3.h"
#include "store/split_cache.h"
#include "store/split_memcache.h"
#include "base/xalloc.h"

int split_cache_is_remote(const char *path)
{
	return path && !strncmp(path, "s3://", 5);
}

/* "<split_id>-<size>.footer": the id is the URI's last component without
 * ".split", any byte but [0-9A-Za-z_-] replaced by '_' (a flat, safe name);
 * a range's copy is "<split_id>-<size>-<off>-<len>.range". */
static char *copy_name(const char *uri, uint64_t size, uint64_t off, uint64_t len,
		       const char *suffix)
{
	const char *base = strrchr(uri, '/');
	struct buf b = BUF_INIT;
	size_t n;

	base = base ? base + 1 : uri;
	n = strlen(base);
	if (n > 6 && !strcmp(base + n - 6, ".split"))
		n -= 6;
	for (size_t i = 0; i < n; i++) {
		char ch = base[i];

		buf_addc(&b, (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
				     (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-' ? ch : '_');
	}
	buf_addf(&b, "-%" PRIu64, size);
	if (!strcmp(suffix, ".range"))
		buf_addf(&b, "-%" PRIu64 "-%" PRIu64, off, len);
	buf_addf(&b, "%s", suffix);
	return buf_detach(&b, NULL);
}

static char *footer_name(const char *uri, uint64_t size)
{
	return copy_name(uri, size, 0, 0, ".footer");
}

static bool is_copy(const char *name)
{
	size_t nl = strlen(name);

	return (nl > 7 && !strcmp(name + nl - 7, ".footer")) ||
	       (nl > 6 && !strcmp(name + nl - 6, ".range"));
}

/* The cache directory and its bound; *dir NULL when there is none. */
static int cache_config(const char **dir, uint64_t *max, struct qw_err *err)
{
	const char *d = getenv("QW_SPLIT_CACHE_DIR");
	const char *m = getenv("QW_SPLIT_CACHE_MAX_BYTES");

	*dir = d && *d ? d : NULL;
	*max = 1ull << 30;
	if (*dir && m && *m) {
		char *end;

		errno = 0;
		*max = strtoull(m, &end, 10);
		if (errno || *end || m[0] == '-')
			return err_set(err, EX_USAGE,
				       "QW_SPLIT_CACHE_MAX_BYTES: '%s' is not a byte count", m);
	}
	return 0;
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

		/* only our copies: a directory given by mistake keeps its files */
		if (de->d_name[0] == '.' || strstr(de->d_name, ATOMICFILE_INFIX) || !is_copy(de->d_name))
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

/*
 * Write a copy: a temp file renamed over path, without fsync. A copy is
 * only a cache: every one is checked when read (a footer by the reader's
 * checksum, a range by its own CRC32C trailer), so the copy a crash tore
 * is a miss, never data; and an fsync per copy cost a cold query on
 * Lambda's /tmp more than the GETs it saved.
 */
static int write_copy(const char *path, const void *data, size_t len, const void *trailer,
		      size_t tlen, struct qw_err *err)
{
	struct atomicfile af = ATOMICFILE_INIT;
	int ret = -1;

	if (atomicfile_open(&af, path, 0644, err) < 0)
		goto out;
	if (fsutil_write_full(af.fd, data, len) < 0 ||
	    (tlen && fsutil_write_full(af.fd, trailer, tlen) < 0)) {
		err_errno(err, EX_IOERR, "cannot write '%s'", af.tmp);
		goto out;
	}
	if (rename(af.tmp, path) < 0) {
		err_errno(err, EX_IOERR, "cannot rename '%s' to '%s'", af.tmp, path);
		goto out;
	}
	free(af.tmp);   /* renamed: nothing for the rollback to remove */
	af.tmp = NULL;
	ret = 0;
out:
	atomicfile_rollback(&af);
	return ret;
}

int split_cache_check_config(struct qw_err *err)
{
	const char *dir;
	uint64_t max;

	return cache_config(&dir, &max, err);
}

int split_cache_footer_get(const char *uri, uint64_t size, uint8_t **data, size_t *len,
			   struct qw_err *err)
{
	const char *dir;
	char *name = NULL, *path = NULL;
	struct buf b = BUF_INIT;
	uint64_t max;
	int fd = -1, ret = -1;

	*data = NULL;
	*len = 0;
	if (cache_config(&dir, &max, err) < 0)
		return -1;
	if (!dir)
		return 0;
	name = footer_name(uri, size);
	path = fsutil_join(dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = 0;   /* a miss, whatever the reason: the split is read remotely */
		goto out;
	}
	if (fsutil_read_fd(fd, path, &b, err) < 0 || b.len == 0) {
		err_clear(err);
		ret = 0;
		goto out;
	}
	/* a hit: mark it recently used for eviction; a read-only cache is
	 * still a valid copy, so a failure here is not one */
	if (futimens(fd, NULL) < 0)
		errno = 0;
	*len = b.len;
	*data = (uint8_t *)buf_detach(&b, NULL);
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	free(path);
	free(name);
	return ret;
}

int split_cache_footer_put(const char *uri, uint64_t size, const void *data, size_t len,
			   struct qw_err *err)
{
	const char *dir;
	char *name = NULL, *path = NULL;
	uint64_t max;
	int ret = -1;

	if (cache_config(&dir, &max, err) < 0)
		return -1;
	if (!dir)
		return 0;
	if (fsutil_mkdir_p(dir, 0755, err) < 0)
		goto out;
	name = footer_name(uri, size);
	path = fsutil_join(dir, name);
	if (write_copy(path, data, len, NULL, 0, err) < 0)
		goto out;
	evict(dir, path, max);
	ret = 0;
out:
	free(path);
	free(name);
	return ret;
}

void split_cache_footer_drop(const char *uri, uint64_t size)
{
	const char *dir = getenv("QW_SPLIT_CACHE_DIR");
	char *name, *path;

	if (!dir || !*dir)
		return;
	name = footer_name(uri, size);
	path = fsutil_join(dir, name);
	if (unlink(path) < 0)
		errno = 0;   /* best effort: another process may have removed it */
	free(path);
	free(name);
}

struct split_remote {
	struct s3_client *client;
	bool own_client;
	char *uri;
	uint64_t size;
	char *bucket, *key;
	struct buf chunk;
	struct s3_stats io;      /* this reader's requests and bytes */
	struct split_memcache *mem;  /* borrowed: a warm process's copies, or NULL */
};

struct split_remote *split_remote_open(const char *uri, struct s3_client *client, uint64_t size,
				       uint64_t *size_out, struct qw_err *err)
{
	struct split_remote *s = xcalloc(1, sizeof(*s));
	int r;

	s->chunk = (struct buf)BUF_INIT;
	s->uri = xstrdup(uri);
	if (s3_parse_uri(uri, &s->bucket, &s->key, err) < 0)
		goto fail;
	s->client = client;
	if (!s->client) {
		s->client = s3_client_new(err);
		if (!s->client)
			goto fail;
		s->own_client = true;
	}
	if (size) {
		*size_out = s->size = size;
		return s;
	}
	r = s3_head_acc(s->client, s->bucket, s->key, size_out, &s->io, err);
	s->size = *size_out;
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

void split_remote_set_memcache(struct split_remote *s, struct split_memcache *mem)
{
	s->mem = mem;
}

/* The memory cache's key of bytes [off, off + len) of s ("footer": len 0,
 * off UINT64_MAX): the whole URI, since the memory is one process's and
 * its names need not be file names. */
static char *mem_key(const struct split_remote *s, uint64_t off, size_t len)
{
	struct buf b = BUF_INIT;

	if (off == UINT64_MAX)
		buf_addf(&b, "%s\n%" PRIu64 "\nfooter", s->uri, s->size);
	else
		buf_addf(&b, "%s\n%" PRIu64 "\n%" PRIu64 "\n%zu", s->uri, s->size, off, len);
	return buf_detach(&b, NULL);
}

int split_remote_footer_get(struct split_remote *s, uint8_t **data, size_t *len,
			    struct qw_err *err)
{
	char *key = mem_key(s, UINT64_MAX, 0);
	int got = split_memcache_get(s->mem, key, data, len);

	if (!got) {
		got = split_cache_footer_get(s->uri, s->size, data, len, err);
		if (got > 0)
			split_memcache_put(s->mem, key, *data, *len);
	}
	free(key);
	return got;
}

int split_remote_footer_put(struct split_remote *s, const void *data, size_t len,
			    struct qw_err *err)
{
	char *key = mem_key(s, UINT64_MAX, 0);

	split_memcache_put(s->mem, key, data, len);
	free(key);
	return split_cache_footer_put(s->uri, s->size, data, len, err);
}

void split_remote_footer_drop(struct split_remote *s)
{
	char *key = mem_key(s, UINT64_MAX, 0);

	split_memcache_drop(s->mem, key);
	free(key);
	split_cache_footer_drop(s->uri, s->size);
}

/* A range's copy in the cache: 1 (len bytes into buf) on a hit, 0 else;
 * a copy whose CRC32C trailer does not match is removed (a miss). */
static int range_get(const char *dir, const struct split_remote *s, void *buf, size_t len,
		     uint64_t off)
{
	char *name = copy_name(s->uri, s->size, off, len, ".range");
	char *path = fsutil_join(dir, name);
	uint8_t t[4];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		goto out;
	if ((uint64_t)st.st_size != (uint64_t)len + 4 || fsutil_pread_full(fd, buf, len, 0) < 0 ||
	    fsutil_pread_full(fd, t, 4, (off_t)len) < 0 ||
	    checksum_crc32c(0, buf, len) !=
		    ((uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24)) {
		if (unlink(path) < 0)
			errno = 0;   /* best effort: another process may have removed it */
		goto out;
	}
	if (futimens(fd, NULL) < 0)   /* recently used; a read-only cache still hits */
		errno = 0;
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	errno = 0;
	free(path);
	free(name);
	return ret;
}

/* Keep a range read remotely, with its CRC32C (little-endian) after it.
 * Best effort (a full /tmp only costs a GET next time); the directory is
 * scanned for eviction at about one put in RANGE_EVICT_EVERY (chosen by
 * the name's hash, no state kept), since ranges are many and small. */
#define RANGE_EVICT_EVERY 16
static void range_put(const char *dir, uint64_t max, const struct split_remote *s,
		      const void *data, size_t len, uint64_t off)
{
	struct qw_err ignore = QW_ERR_INIT;
	char *name = copy_name(s->uri, s->size, off, len, ".range");
	char *path = fsutil_join(dir, name);
	uint32_t h = 2166136261u, crc = checksum_crc32c(0, data, len);
	uint8_t t[4] = { (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24) };

	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	if (fsutil_mkdir_p(dir, 0755, &ignore) == 0 &&
	    write_copy(path, data, len, t, sizeof(t), &ignore) == 0 && h % RANGE_EVICT_EVERY == 0)
		evict(dir, path, max);
	err_clear(&ignore);
	free(path);
	free(name);
}

int split_remote_pread(struct split_remote *s, void *buf, size_t len, uint64_t off,
		       struct qw_err *err)
{
	const char *dir;
	uint64_t max;

	char *key = NULL;
	int ret = -1;

	if (len == 0)
		return 0;
	if (cache_config(&dir, &max, err) < 0)
		return -1;
	if (s->mem) {
		key = mem_key(s, off, len);
		if (split_memcache_read(s->mem, key, buf, len)) {
			ret = 0;
			goto out;
		}
	}
	if (dir && range_get(dir, s, buf, len, off)) {
		split_memcache_put(s->mem, key, buf, len);
		ret = 0;
		goto out;
	}
	buf_reset(&s->chunk);
	if (s3_get_acc(s->client, s->bucket, s->key, off, len, &s->chunk, &s->io, err) < 0)
		goto out;
	memcpy(buf, s->chunk.data, len);   /* s3_get checked the length */
	if (dir)
		range_put(dir, max, s, buf, len, off);
	split_memcache_put(s->mem, key, buf, len);
	/* a big unit must not pin its memory for the reader's life */
	if (s->chunk.cap > (4u << 20))
		buf_free(&s->chunk);
	ret = 0;
out:
	free(key);
	return ret;
}

void split_remote_io(const struct split_remote *s, uint64_t *requests, uint64_t *bytes)
{
	*requests = s->io.requests;
	*bytes = s->io.bytes_in;
}

void split_remote_io_reset(struct split_remote *s)
{
	memset(&s->io, 0, sizeof(s->io));
}

void split_remote_close(struct split_remote *s)
{
	if (!s)
		return;
	buf_free(&s->chunk);
	if (s->own_client)
		s3_client_free(s->client);
	free(s->key);
	free(s->bucket);
	free(s->uri);
	free(s);
}
