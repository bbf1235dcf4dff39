/* cmd_keys.c - `geoalert keys check -c FILE` and `geoalert keys adopt -c
 * FILE` (issue 12, spec §10; docs/high-availability.md, Signing keys):
 * the key ids the database records as the deployment's signing keys,
 * against the config's key files.
 *
 * serve records the ids of [alerts] signing_key_file and
 * cap_signing_key_file at its first start on a database and refuses to
 * start with any other key (service.c). `keys check` says, per key, the
 * file's key id and the recorded one: exit 0 when every file is there and
 * matches (or nothing is recorded yet: the next serve records it), 1 when
 * one differs or a file is missing or bad. It changes nothing.
 *
 * `keys adopt` is how the keys change on purpose: it records the ids of
 * the config's key files as the deployment's, replacing what was recorded
 * (a missing key file is made first, as serve would, and said so). On
 * SQLite it is refused while serve runs on the file (its lock,
 * service_lock.h): that serve signs with the old key. On PostgreSQL it
 * cannot see the running instances: stop them all first, put the same
 * key files on every machine, adopt once, start them again (an instance
 * still running keeps signing with its old key until it stops). Exit 0
 * when recorded, 1 on failure, 2 on a usage error. Only public key ids
 * are printed or stored, never a secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cap_sign.h"
#include "cmd.h"
#include "config.h"
#include "service_lock.h"
#include "sign.h"
#include "store.h"
#include "timeutil.h"

#define KEYS_CMD_ERR_MAX 1024
#define KEYS_N 2

/* The config's two keys: option name, path, the file's id. */
struct keys_file {
	const char *option;
	const char *path;
	char id[STORE_KEY_ID_MAX]; /* "" when the file is missing or bad */
	bool made;
};

static int keys_usage(void)
{
	fprintf(stderr, "usage: geoalert keys check -c FILE\n"
			"         compare the key files' ids with the ones the database records\n"
			"       geoalert keys adopt -c FILE\n"
			"         record the key files' ids as the deployment's signing keys\n"
			"         (making a missing key file first); stop serve first\n");
	return 2;
}

/* Reads the id of each key file (making a missing one when create);
 * prints what is wrong on stderr. GA_OK when both are read. */
static ga_err keys_read_files(const struct config *cfg, struct keys_file *f, bool create,
			      const char *cmd)
{
	char err[KEYS_CMD_ERR_MAX];
	struct sign_key *k = NULL;
	struct cap_sign_key *ck = NULL;
	ga_err e, result = GA_OK;

	e = sign_key_load(f[0].path, create, &k, &f[0].made, err, sizeof(err));
	if (e == GA_OK)
		snprintf(f[0].id, sizeof(f[0].id), "%s", sign_key_id(k));
	sign_key_free(k);
	if (e != GA_OK) {
		fprintf(stderr, "geoalert keys %s: [alerts] %s: %s\n", cmd, f[0].option,
			e == GA_ERR_NOTFOUND ? "no such file" : err);
		result = e;
	}
	e = cap_sign_key_load(f[1].path, create, cfg->alerts.cap_sender, &ck, &f[1].made, err,
			      sizeof(err));
	if (e == GA_OK)
		snprintf(f[1].id, sizeof(f[1].id), "%s", cap_sign_key_id(ck));
	cap_sign_key_free(ck);
	cap_sign_shutdown();
	if (e != GA_OK) {
		fprintf(stderr, "geoalert keys %s: [alerts] %s: %s\n", cmd, f[1].option,
			e == GA_ERR_NOTFOUND ? "no such file" : err);
		result = e;
	}
	for (int i = 0; i < KEYS_N; i++)
		if (f[i].made)
			fprintf(stderr,
				"geoalert keys %s: [alerts] %s: made %s (mode 0600), key_id %s;"
				" back it up\n",
				cmd, f[i].option, f[i].path, f[i].id);
	return result;
}

static int keys_cmd(int argc, char **argv)
{
	const char *cmd = argv[0], *cfgpath = NULL;
	char err[KEYS_CMD_ERR_MAX], when[TIME_TEXT_MAX];
	struct store_options sopt = {0};
	struct config *cfg = NULL;
	struct store *s = NULL;
	struct stat sb;
	bool adopt = strcmp(cmd, "adopt") == 0;
	int lock = -1, status = 1;
	ga_err e;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else
			return keys_usage();
	}
	if (cfgpath == NULL)
		return keys_usage();
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "geoalert keys %s: out of memory\n", cmd);
		goto out;
	}
	if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert keys %s: %s\n", cmd, err);
		goto out;
	}
	struct keys_file f[KEYS_N] = {
	    {.option = "signing_key_file", .path = cfg->alerts.signing_key_file},
	    {.option = "cap_signing_key_file", .path = cfg->alerts.cap_signing_key_file},
	};
	/* Before a key is made: a running serve signs with the old ones. */
	if (adopt && cfg->store.url[0] == '\0' &&
	    service_lock_take(cfg->store.path, &lock, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert keys adopt: %s (stop geoalert serve first)\n", err);
		goto out;
	}
	e = keys_read_files(cfg, f, adopt, cmd);
	if (adopt && e != GA_OK)
		goto out;
	/* check changes nothing: not even an empty database made here */
	if (!adopt && cfg->store.url[0] == '\0' && stat(cfg->store.path, &sb) == -1) {
		for (int i = 0; i < KEYS_N; i++)
			printf("%s %s: key_id %s: no database yet (the first serve records it)\n",
			       f[i].option, f[i].path, f[i].id[0] ? f[i].id : "-");
		status = e == GA_OK ? 0 : 1;
		goto out;
	}
	sopt.path = cfg->store.path;
	sopt.url = cfg->store.url;
	sopt.password_file = cfg->store.password_file;
	sopt.max_page_count = cfg->store.max_page_count;
	if (store_open(&sopt, &s, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert keys %s: %s\n", cmd, err);
		goto out;
	}
	struct store_key keys[KEYS_N] = {
	    {.purpose = STORE_KEY_ALERT, .key_id = f[0].id},
	    {.purpose = STORE_KEY_CAP, .key_id = f[1].id},
	};
	if (adopt) {
		if ((e = store_keys_adopt(s, keys, KEYS_N, time_now_ms())) != GA_OK) {
			fprintf(stderr, "geoalert keys adopt: cannot record the keys (%s)\n",
				ga_strerror(e));
			goto out;
		}
		for (int i = 0; i < KEYS_N; i++) {
			if (strcmp(keys[i].recorded, f[i].id) == 0)
				printf("%s %s: key_id %s: recorded already\n", f[i].option,
				       f[i].path, f[i].id);
			else
				printf("%s %s: key_id %s recorded (was %s)\n", f[i].option,
				       f[i].path, f[i].id,
				       keys[i].recorded[0] ? keys[i].recorded : "none");
		}
		status = 0;
		goto out;
	}
	if ((e = store_keys_get(s, keys, KEYS_N)) != GA_OK) {
		fprintf(stderr, "geoalert keys check: cannot read the recorded keys (%s)\n",
			ga_strerror(e));
		goto out;
	}
	status = 0;
	for (int i = 0; i < KEYS_N; i++) {
		const char *verdict = "ok";
		if (f[i].id[0] == '\0')
			verdict = "NO KEY FILE";
		else if (keys[i].recorded[0] == '\0')
			verdict = "not recorded yet (the next serve records it)";
		else if (strcmp(f[i].id, keys[i].recorded) != 0)
			verdict = "DIFFERENT: serve refuses to start";
		if (keys[i].recorded[0])
			time_format_rfc3339(keys[i].recorded_ms, cfg->alerts.utc_offset_min, when,
					    sizeof(when));
		printf("%s %s: key_id %s, recorded %s%s%s%s: %s\n", f[i].option, f[i].path,
		       f[i].id[0] ? f[i].id : "-", keys[i].recorded[0] ? keys[i].recorded : "-",
		       keys[i].recorded[0] ? " (" : "", keys[i].recorded[0] ? when : "",
		       keys[i].recorded[0] ? ")" : "", verdict);
		if (f[i].id[0] == '\0' ||
		    (keys[i].recorded[0] && strcmp(f[i].id, keys[i].recorded) != 0))
			status = 1;
	}
	if (status != 0)
		fprintf(stderr, "geoalert keys check: copy the key files from a running instance,"
				" or record these with `geoalert keys adopt -c FILE`"
				" (docs/high-availability.md, Signing keys)\n");
out:
	store_close(s);
	service_lock_release(lock);
	free(cfg);
	return status;
}

int cmd_keys(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "adopt") == 0))
		return keys_cmd(argc - 1, argv + 1);
	return keys_usage();
}
