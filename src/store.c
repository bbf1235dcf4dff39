/* store.c - the store: opening (pragmas, migrations, cached statements),
 * transactions, health and counts, and the translation of db.h's result
 * codes into ga_err. Statements go through db.h; what only SQLite has
 * (opening, pragmas, the WAL hook, user_version migrations, read-only
 * check, checkpoints) is marked "SQLite only" and reaches the connection
 * with db_sqlite(). The verbs on reports and incidents
 * are in store_report.c and store_incident.c; all SQL is in store_sql.c. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h> /* SQLite only: opening, pragmas, WAL */

#include "db_sqlite_vfs.h"
#include "log.h"
#include "store_internal.h"

#define STORE_ERRMSG_MAX 256
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

ga_err store_error(struct store *s, int rc, const char *what)
{
	int primary = rc & 0xff;
	ga_err err;

	switch (primary) {
	case DB_FULL:
		err = GA_ERR_FULL;
		break;
	case DB_BUSY:
	case DB_LOCKED:
		err = GA_ERR_BUSY;
		break;
	case DB_NOMEM:
		err = GA_ERR_NOMEM;
		break;
	case DB_CONSTRAINT:
		if (rc == DB_CONSTRAINT_UNIQUE || rc == DB_CONSTRAINT_PRIMARYKEY)
			err = GA_ERR_DUPLICATE;
		else
			err = GA_ERR_DB;
		break;
	default:
		err = GA_ERR_DB;
		break;
	}
	if (rc == DB_LOST) {
		/* PostgreSQL: made again now when outside a transaction (the
		 * pollers, delivery and notices, have no begin), else at the
		 * next store_begin or store_ping. */
		if (!s->lost)
			log_warnx("store: %s: %s: connection lost (%s)", s->path, what,
				  db_errmsg(s->db));
		s->lost = true;
		if (s->in_txn && s->txn_err == GA_OK)
			s->txn_err = err;
		if (!s->in_txn)
			store_pg_reconnect(s);
		return err;
	}
	if (err == GA_ERR_BUSY)
		log_warnx("store: %s: %s: database is locked by another process (%s)", s->path,
			  what, db_errmsg(s->db));
	else if (err != GA_ERR_DUPLICATE)
		log_warnx("store: %s: %s: %s", s->path, what, db_errmsg(s->db));
	/* A constraint violation aborts only its statement; anything else may
	 * have rolled the transaction back behind our back (DB_FULL,
	 * IOERR, NOMEM, BUSY) or left it doubtful: the commit must fail. */
	if (s->in_txn && primary != DB_CONSTRAINT && s->txn_err == GA_OK)
		s->txn_err = err;
	return err;
}

void store_stmt_done(struct db_stmt *st)
{
	db_reset(st); /* and clears the bindings */
}

ga_err store_prepare_own(struct store *s, const char *sql, struct db_stmt **st, const char *what)
{
	ga_err e;
	int rc;

	*st = NULL;
	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_prepare(s->db, sql, st)) != DB_OK) {
		*st = NULL;
		return store_error(s, rc, what);
	}
	return GA_OK;
}

ga_err store_run_changes(struct store *s, struct db_stmt *st, int bindrc, int64_t *n,
			 const char *what)
{
	ga_err e;
	int rc = bindrc;

	if ((e = store_spoiled(s)) != GA_OK)
		goto out;
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc != DB_DONE) {
		e = store_error(s, rc, what);
		goto out;
	}
	if (n != NULL)
		*n = db_changes(s->db);
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}

/* Steps once for the RETURNING row and once more to the end, so the
 * statement is complete on either backend before it is reset. */
ga_err store_run_insert(struct store *s, struct db_stmt *st, int bindrc, int64_t *id,
			const char *what)
{
	ga_err e;
	int rc = bindrc;
	int64_t v;

	if ((e = store_spoiled(s)) != GA_OK)
		goto out;
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc == DB_DONE && db_deferred(st)) {
		e = GA_OK; /* *id is written when the answer is read (db_defer_row) */
		goto out;
	}
	if (rc != DB_ROW) {
		e = store_error(s, rc == DB_DONE ? DB_ERROR : rc, what);
		goto out;
	}
	v = db_column_int64(st, 0);
	if ((rc = db_step(st)) != DB_DONE) {
		e = store_error(s, rc == DB_ROW ? DB_ERROR : rc, what);
		goto out;
	}
	if (id != NULL)
		*id = v;
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}

ga_err store_step_row(struct store *s, struct db_stmt *st, int bindrc, const char *what)
{
	int rc = bindrc;

	if (rc == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW)
		return GA_OK;
	return rc == DB_DONE ? GA_ERR_NOTFOUND : store_error(s, rc, what);
}

ga_err store_run_update(struct store *s, struct db_stmt *st, int bindrc, const char *what)
{
	int64_t n = 0;
	ga_err e = store_run_changes(s, st, bindrc, &n, what);

	return e == GA_OK && n == 0 ? GA_ERR_NOTFOUND : e;
}

int store_bind_text(struct db_stmt *st, int i, const char *p, bool empty_is_null)
{
	if (p == NULL || (empty_is_null && p[0] == '\0'))
		return db_bind_null(st, i);
	return db_bind_text(st, i, p, -1);
}

void store_column_copy(struct db_stmt *st, int col, char *buf, size_t len)
{
	const char *p = db_column_text(st, col);
	int n = db_column_bytes(st, col);

	if (len == 0)
		return;
	if (p == NULL || n <= 0) {
		buf[0] = '\0';
		return;
	}
	if ((size_t)n >= len)
		n = (int)len - 1;
	memcpy(buf, p, (size_t)n);
	buf[n] = '\0';
}

int store_bind_figures(struct db_stmt *st, int first, const struct figures *f)
{
	for (int i = 0; i < FIG_COUNT; i++) {
		int rc;
		if (f->set & (1u << i))
			rc = db_bind_double(st, first + i, f->value[i]);
		else
			rc = db_bind_null(st, first + i);
		if (rc != DB_OK)
			return rc;
	}
	return DB_OK;
}

void store_column_figures(struct db_stmt *st, int first, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FIG_COUNT; i++) {
		if (db_column_type(st, first + i) == DB_NULL)
			continue;
		f->value[i] = db_column_double(st, first + i);
		f->set |= 1u << i;
	}
}

/* SQLite only. After each commit: notes the WAL's length for store_wal_frames, and
 * checkpoints passively past STORE_WAL_AUTOCHECKPOINT frames, as SQLite's
 * own hook (wal_autocheckpoint) would. A checkpoint's failure only
 * leaves the log longer: the commit stands. */
static int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;

	s->wal_frames = frames;
	if (frames >= STORE_WAL_AUTOCHECKPOINT && !s->defer_checkpoint) {
		int nlog = -1;
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &nlog, NULL);
		if (nlog >= 0)
			s->wal_frames = nlog;
	}
	return SQLITE_OK;
}

int store_wal_frames(const struct store *s)
{
	return s->wal_frames;
}

void store_defer_checkpoints(struct store *s, bool defer)
{
	s->defer_checkpoint = defer;
}

/* Fails unless the directory that will hold path exists: SQLite would
 * only say "unable to open database file". */
static ga_err store_check_dir(const char *path, char *err, size_t errlen)
{
	char dir[STORE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat sb;

	if (slash == NULL)
		return GA_OK;
	if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			snprintf(err, errlen, "database %s: path too long", path);
			return GA_ERR_INVAL;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (stat(dir, &sb) == -1) {
		snprintf(err, errlen, "database %s: directory %s: %s", path, dir, strerror(errno));
		return GA_ERR_IO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "database %s: %s is not a directory", path, dir);
		return GA_ERR_IO;
	}
	return GA_OK;
}

/* The database holds officers' password hashes and reporters' phones:
 * it and its -wal and -shm are the service user's alone, whatever the
 * umask. A missing database file is created 0600 here, before SQLite
 * (which would make it 0644 & ~umask), and SQLite gives the -wal and -shm
 * it creates the database file's mode. Files left by an older geoalert
 * with group or other bits are tightened to 0600, saying so. */
static ga_err store_private_files(const char *path, char *err, size_t errlen)
{
	static const char *const sides[] = {"", "-wal", "-shm"};
	char side[STORE_PATH_MAX + 8];
	struct stat sb;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		close(fd);
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "database %s: cannot create: %s", path, strerror(errno));
		return GA_ERR_IO;
	}
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", path, sides[i]);
		if (stat(side, &sb) == -1 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) == 0)
			continue;
		if (chmod(side, sb.st_mode & 0700) == -1)
			log_warn(
			    "store: %s is readable by group or others (mode %03o) and cannot be"
			    " made 0600; chmod 600 %s",
			    side, (unsigned)(sb.st_mode & 0777), side);
		else
			log_warnx("store: %s was readable by group or others (mode %03o): made it"
				  " %03o",
				  side, (unsigned)(sb.st_mode & 0777),
				  (unsigned)(sb.st_mode & 0700));
	}
	return GA_OK;
}

/* Translates the failure rc of statement what while opening (store_error)
 * and says it in err: "locked by another process" or "doing: SQLite's
 * message". */
static ga_err store_open_error(struct store *s, int rc, const char *what, const char *doing,
			       char *err, size_t errlen)
{
	ga_err e = store_error(s, rc, what);
	int n;

	if (e == GA_ERR_BUSY)
		n = snprintf(err, errlen, "database %s is locked by another process", s->path);
	else
		n = snprintf(err, errlen, "database %s: %s: %s", s->path, doing, db_errmsg(s->db));
	/* A path near STORE_PATH_MAX cuts the message short: it stays
	 * NUL-terminated, and the log line names the path in full. */
	if (n < 0 || (size_t)n >= errlen)
		log_warnx("store: %s: %s failed (message cut short)", s->path, doing);
	return e;
}

/* Runs sql with db_exec and translates a failure into err/errlen. */
static ga_err store_exec(struct store *s, const char *sql, const char *what, char *err,
			 size_t errlen)
{
	int rc = db_exec(s->db, sql);
	if (rc == DB_OK)
		return GA_OK;
	return store_open_error(s, rc, what, what, err, errlen);
}

/* SQLite only: reads an integer pragma (one row, one column). */
static ga_err store_pragma_int(struct store *s, const char *sql, long long *out, char *err,
			       size_t errlen)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = db_prepare(s->db, sql, &st);
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc != DB_ROW) {
		e = store_open_error(s, rc, sql, sql, err, errlen);
		goto out;
	}
	*out = db_column_int64(st, 0);
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

/* SQLite only: WAL journal mode. */
static ga_err store_wal(struct store *s, char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = db_prepare(s->db, "PRAGMA journal_mode = WAL", &st);
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc != DB_ROW) {
		e = store_open_error(s, rc, "journal_mode=WAL", "cannot switch to WAL", err,
				     errlen);
		goto out;
	}
	const char *mode = db_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		/* Durability rests on WAL + synchronous=FULL: refuse anything else
		 * (e.g. a file system without shared memory). */
		snprintf(err, errlen, "database %s: journal mode is %s, not wal", s->path,
			 mode ? mode : "unknown");
		goto out;
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

/* SQLite only (user_version; the PostgreSQL migrations are elsewhere).
 * Brings the schema to the newest version, each migration in its own
 * transaction. BEGIN IMMEDIATE also proves the file writable and not
 * locked by another process, even when no migration is due. */
/* Step 10 of SQLite's table rebuild: the foreign keys still hold (a
 * violation is a row of PRAGMA foreign_key_check). */
static ga_err store_fk_check(struct store *s, const char *what, char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = db_prepare(s->db, "PRAGMA foreign_key_check", &st);

	if (rc == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW) {
		snprintf(err, errlen, "database %s: %s: foreign key violation in %s", s->path, what,
			 db_column_text(st, 0) ? db_column_text(st, 0) : "?");
		goto out;
	}
	if (rc != DB_DONE) {
		e = store_open_error(s, rc, "PRAGMA foreign_key_check", what, err, errlen);
		goto out;
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

/* Migrations run with foreign keys off (steps 1 and 12 of
 * sqlite.org/lang_altertable.html: a migration may rebuild a table
 * other tables reference, which PRAGMA foreign_keys cannot allow inside
 * the transaction) and are checked before their commit instead. */
static ga_err store_migrate_steps(struct store *s, char *err, size_t errlen);

static ga_err store_migrate(struct store *s, char *err, size_t errlen)
{
	char scratch[256]; /* the first error is the one to report */
	ga_err e, e2;

	if ((e = store_exec(s, "PRAGMA foreign_keys = OFF", "foreign_keys", err, errlen)))
		return e;
	e = store_migrate_steps(s, err, errlen);
	e2 = store_exec(s, "PRAGMA foreign_keys = ON", "foreign_keys", e ? scratch : err,
			e ? sizeof(scratch) : errlen);
	return e ? e : e2;
}

static ga_err store_migrate_steps(struct store *s, char *err, size_t errlen)
{
	ga_err e = GA_OK;
	char what[64];

	for (int round = 0; round <= store_nmigrations; round++) {
		long long version = 0;

		if ((e = store_exec(s, "BEGIN IMMEDIATE", "begin migration", err, errlen)))
			return e;
		if ((e = store_pragma_int(s, "PRAGMA user_version", &version, err, errlen)))
			goto fail;
		if (version > store_nmigrations) {
			snprintf(err, errlen,
				 "database %s has schema version %lld, newer than the %d this"
				 " geoalert knows: use a newer geoalert",
				 s->path, version, store_nmigrations);
			e = GA_ERR_DB;
			goto fail;
		}
		if (version == store_nmigrations)
			return store_exec(s, "COMMIT", "commit", err, errlen);
		if (version < 0) {
			snprintf(err, errlen, "database %s has a negative schema version %lld",
				 s->path, version);
			e = GA_ERR_DB;
			goto fail;
		}
		snprintf(what, sizeof(what), "migration %lld", version + 1);
		if ((e = store_exec(s, store_migrations[version], what, err, errlen)))
			goto fail;
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", version + 1);
		if ((e = store_exec(s, sql, what, err, errlen)))
			goto fail;
		if ((e = store_fk_check(s, what, err, errlen)))
			goto fail;
		if ((e = store_exec(s, "COMMIT", what, err, errlen)))
			goto fail;
		log_info("store: %s: schema migrated to version %lld", s->path, version + 1);
	}
	snprintf(err, errlen, "database %s: migrations did not converge", s->path);
	return GA_ERR_DB;
fail:
	if (db_in_txn(s->db))
		db_exec(s->db, "ROLLBACK");
	return e;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL && db_in_txn(s->db))
		db_exec(s->db, "ROLLBACK");
	for (int i = 0; i < STMT_ID_COUNT; i++)
		db_finalize(s->stmt[i]);
	db_finalize(s->pg_lock);
	db_close(s->db);
	free(s);
}

ga_err store_open(const struct store_options *opt, struct store **out, char *err, size_t errlen)
{
	struct store *s = NULL;
	ga_err e = GA_ERR_DB;
	int rc;

	if (opt != NULL && opt->url != NULL && opt->url[0] != '\0') {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			snprintf(err, errlen, "database: out of memory");
			return GA_ERR_NOMEM;
		}
		s->wal_frames = -1;
		s->no_txn_lock = opt->no_txn_lock;
		if ((e = store_pg_open(s, opt, err, errlen)) != GA_OK)
			goto out;
		*out = s;
		return GA_OK;
	}
	if (opt == NULL || opt->path == NULL || opt->path[0] == '\0') {
		snprintf(err, errlen, "database path is empty");
		return GA_ERR_INVAL;
	}
	if (strlen(opt->path) >= STORE_PATH_MAX) {
		snprintf(err, errlen, "database path is longer than %d bytes", STORE_PATH_MAX - 1);
		return GA_ERR_INVAL;
	}
	if ((e = store_check_dir(opt->path, err, errlen)))
		return e;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "database %s: out of memory", opt->path);
		return GA_ERR_NOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", opt->path);
	if ((e = store_private_files(s->path, err, errlen)) != GA_OK)
		goto out;

	/* SQLite only, from here to the migrations. One thread uses a
	 * connection at a time: no SQLite mutex needed. The VFS gathers a
	 * commit's WAL writes into one (db_sqlite_vfs.c; it buffers only
	 * with the synchronous = FULL set below; NULL: the default VFS). */
	sqlite3 *conn = NULL;
	rc = sqlite3_open_v2(s->path, &conn,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     db_sqlite_vfs_name());
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "database %s: cannot open: %s", s->path,
			 conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
		e = rc == SQLITE_NOMEM ? GA_ERR_NOMEM : GA_ERR_DB;
		sqlite3_close_v2(conn);
		goto out;
	}
	if ((s->db = db_wrap_sqlite(conn)) == NULL) {
		sqlite3_close_v2(conn);
		snprintf(err, errlen, "database %s: out of memory", s->path);
		e = GA_ERR_NOMEM;
		goto out;
	}
	/* Extended codes: store_error tells DB_CONSTRAINT_UNIQUE apart. */
	sqlite3_extended_result_codes(conn, 1);
	s->wal_frames = -1;
	sqlite3_wal_hook(conn, store_wal_hook, s);
	sqlite3_busy_timeout(conn, STORE_BUSY_TIMEOUT_MS);

	if ((e = store_exec(s, "PRAGMA foreign_keys = ON", "foreign_keys", err, errlen)))
		goto out;
	if ((e = store_wal(s, err, errlen)))
		goto out;
	if ((e = store_exec(s, "PRAGMA synchronous = FULL", "synchronous", err, errlen)))
		goto out;
	/* The WAL file is cut back to this size each time it restarts from
	 * its beginning (SQLite keeps it at its largest otherwise). */
	if ((e = store_exec(s, "PRAGMA journal_size_limit = " STORE_STR(STORE_WAL_LIMIT_BYTES),
			    "journal_size_limit", err, errlen)))
		goto out;
	if ((e = store_migrate(s, err, errlen)))
		goto out;
	/* SQLite only. After the migrations, so a tiny cap still leaves a
	 * usable schema. */
	if (opt->max_page_count > 0) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", opt->max_page_count);
		if ((e = store_exec(s, sql, "max_page_count", err, errlen)))
			goto out;
	}
	for (int i = 0; i < STMT_ID_COUNT; i++) {
		rc = db_prepare_lazy(s->db, store_stmt_sql[i], &s->stmt[i]);
		if (rc != DB_OK) {
			e = store_error(s, rc, "prepare");
			snprintf(err, errlen, "database %s: statement %d: %s", s->path, i,
				 db_errmsg(s->db));
			goto out;
		}
	}
	*out = s;
	s = NULL;
	e = GA_OK;
out:
	store_close(s);
	return e;
}

bool store_shared(const struct store *s)
{
	return db_kind(s->db) == DB_KIND_POSTGRES;
}

ga_err store_begin(struct store *s)
{
	struct db_stmt *st = s->stmt[STMT_BEGIN];
	ga_err e = GA_OK;

	if (s->in_txn) {
		log_warnx("store: %s: begin inside a transaction", s->path);
		return GA_ERR_INVAL;
	}
	if (s->lost && (e = store_pg_reconnect(s)) != GA_OK)
		return e;
	int rc = db_step(st);
	if (rc != DB_DONE)
		e = store_error(s, rc, "begin");
	else {
		s->in_txn = true;
		s->txn_err = GA_OK;
		s->incident_gen_txn = -1; /* not bumped yet (store_incident.c) */
	}
	store_stmt_done(st);
	if (e == GA_OK && s->pg_lock != NULL && !s->no_txn_lock && (e = store_pg_lock(s)) != GA_OK)
		store_rollback(s);
	return e;
}

ga_err store_rollback(struct store *s)
{
	ga_err e = GA_OK;

	s->in_txn = false;
	s->txn_err = GA_OK;
	/* SQLite may have rolled back already (DB_FULL, IOERR...). */
	if (!db_in_txn(s->db))
		return GA_OK;
	struct db_stmt *st = s->stmt[STMT_ROLLBACK];
	int rc = db_step(st);
	if (rc != DB_DONE)
		e = store_error(s, rc, "rollback");
	store_stmt_done(st);
	return e;
}

ga_err store_commit(struct store *s)
{
	ga_err e = GA_OK;

	if (!s->in_txn) {
		log_warnx("store: %s: commit outside a transaction", s->path);
		return GA_ERR_INVAL;
	}
	if (s->txn_err != GA_OK) {
		e = s->txn_err;
		store_rollback(s);
		return e;
	}
	struct db_stmt *st = s->stmt[STMT_COMMIT];
	int rc = db_step(st);
	store_stmt_done(st);
	if (rc != DB_DONE) {
		e = store_error(s, rc, "commit");
		store_rollback(s);
		return e;
	}
	s->in_txn = false;
	return GA_OK;
}

ga_err store_ping(struct store *s)
{
	struct db_stmt *st = s->stmt[STMT_PING];
	ga_err e = GA_OK;

	if (s->lost && !s->in_txn && (e = store_pg_reconnect(s)) != GA_OK)
		return e;
	int rc = db_step(st);
	if (rc == DB_LOST && !s->in_txn) {
		/* A connection that went away while idle (a failover): made
		 * again by store_error; asked once more on the new one. */
		db_reset(st);
		store_error(s, rc, "ping");
		if (!s->lost)
			rc = db_step(st);
	}

	if (rc != DB_ROW)
		e = store_error(s, rc, "ping");
	else if (db_kind(s->db) == DB_KIND_SQLITE &&
		 sqlite3_db_readonly(db_sqlite(s->db), "main") != 0) { /* SQLite only */
		log_warnx("store: %s: database is read-only", s->path);
		e = GA_ERR_DB;
	}
	store_stmt_done(st);
	return e;
}

static ga_err store_count_one(struct store *s, enum store_stmt_id id, int64_t *n)
{
	struct db_stmt *st = s->stmt[id];
	ga_err e = GA_OK;
	int rc = db_step(st);

	if (rc == DB_ROW)
		*n = db_column_int64(st, 0);
	else
		e = store_error(s, rc, "count");
	store_stmt_done(st);
	return e;
}

ga_err store_count(struct store *s, int64_t *accepted, int64_t *rejected, int64_t *incidents)
{
	ga_err e;

	if (accepted && (e = store_count_one(s, STMT_COUNT_REPORTS, accepted)))
		return e;
	if (rejected && (e = store_count_one(s, STMT_COUNT_REJECTED, rejected)))
		return e;
	if (incidents && (e = store_count_one(s, STMT_COUNT_INCIDENTS, incidents)))
		return e;
	return GA_OK;
}

ga_err store_checkpoint(struct store *s, bool restart, int wait_ms, int *log_frames,
			int *done_frames)
{
	/* SQLite only: the WAL. */
	sqlite3 *conn = db_sqlite(s->db);
	int nlog = -1, ndone = -1, rc;

	if (s->in_txn)
		return GA_ERR_INVAL;
	if (conn == NULL) { /* PostgreSQL: no WAL of ours to bound */
		if (log_frames)
			*log_frames = 0;
		if (done_frames)
			*done_frames = 0;
		return GA_OK;
	}
	if (restart)
		sqlite3_busy_timeout(conn, wait_ms);
	rc = sqlite3_wal_checkpoint_v2(
	    conn, "main", restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &nlog,
	    &ndone);
	if (restart)
		sqlite3_busy_timeout(conn, STORE_BUSY_TIMEOUT_MS);
	if (log_frames)
		*log_frames = nlog;
	if (done_frames)
		*done_frames = ndone;
	if (rc == SQLITE_OK) {
		if (restart)
			s->wal_frames = 0; /* the next commit starts the log again */
		return GA_OK;
	}
	if ((rc & 0xff) == SQLITE_BUSY)
		return GA_ERR_BUSY; /* a reader or another writer was in the way: try later */
	return store_error(s, rc, "checkpoint");
}
