/* report.c - the cheap checks a payload must pass before the JSON parser
 * sees it (size, encoding, nesting), the parse itself, and the error list
 * a rejected receipt carries. The field rules of spec §2 live in
 * report_check.c. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report_check.h"

/* Largest n <= len such that s[0..n) ends on a UTF-8 character boundary. */
static size_t report_utf8_cut(const char *s, size_t len)
{
	size_t n = len;

	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* Copies src into dst (size dstlen), cutting on a character boundary. */
static void report_copy_cut(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstlen)
		n = report_utf8_cut(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Length of the valid UTF-8 sequence starting at p (at most n bytes
 * available), or 0 when it is not valid: overlong forms, surrogates and
 * code points past U+10FFFF are rejected (RFC 3629). */
static size_t report_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, min = 0x80, cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, min = 0x800, cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Replaces every byte that does not start a valid UTF-8 sequence with
 * '?': jansson's messages quote the input near the error, possibly cut
 * inside a character, and a receipt must always serialise. */
static void report_utf8_sanitize(char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		size_t n = report_utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 0) {
			s[i++] = '?';
		} else {
			i += n;
		}
	}
}

void report_errors_add(struct report_errors *errs, const char *path, const char *code,
		       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (errs->n >= REPORT_MAX_ERRORS) {
		errs->truncated = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* vsnprintf may itself have cut inside a character. */
	msg[report_utf8_cut(msg, strlen(msg))] = '\0';

	struct report_error *e = &errs->e[errs->n++];
	report_copy_cut(e->path, sizeof(e->path), path);
	report_copy_cut(e->code, sizeof(e->code), code);
	report_copy_cut(e->message, sizeof(e->message), msg);
	report_utf8_sanitize(e->path);
	report_utf8_sanitize(e->code);
	report_utf8_sanitize(e->message);
}

json_t *report_errors_to_json(const struct report_errors *errs)
{
	json_t *arr = json_array();
	json_t *result = NULL;

	if (arr == NULL)
		goto out;
	for (int i = 0; i < errs->n; i++) {
		const struct report_error *e = &errs->e[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "path", e->path, "code", e->code,
				      "message", e->message);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto out;
	}
	result = arr;
	arr = NULL;
out:
	json_decref(arr);
	return result;
}

/* Encoding and nesting pre-scan. The depth count skips strings so that
 * brackets inside text do not count; it runs before jansson so a hostile
 * payload of 60000 '[' never reaches the recursive parser. */
static bool report_prescan(const unsigned char *p, size_t len, int max_depth,
			   struct report_errors *errs)
{
	bool in_string = false, escaped = false;
	int depth = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		if (c == 0) {
			report_errors_add(errs, "", "encoding", "NUL byte at offset %zu", i);
			return false;
		}
		if (c >= 0x80) {
			size_t n = report_utf8_seq(p + i, len - i);
			if (n == 0) {
				report_errors_add(errs, "", "encoding",
						  "invalid UTF-8 at offset %zu", i);
				return false;
			}
			i += n;
			escaped = false;
			continue;
		}
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max_depth) {
				report_errors_add(errs, "", "depth",
						  "nesting deeper than %d levels at offset %zu",
						  max_depth, i);
				return false;
			}
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
		}
		i++;
	}
	return true;
}

bool report_id_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > REPORT_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

ga_err report_json_load(const void *payload, size_t len, size_t max_bytes, int max_depth,
			json_t **root, struct report_errors *errs)
{
	json_error_t jerr;
	ga_err rc = GA_ERR_INVAL;

	*root = NULL;
	if (len > max_bytes) {
		report_errors_add(errs, "", "too_large", "payload larger than %zu bytes",
				  max_bytes);
		goto out;
	}
	if (len == 0 || payload == NULL) {
		report_errors_add(errs, "", "syntax", "empty payload");
		goto out;
	}
	if (!report_prescan(payload, len, max_depth, errs))
		goto out;

	*root = json_loadb(payload, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (*root == NULL) {
		switch (json_error_code(&jerr)) {
		case json_error_out_of_memory:
			rc = GA_ERR_NOMEM;
			goto out;
		case json_error_duplicate_key:
			report_errors_add(errs, "", "duplicate_key", "%s at line %d column %d",
					  jerr.text, jerr.line, jerr.column);
			break;
		case json_error_null_character:
		case json_error_invalid_utf8:
			report_errors_add(errs, "", "encoding", "%s at line %d column %d",
					  jerr.text, jerr.line, jerr.column);
			break;
		case json_error_stack_overflow:
			report_errors_add(errs, "", "depth", "%s", jerr.text);
			break;
		default:
			report_errors_add(errs, "", "syntax", "%s at line %d column %d", jerr.text,
					  jerr.line, jerr.column);
			break;
		}
		goto out;
	}
	if (!json_is_object(*root)) {
		report_errors_add(errs, "", "type", "must be an object");
		goto out;
	}
	rc = GA_OK;
out:
	return rc;
}

ga_err report_parse(const struct report_context *ctx, const void *payload, size_t len,
		    struct report *out, struct report_errors *errs)
{
	ga_err rc;

	memset(out, 0, sizeof(*out));
	/* Only the count: entries past n are never read, and zeroing all
	 * REPORT_MAX_ERRORS of them cost more than the rest of the parse but
	 * jansson (once per report, in each session). */
	errs->n = 0;
	errs->truncated = false;
	snprintf(out->crs, sizeof(out->crs), "%s", "EPSG:4490");

	rc = report_json_load(payload, len, REPORT_MAX_BYTES, REPORT_MAX_DEPTH, &out->root, errs);
	if (rc != GA_OK)
		goto out;
	rc = report_check_fields(ctx, out, errs);
	if (rc == GA_OK && errs->n > 0)
		rc = GA_ERR_INVAL;
out:
	return rc;
}

void report_cleanup(struct report *r)
{
	if (r == NULL)
		return;
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}
