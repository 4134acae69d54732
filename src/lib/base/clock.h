/*
 * clock: the one source of time for every timeout in qw.
 *
 * QW_TIME_SCALE=N (N >= 1) makes clock_ms() run N times faster than
 * real time, so a 60 s commit timeout fires after 60/N s in tests (what
 * Quickwit's accelerated-time universe does). clock_wait_ms() converts a
 * scaled duration back into real milliseconds for poll().
 * Wall-clock time (for timestamps in metadata) is never scaled.
 * QW_TIME_SCALE is a test knob: read only by a build configured with
 * --enable-test-knobs (implied by --enable-sanitizers), and at most
 * CLOCK_SCALE_MAX; a release build runs in real time.
 */
#ifndef QW_CLOCK_H
#define QW_CLOCK_H

#include <stdint.h>

#define CLOCK_SCALE_MAX 1000.0

/*
 * The clock of a long-lived loop: the time scale read once, when the loop's
 * owner is made (clock_init()), and carried in its state, so that reading
 * the time does not read the environment.
 */
struct clock {
	double scale;
};
void clock_init(struct clock *c);
/* Scaled monotonic milliseconds. */
int64_t clock_ms(const struct clock *c);
/* Real milliseconds to wait for a scaled duration (at least 1 if ms > 0). */
int clock_wait_ms(const struct clock *c, int64_t scaled_ms);

/* The time scale in force (1 unless QW_TIME_SCALE is set and valid). */
double clock_scale(void);
/* Unscaled wall clock: seconds and microseconds since the epoch. */
int64_t clock_wall_s(void);
int64_t clock_wall_us(void);

#endif
