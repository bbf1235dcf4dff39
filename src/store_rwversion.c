/* store_rwversion.c - a risk warning product's version (store_rwversion.h). */
#include "store_rwversion.h"

#include "store_internal.h"

/* One line for tools/sqlite-to-db.sed (issue 12). */
static const char store_rwversion_sql[] =
    "UPDATE riskwarnings SET version = version + 1 WHERE id = ?1 RETURNING version";

ga_err store_rwversion_bump(struct store *s, int64_t id, int *version)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	rc = db_prepare(s->db, store_rwversion_sql, &st);
	if (rc != DB_OK)
		return store_error(s, rc, "riskwarning version");
	e = store_step_row(s, st, db_bind_int64(st, 1, id), "riskwarning version");
	if (e == GA_OK && version != NULL)
		*version = db_column_int(st, 0);
	if (e == GA_OK && (rc = db_step(st)) != DB_DONE)
		e = store_error(s, rc, "riskwarning version");
	db_finalize(st);
	return e;
}
