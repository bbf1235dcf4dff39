/* geo.c - the geo context: creation, service area, region by code and
 * geodesic distance. Region loading and lookup are in geo_region.c, the
 * PROJ transforms in geo_transform.c. */
#include <geodesic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "geo_internal.h"

/* CGCS2000 ellipsoid (GRS 1980 axes, CGCS2000 flattening). */
#define GEO_CGCS2000_A 6378137.0
#define GEO_CGCS2000_F (1.0 / 298.257222101)

static atomic_uint_fast64_t geo_next_id = 1;

static struct geod_geodesic geo_ellipsoid;
static pthread_once_t geo_ellipsoid_once = PTHREAD_ONCE_INIT;

static void geo_ellipsoid_init(void)
{
	geod_init(&geo_ellipsoid, GEO_CGCS2000_A, GEO_CGCS2000_F);
}

/* Parses "32, 3201 3202" into g->prefixes: each 1-6 digits. */
static ga_err geo_parse_service_area(struct geo *g, const char *s, char *err, size_t errlen)
{
	const char *p = s;

	g->nprefixes = 0;
	if (s == NULL)
		return GA_OK;
	while (*p != '\0') {
		size_t n = 0;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n == 0 || n > 6 ||
		    (p[n] != '\0' && p[n] != ',' && p[n] != ' ' && p[n] != '\t')) {
			snprintf(
			    err, errlen,
			    "service_area: \"%s\" is not a list of 1-6 digit admin-code prefixes",
			    s);
			return GA_ERR_CONFIG;
		}
		if (g->nprefixes == GEO_MAX_PREFIXES) {
			snprintf(err, errlen, "service_area: more than %d prefixes",
				 GEO_MAX_PREFIXES);
			return GA_ERR_CONFIG;
		}
		memcpy(g->prefixes[g->nprefixes], p, n);
		g->prefixes[g->nprefixes][n] = '\0';
		g->nprefixes++;
		p += n;
	}
	return GA_OK;
}

static ga_err geo_copy_helmert(struct geo *g, const struct geo_options *opt, char *err,
			       size_t errlen)
{
	if (opt->nhelmert < 0 || opt->nhelmert > GEO_MAX_HELMERT) {
		snprintf(err, errlen, "helmert: %d entries (at most %d)", opt->nhelmert,
			 GEO_MAX_HELMERT);
		return GA_ERR_CONFIG;
	}
	for (int i = 0; i < opt->nhelmert; i++) {
		const struct geo_helmert *h = &opt->helmert[i];
		const char *p = h->towgs84;
		int commas = 0;

		if (memchr(h->towgs84, '\0', sizeof(h->towgs84)) == NULL || h->epsg <= 0) {
			snprintf(err, errlen, "helmert %d: bad entry", i + 1);
			return GA_ERR_CONFIG;
		}
		/* Only numbers and commas: the string goes into a PROJ pipeline. */
		for (; *p != '\0'; p++) {
			if (*p == ',')
				commas++;
			else if (strchr("0123456789.-+eE", *p) == NULL) {
				snprintf(err, errlen,
					 "helmert EPSG:%d: towgs84 \"%s\" is not 3 or 7 numbers",
					 h->epsg, h->towgs84);
				return GA_ERR_CONFIG;
			}
		}
		if (commas != 2 && commas != 6) {
			snprintf(err, errlen,
				 "helmert EPSG:%d: towgs84 \"%s\" is not 3 or 7 numbers", h->epsg,
				 h->towgs84);
			return GA_ERR_CONFIG;
		}
		g->helmert[i] = *h;
	}
	g->nhelmert = opt->nhelmert;
	return GA_OK;
}

struct geo *geo_new(const struct geo_options *opt, char *err, size_t errlen)
{
	struct geo *g = NULL, *ret = NULL;
	struct geo_options none = {0};
	char path[1024];

	if (opt == NULL)
		opt = &none;
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	g->id = atomic_fetch_add(&geo_next_id, 1);
	if (geo_parse_service_area(g, opt->service_area, err, errlen) != GA_OK)
		goto out;
	if (geo_copy_helmert(g, opt, err, errlen) != GA_OK)
		goto out;
	if (opt->regions_path != NULL && opt->regions_path[0] != '\0')
		snprintf(path, sizeof(path), "%s", opt->regions_path);
	else
		snprintf(path, sizeof(path), "%s/geo/regions.geojson", GA_DATADIR);
	if (geo__load_regions(g, path, err, errlen) != GA_OK)
		goto out;
	ret = g;
	g = NULL;
out:
	geo_free(g);
	return ret;
}

void geo_free(struct geo *g)
{
	if (g == NULL)
		return;
	geo__forget_thread(g);
	geo__free_regions(g);
	free(g);
}

static int geo_region_cmp(const void *key, const void *elem)
{
	const struct region *r = elem;

	return strcmp(key, r->admin_code);
}

const struct region *geo_region_by_code(const struct geo *g, const char *admin_code)
{
	if (g == NULL || admin_code == NULL || g->nregions == 0)
		return NULL;
	return bsearch(admin_code, g->regions, g->nregions, sizeof(g->regions[0]), geo_region_cmp);
}

size_t geo_region_count(const struct geo *g)
{
	return g == NULL ? 0 : g->nregions;
}

const struct region *geo_region_get(const struct geo *g, size_t i)
{
	if (g == NULL || i >= g->nregions)
		return NULL;
	return &g->regions[i];
}

bool geo_in_service_area(const struct geo *g, const char *admin_code)
{
	if (admin_code == NULL)
		return false;
	if (g == NULL || g->nprefixes == 0)
		return true;
	for (int i = 0; i < g->nprefixes; i++)
		if (strncmp(admin_code, g->prefixes[i], strlen(g->prefixes[i])) == 0)
			return true;
	return false;
}

double geo_distance_m(double lon1, double lat1, double lon2, double lat2)
{
	double s12 = 0, azi1, azi2;

	pthread_once(&geo_ellipsoid_once, geo_ellipsoid_init);
	geod_inverse(&geo_ellipsoid, lat1, lon1, lat2, lon2, &s12, &azi1, &azi2);
	return s12;
}
