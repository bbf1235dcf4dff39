/* riskwarning_page.h - the public forms of a published risk warning
 * (spec §11): its public JSON, its province map (inline SVG, each county
 * filled by its level), and its HTML page (phone first: map, legend,
 * county names per level, valid period, rain summary, advice). Pure:
 * the caller hands in the stored product JSON; counties below the
 * public level (blue by default) are left out of all three. Every text
 * is escaped here and stripped of bidirectional controls (text.h). */
#ifndef GA_RISKWARNING_PAGE_H
#define GA_RISKWARNING_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "geo.h"
#include "riskwarning.h"

#define RISKWARNING_PAGE_MAX (2u << 20) /* bytes of a page or a map */
#define RISKWARNING_PAGE_SCHEMA "geohazard.riskwarning.public/1"

/* The public JSON: schema, product_id, version, state, issued_at,
 * valid_from, valid_to, issuers, rain_summary, advice, supersedes,
 * published_at, levels (public levels present, most severe first, each
 * {level, level_zh, meaning, counties: [{admin_code, name, city}]}).
 * published_at: RFC 3339 text. New reference; NULL when out of memory or
 * product lacks its counties. */
json_t *riskwarning_page_json(const json_t *product, int version, const char *state,
			      const char *published_at, enum riskwarning_level publish_min);

/* The province map: every region of g outlined, the counties of pub
 * (riskwarning_page_json) filled with their level's colour; an
 * accessible name (<title>) saying so. *out malloc'd, *outlen bytes. */
ga_err riskwarning_page_svg(const json_t *pub, const struct geo *g, char **out, size_t *outlen);
/* The same map with data-code="{admin_code}" on each county's <path>, for
 * the officers' console (it paints and picks counties by it): it names
 * every county, so it is never served publicly. */
ga_err riskwarning_page_svg_coded(const json_t *pub, const struct geo *g, char **out,
				  size_t *outlen);

/* The page of pub with map_svg inlined (may be NULL). sender names the
 * publishing authority; exercise adds the 演练 banner. */
ga_err riskwarning_page_html(const json_t *pub, const char *map_svg, const char *sender,
			     bool exercise, char **out, size_t *outlen);

/* The front page's section "当前地质灾害气象风险预警": one card per entry of
 * pubs (riskwarning_page_json objects, current ones), linking to its
 * page, with its levels and period; nothing when pubs is empty. *out
 * malloc'd, NUL-terminated. */
ga_err riskwarning_page_index_html(const json_t *pubs, char **out, size_t *outlen);

#endif
