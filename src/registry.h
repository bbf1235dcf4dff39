/* registry.h - the station registry (spec §4): a GeoJSON FeatureCollection
 * with one Point per station. Immutable once loaded; the service swaps in
 * a new one on SIGHUP. */
#ifndef GA_REGISTRY_H
#define GA_REGISTRY_H

#include <stddef.h>

#include "error.h"
#include "geo.h"
#include "hazard.h"

#define REGISTRY_ID_MAX 65 /* station_id: 64 bytes + NUL */
#define REGISTRY_NAME_MAX 256
#define REGISTRY_HP_MAX 33 /* hazard_point_id */
#define REGISTRY_MAX_STATIONS 100000
#define REGISTRY_MAX_BYTES (64u << 20)
/* The optional `contacts` of a station (spec §12: the hazard point's
 * monitors, private like a reporter): at most this many, each a name and
 * a phone number (digits, with + - and spaces). */
#define REGISTRY_CONTACTS_MAX 4
#define REGISTRY_CONTACT_NAME_MAX 49
#define REGISTRY_PHONE_MAX 21

struct station_contact {
	char name[REGISTRY_CONTACT_NAME_MAX];
	char phone[REGISTRY_PHONE_MAX];
};

struct station {
	char station_id[REGISTRY_ID_MAX];
	char name[REGISTRY_NAME_MAX];
	char hazard_point_id[REGISTRY_HP_MAX];
	enum hazard_type hazard_type;
	char admin_code[GEO_CODE_LEN];
	double lon, lat; /* CGCS2000 */
	double threatened_people;
	double threatened_property_cny;
	struct station_contact contacts[REGISTRY_CONTACTS_MAX];
	int ncontacts;
};

struct registry;

/* Loads and validates the registry at path. geo may be NULL; when given,
 * each station's admin_code is checked against the polygon its point lies
 * in and a mismatch is logged as a warning (not an error).
 * On error returns GA_ERR_CONFIG (or GA_ERR_IO) and writes into err a
 * message naming the file and the feature (index and station_id) at
 * fault; *out is left unchanged. On success *out owns a new registry. */
ga_err registry_load(const char *path, const struct geo *geo, struct registry **out, char *err,
		     size_t errlen);
void registry_free(struct registry *r);

/* The station with this id, or NULL. Borrowed from r. O(log n). */
const struct station *registry_find(const struct registry *r, const char *station_id);
size_t registry_count(const struct registry *r);
/* The i-th station in station_id order (i < registry_count). Borrowed. */
const struct station *registry_at(const struct registry *r, size_t i);

#endif
