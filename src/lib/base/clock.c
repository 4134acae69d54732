#include <stdlib.h>
#include <time.h>

#include "base/clock.h"

double clock_scale(void)
{
#ifdef QW_TEST_KNOBS
	const char *s = getenv("QW_TIME_SCALE");
	char *end;
	double v;

	if (!s || !*s)
		return 1.0;
	v = strtod(s, &end);
	if (*end || !(v >= 1.0))
		return 1.0;
	/* bounded: a 60 s timeout never fires before 60 ms */
	return v > CLOCK_SCALE_MAX ? CLOCK_SCALE_MAX : v;
#else
	return 1.0; /* a release build runs in real time */
#endif
}

void clock_init(struct clock *c)
{
	c->scale = clock_scale();
}

int64_t clock_ms(const struct clock *c)
{
	struct timespec ts;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
	return (int64_t)(ms * c->scale);
}

int clock_wait_ms(const struct clock *c, int64_t scaled_ms)
{
	double real;

	if (scaled_ms <= 0)
		return 0;
	real = (double)scaled_ms / c->scale;
	if (real > 2147483647.0)
		return 2147483647;
	return real < 1.0 ? 1 : (int)real;
}

int64_t clock_wall_s(void)
{
	return (int64_t)time(NULL);
}

int64_t clock_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
