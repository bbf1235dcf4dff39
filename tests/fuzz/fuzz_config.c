/* fuzz_config.c - libFuzzer harness for config_load, the INI parser and
 * validator behind every command (an operator's file, but one that
 * check-config promises to judge, never to crash on). config_load takes a
 * path, so each input is written to one temp file.
 *
 * Built and run by tests/run.sh (all of src/ but main.c and cmd_*.c);
 * seeds: tests/fuzz/corpus/config/ (deploy/geoalert.example.ini among
 * them). The config names other files (registry, thresholds, secrets):
 * config_load only checks their syntax, never opens them, so the fuzzer
 * cannot be steered into reading the machine's files.
 *
 * Invariants checked on each input:
 *   - refused: GA_ERR_CONFIG or GA_ERR_IO, with a message that starts with
 *     the file's path (the "FILE:LINE: problem" contract);
 *   - accepted: every string of the result is NUL-terminated inside its
 *     array (strnlen), the counts are within their caps, and loading the
 *     same bytes again gives the same result (no hidden state). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CONFIG_ERR_MAX 768

static char fuzz_path[64];
static int fuzz_fd = -1;
static struct config *fuzz_a, *fuzz_b;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/fuzz_config_XXXXXX");
	if ((fuzz_fd = mkstemp(fuzz_path)) < 0)
		abort();
	if ((fuzz_a = malloc(sizeof(*fuzz_a))) == NULL ||
	    (fuzz_b = malloc(sizeof(*fuzz_b))) == NULL)
		abort();
	return 0;
}

#define FUZZ_STR_OK(s) (strnlen((s), sizeof(s)) < sizeof(s))

static void fuzz_check_strings(const struct config *c)
{
	if (!FUZZ_STR_OK(c->mqtt.url) || !FUZZ_STR_OK(c->mqtt.client_id) ||
	    !FUZZ_STR_OK(c->mqtt.share_group) || !FUZZ_STR_OK(c->store.path) ||
	    !FUZZ_STR_OK(c->http.listen))
		abort();
	if (c->nchannels < 0 || c->nchannels > CONFIG_MAX_CHANNELS)
		abort();
	if (c->mqtt.sessions < 1 || c->store.batch_max < 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FUZZ_CONFIG_ERR_MAX] = "", err2[FUZZ_CONFIG_ERR_MAX] = "";
	ga_err rc, rc2;

	if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	memset(fuzz_a, 0xa5, sizeof(*fuzz_a));
	rc = config_load(fuzz_path, fuzz_a, err, sizeof(err));
	if (rc != GA_OK) {
		if (rc != GA_ERR_CONFIG && rc != GA_ERR_IO)
			abort();
		if (strncmp(err, fuzz_path, strlen(fuzz_path)) != 0)
			abort();
		return 0;
	}
	fuzz_check_strings(fuzz_a);
	/* Same bytes, same answer. */
	memset(fuzz_b, 0x5a, sizeof(*fuzz_b));
	rc2 = config_load(fuzz_path, fuzz_b, err2, sizeof(err2));
	if (rc2 != GA_OK || strcmp(fuzz_a->mqtt.url, fuzz_b->mqtt.url) != 0 ||
	    strcmp(fuzz_a->store.path, fuzz_b->store.path) != 0 ||
	    fuzz_a->nchannels != fuzz_b->nchannels ||
	    fuzz_a->mqtt.sessions != fuzz_b->mqtt.sessions)
		abort();
	return 0;
}
