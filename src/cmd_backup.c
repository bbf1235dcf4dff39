/* cmd_backup.c - `geoalert backup PATH -c FILE`: copies the database named
 * in the config to PATH with SQLite's online backup (store_backup), while
 * the service may be running and writing. Prints "backup: PATH: N pages,
 * B bytes" and exits 0; exits 1 on failure (PATH then holds what it held
 * before), 2 on a usage error. Restoring is a file copy with the service
 * stopped (docs/operations.md, Backup and restore). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "store.h"

#define BACKUP_CMD_ERR_MAX 768

static int backup_usage(void)
{
	fprintf(stderr, "usage: geoalert backup PATH -c FILE\n");
	return 2;
}

int cmd_backup(int argc, char **argv)
{
	const char *cfgpath = NULL, *dest = NULL;
	char err[BACKUP_CMD_ERR_MAX];
	struct store_options sopt = {0};
	struct config *cfg = NULL;
	struct store *s = NULL;
	struct stat sb;
	int64_t pages = 0;
	int status = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else if (argv[i][0] != '-' && dest == NULL)
			dest = argv[i];
		else
			return backup_usage();
	}
	if (cfgpath == NULL || dest == NULL)
		return backup_usage();
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "geoalert backup: out of memory\n");
		goto out;
	}
	if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert: %s\n", err);
		goto out;
	}
	/* SQLite's online backup API: nothing to do with a PostgreSQL store,
	 * and [store] path (its default) may name an unrelated old file. */
	if (cfg->store.url[0] != '\0') {
		fprintf(stderr,
			"geoalert backup: [store] url: this command copies a SQLite database; back "
			"PostgreSQL up with its own tools (pg_basebackup, pg_dump)\n");
		goto out;
	}
	/* The database must exist: store_open would create an empty one. */
	if (stat(cfg->store.path, &sb) == -1) {
		fprintf(stderr, "geoalert backup: database %s: not found\n", cfg->store.path);
		goto out;
	}
	sopt.path = cfg->store.path;
	sopt.url = cfg->store.url;
	sopt.password_file = cfg->store.password_file;
	if (store_open(&sopt, &s, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert: %s\n", err);
		goto out;
	}
	if (store_backup(s, dest, &pages, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert: %s\n", err);
		goto out;
	}
	if (stat(dest, &sb) == -1) {
		fprintf(stderr, "geoalert backup: %s: gone after the backup\n", dest);
		goto out;
	}
	printf("backup: %s: %" PRId64 " pages, %lld bytes\n", dest, pages, (long long)sb.st_size);
	status = 0;
out:
	store_close(s);
	free(cfg);
	return status;
}
