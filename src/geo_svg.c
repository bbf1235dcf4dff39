/* geo_svg.c - a county outline with a point, as SVG. */
#include "geo_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEO_SVG_MARGIN 0.06   /* of the larger side, around the drawing */
#define GEO_SVG_MIN_SPAN 0.02 /* degrees: the view around a lone point */

/* A growable text buffer with a cap (curl's dynbuf, in small). */
struct svgbuf {
	char *p;
	size_t n, size;
	bool failed; /* set once: NOMEM or past the cap */
	ga_err err;
};

static void svgbuf_printf(struct svgbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void svgbuf_printf(struct svgbuf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[256];
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = true;
		b->err = GA_ERR_INVAL;
		return;
	}
	if (b->n + (size_t)n + 1 > GEO_SVG_MAX) {
		b->failed = true;
		b->err = GA_ERR_TOOBIG;
		return;
	}
	if (b->n + (size_t)n + 1 > b->size) {
		size_t size = b->size ? b->size * 2 : 4096;
		while (size < b->n + (size_t)n + 1)
			size *= 2;
		if (size > GEO_SVG_MAX)
			size = GEO_SVG_MAX;
		char *p = realloc(b->p, size);
		if (!p) {
			b->failed = true;
			b->err = GA_ERR_NOMEM;
			return;
		}
		b->p = p;
		b->size = size;
	}
	memcpy(b->p + b->n, tmp, (size_t)n + 1);
	b->n += (size_t)n;
}

/* s as XML text: & < > " escaped, control characters dropped; in runs
 * short enough for svgbuf_printf. */
static void svgbuf_text(struct svgbuf *b, const char *s)
{
	size_t run = 0;

	for (size_t i = 0;; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '&'	       ? "&amp;"
				  : c == '<'	       ? "&lt;"
				  : c == '>'	       ? "&gt;"
				  : c == '"'	       ? "&quot;"
				  : c != 0 && c < 0x20 ? ""
						       : NULL;
		if (esc == NULL && c != 0 && i - run < 200)
			continue;
		if (i > run)
			svgbuf_printf(b, "%.*s", (int)(i - run), s + run);
		run = i;
		if (c == 0)
			return;
		if (esc != NULL) {
			svgbuf_printf(b, "%s", esc);
			run = i + 1;
		}
	}
}

/* Bounding box pass, then drawing pass over the same outline. */
struct geo_svg_ctx {
	double minx, miny, maxx, maxy;
	double x0, y1, k, kx; /* projection: ux = (lon - x0) * kx, uy = (y1 - lat) * k */
	double lastx, lasty;
	struct svgbuf *buf;
};

static void geo_svg_bbox(double lon, double lat, bool start, void *arg)
{
	struct geo_svg_ctx *c = arg;

	c->minx = fmin(c->minx, lon);
	c->maxx = fmax(c->maxx, lon);
	c->miny = fmin(c->miny, lat);
	c->maxy = fmax(c->maxy, lat);
}

static void geo_svg_point(double lon, double lat, bool start, void *arg)
{
	struct geo_svg_ctx *c = arg;
	double x = (lon - c->x0) * c->kx, y = (c->y1 - lat) * c->k;

	if (start) {
		svgbuf_printf(c->buf, "%sM%.1f %.1f", c->buf->p[c->buf->n - 1] == '"' ? "" : "Z", x,
			      y);
	} else {
		if (fabs(x - c->lastx) < 0.25 && fabs(y - c->lasty) < 0.25)
			return;
		svgbuf_printf(c->buf, "L%.1f %.1f", x, y);
	}
	c->lastx = x;
	c->lasty = y;
}

ga_err geo_svg_region(const struct geo *g, const char *admin_code, double lon, double lat,
		      char **out, size_t *outlen)
{
	struct svgbuf b = {0};
	struct geo_svg_ctx c = {.minx = lon, .maxx = lon, .miny = lat, .maxy = lat, .buf = &b};
	const struct region *region = NULL;
	bool outline = false;
	ga_err result = GA_ERR_INVAL;

	if (!isfinite(lon) || !isfinite(lat) || fabs(lon) > 180 || fabs(lat) > 90)
		goto out;
	if (admin_code && admin_code[0]) {
		outline = geo_region_outline(g, admin_code, geo_svg_bbox, &c);
		region = g != NULL ? geo_region_by_code(g, admin_code) : NULL;
	}
	if (c.maxx - c.minx < GEO_SVG_MIN_SPAN) {
		c.minx -= GEO_SVG_MIN_SPAN / 2;
		c.maxx += GEO_SVG_MIN_SPAN / 2;
	}
	if (c.maxy - c.miny < GEO_SVG_MIN_SPAN) {
		c.miny -= GEO_SVG_MIN_SPAN / 2;
		c.maxy += GEO_SVG_MIN_SPAN / 2;
	}
	/* Equirectangular, x shrunk by cos(mid latitude): shapes look right
	 * at county scale. */
	double coslat = cos((c.miny + c.maxy) / 2 * M_PI / 180);
	double w = (c.maxx - c.minx) * coslat, h = c.maxy - c.miny;
	double margin = GEO_SVG_MARGIN * fmax(w, h);
	c.k = (GEO_SVG_WIDTH - 0.0) / (w + 2 * margin);
	c.kx = c.k * coslat;
	c.x0 = c.minx - margin / coslat;
	c.y1 = c.maxy + margin;
	double height = (h + 2 * margin) * c.k;
	double r = 5.0;

	svgbuf_printf(&b,
		      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %.0f\" "
		      "width=\"%d\" height=\"%.0f\" role=\"img\" aria-labelledby=\"map-title\">",
		      GEO_SVG_WIDTH, ceil(height), GEO_SVG_WIDTH, ceil(height));
	/* The accessible name: what the picture shows, in words. */
	svgbuf_printf(&b, "<title id=\"map-title\">位置示意图：");
	if (region != NULL && region->full_name[0] != '\0') {
		svgbuf_text(&b, region->full_name);
		svgbuf_printf(&b, "%s", outline ? "范围（绿色）内，" : "，");
	}
	svgbuf_printf(&b, "红点为险情、灾情位置（东经%.4f°，北纬%.4f°）</title>", lon, lat);
	svgbuf_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#f4f6f8\"/>");
	if (outline) {
		svgbuf_printf(&b, "<path fill=\"#dfe8d8\" fill-rule=\"evenodd\" stroke=\"#4a6a3a\" "
				  "stroke-width=\"1.2\" stroke-linejoin=\"round\" d=\"");
		if (!b.failed)
			geo_region_outline(g, admin_code, geo_svg_point, &c);
		svgbuf_printf(&b, "Z\"/>");
	}
	double px = (lon - c.x0) * c.kx, py = (c.y1 - lat) * c.k;
	svgbuf_printf(&b,
		      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"none\" stroke=\"#c00\" "
		      "stroke-width=\"1.5\"/>",
		      px, py, r * 2.4);
	svgbuf_printf(&b,
		      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#d00\" stroke=\"#fff\" "
		      "stroke-width=\"1.5\"/></svg>\n",
		      px, py, r);
	if (b.failed) {
		result = b.err;
		goto out;
	}
	*out = b.p;
	*outlen = b.n;
	b.p = NULL;
	result = GA_OK;
out:
	free(b.p);
	return result;
}
