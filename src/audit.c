/* audit.c - recording audit rows and verifying the hash chain (the
 * limits of what verification can find are in audit.h). */
#include "audit.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

ga_err audit_record(struct store *s, int64_t officer_id, const char *action, const char *subject,
		    const char *detail_json)
{
	return store_audit_append(s, time_now_ms(), officer_id, action, subject, detail_json, NULL);
}

ga_err audit_record_json(struct store *s, int64_t officer_id, const char *action,
			 const char *subject, const json_t *detail)
{
	char *text = NULL;
	ga_err e;

	if (detail != NULL) {
		text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		if (text == NULL)
			return GA_ERR_NOMEM;
	}
	e = audit_record(s, officer_id, action, subject, text);
	free(text);
	return e;
}

static bool audit_hex64(const char *p)
{
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	return p[64] == '\0';
}

ga_err audit_anchor_parse(const char *text, struct audit_anchor *out)
{
	char *end;
	long long seq;

	if (text == NULL || strlen(text) >= AUDIT_ANCHOR_MAX || !isdigit((unsigned char)text[0]))
		return GA_ERR_INVAL;
	errno = 0;
	seq = strtoll(text, &end, 10);
	if (errno != 0 || seq <= 0 || *end != ':' || !audit_hex64(end + 1))
		return GA_ERR_INVAL;
	out->seq = seq;
	for (int i = 0; i < 64; i++)
		out->hash[i] = (char)tolower((unsigned char)end[1 + i]);
	out->hash[64] = '\0';
	return GA_OK;
}

struct audit_walk {
	const struct audit_anchor *anchor;
	struct audit_verify_result *res;
};

static bool audit_bad(struct audit_verify_result *res, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first problem; returns false to stop the walk. */
static bool audit_bad(struct audit_verify_result *res, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	res->ok = false;
	res->first_bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(res->problem, sizeof(res->problem), fmt, ap);
	va_end(ap);
	return false;
}

static bool audit_check_row(const struct store_audit_row *r, void *arg)
{
	struct audit_walk *w = arg;
	struct audit_verify_result *res = w->res;
	int64_t expect = res->last_seq + 1;
	char hash[STORE_HASH_HEX];

	if (r->seq > expect) {
		if (r->seq == expect + 1)
			return audit_bad(res, expect,
					 "row %" PRId64
					 " is missing (deleted): the next row is %" PRId64,
					 expect, r->seq);
		return audit_bad(res, expect,
				 "rows %" PRId64 "..%" PRId64
				 " are missing (deleted): the next row is"
				 " %" PRId64,
				 expect, r->seq - 1, r->seq);
	}
	if (r->seq < expect)
		return audit_bad(res, r->seq,
				 "row %" PRId64 " is out of sequence (expected %" PRId64 ")",
				 r->seq, expect);
	if (strcmp(r->prev_hash, res->last_hash) != 0) {
		if (r->seq == 1)
			return audit_bad(res, r->seq,
					 "row 1: prev_hash is not the genesis hash (rows before it"
					 " deleted and the rest renumbered?)");
		return audit_bad(res, r->seq,
				 "row %" PRId64 ": prev_hash is not the hash of row %" PRId64
				 " (that row rewritten with a new hash, or rows deleted and the"
				 " rest renumbered)",
				 r->seq, r->seq - 1);
	}
	store_audit_hash(r, hash);
	if (strcmp(hash, r->hash) != 0)
		return audit_bad(res, r->seq,
				 "row %" PRId64 ": hash does not match its content (row edited)",
				 r->seq);
	if (w->anchor != NULL && r->seq == w->anchor->seq && strcmp(r->hash, w->anchor->hash) != 0)
		return audit_bad(res, r->seq,
				 "row %" PRId64 ": hash differs from the anchor (the chain up to"
				 " it was rewritten)",
				 r->seq);
	res->rows++;
	res->last_seq = r->seq;
	snprintf(res->last_hash, sizeof(res->last_hash), "%s", r->hash);
	return true;
}

ga_err audit_verify(struct store *s, const struct audit_anchor *anchor,
		    struct audit_verify_result *res)
{
	struct audit_walk w = {.anchor = anchor, .res = res};
	ga_err e;

	memset(res, 0, sizeof(*res));
	res->ok = true;
	snprintf(res->last_hash, sizeof(res->last_hash), "%s", STORE_AUDIT_GENESIS);
	/* From seq <= 0 too: a row forced in with such a seq is out of order. */
	if ((e = store_audit_each(s, INT64_MIN, audit_check_row, &w)) != GA_OK)
		return e;
	if (res->ok && anchor != NULL && anchor->seq > res->last_seq)
		audit_bad(res, res->last_seq + 1,
			  "anchor row %" PRId64 " is gone: the table ends at row %" PRId64
			  " (tail deleted)",
			  anchor->seq, res->last_seq);
	return GA_OK;
}
