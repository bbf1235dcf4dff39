/* fuzz_registry.c - libFuzzer harness for registry_load, which parses the
 * station registry an operator (or whoever can write that file) supplies.
 * registry_load takes a path, so each input is written to one temp file.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DGA_DATADIR=\"$PWD\" \
 *     tests/fuzz/fuzz_registry.c src/registry.c src/hazard.c src/error.c \
 *     src/log.c src/geo.c src/geo_region.c src/geo_transform.c \
 *     $(pkg-config --cflags --libs jansson proj) -lm -lpthread
 *   ./a.out -max_len=8192 tests/fuzz/corpus/registry
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];
static int fuzz_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry *r = NULL, *const sentinel = (struct registry *)&fuzz_fd;
	char err[512] = "";
	ga_err rc;

	if (fuzz_fd < 0) {
		snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/fuzz_registry_XXXXXX");
		if ((fuzz_fd = mkstemp(fuzz_path)) < 0)
			abort();
	}
	if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	r = sentinel;
	rc = registry_load(fuzz_path, NULL, &r, err, sizeof(err));
	if (rc != GA_OK) {
		/* Refused: a message naming the file, *out untouched. */
		if (r != sentinel || strncmp(err, fuzz_path, strlen(fuzz_path)) != 0)
			abort();
		return 0;
	}
	if (r == sentinel || registry_count(r) > REGISTRY_MAX_STATIONS)
		abort();
	/* Loaded: lookups work (ASan watches the sorted array). */
	(void)registry_find(r, "JS-3201-0007");
	(void)registry_find(r, "");
	registry_free(r);
	return 0;
}
