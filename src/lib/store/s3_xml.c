/*
 * s3_xml: scanner for S3's XML answers (see s3_xml.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "store/s3_xml.h"
#include "base/xalloc.h"

static const char *find(const char *hay, size_t hay_len, const char *needle, size_t n)
{
	if (n == 0 || hay_len < n)
		return NULL;
	return memmem(hay, hay_len, needle, n);
}

/* Append one UTF-8 encoded code point; 0 or -1 when not encodable. */
static int add_utf8(struct buf *b, unsigned long cp)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	buf_add_utf8(b, (uint32_t)cp);
	return 0;
}

static int unescape(const char *s, size_t n, char **out, struct qw_err *err)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	struct buf b = BUF_INIT;
	size_t i = 0;

	while (i < n) {
		const char *semi;
		size_t elen, k;

		if (s[i] != '&') {
			buf_addc(&b, s[i++]);
			continue;
		}
		semi = memchr(s + i, ';', n - i);
		if (!semi || semi - (s + i) > 12)
			goto bad;
		elen = (size_t)(semi - (s + i)) - 1;   /* between '&' and ';' */
		if (elen >= 2 && s[i + 1] == '#') {
			char num[12];
			char *end;
			int hex = s[i + 2] == 'x';
			unsigned long cp;

			if (elen - 1 - (size_t)hex == 0)
				goto bad;
			memcpy(num, s + i + 2 + hex, elen - 1 - (size_t)hex);
			num[elen - 1 - (size_t)hex] = 0;
			errno = 0;
			cp = strtoul(num, &end, hex ? 16 : 10);
			if (errno || *end || num[0] == '-' || num[0] == '+' || add_utf8(&b, cp) < 0)
				goto bad;
		} else {
			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
				if (strlen(ents[k].name) == elen && !memcmp(ents[k].name, s + i + 1, elen))
					break;
			if (k == sizeof(ents) / sizeof(ents[0]))
				goto bad;
			buf_addc(&b, ents[k].c);
		}
		i = (size_t)(semi - s) + 1;
	}
	*out = buf_detach(&b, NULL);
	return 0;
bad:
	buf_free(&b);
	return err_set(err, EX_DATAERR, "s3 response: malformed XML entity");
}

/* The raw span [*start, *end) of the first <tag> element at or after *pos. */
static int element(const char *xml, size_t len, size_t *pos, const char *tag,
		   const char **start, const char **end, struct qw_err *err)
{
	char open[80], close[81];
	size_t tn = strlen(tag);

	if (tn == 0 || tn > 64)
		return err_set(err, EX_SOFTWARE, "s3 xml: bad tag name");
	if (*pos > len)
		return 0;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	*start = find(xml + *pos, len - *pos, open, tn + 2);
	if (!*start)
		return 0;
	*start += tn + 2;
	*end = find(*start, len - (size_t)(*start - xml), close, tn + 3);
	if (!*end)
		return err_set(err, EX_DATAERR, "s3 response: <%s> without </%s>", tag, tag);
	*pos = (size_t)(*end - xml) + tn + 3;
	return 1;
}

int s3_xml_text(const char *xml, size_t len, size_t *pos, const char *tag, char **out,
		struct qw_err *err)
{
	const char *start, *end;
	size_t p = *pos;
	int r;

	*out = NULL;
	r = element(xml, len, &p, tag, &start, &end, err);
	if (r <= 0)
		return r;
	if (unescape(start, (size_t)(end - start), out, err) < 0)
		return -1;
	*pos = p;
	return 1;
}

int s3_xml_error(const char *xml, size_t len, char **code, char **message,
		 struct qw_err *err)
{
	size_t pos = 0;

	*code = NULL;
	*message = NULL;
	if (s3_xml_text(xml, len, &pos, "Code", code, err) < 0)
		return -1;
	pos = 0;
	if (s3_xml_text(xml, len, &pos, "Message", message, err) < 0) {
		free(*code);
		*code = NULL;
		return -1;
	}
	return 0;
}

void s3_xml_objects_free(struct s3_xml_object *objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(objs[i].key);
	free(objs);
}

/* "2026-12-02T02:03:18.000Z" (S3 writes UTC with a Z) to epoch seconds. */
static int parse_time(const char *t, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.') {
		end++;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if (strcmp(end, "Z"))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int s3_xml_list(const char *xml, size_t len, struct s3_xml_object **objs, size_t *n,
		char **next_token, struct qw_err *err)
{
	struct s3_xml_object *v = NULL;
	size_t cnt = 0, cap = 0, pos = 0;
	char *truncated = NULL, *size = NULL;
	const char *cstart, *cend;
	int r, ret = -1;

	*objs = NULL;
	*n = 0;
	*next_token = NULL;
	while ((r = element(xml, len, &pos, "Contents", &cstart, &cend, err)) == 1) {
		const char *contents = cstart;
		size_t cpos = 0, clen = (size_t)(cend - cstart);
		char *key = NULL, *end;
		unsigned long long sz = 0;
		int64_t mtime;

		if (s3_xml_text(contents, clen, &cpos, "Key", &key, err) < 0)
			goto out;
		if (!key) {
			err_set(err, EX_DATAERR, "s3 list response: <Contents> without <Key>");
			goto out;
		}
		cpos = 0;
		if (s3_xml_text(contents, clen, &cpos, "Size", &size, err) < 0) {
			free(key);
			goto out;
		}
		if (size) {
			errno = 0;
			sz = strtoull(size, &end, 10);
			if (errno || end == size || *end || size[0] == '-') {
				err_set(err, EX_DATAERR, "s3 list response: bad <Size> '%.40s'", size);
				free(key);
				goto out;
			}
		}
		free(size);
		size = NULL;
		cpos = 0;
		if (s3_xml_text(contents, clen, &cpos, "LastModified", &size, err) < 0) {
			free(key);
			goto out;
		}
		mtime = 0;
		if (size && parse_time(size, &mtime) < 0) {
			err_set(err, EX_DATAERR, "s3 list response: bad <LastModified> '%.40s'", size);
			free(key);
			goto out;
		}
		free(size);
		size = NULL;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt].key = key;
		v[cnt].size = sz;
		v[cnt].mtime = mtime;
		cnt++;
		free(size);
		size = NULL;
	}
	if (r < 0)
		goto out;
	pos = 0;
	if (s3_xml_text(xml, len, &pos, "IsTruncated", &truncated, err) < 0)
		goto out;
	if (truncated && !strcmp(truncated, "true")) {
		pos = 0;
		if (s3_xml_text(xml, len, &pos, "NextContinuationToken", next_token, err) < 0)
			goto out;
		if (!*next_token || !**next_token) {
			free(*next_token);
			*next_token = NULL;
			err_set(err, EX_DATAERR,
				"s3 list response: truncated without a continuation token");
			goto out;
		}
	}
	*objs = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	ret = 0;
out:
	free(truncated);
	free(size);
	s3_xml_objects_free(v, cnt);
	return ret;
}
