/* cap_sign.c - signing and checking the XML Signature of CAP documents
 * with xmlsec's OpenSSL backend (cap_sign.h); the keys are in
 * cap_sign_key.c. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "cap.h"
#include "cap_sign_internal.h"

#define CAP_SIGN_XERR_MAX 256
#define CAP_SIGN_PREFIX "ds"

/* Starting xmlsec is process-wide (its registries of transforms and key
 * kinds): done once, its result kept. */
static pthread_once_t cap_sign_once = PTHREAD_ONCE_INIT;
static ga_err cap_sign_started = GA_ERR_IO;
static const char *cap_sign_start_err = "xmlsec did not start";

/* The first xmlsec error of the current operation on this thread, for
 * the message; xmlsec reports a failure at every level it passes. */
static _Thread_local char cap_sign_xerr[CAP_SIGN_XERR_MAX];

static void cap_sign_xmlsec_error(const char *file, int line, const char *func, const char *object,
				  const char *subject, int reason, const char *msg)
{
	(void)file, (void)line, (void)object, (void)reason;
	if (cap_sign_xerr[0] == '\0')
		snprintf(cap_sign_xerr, sizeof(cap_sign_xerr), "%s%s%s: %s", func ? func : "xmlsec",
			 subject ? " " : "", subject ? subject : "", msg ? msg : "failed");
}

static void cap_sign_start(void)
{
	xmlInitParser();
	if (xmlSecInit() < 0) {
		cap_sign_start_err = "xmlSecInit failed";
		return;
	}
	if (xmlSecCheckVersion() != 1) {
		cap_sign_start_err =
		    "the xmlsec library is not the version geoalert was built with";
		xmlSecShutdown();
		return;
	}
	if (xmlSecCryptoAppInit(NULL) < 0) {
		cap_sign_start_err = "xmlsec's OpenSSL backend did not start";
		xmlSecShutdown();
		return;
	}
	if (xmlSecCryptoInit() < 0) {
		cap_sign_start_err = "xmlsec's OpenSSL backend did not start";
		xmlSecCryptoAppShutdown();
		xmlSecShutdown();
		return;
	}
	/* After the backend's start, which sets its own. */
	xmlSecErrorsSetCallback(cap_sign_xmlsec_error);
	cap_sign_started = GA_OK;
}

ga_err cap_sign_init(char *err, size_t errlen)
{
	pthread_once(&cap_sign_once, cap_sign_start);
	if (cap_sign_started != GA_OK)
		snprintf(err, errlen, "%s", cap_sign_start_err);
	return cap_sign_started;
}

void cap_sign_shutdown(void)
{
	if (cap_sign_started != GA_OK)
		return;
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	cap_sign_started = GA_ERR_SHUTDOWN;
	cap_sign_start_err = "xmlsec was stopped";
}

xmlSecKeyPtr cap_sign_xmlsec_key(EVP_PKEY *pkey, X509 *cert)
{
	xmlSecKeyPtr key = xmlSecKeyCreate();
	xmlSecKeyDataPtr data = NULL;
	X509 *copy = NULL;

	if (key == NULL || EVP_PKEY_up_ref(pkey) != 1)
		goto fail;
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		goto fail;
	}
	if (xmlSecKeySetValue(key, data) < 0) {
		xmlSecKeyDataDestroy(data);
		goto fail;
	}
	if (cert != NULL) {
		if ((data = xmlSecKeyEnsureData(key, xmlSecOpenSSLKeyDataX509Id)) == NULL ||
		    (copy = X509_dup(cert)) == NULL)
			goto fail;
		if (xmlSecOpenSSLKeyDataX509AdoptCert(data, copy) < 0) {
			X509_free(copy);
			goto fail;
		}
	}
	return key;
fail:
	if (key != NULL)
		xmlSecKeyDestroy(key);
	return NULL;
}

/* The CAP document parsed: NULL unless its root is a CAP <alert>. */
static xmlDocPtr cap_sign_parse(const char *xml, size_t len, char *msg, size_t msglen)
{
	xmlDocPtr doc;
	xmlNodePtr root;

	if (len > CAP_XML_MAX) {
		snprintf(msg, msglen, "larger than %u bytes", CAP_XML_MAX);
		return NULL;
	}
	doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		snprintf(msg, msglen, "not well-formed XML");
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !xmlSecCheckNodeName(root, BAD_CAST "alert", BAD_CAST CAP_NS)) {
		snprintf(msg, msglen, "not a CAP 1.2 <alert> (namespace %s)", CAP_NS);
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/* The last element child of node, or NULL. */
static xmlNodePtr cap_sign_last_element(xmlNodePtr node)
{
	for (xmlNodePtr n = node->last; n != NULL; n = n->prev)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* The signature template, added as the last child of root and indented
 * like the elements before it. */
static xmlNodePtr cap_sign_template(xmlDocPtr doc, xmlNodePtr root)
{
	xmlNodePtr sig, ref, keyinfo, x509, last = root->last;

	sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
					      xmlSecTransformEcdsaSha256Id, NULL,
					      BAD_CAST CAP_SIGN_PREFIX);
	if (sig == NULL)
		return NULL;
	if (last != NULL && xmlIsBlankNode(last))
		xmlNodeSetContent(last, BAD_CAST "\n  ");
	if (xmlAddChild(root, sig) == NULL) {
		xmlFreeNode(sig);
		return NULL;
	}
	xmlAddChild(root, xmlNewDocText(doc, BAD_CAST "\n"));
	ref =
	    xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST "", NULL);
	if (ref == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL ||
	    (keyinfo = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL ||
	    (x509 = xmlSecTmplKeyInfoAddX509Data(keyinfo)) == NULL ||
	    xmlSecTmplX509DataAddCertificate(x509) == NULL)
		return NULL;
	return sig;
}

ga_err cap_sign_xml(const struct cap_sign_key *k, const char *xml, size_t len, char **out,
		    size_t *outlen, char *err, size_t errlen)
{
	xmlSecDSigCtxPtr ctx = NULL;
	xmlChar *mem = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, sig, last;
	int size = 0;
	ga_err e;

	if ((e = cap_sign_init(err, errlen)) != GA_OK)
		return e;
	if (k == NULL || !k->has_private || xml == NULL || out == NULL || outlen == NULL) {
		snprintf(err, errlen, "no private key to sign with");
		return GA_ERR_INVAL;
	}
	cap_sign_xerr[0] = '\0';
	if ((doc = cap_sign_parse(xml, len, err, errlen)) == NULL)
		return GA_ERR_INVAL;
	root = xmlDocGetRootElement(doc);
	last = cap_sign_last_element(root);
	e = GA_ERR_INVAL;
	if (last != NULL && xmlSecCheckNodeName(last, xmlSecNodeSignature, xmlSecDSigNs)) {
		snprintf(err, errlen, "the document is signed already");
		goto out;
	}
	e = GA_ERR_IO;
	if ((sig = cap_sign_template(doc, root)) == NULL) {
		snprintf(err, errlen, "cannot make the signature template: %s",
			 cap_sign_xerr[0] ? cap_sign_xerr : "out of memory");
		goto out;
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL ||
	    (ctx->signKey = xmlSecKeyDuplicate(k->xkey)) == NULL) {
		snprintf(err, errlen, "out of memory");
		e = GA_ERR_NOMEM;
		goto out;
	}
	if (xmlSecDSigCtxSign(ctx, sig) < 0) {
		snprintf(err, errlen, "xmlsec cannot sign: %s", cap_sign_xerr);
		goto out;
	}
	xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
	if (mem == NULL || size <= 0) {
		snprintf(err, errlen, "out of memory");
		e = GA_ERR_NOMEM;
		goto out;
	}
	if ((size_t)size > CAP_XML_MAX) {
		snprintf(err, errlen, "the signed document is larger than %u bytes", CAP_XML_MAX);
		e = GA_ERR_TOOBIG;
		goto out;
	}
	e = GA_ERR_NOMEM;
	if ((*out = malloc((size_t)size + 1)) == NULL)
		goto out;
	memcpy(*out, mem, (size_t)size);
	(*out)[size] = '\0';
	*outlen = (size_t)size;
	e = GA_OK;
out:
	ERR_clear_error();
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return e;
}

/* Only what cap_sign_xml writes is accepted. */
static bool cap_sign_restrict(xmlSecDSigCtxPtr ctx)
{
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
	return xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) == 0 &&
	       xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) == 0 &&
	       xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) == 0 &&
	       xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) == 0 &&
	       xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) == 0;
}

ga_err cap_sign_verify(const struct cap_sign_key *k, const char *xml, size_t len, char *msg,
		       size_t msglen)
{
	xmlSecDSigCtxPtr ctx = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr sig;
	ga_err e;

	if ((e = cap_sign_init(msg, msglen)) != GA_OK)
		return e;
	if (k == NULL || xml == NULL) {
		snprintf(msg, msglen, "no key");
		return GA_ERR_INVAL;
	}
	cap_sign_xerr[0] = '\0';
	if ((doc = cap_sign_parse(xml, len, msg, msglen)) == NULL)
		return GA_ERR_INVAL;
	e = GA_ERR_INVAL;
	sig = cap_sign_last_element(xmlDocGetRootElement(doc));
	if (sig == NULL || !xmlSecCheckNodeName(sig, xmlSecNodeSignature, xmlSecDSigNs)) {
		snprintf(msg, msglen, "no ds:Signature as the last element of <alert>");
		goto out;
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL ||
	    (ctx->signKey = xmlSecKeyDuplicate(k->xkey)) == NULL || !cap_sign_restrict(ctx)) {
		snprintf(msg, msglen, "out of memory");
		e = GA_ERR_NOMEM;
		goto out;
	}
	if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
		snprintf(msg, msglen,
			 "the signature cannot be checked (%s; only %s with one "
			 "Reference URI=\"\" is accepted)",
			 cap_sign_xerr[0] ? cap_sign_xerr : "malformed", CAP_SIGN_ALG);
		goto out;
	}
	if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) {
		snprintf(msg, msglen, "the signature has %u references, not one",
			 (unsigned)xmlSecPtrListGetSize(&ctx->signedInfoReferences));
		goto out;
	}
	xmlSecDSigReferenceCtxPtr ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
	if (ref != NULL && ref->status != xmlSecDSigStatusSucceeded) {
		snprintf(msg, msglen,
			 "the content does not match the signed digest (changed "
			 "after signing)");
		goto out;
	}
	if (ctx->status != xmlSecDSigStatusSucceeded) {
		snprintf(msg, msglen,
			 "the signature does not match: made with another key (this "
			 "is key_id %s) or its SignedInfo changed",
			 k->id);
		goto out;
	}
	e = GA_OK;
out:
	ERR_clear_error();
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	xmlFreeDoc(doc);
	return e;
}
