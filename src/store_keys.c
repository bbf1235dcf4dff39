/* store_keys.c - the key ids the deployment signs with (issue 12, spec
 * §10; the signing_keys table of the last migration). Prepared per call:
 * they run once per start or command. Each public verb is a transaction
 * of its own, so that a record and the compare that decides about it are
 * one step: on PostgreSQL store_begin takes the transaction lock, and the
 * INSERT ... ON CONFLICT DO NOTHING would keep a second recording out
 * even without it. */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* Reads k's row into k->recorded, k->recorded_ms ("" and 0: none). */
static ga_err store_keys_read(struct store *s, struct store_key *k)
{
	struct db_stmt *st = NULL;
	ga_err e;

	k->recorded[0] = '\0';
	k->recorded_ms = 0;
	if ((e = store_prepare_own(s,
				   "SELECT key_id, recorded_ms FROM signing_keys"
				   " WHERE purpose = ?1",
				   &st, "signing keys")) != GA_OK)
		return e;
	e = store_step_row(s, st, db_bind_text(st, 1, k->purpose, -1), "signing keys");
	if (e == GA_OK) {
		store_column_copy(st, 0, k->recorded, sizeof(k->recorded));
		k->recorded_ms = db_column_int64(st, 1);
	}
	db_finalize(st);
	return e == GA_ERR_NOTFOUND ? GA_OK : e;
}

/* Runs sql (?1 purpose, ?2 key_id, ?3 now_ms) for k; *n the rows changed. */
static ga_err store_keys_write(struct store *s, const char *sql, const struct store_key *k,
			       int64_t now_ms, int64_t *n)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_prepare_own(s, sql, &st, "signing keys")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, k->purpose, -1));
	STORE_BIND(rc, db_bind_text(st, 2, k->key_id, -1));
	STORE_BIND(rc, db_bind_int64(st, 3, now_ms));
	e = store_run_changes(s, st, rc, n, "signing keys");
	db_finalize(st);
	return e;
}

/* An id that would not fit recorded cannot be compared: refused. */
static ga_err store_keys_valid(const struct store_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].purpose == NULL || keys[i].key_id == NULL ||
		    keys[i].key_id[0] == '\0' || strlen(keys[i].key_id) >= STORE_KEY_ID_MAX ||
		    strlen(keys[i].purpose) >= STORE_KEY_PURPOSE_MAX)
			return GA_ERR_INVAL;
	return GA_OK;
}

ga_err store_keys_check(struct store *s, struct store_key *keys, size_t n, int64_t now_ms)
{
	bool differ = false;
	int64_t made = 0;
	ga_err e;

	if ((e = store_keys_valid(keys, n)) != GA_OK)
		return e;
	if ((e = store_begin(s)) != GA_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		keys[i].recorded_now = false;
		if ((e = store_keys_write(s,
					  "INSERT INTO signing_keys (purpose, key_id, recorded_ms)"
					  " VALUES (?1, ?2, ?3) ON CONFLICT (purpose) DO NOTHING",
					  &keys[i], now_ms, &made)) != GA_OK ||
		    (e = store_keys_read(s, &keys[i])) != GA_OK)
			goto fail;
		keys[i].recorded_now = made > 0;
		if (strcmp(keys[i].recorded, keys[i].key_id) != 0)
			differ = true;
	}
	if (differ) {
		/* Nothing of this call stays: the recorded_now rows go too
		 * (they name no key of the deployment's yet). */
		for (size_t i = 0; i < n; i++)
			if (keys[i].recorded_now) {
				keys[i].recorded_now = false;
				keys[i].recorded[0] = '\0';
				keys[i].recorded_ms = 0;
			}
		if ((e = store_rollback(s)) != GA_OK)
			return e;
		return GA_ERR_CONFLICT;
	}
	if ((e = store_commit(s)) != GA_OK)
		for (size_t i = 0; i < n; i++)
			keys[i].recorded_now = false;
	return e;
fail:
	store_rollback(s);
	return e;
}

ga_err store_keys_adopt(struct store *s, struct store_key *keys, size_t n, int64_t now_ms)
{
	ga_err e;

	if ((e = store_keys_valid(keys, n)) != GA_OK)
		return e;
	if ((e = store_begin(s)) != GA_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((e = store_keys_read(s, &keys[i])) != GA_OK ||
		    (e = store_keys_write(s,
					  "INSERT INTO signing_keys (purpose, key_id, recorded_ms)"
					  " VALUES (?1, ?2, ?3) ON CONFLICT (purpose) DO UPDATE"
					  " SET key_id = excluded.key_id,"
					  " recorded_ms = excluded.recorded_ms"
					  " WHERE signing_keys.key_id <> excluded.key_id",
					  &keys[i], now_ms, NULL)) != GA_OK)
			goto fail;
		keys[i].recorded_now = true;
	}
	if ((e = store_commit(s)) == GA_OK)
		return GA_OK;
	for (size_t i = 0; i < n; i++)
		keys[i].recorded_now = false;
	return e;
fail:
	for (size_t i = 0; i < n; i++)
		keys[i].recorded_now = false;
	store_rollback(s);
	return e;
}

ga_err store_keys_get(struct store *s, struct store_key *keys, size_t n)
{
	ga_err e;

	for (size_t i = 0; i < n; i++) {
		keys[i].recorded_now = false;
		if (keys[i].purpose == NULL)
			return GA_ERR_INVAL;
		if ((e = store_keys_read(s, &keys[i])) != GA_OK)
			return e;
	}
	return GA_OK;
}
