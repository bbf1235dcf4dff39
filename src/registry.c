/* registry.c - the station registry (spec §4): a GeoJSON FeatureCollection
 * of Points, validated field by field, kept as an array sorted by
 * station_id for bsearch. */
#include "registry.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "log.h"

#define REGISTRY_PEOPLE_MAX 1e9	   /* threatened_people: an integer below this */
#define REGISTRY_PROPERTY_MAX 1e15 /* threatened_property_cny, yuan */

struct registry {
	struct station *stations; /* sorted by station_id */
	size_t n;
};

/* A station being loaded, with its feature index for messages. */
struct registry_pending {
	struct station st;
	size_t index;
};

static bool registry_valid_id(const char *s, size_t len)
{
	if (len < 1 || len > REGISTRY_ID_MAX - 1 || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* A text field: a string of 1..max-1 bytes with no control characters. */
static bool registry_text(json_t *v, char *dst, size_t max)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (s == NULL || len == 0 || len >= max || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	memcpy(dst, s, len + 1);
	return true;
}

/* The optional contacts (§12): [{"name", "phone"}, ...]. */
static bool registry_contacts(json_t *v, struct station *st, char *why, size_t whylen)
{
	size_t i;
	json_t *c;

	st->ncontacts = 0;
	if (v == NULL)
		return true;
	if (!json_is_array(v) || json_array_size(v) > REGISTRY_CONTACTS_MAX) {
		snprintf(why, whylen, "contacts is not an array of at most %d contacts",
			 REGISTRY_CONTACTS_MAX);
		return false;
	}
	json_array_foreach(v, i, c)
	{
		struct station_contact *sc = &st->contacts[i];
		const char *phone = json_string_value(json_object_get(c, "phone"));
		size_t len = phone ? strlen(phone) : 0;
		if (!json_is_object(c) ||
		    !registry_text(json_object_get(c, "name"), sc->name, sizeof(sc->name))) {
			snprintf(why, whylen, "contacts[%zu]: name missing or longer than %d bytes",
				 i, REGISTRY_CONTACT_NAME_MAX - 1);
			return false;
		}
		if (len < 3 || len >= sizeof(sc->phone) || strspn(phone, "0123456789+- ") != len ||
		    strpbrk(phone, "0123456789") == NULL) {
			snprintf(why, whylen, "contacts[%zu]: phone is not a phone number", i);
			return false;
		}
		memcpy(sc->phone, phone, len + 1);
		st->ncontacts++;
	}
	return true;
}

/* Validates one feature into st; writes the problem into why. */
static bool registry_feature(json_t *f, struct station *st, char *why, size_t whylen)
{
	json_t *geom, *coords, *props, *v;
	const char *type;
	double x, y;
	int ht;

	if (!json_is_object(f)) {
		snprintf(why, whylen, "not an object");
		return false;
	}
	props = json_object_get(f, "properties");
	if (!json_is_object(props)) {
		snprintf(why, whylen, "properties is not an object");
		return false;
	}
	v = json_object_get(props, "station_id");
	if (!json_is_string(v) || !registry_valid_id(json_string_value(v), json_string_length(v))) {
		snprintf(why, whylen, "station_id is not 1-%d characters of A-Z a-z 0-9 . _ : -",
			 REGISTRY_ID_MAX - 1);
		return false;
	}
	memcpy(st->station_id, json_string_value(v), json_string_length(v) + 1);
	type = json_string_value(json_object_get(f, "type"));
	if (type == NULL || strcmp(type, "Feature") != 0) {
		snprintf(why, whylen, "type is not \"Feature\"");
		return false;
	}
	geom = json_object_get(f, "geometry");
	type = json_string_value(json_object_get(geom, "type"));
	coords = json_object_get(geom, "coordinates");
	if (type == NULL || strcmp(type, "Point") != 0 || !json_is_array(coords) ||
	    json_array_size(coords) < 2 || json_array_size(coords) > 3 ||
	    !json_is_number(json_array_get(coords, 0)) ||
	    !json_is_number(json_array_get(coords, 1))) {
		snprintf(why, whylen, "geometry is not a Point [lon, lat]");
		return false;
	}
	x = json_number_value(json_array_get(coords, 0));
	y = json_number_value(json_array_get(coords, 1));
	if (!isfinite(x) || !isfinite(y) || x < -180 || x > 180 || y < -90 || y > 90) {
		snprintf(why, whylen, "coordinates are not a lon/lat in range");
		return false;
	}
	st->lon = x;
	st->lat = y;
	if (!registry_text(json_object_get(props, "name"), st->name, sizeof(st->name))) {
		snprintf(why, whylen, "name is not a string of 1-%d bytes", REGISTRY_NAME_MAX - 1);
		return false;
	}
	if (!registry_text(json_object_get(props, "hazard_point_id"), st->hazard_point_id,
			   sizeof(st->hazard_point_id))) {
		snprintf(why, whylen, "hazard_point_id is not a string of 1-%d bytes",
			 REGISTRY_HP_MAX - 1);
		return false;
	}
	v = json_object_get(props, "hazard_type");
	if (!json_is_string(v) || (ht = hazard_type_from_name(json_string_value(v))) < 0) {
		snprintf(why, whylen, "hazard_type is not one of the contract's hazard types");
		return false;
	}
	st->hazard_type = (enum hazard_type)ht;
	v = json_object_get(props, "admin_code");
	if (!json_is_string(v) || json_string_length(v) != 6 ||
	    strspn(json_string_value(v), "0123456789") != 6) {
		snprintf(why, whylen, "admin_code is not 6 digits");
		return false;
	}
	memcpy(st->admin_code, json_string_value(v), 7);
	v = json_object_get(props, "threatened_people");
	if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
	    json_number_value(v) >= REGISTRY_PEOPLE_MAX ||
	    floor(json_number_value(v)) != json_number_value(v)) {
		snprintf(why, whylen, "threatened_people is not a non-negative integer");
		return false;
	}
	st->threatened_people = json_number_value(v);
	v = json_object_get(props, "threatened_property_cny");
	if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
	    !(json_number_value(v) < REGISTRY_PROPERTY_MAX)) {
		snprintf(why, whylen, "threatened_property_cny is not a non-negative number");
		return false;
	}
	st->threatened_property_cny = json_number_value(v);
	return registry_contacts(json_object_get(props, "contacts"), st, why, whylen);
}

static int registry_pending_cmp(const void *a, const void *b)
{
	const struct registry_pending *x = a, *y = b;
	int c = strcmp(x->st.station_id, y->st.station_id);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void registry_check_region(const char *path, const struct registry_pending *p,
				  const struct geo *geo)
{
	const struct region *r = geo_region_at(geo, p->st.lon, p->st.lat);

	if (r == NULL)
		log_warnx("%s: feature %zu (station_id %s): point %.6f, %.6f lies outside every "
			  "known region (admin_code %s not checked)",
			  path, p->index, p->st.station_id, p->st.lon, p->st.lat, p->st.admin_code);
	else if (strcmp(r->admin_code, p->st.admin_code) != 0)
		log_warnx(
		    "%s: feature %zu (station_id %s): admin_code %s but the point lies in %s %s",
		    path, p->index, p->st.station_id, p->st.admin_code, r->admin_code,
		    r->full_name);
}

ga_err registry_load(const char *path, const struct geo *geo, struct registry **out, char *err,
		     size_t errlen)
{
	char *buf = NULL, why[256];
	size_t len = 0, nf;
	json_t *doc = NULL, *features;
	json_error_t jerr;
	struct registry_pending *pend = NULL;
	struct registry *r = NULL;
	const char *type;
	ga_err rc;

	if ((rc = file_read(path, REGISTRY_MAX_BYTES, &buf, &len, err, errlen)) != GA_OK)
		goto out;
	rc = GA_ERR_CONFIG;
	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	type = json_string_value(json_object_get(doc, "type"));
	features = json_object_get(doc, "features");
	if (type == NULL || strcmp(type, "FeatureCollection") != 0 || !json_is_array(features)) {
		snprintf(err, errlen, "%s: not a GeoJSON FeatureCollection", path);
		goto out;
	}
	nf = json_array_size(features);
	if (nf > REGISTRY_MAX_STATIONS) {
		snprintf(err, errlen, "%s: %zu stations (at most %d)", path, nf,
			 REGISTRY_MAX_STATIONS);
		goto out;
	}
	if ((pend = calloc(nf ? nf : 1, sizeof(*pend))) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL ||
	    (r->stations = calloc(nf ? nf : 1, sizeof(*r->stations))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = GA_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		pend[i].index = i;
		if (!registry_feature(json_array_get(features, i), &pend[i].st, why, sizeof(why))) {
			if (pend[i].st.station_id[0] != '\0')
				snprintf(err, errlen, "%s: feature %zu (station_id %s): %s", path,
					 i, pend[i].st.station_id, why);
			else
				snprintf(err, errlen, "%s: feature %zu: %s", path, i, why);
			goto out;
		}
	}
	qsort(pend, nf, sizeof(*pend), registry_pending_cmp);
	for (size_t i = 0; i + 1 < nf; i++)
		if (strcmp(pend[i].st.station_id, pend[i + 1].st.station_id) == 0) {
			snprintf(err, errlen,
				 "%s: feature %zu (station_id %s): duplicate station_id (first in "
				 "feature %zu)",
				 path, pend[i + 1].index, pend[i].st.station_id, pend[i].index);
			goto out;
		}
	for (size_t i = 0; i < nf; i++) {
		r->stations[i] = pend[i].st;
		if (geo != NULL)
			registry_check_region(path, &pend[i], geo);
	}
	r->n = nf;
	*out = r;
	r = NULL;
	rc = GA_OK;
out:
	registry_free(r);
	free(pend);
	json_decref(doc);
	free(buf);
	return rc;
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	free(r->stations);
	free(r);
}

static int registry_find_cmp(const void *key, const void *elem)
{
	const struct station *st = elem;

	return strcmp(key, st->station_id);
}

const struct station *registry_find(const struct registry *r, const char *station_id)
{
	if (r == NULL || station_id == NULL || r->n == 0)
		return NULL;
	return bsearch(station_id, r->stations, r->n, sizeof(r->stations[0]), registry_find_cmp);
}

size_t registry_count(const struct registry *r)
{
	return r != NULL ? r->n : 0;
}

const struct station *registry_at(const struct registry *r, size_t i)
{
	return i < r->n ? &r->stations[i] : NULL;
}
