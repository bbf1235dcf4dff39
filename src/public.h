/* public.h - the public HTML pages of published alerts (spec §8): the
 * front page (current alerts) and one alert's page, in Chinese, readable
 * on a phone, with nothing external (one stylesheet from the same origin,
 * /public.css, so the CSP needs no 'unsafe-inline'; the map is inline
 * SVG). Every text from the database is HTML-escaped here. Pure: the
 * caller hands in the published alert JSON (spec §6), which never
 * carries reporter data, and never a draft. */
#ifndef GA_PUBLIC_H
#define GA_PUBLIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PUBLIC_HTML_MAX (2u * 1024 * 1024) /* bytes of one page */

struct draft_templates;

struct public_opts {
	const char *sender;  /* the publishing authority, e.g. 江苏省自然资源厅 */
	bool exercise;	     /* drill mode: every page carries the 演练 banner */
	const char *hotline; /* the department's hotline ([alerts] hotline); NULL or "": none */
	/* where an alert page's 防御指南 comes from (hazards.txt "guide",
	 * draft.h); NULL: the page goes without it */
	const struct draft_templates *templates;
	/* HTML (trusted, escaped by its maker) placed on the front page above
	 * the alerts: the current risk warnings (riskwarning_page.h); NULL:
	 * none */
	const char *lead_html;
};

/* The front page: alerts is an array of the latest published version of
 * each alert (newest first); cancelled ones are marked 已解除. On GA_OK
 * *out is malloc'd, NUL-terminated, *outlen bytes. */
ga_err public_index_html(const struct public_opts *o, const json_t *alerts, char **out,
			 size_t *outlen);

/* One alert's page: alert is its latest published version, versions all
 * its published versions (oldest first, for the list of releases; may be
 * NULL), map_svg an SVG document to inline (may be NULL). */
ga_err public_alert_html(const struct public_opts *o, const json_t *alert, const json_t *versions,
			 const char *map_svg, char **out, size_t *outlen);

/* A small page saying what was not found (status 404). */
ga_err public_notfound_html(const struct public_opts *o, char **out, size_t *outlen);

/* The stylesheet served at /public.css (static, NUL-terminated). */
const char *public_css(void);

#endif
