/* test_audit.c - the hash-chained audit trail on a real SQLite file: the
 * canonical form, the chain, the caps, rows committed or rolled back with
 * their transaction, the triggers, and audit_verify against rows edited,
 * re-hashed, deleted, renumbered or cut off the end behind the triggers'
 * back (a raw connection that drops them first, or on PostgreSQL turns
 * them off with session_replication_role). On SQLite and on PostgreSQL
 * (GA_TEST_STORE=pg, store_testutil.h). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit.h"
#include "store.h"
#include "store_testutil.h"

#define T0 1764000000000LL
#define NROWS 6

struct fixture {
	struct stest_fixture st;	      /* first: a pointer to it is one to st */
	char hash[NROWS + 1][STORE_HASH_HEX]; /* hash[seq] after fill() */
};

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct fixture), "audit", true);
	return 0;
}

static bool keep_hash(const struct store_audit_row *r, void *arg)
{
	struct fixture *f = arg;
	assert_true(r->seq >= 1 && r->seq <= NROWS);
	snprintf(f->hash[r->seq], STORE_HASH_HEX, "%s", r->hash);
	return true;
}

/* Appends NROWS rows, alternating officer / no officer, and keeps their
 * hashes. */
static void fill(struct fixture *f)
{
	char detail[64], subject[32];
	int64_t seq = 0;

	for (int i = 1; i <= NROWS; i++) {
		snprintf(detail, sizeof(detail), "{\"n\":%d,\"text\":\"第%d条\"}", i, i);
		snprintf(subject, sizeof(subject), "alert:JS-%d", i);
		assert_int_equal(
		    store_audit_append(f->st.s, T0 + i, 0, "draft.view", subject, detail, &seq),
		    GA_OK);
		assert_int_equal(seq, i);
	}
	assert_int_equal(store_audit_each(f->st.s, 0, keep_hash, f), GA_OK);
}

/* Runs sql on a connection of its own, as someone with the database
 * would: DB_OK or the backend's code (SQLite's extended codes). With
 * off_guards first the append-only triggers are off: SQLite drops them and
 * ignores CHECKs; PostgreSQL sets session_replication_role = replica, which
 * turns off user triggers and foreign keys (the test's role is a
 * superuser) but not CHECKs. */
static int raw_exec_as(struct fixture *f, bool off_guards, const char *sql)
{
	struct db *db = stest_raw_open(f->st.db.path);
	int rc = DB_OK;

	if (off_guards)
		rc = db_exec(db, db_kind(db) == DB_KIND_POSTGRES
				     ? "SET session_replication_role = replica"
				     : "DROP TRIGGER IF EXISTS audit_no_update;"
				       " DROP TRIGGER IF EXISTS audit_no_delete;"
				       " PRAGMA ignore_check_constraints = ON;");
	if (rc == DB_OK)
		rc = db_exec(db, sql);
	db_close(db);
	return rc;
}

static int raw_exec(struct fixture *f, const char *sql)
{
	return raw_exec_as(f, false, sql);
}

#define raw_exec_unguarded(f, sql) raw_exec_as((f), true, (sql))

/* What an UPDATE or DELETE of audit gives: SQLite's RAISE(ABORT) is
 * SQLITE_CONSTRAINT_TRIGGER; PostgreSQL's trigger raises 23001, which
 * db_pg maps to plain DB_CONSTRAINT (db.h). */
static int trigger_refused(void)
{
	return stest_pg() ? DB_CONSTRAINT : SQLITE_CONSTRAINT_TRIGGER;
}

static struct audit_verify_result verify(struct fixture *f, const struct audit_anchor *anchor)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify(f->st.s, anchor, &res), GA_OK);
	if (!res.ok)
		fprintf(stderr, "verify: seq %" PRId64 ": %s\n", res.first_bad_seq, res.problem);
	return res;
}

/* Asserts that store_audit_hash of r (the row of test_canonical_hash)
 * is the SHA-256 of its form built by hand, the officer field as given. */
static void expect_hash(const struct store_audit_row *r, const char *officer_field)
{
	char got[STORE_HASH_HEX], want[STORE_HASH_HEX], form[512];
	unsigned char h[crypto_hash_sha256_BYTES];
	int n = snprintf(form, sizeof(form),
			 "geoalert.audit/1\n1:7,13:1700000000123,%s,13:alert.confirm,10:alert:JS-1,"
			 "7:{\"a\":1},64:%s,",
			 officer_field, STORE_AUDIT_GENESIS);

	assert_true(n > 0 && (size_t)n < sizeof(form));
	crypto_hash_sha256(h, (const unsigned char *)form, (unsigned long long)n);
	sodium_bin2hex(want, sizeof(want), h, sizeof(h));
	store_audit_hash(r, got);
	assert_string_equal(got, want);
}

static void test_canonical_hash(void **state)
{
	struct store_audit_row r = {
	    .seq = 7,
	    .at_ms = 1700000000123,
	    .officer_id = 42,
	    .action = "alert.confirm",
	    .subject = "alert:JS-1",
	    .detail = "{\"a\":1}",
	    .prev_hash = STORE_AUDIT_GENESIS,
	};

	(void)state;
	/* The form documented in store.h, built by hand. */
	expect_hash(&r, "2:42");
	/* No officer is the empty field, not "0". */
	r.officer_id = 0;
	expect_hash(&r, "0:");

	/* Moving bytes from one field to the next changes the hash. */
	char a[STORE_HASH_HEX], b[STORE_HASH_HEX];
	r.action = "ab";
	r.subject = "c";
	store_audit_hash(&r, a);
	r.action = "a";
	r.subject = "bc";
	store_audit_hash(&r, b);
	assert_string_not_equal(a, b);
}

static void test_chain_verifies(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res = verify(f, NULL);

	/* Empty is fine. */
	assert_true(res.ok);
	assert_int_equal(res.rows, 0);
	assert_int_equal(res.last_seq, 0);
	assert_string_equal(res.last_hash, STORE_AUDIT_GENESIS);

	fill(f);
	res = verify(f, NULL);
	assert_true(res.ok);
	assert_int_equal(res.rows, NROWS);
	assert_int_equal(res.last_seq, NROWS);
	assert_string_equal(res.last_hash, f->hash[NROWS]);
	assert_int_equal(res.first_bad_seq, 0);

	/* A second connection (the CLI beside the daemon) continues the chain. */
	struct store *s2 = stest_open(f->st.db.path, 0);
	int64_t seq = 0;
	assert_int_equal(
	    store_audit_append(s2, T0 + 100, 0, "officer.add", "officer:1", NULL, &seq), GA_OK);
	assert_int_equal(seq, NROWS + 1);
	store_close(s2);
	assert_int_equal(
	    audit_record(f->st.s, 0, "login.fail", "officer:x", "{\"remote\":\"::1\"}"), GA_OK);
	res = verify(f, NULL);
	assert_true(res.ok);
	assert_int_equal(res.rows, NROWS + 2);

	/* An anchor taken now holds. */
	struct audit_anchor anchor = {.seq = 3};
	snprintf(anchor.hash, sizeof(anchor.hash), "%s", f->hash[3]);
	assert_true(verify(f, &anchor).ok);
}

static void test_transaction(void **state)
{
	struct fixture *f = *state;
	int64_t seq = 0;

	/* Rolled back with the transaction it was part of... */
	assert_int_equal(store_begin(f->st.s), GA_OK);
	assert_int_equal(audit_record(f->st.s, 0, "draft.make", "alert:A", NULL), GA_OK);
	assert_int_equal(store_rollback(f->st.s), GA_OK);
	assert_int_equal(verify(f, NULL).rows, 0);
	/* ...committed with it, and the seq continues without a gap. */
	assert_int_equal(store_begin(f->st.s), GA_OK);
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "draft.make", "alert:A", NULL, &seq),
			 GA_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "draft.view", "alert:A", NULL, &seq),
			 GA_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(store_commit(f->st.s), GA_OK);
	struct audit_verify_result res = verify(f, NULL);
	assert_true(res.ok);
	assert_int_equal(res.rows, 2);
}

static bool detail_cb(const struct store_audit_row *r, void *arg)
{
	snprintf(arg, 128, "%s|%s|%s|%" PRId64, r->detail, r->subject, r->action, r->officer_id);
	return false; /* the first row only */
}

static void test_caps_and_json(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(STORE_AUDIT_DETAIL_MAX + 2);
	char action[STORE_AUDIT_ACTION_MAX + 2], subject[STORE_AUDIT_SUBJECT_MAX + 2], got[128];

	assert_non_null(big);
	/* json_object with keys out of order: stored sorted and compact. */
	json_t *d = json_pack("{s:i, s:s}", "zeta", 1, "alpha", "x");
	assert_int_equal(audit_record_json(f->st.s, 0, "draft.edit", "alert:B", d), GA_OK);
	json_decref(d);
	assert_int_equal(store_audit_each(f->st.s, 0, detail_cb, got), GA_OK);
	assert_string_equal(got, "{\"alpha\":\"x\",\"zeta\":1}|alert:B|draft.edit|0");

	/* Caps: at each, and one past. */
	memset(action, 'a', sizeof(action));
	action[STORE_AUDIT_ACTION_MAX] = '\0';
	assert_int_equal(store_audit_append(f->st.s, T0, 0, action, NULL, NULL, NULL), GA_OK);
	action[STORE_AUDIT_ACTION_MAX] = 'a';
	action[STORE_AUDIT_ACTION_MAX + 1] = '\0';
	assert_int_equal(store_audit_append(f->st.s, T0, 0, action, NULL, NULL, NULL),
			 GA_ERR_TOOBIG);
	memset(subject, 's', sizeof(subject));
	subject[STORE_AUDIT_SUBJECT_MAX] = '\0';
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "x", subject, NULL, NULL), GA_OK);
	subject[STORE_AUDIT_SUBJECT_MAX] = 's';
	subject[STORE_AUDIT_SUBJECT_MAX + 1] = '\0';
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "x", subject, NULL, NULL),
			 GA_ERR_TOOBIG);
	/* "[" + "1,1,...,1" + "]" exactly STORE_AUDIT_DETAIL_MAX bytes (odd length). */
	size_t n = STORE_AUDIT_DETAIL_MAX;
	big[0] = '[';
	for (size_t i = 1; i < n - 1; i++)
		big[i] = (i % 2) ? '1' : ',';
	big[n - 1] = ']';
	big[n] = '\0';
	if (big[n - 2] == ',') { /* keep it valid JSON whatever the parity */
		big[n - 2] = ' ';
	}
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "x", NULL, big, NULL), GA_OK);
	big[n] = ' ';
	big[n + 1] = '\0';
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "x", NULL, big, NULL), GA_ERR_TOOBIG);
	free(big);

	assert_int_equal(store_audit_append(f->st.s, T0, 0, "", NULL, NULL, NULL), GA_ERR_INVAL);
	assert_int_equal(store_audit_append(f->st.s, T0, 0, NULL, NULL, NULL, NULL), GA_ERR_INVAL);
	assert_int_equal(store_audit_append(f->st.s, T0, 0, "x", NULL, "{not json", NULL),
			 GA_ERR_INVAL);
	/* An unknown officer is refused (foreign key). */
	assert_int_not_equal(store_audit_append(f->st.s, T0, 999, "x", NULL, NULL, NULL), GA_OK);
	/* None of the refused rows left a hole. */
	struct audit_verify_result res = verify(f, NULL);
	assert_true(res.ok);
	assert_int_equal(res.rows, 4);
}

static void test_triggers_block(void **state)
{
	struct fixture *f = *state;

	fill(f);
	assert_int_equal(raw_exec(f, "UPDATE audit SET detail = '{}' WHERE seq = 2"),
			 trigger_refused());
	assert_int_equal(raw_exec(f, "DELETE FROM audit WHERE seq = 2"), trigger_refused());
	assert_int_equal(raw_exec(f, "DELETE FROM audit"), trigger_refused());
	assert_true(verify(f, NULL).ok);
	assert_int_equal(verify(f, NULL).rows, NROWS);
}

static void test_tamper_edit(void **state)
{
	struct fixture *f = *state;

	fill(f);
	assert_int_equal(raw_exec_unguarded(f, "UPDATE audit SET detail = '{\"n\":99}'"
					       " WHERE seq = 3"),
			 DB_OK);
	struct audit_verify_result res = verify(f, NULL);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 3);
	assert_non_null(strstr(res.problem, "edited"));
	assert_int_equal(res.rows, 2);
	assert_int_equal(res.last_seq, 2);
	assert_string_equal(res.last_hash, f->hash[2]);
}

static void test_tamper_edit_other_fields(void **state)
{
	struct fixture *f = *state;
	/* sqlite_only: tampering SQLite's untyped columns allow and
	 * PostgreSQL's cannot store (a NUL in TEXT, text in a BIGINT). */
	static const struct {
		const char *sql;
		bool sqlite_only;
	} edits[] = {
	    {"UPDATE audit SET at_ms = at_ms + 1 WHERE seq = 4", false},
	    /* foreign keys are off on this connection: any id goes. */
	    {"UPDATE audit SET officer_id = 1 WHERE seq = 4", false},
	    {"UPDATE audit SET action = 'draft.confirm' WHERE seq = 4", false},
	    {"UPDATE audit SET subject = 'alert:X' WHERE seq = 4", false},
	    {"UPDATE audit SET prev_hash = hash WHERE seq = 4", false},
	    /* Text past a NUL would not be hashed: such a row must fail too. */
	    {"UPDATE audit SET detail = detail || char(0) || 'evil' WHERE seq = 4", true},
	    {"UPDATE audit SET at_ms = at_ms || 'x' WHERE seq = 4",
	     true}, /* reads as the same integer */
	};

	fill(f);
	assert_int_equal(raw_exec_unguarded(f, "CREATE TABLE bak AS SELECT * FROM audit"), DB_OK);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		if (edits[i].sqlite_only && stest_pg())
			continue;
		assert_int_equal(raw_exec_unguarded(f, edits[i].sql), DB_OK);
		struct audit_verify_result res = verify(f, NULL);
		if (res.ok)
			fprintf(stderr, "not detected: %s\n", edits[i].sql);
		assert_false(res.ok);
		assert_int_equal(res.first_bad_seq, 4);
		/* Put the chain back for the next edit. */
		assert_int_equal(raw_exec_unguarded(
				     f, "DELETE FROM audit; INSERT INTO audit SELECT * FROM bak;"),
				 DB_OK);
		assert_true(verify(f, NULL).ok);
	}
}

static void test_tamper_rehash(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row r = {
	    .seq = 3,
	    .at_ms = T0 + 3,
	    .action = "draft.view",
	    .subject = "alert:JS-3",
	    .detail = "{\"n\":3,\"text\":\"nothing here\"}",
	};
	char hash[STORE_HASH_HEX], sql[512];

	fill(f);
	/* Edit row 3 and give it a correct hash: row 4 no longer chains. */
	r.prev_hash = f->hash[2];
	store_audit_hash(&r, hash);
	snprintf(sql, sizeof(sql), "UPDATE audit SET detail = '%s', hash = '%s' WHERE seq = 3",
		 r.detail, hash);
	assert_int_equal(raw_exec_unguarded(f, sql), DB_OK);
	struct audit_verify_result res = verify(f, NULL);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 4);
	assert_non_null(strstr(res.problem, "prev_hash"));
}

static void test_tamper_delete_middle(void **state)
{
	struct fixture *f = *state;

	fill(f);
	assert_int_equal(raw_exec_unguarded(f, "DELETE FROM audit WHERE seq = 3"), DB_OK);
	struct audit_verify_result res = verify(f, NULL);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 3);
	assert_non_null(strstr(res.problem, "missing"));

	/* Two in a row are named as a range. */
	assert_int_equal(raw_exec_unguarded(f, "DELETE FROM audit WHERE seq = 4"), DB_OK);
	res = verify(f, NULL);
	assert_int_equal(res.first_bad_seq, 3);
	assert_non_null(strstr(res.problem, "rows 3..4"));
}

static void test_tamper_delete_renumber(void **state)
{
	struct fixture *f = *state;

	fill(f);
	/* Delete row 3 and close the gap: row 4, now 3, does not chain. */
	assert_int_equal(raw_exec_unguarded(f, "DELETE FROM audit WHERE seq = 3;"
					       " UPDATE audit SET seq = seq - 1 WHERE seq > 3;"),
			 DB_OK);
	struct audit_verify_result res = verify(f, NULL);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 3);

	/* Deleting the first row and renumbering is caught at row 1. */
	stest_teardown(state);
	setup(state);
	f = *state;
	fill(f);
	assert_int_equal(raw_exec_unguarded(f, "DELETE FROM audit WHERE seq = 1;"
					       " UPDATE audit SET seq = seq - 1;"),
			 DB_OK);
	res = verify(f, NULL);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 1);
	assert_non_null(strstr(res.problem, "genesis"));
}

static void test_tail_needs_anchor(void **state)
{
	struct fixture *f = *state;
	struct audit_anchor anchor = {.seq = NROWS};

	fill(f);
	snprintf(anchor.hash, sizeof(anchor.hash), "%s", f->hash[NROWS]);
	assert_int_equal(raw_exec_unguarded(f, "DELETE FROM audit WHERE seq >= 5"), DB_OK);
	/* Without an anchor a cut tail is a valid, shorter chain (audit.h). */
	struct audit_verify_result res = verify(f, NULL);
	assert_true(res.ok);
	assert_int_equal(res.last_seq, 4);
	/* With one, it is caught. */
	res = verify(f, &anchor);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 5);
	assert_non_null(strstr(res.problem, "tail"));
	/* An anchor whose hash differs: the chain up to it was rewritten. */
	anchor.seq = 2;
	snprintf(anchor.hash, sizeof(anchor.hash), "%s", f->hash[3]);
	res = verify(f, &anchor);
	assert_false(res.ok);
	assert_int_equal(res.first_bad_seq, 2);
	assert_non_null(strstr(res.problem, "anchor"));
}

static void test_anchor_parse(void **state)
{
	struct audit_anchor a;
	char text[AUDIT_ANCHOR_MAX + 8];

	(void)state;
	snprintf(text, sizeof(text), "12:%s",
		 "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	assert_int_equal(audit_anchor_parse(text, &a), GA_OK);
	assert_int_equal(a.seq, 12);
	assert_string_equal(a.hash,
			    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	assert_int_equal(audit_anchor_parse("12", &a), GA_ERR_INVAL);
	assert_int_equal(audit_anchor_parse("0:" STORE_AUDIT_GENESIS, &a), GA_ERR_INVAL);
	assert_int_equal(audit_anchor_parse("-1:" STORE_AUDIT_GENESIS, &a), GA_ERR_INVAL);
	assert_int_equal(audit_anchor_parse("1:" STORE_AUDIT_GENESIS "0", &a), GA_ERR_INVAL);
	assert_int_equal(audit_anchor_parse("1:0000", &a), GA_ERR_INVAL);
	assert_int_equal(
	    audit_anchor_parse("1:"
			       "g000000000000000000000000000000000000000000000000000000000000000",
			       &a),
	    GA_ERR_INVAL);
	assert_int_equal(audit_anchor_parse(NULL, &a), GA_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canonical_hash),
	    cmocka_unit_test_setup_teardown(test_chain_verifies, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_transaction, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_caps_and_json, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_triggers_block, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_edit, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_edit_other_fields, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_rehash, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_delete_middle, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_delete_renumber, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_tail_needs_anchor, setup, stest_teardown),
	    cmocka_unit_test(test_anchor_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
