/* fuzz_device_frame.c - libFuzzer harness for device_frame_parse, which
 * reads every byte any client on the broker publishes to $dp or
 * geohazard/v1/dp/+ (spec §12).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_device_frame.c src/device_frame.c src/timeutil.c \
 *     src/error.c $(pkg-config --cflags --libs jansson libsodium) -lm
 *   ./a.out -max_len=70000 tests/fuzz/corpus/device_frame
 *
 * Beyond "does not crash": the result code and the reason agree, the
 * caps hold, every point is finite and named within its bounds, and the
 * same input gives the same answer with and without a topic device. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A fixed clock: the outcome must depend on the input only. */
	struct device_frame_context ctx = {.now_ms = INT64_C(1796621400000)};
	struct device_frame f;
	enum device_frame_reason r;
	ga_err rc = device_frame_parse(&ctx, data, size, &f, &r);

	if (rc == GA_ERR_NOMEM)
		goto out;
	if (rc == GA_OK && r != DEVICE_FRAME_OK && r != DEVICE_FRAME_IGNORED)
		abort();
	if (rc == GA_ERR_INVAL && (r == DEVICE_FRAME_OK || r == DEVICE_FRAME_IGNORED))
		abort();
	if (rc != GA_OK && f.n_points != 0)
		abort();
	if (r == DEVICE_FRAME_REASON_COUNT || r == DEVICE_FRAME_UNKNOWN_DEVICE)
		abort();
	if (size > DEVICE_FRAME_MAX_BYTES && r != DEVICE_FRAME_TOO_BIG)
		abort();
	if (f.n_points > DEVICE_FRAME_MAX_POINTS || f.n_channels > DEVICE_FRAME_MAX_CHANNELS)
		abort();
	if (strlen(f.device_code) > DEVICE_CODE_MAX)
		abort();
	for (size_t i = 0; i < f.n_points; i++) {
		const struct device_point *p = &f.points[i];
		if (!isfinite(p->value) || p->channel[0] == '\0' || p->field[0] == '\0')
			abort();
		if (p->t_ms > ctx.now_ms + DEVICE_FRAME_FUTURE_MS)
			abort();
	}
	/* naming the frame's own device on the topic changes nothing */
	if (rc == GA_OK && f.device_code[0] != '\0') {
		struct device_frame g;
		enum device_frame_reason r2;
		char dev[DEVICE_CODE_MAX + 1];
		memcpy(dev, f.device_code, sizeof(dev));
		ctx.topic_device = dev;
		if (device_frame_parse(&ctx, data, size, &g, &r2) == GA_OK &&
		    (r2 != r || g.n_points != f.n_points))
			abort();
		device_frame_cleanup(&g);
	}
out:
	device_frame_cleanup(&f);
	return 0;
}
