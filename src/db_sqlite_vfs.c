/* db_sqlite_vfs.c - a VFS over the default one ("unix") that gathers the
 * writes SQLite makes to a WAL file into one write (issue 11). SQLite
 * writes each WAL frame apart, the 24-byte frame header and then the page
 * (wal.c, walWriteOneFrame): a commit of n pages is 2n pwrite calls. Here
 * they become one pwrite at the commit's sync.
 *
 * What is wrapped: the main database file and its WAL file (opened with
 * SQLITE_OPEN_MAIN_DB / SQLITE_OPEN_WAL). Every other file (rollback
 * journals, temporary files) is the base VFS's own file, untouched. The
 * database file's methods all pass through; it is wrapped only to see
 * what tells the WAL file when to write out (below).
 *
 * The buffer: a WAL file's writes that each start where the last ended
 * are copied into one buffer of DB_SQLITE_VFS_BUF_MAX bytes (allocated at
 * the first such write, freed at close) and written with one call of the
 * base file's xWrite ("the flush") when
 *   - a write does not start where the buffer ends, or does not fit;
 *   - the WAL file's xSync is called (the flush comes before the sync, so
 *     what is synced is what SQLite wrote: durability is as before);
 *   - the WAL file's xRead, xTruncate, xFileSize, xFileControl, xFetch or
 *     xClose is called (anything that could observe the file's bytes or
 *     size sees them written);
 *   - the database file's xShmLock, xShmBarrier or xShmUnmap is called.
 * A flush's error is returned from the call that flushed (the buffered
 * bytes are dropped, as a failed pwrite leaves them unwritten), so
 * SQLITE_FULL or an I/O error reaches walFrames at the commit's sync, and
 * from there the statement, exactly as a failed frame write would.
 *
 * Why nobody reads bytes still in the buffer (SQLite 3.40, wal.c):
 *   - This connection reads its WAL only through this file (xRead:
 *     frames for its page cache, walRewriteChecksums, a checkpoint's
 *     copy, recovery) and flushes first.
 *   - Another connection (in this process or another) reads through its
 *     own file object, and reads only frames up to the mxFrame of the
 *     wal-index header the writer published. walFrames publishes it
 *     (walIndexWriteHdr) only after the commit's frames are written and,
 *     with synchronous=FULL or EXTRA, after the WAL's xSync: the flush is
 *     done by then. walIndexWriteHdr also calls xShmBarrier on the
 *     database file between its two copies of the header (readers accept
 *     the header only when both agree), and the write lock is released by
 *     xShmLock: each flushes too, as a second guard.
 *   - Frames written mid-transaction (a cache spill: walFrames with
 *     isCommit 0, no sync) stay in the buffer until the commit's sync, the
 *     same connection's xRead, or the end of the transaction (the write
 *     lock's xShmLock); no header covers them until the commit. A
 *     rollback (sqlite3WalUndo) moves the write point back: the next
 *     write does not follow the buffer's end and flushes it first, as the
 *     old writes would have reached the file.
 *   - A WAL restart (walRestartLog) rewrites the header at offset 0: not
 *     where the buffer ends, so the buffer is written first; the header's
 *     own sync (syncHeader) flushes it. A checkpoint reads (xRead), syncs,
 *     truncates (xTruncate, journal_size_limit): each flushes. Recovery
 *     needs the write lock, which the writer releases only after a flush.
 *   - Process death (kill -9) loses only bytes of a commit not yet synced,
 *     which SQLite has not reported as committed; what was committed was
 *     written (and synced) before sqlite3_step returned.
 *
 * When it does not buffer (every write passes straight through):
 *   - until PRAGMA synchronous = FULL or EXTRA was run on the connection's
 *     main database (seen through SQLITE_FCNTL_PRAGMA, which SQLite sends
 *     to the file before it applies a pragma), and after any other value.
 *     With NORMAL or OFF a commit is published with no xSync: the flush
 *     would come at xShmBarrier, which cannot return an error, so a full
 *     disk would go unreported while readers are shown frames that were
 *     never written. (The store sets FULL at open, outside any
 *     transaction; a "PRAGMA synchronous = FULL" that SQLite refuses
 *     inside a transaction would still turn buffering on: do not.)
 *   - while the database file has no shared memory mapped (a wal-index in
 *     heap memory, locking_mode=EXCLUSIVE before the WAL was opened): no
 *     xShmBarrier would come.
 *   - when the database file lacks SQLITE_IOCAP_POWERSAFE_OVERWRITE:
 *     SQLite then pads a commit to a sector boundary and writes the last
 *     frame's tail after the sync (walWriteToLog), which only xShmBarrier
 *     would flush.
 *   - when the WAL's database file is not one of this VFS's files, or the
 *     buffer cannot be allocated.
 * If a flush at xShmBarrier fails all the same, every later call on the
 * WAL file returns that error (the connection cannot go on as if it had
 * been written).
 *
 * Relies on sqlite3_database_file_object (3.32) and on wal.c as read
 * above (checked against 3.40, Debian 12); db_sqlite_vfs_name refuses
 * older libraries. One connection's files are used by one thread at a
 * time (SQLite's rule for a connection), so no state here is shared. */
#include "db_sqlite_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define DB_SQLITE_VFS_NAME "geoalert-walbuf"
#define DB_SQLITE_VFS_NAME_MAX 64

/* A registered VFS: vfs.pAppData is base. */
struct wvfs {
	sqlite3_vfs vfs;
	sqlite3_vfs *base;
	char name[DB_SQLITE_VFS_NAME_MAX];
};

/* A wrapped file (a main database or a WAL); the base VFS's file follows
 * it at VFILE_SIZE. */
struct vfile {
	sqlite3_file file;  /* pMethods: db_methods or wal_methods */
	struct vfile *peer; /* database: its open WAL; WAL: its database */
	/* database file */
	bool sync_full;	 /* PRAGMA synchronous = FULL or EXTRA seen last */
	bool shm_mapped; /* xShmMap succeeded since open or xShmUnmap */
	/* WAL file */
	unsigned char *buf; /* DB_SQLITE_VFS_BUF_MAX bytes, or NULL */
	size_t len;	    /* bytes held */
	sqlite3_int64 off;  /* file offset of buf[0] */
	int err;	    /* a flush at xShmBarrier failed: SQLITE_OK or its code */
	bool nobuf;	    /* the buffer could not be allocated */
};

#define VFILE_SIZE ((sizeof(struct vfile) + 15) & ~(size_t)15)
#define REAL(f) ((sqlite3_file *)((char *)(f) + VFILE_SIZE))
#define BASE(vfs) ((sqlite3_vfs *)(vfs)->pAppData)

static const sqlite3_io_methods db_methods;
static const sqlite3_io_methods wal_methods;

/* ---- the WAL file's buffer ---- */

/* Writes out what the buffer holds: SQLITE_OK, or the base xWrite's error
 * (the bytes are dropped either way), or the sticky error. */
static int wal_flush(struct vfile *w)
{
	int rc = SQLITE_OK;

	if (w->len > 0) {
		sqlite3_file *r = REAL(w);
		rc = r->pMethods->xWrite(r, w->buf, (int)w->len, w->off);
		w->len = 0;
	}
	return rc != SQLITE_OK ? rc : w->err;
}

/* True when this WAL's writes may wait in the buffer (see the top). */
static bool wal_may_buffer(struct vfile *w)
{
	struct vfile *db = w->peer;

	if (db == NULL || !db->sync_full || !db->shm_mapped || w->err != SQLITE_OK || w->nobuf)
		return false;
	sqlite3_file *r = REAL(db);
	return (r->pMethods->xDeviceCharacteristics(r) & SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0;
}

static int wal_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 ofst)
{
	struct vfile *w = (struct vfile *)file;
	sqlite3_file *r = REAL(w);
	int rc;

	if (w->err != SQLITE_OK)
		return w->err;
	if (w->len > 0 && (w->off + (sqlite3_int64)w->len != ofst ||
			   w->len + (size_t)amt > DB_SQLITE_VFS_BUF_MAX)) {
		if ((rc = wal_flush(w)) != SQLITE_OK)
			return rc;
	}
	if (amt <= 0 || (size_t)amt > DB_SQLITE_VFS_BUF_MAX || !wal_may_buffer(w)) {
		if ((rc = wal_flush(w)) != SQLITE_OK)
			return rc;
		return r->pMethods->xWrite(r, p, amt, ofst);
	}
	if (w->buf == NULL && (w->buf = sqlite3_malloc64(DB_SQLITE_VFS_BUF_MAX)) == NULL) {
		w->nobuf = true;
		return r->pMethods->xWrite(r, p, amt, ofst);
	}
	if (w->len == 0)
		w->off = ofst;
	memcpy(w->buf + w->len, p, (size_t)amt);
	w->len += (size_t)amt;
	return SQLITE_OK;
}

/* Cuts the link between a WAL and its database file (either closing). */
static void vfile_unlink(struct vfile *f)
{
	if (f->peer != NULL)
		f->peer->peer = NULL;
	f->peer = NULL;
}

static int wal_close(sqlite3_file *file)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);
	int rc2 = REAL(w)->pMethods->xClose(REAL(w));

	vfile_unlink(w);
	sqlite3_free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 ofst)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : REAL(w)->pMethods->xRead(REAL(w), p, amt, ofst);
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : REAL(w)->pMethods->xTruncate(REAL(w), size);
}

static int wal_sync(sqlite3_file *file, int flags)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : REAL(w)->pMethods->xSync(REAL(w), flags);
}

static int wal_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : REAL(w)->pMethods->xFileSize(REAL(w), size);
}

static int wal_file_control(sqlite3_file *file, int op, void *arg)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : REAL(w)->pMethods->xFileControl(REAL(w), op, arg);
}

static int wal_fetch(sqlite3_file *file, sqlite3_int64 ofst, int amt, void **pp)
{
	struct vfile *w = (struct vfile *)file;
	int rc = wal_flush(w);

	*pp = NULL;
	return rc != SQLITE_OK ? rc : REAL(w)->pMethods->xFetch(REAL(w), ofst, amt, pp);
}

/* ---- calls that only pass through (both kinds of file) ---- */

static int pass_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 ofst)
{
	return REAL(file)->pMethods->xWrite(REAL(file), p, amt, ofst);
}

static int pass_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 ofst)
{
	return REAL(file)->pMethods->xRead(REAL(file), p, amt, ofst);
}

static int pass_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int pass_sync(sqlite3_file *file, int flags)
{
	return REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int pass_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	return REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int pass_lock(sqlite3_file *file, int level)
{
	return REAL(file)->pMethods->xLock(REAL(file), level);
}

static int pass_unlock(sqlite3_file *file, int level)
{
	return REAL(file)->pMethods->xUnlock(REAL(file), level);
}

static int pass_check_reserved(sqlite3_file *file, int *out)
{
	return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int pass_sector_size(sqlite3_file *file)
{
	return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int pass_device(sqlite3_file *file)
{
	return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int pass_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(file)->pMethods->xShmMap(REAL(file), pg, pgsz, extend, pp);
}

static int pass_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void pass_shm_barrier(sqlite3_file *file)
{
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int pass_shm_unmap(sqlite3_file *file, int del)
{
	return REAL(file)->pMethods->xShmUnmap(REAL(file), del);
}

static int pass_fetch(sqlite3_file *file, sqlite3_int64 ofst, int amt, void **pp)
{
	return REAL(file)->pMethods->xFetch(REAL(file), ofst, amt, pp);
}

static int pass_unfetch(sqlite3_file *file, sqlite3_int64 ofst, void *p)
{
	return REAL(file)->pMethods->xUnfetch(REAL(file), ofst, p);
}

/* ---- the database file ---- */

static int db_close(sqlite3_file *file)
{
	vfile_unlink((struct vfile *)file);
	return REAL(file)->pMethods->xClose(REAL(file));
}

/* "PRAGMA synchronous = V": buffering on for FULL or EXTRA only (any
 * spelling SQLite reads otherwise, e.g. "10", turns it off: the safe
 * side). A read of the pragma (no value) changes nothing. */
static void db_pragma(struct vfile *db, char **args)
{
	const char *name = args[1], *value = args[2];

	if (name == NULL || value == NULL || sqlite3_stricmp(name, "synchronous") != 0)
		return;
	db->sync_full = sqlite3_stricmp(value, "full") == 0 ||
			sqlite3_stricmp(value, "extra") == 0 || strcmp(value, "2") == 0 ||
			strcmp(value, "3") == 0;
}

static int db_file_control(sqlite3_file *file, int op, void *arg)
{
	if (op == SQLITE_FCNTL_PRAGMA && arg != NULL)
		db_pragma((struct vfile *)file, arg);
	return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int db_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	struct vfile *db = (struct vfile *)file;
	int rc = REAL(file)->pMethods->xShmMap(REAL(file), pg, pgsz, extend, pp);

	if (rc == SQLITE_OK)
		db->shm_mapped = true;
	return rc;
}

/* Before a lock or unlock of the wal-index. A flush that fails fails a
 * lock; an unlock happens all the same (at an unlock the buffer can hold
 * only frames of a transaction that was not committed: a commit flushed
 * at its sync). */
static int db_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfile *db = (struct vfile *)file;
	int rc = db->peer != NULL ? wal_flush(db->peer) : SQLITE_OK;

	if (rc != SQLITE_OK && (flags & SQLITE_SHM_LOCK))
		return rc;
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

/* walIndexWriteHdr calls it before the header readers check: the last
 * chance to write before a commit is published, and no way to say it
 * failed but the sticky error. */
static void db_shm_barrier(sqlite3_file *file)
{
	struct vfile *db = (struct vfile *)file;

	if (db->peer != NULL && db->peer->len > 0) {
		int rc = wal_flush(db->peer);
		if (rc != SQLITE_OK && db->peer->err == SQLITE_OK)
			db->peer->err = rc;
	}
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int db_shm_unmap(sqlite3_file *file, int del)
{
	struct vfile *db = (struct vfile *)file;
	int rc = db->peer != NULL ? wal_flush(db->peer) : SQLITE_OK;
	int rc2 = REAL(file)->pMethods->xShmUnmap(REAL(file), del);

	db->shm_mapped = false;
	return rc != SQLITE_OK ? rc : rc2;
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = db_close,
    .xRead = pass_read,
    .xWrite = pass_write,
    .xTruncate = pass_truncate,
    .xSync = pass_sync,
    .xFileSize = pass_file_size,
    .xLock = pass_lock,
    .xUnlock = pass_unlock,
    .xCheckReservedLock = pass_check_reserved,
    .xFileControl = db_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device,
    .xShmMap = db_shm_map,
    .xShmLock = db_shm_lock,
    .xShmBarrier = db_shm_barrier,
    .xShmUnmap = db_shm_unmap,
    .xFetch = pass_fetch,
    .xUnfetch = pass_unfetch,
};

static const sqlite3_io_methods wal_methods = {
    .iVersion = 3,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = pass_lock,
    .xUnlock = pass_unlock,
    .xCheckReservedLock = pass_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device,
    .xShmMap = pass_shm_map,
    .xShmLock = pass_shm_lock,
    .xShmBarrier = pass_shm_barrier,
    .xShmUnmap = pass_shm_unmap,
    .xFetch = wal_fetch,
    .xUnfetch = pass_unfetch,
};

/* ---- the VFS ---- */

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		    int *out_flags)
{
	sqlite3_vfs *base = BASE(vfs);
	bool wal = (flags & SQLITE_OPEN_WAL) != 0;
	int rc;

	/* Anything else is the base VFS's file, in the space SQLite gave. */
	if (name == NULL || !(wal || (flags & SQLITE_OPEN_MAIN_DB)))
		return base->xOpen(base, name, file, flags, out_flags);

	struct vfile *f = (struct vfile *)file;
	memset(f, 0, sizeof(*f));
	sqlite3_file *r = REAL(f);
	if ((rc = base->xOpen(base, name, r, flags, out_flags)) != SQLITE_OK)
		return rc;
	if (r->pMethods == NULL)
		return SQLITE_CANTOPEN;
	if (r->pMethods->iVersion < 3) {
		/* A base file without shared memory or mmap: not wrapped. */
		r->pMethods->xClose(r);
		return base->xOpen(base, name, file, flags, out_flags);
	}
	f->file.pMethods = wal ? &wal_methods : &db_methods;
	if (wal) {
		sqlite3_file *dbf = sqlite3_database_file_object(name);
		if (dbf != NULL && dbf->pMethods == &db_methods) {
			struct vfile *db = (struct vfile *)dbf;
			if (db->peer == NULL) {
				db->peer = f;
				f->peer = db;
			}
		}
	}
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return BASE(vfs)->xDelete(BASE(vfs), name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return BASE(vfs)->xAccess(BASE(vfs), name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return BASE(vfs)->xFullPathname(BASE(vfs), name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return BASE(vfs)->xDlOpen(BASE(vfs), name);
}

static void vfs_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	BASE(vfs)->xDlError(BASE(vfs), n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return BASE(vfs)->xDlSym(BASE(vfs), h, sym);
}

static void vfs_dl_close(sqlite3_vfs *vfs, void *h)
{
	BASE(vfs)->xDlClose(BASE(vfs), h);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return BASE(vfs)->xRandomness(BASE(vfs), n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return BASE(vfs)->xSleep(BASE(vfs), us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return BASE(vfs)->xCurrentTime(BASE(vfs), out);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return BASE(vfs)->xGetLastError != NULL ? BASE(vfs)->xGetLastError(BASE(vfs), n, out) : 0;
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	sqlite3_vfs *base = BASE(vfs);

	if (base->iVersion >= 2 && base->xCurrentTimeInt64 != NULL)
		return base->xCurrentTimeInt64(base, out);
	double d = 0;
	int rc = base->xCurrentTime(base, &d);
	*out = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

int db_sqlite_vfs_register(const char *name, const char *base_name)
{
	sqlite3_vfs *base = sqlite3_vfs_find(base_name);
	struct wvfs *v;
	int rc;

	if (base == NULL || name == NULL || strlen(name) >= DB_SQLITE_VFS_NAME_MAX ||
	    sqlite3_vfs_find(name) != NULL)
		return SQLITE_ERROR;
	if ((v = sqlite3_malloc64(sizeof(*v))) == NULL)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	memcpy(v->name, name, strlen(name) + 1);
	v->base = base;
	v->vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)(VFILE_SIZE + (size_t)base->szOsFile),
	    .mxPathname = base->mxPathname,
	    .zName = v->name,
	    .pAppData = base,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dl_open,
	    .xDlError = vfs_dl_error,
	    .xDlSym = vfs_dl_sym,
	    .xDlClose = vfs_dl_close,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_last_error,
	    .xCurrentTimeInt64 = vfs_current_time64,
	};
	if ((rc = sqlite3_vfs_register(&v->vfs, 0)) != SQLITE_OK)
		sqlite3_free(v);
	return rc;
}

void db_sqlite_vfs_unregister(const char *name)
{
	sqlite3_vfs *vfs = name != NULL ? sqlite3_vfs_find(name) : NULL;

	if (vfs == NULL || vfs->xOpen != vfs_open)
		return;
	sqlite3_vfs_unregister(vfs);
	sqlite3_free(vfs); /* struct wvfs starts with it */
}

static pthread_once_t db_sqlite_vfs_once = PTHREAD_ONCE_INIT;
static bool db_sqlite_vfs_ok; /* set once, under db_sqlite_vfs_once */

static void db_sqlite_vfs_start(void)
{
	db_sqlite_vfs_ok = sqlite3_libversion_number() >= 3032000 &&
			   db_sqlite_vfs_register(DB_SQLITE_VFS_NAME, NULL) == SQLITE_OK;
}

const char *db_sqlite_vfs_name(void)
{
	pthread_once(&db_sqlite_vfs_once, db_sqlite_vfs_start);
	return db_sqlite_vfs_ok ? DB_SQLITE_VFS_NAME : NULL;
}
