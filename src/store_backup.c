/* store_backup.c - an online copy of the database with SQLite's backup API
 * (sqlite3_backup_init/step/finish), safe while the service writes.
 *
 * The copy is taken in one sqlite3_backup_step(-1): a single read
 * transaction on the source, which in WAL mode is a snapshot that does not
 * block the writer. (Copying in slices would restart from the beginning
 * each time another connection commits, which a busy service does every
 * few milliseconds.) It goes to a temporary file beside the destination,
 * is checked, synced and renamed into place, so the destination is either
 * what it was or a complete backup, never half of one. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h> /* SQLite only: the whole file (the backup API) */

#include "log.h"
#include "store_internal.h"

/* Busy or locked answers from backup_step are retried this often, this
 * far apart: a WAL reader waits only for a recovery or a checkpoint's
 * brief exclusive moment. */
#define STORE_BACKUP_TRIES 100
#define STORE_BACKUP_RETRY_MS 50

/* The temporary file's suffix, mkstemp's template. */
#define STORE_BACKUP_TMP_SUFFIX ".tmp-XXXXXX"

static void store_backup_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Syncs the file or directory at path. */
static int store_backup_fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* Writes into dir the directory part of path ("." when there is none). */
static ga_err store_backup_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(dir, len, ".");
		return GA_OK;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return GA_ERR_TOOBIG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return GA_OK;
}

/* Runs PRAGMA quick_check on db; GA_OK when it answers "ok". */
static ga_err store_backup_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "backup copy: quick_check: %s", sqlite3_errmsg(db));
		goto out;
	}
	const char *res = (const char *)sqlite3_column_text(st, 0);
	if (res == NULL || strcmp(res, "ok") != 0) {
		snprintf(err, errlen, "backup copy fails quick_check: %s", res ? res : "(null)");
		goto out;
	}
	e = GA_OK;
out:
	sqlite3_finalize(st);
	return e;
}

ga_err store_backup(struct store *s, const char *dest_path, int64_t *pages, char *err,
		    size_t errlen)
{
	char tmp[STORE_PATH_MAX], dir[STORE_PATH_MAX];
	struct stat src_sb, dst_sb;
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	bool tmp_made = false;
	ga_err e = GA_ERR_INVAL;
	int rc, fd, npages = 0;

	if (dest_path == NULL || dest_path[0] == '\0') {
		snprintf(err, errlen, "backup: the destination path is empty");
		goto out;
	}
	if (s->in_txn) {
		snprintf(err, errlen, "backup: %s: inside a transaction", s->path);
		goto out;
	}
	if (db_sqlite(s->db) == NULL) {
		snprintf(err, errlen, "backup: only a SQLite store is copied by geoalert");
		goto out;
	}
	if (strlen(dest_path) + sizeof(STORE_BACKUP_TMP_SUFFIX) > sizeof(tmp)) {
		snprintf(err, errlen, "backup: destination path longer than %d bytes",
			 (int)(sizeof(tmp) - sizeof(STORE_BACKUP_TMP_SUFFIX)));
		e = GA_ERR_TOOBIG;
		goto out;
	}
	/* The rename would put the copy in place of the live database. */
	if (stat(s->path, &src_sb) == 0 && stat(dest_path, &dst_sb) == 0 &&
	    src_sb.st_dev == dst_sb.st_dev && src_sb.st_ino == dst_sb.st_ino) {
		snprintf(err, errlen, "backup: %s is the database itself", dest_path);
		goto out;
	}
	if (store_backup_dir(dest_path, dir, sizeof(dir)) != GA_OK) {
		snprintf(err, errlen, "backup: %s: directory name too long", dest_path);
		e = GA_ERR_TOOBIG;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s%s", dest_path, STORE_BACKUP_TMP_SUFFIX);
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "backup: cannot create a file beside %s: %s", dest_path,
			 strerror(errno));
		e = GA_ERR_IO;
		goto out;
	}
	tmp_made = true;
	close(fd);

	/* An empty file is an empty database to SQLite. */
	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "backup: %s: cannot open: %s", tmp,
			 dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		e = GA_ERR_IO;
		goto out;
	}
	sqlite3_exec(dst, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	if ((b = sqlite3_backup_init(dst, "main", db_sqlite(s->db), "main")) == NULL) {
		snprintf(err, errlen, "backup: %s: %s", tmp, sqlite3_errmsg(dst));
		e = GA_ERR_DB;
		goto out;
	}
	for (int i = 0; i < STORE_BACKUP_TRIES; i++) {
		rc = sqlite3_backup_step(b, -1);
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		store_backup_sleep_ms(STORE_BACKUP_RETRY_MS);
	}
	npages = sqlite3_backup_pagecount(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "backup: %s to %s: %s", s->path, dest_path,
			 sqlite3_errstr(rc));
		if ((rc & 0xff) == SQLITE_FULL)
			e = GA_ERR_FULL;
		else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			e = GA_ERR_BUSY;
		else
			e = GA_ERR_DB;
		goto out;
	}
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "backup: %s: %s", tmp, sqlite3_errmsg(dst));
		e = GA_ERR_DB;
		goto out;
	}
	if ((e = store_backup_check(dst, err, errlen)) != GA_OK)
		goto out;
	/* Closing checkpoints and removes the copy's own -wal and -shm (its
	 * header says WAL, as the source's does). */
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "backup: %s: close: %s", tmp, sqlite3_errstr(rc));
		e = GA_ERR_DB;
		goto out;
	}
	if (store_backup_fsync_path(tmp, O_RDONLY) == -1 || rename(tmp, dest_path) == -1) {
		snprintf(err, errlen, "backup: %s: %s", dest_path, strerror(errno));
		e = GA_ERR_IO;
		goto out;
	}
	tmp_made = false;
	if (store_backup_fsync_path(dir, O_RDONLY | O_DIRECTORY) == -1)
		log_warn("backup: %s: sync of the directory", dir);
	if (pages != NULL)
		*pages = npages;
	e = GA_OK;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (dst != NULL)
		sqlite3_close(dst);
	if (tmp_made) {
		char side[STORE_PATH_MAX + 8];
		unlink(tmp);
		snprintf(side, sizeof(side), "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", tmp);
		unlink(side);
	}
	return e;
}
