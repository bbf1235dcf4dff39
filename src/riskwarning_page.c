/* riskwarning_page.c - public JSON, map and page of a risk warning. */
#include "riskwarning_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "text.h"

#define PAGE_MAP_WIDTH 360.0  /* SVG user units across */
#define PAGE_MAP_MIN_STEP 0.4 /* drop a vertex closer than this to the last one */

static const char *const page_colors[RISKWARNING_LEVEL_COUNT] = {"#d32f2f", "#f57c00", "#fbc02d",
								 "#1976d2"};

static const char *page_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

json_t *riskwarning_page_json(const json_t *product, int version, const char *state,
			      const char *published_at, enum riskwarning_level publish_min)
{
	const json_t *counties = json_object_get(product, "counties");
	json_t *pub = NULL, *levels = json_array(), *result = NULL;

	if (!json_is_array(counties) || levels == NULL)
		goto out;
	for (int l = 0; l < RISKWARNING_LEVEL_COUNT; l++) {
		size_t i;
		json_t *v, *list;

		if (!riskwarning_level_public((enum riskwarning_level)l, publish_min))
			continue;
		if ((list = json_array()) == NULL)
			goto out;
		json_array_foreach(counties, i, v)
		{
			if (riskwarning_level_from_name(page_str(v, "level")) != l)
				continue;
			if (json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "admin_code",
								  page_str(v, "admin_code"), "name",
								  page_str(v, "name"), "city",
								  page_str(v, "city"))) != 0) {
				json_decref(list);
				goto out;
			}
		}
		if (json_array_size(list) == 0) {
			json_decref(list);
			continue;
		}
		if (json_array_append_new(
			levels,
			json_pack("{s:s, s:s, s:s, s:o}", "level",
				  riskwarning_level_name((enum riskwarning_level)l), "level_zh",
				  riskwarning_level_zh((enum riskwarning_level)l), "meaning",
				  riskwarning_level_meaning((enum riskwarning_level)l), "counties",
				  list)) != 0)
			goto out;
	}
	pub = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:O, s:s, s:O}", "schema",
	    RISKWARNING_PAGE_SCHEMA, "product_id", page_str(product, "product_id"), "version",
	    version, "state", state, "issued_at", page_str(product, "issued_at"), "valid_from",
	    page_str(product, "valid_from"), "valid_to", page_str(product, "valid_to"), "issuers",
	    json_object_get(product, "issuers") ? json_object_get(product, "issuers") : json_null(),
	    "rain_summary", page_str(product, "rain_summary"), "advice",
	    page_str(product, "advice"), "supersedes",
	    json_object_get(product, "supersedes") ? json_object_get(product, "supersedes")
						   : json_null(),
	    "published_at", published_at ? published_at : "", "levels", levels);
	if (pub == NULL || !text_json_strip_bidi(pub))
		goto out;
	result = pub;
	pub = NULL;
out:
	json_decref(pub);
	json_decref(levels);
	return result;
}

/* --- the map ------------------------------------------------------------ */

struct page_bbox {
	double minx, miny, maxx, maxy;
};

static void page_bbox_cb(double lon, double lat, bool start, void *arg)
{
	struct page_bbox *b = arg;

	b->minx = fmin(b->minx, lon);
	b->maxx = fmax(b->maxx, lon);
	b->miny = fmin(b->miny, lat);
	b->maxy = fmax(b->maxy, lat);
}

struct page_path {
	struct strbuf *b;
	double x0, y1, k, scale; /* lon0, lat top, cos(lat), units per degree */
	double lx, ly;
	bool have;
};

static void page_path_cb(double lon, double lat, bool start, void *arg)
{
	struct page_path *p = arg;
	double x = (lon - p->x0) * p->k * p->scale, y = (p->y1 - lat) * p->scale;
	char num[64];

	if (!start && p->have && fabs(x - p->lx) < PAGE_MAP_MIN_STEP &&
	    fabs(y - p->ly) < PAGE_MAP_MIN_STEP)
		return;
	snprintf(num, sizeof(num), "%s%.1f %.1f", start ? "M" : "L", x, y);
	strbuf_puts(p->b, num);
	p->lx = x;
	p->ly = y;
	p->have = true;
}

/* The level of admin_code in pub, or -1. */
static int page_level_of(const json_t *pub, const char *code)
{
	size_t i, j;
	json_t *lv, *c;

	json_array_foreach(json_object_get(pub, "levels"), i, lv)
	{
		json_array_foreach(json_object_get(lv, "counties"), j, c)
		{
			if (strcmp(page_str(c, "admin_code"), code) == 0)
				return riskwarning_level_from_name(page_str(lv, "level"));
		}
	}
	return -1;
}

static void page_esc(struct strbuf *b, const char *s)
{
	char *t = strdup(s ? s : "");

	if (t == NULL) {
		b->err = b->err ? b->err : GA_ERR_NOMEM;
		return;
	}
	text_strip_bidi(t);
	for (const char *p = t; *p; p++) {
		switch (*p) {
		case '&':
			strbuf_puts(b, "&amp;");
			break;
		case '<':
			strbuf_puts(b, "&lt;");
			break;
		case '>':
			strbuf_puts(b, "&gt;");
			break;
		case '"':
			strbuf_puts(b, "&quot;");
			break;
		case '\'':
			strbuf_puts(b, "&#39;");
			break;
		default:
			strbuf_put(b, p, 1);
		}
	}
	free(t);
}

static ga_err page_finish(struct strbuf *b, char **out, size_t *outlen)
{
	if (b->err != GA_OK) {
		free(b->p);
		return b->err;
	}
	*out = b->p;
	*outlen = b->n;
	return GA_OK;
}

/* codes: each path gets data-code (the console's map, never a public
 * one: the public forms name no county below the public level). */
static ga_err page_svg(const json_t *pub, const struct geo *g, bool codes, char **out,
		       size_t *outlen)
{
	struct strbuf b = STRBUF_INIT(RISKWARNING_PAGE_MAX);
	struct page_bbox box = {INFINITY, INFINITY, -INFINITY, -INFINITY};
	size_t n = geo_region_count(g);
	char head[512];

	for (size_t i = 0; i < n; i++)
		geo_region_outline(g, geo_region_get(g, i)->admin_code, page_bbox_cb, &box);
	if (n == 0 || !isfinite(box.minx) || box.maxx <= box.minx || box.maxy <= box.miny)
		return GA_ERR_INVAL;
	double k = cos((box.miny + box.maxy) / 2 * M_PI / 180.0);
	double scale = PAGE_MAP_WIDTH / ((box.maxx - box.minx) * k);
	double height = (box.maxy - box.miny) * scale;
	snprintf(
	    head, sizeof(head),
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"rwmap\" viewBox=\"0 0 %.0f %.0f\" "
	    "role=\"img\" aria-labelledby=\"rwmap-title\"><title id=\"rwmap-title\">",
	    PAGE_MAP_WIDTH, ceil(height));
	strbuf_puts(&b, head);
	strbuf_puts(&b, "风险预警区域图：各县（市、区）按预警等级着色</title>");
	for (size_t i = 0; i < n; i++) {
		const struct region *r = geo_region_get(g, i);
		int l = page_level_of(pub, r->admin_code);
		struct page_path p = {&b, box.minx, box.maxy, k, scale, 0, 0, false};

		strbuf_puts(&b, "<path ");
		if (codes) {
			strbuf_puts(&b, "data-code=\"");
			page_esc(&b, r->admin_code);
			strbuf_puts(&b, "\" ");
		}
		strbuf_puts(&b, "fill=\"");
		strbuf_puts(&b, l >= 0 ? page_colors[l] : "#eeeeee");
		strbuf_puts(
		    &b, "\" stroke=\"#555555\" stroke-width=\"0.4\" fill-rule=\"evenodd\" d=\"");
		geo_region_outline(g, r->admin_code, page_path_cb, &p);
		strbuf_puts(&b, "Z\"><title>");
		page_esc(&b, r->name);
		if (l >= 0) {
			strbuf_puts(&b, "：");
			strbuf_puts(&b, riskwarning_level_zh((enum riskwarning_level)l));
		}
		strbuf_puts(&b, "</title></path>");
	}
	strbuf_puts(&b, "</svg>");
	return page_finish(&b, out, outlen);
}

ga_err riskwarning_page_svg(const json_t *pub, const struct geo *g, char **out, size_t *outlen)
{
	return page_svg(pub, g, false, out, outlen);
}

ga_err riskwarning_page_svg_coded(const json_t *pub, const struct geo *g, char **out,
				  size_t *outlen)
{
	return page_svg(pub, g, true, out, outlen);
}

/* --- the front page's section ------------------------------------------ */

ga_err riskwarning_page_index_html(const json_t *pubs, char **out, size_t *outlen)
{
	struct strbuf b = STRBUF_INIT(RISKWARNING_PAGE_MAX);
	size_t i, j;
	json_t *pub, *lv;

	strbuf_puts(&b, "");
	if (json_array_size(pubs) == 0)
		return page_finish(&b, out, outlen);
	strbuf_puts(&b, "<h1>当前地质灾害气象风险预警</h1>\n<ul class=\"list riskwarnings\">\n");
	json_array_foreach(pubs, i, pub)
	{
		const char *top =
		    page_str(json_array_get(json_object_get(pub, "levels"), 0), "level");
		strbuf_puts(&b, "<li class=\"card lv-");
		page_esc(&b, top[0] ? top : "blue");
		strbuf_puts(&b, "\"><a href=\"/warnings/");
		page_esc(&b, page_str(pub, "product_id"));
		strbuf_puts(&b, "\">");
		json_array_foreach(json_object_get(pub, "levels"), j, lv)
		{
			strbuf_puts(&b, "<span class=\"badge lv-");
			page_esc(&b, page_str(lv, "level"));
			strbuf_puts(&b, "\">");
			page_esc(&b, page_str(lv, "level_zh"));
			strbuf_puts(&b, "</span> ");
		}
		strbuf_puts(&b, "<span class=\"title\">地质灾害气象风险预警</span></a>"
				"<p class=\"meta\">有效时段：");
		page_esc(&b, page_str(pub, "valid_from"));
		strbuf_puts(&b, " 至 ");
		page_esc(&b, page_str(pub, "valid_to"));
		strbuf_puts(&b, "</p></li>\n");
	}
	strbuf_puts(&b, "</ul>\n");
	return page_finish(&b, out, outlen);
}

/* --- the page ----------------------------------------------------------- */

ga_err riskwarning_page_html(const json_t *pub, const char *map_svg, const char *sender,
			     bool exercise, char **out, size_t *outlen)
{
	struct strbuf b = STRBUF_INIT(RISKWARNING_PAGE_MAX);
	const char *state = page_str(pub, "state");
	size_t i, j;
	json_t *lv, *c;

	strbuf_puts(&b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			"<title>地质灾害气象风险预警 ");
	page_esc(&b, page_str(pub, "product_id"));
	strbuf_puts(&b, "</title><link rel=\"stylesheet\" href=\"/public.css\"></head>\n"
			"<body><header class=\"bar\"><a href=\"/\">");
	page_esc(&b, sender);
	strbuf_puts(&b, "</a></header>\n<main>");
	if (exercise)
		strbuf_puts(&b, "<p class=\"drill\" role=\"alert\"><strong>演练</strong>"
				"　本页为演练信息，不是真实预警。</p>");
	strbuf_puts(&b, "<article class=\"alert riskwarning\">\n");
	if (strcmp(state, "cancelled") == 0)
		strbuf_puts(&b, "<p class=\"lifted-banner\"><strong>已解除</strong></p>");
	else if (strcmp(state, "expired") == 0)
		strbuf_puts(&b, "<p class=\"lifted-banner\"><strong>已过有效期</strong></p>");
	strbuf_puts(&b, "<h1>地质灾害气象风险预警</h1>\n<p class=\"meta\">有效时段：<time>");
	page_esc(&b, page_str(pub, "valid_from"));
	strbuf_puts(&b, "</time> 至 <time>");
	page_esc(&b, page_str(pub, "valid_to"));
	strbuf_puts(&b, "</time></p>\n<p class=\"meta\">发布单位：");
	json_array_foreach(json_object_get(pub, "issuers"), i, c)
	{
		if (i)
			strbuf_puts(&b, "、");
		page_esc(&b, json_string_value(c));
	}
	strbuf_puts(&b, "</p>\n");
	if (map_svg != NULL) {
		strbuf_puts(&b, "<figure class=\"map\">");
		strbuf_puts(&b, map_svg);
		strbuf_puts(&b, "</figure>\n");
	}
	strbuf_puts(&b, "<section><h2>预警等级与区域</h2><ul class=\"legend\">\n");
	json_array_foreach(json_object_get(pub, "levels"), i, lv)
	{
		strbuf_puts(&b, "<li><span class=\"badge lv-");
		page_esc(&b, page_str(lv, "level"));
		strbuf_puts(&b, "\">");
		page_esc(&b, page_str(lv, "level_zh"));
		strbuf_puts(&b, "</span> ");
		page_esc(&b, page_str(lv, "meaning"));
		strbuf_puts(&b, "：");
		json_array_foreach(json_object_get(lv, "counties"), j, c)
		{
			if (j)
				strbuf_puts(&b, "、");
			page_esc(&b, page_str(c, "city"));
			page_esc(&b, page_str(c, "name"));
		}
		strbuf_puts(&b, "</li>\n");
	}
	strbuf_puts(&b, "</ul></section>\n<section><h2>雨情</h2><p>");
	page_esc(&b, page_str(pub, "rain_summary"));
	strbuf_puts(&b, "</p></section>\n<section><h2>防范建议</h2><p>");
	page_esc(&b, page_str(pub, "advice"));
	strbuf_puts(&b, "</p></section>\n<p class=\"meta\"><a href=\"/warnings/");
	page_esc(&b, page_str(pub, "product_id"));
	strbuf_puts(&b, ".xml\">CAP</a> · <a href=\"/warnings/");
	page_esc(&b, page_str(pub, "product_id"));
	strbuf_puts(&b, ".json\">JSON</a></p>\n</article></main></body></html>\n");
	return page_finish(&b, out, outlen);
}
