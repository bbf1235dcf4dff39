/* text.c - bidirectional controls in published texts (see text.h). */
#include "text.h"

#include <stdlib.h>
#include <string.h>

bool text_has_bidi(const char *s)
{
	for (; *s; s++)
		if (text_bidi_len(s) != 0)
			return true;
	return false;
}

size_t text_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

size_t text_bidi_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (p[0] == 0xD8 && p[1] == 0x9C)
		return 2; /* U+061C ALM */
	if (p[0] != 0xE2)
		return 0;
	if (p[1] == 0x80 && (p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xAA && p[2] <= 0xAE)))
		return 3; /* U+200E, U+200F, U+202A..U+202E */
	if (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9)
		return 3; /* U+2066..U+2069 */
	return 0;
}

bool text_bidi_is_control(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	return p[0] == 0xE2 && ((p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE) ||
				(p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9));
}

long text_bidi_find(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p == 0xE2 && text_bidi_is_control(p))
			return (long)(p - s);
	return -1;
}

/* One pass of text_strip_bidi. */
static size_t text_strip_once(char *s)
{
	size_t n = 0, len;
	char *o = s;

	for (const char *p = s; *p;) {
		if ((len = text_bidi_len(p)) != 0) {
			p += len;
			n++;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return n;
}

size_t text_strip_bidi(char *s)
{
	size_t n = 0, k;

	/* In text that is not UTF-8, what is left around a removed control
	 * may join into another ("\xE2" RLO "\x80\xAE"): again until none. */
	while ((k = text_strip_once(s)) != 0)
		n += k;
	return n;
}

/* A string with a control gets a cleaned copy; jansson strings are
 * immutable in place. */
static bool text_json_string(json_t *j)
{
	const char *v = json_string_value(j);
	size_t len = json_string_length(j), o = 0;
	char *copy;
	bool ok;

	for (size_t i = 0; i < len; i++)
		if (text_bidi_len(v + i) != 0)
			goto strip;
	return true;
strip:
	if ((copy = malloc(len + 1)) == NULL)
		return false;
	/* byte by byte over len: jansson allows a NUL inside a string; its
	 * strings are UTF-8, so what is left never joins into a control */
	for (size_t i = 0, n; i < len;) {
		if ((n = text_bidi_len(v + i)) != 0) {
			i += n;
		} else {
			copy[o++] = v[i++];
		}
	}
	copy[o] = '\0';
	ok = json_string_setn(j, copy, o) == 0;
	free(copy);
	return ok;
}

bool text_json_strip_bidi(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	bool ok = true;

	if (json_is_string(j))
		return text_json_string(j);
	if (json_is_object(j)) {
		json_object_foreach(j, key, v) ok = text_json_strip_bidi(v) && ok;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) ok = text_json_strip_bidi(v) && ok;
	}
	return ok;
}
