/* store_rwversion.c - a risk warning product's version (store_rwversion.h). */
#include "store_rwversion.h"

#include "store_internal.h"

/* One line for tools/sqlite-to-db.sed (issue 12). */
static const char store_rwversion_sql[] =
    "UPDATE riskwarnings SET version = version + 1 WHERE id = ?1 RETURNING version";

ga_err store_rwversion_bump(struct store *s, int64_t id, int *version)
{
	sqlite3_stmt *st = NULL;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	rc = sqlite3_prepare_v2(s->db, store_rwversion_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_error(s, rc, "riskwarning version");
	e = store_step_row(s, st, sqlite3_bind_int64(st, 1, id), "riskwarning version");
	if (e == GA_OK && version != NULL)
		*version = sqlite3_column_int(st, 0);
	if (e == GA_OK && (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = store_error(s, rc, "riskwarning version");
	sqlite3_finalize(st);
	return e;
}
