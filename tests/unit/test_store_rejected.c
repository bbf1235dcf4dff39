/* test_store_rejected.c - a rejected payload keeps at most its first
 * STORE_REJECTED_RAW_MAX bytes, with the whole payload's length and
 * SHA-256 (tested at the cap, one past it, and at 5 MiB; given whole or
 * as a head with the hash computed by the caller). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "store_testutil.h"

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "rejected", true);
	return 0;
}

/* The last rejected row: raw's length and first bytes, raw_len, raw_sha256. */
static void expect_row(const char *path, const unsigned char *payload, size_t total)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	size_t kept = total < STORE_REJECTED_RAW_MAX ? total : STORE_REJECTED_RAW_MAX;

	crypto_hash_sha256(h, payload, total);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	struct db *db = stest_raw_open(path);
	struct db_stmt *st =
	    stest_raw_row(db, "SELECT raw, raw_len, raw_sha256 FROM rejected ORDER BY id DESC");
	assert_int_equal(db_column_bytes(st, 0), (int)kept);
	assert_memory_equal(db_column_blob(st, 0), payload, kept);
	assert_int_equal(db_column_int64(st, 1), (int64_t)total);
	assert_string_equal(db_column_text(st, 2), hex);
	db_finalize(st);
	db_close(db);
}

static void test_raw_capped(void **state)
{
	struct stest_fixture *f = *state;
	size_t big = 5u << 20;
	unsigned char *p = malloc(big), h[crypto_hash_sha256_BYTES];
	const size_t sizes[] = {0, 1, STORE_REJECTED_RAW_MAX, STORE_REJECTED_RAW_MAX + 1, big};

	assert_non_null(p);
	for (size_t i = 0; i < big; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 16));
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		print_message("%zu bytes, whole\n", sizes[k]);
		assert_int_equal(store_begin(f->s), GA_OK);
		assert_int_equal(
		    store_rejected_put(f->s, "t", p, sizes[k], sizes[k], NULL, 1, "[]"), GA_OK);
		assert_int_equal(store_commit(f->s), GA_OK);
		expect_row(f->db.path, p, sizes[k]);

		/* as ingest hands it: the head and the hash of the whole */
		size_t head = sizes[k] < STORE_REJECTED_RAW_MAX ? sizes[k] : STORE_REJECTED_RAW_MAX;
		print_message("%zu bytes, head of %zu\n", sizes[k], head);
		crypto_hash_sha256(h, p, sizes[k]);
		assert_int_equal(store_begin(f->s), GA_OK);
		assert_int_equal(store_rejected_put(f->s, "t", p, head, sizes[k], h, 2, "[]"),
				 GA_OK);
		assert_int_equal(store_commit(f->s), GA_OK);
		expect_row(f->db.path, p, sizes[k]);
	}
	/* a head longer than the whole, or a head without its hash: refused */
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_rejected_put(f->s, "t", p, 10, 9, h, 3, "[]"), GA_ERR_INVAL);
	assert_int_equal(store_rejected_put(f->s, "t", p, 10, 11, NULL, 3, "[]"), GA_ERR_INVAL);
	assert_int_equal(store_commit(f->s), GA_OK);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_raw_capped, setup, stest_teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
