/* test_sign.c - alert signatures (sign.h): the RFC 8785 canonical form
 * (its number and string vectors, stable under reordering and
 * whitespace), signing and verifying round trips, a changed byte, another
 * key, and key files (generated 0600, PEM forms, malformed ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"

static char errbuf[512];

static const char alert_text[] =
    "{\"schema\": \"geohazard.alert/1\", \"alert_id\": \"JS-20261126-0003\", \"version\": 1,"
    " \"msg_type\": \"alert\", \"status\": \"actual\", \"sender\": \"江苏省自然资源厅\","
    " \"sent\": \"2026-11-26T15:10:00+08:00\", \"headline\": \"【大型滑坡险情】青山村后山\","
    " \"situation\": \"line one\\nline \\\"two\\\"\","
    " \"area\": {\"admin_code\": \"320111\", \"lon\": 118.62, \"lat\": 32.06},"
    " \"figures\": {\"threatened_people\": 620, \"threatened_property_cny\": 30000000},"
    " \"observed_at\": null, \"references\": []}";

/* The same alert, members in another order, other whitespace. */
static const char alert_text_reordered[] =
    "{\"references\":[],\"observed_at\":null,\"figures\":{\"threatened_property_cny\":30000000,"
    "\"threatened_people\":620},\"area\":{\"lat\":32.06,\"lon\":118.62,\"admin_code\":"
    "\"320111\"},\n\t\"situation\":\"line one\\nline \\\"two\\\"\",\"headline\":"
    "\"\\u3010大型滑坡险情\\u3011青山村后山\",\"sent\":\"2026-11-26T15:10:00+08:00\","
    "\"sender\":\"江苏省自然资源厅\",\"status\":\"actual\",\"msg_type\":\"alert\","
    "\"version\":1,\"alert_id\":\"JS-20261126-0003\",\"schema\":\"geohazard.alert/1\"}";

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static char *canon_of(const json_t *j)
{
	char *c = NULL;
	size_t n = 0;

	assert_int_equal(sign_canonical(j, &c, &n), GA_OK);
	assert_int_equal(strlen(c), n);
	return c;
}

static void check_number(double v, const char *want)
{
	json_t *j = json_real(v);
	char *c = canon_of(j);

	assert_string_equal(c, want);
	free(c);
	json_decref(j);
}

/* RFC 8785 appendix B and §3.2.2.3. */
static void test_canon_numbers(void **state)
{
	(void)state;
	check_number(0.0, "0");
	check_number(-0.0, "0");
	check_number(1e21, "1e+21");
	check_number(999999999999999900000.0, "999999999999999900000");
	check_number(1e-7, "1e-7");
	check_number(0.000001, "0.000001");
	check_number(333333333.3333333, "333333333.3333333");
	check_number(9007199254740992.0, "9007199254740992");
	check_number(5e-324, "5e-324");
	check_number(1.7976931348623157e308, "1.7976931348623157e+308");
	check_number(-1.7976931348623157e308, "-1.7976931348623157e+308");
	check_number(295147905179352830000.0, "295147905179352830000");
	check_number(118.62, "118.62");
	check_number(32.0, "32");
	check_number(-0.5, "-0.5");
	check_number(0.1 + 0.2, "0.30000000000000004");

	json_t *inf = json_pack("{s:f}", "x", 1.0);
	char *c = NULL;
	size_t n = 0;
	/* jansson refuses non-finite reals itself; an integer stays exact */
	assert_null(json_real(1.0 / 0.0));
	json_object_set_new(inf, "y", json_integer(-42));
	assert_int_equal(sign_canonical(inf, &c, &n), GA_OK);
	assert_string_equal(c, "{\"x\":1,\"y\":-42}");
	free(c);
	json_decref(inf);
}

static void test_canon_strings_and_order(void **state)
{
	(void)state;
	/* RFC 8785 §3.2.2.2 example: only '"', '\\' and controls escaped. */
	json_t *j = load("[\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\"]");
	char *c = canon_of(j);
	assert_string_equal(c, "[\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"]");
	free(c);
	json_decref(j);

	j = load("{\"b\": [true, false, null, {}], \"a\": {\"z\": 1, \"\": \"\\t\\b\\f\\r\"},"
		 " \"signature\": 5}");
	c = canon_of(j);
	/* the top-level signature member is left out, members sorted */
	assert_string_equal(c,
			    "{\"a\":{\"\":\"\\t\\b\\f\\r\",\"z\":1},\"b\":[true,false,null,{}]}");
	free(c);
	json_decref(j);

	/* a nested "signature" is content like any other */
	j = load("{\"x\": {\"signature\": 1}}");
	c = canon_of(j);
	assert_string_equal(c, "{\"x\":{\"signature\":1}}");
	free(c);
	json_decref(j);

	json_t *a = load(alert_text), *b = load(alert_text_reordered);
	char *ca = canon_of(a), *cb = canon_of(b);
	assert_string_equal(ca, cb);
	assert_non_null(strstr(ca, "\"area\":{\"admin_code\":\"320111\",\"lat\":32.06,"
				   "\"lon\":118.62}"));
	free(ca);
	free(cb);
	json_decref(a);
	json_decref(b);
}

static struct sign_key *temp_key(char *path, size_t len)
{
	struct sign_key *k = NULL;
	bool created = false;

	snprintf(path, len, "/tmp/ga-test-sign-%ld.pem", (long)getpid());
	unlink(path);
	assert_int_equal(sign_key_load(path, true, &k, &created, errbuf, sizeof(errbuf)), GA_OK);
	assert_true(created);
	return k;
}

static void test_round_trip_and_changed_byte(void **state)
{
	char path[128], msg[256];
	struct sign_key *k = temp_key(path, sizeof(path));
	json_t *a = load(alert_text);

	(void)state;
	assert_int_equal(sign_alert(k, a), GA_OK);
	json_t *sig = json_object_get(a, "signature");
	assert_string_equal(json_string_value(json_object_get(sig, "alg")), "Ed25519");
	assert_string_equal(json_string_value(json_object_get(sig, "key_id")), sign_key_id(k));
	assert_int_equal(strlen(sign_key_id(k)), 16);
	assert_int_equal(sign_verify(k, a, msg, sizeof(msg)), GA_OK);

	/* deterministic: signing again gives the same value */
	char *v1 = strdup(json_string_value(json_object_get(sig, "value")));
	assert_int_equal(sign_alert(k, a), GA_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(a, "signature"), "value")), v1);
	free(v1);

	/* saved as text and read back in another order: still valid */
	char *text = json_dumps(a, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_t *b = load(text);
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_OK);
	json_decref(b);

	/* every single changed byte of the headline is caught */
	char *p = strstr(text, "\\u3010");
	assert_non_null(p);
	p[6] = p[6] == 'A' ? 'B' : 'A';
	b = json_loads(text, 0, NULL);
	assert_non_null(b);
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "does not match"));
	json_decref(b);
	free(text);

	/* a changed figure, an added member */
	b = json_deep_copy(a);
	json_object_set_new(json_object_get(b, "figures"), "threatened_people", json_integer(621));
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_ERR_INVAL);
	json_decref(b);
	b = json_deep_copy(a);
	json_object_set_new(b, "extra", json_true());
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_ERR_INVAL);
	json_decref(b);

	/* missing, malformed signature */
	b = json_deep_copy(a);
	json_object_del(b, "signature");
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "signature"));
	json_object_set_new(b, "signature",
			    json_pack("{s:s, s:s}", "alg", "Ed25519", "value", "AAAA"));
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_ERR_INVAL);
	json_object_set_new(b, "signature", json_pack("{s:s, s:s}", "alg", "RS256", "value", "x"));
	assert_int_equal(sign_verify(k, b, msg, sizeof(msg)), GA_ERR_INVAL);
	json_decref(b);

	/* the public key as served verifies; another key does not */
	char pem[SIGN_PEM_MAX];
	struct sign_key *pub = NULL, *other = NULL;
	assert_int_equal(sign_pubkey_pem(k, pem, sizeof(pem)), GA_OK);
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
	assert_int_equal(sign_key_parse(pem, strlen(pem), &pub, errbuf, sizeof(errbuf)), GA_OK);
	assert_string_equal(sign_key_id(pub), sign_key_id(k));
	assert_int_equal(sign_verify(pub, a, msg, sizeof(msg)), GA_OK);
	assert_int_equal(sign_alert(pub, a), GA_ERR_INVAL); /* no secret */
	char path2[160];
	snprintf(path2, sizeof(path2), "%s.2", path);
	unlink(path2);
	assert_int_equal(sign_key_load(path2, true, &other, NULL, errbuf, sizeof(errbuf)), GA_OK);
	assert_string_not_equal(sign_key_id(other), sign_key_id(k));
	assert_int_equal(sign_verify(other, a, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, sign_key_id(k)));
	/* without key_id the content check still refuses */
	json_object_del(json_object_get(a, "signature"), "key_id");
	assert_int_equal(sign_verify(other, a, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_int_equal(sign_verify(k, a, msg, sizeof(msg)), GA_OK);

	unlink(path2);
	unlink(path);
	sign_key_free(other);
	sign_key_free(pub);
	sign_key_free(k);
	json_decref(a);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_key_files(void **state)
{
	char path[128], pem[SIGN_PEM_MAX];
	struct sign_key *k = temp_key(path, sizeof(path)), *again = NULL, *pub = NULL;
	struct stat st;
	bool created = true;

	(void)state;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* loaded again: the same key, not a new one */
	assert_int_equal(sign_key_load(path, true, &again, &created, errbuf, sizeof(errbuf)),
			 GA_OK);
	assert_false(created);
	assert_string_equal(sign_key_id(again), sign_key_id(k));
	sign_key_free(again);
	again = NULL;
	/* open to group or others: refused, naming the file and the fix */
	for (unsigned i = 0; i < 3; i++) {
		static const mode_t loose[] = {0640, 0604, 0620};
		char fix[160];
		assert_int_equal(chmod(path, loose[i]), 0);
		assert_int_equal(sign_key_load(path, true, &again, NULL, errbuf, sizeof(errbuf)),
				 GA_ERR_CONFIG);
		assert_null(again);
		snprintf(fix, sizeof(fix), "chmod 600 %s", path);
		assert_non_null(strstr(errbuf, fix));
	}
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sign_key_load(path, false, &again, NULL, errbuf, sizeof(errbuf)), GA_OK);
	sign_key_free(again);
	again = NULL;
	/* the private key file serves for verifying too */
	assert_int_equal(sign_pubkey_load(path, &pub, errbuf, sizeof(errbuf)), GA_OK);
	assert_string_equal(sign_key_id(pub), sign_key_id(k));
	sign_key_free(pub);
	pub = NULL;

	/* missing without create */
	unlink(path);
	assert_int_equal(sign_key_load(path, false, &again, NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_NOTFOUND);
	/* malformed: no PEM, bad base64, wrong DER, a public key as signing key */
	write_file(path, "hello\n");
	assert_int_equal(sign_key_load(path, true, &again, NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, path));
	write_file(path, "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n");
	assert_int_equal(sign_key_load(path, true, &again, NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_CONFIG);
	write_file(path, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIA==\n"
			 "-----END PRIVATE KEY-----\n");
	assert_int_equal(sign_key_load(path, true, &again, NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_CONFIG);
	assert_int_equal(sign_pubkey_pem(k, pem, sizeof(pem)), GA_OK);
	write_file(path, pem);
	assert_int_equal(sign_key_load(path, true, &again, NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "PRIVATE KEY"));
	assert_int_equal(sign_pubkey_load(path, &pub, errbuf, sizeof(errbuf)), GA_OK);
	assert_string_equal(sign_key_id(pub), sign_key_id(k));
	/* too small a buffer for the PEM */
	assert_int_equal(sign_pubkey_pem(k, pem, 40), GA_ERR_TOOBIG);
	/* unreadable: a directory */
	assert_int_not_equal(sign_key_load("/tmp", false, &again, NULL, errbuf, sizeof(errbuf)),
			     GA_OK);
	assert_null(again);
	unlink(path);
	sign_key_free(pub);
	sign_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canon_numbers),
	    cmocka_unit_test(test_canon_strings_and_order),
	    cmocka_unit_test(test_round_trip_and_changed_byte),
	    cmocka_unit_test(test_key_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
