/* store_audit.c - the append-only, hash-chained audit table: the
 * canonical form each row's hash covers, appending (which chains the row
 * to the last one) and reading rows back for audit_verify. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

#define AUDIT_FORM_TAG "geoalert.audit/1\n"

/* Feeds one field to the hash as the netstring "LEN:BYTES,". */
static void store_audit_field(crypto_hash_sha256_state *h, const char *p, size_t len)
{
	char pre[32];
	int n = snprintf(pre, sizeof(pre), "%zu:", len);

	crypto_hash_sha256_update(h, (const unsigned char *)pre, (unsigned long long)n);
	if (len > 0)
		crypto_hash_sha256_update(h, (const unsigned char *)p, len);
	crypto_hash_sha256_update(h, (const unsigned char *)",", 1);
}

static void store_audit_int(crypto_hash_sha256_state *h, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	store_audit_field(h, buf, (size_t)n);
}

static void store_audit_text(crypto_hash_sha256_state *h, const char *p)
{
	store_audit_field(h, p ? p : "", p ? strlen(p) : 0);
}

void store_audit_hash(const struct store_audit_row *r, char hex[STORE_HASH_HEX])
{
	crypto_hash_sha256_state h;
	unsigned char out[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const unsigned char *)AUDIT_FORM_TAG,
				  sizeof(AUDIT_FORM_TAG) - 1);
	store_audit_int(&h, r->seq);
	store_audit_int(&h, r->at_ms);
	if (r->officer_id > 0)
		store_audit_int(&h, r->officer_id);
	else
		store_audit_field(&h, "", 0);
	store_audit_text(&h, r->action);
	store_audit_text(&h, r->subject);
	store_audit_text(&h, r->detail);
	store_audit_text(&h, r->prev_hash);
	crypto_hash_sha256_final(&h, out);
	sodium_bin2hex(hex, STORE_HASH_HEX, out, sizeof(out));
}

/* The last row's seq and hash; 0 and the genesis hash when empty. */
static ga_err store_audit_last(struct store *s, int64_t *seq, char hash[STORE_HASH_HEX])
{
	struct db_stmt *st = s->stmt[STMT_AUDIT_LAST];
	ga_err e = GA_OK;
	int rc = db_step(st);

	if (rc == DB_ROW) {
		*seq = db_column_int64(st, 0);
		store_column_copy(st, 1, hash, STORE_HASH_HEX);
	} else if (rc == DB_DONE) {
		*seq = 0;
		snprintf(hash, STORE_HASH_HEX, "%s", STORE_AUDIT_GENESIS);
	} else {
		e = store_error(s, rc, "audit last");
	}
	store_stmt_done(st);
	return e;
}

/* Appends inside the open transaction (whose BEGIN IMMEDIATE holds the
 * write lock, so no other connection can take the same seq between the
 * read of the last row and the insert). */
static ga_err store_audit_insert(struct store *s, struct store_audit_row *r, int64_t *seq)
{
	struct db_stmt *st = s->stmt[STMT_AUDIT_APPEND];
	char prev[STORE_HASH_HEX], hash[STORE_HASH_HEX];
	int64_t last = 0;
	ga_err e;
	int rc;

	if ((e = store_audit_last(s, &last, prev)) != GA_OK)
		return e;
	r->seq = last + 1;
	r->prev_hash = prev;
	store_audit_hash(r, hash);
	r->hash = hash;

	if ((rc = db_bind_int64(st, 1, r->seq)) != DB_OK ||
	    (rc = db_bind_int64(st, 2, r->at_ms)) != DB_OK ||
	    (rc = r->officer_id > 0 ? db_bind_int64(st, 3, r->officer_id) : db_bind_null(st, 3)) !=
		DB_OK ||
	    (rc = db_bind_text(st, 4, r->action, -1)) != DB_OK ||
	    (rc = db_bind_text(st, 5, r->subject, -1)) != DB_OK ||
	    (rc = db_bind_text(st, 6, r->detail, -1)) != DB_OK ||
	    (rc = db_bind_text(st, 7, r->prev_hash, -1)) != DB_OK ||
	    (rc = db_bind_text(st, 8, r->hash, -1)) != DB_OK || (rc = db_step(st)) != DB_DONE) {
		if (rc == DB_CONSTRAINT_CHECK) {
			/* detail is not JSON: the caller's mistake, not the file's. */
			log_warnx("store: %s: audit %s: detail is not valid JSON", s->path,
				  r->action);
			e = GA_ERR_INVAL;
		} else {
			e = store_error(s, rc, "audit append");
		}
		goto out;
	}
	if (seq != NULL)
		*seq = r->seq;
	e = GA_OK;
out:
	r->prev_hash = r->hash = NULL;
	store_stmt_done(st);
	return e;
}

ga_err store_audit_append(struct store *s, int64_t at_ms, int64_t officer_id, const char *action,
			  const char *subject, const char *detail, int64_t *seq)
{
	struct store_audit_row r = {
	    .at_ms = at_ms,
	    .officer_id = officer_id > 0 ? officer_id : 0,
	    .action = action,
	    .subject = subject ? subject : "",
	    .detail = detail ? detail : "{}",
	};
	bool own = !s->in_txn;
	ga_err e;

	if (action == NULL || action[0] == '\0')
		return GA_ERR_INVAL;
	if (strlen(action) > STORE_AUDIT_ACTION_MAX ||
	    strlen(r.subject) > STORE_AUDIT_SUBJECT_MAX ||
	    strlen(r.detail) > STORE_AUDIT_DETAIL_MAX)
		return GA_ERR_TOOBIG;
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
	if (own) {
		if ((e = store_begin(s)) != GA_OK)
			return e;
	} else if ((e = store_spoiled(s)) != GA_OK) {
		return e;
	}
	e = store_audit_insert(s, &r, seq);
	if (own) {
		if (e == GA_OK)
			e = store_commit(s);
		else
			store_rollback(s);
	}
	return e;
}

/* Whether the row's columns hold what geoalert writes: integers where
 * integers belong and text without NUL bytes. Text is hashed up to its
 * first NUL, so "detail || X'00' || anything" would otherwise still
 * verify; such a row is handed out with hash "" and fails. */
static bool store_audit_plain(struct db_stmt *st)
{
	for (int i = 0; i < 3; i++)
		if (db_column_type(st, i) != DB_INTEGER &&
		    !(i == 2 && db_column_type(st, i) == DB_NULL))
			return false;
	for (int i = 3; i < 8; i++) {
		const char *p = db_column_text(st, i);
		if (p != NULL && strlen(p) != (size_t)db_column_bytes(st, i))
			return false;
	}
	return true;
}

ga_err store_audit_each(struct store *s, int64_t from_seq, store_audit_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_AUDIT_FROM];
	struct store_audit_row r;
	ga_err e = GA_OK;
	int rc;

	if ((rc = db_bind_int64(st, 1, from_seq)) != DB_OK) {
		e = store_error(s, rc, "audit read");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		r.seq = db_column_int64(st, 0);
		r.at_ms = db_column_int64(st, 1);
		r.officer_id = db_column_type(st, 2) == DB_NULL ? 0 : db_column_int64(st, 2);
		/* Text as stored; a NULL forced in behind the constraints reads
		 * as "" and then fails its hash. */
		r.action = db_column_text(st, 3);
		r.subject = db_column_text(st, 4);
		r.detail = db_column_text(st, 5);
		r.prev_hash = db_column_text(st, 6);
		r.hash = db_column_text(st, 7);
		if (!r.action)
			r.action = "";
		if (!r.subject)
			r.subject = "";
		if (!r.detail)
			r.detail = "";
		if (!r.prev_hash)
			r.prev_hash = "";
		if (!r.hash || !store_audit_plain(st))
			r.hash = "";
		if (!cb(&r, arg))
			goto out;
	}
	if (rc != DB_DONE)
		e = store_error(s, rc, "audit read");
out:
	store_stmt_done(st);
	return e;
}
