/* geojson.c - a FeatureCollection walked feature by feature. A small
 * scanner reads the punctuation of the top-level object and of the
 * "features" array; every value (keys, features, other members) is
 * decoded by jansson with JSON_DISABLE_EOF_CHECK, whose error.position
 * then says where the value ended. */
#include "geojson.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define GEOJSON_FLAGS (JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES)
#define GEOJSON_KEY_SHOWN 64 /* bytes of a duplicate key quoted in its message */

struct geojson_scan {
	const char *path, *buf;
	size_t len, pos;
	size_t lpos; /* newlines in buf[0, lpos) are counted in line */
	int line;
	char *err;
	size_t errlen;
};

/* The 1-based line of byte off. Offsets asked for mostly grow, so the
 * count goes on from the last one. */
static int geojson_line(struct geojson_scan *s, size_t off)
{
	if (off > s->len)
		off = s->len;
	if (off < s->lpos) {
		s->lpos = 0;
		s->line = 1;
	}
	for (; s->lpos < off; s->lpos++)
		if (s->buf[s->lpos] == '\n')
			s->line++;
	return s->line;
}

/* Skips JSON whitespace (as jansson's lexer does). */
static void geojson_skip_ws(struct geojson_scan *s)
{
	while (s->pos < s->len && (s->buf[s->pos] == ' ' || s->buf[s->pos] == '\t' ||
				   s->buf[s->pos] == '\n' || s->buf[s->pos] == '\r'))
		s->pos++;
}

/* True (and steps over it) when the next byte is c. */
static bool geojson_take(struct geojson_scan *s, char c)
{
	if (s->pos < s->len && s->buf[s->pos] == c) {
		s->pos++;
		return true;
	}
	return false;
}

/* A syntax error at the current position: "what" was expected. */
static ga_err geojson_expected(struct geojson_scan *s, const char *what)
{
	if (s->pos >= s->len)
		snprintf(s->err, s->errlen, "%s:%d: %s expected near end of file", s->path,
			 geojson_line(s, s->pos), what);
	else
		snprintf(s->err, s->errlen, "%s:%d: %s expected near byte %zu", s->path,
			 geojson_line(s, s->pos), what, s->pos);
	return GA_ERR_CONFIG;
}

/* Decodes the value starting at the current position and steps over it.
 * NULL (message in s->err) on a syntax error. */
static json_t *geojson_decode(struct geojson_scan *s)
{
	json_error_t jerr;
	json_t *v;
	int line = geojson_line(s, s->pos);

	if ((v = json_loadb(s->buf + s->pos, s->len - s->pos, GEOJSON_FLAGS, &jerr)) == NULL) {
		/* jerr.line counts from 1 at s->pos, which is on line `line`. */
		snprintf(s->err, s->errlen, "%s:%d: %s", s->path,
			 jerr.line > 0 ? line + jerr.line - 1 : line, jerr.text);
		return NULL;
	}
	s->pos += (size_t)jerr.position;
	return v;
}

static ga_err geojson_not_fc(struct geojson_scan *s)
{
	snprintf(s->err, s->errlen, "%s: not a GeoJSON FeatureCollection", s->path);
	return GA_ERR_CONFIG;
}

/* The "features" array at the current position, element by element. */
static ga_err geojson_features(struct geojson_scan *s, geojson_feature_cb cb, void *arg)
{
	size_t index = 0;
	ga_err rc;

	if (!geojson_take(s, '['))
		return geojson_not_fc(s);
	geojson_skip_ws(s);
	if (geojson_take(s, ']'))
		return GA_OK;
	for (;;) {
		json_t *f = geojson_decode(s);

		if (f == NULL)
			return GA_ERR_CONFIG;
		rc = cb(f, index++, arg, s->err, s->errlen);
		json_decref(f);
		if (rc != GA_OK)
			return rc;
		geojson_skip_ws(s);
		if (geojson_take(s, ']'))
			return GA_OK;
		if (!geojson_take(s, ','))
			return geojson_expected(s, "',' or ']'");
		geojson_skip_ws(s);
	}
}

static bool geojson_is(json_t *str, const char *s)
{
	return json_string_length(str) == strlen(s) &&
	       memcmp(json_string_value(str), s, strlen(s)) == 0;
}

ga_err geojson_each_feature(const char *path, const char *buf, size_t len, geojson_feature_cb cb,
			    void *arg, char *err, size_t errlen)
{
	struct geojson_scan s = {
	    .path = path, .buf = buf, .len = len, .line = 1, .err = err, .errlen = errlen};
	json_t *seen = NULL, *key = NULL, *v = NULL;
	bool is_fc = false, have_features = false;
	ga_err rc = GA_ERR_CONFIG;

	if ((seen = json_object()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = GA_ERR_NOMEM;
		goto out;
	}
	geojson_skip_ws(&s);
	if (!geojson_take(&s, '{')) {
		/* A syntax error, or JSON that is not an object. */
		if ((v = geojson_decode(&s)) == NULL)
			goto out;
		geojson_skip_ws(&s);
		if (s.pos < s.len)
			rc = geojson_expected(&s, "end of file");
		else
			rc = geojson_not_fc(&s);
		goto out;
	}
	geojson_skip_ws(&s);
	if (!geojson_take(&s, '}'))
		for (;;) {
			size_t kpos = s.pos;

			if (s.pos >= s.len || s.buf[s.pos] != '"') {
				rc = geojson_expected(&s, "string or '}'");
				goto out;
			}
			if ((key = geojson_decode(&s)) == NULL)
				goto out;
			if (json_object_getn(seen, json_string_value(key),
					     json_string_length(key)) != NULL) {
				snprintf(err, errlen, "%s:%d: duplicate object key near '\"%.*s\"'",
					 path, geojson_line(&s, kpos), GEOJSON_KEY_SHOWN,
					 json_string_value(key));
				goto out;
			}
			if (json_object_setn_new(seen, json_string_value(key),
						 json_string_length(key), json_null()) != 0) {
				snprintf(err, errlen, "%s: out of memory", path);
				rc = GA_ERR_NOMEM;
				goto out;
			}
			geojson_skip_ws(&s);
			if (!geojson_take(&s, ':')) {
				rc = geojson_expected(&s, "':'");
				goto out;
			}
			geojson_skip_ws(&s);
			if (geojson_is(key, "features")) {
				if ((rc = geojson_features(&s, cb, arg)) != GA_OK)
					goto out;
				rc = GA_ERR_CONFIG;
				have_features = true;
			} else {
				if ((v = geojson_decode(&s)) == NULL)
					goto out;
				if (geojson_is(key, "type")) {
					if (!json_is_string(v) ||
					    !geojson_is(v, "FeatureCollection")) {
						rc = geojson_not_fc(&s);
						goto out;
					}
					is_fc = true;
				}
				json_decref(v);
				v = NULL;
			}
			json_decref(key);
			key = NULL;
			geojson_skip_ws(&s);
			if (geojson_take(&s, '}'))
				break;
			if (!geojson_take(&s, ',')) {
				rc = geojson_expected(&s, "',' or '}'");
				goto out;
			}
			geojson_skip_ws(&s);
		}
	geojson_skip_ws(&s);
	if (s.pos < s.len) {
		rc = geojson_expected(&s, "end of file");
		goto out;
	}
	if (!is_fc || !have_features) {
		rc = geojson_not_fc(&s);
		goto out;
	}
	rc = GA_OK;
out:
	json_decref(v);
	json_decref(key);
	json_decref(seen);
	return rc;
}
