/* device_frame.h - the data frames of universal monitoring devices
 * (普适型监测设备, spec §12): the 3-byte header of types 1 and 2, bare
 * JSON read as type 1, types 3 and 4 recognised and ignored, and every
 * way a frame can be malformed as a reason code that /metrics counts.
 *
 * The parser trusts nothing: the payload comes from any device (or any
 * client) on the broker. It knows nothing of the device registry; the
 * caller checks the device and its channels afterwards. */
#ifndef GA_DEVICE_FRAME_H
#define GA_DEVICE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Caps. A payload past DEVICE_FRAME_MAX_BYTES is refused before any
 * parsing; a frame past the channel or point cap is refused whole (a
 * device sending that much is broken, and half a frame would be a lie). */
#define DEVICE_FRAME_MAX_BYTES 65536
#define DEVICE_FRAME_MAX_CHANNELS 64
#define DEVICE_FRAME_MAX_POINTS 2048
#define DEVICE_CODE_MAX 64
#define DEVICE_CHANNEL_MAX 32
#define DEVICE_FIELD_MAX 32
/* How far in the future a measurement time may lie (device clocks
 * drift; more than this is a wrong clock, not drift). */
#define DEVICE_FRAME_FUTURE_MS (10 * 60 * 1000)

/* Why a frame was not taken. DEVICE_FRAME_OK and DEVICE_FRAME_IGNORED
 * are not malformed; every other code is. The names (device_frame_
 * reason_name) are the /metrics label values and are stable. */
enum device_frame_reason {
	DEVICE_FRAME_OK = 0,
	DEVICE_FRAME_IGNORED,	     /* type 3 (file) or 4 (firmware) */
	DEVICE_FRAME_TOO_BIG,	     /* payload > DEVICE_FRAME_MAX_BYTES */
	DEVICE_FRAME_EMPTY,	     /* zero bytes */
	DEVICE_FRAME_SHORT_HEADER,   /* type byte without its 2 length bytes */
	DEVICE_FRAME_LENGTH,	     /* header length != rest of payload */
	DEVICE_FRAME_BAD_TYPE,	     /* first byte neither a type nor JSON */
	DEVICE_FRAME_BAD_JSON,	     /* not JSON, or not valid UTF-8 */
	DEVICE_FRAME_BAD_SHAPE,	     /* JSON, but not the shape of §12 */
	DEVICE_FRAME_NONFINITE,	     /* NaN, Infinity or a number overflowing */
	DEVICE_FRAME_BAD_TIME,	     /* type 2 key not RFC 3339 */
	DEVICE_FRAME_FUTURE,	     /* time > now + DEVICE_FRAME_FUTURE_MS */
	DEVICE_FRAME_TOPIC_MISMATCH, /* outer key != the topic's device */
	DEVICE_FRAME_TOO_MANY,	     /* channels or points past their cap */
	DEVICE_FRAME_UNKNOWN_DEVICE, /* set by the caller: not registered */
	DEVICE_FRAME_REASON_COUNT
};

/* The stable snake_case name of reason; "unknown" past the enum. */
const char *device_frame_reason_name(enum device_frame_reason reason);

/* One measured value: a channel's field at a time. A scalar channel
 * value has the field "value". */
struct device_point {
	char channel[DEVICE_CHANNEL_MAX + 1];
	char field[DEVICE_FIELD_MAX + 1];
	int64_t t_ms;
	double value;
};

struct device_frame {
	int type; /* 1, 2 (bare JSON is 1), or 3/4 when ignored */
	char device_code[DEVICE_CODE_MAX + 1];
	size_t n_channels;
	size_t n_points;
	struct device_point *points; /* owned; n_points of them */
	size_t n_skipped;	     /* string/bool/null fields, not stored */
};

struct device_frame_context {
	int64_t now_ms;		  /* the time of a type-1 frame; future check */
	const char *topic_device; /* from geohazard/v1/dp/{code}; NULL for $dp */
};

/* Parses payload (len bytes, not NUL-terminated) into out, which the
 * caller later passes to device_frame_cleanup whatever the result.
 * Returns GA_OK with *reason DEVICE_FRAME_OK (points filled) or
 * DEVICE_FRAME_IGNORED (types 3/4, no points); GA_ERR_INVAL with the
 * malformation in *reason (out->device_code set when it could be read,
 * for per-device accounting); GA_ERR_NOMEM. */
ga_err device_frame_parse(const struct device_frame_context *ctx, const void *payload, size_t len,
			  struct device_frame *out, enum device_frame_reason *reason);

/* Frees what out owns and zeroes it. Accepts a zeroed frame. */
void device_frame_cleanup(struct device_frame *out);

#endif
