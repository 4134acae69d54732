/* stage_stats: see stage_stats.h. */
#include "pipeline/stage_stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void stage_stats_init(struct stage_stats *st, const char *stage)
{
	const char *v = getenv(STAGE_STATS_ENV);
	char *end = NULL;
	long long ms = v && *v ? strtoll(v, &end, 10) : 0;

	memset(st, 0, sizeof(*st));
	st->stage = stage;
	st->interval_ms = (end && *end == '\0' && ms > 0) ? ms : 0;
	st->last_ms = (int64_t)(stage_stats_now_us() / 1000);
}

uint64_t stage_stats_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void report(struct stage_stats *st)
{
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "\x1e{\"type\":\"stats\",\"stage\":\"%s\",\"docs_in\":%" PRIu64
			 ",\"docs_out\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
			 ",\"wait_input_us\":%" PRIu64 ",\"blocked_output_us\":%" PRIu64 "}\n",
			 st->stage, st->docs_in, st->docs_out, st->bytes_in, st->bytes_out,
			 st->wait_input_us, st->blocked_output_us);

	if (n > 0 && (size_t)n < sizeof(line) && write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* the supervisor is gone: nobody to tell */
	}
}

void stage_stats_tick(struct stage_stats *st)
{
	int64_t now;

	if (!st || st->interval_ms <= 0)
		return;
	now = (int64_t)(stage_stats_now_us() / 1000);
	if (now - st->last_ms < st->interval_ms)
		return;
	st->last_ms = now;
	report(st);
}

void stage_stats_final(struct stage_stats *st)
{
	if (st && st->interval_ms > 0)
		report(st);
}
