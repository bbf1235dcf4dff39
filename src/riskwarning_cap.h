/* riskwarning_cap.h - the CAP 1.2 form of a risk warning product (spec
 * §11). Pure: the caller hands in the stored product JSON (with its
 * "counties", riskwarning_product_json) and the regions; nothing here
 * reads the store or signs (cap_sign.h signs the result as for alerts).
 *
 * identifier  "{product_id}-{version}"; sender the option's
 * msgType     Alert, Update (references the product it supersedes),
 *             Cancel; scope Public
 * info        one per public level present, most severe first: language
 *             zh-CN, category Geo, event 地质灾害气象风险预警, urgency
 *             Expected, severity (riskwarning_level_cap_severity),
 *             certainty Likely, onset valid_from, expires valid_to,
 *             senderName the issuers joined by 、, headline, description
 *             rain_summary, instruction advice, web the public page,
 *             parameter level / level_zh
 * area        one per info: areaDesc the county names, each county's
 *             area as <polygon>s (riskwarning_outline.h: closed, at most
 *             100 points, within 200 m of the outline, "lat,lon"; a
 *             county whose outline needs more is cut into several), a
 *             <geocode> (GB/T 2260) per county.
 * Levels below the public one (blue by default) are never written. */
#ifndef GA_RISKWARNING_CAP_H
#define GA_RISKWARNING_CAP_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "geo.h"
#include "riskwarning.h"

#define RISKWARNING_CAP_MAX (2u << 20) /* bytes of one document */

struct riskwarning_cap_opts {
	const char *sender;   /* CAP <sender>: no spaces, commas, < or & */
	const char *base_url; /* <web> is base_url + "/warnings/" + product_id */
	enum riskwarning_level publish_min;
	int version;		/* >= 1 */
	const char *msg_type;	/* "Alert", "Update" or "Cancel" */
	const char *sent;	/* RFC 3339 with a numeric offset */
	const char *references; /* "sender,identifier,sent ..." for Update/Cancel; NULL: none */
	bool exercise;		/* status Exercise instead of Actual */
};

/* Writes the CAP XML of product. On GA_OK *out is a malloc'd
 * NUL-terminated document of *outlen bytes; *ninfo (may be NULL) the
 * <info> blocks written. GA_ERR_INVAL for options or a product missing
 * what the mapping needs, or a product without a public county;
 * GA_ERR_TOOBIG past RISKWARNING_CAP_MAX; GA_ERR_NOMEM. */
ga_err riskwarning_cap_write(const struct riskwarning_cap_opts *o, const json_t *product,
			     const struct geo *g, char **out, size_t *outlen, int *ninfo);

#endif
