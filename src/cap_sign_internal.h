/* cap_sign_internal.h - what cap_sign.c (xmlsec: start, sign, verify) and
 * cap_sign_key.c (OpenSSL: key files, certificates) share. Not for other
 * modules: they use cap_sign.h. */
#ifndef GA_CAP_SIGN_INTERNAL_H
#define GA_CAP_SIGN_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>

#include "cap_sign.h"

struct cap_sign_key {
	EVP_PKEY *pkey;	   /* P-256; the private half when has_private */
	X509 *cert;	   /* NULL for a bare public key */
	xmlSecKeyPtr xkey; /* pkey (+ cert) for xmlsec: duplicated for each use */
	bool has_private;
	char id[CAP_SIGN_KEY_ID_LEN];
};

/* The xmlsec key of pkey and cert (either may be shared: references are
 * taken). NULL on failure. */
xmlSecKeyPtr cap_sign_xmlsec_key(EVP_PKEY *pkey, X509 *cert);

#endif
