/* test_officer.c - officers on a real SQLite file in a temporary
 * directory: roles and the permission table, names, API tokens (round
 * trip, wrong token, only the hash on disk), argon2id passwords, the
 * refusal of common and trivial passwords (and the caps of their list),
 * console login, disabling, enabling and new tokens, sessions and login
 * attempts. */
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
#include "officer.h"
#include "store.h"
#include "store_testutil.h"

#define T0 1764000000000LL

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "officer", true);
	return 0;
}

static void add(struct stest_fixture *f, const char *name, enum officer_role role, const char *pw,
		char token[OFFICER_TOKEN_MAX], struct officer *o)
{
	char msg[256];
	ga_err e = officer_add(f->s, name, role, pw, 0, T0, token, o, msg, sizeof(msg));
	if (e != GA_OK)
		fprintf(stderr, "officer_add: %s\n", msg);
	assert_int_equal(e, GA_OK);
}

static void test_role_names(void **state)
{
	enum officer_role r;

	(void)state;
	for (int i = 0; i < OFFICER_ROLE_COUNT; i++) {
		assert_int_equal(officer_role_parse(officer_role_name((enum officer_role)i), &r),
				 GA_OK);
		assert_int_equal(r, i);
	}
	assert_string_equal(officer_role_name(OFFICER_SUPERVISOR), "supervisor");
	assert_int_equal(officer_role_parse("root", &r), GA_ERR_INVAL);
	assert_int_equal(officer_role_parse("Admin", &r), GA_ERR_INVAL);
	assert_int_equal(officer_role_parse(NULL, &r), GA_ERR_INVAL);
	assert_string_equal(officer_role_name(OFFICER_ROLE_COUNT), "?");
}

static void test_permissions(void **state)
{
	/* The table of the issue, spelled out. */
	static const struct {
		enum officer_action a;
		bool duty, super, admin;
	} want[] = {
	    {OFFICER_VIEW, true, true, true},	 {OFFICER_EDIT, true, true, true},
	    {OFFICER_CONFIRM, true, true, true}, {OFFICER_REJECT, true, true, true},
	    {OFFICER_CANCEL, false, true, true}, {OFFICER_RESEND, false, true, true},
	    {OFFICER_AUDIT, false, false, true}, {OFFICER_OFFICERS, false, false, true},
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), OFFICER_ACTION_COUNT);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(officer_may(OFFICER_DUTY_OFFICER, want[i].a), want[i].duty);
		assert_int_equal(officer_may(OFFICER_SUPERVISOR, want[i].a), want[i].super);
		assert_int_equal(officer_may(OFFICER_ADMIN, want[i].a), want[i].admin);
	}
	assert_false(officer_may(OFFICER_ROLE_COUNT, OFFICER_VIEW));
	assert_false(officer_may(OFFICER_ADMIN, OFFICER_ACTION_COUNT));
	assert_string_equal(officer_action_name(OFFICER_CONFIRM), "confirm");
}

static void test_names(void **state)
{
	char name[OFFICER_NAME_MAX + 1];

	(void)state;
	assert_true(officer_name_valid("alice"));
	assert_true(officer_name_valid("wang.li-2"));
	assert_true(officer_name_valid("王丽"));
	assert_false(officer_name_valid(""));
	assert_false(officer_name_valid(NULL));
	assert_false(officer_name_valid("a b"));
	assert_false(officer_name_valid("a/b"));
	assert_false(officer_name_valid("a\tb"));
	assert_false(officer_name_valid("a\x7f"));
	assert_false(officer_name_valid("\xff"));
	assert_false(officer_name_valid("\xc0\xaf"));	  /* overlong '/' */
	assert_false(officer_name_valid("\xed\xa0\x80")); /* surrogate */
	assert_false(officer_name_valid("\xe7\x8e"));	  /* cut short */
	/* At the cap and one past it. */
	memset(name, 'a', sizeof(name));
	name[OFFICER_NAME_MAX - 1] = '\0';
	assert_true(officer_name_valid(name));
	name[OFFICER_NAME_MAX - 1] = 'a';
	name[OFFICER_NAME_MAX] = '\0';
	assert_false(officer_name_valid(name));
}

static void test_token_new(void **state)
{
	char t1[OFFICER_TOKEN_MAX], h1[OFFICER_HASH_HEX], t2[OFFICER_TOKEN_MAX],
	    h2[OFFICER_HASH_HEX], want[OFFICER_HASH_HEX];
	unsigned char raw[crypto_hash_sha256_BYTES];

	(void)state;
	officer_token_new(t1, h1);
	officer_token_new(t2, h2);
	/* 32 bytes in unpadded base64 are 43 characters, URL-safe. */
	assert_int_equal(strlen(t1), 43);
	assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-_"),
			 43);
	assert_string_not_equal(t1, t2);
	assert_string_not_equal(h1, h2);
	assert_int_equal(strlen(h1), 64);
	crypto_hash_sha256(raw, (const unsigned char *)t1, strlen(t1));
	sodium_bin2hex(want, sizeof(want), raw, sizeof(raw));
	assert_string_equal(h1, want);
}

static void test_token_round_trip(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX], bad[OFFICER_TOKEN_MAX + 8], hash[OFFICER_HASH_HEX];
	char big[OFFICER_TOKEN_MAX + 8];
	struct officer o, got;

	add(f, "alice", OFFICER_DUTY_OFFICER, NULL, token, &o);
	assert_true(o.id > 0);
	assert_string_equal(o.name, "alice");
	assert_string_equal(o.password_hash, "");
	officer_secret_hash(token, strlen(token), hash);
	assert_string_equal(o.token_hash, hash);

	memset(&got, 0, sizeof(got));
	assert_int_equal(officer_authenticate_token(f->s, token, &got), GA_OK);
	assert_int_equal(got.id, o.id);
	assert_string_equal(got.name, "alice");
	assert_int_equal(got.role, OFFICER_DUTY_OFFICER);
	assert_int_equal(got.created_ms, T0);
	assert_false(got.disabled);

	/* One character off, cut short, longer, empty, NULL, past the cap. */
	snprintf(bad, sizeof(bad), "%s", token);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_int_equal(officer_authenticate_token(f->s, bad, &got), GA_ERR_NOTFOUND);
	snprintf(bad, sizeof(bad), "%.42s", token);
	assert_int_equal(officer_authenticate_token(f->s, bad, &got), GA_ERR_NOTFOUND);
	snprintf(bad, sizeof(bad), "%sx", token);
	assert_int_equal(officer_authenticate_token(f->s, bad, &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_token(f->s, "", &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_token(f->s, NULL, &got), GA_ERR_NOTFOUND);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(officer_authenticate_token(f->s, big, &got), GA_ERR_NOTFOUND);
	/* The hash itself is not a token. */
	assert_int_equal(officer_authenticate_token(f->s, hash, &got), GA_ERR_NOTFOUND);

	/* A second officer's token finds that officer, not the first. */
	char token2[OFFICER_TOKEN_MAX];
	struct officer o2;
	add(f, "bob", OFFICER_ADMIN, NULL, token2, &o2);
	assert_int_equal(officer_authenticate_token(f->s, token2, &got), GA_OK);
	assert_int_equal(got.id, o2.id);
	assert_int_equal(got.role, OFFICER_ADMIN);
}

/* Whether needle occurs in the file at path (missing file: no). */
static bool file_contains(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	size_t n = strlen(needle), len = 0, cap = 1 << 20;
	char *buf;
	bool found = false;

	if (fp == NULL)
		return false;
	buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		size_t r = fread(buf + len, 1, cap - len, fp);
		len += r;
		if (len < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		assert_non_null(buf);
	}
	fclose(fp);
	for (size_t i = 0; i + n <= len && !found; i++)
		found = memcmp(buf + i, needle, n) == 0;
	free(buf);
	return found;
}

/* SQLite: needle is in the database file or its WAL. PostgreSQL (no
 * file of ours to read): needle is in a row of a table that holds
 * officers' credentials or mentions them (officers, sessions, audit), as
 * the row's text. */
static bool db_contains(const char *path, const char *needle)
{
	char p[STEST_PATH_MAX + 8];

	if (stest_is_url(path)) {
		struct db *db = stest_raw_open(path);
		struct db_stmt *st = stest_raw_prepare(
		    db, "SELECT (SELECT count(*) FROM officers t WHERE strpos(t::text, ?1) > 0)"
			" + (SELECT count(*) FROM sessions t WHERE strpos(t::text, ?1) > 0)"
			" + (SELECT count(*) FROM audit t WHERE strpos(t::text, ?1) > 0)");
		int64_t n = -1;

		assert_int_equal(db_bind_text(st, 1, needle, -1), DB_OK);
		assert_int_equal(db_step(st), DB_ROW);
		n = db_column_int64(st, 0);
		db_finalize(st);
		db_close(db);
		return n > 0;
	}

	snprintf(p, sizeof(p), "%s-wal", path);
	return file_contains(path, needle) || file_contains(p, needle);
}

static void test_token_stored_hashed(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX], password[] = "correct horse battery";
	struct officer o;

	add(f, "carol", OFFICER_SUPERVISOR, password, token, &o);
	store_close(f->s);
	f->s = NULL;
	/* The hash is on disk (so the search works), the secrets are not. */
	assert_true(db_contains(f->db.path, o.token_hash));
	assert_true(db_contains(f->db.path, "$argon2id$"));
	assert_false(db_contains(f->db.path, token));
	assert_false(db_contains(f->db.path, password));
	f->s = stest_open(f->db.path, 0);
	struct officer got;
	assert_int_equal(officer_authenticate_token(f->s, token, &got), GA_OK);
	assert_int_equal(got.id, o.id);
}

static bool audit_count_cb(const struct store_audit_row *r, void *arg)
{
	assert_string_equal(r->action, "officer.add");
	(*(int *)arg)++;
	return true;
}

static void test_duplicate_name(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX], token2[OFFICER_TOKEN_MAX], msg[256];
	struct officer o, o2;

	add(f, "alice", OFFICER_DUTY_OFFICER, NULL, token, &o);
	assert_int_equal(
	    officer_add(f->s, "alice", OFFICER_ADMIN, NULL, 0, T0, token2, &o2, msg, sizeof(msg)),
	    GA_ERR_DUPLICATE);
	assert_non_null(strstr(msg, "alice"));
	/* Nothing of the failed add was kept: not its token, not its audit row. */
	assert_int_equal(token2[0], '\0');
	assert_int_equal(store_officer_by_name(f->s, "alice", &o2), GA_OK);
	assert_int_equal(o2.role, OFFICER_DUTY_OFFICER);
	assert_int_equal(officer_authenticate_token(f->s, token, &o2), GA_OK);
	int rows = 0;
	assert_int_equal(store_audit_each(f->s, 0, audit_count_cb, &rows), GA_OK);
	assert_int_equal(rows, 1);

	assert_int_equal(
	    officer_add(f->s, "a b", OFFICER_ADMIN, NULL, 0, T0, token2, &o2, msg, sizeof(msg)),
	    GA_ERR_INVAL);
	assert_int_equal(
	    officer_add(f->s, "dave", OFFICER_ADMIN, "short", 0, T0, token2, &o2, msg, sizeof(msg)),
	    GA_ERR_INVAL);
	assert_non_null(strstr(msg, "at least"));
	assert_int_equal(store_officer_by_name(f->s, "dave", &o2), GA_ERR_NOTFOUND);
}

static void test_password(void **state)
{
	char hash[OFFICER_PWHASH_MAX], hash2[OFFICER_PWHASH_MAX];
	char pw[OFFICER_PASSWORD_MAX + 2];

	(void)state;
	assert_int_equal(officer_password_hash("s3cret-pass", hash), GA_OK);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_non_null(strstr(hash, "m=65536,t=2,p=1"));
	assert_true(officer_password_verify(hash, "s3cret-pass"));
	assert_false(officer_password_verify(hash, "s3cret-pasS"));
	assert_false(officer_password_verify(hash, ""));
	assert_false(officer_password_verify("", "s3cret-pass"));
	assert_false(officer_password_verify("$argon2id$garbage", "s3cret-pass"));
	/* A fresh salt each time. */
	assert_int_equal(officer_password_hash("s3cret-pass", hash2), GA_OK);
	assert_string_not_equal(hash, hash2);
	assert_true(officer_password_verify(hash2, "s3cret-pass"));

	/* Bounds: one under the minimum, at the cap, one past it. */
	assert_int_equal(officer_password_hash("1234567", hash2), GA_ERR_INVAL);
	assert_int_equal(officer_password_hash(NULL, hash2), GA_ERR_INVAL);
	memset(pw, 'p', sizeof(pw));
	pw[OFFICER_PASSWORD_MAX] = '\0';
	assert_int_equal(officer_password_hash(pw, hash2), GA_OK);
	assert_true(officer_password_verify(hash2, pw));
	pw[OFFICER_PASSWORD_MAX] = 'p';
	pw[OFFICER_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(officer_password_hash(pw, hash2), GA_ERR_TOOBIG);
	assert_false(officer_password_verify(hash2, pw));
}

static void test_login_and_disable(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX], token2[OFFICER_TOKEN_MAX];
	struct officer o, o2, got;
	struct db *db = NULL;

	add(f, "erin", OFFICER_DUTY_OFFICER, "quiet harbour lamp", token, &o);
	add(f, "frank", OFFICER_DUTY_OFFICER, NULL, token2, &o2);
	assert_int_equal(officer_authenticate_password(f->s, "erin", "quiet harbour lamp", &got),
			 GA_OK);
	assert_int_equal(got.id, o.id);
	assert_int_equal(officer_authenticate_password(f->s, "erin", "quiet harbour lamq", &got),
			 GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_password(f->s, "nobody", "quiet harbour lamp", &got),
			 GA_ERR_NOTFOUND);
	/* No password: no console login, whatever is typed. */
	assert_int_equal(officer_authenticate_password(f->s, "frank", "", &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_password(f->s, "frank", "anything-at-all", &got),
			 GA_ERR_NOTFOUND);

	/* A disabled officer neither logs in nor uses the API. */
	db = stest_raw_open(f->db.path);
	stest_raw_exec(db, "UPDATE officers SET disabled = 1 WHERE name = 'erin'");
	db_close(db);
	assert_int_equal(officer_authenticate_token(f->s, token, &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_password(f->s, "erin", "quiet harbour lamp", &got),
			 GA_ERR_NOTFOUND);
	assert_int_equal(store_officer_get(f->s, o.id, &got), GA_OK);
	assert_true(got.disabled);
	assert_int_equal(officer_authenticate_token(f->s, token2, &got), GA_OK);
}

/* Refused: every rule, with a message that never repeats the password. */
static void refused(const char *pw, const char *name, const char *why)
{
	char msg[512];

	assert_int_equal(officer_password_check(pw, name, NULL, msg, sizeof(msg)), GA_ERR_INVAL);
	if (strstr(msg, why) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", pw, msg, why);
	assert_null(strstr(msg, pw));
}

static void test_password_policy(void **state)
{
	char msg[512];

	(void)state;
	refused("12345678", "alice", "consecutive");
	refused("87654321", "alice", "consecutive");
	refused("HGFEDCBA", "alice", "consecutive");
	refused("lmnopqrstu", "alice", "consecutive");
	refused("aaaaaaaa", "alice", "one character repeated");
	refused("zzzzzzzzzzzz", "alice", "one character repeated");
	refused("abababab", "alice", "pattern of 2 characters");
	refused("xyzXYZxyz", "alice", "pattern of 3 characters");
	refused("kestrel-2026", "kestrel", "name");
	refused("My-KESTREL", "kestrel", "name");
	refused("值班员王丽今天", "王丽", "name");
	/* On the list, whatever the case of the letters. */
	refused("baseball", "alice", "list of common passwords");
	refused("BaseBall", "alice", "list of common passwords");
	refused("iloveyou", "alice", "list of common passwords");
	refused("password1", "alice", "list of common passwords");
	/* Fine: long, unusual, the name too short to count. */
	assert_int_equal(
	    officer_password_check("correct horse battery", "alice", NULL, msg, sizeof(msg)),
	    GA_OK);
	assert_string_equal(msg, "");
	assert_int_equal(officer_password_check("li-on-duty-2026", "li", NULL, msg, sizeof(msg)),
			 GA_OK);
	assert_int_equal(officer_password_check("abcdefgX", "alice", NULL, msg, sizeof(msg)),
			 GA_OK);
	assert_int_equal(officer_password_check("abcabcab", "alice", NULL, msg, sizeof(msg)),
			 GA_OK);
}

/* Writes a list of n entries "w0000001"..., then extra (may be NULL). */
static void write_list(const char *path, long n, const char *extra)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs("# a test list\n", fp);
	for (long i = 0; i < n; i++)
		fprintf(fp, "w%07ld\r\n", i);
	if (extra)
		fputs(extra, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_password_list_caps(void **state)
{
	char dir[] = "/tmp/ga-pwlist-XXXXXX", path[64], msg[512], line[OFFICER_PASSWORD_MAX + 3];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/list.txt", dir);
	/* At the entry cap: read, and its last entry found (CRLF lines). */
	write_list(path, OFFICER_COMMON_LINES_MAX, NULL);
	assert_int_equal(officer_password_check("W0099999", "alice", path, msg, sizeof(msg)),
			 GA_ERR_INVAL);
	assert_non_null(strstr(msg, "list of common passwords"));
	assert_int_equal(
	    officer_password_check("quiet harbour lamp", "alice", path, msg, sizeof(msg)), GA_OK);
	/* One past it: the list is refused, and with it every password. */
	write_list(path, OFFICER_COMMON_LINES_MAX + 1, NULL);
	assert_int_equal(
	    officer_password_check("quiet harbour lamp", "alice", path, msg, sizeof(msg)),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(msg, "more than 100000"));
	assert_non_null(strstr(msg, path));
	/* A line at OFFICER_PASSWORD_MAX bytes, then one past it. */
	memset(line, 'q', sizeof(line));
	line[OFFICER_PASSWORD_MAX] = '\n';
	line[OFFICER_PASSWORD_MAX + 1] = '\0';
	write_list(path, 3, line);
	assert_int_equal(
	    officer_password_check("quiet harbour lamp", "alice", path, msg, sizeof(msg)), GA_OK);
	line[OFFICER_PASSWORD_MAX] = 'q';
	line[OFFICER_PASSWORD_MAX + 1] = '\n';
	line[OFFICER_PASSWORD_MAX + 2] = '\0';
	write_list(path, 3, line);
	assert_int_equal(
	    officer_password_check("quiet harbour lamp", "alice", path, msg, sizeof(msg)),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(msg, "line 5"));
	/* A file past OFFICER_COMMON_FILE_MAX bytes (file_read's cap). */
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (long i = 0; i <= OFFICER_COMMON_FILE_MAX / 8; i++)
		fputs("#######\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(
	    officer_password_check("quiet harbour lamp", "alice", path, msg, sizeof(msg)),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(msg, path));
	/* Missing. */
	unlink(path);
	assert_int_equal(
	    officer_password_check("quiet harbour lamp", "alice", path, msg, sizeof(msg)),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(msg, "list of common"));
	rmdir(dir);
	/* The bundled list is there and holds a few thousand entries. */
	assert_non_null(strstr(officer_common_passwords_path(), "officers/common-passwords.txt"));
}

static void test_add_refuses_common_password(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX], msg[512];
	struct officer o;

	assert_int_equal(officer_add(f->s, "hana", OFFICER_DUTY_OFFICER, "aaaaaaaa", 0, T0, token,
				     &o, msg, sizeof(msg)),
			 GA_ERR_INVAL);
	assert_non_null(strstr(msg, "password refused"));
	assert_int_equal(officer_add(f->s, "hana", OFFICER_DUTY_OFFICER, "football", 0, T0, token,
				     &o, msg, sizeof(msg)),
			 GA_ERR_INVAL);
	assert_non_null(strstr(msg, "common"));
	/* Too short is still said as such. */
	assert_int_equal(officer_add(f->s, "hana", OFFICER_DUTY_OFFICER, "short", 0, T0, token, &o,
				     msg, sizeof(msg)),
			 GA_ERR_INVAL);
	assert_non_null(strstr(msg, "at least 8"));
	assert_int_equal(store_officer_by_name(f->s, "hana", &o), GA_ERR_NOTFOUND);
}

/* The audit actions of the trail, in order, joined with ','. */
static void audit_actions(struct stest_fixture *f, char *out, size_t len)
{
	struct db *db = stest_raw_open(f->db.path);
	struct db_stmt *st = stest_raw_prepare(db, "SELECT action FROM audit ORDER BY seq");

	out[0] = '\0';
	while (db_step(st) == DB_ROW) {
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%s%s", n ? "," : "", db_column_text(st, 0));
	}
	db_finalize(st);
	db_close(db);
}

static void test_disable_enable_token(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX], token2[OFFICER_TOKEN_MAX], fresh[OFFICER_TOKEN_MAX];
	char msg[512], actions[256];
	struct officer o, o2, got;
	struct store_session sess = {0}, sess2 = {0}, sgot;
	struct audit_verify_result res;
	bool changed = true;

	add(f, "ivan", OFFICER_SUPERVISOR, "quiet harbour lamp", token, &o);
	add(f, "jade", OFFICER_DUTY_OFFICER, NULL, token2, &o2);
	officer_secret_hash("cookie-i", 8, sess.id);
	snprintf(sess.csrf, sizeof(sess.csrf), "csrf-i");
	sess.officer_id = o.id;
	sess.created_ms = sess.last_seen_ms = T0;
	sess.expires_ms = T0 + 100000;
	sess2 = sess;
	officer_secret_hash("cookie-j", 8, sess2.id);
	sess2.officer_id = o2.id;
	assert_int_equal(store_session_put(f->s, &sess), GA_OK);
	assert_int_equal(store_session_put(f->s, &sess2), GA_OK);

	/* Disable: token, password and session all refused; jade untouched. */
	assert_int_equal(
	    officer_set_disabled(f->s, "ivan", true, 0, &got, &changed, msg, sizeof(msg)), GA_OK);
	assert_true(changed);
	assert_true(got.disabled);
	assert_int_equal(officer_authenticate_token(f->s, token, &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_password(f->s, "ivan", "quiet harbour lamp", &got),
			 GA_ERR_NOTFOUND);
	assert_int_equal(store_session_get(f->s, sess.id, T0, &sgot), GA_ERR_NOTFOUND);
	assert_int_equal(store_session_get(f->s, sess2.id, T0, &sgot), GA_OK);
	assert_int_equal(officer_authenticate_token(f->s, token2, &got), GA_OK);
	/* Again: nothing changes, nothing recorded. */
	assert_int_equal(
	    officer_set_disabled(f->s, "ivan", true, 0, &got, &changed, msg, sizeof(msg)), GA_OK);
	assert_false(changed);
	/* A new token for a disabled officer: kept, still refused. */
	assert_int_equal(officer_token_rotate(f->s, "ivan", 0, fresh, &got, msg, sizeof(msg)),
			 GA_OK);
	assert_int_equal(strlen(fresh), 43);
	assert_int_equal(officer_authenticate_token(f->s, fresh, &got), GA_ERR_NOTFOUND);
	/* Enabled again: the new token and the password work, the old token not. */
	assert_int_equal(
	    officer_set_disabled(f->s, "ivan", false, 0, &got, &changed, msg, sizeof(msg)), GA_OK);
	assert_true(changed);
	assert_false(got.disabled);
	assert_int_equal(officer_authenticate_token(f->s, fresh, &got), GA_OK);
	assert_int_equal(got.id, o.id);
	assert_int_equal(officer_authenticate_token(f->s, token, &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_password(f->s, "ivan", "quiet harbour lamp", &got),
			 GA_OK);
	/* Rotating again ends the token just given. */
	assert_int_equal(officer_token_rotate(f->s, "ivan", 0, token, &got, msg, sizeof(msg)),
			 GA_OK);
	assert_string_not_equal(token, fresh);
	assert_int_equal(officer_authenticate_token(f->s, fresh, &got), GA_ERR_NOTFOUND);
	assert_int_equal(officer_authenticate_token(f->s, token, &got), GA_OK);
	/* Unknown names. */
	assert_int_equal(
	    officer_set_disabled(f->s, "nobody", true, 0, &got, &changed, msg, sizeof(msg)),
	    GA_ERR_NOTFOUND);
	assert_non_null(strstr(msg, "nobody"));
	assert_int_equal(officer_token_rotate(f->s, "nobody", 0, fresh, &got, msg, sizeof(msg)),
			 GA_ERR_NOTFOUND);
	assert_string_equal(fresh, "");
	assert_int_equal(store_officer_set_disabled(f->s, o.id + 100, true), GA_ERR_NOTFOUND);
	assert_int_equal(store_officer_set_token_hash(f->s, o.id + 100, "ab"), GA_ERR_NOTFOUND);

	/* Every change is an audit row, and the chain holds. */
	audit_actions(f, actions, sizeof(actions));
	assert_string_equal(actions, "officer.add,officer.add,officer.disable,officer.token,"
				     "officer.enable,officer.token");
	assert_int_equal(audit_verify(f->s, NULL, &res), GA_OK);
	assert_true(res.ok);
	assert_int_equal(res.rows, 6);
}

static bool count_cb(const struct officer *o, void *arg)
{
	(void)o;
	(*(int *)arg)++;
	return true;
}

static void test_sessions(void **state)
{
	struct stest_fixture *f = *state;
	char token[OFFICER_TOKEN_MAX];
	struct officer o;
	struct store_session a = {0}, b = {0}, got;
	int64_t n = -1;
	int count = 0;

	add(f, "gina", OFFICER_SUPERVISOR, NULL, token, &o);
	assert_int_equal(store_officer_each(f->s, count_cb, &count), GA_OK);
	assert_int_equal(count, 1);
	officer_secret_hash("cookie-a", 8, a.id);
	snprintf(a.csrf, sizeof(a.csrf), "csrf-a");
	a.officer_id = o.id;
	a.created_ms = a.last_seen_ms = T0;
	a.expires_ms = T0 + 1000;
	b = a;
	officer_secret_hash("cookie-b", 8, b.id);
	b.expires_ms = T0 + 5000;
	assert_int_equal(store_session_put(f->s, &a), GA_OK);
	assert_int_equal(store_session_put(f->s, &b), GA_OK);
	assert_int_equal(store_session_put(f->s, &a), GA_ERR_DUPLICATE);

	assert_int_equal(store_session_get(f->s, a.id, T0 + 999, &got), GA_OK);
	assert_string_equal(got.csrf, "csrf-a");
	assert_int_equal(got.officer_id, o.id);
	assert_int_equal(got.expires_ms, T0 + 1000);
	/* Expired at expires_ms; touching slides it. */
	assert_int_equal(store_session_get(f->s, a.id, T0 + 1000, &got), GA_ERR_NOTFOUND);
	assert_int_equal(store_session_touch(f->s, a.id, T0 + 900, T0 + 2000), GA_OK);
	assert_int_equal(store_session_get(f->s, a.id, T0 + 1500, &got), GA_OK);
	assert_int_equal(got.last_seen_ms, T0 + 900);
	assert_int_equal(store_session_touch(f->s, "nope", T0, T0), GA_ERR_NOTFOUND);

	assert_int_equal(store_session_purge(f->s, T0 + 3000, &n), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_session_get(f->s, a.id, T0, &got), GA_ERR_NOTFOUND);
	assert_int_equal(store_session_get(f->s, b.id, T0 + 3000, &got), GA_OK);
	assert_int_equal(store_session_delete(f->s, b.id), GA_OK);
	assert_int_equal(store_session_delete(f->s, b.id), GA_OK);
	assert_int_equal(store_session_get(f->s, b.id, T0, &got), GA_ERR_NOTFOUND);

	/* A session must belong to an officer. */
	a.officer_id = o.id + 100;
	assert_int_not_equal(store_session_put(f->s, &a), GA_OK);
}

static void test_login_attempts(void **state)
{
	struct stest_fixture *f = *state;
	int64_t n = -1;

	assert_int_equal(store_login_attempt_add(f->s, "alice", "10.0.0.1", false, T0), GA_OK);
	assert_int_equal(store_login_attempt_add(f->s, "alice", "10.0.0.2", false, T0 + 10), GA_OK);
	assert_int_equal(store_login_attempt_add(f->s, "bob", "10.0.0.1", false, T0 + 20), GA_OK);
	assert_int_equal(store_login_attempt_add(f->s, "alice", "10.0.0.1", true, T0 + 30), GA_OK);

	assert_int_equal(store_login_attempt_count_since(f->s, "alice", NULL, T0, &n), GA_OK);
	assert_int_equal(n, 2); /* the success does not count */
	assert_int_equal(store_login_attempt_count_since(f->s, NULL, "10.0.0.1", T0, &n), GA_OK);
	assert_int_equal(n, 2);
	/* Both given: this name from this address (issue 15: the limit is
	 * keyed on the pair; NULL matches any). */
	assert_int_equal(store_login_attempt_count_since(f->s, "alice", "10.0.0.1", T0, &n), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_login_attempt_count_since(f->s, "alice", NULL, T0 + 5, &n), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_login_attempt_count_since(f->s, NULL, NULL, T0, &n), GA_OK);
	assert_int_equal(n, 3);

	/* Caps: at each, and one past. */
	char name[OFFICER_NAME_MAX + 1], remote[STORE_REMOTE_MAX + 1];
	memset(name, 'n', sizeof(name));
	memset(remote, 'r', sizeof(remote));
	name[OFFICER_NAME_MAX - 1] = remote[STORE_REMOTE_MAX - 1] = '\0';
	assert_int_equal(store_login_attempt_add(f->s, name, remote, false, 0), GA_OK);
	name[OFFICER_NAME_MAX - 1] = 'n';
	name[OFFICER_NAME_MAX] = '\0';
	assert_int_equal(store_login_attempt_add(f->s, name, "x", false, 0), GA_ERR_TOOBIG);
	remote[STORE_REMOTE_MAX - 1] = 'r';
	remote[STORE_REMOTE_MAX] = '\0';
	assert_int_equal(store_login_attempt_add(f->s, "x", remote, false, 0), GA_ERR_TOOBIG);

	assert_int_equal(store_login_attempt_purge(f->s, T0 + 15), GA_OK);
	assert_int_equal(store_login_attempt_count_since(f->s, "alice", "10.0.0.1", 0, &n), GA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_login_attempt_count_since(f->s, NULL, "10.0.0.1", 0, &n), GA_OK);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_role_names),
	    cmocka_unit_test(test_permissions),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_token_new),
	    cmocka_unit_test_setup_teardown(test_token_round_trip, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_token_stored_hashed, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_name, setup, stest_teardown),
	    cmocka_unit_test(test_password),
	    cmocka_unit_test_setup_teardown(test_login_and_disable, setup, stest_teardown),
	    cmocka_unit_test(test_password_policy),
	    cmocka_unit_test(test_password_list_caps),
	    cmocka_unit_test_setup_teardown(test_add_refuses_common_password, setup,
					    stest_teardown),
	    cmocka_unit_test_setup_teardown(test_disable_enable_token, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_sessions, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_login_attempts, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
