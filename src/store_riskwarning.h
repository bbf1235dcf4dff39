/* store_riskwarning.h - risk warning products in the store (spec §11):
 * intake, the officers' sign-off, state changes. Same rules as store.h:
 * one connection per thread, writes inside store_begin/store_commit. */
#ifndef GA_STORE_RISKWARNING_H
#define GA_STORE_RISKWARNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "report.h"
#include "store.h"

/* The migration (appended to store_migrations in store_sql.c); IF NOT
 * EXISTS because test_store_report's upgrade test runs the later
 * migrations again over a database that has them.
 * state: pending (awaiting sign-off), published, expired (past
 * valid_to), rejected (by an officer), cancelled (after publication).
 * source: "mqtt:{issuer_id}" or "api:{officer name}". */
#define STORE_RISKWARNING_MIGRATION                                                                \
	"CREATE TABLE IF NOT EXISTS riskwarnings ("                                                \
	" id INTEGER PRIMARY KEY,"                                                                 \
	" product_id TEXT NOT NULL UNIQUE,"                                                        \
	" version INTEGER NOT NULL DEFAULT 1,"                                                     \
	" state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'expired', 'rejected',"     \
	"  'cancelled')),"                                                                         \
	" source TEXT NOT NULL,"                                                                   \
	" raw BLOB NOT NULL,"                                                                      \
	" product TEXT NOT NULL,"                                                                  \
	" valid_from_ms INTEGER NOT NULL,"                                                         \
	" valid_to_ms INTEGER NOT NULL,"                                                           \
	" supersedes TEXT,"                                                                        \
	" received_ms INTEGER NOT NULL,"                                                           \
	" published_ms INTEGER,"                                                                   \
	" ended_ms INTEGER,"                                                                       \
	" reason TEXT NOT NULL DEFAULT '');"                                                       \
	"CREATE INDEX IF NOT EXISTS riskwarnings_by_state ON riskwarnings (state, valid_to_ms);"   \
	"CREATE TABLE IF NOT EXISTS riskwarning_confirmations ("                                   \
	" warning_id INTEGER NOT NULL REFERENCES riskwarnings (id),"                               \
	" officer_id INTEGER NOT NULL,"                                                            \
	" at_ms INTEGER NOT NULL,"                                                                 \
	" PRIMARY KEY (warning_id, officer_id));"

#define STORE_RISKWARNING_STATE_MAX 16
#define STORE_RISKWARNING_SOURCE_MAX 96
#define STORE_RISKWARNING_LIST_MAX 500 /* rows one list call returns at most */

struct store_riskwarning {
	int64_t id;
	char product_id[REPORT_ID_MAX + 1];
	int version;
	char state[STORE_RISKWARNING_STATE_MAX];
	char source[STORE_RISKWARNING_SOURCE_MAX];
	char *product; /* JSON text, malloc'd: free with store_riskwarning_clear */
	int64_t valid_from_ms, valid_to_ms, received_ms;
	int64_t published_ms, ended_ms; /* 0: not yet */
	char supersedes[REPORT_ID_MAX + 1];
	char reason[512];
	int confirmations;
};

void store_riskwarning_clear(struct store_riskwarning *w);

/* Stores a validated product as pending. GA_ERR_DUPLICATE when its
 * product_id is stored already (in any state); *id (may be NULL) the
 * new row's. */
ga_err store_riskwarning_put(struct store *s, const char *product_id, const char *source,
			     const void *raw, size_t rawlen, const char *product_json,
			     int64_t valid_from_ms, int64_t valid_to_ms, const char *supersedes,
			     int64_t received_ms, int64_t *id);

/* The row of product_id with its confirmation count; GA_ERR_NOTFOUND. */
ga_err store_riskwarning_get(struct store *s, const char *product_id,
			     struct store_riskwarning *out);

/* Calls cb for each row in state (NULL: every state), newest received
 * first, at most limit (capped at STORE_RISKWARNING_LIST_MAX); cb's row
 * is borrowed for the call. cb returns false to stop. */
ga_err store_riskwarning_list(struct store *s, const char *state, int limit,
			      bool (*cb)(const struct store_riskwarning *w, void *arg), void *arg);

/* Records officer_id's confirmation: GA_ERR_DUPLICATE when that officer
 * confirmed it already. *count (may be NULL) the confirmations now. */
ga_err store_riskwarning_confirm(struct store *s, int64_t id, int64_t officer_id, int64_t at_ms,
				 int *count);

/* Calls cb with the officer id and time of each confirmation, oldest first. */
ga_err store_riskwarning_confirmations(struct store *s, int64_t id,
				       void (*cb)(int64_t officer_id, int64_t at_ms, void *arg),
				       void *arg);

/* Moves row id from state from to state to (published: sets published_ms;
 * expired, rejected, cancelled: ended_ms and reason). GA_ERR_CONFLICT when
 * the row is no longer in from. */
ga_err store_riskwarning_transition(struct store *s, int64_t id, const char *from, const char *to,
				    int64_t at_ms, const char *reason);

/* Rows pending or published whose valid_to_ms <= now_ms, earliest first,
 * at most limit (capped at STORE_RISKWARNING_LIST_MAX): cb gets each
 * id, product_id and state (borrowed for the call). */
ga_err store_riskwarning_due(struct store *s, int64_t now_ms, int limit,
			     void (*cb)(int64_t id, const char *product_id, const char *state,
					void *arg),
			     void *arg);

/* Replaces the product JSON of a pending row (officers' edits). */
ga_err store_riskwarning_set_product(struct store *s, int64_t id, const char *product_json);

#endif
