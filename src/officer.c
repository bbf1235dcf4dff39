/* officer.c - roles and their permissions, tokens, passwords and
 * authentication of duty officers. All cryptography is libsodium's. */
#include "officer.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "file.h"
#include "log.h"
#include "store.h"

#ifndef GA_DATADIR
#define GA_DATADIR "."
#endif

/* Who may do what: one row per action; may[] is indexed by role, in the
 * order {duty_officer, supervisor, admin}. */
static const struct {
	const char *name;
	bool may[OFFICER_ROLE_COUNT];
} officer_actions[OFFICER_ACTION_COUNT] = {
    [OFFICER_VIEW] = {"view", {true, true, true}},
    [OFFICER_EDIT] = {"edit", {true, true, true}},
    [OFFICER_CONFIRM] = {"confirm", {true, true, true}},
    [OFFICER_REJECT] = {"reject", {true, true, true}},
    [OFFICER_CANCEL] = {"cancel", {false, true, true}},
    [OFFICER_RESEND] = {"resend", {false, true, true}},
    [OFFICER_AUDIT] = {"audit", {false, false, true}},
    [OFFICER_OFFICERS] = {"officers", {false, false, true}},
};

/* An argon2id hash (of a throw-away password) with the parameters
 * officer_password_hash uses: verified against when the name is unknown
 * so that a failed login costs the same either way. */
static const char officer_dummy_hash[] = "$argon2id$v=19$m=65536,t=2,p=1$A3OtVG3UhdrjZkSFeVwFMQ$"
					 "RNCe7VEf1RmFq3q1dpazCGx1t6U61M8cbeLAzQOv7uA";

/* sodium_init is idempotent and thread-safe; without it randombytes and
 * the pwhash implementations are not set up. */
static void officer_sodium(void)
{
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
}

const char *officer_action_name(enum officer_action action)
{
	if (action < 0 || action >= OFFICER_ACTION_COUNT)
		return "?";
	return officer_actions[action].name;
}

bool officer_may(enum officer_role role, enum officer_action action)
{
	if (role < 0 || role >= OFFICER_ROLE_COUNT || action < 0 || action >= OFFICER_ACTION_COUNT)
		return false;
	return officer_actions[action].may[role];
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 when invalid. */
static size_t officer_utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool officer_name_valid(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len;

	if (name == NULL || (len = strlen(name)) == 0 || len >= OFFICER_NAME_MAX)
		return false;
	while (*p != '\0') {
		size_t n = officer_utf8_len(p);
		if (n == 0)
			return false;
		if (n == 1 && (*p <= 0x20 || *p == 0x7f || *p == '/'))
			return false;
		p += n;
	}
	return true;
}

void officer_secret_hash(const void *secret, size_t len, char hex[OFFICER_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, secret, len);
	sodium_bin2hex(hex, OFFICER_HASH_HEX, h, sizeof(h));
}

void officer_token_new(char token[OFFICER_TOKEN_MAX], char hash[OFFICER_HASH_HEX])
{
	unsigned char raw[OFFICER_TOKEN_BYTES];

	officer_sodium();
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, OFFICER_TOKEN_MAX, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	officer_secret_hash(token, strlen(token), hash);
}

ga_err officer_password_hash(const char *password, char out[OFFICER_PWHASH_MAX])
{
	size_t len = password != NULL ? strnlen(password, OFFICER_PASSWORD_MAX + 1) : 0;

	if (len < OFFICER_PASSWORD_MIN)
		return GA_ERR_INVAL;
	if (len > OFFICER_PASSWORD_MAX)
		return GA_ERR_TOOBIG;
	officer_sodium();
	if (crypto_pwhash_str_alg(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		log_warnx("officer: argon2id could not get its %zu bytes of memory",
			  (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE);
		return GA_ERR_NOMEM;
	}
	return GA_OK;
}

bool officer_password_verify(const char *hash, const char *password)
{
	size_t len;

	if (hash == NULL || hash[0] == '\0' || password == NULL ||
	    strnlen(hash, OFFICER_PWHASH_MAX) >= OFFICER_PWHASH_MAX)
		return false;
	if ((len = strnlen(password, OFFICER_PASSWORD_MAX + 1)) > OFFICER_PASSWORD_MAX)
		return false;
	officer_sodium();
	/* The libsodium prototype takes a full crypto_pwhash_STRBYTES array:
	 * give it one, whatever buffer the hash came in. */
	char full[crypto_pwhash_STRBYTES] = {0};
	memcpy(full, hash, strnlen(hash, OFFICER_PWHASH_MAX - 1));
	return crypto_pwhash_str_verify(full, password, len) == 0;
}

/* --- password policy ---------------------------------------------- */

const char *officer_common_passwords_path(void)
{
	return GA_DATADIR "/officers/common-passwords.txt";
}

static int officer_fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether p (len bytes) is one unit of len/2 bytes or fewer repeated:
 * "aaaaaaaa" (unit 1), "abababab", "passpass". */
static bool officer_pw_repeats(const char *p, size_t len, size_t *unit)
{
	for (size_t u = 1; u <= len / 2; u++) {
		if (len % u != 0)
			continue;
		size_t i = u;
		while (i < len &&
		       officer_fold((unsigned char)p[i]) == officer_fold((unsigned char)p[i - u]))
			i++;
		if (i == len) {
			*unit = u;
			return true;
		}
	}
	return false;
}

/* Whether p is a run of consecutive bytes, up or down: "12345678",
 * "abcdefgh", "HGFEDCBA". */
static bool officer_pw_run(const char *p, size_t len)
{
	int step;

	if (len < 2)
		return false;
	step = officer_fold((unsigned char)p[1]) - officer_fold((unsigned char)p[0]);
	if (step != 1 && step != -1)
		return false;
	for (size_t i = 2; i < len; i++)
		if (officer_fold((unsigned char)p[i]) - officer_fold((unsigned char)p[i - 1]) !=
		    step)
			return false;
	return true;
}

/* Whether needle occurs in hay, ASCII letters compared without case. */
static bool officer_pw_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle), h = strlen(hay);

	for (size_t i = 0; n > 0 && i + n <= h; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* Walks the list in buf (len bytes, NUL-terminated): one password a line,
 * LF or CRLF, '#' lines and empty lines skipped. Checks every line against
 * the caps (so a broken list is found whatever the password) and sets
 * *found when password is on it. */
static ga_err officer_pw_list_scan(const char *path, char *buf, size_t len, const char *password,
				   bool *found, char *msg, size_t msglen)
{
	size_t entries = 0, lineno = 0;
	char *p = buf, *end = buf + len;

	*found = false;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl != NULL ? nl : end;
		size_t n = (size_t)(eol - p);

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && p[0] != '#') {
			if (n > OFFICER_PASSWORD_MAX) {
				snprintf(
				    msg, msglen,
				    "%s: line %zu is longer than %d bytes: not a password list",
				    path, lineno, OFFICER_PASSWORD_MAX);
				return GA_ERR_CONFIG;
			}
			if (++entries > OFFICER_COMMON_LINES_MAX) {
				snprintf(msg, msglen, "%s: more than %d passwords", path,
					 OFFICER_COMMON_LINES_MAX);
				return GA_ERR_CONFIG;
			}
			if (!*found && strlen(password) == n && strncasecmp(p, password, n) == 0)
				*found = true;
		}
		p = eol + 1;
	}
	return GA_OK;
}

ga_err officer_password_check(const char *password, const char *name, const char *list_path,
			      char *msg, size_t msglen)
{
	const char *path = list_path != NULL ? list_path : officer_common_passwords_path();
	char *buf = NULL, err[512];
	size_t len = 0, plen, unit = 0;
	bool found = false;
	ga_err e;

	snprintf(msg, msglen, "%s", "");
	if (password == NULL)
		password = "";
	plen = strlen(password);
	/* The list first: when it is broken no password is accepted, so the
	 * operator learns of it at the first try, not at the first weak one. */
	if ((e = file_read(path, OFFICER_COMMON_FILE_MAX, &buf, &len, err, sizeof(err))) != GA_OK) {
		snprintf(msg, msglen,
			 "cannot check the password against the list of common ones: %s", err);
		return GA_ERR_CONFIG;
	}
	e = officer_pw_list_scan(path, buf, len, password, &found, err, sizeof(err));
	free(buf);
	if (e != GA_OK) {
		snprintf(msg, msglen,
			 "cannot check the password against the list of common ones: %s", err);
		return e;
	}
	e = GA_ERR_INVAL;
	if (!officer_pw_repeats(password, plen, &unit))
		unit = 0;
	if (unit == 1)
		snprintf(msg, msglen, "password refused: it is one character repeated");
	else if (unit > 1)
		snprintf(msg, msglen,
			 "password refused: it is a pattern of %zu characters repeated", unit);
	else if (officer_pw_run(password, plen))
		snprintf(msg, msglen,
			 "password refused: it is a run of consecutive characters (like 1234... or "
			 "abcdefgh)");
	else if (name != NULL && strlen(name) >= OFFICER_NAME_IN_PASSWORD_MIN &&
		 officer_pw_contains(password, name))
		snprintf(msg, msglen, "password refused: it contains the officer's name");
	else if (found)
		snprintf(msg, msglen,
			 "password refused: it is on the list of common passwords (%s), the first "
			 "ones an attacker tries; choose a longer one nobody else would (e.g. four "
			 "or more random words)",
			 path);
	else
		e = GA_OK;
	return e;
}

ga_err officer_authenticate_token(struct store *s, const char *token, struct officer *out)
{
	char hash[OFFICER_HASH_HEX];
	struct officer o;
	size_t len;
	ga_err e;

	if (token == NULL || (len = strnlen(token, OFFICER_TOKEN_MAX)) == 0 ||
	    len >= OFFICER_TOKEN_MAX)
		return GA_ERR_NOTFOUND;
	officer_secret_hash(token, len, hash);
	if ((e = store_officer_by_token_hash(s, hash, &o)) != GA_OK)
		return e;
	/* The lookup compared hashes with SQLite's memcmp; timing there only
	 * leaks the hash of a guess, never the token. Compare again in
	 * constant time so nothing depends on the index doing its job. */
	if (strlen(o.token_hash) != OFFICER_HASH_HEX - 1 ||
	    sodium_memcmp(o.token_hash, hash, OFFICER_HASH_HEX - 1) != 0 || o.disabled)
		return GA_ERR_NOTFOUND;
	*out = o;
	return GA_OK;
}

ga_err officer_authenticate_password(struct store *s, const char *name, const char *password,
				     struct officer *out)
{
	struct officer o;
	ga_err e;

	e = store_officer_by_name(s, name, &o);
	if (e != GA_OK && e != GA_ERR_NOTFOUND)
		return e;
	if (e == GA_ERR_NOTFOUND || o.password_hash[0] == '\0') {
		(void)officer_password_verify(officer_dummy_hash, password);
		return GA_ERR_NOTFOUND;
	}
	if (!officer_password_verify(o.password_hash, password) || o.disabled)
		return GA_ERR_NOTFOUND;
	*out = o;
	return GA_OK;
}

ga_err officer_add(struct store *s, const char *name, enum officer_role role, const char *password,
		   int64_t by_officer_id, int64_t now_ms, char token[OFFICER_TOKEN_MAX],
		   struct officer *out, char *msg, size_t msglen)
{
	char pwhash[OFFICER_PWHASH_MAX] = "", token_hash[OFFICER_HASH_HEX], subject[32];
	json_t *detail = NULL;
	int64_t id = 0;
	ga_err e;

	snprintf(msg, msglen, "%s", "");
	if (!officer_name_valid(name)) {
		snprintf(msg, msglen,
			 "officer name must be 1..%d bytes of UTF-8 without spaces, control"
			 " characters or '/'",
			 OFFICER_NAME_MAX - 1);
		return GA_ERR_INVAL;
	}
	if (role < 0 || role >= OFFICER_ROLE_COUNT) {
		snprintf(msg, msglen, "unknown role");
		return GA_ERR_INVAL;
	}
	if (password != NULL &&
	    strnlen(password, OFFICER_PASSWORD_MAX + 1) >= OFFICER_PASSWORD_MIN &&
	    strnlen(password, OFFICER_PASSWORD_MAX + 1) <= OFFICER_PASSWORD_MAX &&
	    (e = officer_password_check(password, name, NULL, msg, msglen)) != GA_OK)
		return e;
	if (password != NULL && (e = officer_password_hash(password, pwhash)) != GA_OK) {
		if (e == GA_ERR_INVAL)
			snprintf(msg, msglen, "password must be at least %d bytes",
				 OFFICER_PASSWORD_MIN);
		else if (e == GA_ERR_TOOBIG)
			snprintf(msg, msglen, "password must be at most %d bytes",
				 OFFICER_PASSWORD_MAX);
		else
			snprintf(msg, msglen, "cannot hash the password: %s", ga_strerror(e));
		return e == GA_ERR_TOOBIG ? GA_ERR_INVAL : e;
	}
	officer_token_new(token, token_hash);

	if ((e = store_begin(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	e = store_officer_add(s, name, role, pwhash[0] ? pwhash : NULL, token_hash, now_ms, &id);
	if (e == GA_ERR_DUPLICATE) {
		snprintf(msg, msglen, "an officer named %s exists already", name);
		goto rollback;
	}
	if (e != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto rollback;
	}
	snprintf(subject, sizeof(subject), "officer:%lld", (long long)id);
	detail = json_pack("{s:s, s:s, s:b}", "name", name, "role", officer_role_name(role),
			   "password", pwhash[0] != '\0');
	if (detail == NULL) {
		e = GA_ERR_NOMEM;
		snprintf(msg, msglen, "out of memory");
		goto rollback;
	}
	if ((e = audit_record_json(s, by_officer_id, "officer.add", subject, detail)) != GA_OK) {
		snprintf(msg, msglen, "audit: %s", ga_strerror(e));
		goto rollback;
	}
	if ((e = store_commit(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->id = id;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->role = role;
	memcpy(out->password_hash, pwhash, sizeof(out->password_hash));
	memcpy(out->token_hash, token_hash, sizeof(out->token_hash));
	out->created_ms = now_ms;
	goto out;
rollback:
	store_rollback(s);
out:
	json_decref(detail);
	sodium_memzero(pwhash, sizeof(pwhash));
	if (e != GA_OK)
		sodium_memzero(token, OFFICER_TOKEN_MAX);
	return e;
}

/* Reads officer name inside the open transaction: GA_ERR_NOTFOUND with
 * msg for an unknown one. */
static ga_err officer_find(struct store *s, const char *name, struct officer *o, char *msg,
			   size_t msglen)
{
	ga_err e = store_officer_by_name(s, name, o);

	if (e == GA_ERR_NOTFOUND)
		snprintf(msg, msglen, "no officer named %s", name);
	else if (e != GA_OK)
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
	return e;
}

ga_err officer_set_disabled(struct store *s, const char *name, bool disabled, int64_t by_officer_id,
			    struct officer *out, bool *changed, char *msg, size_t msglen)
{
	const char *action = disabled ? "officer.disable" : "officer.enable";
	json_t *detail = NULL;
	struct officer o;
	int64_t ended = 0;
	char subject[32];
	ga_err e;

	snprintf(msg, msglen, "%s", "");
	*changed = false;
	if ((e = store_begin(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		return e;
	}
	if ((e = officer_find(s, name, &o, msg, msglen)) != GA_OK)
		goto rollback;
	if (o.disabled == disabled) {
		*out = o;
		goto rollback; /* nothing to change, nothing to record */
	}
	if ((e = store_officer_set_disabled(s, o.id, disabled)) != GA_OK ||
	    (disabled && (e = store_session_delete_officer(s, o.id, &ended)) != GA_OK)) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto rollback;
	}
	snprintf(subject, sizeof(subject), "officer:%lld", (long long)o.id);
	detail = disabled
		     ? json_pack("{s:s, s:I}", "name", o.name, "sessions_ended", (json_int_t)ended)
		     : json_pack("{s:s}", "name", o.name);
	if (detail == NULL) {
		e = GA_ERR_NOMEM;
		snprintf(msg, msglen, "out of memory");
		goto rollback;
	}
	if ((e = audit_record_json(s, by_officer_id, action, subject, detail)) != GA_OK) {
		snprintf(msg, msglen, "audit: %s", ga_strerror(e));
		goto rollback;
	}
	if ((e = store_commit(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	o.disabled = disabled;
	*out = o;
	*changed = true;
	goto out;
rollback:
	store_rollback(s);
out:
	json_decref(detail);
	sodium_memzero(&o, sizeof(o));
	return e;
}

ga_err officer_token_rotate(struct store *s, const char *name, int64_t by_officer_id,
			    char token[OFFICER_TOKEN_MAX], struct officer *out, char *msg,
			    size_t msglen)
{
	char token_hash[OFFICER_HASH_HEX], subject[32];
	json_t *detail = NULL;
	struct officer o;
	ga_err e;

	snprintf(msg, msglen, "%s", "");
	officer_token_new(token, token_hash);
	if ((e = store_begin(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	if ((e = officer_find(s, name, &o, msg, msglen)) != GA_OK)
		goto rollback;
	if ((e = store_officer_set_token_hash(s, o.id, token_hash)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto rollback;
	}
	snprintf(subject, sizeof(subject), "officer:%lld", (long long)o.id);
	/* Never the token nor its hash: the row says that it changed. */
	detail = json_pack("{s:s, s:b}", "name", o.name, "disabled", o.disabled);
	if (detail == NULL) {
		e = GA_ERR_NOMEM;
		snprintf(msg, msglen, "out of memory");
		goto rollback;
	}
	if ((e = audit_record_json(s, by_officer_id, "officer.token", subject, detail)) != GA_OK) {
		snprintf(msg, msglen, "audit: %s", ga_strerror(e));
		goto rollback;
	}
	if ((e = store_commit(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	memcpy(o.token_hash, token_hash, sizeof(o.token_hash));
	*out = o;
	goto out;
rollback:
	store_rollback(s);
out:
	json_decref(detail);
	if (e != GA_OK)
		sodium_memzero(token, OFFICER_TOKEN_MAX);
	return e;
}

ga_err officer_password_set(struct store *s, const char *name, const char *password,
			    int64_t by_officer_id, struct officer *out, char *msg, size_t msglen)
{
	char pwhash[OFFICER_PWHASH_MAX] = "", subject[32];
	json_t *detail = NULL;
	struct officer o;
	int64_t ended = 0;
	ga_err e;

	snprintf(msg, msglen, "%s", "");
	if (password != NULL) {
		size_t len = strnlen(password, OFFICER_PASSWORD_MAX + 1);

		if (len < OFFICER_PASSWORD_MIN || len > OFFICER_PASSWORD_MAX) {
			snprintf(msg, msglen, "password must be %d to %d bytes",
				 OFFICER_PASSWORD_MIN, OFFICER_PASSWORD_MAX);
			return GA_ERR_INVAL;
		}
		if ((e = officer_password_check(password, name, NULL, msg, msglen)) != GA_OK)
			return e;
		/* Hashed before the transaction: argon2id takes a while and
		 * the write lock is shared with the writer. */
		if ((e = officer_password_hash(password, pwhash)) != GA_OK) {
			snprintf(msg, msglen, "cannot hash the password: %s", ga_strerror(e));
			return e;
		}
	}
	if ((e = store_begin(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	if ((e = officer_find(s, name, &o, msg, msglen)) != GA_OK)
		goto rollback;
	if ((e = store_officer_set_password_hash(s, o.id, password != NULL ? pwhash : NULL)) !=
		GA_OK ||
	    (e = store_session_delete_officer(s, o.id, &ended)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto rollback;
	}
	snprintf(subject, sizeof(subject), "officer:%lld", (long long)o.id);
	detail = json_pack("{s:s, s:b, s:I}", "name", o.name, "password", password != NULL,
			   "sessions_ended", (json_int_t)ended);
	if (detail == NULL) {
		e = GA_ERR_NOMEM;
		snprintf(msg, msglen, "out of memory");
		goto rollback;
	}
	if ((e = audit_record_json(s, by_officer_id, "officer.password", subject, detail)) !=
	    GA_OK) {
		snprintf(msg, msglen, "audit: %s", ga_strerror(e));
		goto rollback;
	}
	if ((e = store_commit(s)) != GA_OK) {
		snprintf(msg, msglen, "database: %s", ga_strerror(e));
		goto out;
	}
	snprintf(o.password_hash, sizeof(o.password_hash), "%s", pwhash);
	*out = o;
	goto out;
rollback:
	store_rollback(s);
out:
	json_decref(detail);
	sodium_memzero(pwhash, sizeof(pwhash));
	return e;
}
