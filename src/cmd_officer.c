/* cmd_officer.c - `geoalert officer add NAME --role ROLE -c FILE
 * [--password-file FILE]` (spec §7): creates an officer and prints their
 * API token, once, as the only line on stdout. Only the token's hash is
 * stored; a password (for the console) comes from a file, never from the
 * command line where ps and shell histories would show it, and is refused
 * when common or trivial (officer_password_check).
 *
 * `geoalert officer disable NAME -c FILE` and `officer enable NAME -c FILE`
 * take an officer out of service and back: a disabled officer's token,
 * password and open console sessions are refused from the next request
 * on. `geoalert officer token NAME -c FILE` gives them a new API token,
 * printed once on stdout; the old one stops working at once. Each is an
 * audit row.
 *
 * `geoalert officer password NAME -c FILE --password-file FILE` gives
 * them a new console password (same policy as add) and ends their open
 * console sessions; `--none` instead of the file removes the password
 * (console login refused, the API token still works). Audited.
 *
 * The service may be running on the same database: SQLite's WAL lets
 * both at it, and the busy timeout covers a moment's write lock. Exit 0
 * on success, 1 on failure, 2 on a usage error. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "officer.h"
#include "store.h"
#include "timeutil.h"

#define OFFICER_CMD_ERR_MAX 768

static int officer_usage(void)
{
	fprintf(stderr,
		"usage: geoalert officer add NAME --role duty_officer|supervisor|admin"
		" -c FILE [--password-file FILE]\n"
		"       geoalert officer disable NAME -c FILE\n"
		"       geoalert officer enable NAME -c FILE\n"
		"       geoalert officer token NAME -c FILE\n"
		"       geoalert officer password NAME -c FILE --password-file FILE|--none\n");
	return 2;
}

static int officer_cmd_add(int argc, char **argv)
{
	const char *name = NULL, *role_text = NULL, *cfgpath = NULL, *pwfile = NULL;
	char password[OFFICER_PASSWORD_MAX + 2], token[OFFICER_TOKEN_MAX] = "";
	char err[OFFICER_CMD_ERR_MAX];
	struct store_options sopt = {0};
	struct config *cfg = NULL;
	struct store *s = NULL;
	enum officer_role role;
	struct officer o;
	int status = 2;
	ga_err e;

	password[0] = '\0';
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role_text = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			pwfile = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return officer_usage();
	}
	if (name == NULL || role_text == NULL || cfgpath == NULL)
		return officer_usage();
	if (officer_role_parse(role_text, &role) != GA_OK) {
		fprintf(
		    stderr,
		    "geoalert officer add: unknown role %s: duty_officer, supervisor or admin\n",
		    role_text);
		return 2;
	}
	status = 1;
	if (!officer_name_valid(name)) {
		fprintf(stderr,
			"geoalert officer add: bad name: 1..%d bytes of UTF-8 without spaces,"
			" control characters or '/'\n",
			OFFICER_NAME_MAX - 1);
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "geoalert officer add: out of memory\n");
		goto out;
	}
	if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer add: %s\n", err);
		goto out;
	}
	if (pwfile != NULL &&
	    config_read_secret(pwfile, password, sizeof(password), err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer add: password file %s\n", err);
		goto out;
	}
	sopt.path = cfg->store.path;
	sopt.url = cfg->store.url;
	sopt.password_file = cfg->store.password_file;
	sopt.max_page_count = cfg->store.max_page_count;
	if (store_open(&sopt, &s, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer add: %s\n", err);
		goto out;
	}
	e = officer_add(s, name, role, pwfile != NULL ? password : NULL, 0, time_now_ms(), token,
			&o, err, sizeof(err));
	if (e != GA_OK) {
		fprintf(stderr, "geoalert officer add: %s\n", err);
		goto out;
	}
	/* The one time the token exists outside the client: if it cannot be
	 * written, say so, since the officer now has a token nobody knows. */
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		fprintf(stderr,
			"geoalert officer add: officer %s (id %lld) was created but the token"
			" could not be written to stdout\n",
			o.name, (long long)o.id);
		goto out;
	}
	fprintf(stderr,
		"geoalert officer add: officer %s (%s) added as id %lld%s; the token on stdout is"
		" shown only now\n",
		o.name, officer_role_name(o.role), (long long)o.id,
		o.password_hash[0] ? " with a console password" : "");
	status = 0;
out:
	sodium_memzero(password, sizeof(password));
	sodium_memzero(token, sizeof(token));
	store_close(s);
	free(cfg);
	return status;
}

/* Parses "NAME -c FILE" of the verbs on an existing officer (and, when
 * pwfile is not NULL, "--password-file FILE" or "--none", *none set for
 * the latter), loads the config and opens its database (which must exist:
 * store_open would make an empty one). 0 with *s open, else the exit
 * status. */
static int officer_cmd_open_pw(const char *verb, int argc, char **argv, const char **name,
			       const char **pwfile, bool *none, struct store **s)
{
	const char *cfgpath = NULL;
	char err[OFFICER_CMD_ERR_MAX];
	struct store_options sopt = {0};
	struct config *cfg = NULL;
	struct stat sb;
	int status = 1;

	*name = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else if (pwfile != NULL && strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			*pwfile = argv[++i];
		else if (none != NULL && strcmp(argv[i], "--none") == 0)
			*none = true;
		else if (argv[i][0] != '-' && *name == NULL)
			*name = argv[i];
		else
			return officer_usage();
	}
	if (*name == NULL || cfgpath == NULL)
		return officer_usage();
	/* exactly one of --password-file and --none */
	if (pwfile != NULL && (*pwfile != NULL) == *none)
		return officer_usage();
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "geoalert officer %s: out of memory\n", verb);
		goto out;
	}
	if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer %s: %s\n", verb, err);
		goto out;
	}
	/* SQLite: never create a file here; PostgreSQL's database exists or
	 * store_open fails */
	if (cfg->store.url[0] == '\0' && stat(cfg->store.path, &sb) == -1) {
		fprintf(stderr, "geoalert officer %s: database %s: not found\n", verb,
			cfg->store.path);
		goto out;
	}
	sopt.path = cfg->store.path;
	sopt.url = cfg->store.url;
	sopt.password_file = cfg->store.password_file;
	sopt.max_page_count = cfg->store.max_page_count;
	if (store_open(&sopt, s, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer %s: %s\n", verb, err);
		goto out;
	}
	status = 0;
out:
	free(cfg);
	return status;
}

static int officer_cmd_open(const char *verb, int argc, char **argv, const char **name,
			    struct store **s)
{
	return officer_cmd_open_pw(verb, argc, argv, name, NULL, NULL, s);
}

static int officer_cmd_disable(int argc, char **argv, bool disabled)
{
	const char *verb = disabled ? "disable" : "enable", *name;
	char err[OFFICER_CMD_ERR_MAX];
	struct store *s = NULL;
	struct officer o;
	bool changed = false;
	int status;

	if ((status = officer_cmd_open(verb, argc, argv, &name, &s)) != 0)
		return status;
	status = 1;
	if (officer_set_disabled(s, name, disabled, 0, &o, &changed, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer %s: %s\n", verb, err);
		goto out;
	}
	if (!changed)
		fprintf(stderr, "geoalert officer %s: officer %s (id %lld) was %s already\n", verb,
			o.name, (long long)o.id, disabled ? "disabled" : "enabled");
	else if (disabled)
		fprintf(stderr,
			"geoalert officer %s: officer %s (id %lld) disabled: their token, password"
			" and console sessions are refused from now on\n",
			verb, o.name, (long long)o.id);
	else
		fprintf(stderr, "geoalert officer %s: officer %s (id %lld) enabled again\n", verb,
			o.name, (long long)o.id);
	status = 0;
out:
	store_close(s);
	return status;
}

static int officer_cmd_token(int argc, char **argv)
{
	char err[OFFICER_CMD_ERR_MAX], token[OFFICER_TOKEN_MAX] = "";
	struct store *s = NULL;
	const char *name;
	struct officer o;
	int status;

	if ((status = officer_cmd_open("token", argc, argv, &name, &s)) != 0)
		return status;
	status = 1;
	if (officer_token_rotate(s, name, 0, token, &o, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer token: %s\n", err);
		goto out;
	}
	/* As for add: the new token exists only here; the old one is gone. */
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		fprintf(stderr,
			"geoalert officer token: officer %s (id %lld) has a new token but it could"
			" not be written to stdout: run the command again\n",
			o.name, (long long)o.id);
		goto out;
	}
	fprintf(stderr,
		"geoalert officer token: officer %s (id %lld) has a new token, shown only now; the"
		" old one no longer works%s\n",
		o.name, (long long)o.id, o.disabled ? " (the officer is disabled)" : "");
	status = 0;
out:
	sodium_memzero(token, sizeof(token));
	store_close(s);
	return status;
}

static int officer_cmd_password(int argc, char **argv)
{
	char err[OFFICER_CMD_ERR_MAX], password[OFFICER_PASSWORD_MAX + 2] = "";
	const char *name, *pwfile = NULL;
	struct store *s = NULL;
	bool none = false;
	struct officer o;
	int status;

	if ((status = officer_cmd_open_pw("password", argc, argv, &name, &pwfile, &none, &s)) != 0)
		return status;
	status = 1;
	if (pwfile != NULL &&
	    config_read_secret(pwfile, password, sizeof(password), err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert officer password: password file %s\n", err);
		goto out;
	}
	if (officer_password_set(s, name, none ? NULL : password, 0, &o, err, sizeof(err)) !=
	    GA_OK) {
		fprintf(stderr, "geoalert officer password: %s\n", err);
		goto out;
	}
	fprintf(stderr,
		"geoalert officer password: officer %s (id %lld) %s; their console sessions"
		" are ended\n",
		o.name, (long long)o.id,
		none ? "has no console password now" : "has a new console password");
	status = 0;
out:
	sodium_memzero(password, sizeof(password));
	store_close(s);
	return status;
}

int cmd_officer(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return officer_cmd_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "disable") == 0)
		return officer_cmd_disable(argc - 1, argv + 1, true);
	if (argc >= 2 && strcmp(argv[1], "enable") == 0)
		return officer_cmd_disable(argc - 1, argv + 1, false);
	if (argc >= 2 && strcmp(argv[1], "token") == 0)
		return officer_cmd_token(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "password") == 0)
		return officer_cmd_password(argc - 1, argv + 1);
	return officer_usage();
}
