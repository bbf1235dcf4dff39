/* sign.h - Ed25519 signatures of published alerts (docs/signatures.md).
 *
 * A published alert JSON (spec §6) carries its signature as a member
 *   "signature": {"alg": "Ed25519", "key_id": "<16 hex>", "value": "<base64>"}
 * over the canonical form of the object without that member: RFC 8785
 * (JSON Canonicalization Scheme) as written by sign_canonical. Ed25519 is
 * deterministic, so signing a version again gives the same bytes.
 *
 * Keys are files in the standard PEM forms OpenSSL reads and writes: the
 * secret key as PKCS#8 "PRIVATE KEY", the public key as SubjectPublicKeyInfo
 * "PUBLIC KEY". key_id is the lowercase hex of the first 8 bytes of the
 * SHA-256 of the 32-byte raw public key. */
#ifndef GA_SIGN_H
#define GA_SIGN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SIGN_FILE_MAX 4096	  /* bytes of a key file */
#define SIGN_CANON_MAX (1u << 20) /* bytes of a canonical form */
#define SIGN_KEY_ID_LEN 17	  /* 16 hex + NUL */
#define SIGN_PEM_MAX 256	  /* the public key as PEM text + NUL */
#define SIGN_MEMBER "signature"	  /* the member that carries it */
#define SIGN_ALG "Ed25519"

struct sign_key;

/* Loads the secret key from path (PKCS#8 PEM). When the file does not
 * exist and create is set, a new key is generated and written there with
 * mode 0600 (O_EXCL: never over another file) and *created is set (may
 * be NULL). GA_ERR_NOTFOUND when it does not exist and create is not set;
 * GA_ERR_IO when unreadable; GA_ERR_CONFIG when malformed or open to group
 * or others (any of mode 077: "chmod 600 FILE"); err says which
 * file and what. *out is freed with sign_key_free. */
ga_err sign_key_load(const char *path, bool create, struct sign_key **out, bool *created, char *err,
		     size_t errlen);

/* Loads a key for verifying only: a PEM "PUBLIC KEY" (what
 * /.well-known/geoalert-signing-key serves; text before the BEGIN line is
 * ignored) or a "PRIVATE KEY" file, whose public half is taken. */
ga_err sign_pubkey_load(const char *path, struct sign_key **out, char *err, size_t errlen);

/* Parses the PEM text of a key (public or private), len bytes. */
ga_err sign_key_parse(const char *text, size_t len, struct sign_key **out, char *err,
		      size_t errlen);

/* Frees k (NULL is fine), wiping its secret. */
void sign_key_free(struct sign_key *k);

/* The key's id ("3f2a..."), borrowed. */
const char *sign_key_id(const struct sign_key *k);

/* The public key as PEM text, preceded by one comment line naming the
 * algorithm and key id. GA_ERR_TOOBIG when buf is too small. */
ga_err sign_pubkey_pem(const struct sign_key *k, char *buf, size_t len);

/* The canonical form (RFC 8785) of v, leaving out the member SIGN_MEMBER
 * of the top-level object. Object members sorted by the bytes of their
 * UTF-8 names (the same order as RFC 8785's UTF-16 order for every name
 * below U+E000, which is all of ours); strings unescaped but for '"',
 * '\\' and control characters; reals as ECMAScript writes them (shortest
 * round trip), integers in decimal. On GA_OK *out is malloc'd and
 * NUL-terminated, *outlen bytes. GA_ERR_INVAL for a non-finite real,
 * GA_ERR_TOOBIG past SIGN_CANON_MAX. */
ga_err sign_canonical(const json_t *v, char **out, size_t *outlen);

/* Sets the SIGN_MEMBER member of alert (an object) to the signature of
 * its canonical form by k, replacing any there. k needs its secret:
 * GA_ERR_INVAL for a public-only key. */
ga_err sign_alert(const struct sign_key *k, json_t *alert);

/* Checks alert's signature against k: GA_OK when it is valid;
 * GA_ERR_INVAL with msg when it is missing, malformed, made with another
 * key (key_id) or does not match the content. */
ga_err sign_verify(const struct sign_key *k, const json_t *alert, char *msg, size_t msglen);

#endif
