/* cmd_verify.c - `geoalert verify FILE [-c CONFIG | --key PUBKEYFILE]`:
 * checks the Ed25519 signature of a saved alert JSON (what
 * /alerts/{id}.json serves; sign.h, docs/signatures.md). The key is the
 * public key file (what /.well-known/geoalert-signing-key serves; a
 * PRIVATE KEY file works too) or, with -c, the config's
 * [alerts] signing_key_file. FILE "-" is standard input.
 * Prints "valid: ALERT_ID version N, key_id K" and exits 0; prints
 * "invalid: why" and exits 1 (a changed byte, another key, no signature,
 * not JSON); exits 2 on a usage error or a key that cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Reads at most VERIFY_FILE_MAX bytes of path ("-": stdin) and parses
 * them; on failure prints why and returns NULL. */
static json_t *verify_read(const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	size_t n;

	if (fp == NULL) {
		printf("invalid: %s: cannot open\n", path);
		return NULL;
	}
	if ((buf = malloc(VERIFY_FILE_MAX + 1)) == NULL)
		goto out;
	n = fread(buf, 1, VERIFY_FILE_MAX + 1, fp);
	if (n > VERIFY_FILE_MAX) {
		printf("invalid: %s: larger than %u bytes\n", path, VERIFY_FILE_MAX);
		goto out;
	}
	j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		printf("invalid: %s: not JSON (line %d: %s)\n", path, jerr.line, jerr.text);
out:
	free(buf);
	if (fp != stdin)
		fclose(fp);
	return j;
}

int cmd_verify(int argc, char **argv)
{
	const char *file = NULL, *cfgpath = NULL, *keypath = NULL;
	char err[VERIFY_ERR_MAX], msg[256];
	struct config *cfg = NULL;
	struct sign_key *key = NULL;
	json_t *alert = NULL;
	int status = 2;

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
		keypath = cfg->alerts.signing_key_file;
	}
	if (sign_pubkey_load(keypath, &key, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert verify: key: %s\n", err);
		goto out;
	}
	status = 1;
	if ((alert = verify_read(file)) == NULL)
		goto out;
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
	free(cfg);
	return status;
}
