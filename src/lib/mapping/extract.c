/* extract: see extract.h */
#include "mapping/extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mapping/docmap.h"
#include "base/xalloc.h"

struct extract {
	pcre2_code *re;
	pcre2_match_data *md;
	bool jit;
	uint32_t n_names, name_size;
	PCRE2_SPTR names;           /* name table: 2-byte group number then the name */
};

/* Apache's combined format (the common one when the last two are absent);
 * nginx's default "combined" log_format writes the same. A request that is
 * not "METHOD PATH PROTOCOL" (a bare "-", garbage from scanners) still
 * matches, with no method nor path. */
#define COMBINED \
	"^(?<client_ip>\\S+) (?<ident>\\S+) (?<user>\\S+) \\[(?<timestamp>[^\\]]+)\\] " \
	"\"(?:(?<method>[A-Z]+) (?<path>\\S+)(?: (?<protocol>[^\"\\s]+))?|[^\"]*)\" " \
	"(?<status>\\d{3}) (?:(?<bytes>\\d+)|-)" \
	"(?: \"(?<referrer>[^\"]*)\" \"(?<user_agent>[^\"]*)\")?"

static const struct {
	const char *name, *re;
} named[] = {
	{ "apache_combined", COMBINED },
	{ "nginx_combined", COMBINED },
	/* BSD syslog: "<13>Dec 10 06:55:46 host app[pid]: message", the
	 * priority optional (files under /var/log have none), the tag too
	 * ("last message repeated 2 times") */
	{ "syslog_rfc3164",
	  "^(?:<(?<priority>\\d{1,3})>)?(?<timestamp>[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d) "
	  "(?<host>\\S+) (?:(?<app>[^:\\[\\s]+)(?:\\[(?<pid>[^\\]]*)\\])?: )?(?<message>.*)$" },
	/* "<165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] message";
	 * "-" is a nil value and gives no field */
	{ "syslog_rfc5424",
	  "^<(?<priority>\\d{1,3})>(?<version>\\d{1,2}) (?:-|(?<timestamp>\\S+)) "
	  "(?:-|(?<host>\\S+)) (?:-|(?<app>\\S+)) (?:-|(?<procid>\\S+)) (?:-|(?<msgid>\\S+)) "
	  "(?:-|(?<structured_data>(?:\\[(?:[^\\]\\\\]|\\\\.)*\\])+))(?: (?<message>.*))?$" },
};

const char *const extract_names[] = { "apache_combined", "nginx_combined", "syslog_rfc3164",
				      "syslog_rfc5424", NULL };

const char *extract_named(const char *name)
{
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcmp(named[i].name, name) == 0)
			return named[i].re;
	return NULL;
}

static struct extract *compile(const char *re_text, bool fields, struct qw_err *err)
{
	struct extract *x = xcalloc(1, sizeof(*x));
	PCRE2_SIZE erroff = 0;
	int errcode = 0;

	x->re = pcre2_compile((PCRE2_SPTR)re_text, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DUPNAMES, &errcode, &erroff,
			      NULL);
	if (!x->re) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", errcode);
		err_set(err, EX_DATAERR, "invalid regex at offset %zu: %s", (size_t)erroff,
			(const char *)msg);
		goto fail;
	}
	if (pcre2_pattern_info(x->re, PCRE2_INFO_NAMECOUNT, &x->n_names) != 0 ||
	    pcre2_pattern_info(x->re, PCRE2_INFO_NAMEENTRYSIZE, &x->name_size) != 0 ||
	    pcre2_pattern_info(x->re, PCRE2_INFO_NAMETABLE, &x->names) != 0) {
		err_set(err, EX_SOFTWARE, "cannot read the groups of the regex");
		goto fail;
	}
	if (fields && x->n_names == 0) {
		err_set(err, EX_DATAERR,
			"the regex has no named group: name the fields, as in (?<status>\\d+)");
		goto fail;
	}
	/* without a JIT (some platforms) the interpreter gives the same matches */
	x->jit = pcre2_jit_compile(x->re, PCRE2_JIT_COMPLETE) == 0;
	x->md = pcre2_match_data_create_from_pattern(x->re, NULL);
	if (!x->md) {
		err_set(err, EX_SOFTWARE, "cannot allocate the regex match data");
		goto fail;
	}
	return x;
fail:
	extract_free(x);
	return NULL;
}

struct extract *extract_new(const char *pattern, struct qw_err *err)
{
	const char *re_text = extract_named(pattern);

	return compile(re_text ? re_text : pattern, true, err);
}

struct extract *extract_new_plain(const char *regex, struct qw_err *err)
{
	return compile(regex, false, err);
}

void extract_free(struct extract *x)
{
	if (!x)
		return;
	pcre2_match_data_free(x->md);
	pcre2_code_free(x->re);
	free(x);
}

bool extract_has_field(const struct extract *x, const char *name)
{
	for (uint32_t i = 0; i < x->n_names; i++)
		if (strcmp((const char *)(x->names + (size_t)i * x->name_size + 2), name) == 0)
			return true;
	return false;
}

static int match(struct extract *x, const char *line, size_t len, struct qw_err *err)
{
	int rc;

	if (x->jit)
		rc = pcre2_jit_match(x->re, (PCRE2_SPTR)line, len, 0, 0, x->md, NULL);
	else
		rc = pcre2_match(x->re, (PCRE2_SPTR)line, len, 0, 0, x->md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", rc);
		return err_set(err, EX_DATAERR, "cannot match the regex: %s", (const char *)msg);
	}
	return rc;
}

int extract_matches(struct extract *x, const char *line, size_t len, struct qw_err *err)
{
	int rc = match(x, line, len, err);

	return rc < 0 ? -1 : rc > 0;
}

int extract_line(struct extract *x, const char *line, size_t len, struct buf *out,
		 struct qw_err *err)
{
	PCRE2_SIZE *ov;
	int rc = match(x, line, len, err);

	if (rc <= 0)
		return rc;
	ov = pcre2_get_ovector_pointer(x->md);
	for (uint32_t i = 0; i < x->n_names; i++) {
		PCRE2_SPTR e = x->names + (size_t)i * x->name_size;
		uint32_t g = ((uint32_t)e[0] << 8) | e[1];
		const char *name = (const char *)(e + 2);

		/* unset groups (PCRE2_UNSET) and groups past the last set one */
		if ((int)g >= rc || ov[2 * g] == PCRE2_UNSET)
			continue;
		/* with duplicate names, the first one set wins */
		if (i > 0 && strcmp((const char *)(e - x->name_size + 2), name) == 0) {
			bool seen = false;

			for (uint32_t k = 0; k < i; k++) {
				PCRE2_SPTR p = x->names + (size_t)k * x->name_size;
				uint32_t pg = ((uint32_t)p[0] << 8) | p[1];

				if (strcmp((const char *)(p + 2), name) == 0 && (int)pg < rc &&
				    ov[2 * pg] != PCRE2_UNSET)
					seen = true;
			}
			if (seen)
				continue;
		}
		docmap_json_string(out, name, strlen(name));
		buf_addc(out, ':');
		docmap_json_string(out, line + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
		buf_addc(out, ',');
	}
	return 1;
}
