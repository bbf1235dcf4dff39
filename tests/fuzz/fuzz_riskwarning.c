/* fuzz_riskwarning.c - libFuzzer harness for riskwarning_parse, which
 * sees every byte a forecasting system (or an attacker on the broker or
 * with an officer's token) sends as a risk warning product. The bundled
 * regions are loaded once so that city-code expansion and the
 * county-in-two-levels rule are exercised too.
 *
 *   tests/run.sh builds it with every library source; by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     -DGA_DATADIR="\"$PWD\"" tests/fuzz/fuzz_riskwarning.c src/riskwarning.c \
 *     src/report.c src/report_check.c src/text.c src/timeutil.c src/hazard.c \
 *     src/error.c src/log.c src/geo*.c src/registry.c \
 *     $(pkg-config --cflags --libs jansson proj) -lm -lpthread
 *   ./a.out -max_len=70000 tests/fuzz/corpus/riskwarning
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riskwarning.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct geo *fuzz_geo;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct geo_options opt;
	char err[512];

	memset(&opt, 0, sizeof(opt));
	opt.service_area = "32";
	fuzz_geo = geo_new(&opt, err, sizeof(err));
	if (fuzz_geo == NULL) {
		fprintf(stderr, "geo_new: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A fixed clock: the outcome must depend on the input only. */
	const struct riskwarning_context ctx = {.geo = fuzz_geo, .now_ms = INT64_C(1796635800000)};
	struct riskwarning w;
	struct report_errors errs;
	ga_err rc = riskwarning_parse(&ctx, data, size, &w, &errs);

	if (rc == GA_OK && errs.n != 0)
		abort();
	if (rc == GA_ERR_INVAL && errs.n == 0)
		abort();
	if (w.product_id != NULL && strlen(w.product_id) > REPORT_ID_MAX)
		abort();
	if (rc == GA_OK) {
		/* A valid product names each county once, sorted, at one level. */
		if (w.ncounties < 1 || w.ncounties > RISKWARNING_MAX_COUNTIES)
			abort();
		for (int i = 1; i < w.ncounties; i++) {
			const struct riskwarning_county *a = &w.counties[i - 1],
							*b = &w.counties[i];
			if (a->level > b->level ||
			    (a->level == b->level && strcmp(a->admin_code, b->admin_code) >= 0))
				abort();
		}
		if (w.valid_to_ms <= w.valid_from_ms ||
		    w.valid_to_ms - w.valid_from_ms > RISKWARNING_MAX_PERIOD_MS)
			abort();
	}
	/* The receipt must always serialise. */
	json_t *j = report_errors_to_json(&errs);
	if (j == NULL)
		abort();
	char *s = json_dumps(j, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(j);
	riskwarning_cleanup(&w);
	return 0;
}
