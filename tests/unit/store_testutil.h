/* store_testutil.h - for the store's tests: a fresh database file in a
 * temp dir of its own, opened, and removed with its WAL files. */
#ifndef GA_STORE_TESTUTIL_H
#define GA_STORE_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"

struct stest_db {
	char dir[64];
	char path[128]; /* {dir}/geoalert.db */
};

/* Makes /tmp/ga-{name}-XXXXXX and names the database in it. */
static inline void stest_db_make(struct stest_db *db, const char *name)
{
	snprintf(db->dir, sizeof(db->dir), "/tmp/ga-%s-XXXXXX", name);
	assert_non_null(mkdtemp(db->dir));
	snprintf(db->path, sizeof(db->path), "%s/geoalert.db", db->dir);
}

/* Removes the database, its WAL and journal files, and the dir. */
static inline void stest_db_remove(const struct stest_db *db)
{
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db->path, suffix[i]);
		unlink(p);
	}
	rmdir(db->dir);
}

/* Opens path (max_pages 0: no cap), failing the test with the store's
 * message when it cannot. */
static inline struct store *stest_open(const char *path, long max_pages)
{
	struct store_options opt = {.path = path, .max_page_count = max_pages};
	struct store *s = NULL;
	char err[512] = "";
	ga_err e = store_open(&opt, &s, err, sizeof(err));

	if (e != GA_OK)
		fail_msg("store_open: %s", err);
	assert_non_null(s);
	return s;
}

#endif
