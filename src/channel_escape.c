/* channel_escape.c - a value from an alert (a station's place, an
 * officer's text, the sender from the config) made data in a channel's
 * syntax, so that whatever it holds reaches a group chat, a mailbox or a
 * phone as the text it is and never as markup.
 *
 * Markup characters are not backslash-escaped: the robots' markdown
 * dialects (WeCom, DingTalk, Feishu lark_md) document no escape, and a
 * parser that ignores one shows the markup live. They become their
 * full-width forms (U+FF01..U+FF5E: ［ ］ ＜ ＞ ＊ ＃ ＠ …), which no
 * dialect reads as markup and which Chinese text uses anyway, so the
 * value stays readable. HTML gets entities. Every syntax loses the
 * bidirectional controls (text.h) and C0 controls but the line break
 * (a tab becomes a space), and is "defanged": the ':' of "://" or of a
 * scheme ("javascript:x", "mailto:x": a letter on both sides) and a '.'
 * between a letter or digit and a letter become full-width, so that no
 * client turns a station's "http://evil.example/x" or "evil.example"
 * into a link. Links are only those geoalert builds ({url}). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"
#include "draft.h"
#include "draft_template.h"
#include "text.h"

/* Markdown: emphasis, code, headings, quotes, tags (<font>, <@all>,
 * <at>), links and images, tables, entities, mentions, escapes. */
#define ESC_MD_WIDE "\\`*_~#<>[]|&@"
/* Markdown at the start of a line: list items and setext headings. */
#define ESC_MD_LINE "-+="
/* Weibo: @mentions, #topics#, [emoticons], $stock tags$. */
#define ESC_WEIBO_WIDE "@#[]$"
/* Each byte of input becomes at most this many ("&quot;"). */
#define ESC_GROWTH 6

static bool esc_ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool esc_ascii_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static const char *esc_entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

/* The length (2..4) of the valid UTF-8 sequence at p, of at most left
 * bytes; 0 when p starts none. */
static size_t esc_utf8_len(const char *p, size_t left)
{
	unsigned char c = (unsigned char)*p;
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

	return n <= left && draft_utf8_valid(p, n) ? n : 0;
}

/* Whether s[i] (ASCII, printable) is replaced by its full-width form. */
static bool esc_wide(const unsigned char *s, size_t i, bool line_start, unsigned how)
{
	unsigned char c = s[i];

	if ((how & CHANNEL_ESC_DEFANG) &&
	    ((c == ':' && s[i + 1] == '/' && s[i + 2] == '/') ||
	     (c == ':' && i > 0 && esc_ascii_alpha(s[i - 1]) && esc_ascii_alpha(s[i + 1])) ||
	     (c == '.' && i > 0 && esc_ascii_alnum(s[i - 1]) && esc_ascii_alpha(s[i + 1]))))
		return true;
	if ((how & CHANNEL_ESC_MARKDOWN) &&
	    (strchr(ESC_MD_WIDE, c) != NULL || (line_start && strchr(ESC_MD_LINE, c) != NULL)))
		return true;
	return (how & CHANNEL_ESC_WEIBO) && strchr(ESC_WEIBO_WIDE, c) != NULL;
}

/* s cut to cut bytes (on a character boundary, ending in "…"), made
 * clean text: valid UTF-8 (a byte that starts no character becomes
 * U+FFFD), without bidi controls, C0 controls (a tab becomes a space) or
 * DEL; line breaks kept. A new string; NULL when out of memory. Done
 * before escaping, so that what a removal joins (":" "\x1c" "//") is
 * escaped as what it has become. */
static char *esc_clean(const char *s, size_t cut)
{
	size_t n = strlen(s), o = 0, bl;
	char *raw = NULL, *out = NULL;

	if (n > cut) {
		if ((raw = malloc(n + 1)) == NULL)
			return NULL;
		memcpy(raw, s, n + 1);
		draft_utf8_fit(raw, cut);
		s = raw;
		n = strlen(raw);
	}
	if ((out = malloc(n * 3 + 1)) == NULL)
		goto out;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];

		if ((bl = text_bidi_len(s + i)) != 0) {
			i += bl;
		} else if (c >= 0x80 && (bl = esc_utf8_len(s + i, n - i)) != 0) {
			memcpy(out + o, s + i, bl);
			o += bl;
			i += bl;
		} else if (c >= 0x80) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			if (c == '\t')
				out[o++] = ' ';
			else if (c == '\n' || (c >= 0x20 && c != 0x7f))
				out[o++] = (char)c;
			i++;
		}
	}
	out[o] = '\0';
out:
	free(raw);
	return out;
}

char *channel_escape(const char *s, size_t cut, unsigned how)
{
	char *clean = esc_clean(s, cut), *out = NULL;
	const unsigned char *p = (const unsigned char *)clean;
	bool line_start = true;
	size_t n, o = 0;

	if (clean == NULL)
		return NULL;
	n = strlen(clean);
	if ((out = malloc(n * ESC_GROWTH + 1)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		const char *ent;

		if (c == '\n') {
			if (how & CHANNEL_ESC_HTML) {
				memcpy(out + o, "<br>", 4);
				o += 4;
			} else {
				out[o++] = '\n';
			}
			line_start = true;
			continue;
		}
		if (c < 0x80 && c != ' ' && esc_wide(p, i, line_start, how)) {
			/* U+FF01..U+FF5E is ASCII 0x21..0x7E + 0xFEE0 */
			unsigned cp = 0xFEE0u + c;
			out[o++] = (char)(0xE0 | (cp >> 12));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else if ((how & CHANNEL_ESC_HTML) && (ent = esc_entity(c)) != NULL) {
			memcpy(out + o, ent, strlen(ent));
			o += strlen(ent);
		} else {
			out[o++] = (char)c;
		}
		if (c != ' ')
			line_start = false;
	}
	out[o] = '\0';
out:
	free(clean);
	return out;
}

void channel_plain(const char *s, char *out, size_t outlen)
{
	char *e = channel_escape(s, SIZE_MAX, CHANNEL_ESC_TEXT);

	if (e != NULL)
		channel_utf8_cut(e, outlen - 1);
	snprintf(out, outlen, "%s", e != NULL ? e : "");
	free(e);
}
