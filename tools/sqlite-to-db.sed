# sqlite-to-db.sed - the mechanical pass of issue 12: store code written
# with sqlite3_* calls onto db.h's db_* calls. Run on src/store*.c and
# src/store_internal.h (not on store_backup.c, whose sqlite3_* calls are on
# the backup's own SQLite connection):
#     sed -i -f tools/sqlite-to-db.sed src/store_NOUN.c
# What it cannot do is left for a hand pass, and the compiler finds it:
# sqlite3_last_insert_rowid (use `RETURNING id` and read the row),
# sqlite3_bind_text64 / sqlite3_prepare_v3 / calls split over lines,
# `sqlite3 *` members and the SQLite-only opening code (db_sqlite(db)).
# SQL is not rewritten: grep the new statements for INSERT OR IGNORE
# (-> INSERT ... ON CONFLICT DO NOTHING) and the other SQLite-only forms
# listed under "Dialect" at the top of src/store_sql.c.
# A call bound SQLITE_TRANSIENT becomes db_bind_text (no copy): check that
# its buffer lives until the statement is reset.

s/#include <sqlite3\.h>/#include "db.h"/

# types
s/\bsqlite3_stmt\b/struct db_stmt/g
s/\bsqlite3_int64\b/int64_t/g

# prepare, exec, finalize (one-line calls)
s/\bsqlite3_prepare_v2(\([^,]*\), \([^,]*\), -1, \([^,]*\), NULL)/db_prepare(\1, \2, \3)/g
s/\bsqlite3_exec(\([^,]*\), \([^,]*\), NULL, NULL, NULL)/db_exec(\1, \2)/g
s/\bsqlite3_finalize(/db_finalize(/g

# binds: text and blobs are never copied (db.h: SQLITE_STATIC semantics)
s/\bsqlite3_bind_text(\([^;]*\), SQLITE_\(STATIC\|TRANSIENT\))/db_bind_text(\1)/g
s/\bsqlite3_bind_blob64(\([^,]*\), \([^,]*\), \([^,]*\), (sqlite3_uint64)\([^,]*\), SQLITE_STATIC)/db_bind_blob(\1, \2, \3, \4)/g
s/\bsqlite3_bind_zeroblob(\([^,]*\), \([^,]*\), 0)/db_bind_blob(\1, \2, "", 0)/g
s/\bsqlite3_bind_\(int64\|int\|double\|null\)(/db_bind_\1(/g

# step, columns, reset
s/\bsqlite3_step(/db_step(/g
s/(const char \*)sqlite3_column_text(/db_column_text(/g
s/\bsqlite3_column_\(int64\|int\|double\|type\|bytes\|blob\|text\)(/db_column_\1(/g
s/\bsqlite3_reset(/db_reset(/g

# connection state
s/\bsqlite3_errmsg(s->db)/db_errmsg(s->db)/g
s/\bsqlite3_changes(/db_changes(/g
s/!sqlite3_get_autocommit(\([^)]*\))/db_in_txn(\1)/g
s/\bsqlite3_get_autocommit(\([^)]*\))/!db_in_txn(\1)/g

# result codes and column types
s/\bSQLITE_CONSTRAINT_\(UNIQUE\|PRIMARYKEY\|CHECK\)\b/DB_CONSTRAINT_\1/g
s/\bSQLITE_\(OK\|ERROR\|BUSY\|LOCKED\|NOMEM\|IOERR\|FULL\|CONSTRAINT\|MISUSE\|ROW\|DONE\)\b/DB_\1/g
s/\bSQLITE_\(INTEGER\|FLOAT\|TEXT\|BLOB\|NULL\)\b/DB_\1/g
