/* audit.h - the audit trail: every officer and workflow action as an
 * append-only row, each hash-chained to the one before (store.h has the
 * table and the canonical form), and the check of that chain.
 *
 * What audit_verify can and cannot tell. It recomputes every row's hash
 * and follows the chain from seq 1, so it finds
 *   - a row edited in place (its hash no longer matches its content),
 *   - a row deleted from the middle (a gap in seq, or, if the later rows
 *     were renumbered, a prev_hash or hash that no longer matches),
 *   - a row edited and given a recomputed hash (the next row's prev_hash).
 * It cannot find, from the database alone, rows cut off the end (the
 * shorter chain is still a valid chain) nor a chain rewritten from some
 * row to the end: the hash has no key, and whoever can write the file can
 * recompute it. Against both, record anchors outside the database: verify
 * prints the last seq and its hash, and checks a recorded one given as
 * anchor (the row must still exist and still have that hash). */
#ifndef GA_AUDIT_H
#define GA_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define AUDIT_PROBLEM_MAX 256
#define AUDIT_ANCHOR_MAX 96 /* "SEQ:HASH" text */

/* A (seq, hash) pair recorded earlier, e.g. printed by `audit verify`. */
struct audit_anchor {
	int64_t seq;
	char hash[STORE_HASH_HEX];
};

struct audit_verify_result {
	bool ok;
	int64_t rows;			 /* rows checked and good */
	int64_t last_seq;		 /* of the last good row; 0 when none */
	char last_hash[STORE_HASH_HEX];	 /* its hash; STORE_AUDIT_GENESIS when none */
	int64_t first_bad_seq;		 /* 0 when ok */
	char problem[AUDIT_PROBLEM_MAX]; /* "" when ok */
};

/* Appends one row at the current time (officer_id 0: the service or the
 * command line). detail_json may be NULL ("{}"). Called inside a
 * transaction, the row commits or rolls back with what it records (which
 * is what workflow code should do); outside, it is committed on its own
 * before returning. Errors as store_audit_append. */
ga_err audit_record(struct store *s, int64_t officer_id, const char *action, const char *subject,
		    const char *detail_json);

/* As audit_record with detail as a JSON object (borrowed; NULL: {}),
 * serialised compactly with sorted keys. */
ga_err audit_record_json(struct store *s, int64_t officer_id, const char *action,
			 const char *subject, const json_t *detail);

/* Parses "SEQ:HASH" (seq > 0, 64 hex digits). GA_ERR_INVAL otherwise. */
ga_err audit_anchor_parse(const char *text, struct audit_anchor *out);

/* Walks the whole chain and fills *res: ok, or the first bad seq and what
 * is wrong with it. anchor may be NULL. Returns GA_OK when the walk ran
 * (res->ok says whether the chain is intact), a store error otherwise. */
ga_err audit_verify(struct store *s, const struct audit_anchor *anchor,
		    struct audit_verify_result *res);

#endif
