/* cap.c - CAP 1.2 XML of a published alert (cap.h says the mapping). */
#include "cap.h"

#include <libxml/xmlwriter.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmldoc.h"

#define CAP_TEXT_MAX (16u * 1024) /* bytes of one element's text */

struct cap_w {
	xmlTextWriterPtr w;
	bool failed;
	char *clean; /* CAP_TEXT_MAX bytes: an element's text made fit for XML */
	char *text;  /* CAP_TEXT_MAX bytes: the description being composed */
};

/* Text fit for XML 1.0: C0 controls other than tab, newline and carriage
 * return cannot appear even escaped; they become spaces. Cut to len - 1
 * bytes, never inside a UTF-8 sequence. */
static void cap_clean(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ? ' ' : (char)c;
	}
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--; /* s[i] continues a sequence begun before: drop its start */
	buf[i] = '\0';
}

static void cap_elem(struct cap_w *c, const char *name, const char *text)
{
	if (c->failed)
		return;
	cap_clean(text, c->clean, CAP_TEXT_MAX);
	if (xmlTextWriterWriteElement(c->w, BAD_CAST name, BAD_CAST c->clean) < 0)
		c->failed = true;
}

static void cap_start(struct cap_w *c, const char *name)
{
	if (!c->failed && xmlTextWriterStartElement(c->w, BAD_CAST name) < 0)
		c->failed = true;
}

static void cap_end(struct cap_w *c)
{
	if (!c->failed && xmlTextWriterEndElement(c->w) < 0)
		c->failed = true;
}

static void cap_param(struct cap_w *c, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	cap_start(c, "parameter");
	cap_elem(c, "valueName", name);
	cap_elem(c, "value", value);
	cap_end(c);
}

/* One parameter per figure a report gave, named as in the alert JSON;
 * a null (unknown) figure is left out (spec 1.1 §6), never sent as 0. */
static void cap_figures(struct cap_w *c, const json_t *figures)
{
	const char *key;
	json_t *v;
	char num[48];

	json_object_foreach((json_t *)figures, key, v)
	{
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			continue;
		snprintf(num, sizeof(num), "%.15g", json_number_value(v));
		cap_param(c, key, num);
	}
}

void cap_identifier(const char *alert_id, int version, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%d", alert_id, version);
}

static const char *cap_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* CAP's dateTime: "2026-11-26T15:10:00+08:00", a numeric offset, no
 * fraction (the schema's pattern refuses "Z" and fractions). */
static bool cap_time_ok(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd+dd:dd";

	if (t == NULL || strlen(t) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd'   ? (t[i] < '0' || t[i] > '9')
		    : shape[i] == '+' ? (t[i] != '+' && t[i] != '-')
				      : t[i] != shape[i])
			return false;
	}
	return true;
}

/* CAP severity of a level name (spec §5). */
static const char *cap_severity(const char *level)
{
	static const char *const map[][2] = {
	    {"extra_large", "Extreme"},
	    {"large", "Severe"},
	    {"medium", "Moderate"},
	    {"small", "Minor"},
	    /* kind warning: the monitoring levels of §12, same ranks */
	    {"red", "Extreme"},
	    {"orange", "Severe"},
	    {"yellow", "Moderate"},
	    {"blue", "Minor"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(level, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static const char *cap_msg_type(const char *t)
{
	if (strcmp(t, "alert") == 0)
		return "Alert";
	if (strcmp(t, "update") == 0)
		return "Update";
	if (strcmp(t, "cancel") == 0)
		return "Cancel";
	return NULL;
}

/* "situation\n\ncauses\n\ntrend", the empty ones left out. */
static void cap_description(const json_t *a, char *buf, size_t len)
{
	static const char *const parts[] = {"situation", "causes", "trend"};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *p = cap_str(a, parts[i]);
		if (p == NULL || p[0] == '\0' || n >= len)
			continue;
		int w = snprintf(buf + n, len - n, "%s%s", n > 0 ? "\n\n" : "", p);
		if (w > 0)
			n += (size_t)w;
	}
}

void cap_area_desc(const char *admin, const char *place, char *buf, size_t len)
{
	static const char *const units[] = {"省", "市", "区", "县", "州", "盟", "旗"};
	size_t alen, s;

	admin = admin ? admin : "";
	place = place ? place : "";
	alen = strlen(admin);
	for (s = 0; s < alen && place[0] != '\0'; s++) {
		bool at_unit = s == 0;
		for (size_t u = 0; !at_unit && u < sizeof(units) / sizeof(units[0]); u++) {
			size_t ul = strlen(units[u]);
			at_unit = s >= ul && memcmp(admin + s - ul, units[u], ul) == 0;
		}
		if (at_unit && strncmp(place, admin + s, alen - s) == 0)
			break;
	}
	if (s >= alen || place[0] == '\0')
		s = alen;
	char *tmp = malloc(s + strlen(place) + 1);
	if (tmp == NULL) {
		buf[0] = '\0';
		return;
	}
	memcpy(tmp, admin, s);
	memcpy(tmp + s, place, strlen(place) + 1);
	cap_clean(tmp, buf, len);
	free(tmp);
}

static void cap_area(struct cap_w *c, const struct cap_opts *o, const json_t *area)
{
	const char *code = cap_str(area, "admin_code");
	json_t *lat = json_object_get(area, "lat"), *lon = json_object_get(area, "lon");
	char desc[CAP_TEXT_MAX / 4], circle[96];

	cap_area_desc(cap_str(area, "admin_name"), cap_str(area, "place"), desc, sizeof(desc));
	cap_start(c, "area");
	cap_elem(c, "areaDesc", desc[0] ? desc : "地点不详");
	if (json_is_number(lat) && json_is_number(lon) && isfinite(json_number_value(lat)) &&
	    isfinite(json_number_value(lon))) {
		snprintf(circle, sizeof(circle), "%.6f,%.6f %g", json_number_value(lat),
			 json_number_value(lon), o->radius_km > 0 ? o->radius_km : 1.0);
		cap_elem(c, "circle", circle);
	}
	if (code != NULL && code[0] != '\0') {
		cap_start(c, "geocode");
		cap_elem(c, "valueName", CAP_GEOCODE_NAME);
		cap_elem(c, "value", code);
		cap_end(c);
	}
	cap_end(c);
}

static void cap_info(struct cap_w *c, const struct cap_opts *o, const json_t *a)
{
	const char *kind = cap_str(a, "kind"), *level = cap_str(a, "level");
	const char *observed = cap_str(a, "observed_at"), *sender = cap_str(a, "sender");
	const char *response = cap_str(a, "response");
	char event[128], web[1024];

	bool warning = strcmp(kind, "warning") == 0;
	/* A warning (§12, drafted from monitoring devices) is a forecast:
	 * how soon and how sure follow its level (docs/devices.md). */
	const char *urgency = "Immediate", *certainty = "Likely";

	if (strcmp(kind, "disaster") == 0)
		certainty = "Observed";
	if (warning && (strcmp(level, "yellow") == 0 || strcmp(level, "blue") == 0)) {
		urgency = strcmp(level, "yellow") == 0 ? "Expected" : "Future";
		certainty = "Possible";
	}
	snprintf(event, sizeof(event), "%s%s", cap_str(a, "hazard_type_zh"),
		 warning			 ? "监测预警"
		 : strcmp(kind, "disaster") == 0 ? "灾情"
						 : "险情");
	snprintf(web, sizeof(web), "%s/alerts/%s", o->base_url ? o->base_url : "",
		 cap_str(a, "alert_id"));
	cap_start(c, "info");
	cap_elem(c, "language", "zh-CN");
	cap_elem(c, "category", "Geo");
	cap_elem(c, "event", event);
	cap_elem(c, "urgency", urgency);
	cap_elem(c, "severity", cap_severity(level));
	cap_elem(c, "certainty", certainty);
	if (cap_time_ok(observed))
		cap_elem(c, "onset", observed);
	if (sender != NULL && sender[0] != '\0')
		cap_elem(c, "senderName", sender);
	cap_elem(c, "headline", cap_str(a, "headline"));
	cap_description(a, c->text, CAP_TEXT_MAX);
	if (c->text[0] != '\0')
		cap_elem(c, "description", c->text);
	if (response != NULL && response[0] != '\0')
		cap_elem(c, "instruction", response);
	if (o->base_url != NULL && o->base_url[0] != '\0')
		cap_elem(c, "web", web);
	cap_param(c, "level", level);
	cap_param(c, "level_zh", cap_str(a, "level_zh"));
	cap_param(c, "response_level", cap_str(a, "response_level"));
	cap_param(c, "color", cap_str(a, "color"));
	cap_figures(c, json_object_get(a, "figures"));
	cap_area(c, o, json_object_get(a, "area"));
	cap_end(c);
}

/* "sender,identifier,sent ..." of the last CAP_REFS_MAX refs. */
static ga_err cap_references(const struct cap_opts *o, const struct cap_ref *refs, int nrefs,
			     char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = nrefs > CAP_REFS_MAX ? nrefs - CAP_REFS_MAX : 0; i < nrefs; i++) {
		int w = snprintf(buf + n, len - n, "%s%s,%s,%s", n > 0 ? " " : "", o->sender,
				 refs[i].identifier, refs[i].sent);
		if (!cap_time_ok(refs[i].sent))
			return GA_ERR_INVAL;
		if (w < 0 || (size_t)w >= len - n)
			return GA_ERR_TOOBIG;
		n += (size_t)w;
	}
	return GA_OK;
}

/* The members the mapping cannot do without. */
static bool cap_alert_ok(const json_t *a)
{
	static const char *const need[] = {"alert_id", "msg_type",	 "status",  "sent",
					   "kind",     "hazard_type_zh", "headline"};
	const char *level = cap_str(a, "level"), *mt = cap_str(a, "msg_type");

	if (!json_is_object(a) || !json_is_integer(json_object_get(a, "version")))
		return false;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (cap_str(a, need[i]) == NULL)
			return false;
	return level != NULL && cap_severity(level) != NULL && cap_msg_type(mt) != NULL &&
	       cap_time_ok(cap_str(a, "sent"));
}

ga_err cap_write(const struct cap_opts *o, const json_t *alert, const struct cap_ref *refs,
		 int nrefs, char **out, size_t *outlen)
{
	char id[CAP_ID_MAX], refbuf[CAP_REFS_MAX * (CAP_ID_MAX * 2 + TIME_TEXT_MAX + 4)];
	struct cap_w c = {NULL, false, NULL, NULL};
	struct xmldoc doc = {NULL, NULL};
	ga_err e = GA_ERR_INVAL;

	if (o == NULL || o->sender == NULL || out == NULL || outlen == NULL || nrefs < 0 ||
	    (nrefs > 0 && refs == NULL) || !cap_alert_ok(alert))
		return GA_ERR_INVAL;
	if (strlen(o->sender) >= CAP_ID_MAX)
		return GA_ERR_INVAL;
	if ((e = cap_references(o, refs, nrefs, refbuf, sizeof(refbuf))) != GA_OK)
		return e;
	e = GA_ERR_NOMEM;
	if ((c.clean = malloc(CAP_TEXT_MAX)) == NULL || (c.text = malloc(CAP_TEXT_MAX)) == NULL)
		goto out;
	if ((e = xmldoc_start(&doc)) != GA_OK)
		goto out;
	c.w = doc.w;
	if (xmlTextWriterStartElementNS(c.w, NULL, BAD_CAST "alert", BAD_CAST CAP_NS) < 0)
		c.failed = true;
	cap_identifier(cap_str(alert, "alert_id"),
		       (int)json_integer_value(json_object_get(alert, "version")), id, sizeof(id));
	cap_elem(&c, "identifier", id);
	cap_elem(&c, "sender", o->sender);
	cap_elem(&c, "sent", cap_str(alert, "sent"));
	cap_elem(&c, "status",
		 strcmp(cap_str(alert, "status"), "exercise") == 0 ? "Exercise" : "Actual");
	cap_elem(&c, "msgType", cap_msg_type(cap_str(alert, "msg_type")));
	cap_elem(&c, "scope", "Public");
	if (refbuf[0] != '\0' && strcmp(cap_str(alert, "msg_type"), "alert") != 0)
		cap_elem(&c, "references", refbuf);
	if (cap_str(alert, "incident_id") != NULL)
		cap_elem(&c, "incidents", cap_str(alert, "incident_id"));
	cap_info(&c, o, alert);
	e = xmldoc_finish(&doc, c.failed, CAP_XML_MAX, out, outlen);
out:
	xmldoc_cleanup(&doc);
	free(c.clean);
	free(c.text);
	return e;
}
