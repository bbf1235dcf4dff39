/* fuzz_report.c - libFuzzer harness for report_parse, the function that
 * sees every byte a station (or an attacker on the broker) sends.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_report.c src/report.c src/report_check.c \
 *     src/timeutil.c src/hazard.c src/error.c src/log.c src/geo*.c \
 *     src/registry.c \
 *     $(pkg-config --cflags --libs jansson proj) -lm -lpthread
 *   ./a.out -max_len=70000 tests/fuzz/corpus/report
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A fixed clock: the outcome must depend on the input only. */
	const struct report_context ctx = {.now_ms = INT64_C(1795675920000)};
	struct report r;
	struct report_errors errs;
	ga_err rc = report_parse(&ctx, data, size, &r, &errs);

	if (rc == GA_OK && errs.n != 0)
		abort();
	if (rc == GA_ERR_INVAL && errs.n == 0)
		abort();
	if (r.report_id != NULL && strlen(r.report_id) > REPORT_ID_MAX)
		abort();
	/* The receipt must always serialise. */
	json_t *j = report_errors_to_json(&errs);
	if (j == NULL)
		abort();
	char *s = json_dumps(j, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(j);
	report_cleanup(&r);
	return 0;
}
