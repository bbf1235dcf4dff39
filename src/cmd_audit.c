/* cmd_audit.c - `geoalert audit verify -c FILE [--anchor SEQ:HASH]`:
 * checks the audit trail's hash chain (audit.h says what that can find).
 * Prints "ok: N rows, last seq S hash H" and exits 0, or names the first
 * bad row and what is wrong with it and exits 1. Record the printed seq
 * and hash somewhere else (a ticket, a log host): given back as --anchor
 * they also catch rows cut off the end and a rewritten chain. Exit 2 on a
 * usage error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cmd.h"
#include "config.h"
#include "store.h"

#define AUDIT_CMD_ERR_MAX 768

static int audit_usage(void)
{
	fprintf(stderr, "usage: geoalert audit verify -c FILE [--anchor SEQ:HASH]\n");
	return 2;
}

static int audit_cmd_verify(int argc, char **argv)
{
	const char *cfgpath = NULL, *anchor_text = NULL;
	struct audit_anchor anchor;
	struct audit_verify_result res;
	struct store_options sopt = {0};
	struct config *cfg = NULL;
	struct store *s = NULL;
	char err[AUDIT_CMD_ERR_MAX];
	int status = 2;
	ga_err e;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc)
			anchor_text = argv[++i];
		else
			return audit_usage();
	}
	if (cfgpath == NULL)
		return audit_usage();
	if (anchor_text != NULL && audit_anchor_parse(anchor_text, &anchor) != GA_OK) {
		fprintf(stderr, "geoalert audit verify: --anchor wants SEQ:HASH (64 hex digits)\n");
		return 2;
	}
	status = 1;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "geoalert audit verify: out of memory\n");
		goto out;
	}
	if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert audit verify: %s\n", err);
		goto out;
	}
	sopt.path = cfg->store.path;
	sopt.url = cfg->store.url;
	sopt.password_file = cfg->store.password_file;
	if (store_open(&sopt, &s, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert audit verify: %s\n", err);
		goto out;
	}
	if ((e = audit_verify(s, anchor_text ? &anchor : NULL, &res)) != GA_OK) {
		fprintf(stderr, "geoalert audit verify: cannot read the audit trail: %s\n",
			ga_strerror(e));
		goto out;
	}
	if (!res.ok) {
		printf("bad: seq %" PRId64 ": %s\n", res.first_bad_seq, res.problem);
		printf("rows before it are good: %" PRId64 " rows, last seq %" PRId64 " hash %s\n",
		       res.rows, res.last_seq, res.last_hash);
		goto out;
	}
	printf("ok: %" PRId64 " rows, last seq %" PRId64 " hash %s\n", res.rows, res.last_seq,
	       res.last_hash);
	status = 0;
out:
	store_close(s);
	free(cfg);
	return status;
}

int cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_cmd_verify(argc - 1, argv + 1);
	return audit_usage();
}
