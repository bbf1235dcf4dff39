/* test_css_contrast.c - every text colour on its background reaches WCAG
 * 2.x AA, 4.5:1 (issue 10), in the public pages' stylesheet (public_css)
 * and in the console's (console/app.css).
 *
 * The stylesheets are read as CSS text: comments dropped, @media blocks
 * entered, each rule's selectors and its `color` and `background` /
 * `background-color` (the first colour in the value) taken. A rule that
 * sets one of the two takes the other from the rule it refines: its
 * selector without the last class, pseudo-class, attribute or descendant
 * step (".badge.lv-red" -> ".badge", ".bar a" -> ".bar",
 * "td:nth-child(3)" -> "td"), repeatedly, and at the end the page's own
 * (the `body` rule). `inherit`, `none` and `transparent` count as not
 * set. Colours are #rgb, #rrggbb or white/black; anything else in
 * `color` fails the test (so it cannot escape the check). Disabled
 * controls (opacity) are exempt under WCAG and not looked at. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "public.h"

#ifndef GA_DATADIR
#define GA_DATADIR "."
#endif

#define CSS_MAX (256 * 1024) /* bytes of a stylesheet read */
#define CSS_RULES_MAX 1024   /* selector entries of one stylesheet */
#define CSS_SEL_MAX 160	     /* bytes of one selector */
#define WCAG_AA 4.5

struct css_rule {
	char sel[CSS_SEL_MAX];
	int color, bg; /* 0xRRGGBB, -1 not set */
};

struct css {
	struct css_rule r[CSS_RULES_MAX];
	int n;
};

/* "#abc", "#aabbcc", "white", "black" at the start of v: 0xRRGGBB, else -1. */
static int css_colour(const char *v, size_t len)
{
	while (len > 0 && isspace((unsigned char)*v))
		v++, len--;
	if (len >= 5 && strncmp(v, "white", 5) == 0)
		return 0xffffff;
	if (len >= 5 && strncmp(v, "black", 5) == 0)
		return 0;
	if (len < 4 || v[0] != '#')
		return -1;
	size_t n = 1;
	while (n < len && isxdigit((unsigned char)v[n]))
		n++;
	char hex[8] = "";
	if (n == 4) {
		snprintf(hex, sizeof(hex), "%c%c%c%c%c%c", v[1], v[1], v[2], v[2], v[3], v[3]);
	} else if (n == 7) {
		memcpy(hex, v + 1, 6);
	} else {
		return -1;
	}
	return (int)strtol(hex, NULL, 16);
}

/* The first colour anywhere in v (a background shorthand), or -1. */
static int css_first_colour(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int c = css_colour(v + i, len - i);
		if (c >= 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ':'))
			return c;
	}
	return -1;
}

static void css_trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* One declaration block: sets *color and *bg. */
static void css_decls(const char *b, const char *e, int *color, int *bg)
{
	while (b < e) {
		const char *semi = memchr(b, ';', (size_t)(e - b));
		const char *end = semi ? semi : e, *colon = memchr(b, ':', (size_t)(end - b));
		if (colon != NULL) {
			const char *pb = b, *pe = colon, *vb = colon + 1, *ve = end;
			css_trim(&pb, &pe);
			css_trim(&vb, &ve);
			size_t pl = (size_t)(pe - pb), vl = (size_t)(ve - vb);
			bool unset = (vl >= 7 && strncmp(vb, "inherit", 7) == 0) ||
				     (vl >= 4 && strncmp(vb, "none", 4) == 0) ||
				     (vl >= 11 && strncmp(vb, "transparent", 11) == 0);
			if (pl == 5 && strncmp(pb, "color", 5) == 0 && !unset) {
				*color = css_colour(vb, vl);
				if (*color < 0)
					fail_msg("color: %.*s is not a colour this test reads",
						 (int)vl, vb);
			} else if (((pl == 10 && strncmp(pb, "background", 10) == 0) ||
				    (pl == 16 && strncmp(pb, "background-color", 16) == 0)) &&
				   !unset) {
				*bg = css_first_colour(vb, vl);
			}
		}
		b = end + 1;
	}
}

/* Parses text into c. */
static void css_parse(const char *text, struct css *c)
{
	char *s = strdup(text), *w = s;

	assert_non_null(s);
	/* comments out */
	for (const char *p = text; *p;) {
		if (p[0] == '/' && p[1] == '*') {
			const char *q = strstr(p + 2, "*/");
			assert_non_null(q);
			p = q + 2;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	c->n = 0;
	for (const char *p = s; *p;) {
		while (isspace((unsigned char)*p) || *p == '}')
			p++; /* a "}" alone closes an @media block */
		if (*p == '\0')
			break;
		const char *open = strchr(p, '{');
		assert_non_null(open);
		if (*p == '@') { /* @media (...) { rules } : go inside */
			p = open + 1;
			continue;
		}
		const char *close = strchr(open, '}');
		assert_non_null(close);
		int color = -1, bg = -1;
		css_decls(open + 1, close, &color, &bg);
		/* one entry per selector of the list */
		for (const char *sb = p; sb < open;) {
			const char *comma = memchr(sb, ',', (size_t)(open - sb));
			const char *se = comma ? comma : open, *b = sb;
			css_trim(&b, &se);
			assert_true(c->n < CSS_RULES_MAX);
			assert_true((size_t)(se - b) < CSS_SEL_MAX);
			struct css_rule *r = &c->r[c->n++];
			snprintf(r->sel, sizeof(r->sel), "%.*s", (int)(se - b), b);
			r->color = color;
			r->bg = bg;
			sb = se + (comma ? 1 : 0);
			if (comma == NULL)
				break;
		}
		p = close + 1;
	}
	free(s);
}

/* sel without its last class, pseudo-class, attribute or descendant
 * step, into out; false when nothing is left. */
static bool css_base(const char *sel, char *out, size_t len)
{
	int depth = 0, cut = -1;

	for (int i = 0; sel[i]; i++) {
		char ch = sel[i];
		if (ch == '(')
			depth++;
		else if (ch == ')')
			depth--;
		else if (depth == 0 && i > 0 &&
			 (ch == '.' || ch == ':' || ch == '[' || ch == ' ' || ch == '>'))
			cut = i;
	}
	if (cut <= 0)
		return false;
	while (cut > 0 && (sel[cut - 1] == ' ' || sel[cut - 1] == '>'))
		cut--;
	snprintf(out, len, "%.*s", cut, sel);
	return cut > 0;
}

/* The colour (want_bg: background) in effect for sel: its own, else its
 * base's, else the page's (body). */
static int css_resolve(const struct css *c, const char *sel, bool want_bg)
{
	char cur[CSS_SEL_MAX], next[CSS_SEL_MAX];

	snprintf(cur, sizeof(cur), "%s", sel);
	for (;;) {
		int v = -1;
		for (int i = 0; i < c->n; i++) /* the last rule setting it wins */
			if (strcmp(c->r[i].sel, cur) == 0) {
				int x = want_bg ? c->r[i].bg : c->r[i].color;
				if (x >= 0)
					v = x;
			}
		if (v >= 0)
			return v;
		if (!css_base(cur, next, sizeof(next)))
			break;
		snprintf(cur, sizeof(cur), "%s", next);
	}
	if (strcmp(sel, "body") != 0) {
		int v = css_resolve(c, "body", want_bg);
		if (v >= 0)
			return v;
	}
	return want_bg ? 0xffffff : 0x000000;
}

static double wcag_lum(int rgb)
{
	double ch[3] = {((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0,
			(rgb & 255) / 255.0};
	for (int i = 0; i < 3; i++)
		ch[i] = ch[i] <= 0.04045 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
	return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

static double wcag_ratio(int a, int b)
{
	double la = wcag_lum(a), lb = wcag_lum(b);
	return (fmax(la, lb) + 0.05) / (fmin(la, lb) + 0.05);
}

/* Checks every rule of text; prints each pair below AA and returns how
 * many there were; *pairs counts the pairs checked. */
static int css_check(const char *name, const char *text, int *pairs)
{
	struct css *c = calloc(1, sizeof(*c));
	int bad = 0;

	assert_non_null(c);
	css_parse(text, c);
	*pairs = 0;
	for (int i = 0; i < c->n; i++) {
		const struct css_rule *r = &c->r[i];
		if (r->color < 0 && r->bg < 0)
			continue;
		int fg = r->color >= 0 ? r->color : css_resolve(c, r->sel, false);
		int bg = r->bg >= 0 ? r->bg : css_resolve(c, r->sel, true);
		double k = wcag_ratio(fg, bg);
		(*pairs)++;
		if (k < WCAG_AA) {
			fprintf(stderr, "%s: %s: #%06x on #%06x is %.2f:1 (< %.1f:1)\n", name,
				r->sel, fg, bg, k, WCAG_AA);
			bad++;
		}
	}
	free(c);
	return bad;
}

/* The checker itself: the orange badge fails, its inheritance
 * finds the background of a descendant rule's ancestor. */
static void test_checker(void **state)
{
	int pairs = 0;

	(void)state;
	assert_true(fabs(wcag_ratio(0xffffff, 0xf57c00) - 2.70) < 0.01);
	assert_true(fabs(wcag_ratio(0x000000, 0xffffff) - 21.0) < 0.001);
	assert_int_equal(css_check("t", "body{background:#fff;color:#000}", &pairs), 0);
	assert_int_equal(pairs, 1);
	assert_int_equal(
	    css_check("t",
		      "/* x */ .badge{color:#fff;background:#1565c0}.badge.lv-orange{background:"
		      "#f57c00}",
		      &pairs),
	    1);
	assert_int_equal(pairs, 2);
	/* white link text on a dark bar: fine, not white on the page's grey */
	assert_int_equal(
	    css_check("t",
		      "body{background:#eef1f4;color:#1d2329}.bar{background:#14365c;color:#fff}"
		      ".bar a{color:#fff}",
		      &pairs),
	    0);
	assert_int_equal(pairs, 3);
	/* the same link outside the bar fails */
	assert_int_equal(css_check("t", "body{background:#eef1f4}.foo a{color:#fff}", &pairs), 1);
	/* inside @media, with a pseudo-class step and a list of selectors */
	assert_int_equal(
	    css_check("t",
		      "body{background:#fff}@media (max-width:480px){.a td:nth-child(3),"
		      ".b{color:#999}}",
		      &pairs),
	    2);
	assert_int_equal(pairs, 3); /* body's own, then the two */
}

static void test_public_css(void **state)
{
	int pairs = 0;

	(void)state;
	assert_int_equal(css_check("public.css", public_css(), &pairs), 0);
	assert_true(pairs >= 20);
}

static void test_console_css(void **state)
{
	const char *src = getenv("GA_SOURCE_DIR");
	char path[1024], *buf = malloc(CSS_MAX + 1);
	int pairs = 0;
	size_t n;
	FILE *f;

	(void)state;
	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/console/app.css", src ? src : GA_DATADIR);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, CSS_MAX + 1, f);
	fclose(f);
	assert_true(n <= CSS_MAX);
	buf[n] = '\0';
	assert_int_equal(css_check("console/app.css", buf, &pairs), 0);
	assert_true(pairs >= 30);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checker),
	    cmocka_unit_test(test_public_css),
	    cmocka_unit_test(test_console_css),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
