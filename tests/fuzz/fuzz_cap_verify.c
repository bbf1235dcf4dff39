/* fuzz_cap_verify.c - libFuzzer harness for cap_sign_verify, which reads
 * a CAP document someone hands to `geoalert verify FILE.xml`: any bytes
 * must give GA_OK or GA_ERR_INVAL with a message, never a crash, a leak or
 * a transform other than the few it allows. The key is the one the
 * corpus's signed.xml was made with (tests/fuzz/corpus/cap_verify/key.pub).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_DEFAULT_SOURCE \
 *     -DGA_DATADIR=\"$PWD\" -Isrc tests/fuzz/fuzz_cap_verify.c \
 *     src/cap_sign.c src/cap_sign_key.c src/error.c src/log.c \
 *     $(pkg-config --cflags --libs xmlsec1-openssl) -lpthread
 *   ./a.out -max_len=20000 tests/fuzz/corpus/cap_verify
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cap_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cap_sign_key *fuzz_key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512], err[512];

	if (fuzz_key == NULL &&
	    cap_sign_pubkey_load(GA_DATADIR "/tests/fuzz/corpus/cap_verify/key.pub", &fuzz_key, err,
				 sizeof(err)) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	msg[0] = '\0';
	ga_err e = cap_sign_verify(fuzz_key, (const char *)data, size, msg, sizeof(msg));
	if (e != GA_OK && e != GA_ERR_INVAL)
		abort();
	if (e == GA_ERR_INVAL && msg[0] == '\0')
		abort();
	return 0;
}
