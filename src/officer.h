/* officer.h - duty officers: roles and what each may do, API tokens,
 * console passwords (argon2id) and authentication.
 *
 * Secrets never reach the database: an API token is 32 random bytes shown
 * once and stored as its SHA-256; a password is stored as an argon2id
 * string (libsodium crypto_pwhash_str). */
#ifndef GA_OFFICER_H
#define GA_OFFICER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "officer_role.h"

#define OFFICER_NAME_MAX 64	 /* bytes with the NUL */
#define OFFICER_TOKEN_BYTES 32	 /* random bytes of an API token */
#define OFFICER_TOKEN_MAX 64	 /* its text (43 chars of URL-safe base64) + NUL */
#define OFFICER_HASH_HEX 65	 /* SHA-256 as 64 lowercase hex digits + NUL */
#define OFFICER_PWHASH_MAX 128	 /* crypto_pwhash_STRBYTES */
#define OFFICER_PASSWORD_MIN 8	 /* bytes */
#define OFFICER_PASSWORD_MAX 256 /* bytes; longer is refused, not cut */
/* The list of common passwords refused (officers/common-passwords.txt):
 * read whole at each check, never more than these. */
#define OFFICER_COMMON_FILE_MAX (1024 * 1024) /* bytes */
#define OFFICER_COMMON_LINES_MAX 100000	      /* entries */
/* A name this long or longer may not appear inside the password. */
#define OFFICER_NAME_IN_PASSWORD_MIN 3 /* bytes */

struct store;

/* What an officer asks to do; officer_may says whether the role allows it. */
enum officer_action {
	OFFICER_VIEW,	  /* list and read drafts and alerts */
	OFFICER_EDIT,	  /* edit a draft's text */
	OFFICER_CONFIRM,  /* confirm a draft (publish) */
	OFFICER_REJECT,	  /* reject a draft */
	OFFICER_CANCEL,	  /* cancel (解除) a published alert */
	OFFICER_RESEND,	  /* send a published alert again */
	OFFICER_AUDIT,	  /* read the audit trail */
	OFFICER_OFFICERS, /* add, disable and change officers */
	OFFICER_ACTION_COUNT
};

struct officer {
	int64_t id; /* > 0 */
	char name[OFFICER_NAME_MAX];
	enum officer_role role;
	char password_hash[OFFICER_PWHASH_MAX]; /* "" when the officer has none */
	char token_hash[OFFICER_HASH_HEX];	/* "" when the token was revoked */
	int64_t created_ms;
	bool disabled;
};

/* Contract names of actions ("confirm", ...), for audit rows and messages. */
const char *officer_action_name(enum officer_action action);

/* Whether role may do action (a fixed table in officer.c). */
bool officer_may(enum officer_role role, enum officer_action action);

/* A name is 1..OFFICER_NAME_MAX-1 bytes of valid UTF-8 without control
 * characters, spaces or '/'. */
bool officer_name_valid(const char *name);

/* SHA-256 of len bytes as lowercase hex: the stored form of API tokens
 * and session cookies. */
void officer_secret_hash(const void *secret, size_t len, char hex[OFFICER_HASH_HEX]);

/* Fills token with a new API token (OFFICER_TOKEN_BYTES from the kernel's
 * CSPRNG, URL-safe base64 without padding) and hash with its
 * officer_secret_hash. Never fails (libsodium aborts if it cannot get
 * randomness). */
void officer_token_new(char token[OFFICER_TOKEN_MAX], char hash[OFFICER_HASH_HEX]);

/* Hashes a password with argon2id (OPSLIMIT/MEMLIMIT_INTERACTIVE, random
 * salt) into out ("$argon2id$..."). GA_ERR_INVAL when the password is
 * shorter than OFFICER_PASSWORD_MIN, GA_ERR_TOOBIG past
 * OFFICER_PASSWORD_MAX, GA_ERR_NOMEM when argon2 cannot get its memory. */
ga_err officer_password_hash(const char *password, char out[OFFICER_PWHASH_MAX]);
/* True when password matches hash (an argon2id string); false for "" or
 * a malformed hash or a password past OFFICER_PASSWORD_MAX. */
bool officer_password_verify(const char *hash, const char *password);

/* The bundled list of common passwords (GA_DATADIR/officers/...). */
const char *officer_common_passwords_path(void);

/* Whether password may be officer name's console password, beyond its
 * length (officer_password_hash checks that): GA_OK, or GA_ERR_INVAL with
 * msg saying why when it is one character repeated, a short pattern
 * repeated, a run of consecutive characters (12345678, hgfedcba), contains
 * the name (names of OFFICER_NAME_IN_PASSWORD_MIN bytes or more; ASCII
 * letters compared without case), or is on the list at list_path (NULL:
 * the bundled one; compared without case). GA_ERR_CONFIG (msg names the
 * file) when the list cannot be read, is past OFFICER_COMMON_FILE_MAX or
 * OFFICER_COMMON_LINES_MAX, or has a line longer than
 * OFFICER_PASSWORD_MAX: then no password is accepted. msg never repeats
 * the password. */
ga_err officer_password_check(const char *password, const char *name, const char *list_path,
			      char *msg, size_t msglen);

/* Finds the enabled officer whose token this is. GA_OK and *out filled;
 * GA_ERR_NOTFOUND for an unknown, malformed or revoked token or a disabled
 * officer (the HTTP layer answers 401 to all of them alike); other errors
 * from the store. The token is hashed, looked up by hash and the hashes
 * compared again in constant time. */
ga_err officer_authenticate_token(struct store *s, const char *token, struct officer *out);

/* Console login: the enabled officer with this name and password.
 * GA_ERR_NOTFOUND for an unknown name, no password, a wrong password or a
 * disabled officer; an unknown name costs an argon2id verification too,
 * so timing does not tell which names exist. */
ga_err officer_authenticate_password(struct store *s, const char *name, const char *password,
				     struct officer *out);

/* Creates an officer with a new API token, stored hashed, and an optional
 * password (NULL: none), and writes the "officer.add" audit row
 * (by_officer_id 0: the command line), all in one transaction of its own
 * (call outside a transaction). On GA_OK, token holds the token (to show
 * once) and *out the officer. GA_ERR_DUPLICATE when the name is taken,
 * GA_ERR_INVAL for a bad name or password (msg says which). */
ga_err officer_add(struct store *s, const char *name, enum officer_role role, const char *password,
		   int64_t by_officer_id, int64_t now_ms, char token[OFFICER_TOKEN_MAX],
		   struct officer *out, char *msg, size_t msglen);

/* Disables officer name (disabled = true) or enables them again. A
 * disabled officer's token, password and open console sessions are
 * refused from the next request on; disabling also ends every console
 * session of theirs. Writes the "officer.disable" or "officer.enable"
 * audit row (by_officer_id 0: the command line) in the same transaction
 * of its own (call outside a transaction). *changed says whether the flag
 * changed (an officer already in that state is GA_OK, no audit row), *out
 * the officer after. GA_ERR_NOTFOUND (msg says so) for an unknown name. */
ga_err officer_set_disabled(struct store *s, const char *name, bool disabled, int64_t by_officer_id,
			    struct officer *out, bool *changed, char *msg, size_t msglen);

/* Gives officer name a new API token: the old one stops working from the
 * next request on. Writes the "officer.token" audit row in the same
 * transaction of its own. On GA_OK, token holds the new token (to show
 * once) and *out the officer. GA_ERR_NOTFOUND for an unknown name. */
ga_err officer_token_rotate(struct store *s, const char *name, int64_t by_officer_id,
			    char token[OFFICER_TOKEN_MAX], struct officer *out, char *msg,
			    size_t msglen);

/* Gives officer name a new console password (NULL: none; console login
 * refused until one is set), checked by the same policy as at creation
 * (officer_password_check). Ends every console session of theirs, so a
 * password thought stolen stops working at once. Writes the
 * "officer.password" audit row (never the password or its hash) in the
 * same transaction of its own. GA_ERR_NOTFOUND for an unknown name,
 * GA_ERR_INVAL for a refused password (msg says why). */
ga_err officer_password_set(struct store *s, const char *name, const char *password,
			    int64_t by_officer_id, struct officer *out, char *msg, size_t msglen);

#endif
