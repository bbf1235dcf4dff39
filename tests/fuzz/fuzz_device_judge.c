/* fuzz_device_judge.c - libFuzzer harness for the judging path behind
 * device_frame_parse: whatever points a well-formed frame carries (any
 * times, any values, any order), device_judge_feed must keep its
 * windows and levels sane. The frame's points are fed as the spec
 * example's device, whose rules cover change_24h, rate_per_day,
 * tangent_angle on GNSS horizontal, and sum_24h; one judge lives across
 * inputs, so state built by earlier inputs is exercised too.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     -DGA_DATADIR="\"$PWD\"" tests/fuzz/fuzz_device_judge.c \
 *     src/device_*.c src/registry.c src/timeutil.c src/error.c src/file.c \
 *     src/log.c src/hazard.c src/geo*.c \
 *     $(pkg-config --cflags --libs jansson libsodium proj) -lm -lpthread
 *   ./a.out tests/fuzz/corpus/device_judge
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_frame.h"
#include "device_judge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CODE "SK00EA0D1307986"

static struct device_registry *reg;
static struct device_judge *judge;

static void fuzz_setup(void)
{
	char path[1024], err[512];
	struct device_judge_options opt = {.confirm_points = 2, .clear_after_ms = 3600000};

	snprintf(path, sizeof(path), "%s/tests/data/devices/devices.json", GA_DATADIR);
	if (device_registry_load(path, NULL, &reg, err, sizeof(err)) != GA_OK ||
	    device_judge_new(reg, &opt, &judge) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct device_frame_context ctx = {.now_ms = INT64_C(1796621400000)};
	struct device_frame f;
	enum device_frame_reason r;
	struct device_judge_change ch[8];
	size_t n = 0;

	if (judge == NULL)
		fuzz_setup();
	if (device_frame_parse(&ctx, data, size, &f, &r) == GA_OK) {
		enum device_level before = device_judge_level(judge, "JS-3201-0007");
		if (device_judge_feed(judge, CODE, f.points, f.n_points, ch, 8, &n) != GA_OK)
			abort();
		if (n > 8)
			abort();
		enum device_level prev = before;
		for (size_t i = 0; i < n; i++) {
			if (ch[i].from != prev || ch[i].to == ch[i].from ||
			    (unsigned)ch[i].to >= DEVICE_LEVEL_COUNT)
				abort();
			prev = ch[i].to;
		}
		if ((unsigned)device_judge_level(judge, "JS-3201-0007") >= DEVICE_LEVEL_COUNT)
			abort();
		for (size_t i = 0; i < 4; i++) {
			const struct device_judge_rule_state *s = device_judge_rule(judge, CODE, i);
			if (s == NULL || (unsigned)s->level >= DEVICE_LEVEL_COUNT)
				abort();
		}
		const struct device_window *w =
		    device_judge_window(judge, CODE, "L1_LF_1", "value");
		if (w == NULL || (w->latest_ms >= 0 && !isfinite(w->latest_v)))
			abort();
	}
	device_frame_cleanup(&f);
	return 0;
}
