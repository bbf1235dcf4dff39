/* geo.h - coordinates and places: PROJ transforms to CGCS2000 lon/lat,
 * the county-level region lookup, the service area and geodesic distance
 * (spec §2 location, §4, §6 1 km rule, §7 locate, §9 [geo]).
 *
 * A struct geo is immutable after geo_new and may be shared by threads.
 * geo_transform is thread-safe: it keeps one PROJ context and a cache of
 * transform objects per thread (created on first use, freed when the
 * thread exits or with geo_free for the calling thread). */
#ifndef GA_GEO_H
#define GA_GEO_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define GEO_CODE_LEN 7	 /* 6 digits + NUL (GB/T 2260) */
#define GEO_NAME_MAX 128 /* bytes of a full region name, NUL included */
#define GEO_MAX_HELMERT 16

/* Warnings a transform may raise; the receipt carries them. */
enum {
	/* No datum shift to CGCS2000 in proj.db (Xian 1980, Beijing 1954):
	 * PROJ used a ballpark transformation, errors up to ~100 m. */
	GEO_WARN_BALLPARK = 1u << 0,
};

struct geo_helmert {
	int epsg;	   /* the geographic CRS (4610, 4214) whose GK zones it serves too */
	char towgs84[160]; /* "dx,dy,dz,rx,ry,rz,ds" as PROJ's +towgs84 takes it */
};

struct geo_options {
	const char *regions_path; /* GeoJSON of county polygons; NULL: bundled file */
	const char *service_area; /* comma/space separated admin-code prefixes; NULL or "": all */
	struct geo_helmert helmert[GEO_MAX_HELMERT];
	int nhelmert;
};

struct region {
	char admin_code[GEO_CODE_LEN]; /* "320282" */
	char name[GEO_NAME_MAX];       /* "宜兴市" */
	char city[GEO_NAME_MAX];       /* "无锡市" */
	char full_name[GEO_NAME_MAX];  /* "江苏省无锡市宜兴市" */
};

struct geo;

/* Loads regions and prepares the service area. On error returns NULL
 * after writing a message naming the file and the problem into err. */
struct geo *geo_new(const struct geo_options *opt, char *err, size_t errlen);
void geo_free(struct geo *g);

/* Transforms (x, y) given in crs ("EPSG:n"; x = easting/longitude,
 * y = northing/latitude whatever the CRS's official axis order) to
 * CGCS2000 (EPSG:4490) lon/lat in degrees.
 * Returns GA_OK; GA_ERR_INVAL when the CRS is unknown or not "EPSG:n"
 * (err says so); GA_ERR_GEO when the point does not transform, the
 * result is not finite or it lies outside the CRS's area of use.
 * *warnings gets GEO_WARN_* bits (may be NULL). */
ga_err geo_transform(struct geo *g, const char *crs, double x, double y, double *lon, double *lat,
		     unsigned *warnings, char *err, size_t errlen);

/* The region containing lon/lat (CGCS2000), or NULL outside every region.
 * Points on a shared border resolve deterministically (lowest code). The
 * result is borrowed from g. */
const struct region *geo_region_at(const struct geo *g, double lon, double lat);

/* The region with this admin code, or NULL. Borrowed from g. */
const struct region *geo_region_by_code(const struct geo *g, const char *admin_code);

/* The regions in admin-code order: geo_region_count of them, the i-th
 * by geo_region_get (NULL past the end). Borrowed from g. For
 * expanding a city code to its counties (riskwarning.c). */
size_t geo_region_count(const struct geo *g);
const struct region *geo_region_get(const struct geo *g, size_t i);

/* Walks the outline of the region with this admin code: every ring
 * (outer rings and holes) of each of its polygons in file order, point by
 * point in lon/lat; start is true at a ring's first point, and a ring
 * ends on its first point again. False (cb not called) for an unknown
 * code. For drawing (geo_svg.c). */
typedef void (*geo_outline_cb)(double lon, double lat, bool start, void *arg);
bool geo_region_outline(const struct geo *g, const char *admin_code, geo_outline_cb cb, void *arg);

/* True when admin_code starts with one of the service-area prefixes. */
bool geo_in_service_area(const struct geo *g, const char *admin_code);

/* Geodesic distance in metres on the CGCS2000 ellipsoid. */
double geo_distance_m(double lon1, double lat1, double lon2, double lat2);

#endif
