/* device_frame.c - reads one monitoring-device data frame (spec §12).
 *
 * Shape: {"DEVICE": {"CHANNEL": X, ...}} where, for type 1, X is a
 * number (the field "value") or an object of fields; for type 2, X is an
 * object whose keys are RFC 3339 times and whose values are what X is for
 * type 1. Exactly one device per frame: the outer key is the device. */
#include "device_frame.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static const char *const device_frame_reason_names[DEVICE_FRAME_REASON_COUNT] = {
    [DEVICE_FRAME_OK] = "ok",
    [DEVICE_FRAME_IGNORED] = "ignored_type",
    [DEVICE_FRAME_TOO_BIG] = "too_big",
    [DEVICE_FRAME_EMPTY] = "empty",
    [DEVICE_FRAME_SHORT_HEADER] = "short_header",
    [DEVICE_FRAME_LENGTH] = "length_mismatch",
    [DEVICE_FRAME_BAD_TYPE] = "bad_type",
    [DEVICE_FRAME_BAD_JSON] = "bad_json",
    [DEVICE_FRAME_BAD_SHAPE] = "bad_shape",
    [DEVICE_FRAME_NONFINITE] = "non_finite",
    [DEVICE_FRAME_BAD_TIME] = "bad_time",
    [DEVICE_FRAME_FUTURE] = "future_time",
    [DEVICE_FRAME_TOPIC_MISMATCH] = "topic_mismatch",
    [DEVICE_FRAME_TOO_MANY] = "too_many",
    [DEVICE_FRAME_UNKNOWN_DEVICE] = "unknown_device",
};

const char *device_frame_reason_name(enum device_frame_reason reason)
{
	if ((unsigned)reason >= DEVICE_FRAME_REASON_COUNT)
		return "unknown";
	return device_frame_reason_names[reason];
}

/* Whether s is 1..max characters of [A-Za-z0-9_] (plus '-' and '.' when
 * dash_dot): names that end up in SQL parameters, logs and the console,
 * so nothing else is let through. */
static bool device_frame_name_ok(const char *s, size_t max, bool dash_dot)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' ||
			  (dash_dot && (c == '-' || c == '.'));
		if (!ok)
			return false;
	}
	return true;
}

/* Whether the bytes outside JSON strings hold a NaN or Infinity token,
 * which jansson reports as a plain syntax error: a device sending them
 * has a broken sensor, not a broken encoder, and is counted apart. */
static bool device_frame_has_nonfinite_token(const char *p, size_t len)
{
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
			continue;
		}
		if (len - i >= 3 &&
		    (strncmp(p + i, "NaN", 3) == 0 || strncmp(p + i, "nan", 3) == 0 ||
		     strncmp(p + i, "Inf", 3) == 0 || strncmp(p + i, "inf", 3) == 0))
			return true;
	}
	return false;
}

struct device_frame_walk {
	const struct device_frame_context *ctx;
	struct device_frame *out;
	size_t cap; /* allocated points */
};

static enum device_frame_reason device_frame_add(struct device_frame_walk *w, const char *channel,
						 const char *field, int64_t t_ms, double v,
						 bool *nomem)
{
	struct device_frame *f = w->out;

	if (!isfinite(v))
		return DEVICE_FRAME_NONFINITE;
	if (f->n_points >= DEVICE_FRAME_MAX_POINTS)
		return DEVICE_FRAME_TOO_MANY;
	if (f->n_points == w->cap) {
		size_t cap = w->cap == 0 ? 16 : w->cap * 2;
		if (cap > DEVICE_FRAME_MAX_POINTS)
			cap = DEVICE_FRAME_MAX_POINTS;
		struct device_point *p = realloc(f->points, cap * sizeof(*p));
		if (p == NULL) {
			*nomem = true;
			return DEVICE_FRAME_OK;
		}
		f->points = p;
		w->cap = cap;
	}
	struct device_point *p = &f->points[f->n_points++];
	snprintf(p->channel, sizeof(p->channel), "%s", channel);
	snprintf(p->field, sizeof(p->field), "%s", field);
	p->t_ms = t_ms;
	p->value = v;
	return DEVICE_FRAME_OK;
}

/* One measurement X at t_ms: a number (field "value") or an object of
 * fields. Strings, booleans and nulls are skipped (status texts); arrays
 * and nested objects are not the shape of §12. */
static enum device_frame_reason device_frame_measure(struct device_frame_walk *w,
						     const char *channel, json_t *x, int64_t t_ms,
						     bool *nomem)
{
	if (json_is_number(x))
		return device_frame_add(w, channel, "value", t_ms, json_number_value(x), nomem);
	if (json_is_string(x) || json_is_boolean(x) || json_is_null(x)) {
		w->out->n_skipped++;
		return DEVICE_FRAME_OK;
	}
	if (!json_is_object(x))
		return DEVICE_FRAME_BAD_SHAPE;
	const char *field;
	json_t *v;
	json_object_foreach(x, field, v)
	{
		if (!device_frame_name_ok(field, DEVICE_FIELD_MAX, false))
			return DEVICE_FRAME_BAD_SHAPE;
		if (json_is_number(v)) {
			enum device_frame_reason r =
			    device_frame_add(w, channel, field, t_ms, json_number_value(v), nomem);
			if (r != DEVICE_FRAME_OK || *nomem)
				return r;
		} else if (json_is_string(v) || json_is_boolean(v) || json_is_null(v)) {
			w->out->n_skipped++;
		} else {
			return DEVICE_FRAME_BAD_SHAPE;
		}
	}
	return DEVICE_FRAME_OK;
}

static enum device_frame_reason device_frame_channels(struct device_frame_walk *w, json_t *chans,
						      bool *nomem)
{
	const char *channel;
	json_t *x;

	if (!json_is_object(chans))
		return DEVICE_FRAME_BAD_SHAPE;
	if (json_object_size(chans) > DEVICE_FRAME_MAX_CHANNELS)
		return DEVICE_FRAME_TOO_MANY;
	json_object_foreach(chans, channel, x)
	{
		enum device_frame_reason r = DEVICE_FRAME_OK;

		if (!device_frame_name_ok(channel, DEVICE_CHANNEL_MAX, false))
			return DEVICE_FRAME_BAD_SHAPE;
		w->out->n_channels++;
		if (w->out->type == 1) {
			r = device_frame_measure(w, channel, x, w->ctx->now_ms, nomem);
		} else {
			const char *ts;
			json_t *y;
			if (!json_is_object(x))
				return DEVICE_FRAME_BAD_SHAPE;
			json_object_foreach(x, ts, y)
			{
				int64_t t;
				if (time_parse_rfc3339(ts, &t, NULL) != GA_OK)
					return DEVICE_FRAME_BAD_TIME;
				if (t > w->ctx->now_ms + DEVICE_FRAME_FUTURE_MS)
					return DEVICE_FRAME_FUTURE;
				r = device_frame_measure(w, channel, y, t, nomem);
				if (r != DEVICE_FRAME_OK || *nomem)
					return r;
			}
		}
		if (r != DEVICE_FRAME_OK || *nomem)
			return r;
	}
	return DEVICE_FRAME_OK;
}

ga_err device_frame_parse(const struct device_frame_context *ctx, const void *payload, size_t len,
			  struct device_frame *out, enum device_frame_reason *reason)
{
	const unsigned char *p = payload;
	const char *json;
	size_t json_len;
	json_t *root = NULL;
	json_error_t jerr;
	bool nomem = false;
	ga_err rc = GA_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	*reason = DEVICE_FRAME_BAD_JSON;

	if (len > DEVICE_FRAME_MAX_BYTES) {
		*reason = DEVICE_FRAME_TOO_BIG;
		goto out;
	}
	if (len == 0 || payload == NULL) {
		*reason = DEVICE_FRAME_EMPTY;
		goto out;
	}
	if (p[0] >= 1 && p[0] <= 4) {
		out->type = p[0];
		if (p[0] >= 3) {
			/* files and firmware: not ours to read */
			*reason = DEVICE_FRAME_IGNORED;
			rc = GA_OK;
			goto out;
		}
		if (len < 3) {
			*reason = DEVICE_FRAME_SHORT_HEADER;
			goto out;
		}
		size_t n = ((size_t)p[1] << 8) | p[2];
		if (n != len - 3) {
			*reason = DEVICE_FRAME_LENGTH;
			goto out;
		}
		json = (const char *)p + 3;
		json_len = n;
	} else if (p[0] < 0x20 && p[0] != ' ' && p[0] != '\t' && p[0] != '\r' && p[0] != '\n') {
		*reason = DEVICE_FRAME_BAD_TYPE;
		goto out;
	} else {
		out->type = 1; /* bare JSON */
		json = (const char *)p;
		json_len = len;
	}

	root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			rc = GA_ERR_NOMEM;
		} else if (json_error_code(&jerr) == json_error_numeric_overflow ||
			   device_frame_has_nonfinite_token(json, json_len)) {
			*reason = DEVICE_FRAME_NONFINITE;
		}
		goto out;
	}
	if (!json_is_object(root) || json_object_size(root) != 1) {
		*reason = DEVICE_FRAME_BAD_SHAPE;
		goto out;
	}
	const char *device = json_object_iter_key(json_object_iter(root));
	if (!device_frame_name_ok(device, DEVICE_CODE_MAX, true)) {
		*reason = DEVICE_FRAME_BAD_SHAPE;
		goto out;
	}
	snprintf(out->device_code, sizeof(out->device_code), "%s", device);
	if (ctx->topic_device != NULL && strcmp(ctx->topic_device, device) != 0) {
		*reason = DEVICE_FRAME_TOPIC_MISMATCH;
		goto out;
	}

	struct device_frame_walk w = {.ctx = ctx, .out = out};
	enum device_frame_reason r =
	    device_frame_channels(&w, json_object_get(root, device), &nomem);
	if (nomem) {
		rc = GA_ERR_NOMEM;
		goto out;
	}
	*reason = r;
	if (r != DEVICE_FRAME_OK)
		goto out;
	rc = GA_OK;
out:
	json_decref(root);
	if (rc != GA_OK) {
		/* keep device_code for accounting; drop partial points */
		free(out->points);
		out->points = NULL;
		out->n_points = 0;
	}
	return rc;
}

void device_frame_cleanup(struct device_frame *out)
{
	if (out == NULL)
		return;
	free(out->points);
	memset(out, 0, sizeof(*out));
}
