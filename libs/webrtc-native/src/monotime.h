/* monotime: the daemon's one reading of CLOCK_MONOTONIC (timers, deadlines, rates), in
 * milliseconds or nanoseconds since an arbitrary origin; never goes back, unaffected by the
 * wall clock being set (NTP on a router that booted in 1970). */
#ifndef PEARFOG_MONOTIME_H
#define PEARFOG_MONOTIME_H

#include <stdint.h>

/* Milliseconds (whole, truncated). */
uint64_t monotime_ms(void);

/* Nanoseconds. */
uint64_t monotime_ns(void);

#endif
