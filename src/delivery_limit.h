/* delivery_limit.h - a channel's rate limit as the real APIs count it:
 * at most n sends in any window of w ms (WeCom: 20 in any minute).
 * A token bucket with a burst of n would let 2n - 1 through in one
 * window, which the robots refuse, so this keeps the last n send times
 * (a sliding-window log; n is capped by CHANNEL_RATE_MAX). */
#ifndef GA_DELIVERY_LIMIT_H
#define GA_DELIVERY_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct delivery_limit {
	int64_t *at; /* ring of the last n send times */
	int n, used, head;
	int64_t window_ms;
};

/* n 0: no limit (delivery_limit_take always succeeds). */
ga_err delivery_limit_init(struct delivery_limit *l, int n, int64_t window_ms);
void delivery_limit_cleanup(struct delivery_limit *l);

/* Whether a send at now_ms is allowed; when it is, records it. When not,
 * *next_ms (may be NULL) is the first time one will be. Times must not
 * go backwards (monotonic clock). */
bool delivery_limit_take(struct delivery_limit *l, int64_t now_ms, int64_t *next_ms);

/* Whether a send at now_ms would be allowed, recording nothing. */
bool delivery_limit_ok(const struct delivery_limit *l, int64_t now_ms, int64_t *next_ms);

#endif
