/* test_cap_sign.c - the XML Signature of CAP documents (cap_sign.h): a
 * CAP made by cap_write, signed, still validates against the OASIS schema
 * (tests/data/cap12.xsd) and verifies in-process with the private key and
 * with the published public key or certificate; a changed byte of the
 * headline, of the status or of SignedInfo, another key, another algorithm
 * and a missing signature fail; key files: generated with mode 0600 and
 * loaded again as the same key, and the clear errors for a bad PEM, an
 * Ed25519, RSA or P-384 key, an encrypted key, a certificate for another
 * key and a public key given as the signing key; the default
 * [alerts] cap_signing_key_file beside the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap.h"
#include "cap_sign.h"
#include "cap_testutil.h"
#include "config.h"

#define DSIG "http://www.w3.org/2000/09/xmldsig#"

static xmlSchemaPtr schema;
static char dir[] = "/tmp/ga-capsig-XXXXXX";
static struct cap_sign_key *key; /* made in setup: private, with a certificate */
static char keypath[256];

static const char alert_text[] =
    CAPTEST_ALERT_HEAD " \"observed_at\": \"2026-11-26T14:52:00+08:00\","
		       " \"references\": []}";

/* The Ed25519 key of docs/signatures.md's worked example. */
static const char ed25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
    "-----END PRIVATE KEY-----\n";

static int setup(void **state)
{
	char err[512];
	bool created = false;
	struct stat st;

	(void)state;
	schema = captest_schema_load();
	assert_non_null(mkdtemp(dir));
	snprintf(keypath, sizeof(keypath), "%s/cap-signing-key.pem", dir);
	assert_int_equal(cap_sign_key_load(keypath, true, "alerts.example.gov.cn", &key, &created,
					   err, sizeof(err)),
			 GA_OK);
	assert_true(created);
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(cap_sign_key_private(key));
	assert_int_equal(strlen(cap_sign_key_id(key)), 16);
	return 0;
}

static int teardown(void **state)
{
	char path[512];

	(void)state;
	cap_sign_key_free(key);
	snprintf(path, sizeof(path), "%s/cap-signing-key.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/other.pem", dir);
	unlink(path);
	rmdir(dir);
	xmlSchemaFree(schema);
	cap_sign_shutdown();
	xmlCleanupParser();
	return 0;
}

/* A CAP document of the alert with that status. */
static char *cap_of(const char *status, size_t *len)
{
	json_t *a = json_loads(alert_text, 0, NULL);
	char *xml = NULL;

	assert_non_null(a);
	json_object_set_new(a, "status", json_string(status));
	assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, len), GA_OK);
	json_decref(a);
	return xml;
}

static char *signed_cap(const struct cap_sign_key *k, size_t *len)
{
	char err[512], *xml, *out = NULL;
	size_t n = 0;

	xml = cap_of("actual", &n);
	ga_err e = cap_sign_xml(k, xml, n, &out, len, err, sizeof(err));
	if (e != GA_OK)
		fprintf(stderr, "cap_sign_xml: %s\n", err);
	assert_int_equal(e, GA_OK);
	assert_int_equal(strlen(out), *len);
	free(xml);
	return out;
}

static int schema_valid(const char *xml, size_t len)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	int rc = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
	return rc;
}

/* The value of the XPath expression (cap: and ds: prefixes) as a string. */
static char *xp(const char *xml, size_t len, const char *expr)
{
	static char buf[1024];
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET);
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "cap", BAD_CAST CAP_NS);
	xmlXPathRegisterNs(ctx, BAD_CAST "ds", BAD_CAST DSIG);
	xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	xmlChar *s = xmlXPathCastToString(r);
	snprintf(buf, sizeof(buf), "%s", (const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return buf;
}

/* Replaces the first occurrence of from in xml by to (same length). */
static void tamper(char *xml, const char *from, const char *to)
{
	char *p = strstr(xml, from);
	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

static void test_signed_cap_validates_and_verifies(void **state)
{
	char msg[512];
	size_t len = 0;
	char *xml = signed_cap(key, &len);

	(void)state;
	assert_int_equal(schema_valid(xml, len), 0);
	/* the signature is the last element of <alert>, after <info> */
	assert_string_equal(xp(xml, len, "local-name(/cap:alert/*[last()])"), "Signature");
	assert_string_equal(xp(xml, len, "namespace-uri(/cap:alert/*[last()])"), DSIG);
	assert_string_equal(xp(xml, len, "local-name(/cap:alert/*[last()-1])"), "info");
	assert_string_equal(xp(xml, len, "string(//ds:SignatureMethod/@Algorithm)"), CAP_SIGN_ALG);
	assert_string_equal(xp(xml, len, "string(//ds:CanonicalizationMethod/@Algorithm)"),
			    "http://www.w3.org/2001/10/xml-exc-c14n#");
	assert_string_equal(xp(xml, len, "count(//ds:Reference)"), "1");
	assert_string_equal(xp(xml, len, "count(//ds:Reference[@URI=''])"), "1");
	assert_string_equal(xp(xml, len, "string(//ds:Transform[1]/@Algorithm)"),
			    "http://www.w3.org/2000/09/xmldsig#enveloped-signature");
	assert_string_equal(xp(xml, len, "string(//ds:Transform[2]/@Algorithm)"),
			    "http://www.w3.org/2001/10/xml-exc-c14n#");
	assert_string_equal(xp(xml, len, "string(//ds:DigestMethod/@Algorithm)"),
			    "http://www.w3.org/2001/04/xmlenc#sha256");
	assert_string_not_equal(xp(xml, len, "string(//ds:X509Certificate)"), "");
	/* the CAP content is untouched */
	assert_string_equal(xp(xml, len, "string(//cap:headline)"), "【大型滑坡险情】青山村后山");
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_OK);
	/* signing twice is refused */
	char err[256], *again = NULL;
	size_t n2 = 0;
	assert_int_equal(cap_sign_xml(key, xml, len, &again, &n2, err, sizeof(err)), GA_ERR_INVAL);
	assert_non_null(strstr(err, "signed already"));
	free(xml);
}

static void test_published_key_verifies_but_cannot_sign(void **state)
{
	char pem[CAP_SIGN_PEM_MAX], msg[512], err[256], *out = NULL, *pub;
	struct cap_sign_key *pk = NULL, *ck = NULL;
	size_t len = 0, n = 0;
	char *xml = signed_cap(key, &len);

	(void)state;
	assert_int_equal(cap_sign_pubkey_pem(key, pem, sizeof(pem)), GA_OK);
	assert_non_null(strstr(pem, cap_sign_key_id(key)));
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	assert_null(strstr(pem, "PRIVATE"));
	assert_int_equal(cap_sign_pubkey_pem(key, pem, 100), GA_ERR_TOOBIG);
	assert_int_equal(cap_sign_pubkey_pem(key, pem, sizeof(pem)), GA_OK);
	assert_int_equal(cap_sign_key_parse(pem, strlen(pem), NULL, &pk, err, sizeof(err)), GA_OK);
	assert_false(cap_sign_key_private(pk));
	assert_string_equal(cap_sign_key_id(pk), cap_sign_key_id(key));
	assert_int_equal(cap_sign_verify(pk, xml, len, msg, sizeof(msg)), GA_OK);
	/* the certificate alone is enough too */
	pub = strstr(pem, "-----BEGIN CERTIFICATE-----");
	assert_int_equal(cap_sign_key_parse(pub, strlen(pub), NULL, &ck, err, sizeof(err)), GA_OK);
	assert_string_equal(cap_sign_key_id(ck), cap_sign_key_id(key));
	assert_int_equal(cap_sign_verify(ck, xml, len, msg, sizeof(msg)), GA_OK);
	/* a public key cannot sign */
	char *plain = cap_of("actual", &n);
	assert_int_equal(cap_sign_xml(pk, plain, n, &out, &len, err, sizeof(err)), GA_ERR_INVAL);
	assert_null(out);
	free(plain);
	cap_sign_key_free(pk);
	cap_sign_key_free(ck);
	free(xml);
}

static void test_tampering_fails(void **state)
{
	char msg[512];
	size_t len = 0;
	char *xml;

	(void)state;
	/* one byte of the headline: 青 (E9 9D 92) -> 静 (E9 9D 99) */
	xml = signed_cap(key, &len);
	tamper(xml, "青山村后山</headline>", "静山村后山</headline>");
	assert_int_equal(schema_valid(xml, len), 0);
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "content does not match"));
	free(xml);
	/* a drill passed off as actual, or the other way */
	xml = signed_cap(key, &len);
	tamper(xml, "<status>Actual</status>", "<status>Test__</status>");
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_ERR_INVAL);
	free(xml);
	/* SignedInfo changed: its digest value */
	xml = signed_cap(key, &len);
	char *d = strstr(xml, "DigestValue>");
	assert_non_null(d);
	d += strlen("DigestValue>");
	*d = *d == 'A' ? 'B' : 'A';
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_ERR_INVAL);
	free(xml);
	/* another algorithm named in SignedInfo is refused outright */
	xml = signed_cap(key, &len);
	tamper(xml, "xmldsig-more#ecdsa-sha256", "xmldsig-more#ecdsa-sha512");
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "cannot be checked"));
	free(xml);
	/* unsigned, not CAP, not XML */
	xml = cap_of("actual", &len);
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "no ds:Signature"));
	free(xml);
	assert_int_equal(cap_sign_verify(key, "<a/>", 4, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "not a CAP"));
	assert_int_equal(cap_sign_verify(key, "{\"a\":1}", 7, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "not well-formed"));
}

static void test_another_key_fails(void **state)
{
	char path[512], err[512], msg[512];
	struct cap_sign_key *other = NULL, *again = NULL;
	bool created = false;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/other.pem", dir);
	assert_int_equal(cap_sign_key_load(path, true, NULL, &other, &created, err, sizeof(err)),
			 GA_OK);
	assert_true(created);
	assert_string_not_equal(cap_sign_key_id(other), cap_sign_key_id(key));
	char *xml = signed_cap(other, &len);
	assert_int_equal(cap_sign_verify(other, xml, len, msg, sizeof(msg)), GA_OK);
	assert_int_equal(cap_sign_verify(key, xml, len, msg, sizeof(msg)), GA_ERR_INVAL);
	assert_non_null(strstr(msg, "another key"));
	free(xml);
	/* loading the file again gives the same key, not a new one */
	assert_int_equal(cap_sign_key_load(path, true, NULL, &again, &created, err, sizeof(err)),
			 GA_OK);
	assert_false(created);
	assert_string_equal(cap_sign_key_id(again), cap_sign_key_id(other));
	cap_sign_key_free(again);
	again = NULL;
	/* open to group or others: refused, naming the file and the fix */
	for (unsigned i = 0; i < 3; i++) {
		static const mode_t loose[] = {0644, 0640, 0602};
		char fix[600];
		assert_int_equal(chmod(path, loose[i]), 0);
		assert_int_equal(
		    cap_sign_key_load(path, false, NULL, &again, NULL, err, sizeof(err)),
		    GA_ERR_CONFIG);
		assert_null(again);
		snprintf(fix, sizeof(fix), "chmod 600 %s", path);
		assert_non_null(strstr(err, fix));
	}
	/* ... though its public half still serves for verifying */
	assert_int_equal(cap_sign_pubkey_load(path, &again, err, sizeof(err)), GA_OK);
	cap_sign_key_free(again);
	again = NULL;
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(cap_sign_key_load(path, false, NULL, &again, NULL, err, sizeof(err)),
			 GA_OK);
	cap_sign_key_free(again);
	cap_sign_key_free(other);
}

/* pk as a PEM "PRIVATE KEY" (encrypted with pass when not NULL); frees pk. */
static char *pem_of(EVP_PKEY *pk, const char *pass)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;

	assert_non_null(pk);
	if (pass != NULL)
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pk, EVP_aes_128_cbc(), pass,
							       (int)strlen(pass), NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return out;
}

static void expect_refused(const char *pem, const char *why)
{
	struct cap_sign_key *k = NULL;
	char err[512];

	assert_int_equal(cap_sign_key_parse(pem, strlen(pem), NULL, &k, err, sizeof(err)),
			 GA_ERR_CONFIG);
	assert_null(k);
	if (strstr(err, why) == NULL)
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, why);
	assert_non_null(strstr(err, why));
}

static void test_key_errors(void **state)
{
	char path[512], err[512], pem[CAP_SIGN_PEM_MAX];
	struct cap_sign_key *k = NULL;
	FILE *fp;
	char *p;

	(void)state;
	expect_refused("hello", "no PEM");
	expect_refused("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no PEM");
	expect_refused(ed25519_pem, "Ed25519");
	p = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), NULL);
	expect_refused(p, "a key of type RSA");
	free(p);
	p = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), NULL);
	expect_refused(p, "curve secp384r1");
	free(p);
	p = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), "secret");
	expect_refused(p, "encrypted");
	free(p);
	/* a P-256 key with the certificate of another key */
	p = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), NULL);
	assert_int_equal(cap_sign_pubkey_pem(key, pem, sizeof(pem)), GA_OK);
	size_t mlen = strlen(p) + strlen(pem) + 1;
	char *mixed = malloc(mlen);
	assert_non_null(mixed);
	snprintf(mixed, mlen, "%s%s", p, strstr(pem, "-----BEGIN CERTIFICATE-----"));
	expect_refused(mixed, "another key");
	free(mixed);
	/* a bare P-256 key without a certificate is fine: one is made */
	assert_int_equal(cap_sign_key_parse(p, strlen(p), "x.example", &k, err, sizeof(err)),
			 GA_OK);
	assert_true(cap_sign_key_private(k));
	assert_int_equal(cap_sign_pubkey_pem(k, pem, sizeof(pem)), GA_OK);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	cap_sign_key_free(k);
	k = NULL;
	free(p);
	/* files: missing without create, the public key as the signing key */
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	assert_int_equal(cap_sign_key_load(path, false, NULL, &k, NULL, err, sizeof(err)),
			 GA_ERR_NOTFOUND);
	assert_null(k);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/other.pem", dir);
	assert_int_equal(cap_sign_pubkey_pem(key, pem, sizeof(pem)), GA_OK);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(pem, fp);
	fclose(fp);
	assert_int_equal(cap_sign_key_load(path, true, NULL, &k, NULL, err, sizeof(err)),
			 GA_ERR_CONFIG);
	assert_non_null(strstr(err, "no PRIVATE KEY"));
	assert_non_null(strstr(err, path));
	/* ... which is fine for verifying */
	assert_int_equal(cap_sign_pubkey_load(path, &k, err, sizeof(err)), GA_OK);
	assert_string_equal(cap_sign_key_id(k), cap_sign_key_id(key));
	cap_sign_key_free(k);
	k = NULL;
	/* a file past the cap */
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (unsigned i = 0; i <= CAP_SIGN_FILE_MAX; i++)
		fputc('#', fp);
	fclose(fp);
	assert_int_equal(cap_sign_key_load(path, false, NULL, &k, NULL, err, sizeof(err)),
			 GA_ERR_CONFIG);
	assert_non_null(strstr(err, "of at most 16384 bytes"));
	unlink(path);
}

/* [alerts] cap_signing_key_file: beside the database unless given. */
static void test_config_key_file(void **state)
{
	static const char *const texts[] = {
	    "[mqtt]\nurl = mqtt://127.0.0.1:1883\n[store]\npath = /srv/ga/var/geoalert.db\n",
	    "[mqtt]\nurl = mqtt://127.0.0.1:1883\n[store]\npath = geoalert.db\n",
	    "[mqtt]\nurl = mqtt://127.0.0.1:1883\n[store]\npath = /srv/ga/var/geoalert.db\n"
	    "[alerts]\ncap_signing_key_file = /etc/geoalert/cap.pem\n",
	};
	static const char *const want[][2] = {
	    {"/srv/ga/var/cap-signing-key.pem", "/srv/ga/var/signing-key.pem"},
	    {"cap-signing-key.pem", "signing-key.pem"},
	    {"/etc/geoalert/cap.pem", "/srv/ga/var/signing-key.pem"},
	};
	char path[512], err[512];
	struct config *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(c);
	snprintf(path, sizeof(path), "%s/t.ini", dir);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(texts[i], fp);
		fclose(fp);
		memset(c, 0, sizeof(*c));
		ga_err e = config_load(path, c, err, sizeof(err));
		if (e != GA_OK)
			fprintf(stderr, "%s\n", err);
		assert_int_equal(e, GA_OK);
		assert_string_equal(c->alerts.cap_signing_key_file, want[i][0]);
		assert_string_equal(c->alerts.signing_key_file, want[i][1]);
	}
	unlink(path);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_cap_validates_and_verifies),
	    cmocka_unit_test(test_published_key_verifies_but_cannot_sign),
	    cmocka_unit_test(test_tampering_fails),
	    cmocka_unit_test(test_another_key_fails),
	    cmocka_unit_test(test_key_errors),
	    cmocka_unit_test(test_config_key_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
