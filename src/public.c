/* public.c - the public HTML pages (public.h). */
#include "public.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "draft.h"
#include "feed.h"
#include "hazard.h"
#include "strbuf.h"

/* Markup we write ourselves: never text from the database. */
static void html_raw(struct strbuf *h, const char *s)
{
	strbuf_puts(h, s);
}

static void html_rawf(struct strbuf *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void html_rawf(struct strbuf *h, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		if (h->err == GA_OK)
			h->err = GA_ERR_TOOBIG;
		return;
	}
	strbuf_put(h, buf, (size_t)n);
}

/* Text (element content or a quoted attribute value), escaped: & < > " '
 * and C0 controls but tab and newline (dropped). NULL writes nothing. */
static void html_text(struct strbuf *h, const char *s)
{
	size_t run = 0, i;

	if (s == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		const char *esc;
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '&':
			esc = "&amp;";
			break;
		case '<':
			esc = "&lt;";
			break;
		case '>':
			esc = "&gt;";
			break;
		case '"':
			esc = "&quot;";
			break;
		case '\'':
			esc = "&#39;";
			break;
		default:
			esc = c < 0x20 && c != '\t' && c != '\n' ? "" : NULL;
		}
		if (esc == NULL)
			continue;
		strbuf_put(h, s + run, i - run);
		html_raw(h, esc);
		run = i + 1;
	}
	strbuf_put(h, s + run, i - run);
}

static const char *pub_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool pub_is(const json_t *o, const char *key, const char *value)
{
	const char *s = pub_str(o, key);
	return s != NULL && strcmp(s, value) == 0;
}

/* A CSS class word from a value: the level colours are a fixed set. */
static const char *pub_color(const json_t *a)
{
	static const char *const colors[] = {"red", "orange", "yellow", "blue"};
	const char *c = pub_str(a, "color");

	for (size_t i = 0; c != NULL && i < sizeof(colors) / sizeof(colors[0]); i++)
		if (strcmp(c, colors[i]) == 0)
			return colors[i];
	return "none";
}

/* "2026-11-26T15:10:00+08:00" as "2026-11-26 15:10（UTC+08:00）". */
static void html_time(struct strbuf *h, const char *t)
{
	if (t == NULL || strlen(t) != 25) {
		html_text(h, t ? t : "—");
		return;
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "%.10s %.5s（UTC%.6s）", t, t + 11, t + 19);
	html_text(h, buf);
}

static const char *pub_msg_type_zh(const json_t *a)
{
	if (pub_is(a, "msg_type", "update"))
		return "续报";
	if (pub_is(a, "msg_type", "cancel"))
		return "解除";
	return "首次发布";
}

static void html_head(struct strbuf *h, const struct public_opts *o, const char *title)
{
	html_raw(h, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>");
	if (o->exercise)
		html_raw(h, "【演练】");
	html_text(h, title);
	html_raw(
	    h,
	    "</title><link rel=\"stylesheet\" href=\"/public.css\">"
	    "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"/feed.atom\" "
	    "title=\"预警信息订阅（Atom）\"></head>\n<body><header class=\"bar\"><a href=\"/\">");
	html_text(h, o->sender);
	html_raw(h, " · 地质灾害险情灾情信息</a></header>\n");
	if (o->exercise)
		html_raw(h, "<p class=\"drill\" role=\"alert\"><strong>演练</strong>"
			    "本页信息为应急演练，不是真实险情、灾情。</p>\n");
	html_raw(h, "<main>\n");
}

/* The hotline as a tel: link; the number was checked at config load
 * (digits, spaces, + - ( )), and is escaped all the same. */
static void html_hotline(struct strbuf *h, const struct public_opts *o, const char *cls)
{
	if (o->hotline == NULL || o->hotline[0] == '\0')
		return;
	html_rawf(h, "<p class=\"%s\">咨询、报告险情请拨打", cls);
	html_text(h, o->sender);
	html_raw(h, "值班电话：<a href=\"tel:");
	for (const char *p = o->hotline; *p; p++)
		if (*p != ' ' && *p != '(' && *p != ')')
			strbuf_put(h, p, 1);
	html_raw(h, "\">");
	html_text(h, o->hotline);
	html_raw(h, "</a></p>\n");
}

static void html_foot(struct strbuf *h, const struct public_opts *o)
{
	html_raw(h, "</main>\n<footer>");
	html_hotline(h, o, "hotline");
	html_raw(h, "<a href=\"/feed.atom\">订阅（Atom / CAP 1.2）</a> · "
		    "<a href=\"/.well-known/geoalert-signing-key\">签名公钥</a> · "
		    "<a href=\"/.well-known/geoalert-cap-signing-key\">CAP 签名证书</a></footer>\n"
		    "</body></html>\n");
}

static ga_err html_finish(struct strbuf *h, char **out, size_t *outlen)
{
	if (h->err == GA_OK && h->p == NULL)
		h->err = GA_ERR_NOMEM;
	if (h->err != GA_OK) {
		free(h->p);
		return h->err;
	}
	*out = h->p;
	*outlen = h->n;
	return GA_OK;
}

/* 灾情, 险情, or 监测预警 for a warning drafted from monitoring devices
 * (spec §12). */
static const char *pub_kind_zh(const json_t *a)
{
	if (pub_is(a, "kind", "warning"))
		return "监测预警";
	return pub_is(a, "kind", "disaster") ? "灾情" : "险情";
}

/* "大型滑坡险情 · Ⅱ级响应" badge. */
static void html_badge(struct strbuf *h, const json_t *a)
{
	html_rawf(h, "<span class=\"badge lv-%s\">", pub_color(a));
	html_text(h, pub_str(a, "level_zh"));
	html_text(h, pub_str(a, "hazard_type_zh"));
	html_raw(h, pub_kind_zh(a));
	html_raw(h, "</span>");
}

ga_err public_index_html(const struct public_opts *o, const json_t *alerts, char **out,
			 size_t *outlen)
{
	struct strbuf h = STRBUF_INIT(PUBLIC_HTML_MAX);
	size_t n = json_array_size(alerts);

	if (o == NULL || !json_is_array(alerts) || out == NULL || outlen == NULL)
		return GA_ERR_INVAL;
	html_head(&h, o, "地质灾害险情灾情信息发布");
	if (o->lead_html != NULL)
		html_raw(&h, o->lead_html);
	html_rawf(&h, "<h1>当前发布（近%d日）</h1>\n", FEED_DAYS);
	if (n == 0)
		html_rawf(&h, "<p class=\"empty\">近%d日没有发布地质灾害险情、灾情信息。</p>\n",
			  FEED_DAYS);
	else
		html_raw(&h, "<ul class=\"list\">\n");
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_array_get(alerts, i);
		bool cancelled = pub_is(a, "msg_type", "cancel");
		const char *id = pub_str(a, "alert_id");

		if (id == NULL)
			continue;
		html_rawf(&h, "<li class=\"card lv-%s%s\"><a href=\"/alerts/", pub_color(a),
			  cancelled ? " cancelled" : "");
		html_text(&h, id);
		html_raw(&h, "\">");
		if (cancelled)
			html_raw(&h, "<span class=\"badge lifted\">已解除</span> ");
		html_badge(&h, a);
		html_raw(&h, "<span class=\"title\">");
		html_text(&h, pub_str(a, "headline"));
		html_raw(&h, "</span></a><p class=\"meta\">");
		html_time(&h, pub_str(a, "sent"));
		html_raw(&h, " · ");
		html_raw(&h, pub_msg_type_zh(a));
		html_rawf(&h, "（第%d版）", (int)json_integer_value(json_object_get(a, "version")));
		html_raw(&h, " · ");
		html_text(&h, pub_str(json_object_get(a, "area"), "admin_name"));
		html_raw(&h, "</p></li>\n");
	}
	if (n > 0)
		html_raw(&h, "</ul>\n");
	html_foot(&h, o);
	return html_finish(&h, out, outlen);
}

static void html_section(struct strbuf *h, const char *title, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	html_raw(h, "<section><h2>");
	html_raw(h, title);
	html_raw(h, "</h2><p>");
	html_text(h, text);
	html_raw(h, "</p></section>\n");
}

/* When a figure row is shown (spec 1.1 §6: a figure no report gave is
 * null, shown as 未报告 or left out). */
enum pub_row { ROW_NONE, ROW_ALWAYS, ROW_KNOWN };

/* The figures with their Chinese names: people as counts, yuan in 万元.
 * A 灾情 always has its casualty and loss rows (未报告 when unknown) and
 * threatened rows only when known; a 险情 has no casualty or loss rows,
 * always its threatened rows, and 转移安置 when known. */
static void html_figures(struct strbuf *h, const json_t *figures, bool disaster)
{
	static const struct {
		const char *key, *zh, *unit;
		enum pub_row disaster, danger;
	} rows[] = {
	    {"deaths", "死亡", "人", ROW_ALWAYS, ROW_NONE},
	    {"missing", "失踪", "人", ROW_ALWAYS, ROW_NONE},
	    {"injured", "受伤", "人", ROW_ALWAYS, ROW_NONE},
	    {"relocated_people", "转移安置", "人", ROW_ALWAYS, ROW_KNOWN},
	    {"direct_loss_cny", "直接经济损失", "元", ROW_ALWAYS, ROW_NONE},
	    {"threatened_people", "威胁人数", "人", ROW_KNOWN, ROW_ALWAYS},
	    {"threatened_property_cny", "威胁财产", "元", ROW_KNOWN, ROW_ALWAYS},
	};
	bool any = false;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *v = json_object_get(figures, rows[i].key);
		enum pub_row when = disaster ? rows[i].disaster : rows[i].danger;
		bool known = json_is_number(v) && isfinite(json_number_value(v));
		double x = known ? json_number_value(v) : 0;

		if (when == ROW_NONE || (when == ROW_KNOWN && !known))
			continue;
		if (!any)
			html_raw(h, "<section><h2>基本数据</h2><table class=\"figures\">");
		any = true;
		html_rawf(h, "<tr><th>%s</th><td>", rows[i].zh);
		if (!known)
			html_raw(h, "<span class=\"unknown\">未报告</span>");
		else if (strcmp(rows[i].unit, "元") == 0 && fabs(x) >= 10000)
			html_rawf(h, "%.6g万元", x / 10000);
		else
			html_rawf(h, "%.15g%s", x, rows[i].unit);
		html_raw(h, "</td></tr>");
	}
	if (any)
		html_raw(h, "</table></section>\n");
}

/* 防御指南: what the public should do, from the hazard type's "guide"
 * (alerts/templates/hazards.txt), one item per "；", then the hotline. */
static void html_guide(struct strbuf *h, const struct public_opts *o, const json_t *a)
{
	int ht = hazard_type_from_name(pub_str(a, "hazard_type"));
	const char *g = ht >= 0 ? draft_templates_guide(o->templates, (enum hazard_type)ht) : "";
	static const char sep[] = "；";

	if (g[0] == '\0')
		return;
	html_raw(h, "<section class=\"guide\"><h2>防御指南</h2><ul>");
	while (g[0] != '\0') {
		const char *end = strstr(g, sep);
		size_t n = end ? (size_t)(end - g) : strlen(g);
		if (n > 0) {
			html_raw(h, "<li>");
			char *item = strndup(g, n);
			if (item == NULL) {
				if (h->err == GA_OK)
					h->err = GA_ERR_NOMEM;
				return;
			}
			html_text(h, item);
			free(item);
			html_raw(h, "。</li>");
		}
		g += n + (end ? sizeof(sep) - 1 : 0);
	}
	html_raw(h, "</ul>");
	html_hotline(h, o, "hotline-guide");
	html_raw(h, "</section>\n");
}

static void html_versions(struct strbuf *h, const char *id, const json_t *versions)
{
	size_t n = json_array_size(versions);

	if (n == 0)
		return;
	html_raw(h, "<section><h2>历次发布</h2><ol class=\"versions\">");
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(versions, i);
		int ver = (int)json_integer_value(json_object_get(v, "version"));

		html_rawf(h, "<li>第%d版 · %s · ", ver, pub_msg_type_zh(v));
		html_time(h, pub_str(v, "sent"));
		html_raw(h, " · <a href=\"/alerts/");
		html_text(h, id);
		html_rawf(h, "/v%d.json\">JSON</a> · <a href=\"/alerts/", ver);
		html_text(h, id);
		html_rawf(h, "/v%d.xml\">CAP</a></li>", ver);
	}
	html_raw(h, "</ol></section>\n");
}

ga_err public_alert_html(const struct public_opts *o, const json_t *alert, const json_t *versions,
			 const char *map_svg, char **out, size_t *outlen)
{
	struct strbuf h = STRBUF_INIT(PUBLIC_HTML_MAX);
	const char *id = pub_str(alert, "alert_id");
	const json_t *area = json_object_get(alert, "area");
	bool cancelled = pub_is(alert, "msg_type", "cancel");
	json_t *lon = json_object_get(area, "lon"), *lat = json_object_get(area, "lat");

	if (o == NULL || id == NULL || out == NULL || outlen == NULL)
		return GA_ERR_INVAL;
	html_head(&h, o, pub_str(alert, "headline"));
	html_rawf(&h, "<article class=\"alert lv-%s%s\">\n", pub_color(alert),
		  cancelled ? " cancelled" : "");
	if (cancelled)
		html_raw(&h, "<p class=\"lifted-banner\"><strong>已解除</strong>"
			     "此前发布的险情、灾情信息已解除。</p>\n");
	html_raw(&h, "<p>");
	html_badge(&h, alert);
	/* A cancelled alert's response has ended: no 级响应 badge. */
	if (cancelled) {
		html_raw(&h, " <span class=\"badge lifted\">已解除</span></p>\n<h1>");
	} else {
		html_raw(&h, " <span class=\"badge resp\">");
		html_text(&h, pub_str(alert, "response_level"));
		html_raw(&h, "级响应</span></p>\n<h1>");
	}
	html_text(&h, pub_str(alert, "headline"));
	html_raw(&h, "</h1>\n<dl class=\"facts\"><dt>发布单位</dt><dd>");
	html_text(&h, pub_str(alert, "sender"));
	html_raw(&h, "</dd><dt>发布时间</dt><dd>");
	html_time(&h, pub_str(alert, "sent"));
	/* observed_at of a 灾情 is its earliest disaster report's: when it
	 * happened; of a 险情, when it was found */
	html_rawf(&h, "</dd><dt>类别</dt><dd>%s（第%d版）</dd><dt>%s</dt><dd>",
		  pub_msg_type_zh(alert),
		  (int)json_integer_value(json_object_get(alert, "version")),
		  pub_is(alert, "kind", "disaster")  ? "发生时间"
		  : pub_is(alert, "kind", "warning") ? "监测时间"
						     : "发现时间");
	html_time(&h, pub_str(alert, "observed_at"));
	html_raw(&h, "</dd><dt>编号</dt><dd>");
	html_text(&h, id);
	html_raw(&h, "</dd></dl>\n");
	html_section(&h, pub_is(alert, "kind", "warning") ? "监测情况" : pub_kind_zh(alert),
		     pub_str(alert, "situation"));
	html_section(&h, "发生原因", pub_str(alert, "causes"));
	html_section(&h, "应急处置", pub_str(alert, "response"));
	html_section(&h, "发展趋势", pub_str(alert, "trend"));
	if (!cancelled)
		html_guide(&h, o, alert);
	char where[1024];
	cap_area_desc(pub_str(area, "admin_name"), pub_str(area, "place"), where, sizeof(where));
	html_raw(&h, "<section><h2>位置</h2><p>");
	html_text(&h, where);
	if (json_is_number(lon) && json_is_number(lat))
		html_rawf(&h, "<br><span class=\"muted\">东经 %.5f°，北纬 %.5f°（CGCS2000）</span>",
			  json_number_value(lon), json_number_value(lat));
	html_raw(&h, "</p>");
	if (map_svg != NULL) {
		/* geo_svg_region's own output: fixed markup, numbers, escaped names */
		html_raw(&h, "<figure class=\"map\">");
		html_raw(&h, map_svg);
		html_raw(&h, "<figcaption>所在县（市、区）范围与位置示意</figcaption></figure>");
	}
	html_raw(&h, "</section>\n");
	html_figures(&h, json_object_get(alert, "figures"), pub_is(alert, "kind", "disaster"));
	html_versions(&h, id, versions);
	html_raw(&h, "<p class=\"muted\">本信息附有数字签名，可用签名公钥核验：<a href=\"/alerts/");
	html_text(&h, id);
	html_raw(&h, ".json\">JSON</a> · <a href=\"/alerts/");
	html_text(&h, id);
	html_raw(&h, ".xml\">CAP 1.2</a></p>\n</article>\n");
	html_foot(&h, o);
	return html_finish(&h, out, outlen);
}

ga_err public_notfound_html(const struct public_opts *o, char **out, size_t *outlen)
{
	struct strbuf h = STRBUF_INIT(PUBLIC_HTML_MAX);

	if (o == NULL || out == NULL || outlen == NULL)
		return GA_ERR_INVAL;
	html_head(&h, o, "未找到");
	html_raw(&h, "<h1>未找到该信息</h1><p class=\"empty\">没有这条已发布的信息。"
		     "<a href=\"/\">返回当前发布</a></p>\n");
	html_foot(&h, o);
	return html_finish(&h, out, outlen);
}

static const char public_stylesheet[] =
    "*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:#eef1f4;color:#1d2329;font:16px/1.6 -apple-system,"
    "\"PingFang SC\",\"Noto Sans CJK SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\","
    "sans-serif}\n"
    "a{color:#0d47a1}\n"
    ".bar{padding:10px 14px;background:#14365c;color:#fff}.bar a{color:#fff;text-decoration:none;"
    "font-weight:600}\n"
    ".drill{margin:0;padding:10px 14px;background:#6a1b9a;color:#fff;font-size:15px}\n"
    ".drill strong{display:inline-block;margin-right:8px;padding:0 8px;border:2px solid #fff;"
    "border-radius:4px}\n"
    "main{max-width:820px;margin:0 auto;padding:10px 12px 30px}\n"
    "h1{font-size:20px;margin:14px 0 10px;word-break:break-all}"
    "h2{font-size:16px;margin:16px 0 4px}\n"
    ".list{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}\n"
    ".card,.alert{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);"
    "border-left:8px solid #90a4ae}\n"
    ".card{padding:10px 12px}.card a{text-decoration:none;color:inherit;display:block}\n"
    ".card .title{display:block;font-weight:600;margin-top:4px;word-break:break-all}\n"
    ".alert{padding:4px 14px 14px}\n"
    ".lv-red{border-left-color:#d32f2f}.lv-orange{border-left-color:#f57c00}"
    ".lv-yellow{border-left-color:#fbc02d}.lv-blue{border-left-color:#1976d2}\n"
    ".cancelled{border-left-color:#9e9e9e}.cancelled .title{color:#555}\n"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;"
    "font-weight:600;color:#fff;background:#546e7a}\n"
    ".badge.lv-red{background:#d32f2f}.badge.lv-orange{background:#b85000}"
    ".badge.lv-yellow{background:#fbc02d;color:#3b2f00}.badge.lv-blue{background:#1976d2}\n"
    ".badge.lifted{background:#2e7d32}.badge.resp{background:#37474f}\n"
    ".lifted-banner{margin:10px 0;padding:8px 12px;background:#e8f5e9;color:#1b5e20;"
    "border:1px solid #a5d6a7;border-radius:6px}\n"
    ".lifted-banner strong{margin-right:8px}\n"
    ".meta,.muted{color:#56606a;font-size:13px;margin:4px 0 0}\n"
    ".empty{color:#56606a}\n"
    ".facts{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:0;font-size:15px}\n"
    ".facts dt{color:#56606a}.facts dd{margin:0}\n"
    "section p{margin:4px 0;white-space:pre-line}\n"
    ".map{margin:8px 0}.map svg{max-width:100%;height:auto;display:block;border-radius:6px}\n"
    ".map figcaption{font-size:13px;color:#56606a}\n"
    ".figures{border-collapse:collapse}.figures th,.figures td{padding:3px 12px 3px 0;"
    "text-align:left;font-weight:normal}.figures th{color:#56606a}\n"
    ".versions{margin:4px 0;padding-left:22px;font-size:14px}\n"
    ".unknown{color:#56606a}.guide ul{margin:4px 0;padding-left:22px}\n"
    ".hotline,.hotline-guide{margin:8px 0;font-weight:600}\n"
    "footer{max-width:820px;margin:0 auto;padding:0 12px 30px;font-size:14px}\n";

const char *public_css(void)
{
	return public_stylesheet;
}
