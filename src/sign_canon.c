/* sign_canon.c - the canonical form of a JSON value that alert signatures
 * cover: RFC 8785 (JSON Canonicalization Scheme), see sign.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"
#include "strbuf.h"

#define CANON_DEPTH_MAX 32 /* nesting of objects and arrays */
#define CANON_KEYS_MAX 256 /* members of one object */

/* RFC 8785 §3.2.2.2: only '"', '\\' and U+0000..U+001F are escaped, the
 * five with a short form by it, the others as \u00xx (lowercase). */
static void canon_string(struct strbuf *b, const char *s, size_t n)
{
	size_t run = 0;

	strbuf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[8];

		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c < 0x20) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			esc = u;
		}
		if (esc == NULL)
			continue;
		strbuf_put(b, s + run, i - run);
		strbuf_puts(b, esc);
		run = i + 1;
	}
	strbuf_put(b, s + run, n - run);
	strbuf_put(b, "\"", 1);
}

/* ECMAScript Number::toString (RFC 8785 §3.2.2.3): the shortest digits
 * that read back as v, placed by the exponent rules of ECMA-262. */
static ga_err canon_number(struct strbuf *b, double v)
{
	char tmp[40], digits[24], out[64];
	int exp10 = 0, k = 0, n, p;
	size_t o = 0;

	if (!isfinite(v))
		return GA_ERR_INVAL;
	if (v == 0) {
		strbuf_puts(b, "0"); /* -0 too */
		return GA_OK;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp: "-d.ddde+XX" */
	const char *q = tmp;
	if (*q == '-') {
		out[o++] = '-';
		q++;
	}
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			digits[k++] = *q;
	digits[k] = '\0';
	if (*q == 'e')
		exp10 = (int)strtol(q + 1, NULL, 10);
	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	n = exp10 + 1; /* the decimal point sits after n digits */
	if (k <= n && n <= 21) {
		memcpy(out + o, digits, (size_t)k);
		o += (size_t)k;
		for (int i = 0; i < n - k; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, (size_t)(k - n));
		o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -n; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)k);
		o += (size_t)k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(k - 1));
			o += (size_t)(k - 1);
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "e%c%d", n - 1 < 0 ? '-' : '+',
				      abs(n - 1));
	}
	strbuf_put(b, out, o);
	return GA_OK;
}

static int canon_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ga_err canon_value(struct strbuf *b, const json_t *v, int depth, bool top);

static ga_err canon_object(struct strbuf *b, const json_t *v, int depth, bool top)
{
	const char *keys[CANON_KEYS_MAX];
	const char *key;
	json_t *member;
	size_t nkeys = 0;
	ga_err e;

	json_object_foreach((json_t *)v, key, member)
	{
		if (top && strcmp(key, SIGN_MEMBER) == 0)
			continue;
		if (nkeys == CANON_KEYS_MAX)
			return GA_ERR_TOOBIG;
		keys[nkeys++] = key;
	}
	qsort(keys, nkeys, sizeof(keys[0]), canon_key_cmp);
	strbuf_put(b, "{", 1);
	for (size_t i = 0; i < nkeys; i++) {
		if (i > 0)
			strbuf_put(b, ",", 1);
		canon_string(b, keys[i], strlen(keys[i]));
		strbuf_put(b, ":", 1);
		if ((e = canon_value(b, json_object_get(v, keys[i]), depth + 1, false)) != GA_OK)
			return e;
	}
	strbuf_put(b, "}", 1);
	return GA_OK;
}

static ga_err canon_value(struct strbuf *b, const json_t *v, int depth, bool top)
{
	char num[32];
	ga_err e;

	if (depth > CANON_DEPTH_MAX)
		return GA_ERR_TOOBIG;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return canon_object(b, v, depth, top);
	case JSON_ARRAY:
		strbuf_put(b, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				strbuf_put(b, ",", 1);
			if ((e = canon_value(b, json_array_get(v, i), depth + 1, false)) != GA_OK)
				return e;
		}
		strbuf_put(b, "]", 1);
		return GA_OK;
	case JSON_STRING:
		canon_string(b, json_string_value(v), json_string_length(v));
		return GA_OK;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		strbuf_puts(b, num);
		return GA_OK;
	case JSON_REAL:
		return canon_number(b, json_real_value(v));
	case JSON_TRUE:
		strbuf_puts(b, "true");
		return GA_OK;
	case JSON_FALSE:
		strbuf_puts(b, "false");
		return GA_OK;
	case JSON_NULL:
		strbuf_puts(b, "null");
		return GA_OK;
	}
	return GA_ERR_INVAL;
}

ga_err sign_canonical(const json_t *v, char **out, size_t *outlen)
{
	struct strbuf b = STRBUF_INIT(SIGN_CANON_MAX);
	ga_err e;

	if (v == NULL || out == NULL || outlen == NULL)
		return GA_ERR_INVAL;
	e = canon_value(&b, v, 0, json_is_object(v));
	if (e == GA_OK)
		e = b.err;
	if (e == GA_OK && b.p == NULL)
		e = GA_ERR_INVAL;
	if (e != GA_OK) {
		free(b.p);
		return e;
	}
	*out = b.p;
	*outlen = b.n;
	return GA_OK;
}
