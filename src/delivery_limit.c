/* delivery_limit.c - sliding-window rate limits (delivery_limit.h). */
#include "delivery_limit.h"

#include <stdlib.h>
#include <string.h>

ga_err delivery_limit_init(struct delivery_limit *l, int n, int64_t window_ms)
{
	memset(l, 0, sizeof(*l));
	if (n < 0 || window_ms <= 0)
		return GA_ERR_INVAL;
	if (n > 0 && (l->at = calloc((size_t)n, sizeof(*l->at))) == NULL)
		return GA_ERR_NOMEM;
	l->n = n;
	l->window_ms = window_ms;
	return GA_OK;
}

void delivery_limit_cleanup(struct delivery_limit *l)
{
	free(l->at);
	memset(l, 0, sizeof(*l));
}

bool delivery_limit_ok(const struct delivery_limit *l, int64_t now_ms, int64_t *next_ms)
{
	int64_t oldest;

	if (l->n == 0 || l->used < l->n)
		return true;
	/* Full: the oldest of the last n must have left the window. */
	oldest = l->at[l->head];
	if (now_ms - oldest >= l->window_ms)
		return true;
	if (next_ms != NULL)
		*next_ms = oldest + l->window_ms;
	return false;
}

bool delivery_limit_take(struct delivery_limit *l, int64_t now_ms, int64_t *next_ms)
{
	if (!delivery_limit_ok(l, now_ms, next_ms))
		return false;
	if (l->n == 0)
		return true;
	/* head is the oldest slot; once full it is overwritten. */
	if (l->used < l->n) {
		l->at[(l->head + l->used) % l->n] = now_ms;
		l->used++;
	} else {
		l->at[l->head] = now_ms;
		l->head = (l->head + 1) % l->n;
	}
	return true;
}
