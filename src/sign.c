/* sign.c - Ed25519 keys in PEM files, and signing and checking alert JSON
 * with libsodium (sign.h, docs/signatures.md). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

/* DER prefixes of the two forms of RFC 8410: PKCS#8 with the 32-byte
 * seed, SubjectPublicKeyInfo with the 32-byte public key. */
static const unsigned char sign_der_private[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
						 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
static const unsigned char sign_der_public[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
						0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

#define SIGN_PEM_PRIVATE "PRIVATE KEY"
#define SIGN_PEM_PUBLIC "PUBLIC KEY"
#define SIGN_DER_MAX 64
#define SIGN_B64_SIG_MAX 89 /* base64 of 64 bytes + NUL */

struct sign_key {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	bool has_secret;
	char id[SIGN_KEY_ID_LEN];
};

static ga_err sign_init(void)
{
	return sodium_init() < 0 ? GA_ERR_IO : GA_OK;
}

static void sign_key_set_id(struct sign_key *k)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, k->pk, sizeof(k->pk));
	sodium_bin2hex(k->id, sizeof(k->id), h, 8);
}

void sign_key_free(struct sign_key *k)
{
	if (k == NULL)
		return;
	sodium_memzero(k, sizeof(*k));
	free(k);
}

const char *sign_key_id(const struct sign_key *k)
{
	return k->id;
}

/* Writes "-----BEGIN label-----\n<base64 of der>\n-----END label-----\n". */
static ga_err sign_pem_write(const char *label, const unsigned char *der, size_t derlen, char *buf,
			     size_t len)
{
	char b64[SIGN_DER_MAX * 2];
	int n;

	if (derlen > SIGN_DER_MAX)
		return GA_ERR_INVAL;
	sodium_bin2base64(b64, sizeof(b64), der, derlen, sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, len, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label, b64, label);
	return n < 0 || (size_t)n >= len ? GA_ERR_TOOBIG : GA_OK;
}

ga_err sign_pubkey_pem(const struct sign_key *k, char *buf, size_t len)
{
	unsigned char der[sizeof(sign_der_public) + crypto_sign_PUBLICKEYBYTES];
	int n;

	memcpy(der, sign_der_public, sizeof(sign_der_public));
	memcpy(der + sizeof(sign_der_public), k->pk, sizeof(k->pk));
	n = snprintf(buf, len, "geoalert alert signing key, %s, key_id %s\n", SIGN_ALG, k->id);
	if (n < 0 || (size_t)n >= len)
		return GA_ERR_TOOBIG;
	return sign_pem_write(SIGN_PEM_PUBLIC, der, sizeof(der), buf + n, len - (size_t)n);
}

/* Finds the body of the PEM block "label" in text and decodes it. */
static bool sign_pem_find(const char *text, size_t len, const char *label, unsigned char *der,
			  size_t dermax, size_t *derlen)
{
	char begin[64], end[64];
	const char *b, *e;
	size_t bl;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	bl = strlen(begin);
	for (b = text; b + bl <= text + len; b++)
		if (memcmp(b, begin, bl) == 0)
			break;
	if (b + bl > text + len)
		return false;
	b += bl;
	for (e = b; e + strlen(end) <= text + len; e++)
		if (memcmp(e, end, strlen(end)) == 0)
			break;
	if (e + strlen(end) > text + len)
		return false;
	return sodium_base642bin(der, dermax, b, (size_t)(e - b), " \t\r\n", derlen, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0;
}

ga_err sign_key_parse(const char *text, size_t len, struct sign_key **out, char *err, size_t errlen)
{
	unsigned char der[SIGN_DER_MAX];
	size_t derlen = 0;
	struct sign_key *k;
	ga_err e;

	if ((e = sign_init()) != GA_OK) {
		snprintf(err, errlen, "libsodium did not start");
		return e;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return GA_ERR_NOMEM;
	e = GA_ERR_CONFIG;
	if (sign_pem_find(text, len, SIGN_PEM_PRIVATE, der, sizeof(der), &derlen)) {
		if (derlen != sizeof(sign_der_private) + crypto_sign_SEEDBYTES ||
		    memcmp(der, sign_der_private, sizeof(sign_der_private)) != 0) {
			snprintf(err, errlen, "not an Ed25519 PKCS#8 private key");
			goto out;
		}
		crypto_sign_seed_keypair(k->pk, k->sk, der + sizeof(sign_der_private));
		k->has_secret = true;
	} else if (sign_pem_find(text, len, SIGN_PEM_PUBLIC, der, sizeof(der), &derlen)) {
		if (derlen != sizeof(sign_der_public) + crypto_sign_PUBLICKEYBYTES ||
		    memcmp(der, sign_der_public, sizeof(sign_der_public)) != 0) {
			snprintf(err, errlen, "not an Ed25519 public key");
			goto out;
		}
		memcpy(k->pk, der + sizeof(sign_der_public), sizeof(k->pk));
	} else {
		snprintf(err, errlen, "no PEM \"%s\" or \"%s\" block", SIGN_PEM_PRIVATE,
			 SIGN_PEM_PUBLIC);
		goto out;
	}
	sign_key_set_id(k);
	*out = k;
	k = NULL;
	e = GA_OK;
out:
	sodium_memzero(der, sizeof(der));
	sign_key_free(k);
	return e;
}

/* Frees a key file's bytes, wiped. */
static void sign_file_free(char *buf, size_t len)
{
	if (buf) {
		sodium_memzero(buf, len);
		free(buf);
	}
}

/* A new key written to path (which must not exist) with mode 0600. */
static ga_err sign_key_generate(const char *path, char *err, size_t errlen)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char der[sizeof(sign_der_private) + crypto_sign_SEEDBYTES];
	char pem[SIGN_PEM_MAX];
	ga_err e;

	crypto_sign_keypair(pk, sk);
	memcpy(der, sign_der_private, sizeof(sign_der_private));
	crypto_sign_ed25519_sk_to_seed(der + sizeof(sign_der_private), sk);
	if ((e = sign_pem_write(SIGN_PEM_PRIVATE, der, sizeof(der), pem, sizeof(pem))) != GA_OK)
		goto out;
	e = file_write_secret(path, pem, strlen(pem), err, errlen);
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(der, sizeof(der));
	sodium_memzero(pem, sizeof(pem));
	return e;
}

ga_err sign_key_load(const char *path, bool create, struct sign_key **out, bool *created, char *err,
		     size_t errlen)
{
	char *buf = NULL, msg[256];
	struct stat st;
	size_t len = 0;
	ga_err e;

	if (created)
		*created = false;
	if ((e = sign_init()) != GA_OK) {
		snprintf(err, errlen, "libsodium did not start");
		return e;
	}
	e = file_read(path, SIGN_FILE_MAX, &buf, &len, err, errlen);
	if (e == GA_ERR_NOTFOUND && create) {
		if ((e = sign_key_generate(path, err, errlen)) != GA_OK)
			return e;
		if (created)
			*created = true;
		e = file_read(path, SIGN_FILE_MAX, &buf, &len, err, errlen);
	}
	if (e != GA_OK)
		goto out;
	if ((e = sign_key_parse(buf, len, out, msg, sizeof(msg))) != GA_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	if (!(*out)->has_secret) {
		snprintf(err, errlen, "%s: a public key; the signing key must be a PRIVATE KEY",
			 path);
		e = GA_ERR_CONFIG;
		goto refuse;
	}
	/* Whoever can read the key can sign alerts in the service's name: a
	 * key open to group or others is refused, not merely warned of (the
	 * start stops, and check-config says so, naming the fix). */
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(
		    err, errlen,
		    "%s: the signing key is open to group or others (mode %03o): run chmod 600 %s"
		    " (and check who could have copied it)",
		    path, (unsigned)(st.st_mode & 0777), path);
		e = GA_ERR_CONFIG;
		goto refuse;
	}
	goto out;
refuse:
	sign_key_free(*out);
	*out = NULL;
out:
	sign_file_free(buf, len);
	return e;
}

ga_err sign_pubkey_load(const char *path, struct sign_key **out, char *err, size_t errlen)
{
	char *buf = NULL, msg[256];
	size_t len = 0;
	ga_err e;

	if ((e = file_read(path, SIGN_FILE_MAX, &buf, &len, err, errlen)) != GA_OK)
		goto out;
	if ((e = sign_key_parse(buf, len, out, msg, sizeof(msg))) != GA_OK)
		snprintf(err, errlen, "%s: %s", path, msg);
out:
	sign_file_free(buf, len);
	return e;
}

ga_err sign_alert(const struct sign_key *k, json_t *alert)
{
	unsigned char sig[crypto_sign_BYTES];
	char b64[SIGN_B64_SIG_MAX];
	char *canon = NULL;
	size_t len = 0;
	json_t *member;
	ga_err e;

	if (k == NULL || !k->has_secret || !json_is_object(alert))
		return GA_ERR_INVAL;
	if ((e = sign_canonical(alert, &canon, &len)) != GA_OK)
		return e;
	crypto_sign_detached(sig, NULL, (const unsigned char *)canon, len, k->sk);
	free(canon);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	member = json_pack("{s:s, s:s, s:s}", "alg", SIGN_ALG, "key_id", k->id, "value", b64);
	if (member == NULL || json_object_set_new(alert, SIGN_MEMBER, member) != 0)
		return GA_ERR_NOMEM;
	return GA_OK;
}

ga_err sign_verify(const struct sign_key *k, const json_t *alert, char *msg, size_t msglen)
{
	unsigned char sig[crypto_sign_BYTES];
	const char *alg, *key_id, *value;
	size_t siglen = 0, len = 0;
	char *canon = NULL;
	json_t *member;
	ga_err e;

	if (k == NULL || !json_is_object(alert)) {
		snprintf(msg, msglen, "not a JSON object");
		return GA_ERR_INVAL;
	}
	member = json_object_get(alert, SIGN_MEMBER);
	alg = json_string_value(json_object_get(member, "alg"));
	key_id = json_string_value(json_object_get(member, "key_id"));
	value = json_string_value(json_object_get(member, "value"));
	if (!json_is_object(member) || alg == NULL || value == NULL) {
		snprintf(msg, msglen, "no \"%s\" member with alg and value", SIGN_MEMBER);
		return GA_ERR_INVAL;
	}
	if (strcmp(alg, SIGN_ALG) != 0) {
		snprintf(msg, msglen, "signature algorithm \"%.32s\" is not %s", alg, SIGN_ALG);
		return GA_ERR_INVAL;
	}
	if (key_id != NULL && strcmp(key_id, k->id) != 0) {
		snprintf(msg, msglen, "signed with key %.32s, not with this key (%s)", key_id,
			 k->id);
		return GA_ERR_INVAL;
	}
	if (sodium_base642bin(sig, sizeof(sig), value, strlen(value), NULL, &siglen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    siglen != sizeof(sig)) {
		snprintf(msg, msglen, "the signature value is not 64 bytes of base64");
		return GA_ERR_INVAL;
	}
	if ((e = sign_canonical(alert, &canon, &len)) != GA_OK) {
		snprintf(msg, msglen, "cannot canonicalise: %s", ga_strerror(e));
		return GA_ERR_INVAL;
	}
	e = crypto_sign_verify_detached(sig, (const unsigned char *)canon, len, k->pk) == 0
		? GA_OK
		: GA_ERR_INVAL;
	if (e != GA_OK)
		snprintf(msg, msglen, "the signature does not match the content");
	free(canon);
	return e;
}
