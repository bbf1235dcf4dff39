/* cap_sign.h - the XML Signature (XMLDSig) of the CAP 1.2 documents
 * geoalert serves (docs/signatures.md, "The CAP document").
 *
 * The JSON form of an alert is signed with Ed25519 (sign.h); xmlsec 1.2
 * (Debian 12) has no EdDSA, so the CAP is signed with a second key:
 * ECDSA P-256, http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256.
 *
 * The signature is enveloped: a ds:Signature element, last child of the
 * CAP <alert> (where the OASIS schema allows elements of the XMLDSig
 * namespace), with one Reference URI="" whose transforms are
 * enveloped-signature and exclusive C14N, digest SHA-256, SignedInfo
 * canonicalised with exclusive C14N; KeyInfo carries the key's X.509
 * certificate. The stock `xmlsec1 --verify --pubkey-pem KEY FILE` checks it.
 *
 * The key file is PEM: a PKCS#8 "PRIVATE KEY" (SEC1 "EC PRIVATE KEY" is
 * read too) of curve P-256, optionally followed by a "CERTIFICATE" for it
 * (a CA-issued one, or the self-signed one written when the file is
 * generated). When the file has no certificate a self-signed one is made
 * in memory at each load (it then changes at each start: consumers pin
 * the public key). key_id is the lowercase hex of the first 8 bytes of the
 * SHA-256 of the DER SubjectPublicKeyInfo.
 *
 * xmlsec is started on first use (once per process) and stopped by
 * cap_sign_shutdown. A loaded key may be used by several threads at once:
 * each signature works on its own copy. */
#ifndef GA_CAP_SIGN_H
#define GA_CAP_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define CAP_SIGN_FILE_MAX (16u * 1024) /* bytes of a key file (key + certificate chain) */
#define CAP_SIGN_PEM_MAX 4096	       /* the published key text + NUL */
#define CAP_SIGN_KEY_ID_LEN 17	       /* 16 hex + NUL */
#define CAP_SIGN_CERT_DAYS 3650	       /* validity of a self-signed certificate */
#define CAP_SIGN_ALG "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
#define CAP_SIGN_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

struct cap_sign_key;

/* Starts libxml2's and xmlsec's OpenSSL backend once per process (later
 * calls return the first result). The key functions below call it, so
 * calling it first is only needed to learn early that it fails. */
ga_err cap_sign_init(char *err, size_t errlen);

/* Stops xmlsec, when started. Call once at exit, after the last use. */
void cap_sign_shutdown(void);

/* Loads the CAP signing key from path. When the file does not exist and
 * create is set, a new P-256 key and a self-signed certificate whose CN is
 * subject ("geoalert" when NULL) are written there with mode 0600 (O_EXCL:
 * never over another file) and *created is set (may be NULL).
 * GA_ERR_NOTFOUND when it does not exist and create is not set; GA_ERR_IO
 * when unreadable; GA_ERR_CONFIG when malformed, not a private key, not
 * P-256, its certificate is for another key, or the file is open to group
 * or others (any of mode 077: "chmod 600 FILE"); err names the file and
 * says what. *out is freed with cap_sign_key_free. */
ga_err cap_sign_key_load(const char *path, bool create, const char *subject,
			 struct cap_sign_key **out, bool *created, char *err, size_t errlen);

/* Parses PEM text (len bytes): a private key (with or without a
 * certificate), or for verifying only a "PUBLIC KEY" or a "CERTIFICATE"
 * (what /.well-known/geoalert-cap-signing-key serves; text around the PEM
 * blocks is ignored). subject as for cap_sign_key_load. GA_ERR_CONFIG
 * with err saying why. */
ga_err cap_sign_key_parse(const char *text, size_t len, const char *subject,
			  struct cap_sign_key **out, char *err, size_t errlen);

/* Reads path (at most CAP_SIGN_FILE_MAX bytes) and parses it as
 * cap_sign_key_parse does: for verifying. */
ga_err cap_sign_pubkey_load(const char *path, struct cap_sign_key **out, char *err, size_t errlen);

/* Frees k (NULL is fine). */
void cap_sign_key_free(struct cap_sign_key *k);

/* A signing key loaded at its first use (cap_sign_lazy_get), so that
 * OpenSSL's and xmlsec's state (~2 MiB) stays out of a process that never
 * signs. path and subject are borrowed and outlive it; they are as for
 * cap_sign_key_load (without create: the file was checked, or made, at
 * start). */
struct cap_sign_lazy;
ga_err cap_sign_lazy_new(const char *path, const char *subject, struct cap_sign_lazy **out);
/* The key, loaded at the first call; NULL when it cannot be loaded now
 * (logged with the reason: tried again at the next call). Thread-safe. */
const struct cap_sign_key *cap_sign_lazy_get(struct cap_sign_lazy *l);
/* Frees l and its key (NULL is fine). */
void cap_sign_lazy_free(struct cap_sign_lazy *l);

/* The key's id ("3f2a..."), borrowed. */
const char *cap_sign_key_id(const struct cap_sign_key *k);

/* Whether the key can sign (it holds the private half). */
bool cap_sign_key_private(const struct cap_sign_key *k);

/* What /.well-known/geoalert-cap-signing-key serves: one comment line
 * naming the algorithm and key id, the PEM "PUBLIC KEY", then the PEM
 * "CERTIFICATE" when the key has one. GA_ERR_TOOBIG when buf is small. */
ga_err cap_sign_pubkey_pem(const struct cap_sign_key *k, char *buf, size_t len);

/* Signs the CAP document xml (len bytes, as cap_write makes it) with k,
 * which must hold its private half. On GA_OK *out is a malloc'd
 * NUL-terminated UTF-8 document of *outlen bytes: the same content with
 * the ds:Signature as the last child of <alert>. GA_ERR_INVAL when xml is
 * not a CAP <alert> or k is public only, GA_ERR_TOOBIG past CAP_XML_MAX,
 * GA_ERR_NOMEM, GA_ERR_IO when xmlsec fails (err says where). */
ga_err cap_sign_xml(const struct cap_sign_key *k, const char *xml, size_t len, char **out,
		    size_t *outlen, char *err, size_t errlen);

/* Checks the signature of a CAP document against k: GA_OK when the last
 * child of <alert> is a ds:Signature with one Reference URI="" made with
 * the algorithms above by k and the content matches. GA_ERR_INVAL with msg
 * otherwise (not XML, not CAP, no signature, another algorithm or key, a
 * changed byte). Only the algorithms above are accepted: no other
 * transform, digest, reference or key from KeyInfo is ever used. */
ga_err cap_sign_verify(const struct cap_sign_key *k, const char *xml, size_t len, char *msg,
		       size_t msglen);

#endif
