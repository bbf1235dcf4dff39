/* service_lock.h - one `geoalert serve` per SQLite database.
 *
 * Two daemons on one SQLite file would both answer the same stations and
 * both publish: SQLite's own locks keep the file consistent, not the
 * service. `serve` therefore holds an fcntl write lock on PATH.lock (a
 * file beside the database, mode 0600, holding the owner's pid) for its
 * whole life; the kernel drops it when the process ends, even by kill -9,
 * so a stale file never blocks a restart. The command-line verbs (audit,
 * report, officer, backup) do not take it: they run beside a serve.
 * Several instances share a PostgreSQL database instead (spec §10). */
#ifndef GA_SERVICE_LOCK_H
#define GA_SERVICE_LOCK_H

#include <stddef.h>

#include "error.h"

/* Takes the lock of the database at db_path: GA_OK with *fd the open lock
 * file (kept open until service_lock_release), GA_ERR_BUSY when another
 * process holds it (err names that process: pid and command name), or
 * GA_ERR_IO (err says why). */
ga_err service_lock_take(const char *db_path, int *fd, char *err, size_t errlen);

/* Releases a lock taken by service_lock_take (fd < 0: nothing). The file
 * stays: removing it would race with a starting instance. */
void service_lock_release(int fd);

#endif
