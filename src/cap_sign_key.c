/* cap_sign_key.c - the CAP signing key: PEM files, P-256 keys and their
 * X.509 certificates with OpenSSL (cap_sign.h). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_sign_internal.h"
#include "file.h"
#include "log.h"

#define CAP_SIGN_CURVE "P-256"
#define CAP_SIGN_GENPKEY "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"

/* Never asks for a passphrase (an encrypted key is refused). */
static int cap_sign_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* Whether the len bytes of text hold s. */
static bool cap_sign_has(const char *text, size_t len, const char *s)
{
	size_t sl = strlen(s);

	for (size_t i = 0; i + sl <= len; i++)
		if (memcmp(text + i, s, sl) == 0)
			return true;
	return false;
}

void cap_sign_key_free(struct cap_sign_key *k)
{
	if (k == NULL)
		return;
	if (k->xkey != NULL)
		xmlSecKeyDestroy(k->xkey);
	X509_free(k->cert);
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *cap_sign_key_id(const struct cap_sign_key *k)
{
	return k->id;
}

bool cap_sign_key_private(const struct cap_sign_key *k)
{
	return k != NULL && k->has_private;
}

/* key_id: the first 8 bytes of SHA-256 of the DER SubjectPublicKeyInfo. */
static bool cap_sign_set_id(struct cap_sign_key *k)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(k->pkey, &der);
	bool ok = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1;

	OPENSSL_free(der);
	for (int i = 0; ok && i < 8; i++)
		snprintf(k->id + 2 * i, 3, "%02x", md[i]);
	return ok;
}

static bool cap_sign_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A self-signed certificate of pkey: CN subject, a random serial, valid
 * from an hour ago for CAP_SIGN_CERT_DAYS. NULL on failure. */
static X509 *cap_sign_cert_make(EVP_PKEY *pkey, const char *subject)
{
	unsigned char serial[16];
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	X509_NAME *name;
	bool ok = false;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* positive */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) == 1 && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), CAP_SIGN_CERT_DAYS, 0, NULL) &&
	     X509_set_pubkey(x, pkey) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)(subject ? subject : "geoalert"), -1,
					-1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
					(const unsigned char *)"geoalert CAP signing", -1, -1,
					0) == 1 &&
	     X509_set_issuer_name(x, name) == 1 &&
	     cap_sign_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	     cap_sign_ext(x, NID_key_usage, "critical,digitalSignature") &&
	     cap_sign_ext(x, NID_subject_key_identifier, "hash") &&
	     X509_sign(x, pkey, EVP_sha256()) > 0;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Whether pkey holds its private half. */
static bool cap_sign_has_private(const EVP_PKEY *pkey)
{
	BIGNUM *d = NULL;
	bool has = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1;

	BN_clear_free(d);
	return has;
}

/* NULL when pkey is an EC key on P-256, else why not. */
static const char *cap_sign_kind_problem(const EVP_PKEY *pkey, char *buf, size_t len)
{
	char group[64] = "";
	size_t glen = 0;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		snprintf(buf, len,
			 "an Ed25519 key (the kind [alerts] signing_key_file holds); xmlsec 1.2 "
			 "cannot sign XML with it: the CAP signing key must be ECDSA %s (%s)",
			 CAP_SIGN_CURVE, CAP_SIGN_GENPKEY);
		return buf;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		const char *t = EVP_PKEY_get0_type_name(pkey);
		snprintf(buf, len, "a key of type %s: the CAP signing key must be ECDSA %s (%s)",
			 t ? t : "other than EC", CAP_SIGN_CURVE, CAP_SIGN_GENPKEY);
		return buf;
	}
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1 ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, CAP_SIGN_CURVE) != 0)) {
		snprintf(buf, len, "an EC key on curve %s: the CAP signing key must be %s (%s)",
			 group[0] ? group : "?", CAP_SIGN_CURVE, CAP_SIGN_GENPKEY);
		return buf;
	}
	return NULL;
}

ga_err cap_sign_key_parse(const char *text, size_t len, const char *subject,
			  struct cap_sign_key **out, char *err, size_t errlen)
{
	struct cap_sign_key *k = NULL;
	char why[320];
	BIO *bio = NULL;
	ga_err e;

	*out = NULL;
	if ((e = cap_sign_init(err, errlen)) != GA_OK)
		return e;
	if (len > CAP_SIGN_FILE_MAX) {
		snprintf(err, errlen, "larger than %u bytes: not a key", CAP_SIGN_FILE_MAX);
		return GA_ERR_CONFIG;
	}
	e = GA_ERR_NOMEM;
	if ((k = calloc(1, sizeof(*k))) == NULL || (bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		goto out;
	e = GA_ERR_CONFIG;
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, cap_sign_nopass, NULL);
	if (k->pkey == NULL && cap_sign_has(text, len, "ENCRYPTED PRIVATE KEY")) {
		snprintf(err, errlen,
			 "an encrypted private key: geoalert cannot ask for its passphrase; keep "
			 "it unencrypted in a file of mode 0600");
		goto out;
	}
	if (k->pkey == NULL && BIO_reset(bio) == 1)
		k->pkey = PEM_read_bio_PUBKEY(bio, NULL, cap_sign_nopass, NULL);
	if (BIO_reset(bio) == 1)
		k->cert = PEM_read_bio_X509(bio, NULL, cap_sign_nopass, NULL);
	if (k->pkey == NULL && k->cert != NULL)
		k->pkey = X509_get_pubkey(k->cert);
	if (k->pkey == NULL) {
		snprintf(err, errlen, "no PEM \"PRIVATE KEY\", \"PUBLIC KEY\" or \"CERTIFICATE\"");
		goto out;
	}
	if (cap_sign_kind_problem(k->pkey, why, sizeof(why)) != NULL) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if (k->cert != NULL && EVP_PKEY_eq(X509_get0_pubkey(k->cert), k->pkey) != 1) {
		snprintf(err, errlen, "the CERTIFICATE is for another key than the PRIVATE KEY");
		goto out;
	}
	k->has_private = cap_sign_has_private(k->pkey);
	if (k->cert == NULL && k->has_private) {
		if ((k->cert = cap_sign_cert_make(k->pkey, subject)) == NULL) {
			snprintf(err, errlen, "cannot make a self-signed certificate");
			e = GA_ERR_IO;
			goto out;
		}
	}
	if (!cap_sign_set_id(k) || (k->xkey = cap_sign_xmlsec_key(k->pkey, k->cert)) == NULL) {
		snprintf(err, errlen, "xmlsec cannot take the key");
		e = GA_ERR_IO;
		goto out;
	}
	*out = k;
	k = NULL;
	e = GA_OK;
out:
	ERR_clear_error();
	BIO_free(bio);
	cap_sign_key_free(k);
	return e;
}

/* A new P-256 key and its self-signed certificate written to path (which
 * must not exist) with mode 0600. */
static ga_err cap_sign_generate(const char *path, const char *subject, char *err, size_t errlen)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", CAP_SIGN_CURVE);
	BIO *bio = BIO_new(BIO_s_mem());
	X509 *cert = NULL;
	char *pem = NULL;
	ga_err e = GA_ERR_IO;
	long n = 0;

	if (pkey == NULL || bio == NULL || (cert = cap_sign_cert_make(pkey, subject)) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(bio, cert) != 1 || (n = BIO_get_mem_data(bio, &pem)) <= 0) {
		snprintf(err, errlen, "%s: OpenSSL cannot make a P-256 key", path);
		goto out;
	}
	e = file_write_secret(path, pem, (size_t)n, err, errlen);
out:
	if (pem != NULL && n > 0)
		OPENSSL_cleanse(pem, (size_t)n);
	ERR_clear_error();
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return e;
}

ga_err cap_sign_key_load(const char *path, bool create, const char *subject,
			 struct cap_sign_key **out, bool *created, char *err, size_t errlen)
{
	char *buf = NULL, msg[512];
	struct stat st;
	size_t len = 0;
	ga_err e;

	*out = NULL;
	if (created)
		*created = false;
	if ((e = cap_sign_init(err, errlen)) != GA_OK)
		return e;
	e = file_read(path, CAP_SIGN_FILE_MAX, &buf, &len, err, errlen);
	if (e == GA_ERR_NOTFOUND && create) {
		if ((e = cap_sign_generate(path, subject, err, errlen)) != GA_OK)
			return e;
		if (created)
			*created = true;
		e = file_read(path, CAP_SIGN_FILE_MAX, &buf, &len, err, errlen);
	}
	if (e != GA_OK)
		goto out;
	if ((e = cap_sign_key_parse(buf, len, subject, out, msg, sizeof(msg))) != GA_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	if (!(*out)->has_private) {
		snprintf(err, errlen,
			 "%s: no PRIVATE KEY (a public key or certificate alone cannot sign)",
			 path);
		cap_sign_key_free(*out);
		*out = NULL;
		e = GA_ERR_CONFIG;
		goto out;
	}
	/* Whoever can read the key can sign CAP in the service's name: a key
	 * open to group or others is refused, not merely warned of. */
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(
		    err, errlen,
		    "%s: the CAP signing key is open to group or others (mode %03o): run chmod "
		    "600 %s (and check who could have copied it)",
		    path, (unsigned)(st.st_mode & 0777), path);
		cap_sign_key_free(*out);
		*out = NULL;
		e = GA_ERR_CONFIG;
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter((*out)->cert), NULL) < 0)
		log_warnx("%s: its certificate has expired: consumers that check it refuse the "
			  "CAP signatures; renew it or rotate the key (docs/signatures.md)",
			  path);
	if (!cap_sign_has(buf, len, "CERTIFICATE"))
		log_info("%s: no CERTIFICATE in the file: a self-signed one is made for this run "
			 "(consumers pin the public key)",
			 path);
out:
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return e;
}

ga_err cap_sign_pubkey_load(const char *path, struct cap_sign_key **out, char *err, size_t errlen)
{
	char *buf = NULL, msg[512];
	size_t len = 0;
	ga_err e;

	*out = NULL;
	if ((e = file_read(path, CAP_SIGN_FILE_MAX, &buf, &len, err, errlen)) != GA_OK)
		return e;
	if ((e = cap_sign_key_parse(buf, len, NULL, out, msg, sizeof(msg))) != GA_OK)
		snprintf(err, errlen, "%s: %s", path, msg);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return e;
}

ga_err cap_sign_pubkey_pem(const struct cap_sign_key *k, char *buf, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	ga_err e = GA_ERR_NOMEM;
	long n;
	int w;

	if (bio == NULL || PEM_write_bio_PUBKEY(bio, k->pkey) != 1 ||
	    (k->cert != NULL && PEM_write_bio_X509(bio, k->cert) != 1) ||
	    (n = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out;
	w = snprintf(buf, len, "geoalert CAP signing key, ECDSA %s (%s), key_id %s\n%.*s",
		     CAP_SIGN_CURVE, CAP_SIGN_ALG, k->id, (int)n, pem);
	e = w < 0 || (size_t)w >= len ? GA_ERR_TOOBIG : GA_OK;
out:
	ERR_clear_error();
	BIO_free(bio);
	return e;
}

struct cap_sign_lazy {
	const char *path, *subject;
	pthread_mutex_t mu;
	struct cap_sign_key *key; /* NULL until loaded; under mu */
};

ga_err cap_sign_lazy_new(const char *path, const char *subject, struct cap_sign_lazy **out)
{
	struct cap_sign_lazy *l = calloc(1, sizeof(*l));
	if (!l)
		return GA_ERR_NOMEM;
	l->path = path;
	l->subject = subject;
	pthread_mutex_init(&l->mu, NULL);
	*out = l;
	return GA_OK;
}

const struct cap_sign_key *cap_sign_lazy_get(struct cap_sign_lazy *l)
{
	const struct cap_sign_key *k;
	char err[512];

	pthread_mutex_lock(&l->mu);
	if (l->key == NULL &&
	    cap_sign_key_load(l->path, false, l->subject, &l->key, NULL, err, sizeof(err)) != GA_OK)
		log_warnx("[alerts] cap_signing_key_file: %s", err);
	k = l->key;
	pthread_mutex_unlock(&l->mu);
	return k;
}

void cap_sign_lazy_free(struct cap_sign_lazy *l)
{
	if (!l)
		return;
	cap_sign_key_free(l->key);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
