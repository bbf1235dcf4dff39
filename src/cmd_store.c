/* cmd_store.c - `geoalert store copy --from FILE.db --to URL
 * [--password-file FILE]` (spec §10): moves a SQLite deployment into an
 * empty PostgreSQL database (store_copy.h says what is copied and how).
 *
 * The source is opened as serve opens it: a file of an older geoalert is
 * first migrated, in place, to the current schema (as the next serve would
 * do; take the backup before). A source that a running serve holds (its
 * lock file, service_lock.h) is refused: stop serve first, so that nothing
 * is stored after the snapshot the copy reads. The target's password comes
 * from --password-file or libpq's PGPASSFILE, never from the command line:
 * a URL holding one is refused. The key ids the deployment signs with
 * (table signing_keys, issue 12) are copied like any table: serve on the
 * copy must have the SQLite deployment's key files, or `geoalert keys
 * adopt` its new ones (docs/high-availability.md, Signing keys).
 *
 * Progress on stderr (tables skipped, rows per table as they go in); the
 * result on stdout, one line per table with the rows on each side after
 * the commit. Exit 0 only when every table's counts match; 1 on any
 * failure (the target is then as empty as it was, unless the failure is a
 * count after the commit, which is said); 2 on a usage error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"
#include "service_lock.h"
#include "store.h"
#include "store_copy.h"

#define STORE_CMD_ERR_MAX 1024

struct store_cmd_tally {
	int64_t rows;
	int tables;
	bool committed, mismatch;
};

static int store_usage(void)
{
	fprintf(stderr,
		"usage: geoalert store copy --from FILE.db --to URL [--password-file FILE]\n"
		"  copies a SQLite deployment into an empty PostgreSQL database (stop serve\n"
		"  first; an older FILE.db is migrated to the current schema in place first)\n");
	return 2;
}

/* A postgresql:// URL with no password in it (as [store] url, config.c). */
static bool store_url_ok(const char *u)
{
	const char *rest, *at, *colon;

	if (strncmp(u, "postgresql://", 13) == 0)
		rest = u + 13;
	else if (strncmp(u, "postgres://", 11) == 0)
		rest = u + 11;
	else {
		fprintf(stderr, "geoalert store copy: --to must be a postgresql:// URL\n");
		return false;
	}
	at = strchr(rest, '@');
	colon = strchr(rest, ':');
	if ((at && colon && colon < at && !memchr(rest, '/', (size_t)(at - rest))) ||
	    strstr(u, "password=") != NULL) {
		fprintf(stderr, "geoalert store copy: --to holds a password; give it with"
				" --password-file FILE (or libpq's PGPASSFILE) instead\n");
		return false;
	}
	return true;
}

static void store_progress(const struct store_copy_event *ev, void *arg)
{
	struct store_cmd_tally *tally = arg;

	switch (ev->what) {
	case STORE_COPY_SKIPPED:
		fprintf(stderr, "store copy: %s: skipped: %s\n", ev->table, ev->reason);
		break;
	case STORE_COPY_PROGRESS:
		fprintf(stderr, "store copy: %s: %" PRId64 " rows so far (%.1f s)\n", ev->table,
			ev->rows, ev->seconds);
		break;
	case STORE_COPY_COPIED:
		fprintf(stderr, "store copy: %s: %" PRId64 " rows (%.2f s)\n", ev->table, ev->rows,
			ev->seconds);
		break;
	case STORE_COPY_COMMITTED:
		tally->committed = true;
		break;
	case STORE_COPY_COUNTED:
		printf("%-28s %10" PRId64 " %10" PRId64 "%s\n", ev->table, ev->rows,
		       ev->target_rows, ev->rows == ev->target_rows ? "" : "  DIFFERENT");
		tally->rows += ev->rows;
		tally->tables++;
		if (ev->rows != ev->target_rows)
			tally->mismatch = true;
		break;
	}
}

static int store_copy_cmd(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *password_file = NULL;
	char err[STORE_CMD_ERR_MAX];
	struct store_options src_opt = {0}, dst_opt = {0};
	struct store *src = NULL, *dst = NULL;
	struct store_cmd_tally tally = {0};
	struct timespec t0, t1;
	struct stat sb;
	int lock = -1, status = 1;
	ga_err e;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			password_file = argv[++i];
		else
			return store_usage();
	}
	if (from == NULL || to == NULL || from[0] == '\0')
		return store_usage();
	if (!store_url_ok(to))
		return 2;
	/* store_open would create an empty database at a wrong path. */
	if (stat(from, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "geoalert store copy: %s: no such database file\n", from);
		return 1;
	}
	if (service_lock_take(from, &lock, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert store copy: %s (stop geoalert serve first)\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	src_opt.path = from;
	if (store_open(&src_opt, &src, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert store copy: source: %s\n", err);
		goto out;
	}
	dst_opt.url = to;
	dst_opt.password_file = password_file;
	if (store_open(&dst_opt, &dst, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert store copy: target: %s\n", err);
		goto out;
	}
	e = store_copy(src, dst, store_progress, &tally, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (e != GA_OK) {
		fprintf(stderr, "geoalert store copy: %s\n", err);
		if (!tally.committed)
			fprintf(stderr, "geoalert store copy: nothing was copied: the target is"
					" as it was\n");
		goto out;
	}
	if (tally.mismatch) {
		fprintf(stderr, "geoalert store copy: row counts differ after the commit\n");
		goto out;
	}
	printf("copied %d tables, %" PRId64 " rows, in %.2f s: row counts equal on both sides\n",
	       tally.tables, tally.rows,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	status = 0;
out:
	store_close(dst);
	store_close(src);
	service_lock_release(lock);
	return status;
}

int cmd_store(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "copy") == 0)
		return store_copy_cmd(argc - 1, argv + 1);
	return store_usage();
}
