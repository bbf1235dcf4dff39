/* db_pg_sql.c - the PostgreSQL backend's rewrite of SQLite-style `?` and
 * `?N` parameters to `$N` (contract in db_internal.h). A pure function:
 * no libpq, fuzzable. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

struct rw {
	char *out;
	size_t cap, len;
};

static int rw_put(struct rw *w, const char *p, size_t n)
{
	if (n >= w->cap - w->len)
		return -1;
	memcpy(w->out + w->len, p, n);
	w->len += n;
	w->out[w->len] = '\0';
	return 0;
}

static int is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (unsigned char)c >= 0x80;
}

static int is_ident_start(char c)
{
	return is_ident(c) && !(c >= '0' && c <= '9');
}

/* Length of the quoted run starting at sql[i] (a quote, a comment or a
 * dollar-quoted body), 0 when sql[i] starts none, -1 when it does not end. */
static long quoted_len(const char *sql, size_t i)
{
	const char *s = sql + i;
	size_t j;

	if (s[0] == '\'' || s[0] == '"') {
		/* E'..': backslash escapes; '' or "" inside is a closed run
		 * followed by a new one, which the caller's loop handles. */
		int esc = s[0] == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
			  (i == 1 || !is_ident(sql[i - 2]));
		for (j = 1; s[j]; j++) {
			if (esc && s[j] == '\\' && s[j + 1]) {
				j++;
				continue;
			}
			if (s[j] == s[0])
				return (long)j + 1;
		}
		return -1;
	}
	if (s[0] == '-' && s[1] == '-') {
		for (j = 2; s[j] && s[j] != '\n'; j++)
			;
		return (long)j;
	}
	if (s[0] == '/' && s[1] == '*') {
		int depth = 1;
		for (j = 2; s[j]; j++) {
			if (s[j] == '/' && s[j + 1] == '*') {
				depth++;
				j++;
			} else if (s[j] == '*' && s[j + 1] == '/') {
				j++;
				if (--depth == 0)
					return (long)j + 1;
			}
		}
		return -1;
	}
	if (s[0] == '$' && !(i > 0 && is_ident(sql[i - 1]))) {
		/* $tag$ with tag empty or an identifier; $1 is a parameter. */
		size_t t = 1;
		const char *end;
		if (s[t] != '$' && !is_ident_start(s[t]))
			return 0;
		while (s[t] != '$' && is_ident(s[t]))
			t++;
		if (s[t] != '$')
			return 0;
		t++; /* the tag with both dollars: s[0..t) */
		for (end = strchr(s + t, '$'); end; end = strchr(end + 1, '$')) {
			if (strncmp(end, s, t) == 0)
				return (long)(end - s) + (long)t;
		}
		return -1;
	}
	return 0;
}

int db_pg_rewrite(const char *sql, char *out, size_t outcap, int *nparams, char *err, size_t errlen)
{
	struct rw w = {out, outcap, 0};
	int result = DB_ERROR, max = 0;
	size_t i = 0;

	*nparams = 0;
	if (!out || outcap == 0) {
		snprintf(err, errlen, "no room for the SQL");
		return DB_ERROR;
	}
	out[0] = '\0';
	while (sql[i]) {
		long q = quoted_len(sql, i);
		if (q < 0) {
			snprintf(err, errlen, "unterminated quote or comment at byte %zu", i);
			goto out;
		}
		if (q > 0) {
			if (rw_put(&w, sql + i, (size_t)q) != 0)
				goto full;
			i += (size_t)q;
			continue;
		}
		if (sql[i] == '?') {
			long n = 0;
			char num[16];
			i++;
			if (sql[i] >= '0' && sql[i] <= '9') {
				while (sql[i] >= '0' && sql[i] <= '9') {
					if (n <= DB_PG_PARAMS_MAX)
						n = n * 10 + (sql[i] - '0');
					i++;
				}
			} else {
				n = max + 1;
			}
			if (n < 1 || n > DB_PG_PARAMS_MAX) {
				snprintf(err, errlen, "parameter number out of 1..%d",
					 DB_PG_PARAMS_MAX);
				goto out;
			}
			if (n > max)
				max = (int)n;
			snprintf(num, sizeof num, "$%ld", n);
			if (rw_put(&w, num, strlen(num)) != 0)
				goto full;
			continue;
		}
		if (rw_put(&w, sql + i, 1) != 0)
			goto full;
		i++;
	}
	*nparams = max;
	result = DB_OK;
	goto out;
full:
	snprintf(err, errlen, "SQL too long after rewriting its parameters");
out:
	return result;
}
