/* store_sql_pg.h - the PostgreSQL dialect of the store's schema
 * (store_sql_pg.c): data only, the runner is store.c's. */
#ifndef GA_STORE_SQL_PG_H
#define GA_STORE_SQL_PG_H

/* store_migrations[] of store_sql.c, same count and order, in
 * PostgreSQL's SQL; run each with db_exec. */
extern const char *const store_migrations_pg[];
extern const int store_nmigrations_pg;

/* Creates the schema_version table (one row: the number of migrations
 * applied) when missing; idempotent, run before the first migration. */
extern const char store_pg_schema_version_sql[];

/* The pg_advisory_xact_lock key the migration runner holds. */
#define STORE_PG_MIGRATION_LOCK 0x67656f616c657274LL /* "geoalert" */

#endif
