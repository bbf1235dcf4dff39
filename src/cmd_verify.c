/* cmd_verify.c - `geoalert verify FILE [-c CONFIG | --key PUBKEYFILE]`:
 * checks the signature of a saved alert.
 *
 * A JSON file (what /alerts/{id}.json serves) is checked against its
 * Ed25519 signature (sign.h): the key is the public key file (what
 * /.well-known/geoalert-signing-key serves; a PRIVATE KEY file works too)
 * or, with -c, the config's [alerts] signing_key_file.
 * A CAP XML file (what /alerts/{id}.xml serves; the file's first byte
 * other than blanks is '<') is checked against its XML Signature
 * (cap_sign.h): the key is what /.well-known/geoalert-cap-signing-key
 * serves (or the CAP private key file) or, with -c, the config's
 * [alerts] cap_signing_key_file.
 * FILE "-" is standard input.
 * Prints "valid: ALERT_ID version N, key_id K" (JSON) or "valid: CAP
 * IDENTIFIER, key_id K" (XML) and exits 0; prints "invalid: why" and exits
 * 1 (a changed byte, another key, no signature, not JSON or XML); exits 2
 * on a usage error or a key that cannot be read. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "cap_sign.h"
#include "cmd.h"
#include "config.h"
#include "sign.h"

#define VERIFY_FILE_MAX (1u << 20) /* bytes of an alert file */
#define VERIFY_ERR_MAX 768

static int verify_usage(void)
{
	fprintf(stderr, "usage: geoalert verify FILE [-c CONFIG | --key PUBKEYFILE]\n");
	return 2;
}

/* Reads at most VERIFY_FILE_MAX bytes of path ("-": stdin) into a
 * malloc'd NUL-terminated *buf; on failure prints why and returns false. */
static bool verify_read(const char *path, char **buf, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	bool ok = false;
	size_t n;

	*buf = NULL;
	if (fp == NULL) {
		printf("invalid: %s: cannot open\n", path);
		return false;
	}
	if ((*buf = malloc(VERIFY_FILE_MAX + 1)) == NULL)
		goto out;
	n = fread(*buf, 1, VERIFY_FILE_MAX + 1, fp);
	if (n > VERIFY_FILE_MAX) {
		printf("invalid: %s: larger than %u bytes\n", path, VERIFY_FILE_MAX);
		goto out;
	}
	(*buf)[n] = '\0';
	*len = n;
	ok = true;
out:
	if (!ok) {
		free(*buf);
		*buf = NULL;
	}
	if (fp != stdin)
		fclose(fp);
	return ok;
}

/* Whether the text is XML: its first byte past a UTF-8 BOM and blanks is
 * '<' (a JSON alert starts with '{'). */
static bool verify_is_xml(const char *buf, size_t len)
{
	size_t i = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

	while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
		i++;
	return i < len && buf[i] == '<';
}

static int verify_json(const char *file, const char *buf, size_t len, const char *keypath)
{
	char err[VERIFY_ERR_MAX], msg[256];
	struct sign_key *key = NULL;
	json_error_t jerr;
	json_t *alert = NULL;
	int status = 2;

	if (sign_pubkey_load(keypath, &key, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert verify: key: %s\n", err);
		goto out;
	}
	status = 1;
	if ((alert = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		printf("invalid: %s: not JSON (line %d: %s)\n", file, jerr.line, jerr.text);
		goto out;
	}
	if (sign_verify(key, alert, msg, sizeof(msg)) != GA_OK) {
		printf("invalid: %s\n", msg);
		goto out;
	}
	printf("valid: %s version %d, key_id %s\n",
	       json_string_value(json_object_get(alert, "alert_id"))
		   ? json_string_value(json_object_get(alert, "alert_id"))
		   : "?",
	       (int)json_integer_value(json_object_get(alert, "version")), sign_key_id(key));
	status = 0;
out:
	json_decref(alert);
	sign_key_free(key);
	return status;
}

/* The text of the CAP <identifier> of a document already verified. */
static void verify_cap_identifier(const char *buf, size_t len, char *id, size_t idlen)
{
	xmlDocPtr doc = xmlReadMemory(buf, (int)len, "cap.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

	snprintf(id, idlen, "?");
	for (xmlNodePtr n = root ? root->children : NULL; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "identifier")) {
			xmlChar *t = xmlNodeGetContent(n);
			snprintf(id, idlen, "%s", t ? (const char *)t : "?");
			xmlFree(t);
			break;
		}
	}
	xmlFreeDoc(doc);
}

static int verify_cap(const char *buf, size_t len, const char *keypath)
{
	char err[VERIFY_ERR_MAX], msg[512], id[CAP_ID_MAX];
	struct cap_sign_key *key = NULL;
	int status = 2;

	if (cap_sign_pubkey_load(keypath, &key, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert verify: CAP key: %s\n", err);
		goto out;
	}
	status = 1;
	if (cap_sign_verify(key, buf, len, msg, sizeof(msg)) != GA_OK) {
		printf("invalid: %s\n", msg);
		goto out;
	}
	verify_cap_identifier(buf, len, id, sizeof(id));
	printf("valid: CAP %s, key_id %s\n", id, cap_sign_key_id(key));
	status = 0;
out:
	cap_sign_key_free(key);
	cap_sign_shutdown();
	return status;
}

int cmd_verify(int argc, char **argv)
{
	const char *file = NULL, *cfgpath = NULL, *keypath = NULL;
	char err[VERIFY_ERR_MAX], *buf = NULL;
	struct config *cfg = NULL;
	int status = 2;
	size_t len = 0;
	bool xml;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			keypath = argv[++i];
		else if (file == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			file = argv[i];
		else
			return verify_usage();
	}
	if (file == NULL || (cfgpath == NULL) == (keypath == NULL))
		return verify_usage();
	if (cfgpath != NULL) {
		if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
			goto out;
		if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
			fprintf(stderr, "geoalert verify: %s\n", err);
			goto out;
		}
	}
	status = 1;
	if (!verify_read(file, &buf, &len))
		goto out;
	xml = verify_is_xml(buf, len);
	if (cfg != NULL)
		keypath = xml ? cfg->alerts.cap_signing_key_file : cfg->alerts.signing_key_file;
	status = xml ? verify_cap(buf, len, keypath) : verify_json(file, buf, len, keypath);
out:
	free(buf);
	free(cfg);
	return status;
}
