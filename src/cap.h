/* cap.h - the CAP 1.2 form of a published alert (OASIS Common Alerting
 * Protocol; spec §6 gives the mapping), written with libxml2's
 * xmlTextWriter. Pure: the caller hands in the alert JSON and the sent
 * times of the versions it references; nothing here reads the store.
 *
 * identifier  "{alert_id}-{version}" (cap_identifier): unique per sender,
 *             stable, and the same scheme names the referenced versions
 * sender      cap_opts.sender ([alerts] cap_sender, by default the host of
 *             [http] public_base_url)
 * sent        the alert's "sent", always with a numeric offset (+08:00)
 * status      Actual, or Exercise for status "exercise" (drill mode)
 * msgType     Alert / Update / Cancel from msg_type; scope Public
 * references  "sender,identifier,sent" of each earlier version, space
 *             separated (only for Update and Cancel)
 * incidents   the incident id
 * info        language zh-CN, category Geo, event "{hazard_type_zh}险情" or
 *             "…灾情", urgency Immediate, severity from level (Extreme,
 *             Severe, Moderate, Minor), certainty from kind (disaster:
 *             Observed, danger: Likely), onset = observed_at, senderName,
 *             headline, description = situation, causes and trend (non-empty
 *             ones, a blank line apart), instruction = response, web = the
 *             public page, parameters level / response_level / color
 * area        areaDesc = admin_name + place, circle "lat,lon radius_km"
 *             (when the point is known), geocode valueName "GB/T 2260"
 *             value admin_code (when known) */
#ifndef GA_CAP_H
#define GA_CAP_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "timeutil.h"

#define CAP_NS "urn:oasis:names:tc:emergency:cap:1.2"
#define CAP_ID_MAX 64	/* an identifier + NUL */
#define CAP_REFS_MAX 32 /* references written (the latest ones) */
/* Bytes of one CAP document, also what cap_sign.h signs and checks. A
 * risk warning's CAP carries every county's outline (all 95 bundled
 * counties: 0.46 MB unsigned, riskwarning_cap.h RISKWARNING_CAP_MAX). */
#define CAP_XML_MAX (2u << 20)
#define CAP_GEOCODE_NAME "GB/T 2260"

struct cap_opts {
	const char *sender;   /* CAP <sender>: no spaces, commas, < or & */
	const char *base_url; /* <web> is base_url + "/alerts/" + alert_id */
	double radius_km;     /* radius of the area's circle */
};

/* An earlier version the alert references: its identifier and sent. */
struct cap_ref {
	char identifier[CAP_ID_MAX];
	char sent[TIME_TEXT_MAX];
};

/* admin_name then place, without the part of the admin name the place
 * repeats at a unit boundary (省 市 区 县 州 盟 旗): ("江苏省南京市浦口区",
 * "浦口区永宁街道") -> "江苏省南京市浦口区永宁街道" (as draft.c writes the
 * headline). Cut to len, never inside a UTF-8 sequence. */
void cap_area_desc(const char *admin, const char *place, char *buf, size_t len);

/* "{alert_id}-{version}" into buf (cut to len). */
void cap_identifier(const char *alert_id, int version, char *buf, size_t len);

/* Writes the CAP 1.2 XML of alert (the published alert JSON of spec §6)
 * with refs[0..nrefs) as its references (the last CAP_REFS_MAX of them).
 * On GA_OK *out is a malloc'd NUL-terminated UTF-8 document of *outlen
 * bytes. GA_ERR_INVAL when a member the mapping needs is missing or of
 * the wrong type (alert_id, version, msg_type, status, sent, kind, level,
 * hazard_type_zh, headline), GA_ERR_TOOBIG past CAP_XML_MAX, GA_ERR_NOMEM. */
ga_err cap_write(const struct cap_opts *o, const json_t *alert, const struct cap_ref *refs,
		 int nrefs, char **out, size_t *outlen);

#endif
