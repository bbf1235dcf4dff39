/* riskwarning_cap.c - CAP 1.2 of a risk warning product (see the header
 * for the mapping), written with libxml2's text writer (xmldoc.h). */
#include "riskwarning_cap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "riskwarning_outline.h"
#include "text.h"
#include "xmldoc.h"

#define RWCAP_TEXT_MAX (16u * 1024) /* bytes of one element's text */
#define RWCAP_POLY_MAX (RISKWARNING_OUTLINE_MAX * 32)

struct rwcap {
	xmlTextWriterPtr w;
	bool failed;
	char *clean; /* RWCAP_TEXT_MAX bytes */
	char poly[RWCAP_POLY_MAX];
};

/* Text fit for XML 1.0 (C0 controls other than tab, newline, CR become
 * spaces) and for publication (bidirectional controls removed, text.h),
 * cut to RWCAP_TEXT_MAX - 1 bytes on a character boundary. */
static void rwcap_elem(struct rwcap *c, const char *name, const char *text)
{
	size_t i;

	if (c->failed)
		return;
	for (i = 0; text[i] != '\0' && i + 1 < RWCAP_TEXT_MAX; i++) {
		unsigned char ch = (unsigned char)text[i];
		c->clean[i] =
		    (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ? ' ' : (char)ch;
	}
	while (i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80)
		i--;
	c->clean[i] = '\0';
	text_strip_bidi(c->clean);
	if (xmlTextWriterWriteElement(c->w, BAD_CAST name, BAD_CAST c->clean) < 0)
		c->failed = true;
}

static void rwcap_start(struct rwcap *c, const char *name)
{
	if (!c->failed && xmlTextWriterStartElement(c->w, BAD_CAST name) < 0)
		c->failed = true;
}

static void rwcap_end(struct rwcap *c)
{
	if (!c->failed && xmlTextWriterEndElement(c->w) < 0)
		c->failed = true;
}

static void rwcap_param(struct rwcap *c, const char *name, const char *value)
{
	rwcap_start(c, "parameter");
	rwcap_elem(c, "valueName", name);
	rwcap_elem(c, "value", value);
	rwcap_end(c);
}

static const char *rwcap_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The county's area as <polygon>s: one per piece of
 * riskwarning_outline_new (each closed, at most 100 points, "lat,lon"). */
static void rwcap_polygons(struct rwcap *c, const struct geo *g, const char *admin_code)
{
	struct riskwarning_outline *o = NULL;

	if (c->failed)
		return;
	if (admin_code == NULL || riskwarning_outline_new(g, admin_code, &o) != GA_OK) {
		c->failed = true;
		return;
	}
	for (size_t i = 0; i < riskwarning_outline_count(o) && !c->failed; i++) {
		size_t n;
		const double(*pts)[2] = riskwarning_outline_polygon(o, i, &n);
		if (riskwarning_outline_cap_text(pts, n, c->poly, sizeof(c->poly)) != GA_OK) {
			c->failed = true;
			break;
		}
		rwcap_elem(c, "polygon", c->poly);
	}
	riskwarning_outline_free(o);
}

/* One <info> for the counties of level. */
static void rwcap_info(struct rwcap *c, const struct riskwarning_cap_opts *o, const json_t *product,
		       const struct geo *g, enum riskwarning_level level, int ncounties)
{
	const json_t *counties = json_object_get(product, "counties"), *v, *iss;
	char headline[256], web[1024];
	size_t i, off = 0;

	rwcap_start(c, "info");
	rwcap_elem(c, "language", "zh-CN");
	rwcap_elem(c, "category", "Geo");
	rwcap_elem(c, "event", "地质灾害气象风险预警");
	rwcap_elem(c, "urgency", "Expected");
	rwcap_elem(c, "severity", riskwarning_level_cap_severity(level));
	rwcap_elem(c, "certainty", "Likely");
	rwcap_elem(c, "onset", rwcap_str(product, "valid_from"));
	rwcap_elem(c, "expires", rwcap_str(product, "valid_to"));
	/* senderName: the issuers, joined by 、 */
	c->clean[0] = '\0';
	json_array_foreach(json_object_get(product, "issuers"), i, iss)
	{
		int w = snprintf(c->clean + off, RWCAP_TEXT_MAX - off, "%s%s", i ? "、" : "",
				 json_string_value(iss) ? json_string_value(iss) : "");
		if (w < 0 || (size_t)w >= RWCAP_TEXT_MAX - off)
			break;
		off += (size_t)w;
	}
	{
		char *names = strdup(c->clean);
		if (names == NULL) {
			c->failed = true;
			return;
		}
		rwcap_elem(c, "senderName", names);
		free(names);
	}
	snprintf(headline, sizeof(headline), "地质灾害气象风险%s预警：%d个县（市、区）%s",
		 riskwarning_level_zh(level), ncounties, riskwarning_level_meaning(level));
	rwcap_elem(c, "headline", headline);
	rwcap_elem(c, "description", rwcap_str(product, "rain_summary"));
	rwcap_elem(c, "instruction", rwcap_str(product, "advice"));
	snprintf(web, sizeof(web), "%s/warnings/%s", o->base_url, rwcap_str(product, "product_id"));
	rwcap_elem(c, "web", web);
	rwcap_param(c, "level", riskwarning_level_name(level));
	rwcap_param(c, "level_zh", riskwarning_level_zh(level));

	rwcap_start(c, "area");
	/* areaDesc: the counties' names */
	off = 0;
	c->clean[0] = '\0';
	json_array_foreach(counties, i, v)
	{
		if (riskwarning_level_from_name(rwcap_str(v, "level")) != (int)level)
			continue;
		int w = snprintf(c->clean + off, RWCAP_TEXT_MAX - off, "%s%s", off ? "、" : "",
				 rwcap_str(v, "name") ? rwcap_str(v, "name") : "");
		if (w < 0 || (size_t)w >= RWCAP_TEXT_MAX - off)
			break;
		off += (size_t)w;
	}
	{
		char *names = strdup(c->clean);
		if (names == NULL) {
			c->failed = true;
			return;
		}
		rwcap_elem(c, "areaDesc", names);
		free(names);
	}
	json_array_foreach(counties, i, v)
	{
		if (riskwarning_level_from_name(rwcap_str(v, "level")) != (int)level)
			continue;
		rwcap_polygons(c, g, rwcap_str(v, "admin_code"));
	}
	json_array_foreach(counties, i, v)
	{
		if (riskwarning_level_from_name(rwcap_str(v, "level")) != (int)level)
			continue;
		rwcap_start(c, "geocode");
		rwcap_elem(c, "valueName", CAP_GEOCODE_NAME);
		rwcap_elem(c, "value", rwcap_str(v, "admin_code"));
		rwcap_end(c);
	}
	rwcap_end(c); /* area */
	rwcap_end(c); /* info */
}

/* Counties per level; false when a county lacks a code or a level. */
static bool rwcap_count(const json_t *counties, int n[RISKWARNING_LEVEL_COUNT])
{
	size_t i;
	json_t *v;

	memset(n, 0, sizeof(int) * RISKWARNING_LEVEL_COUNT);
	if (!json_is_array(counties))
		return false;
	json_array_foreach(counties, i, v)
	{
		int l = riskwarning_level_from_name(rwcap_str(v, "level"));
		if (l < 0 || rwcap_str(v, "admin_code") == NULL)
			return false;
		n[l]++;
	}
	return true;
}

ga_err riskwarning_cap_write(const struct riskwarning_cap_opts *o, const json_t *product,
			     const struct geo *g, char **out, size_t *outlen, int *ninfo)
{
	struct rwcap *c = NULL;
	struct xmldoc doc = {NULL, NULL};
	int n[RISKWARNING_LEVEL_COUNT], written = 0, public = 0;
	char id[CAP_ID_MAX];
	ga_err e = GA_ERR_INVAL;

	if (ninfo != NULL)
		*ninfo = 0;
	if (o == NULL || o->sender == NULL || o->base_url == NULL || o->sent == NULL ||
	    o->msg_type == NULL || o->version < 1 || g == NULL || out == NULL || outlen == NULL)
		return GA_ERR_INVAL;
	if (strcmp(o->msg_type, "Alert") != 0 && strcmp(o->msg_type, "Update") != 0 &&
	    strcmp(o->msg_type, "Cancel") != 0)
		return GA_ERR_INVAL;
	if (rwcap_str(product, "product_id") == NULL || rwcap_str(product, "valid_from") == NULL ||
	    rwcap_str(product, "valid_to") == NULL || rwcap_str(product, "rain_summary") == NULL ||
	    rwcap_str(product, "advice") == NULL ||
	    !rwcap_count(json_object_get(product, "counties"), n))
		return GA_ERR_INVAL;
	for (int l = 0; l < RISKWARNING_LEVEL_COUNT; l++)
		if (riskwarning_level_public((enum riskwarning_level)l, o->publish_min))
	public += n[l];
	if (public == 0)
		return GA_ERR_INVAL;
	snprintf(id, sizeof(id), "%s-%d", rwcap_str(product, "product_id"), o->version);

	e = GA_ERR_NOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->clean = malloc(RWCAP_TEXT_MAX)) == NULL)
		goto out;
	if ((e = xmldoc_start(&doc)) != GA_OK)
		goto out;
	c->w = doc.w;
	if (xmlTextWriterStartElementNS(c->w, NULL, BAD_CAST "alert", BAD_CAST CAP_NS) < 0)
		c->failed = true;
	rwcap_elem(c, "identifier", id);
	rwcap_elem(c, "sender", o->sender);
	rwcap_elem(c, "sent", o->sent);
	rwcap_elem(c, "status", o->exercise ? "Exercise" : "Actual");
	rwcap_elem(c, "msgType", o->msg_type);
	rwcap_elem(c, "scope", "Public");
	if (o->references != NULL && o->references[0] != '\0' && strcmp(o->msg_type, "Alert") != 0)
		rwcap_elem(c, "references", o->references);
	for (int l = 0; l < RISKWARNING_LEVEL_COUNT; l++) {
		if (n[l] == 0 ||
		    !riskwarning_level_public((enum riskwarning_level)l, o->publish_min))
			continue;
		rwcap_info(c, o, product, g, (enum riskwarning_level)l, n[l]);
		written++;
	}
	e = xmldoc_finish(&doc, c->failed, RISKWARNING_CAP_MAX, out, outlen);
	if (e == GA_OK && ninfo != NULL)
		*ninfo = written;
out:
	xmldoc_cleanup(&doc);
	if (c != NULL) {
		free(c->clean);
		free(c);
	}
	return e;
}
