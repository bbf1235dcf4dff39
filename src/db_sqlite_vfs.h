/* db_sqlite_vfs.h - a SQLite VFS that gathers the WAL file's writes of
 * one commit into one write (issue 11: SQLite writes each WAL frame with
 * two pwrite calls, the 24-byte frame header and then the page). Only
 * store.c (the service's store files) and its tests use it; why it is
 * safe is the comment at the top of db_sqlite_vfs.c. */
#ifndef GA_DB_SQLITE_VFS_H
#define GA_DB_SQLITE_VFS_H

/* Bytes of WAL writes one file gathers before it writes them out: the
 * most the unix VFS writes in one call (its seekAndWrite keeps the low 17
 * bits of the length, nBuf &= 0x1ffff, as SQLite itself never writes more
 * than a 64 KiB page and its frame header: a longer write is cut short and
 * reported as SQLITE_FULL). 31 frames of 4 KiB pages. */
#define DB_SQLITE_VFS_BUF_MAX (128 * 1024 - 1)

/* The name of the service's VFS (registered, not as the default, at the
 * first call; thread-safe) for sqlite3_open_v2, or NULL when it cannot be
 * had (out of memory, or a SQLite older than 3.32): then the default VFS
 * serves, unbuffered. */
const char *db_sqlite_vfs_name(void);

/* Registers the VFS under name (not as the default) on top of the VFS
 * named base (NULL: the default one). For tests, which stack it on a VFS
 * of their own. SQLITE_OK, SQLITE_ERROR when base is unknown or name is
 * taken, SQLITE_NOMEM. */
int db_sqlite_vfs_register(const char *name, const char *base);

/* Unregisters and frees a VFS db_sqlite_vfs_register made; no file may
 * still be open on it. Unknown names are ignored. */
void db_sqlite_vfs_unregister(const char *name);

#endif
