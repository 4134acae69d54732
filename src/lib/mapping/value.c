/*
 * value: literal parsing shared by documents and queries (value.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mapping/datetime.h"
#include "mapping/value.h"

const char *value_kind_name(enum value_kind kind)
{
	switch (kind) {
	case VK_TEXT:
		return "text";
	case VK_I64:
		return "i64";
	case VK_U64:
		return "u64";
	case VK_F64:
		return "f64";
	case VK_BOOL:
		return "bool";
	case VK_DATETIME:
		return "datetime";
	case VK_IP:
		return "ip";
	case VK_BYTES:
		return "bytes";
	}
	return "unknown";
}

/* strtoll and friends skip leading blanks and take a '+': a literal has neither */
static bool literal_start(const char *s)
{
	return s && *s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\v' &&
	       *s != '\f' && *s != '+';
}

bool value_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!literal_start(s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool value_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!literal_start(s) || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* strtod over all of s, a literal; *overflow: it was out of range (ERANGE). */
static bool strtod_whole(const char *s, double *v, bool *overflow)
{
	char *end;

	if (!literal_start(s))
		return false;
	errno = 0;
	*v = strtod(s, &end);
	*overflow = errno == ERANGE;
	return !*end && !isnan(*v);
}

bool value_parse_f64(const char *s, double *out)
{
	bool overflow;
	double v;

	if (!strtod_whole(s, &v, &overflow) || overflow || !isfinite(v))
		return false;
	*out = v;
	return true;
}

bool value_parse_f64_saturating(const char *s, double *out)
{
	bool overflow;
	double v;

	/* "inf" and "infinity" are words, not literals: only an overflow saturates */
	if (!strtod_whole(s, &v, &overflow) || (isinf(v) && !overflow))
		return false;
	*out = v;
	return true;
}

bool value_parse_bool(const char *s, bool *out)
{
	if (s && strcmp(s, "true") == 0)
		*out = true;
	else if (s && strcmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

bool value_parse_ip(const char *s, uint8_t out[16])
{
	struct in_addr a4;
	uint8_t a6[16];

	if (!s)
		return false;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return true;
	}
	if (inet_pton(AF_INET6, s, a6) != 1)
		return false;
	memcpy(out, a6, 16);
	return true;
}

bool value_parse_datetime_ns(char *const *formats, size_t n_formats, const char *s, size_t len,
			     int64_t *us, unsigned *ns)
{
	*ns = 0;
	if (datetime_parse_canonical(s, len, us))
		return true;
	for (size_t i = 0; i < n_formats; i++)
		if (datetime_parse_ns(formats[i], s, len, us, ns))
			return true;
	return datetime_parse_ns("rfc3339", s, len, us, ns);
}

bool value_parse_datetime(char *const *formats, size_t n_formats, const char *s, size_t len,
			  int64_t *us)
{
	unsigned ns;

	return value_parse_datetime_ns(formats, n_formats, s, len, us, &ns);
}

bool value_parse_datetime_literal(char *const *formats, size_t n_formats, const char *s,
				  int64_t *us)
{
	size_t len = strlen(s);
	double d;

	if (value_parse_datetime(formats, n_formats, s, len, us))
		return true;
	if (value_parse_f64(s, &d))
		return datetime_from_number(d, us);
	return datetime_parse("iso8601", s, len, us) || datetime_parse("rfc2822", s, len, us) ||
	       datetime_parse("%Y-%m-%d %H:%M:%S", s, len, us) ||
	       datetime_parse("%Y/%m/%d %H:%M:%S", s, len, us) ||
	       datetime_parse("%Y-%m-%d", s, len, us) || datetime_parse("%Y/%m/%d", s, len, us);
}
