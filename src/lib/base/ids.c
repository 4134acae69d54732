#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#include "base/ids.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int check_id(const char *kind, const char *id, size_t minlen, struct qw_err *err)
{
	size_t n;

	if (!id || !*id)
		return err_set(err, EX_USAGE, "invalid %s id '': must not be empty", kind);
	n = strlen(id);
	if (!isalpha((unsigned char)id[0]))
		return err_set(err, EX_USAGE, "invalid %s id '%.64s': must start with a letter", kind, id);
	if (n < minlen || n > 255)
		return err_set(err, EX_USAGE, "invalid %s id '%.64s%s': must be %zu to 255 characters long",
			       kind, id, n > 64 ? "..." : "", minlen);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return err_set(err, EX_USAGE,
				       "invalid %s id '%.64s': only letters, digits, '_', '-' and '.' are allowed",
				       kind, id);
	}
	return 0;
}

int ids_check_index(const char *id, struct qw_err *err)
{
	return check_id("index", id, 3, err);
}

int ids_check_source(const char *id, struct qw_err *err)
{
	return check_id("source", id, 1, err);
}

bool ids_is_ulid(const char *s)
{
	if (!s || strlen(s) != ULID_LEN)
		return false;
	for (size_t i = 0; i < ULID_LEN; i++)
		if (!strchr(crockford, s[i]) || !s[i])
			return false;
	return s[0] <= '7';
}

int ids_random(void *p, size_t n, struct qw_err *err)
{
	char *c = p;

	while (n > 0) {
		ssize_t got = getrandom(c, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(err, EX_OSERR, "cannot get random bytes");
		}
		c += got;
		n -= (size_t)got;
	}
	return 0;
}

int ids_ulid_new(char out[ULID_LEN + 1], struct qw_err *err)
{
	unsigned char rnd[10];
	struct timeval tv;
	uint64_t ms;
	int i;

	if (ids_random(rnd, sizeof(rnd), err) < 0)
		return -1;
	gettimeofday(&tv, NULL);
	ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	/* 48-bit timestamp: 10 chars */
	for (i = 9; i >= 0; i--) {
		out[i] = crockford[ms & 31];
		ms >>= 5;
	}
	/* 80 bits of randomness: 16 chars */
	for (i = 0; i < 16; i++) {
		int bit = i * 5;
		int byte = bit / 8, off = bit % 8;
		unsigned v = (unsigned)rnd[byte] << 8 | (byte + 1 < 10 ? rnd[byte + 1] : 0);

		out[10 + i] = crockford[(v >> (11 - off)) & 31];
	}
	out[ULID_LEN] = '\0';
	return 0;
}
