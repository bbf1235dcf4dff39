/* fuzz_channel_escape.c - libFuzzer harness for channel_escape, which
 * every station and officer text goes through on its way to a channel
 * (src/channel_escape.c). Whatever the bytes, in every syntax: the
 * output is no longer than the growth bound, valid UTF-8 stays valid, no
 * bidirectional or C0 control but the line break survives, markdown
 * keeps none of its markup characters, HTML none of < > " ' and no &
 * that does not start an entity, Weibo none of @ # [ ] $, and no "://"
 * survives. Built and run by tests/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"
#include "draft_template.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *in, unsigned how)
{
	size_t n = strlen(in);
	char *out = channel_escape(in, SIZE_MAX, how);

	if (out == NULL)
		abort();
	if (strlen(out) > n * 6)
		abort();
	if (draft_utf8_valid(in, n) && !draft_utf8_valid(out, strlen(out)))
		abort();
	if (strstr(out, "://") != NULL)
		abort();
	for (const char *p = out; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (text_bidi_len(p) != 0 || (c < 0x20 && c != '\n') || c == 0x7f)
			abort();
		if ((how & CHANNEL_ESC_MARKDOWN) && strchr("\\`*_~#<>[]|&@", c) != NULL)
			abort();
		if ((how & CHANNEL_ESC_WEIBO) && strchr("@#[]$", c) != NULL)
			abort();
		if ((how & CHANNEL_ESC_HTML) && strchr("\"'", c) != NULL)
			abort();
		if ((how & CHANNEL_ESC_HTML) && c == '&' && strncmp(p, "&amp;", 5) != 0 &&
		    strncmp(p, "&lt;", 4) != 0 && strncmp(p, "&gt;", 4) != 0 &&
		    strncmp(p, "&quot;", 6) != 0 && strncmp(p, "&#39;", 5) != 0)
			abort();
		if ((how & CHANNEL_ESC_HTML) && (c == '<' || c == '>') &&
		    !(c == '<' && strncmp(p, "<br>", 4) == 0) &&
		    !(c == '>' && p - out >= 3 && strncmp(p - 3, "<br>", 4) == 0))
			abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0'; /* a NUL inside ends the text, as in a C string */
	check(in, CHANNEL_ESC_TEXT);
	check(in, CHANNEL_ESC_MARKDOWN | CHANNEL_ESC_DEFANG);
	check(in, CHANNEL_ESC_HTML | CHANNEL_ESC_DEFANG);
	check(in, CHANNEL_ESC_WEIBO | CHANNEL_ESC_DEFANG);
	/* and stripping in place leaves no control of either set */
	text_strip_bidi(in);
	for (const char *p = in; *p; p++)
		if (text_bidi_len(p) != 0)
			abort();
	free(in);
	return 0;
}
