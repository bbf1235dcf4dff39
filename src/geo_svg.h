/* geo_svg.h - a county outline as a small SVG image with a point marked,
 * for the duty officers' console (no map tiles, nothing external). */
#ifndef GA_GEO_SVG_H
#define GA_GEO_SVG_H

#include <stddef.h>

#include "error.h"
#include "geo.h"

#define GEO_SVG_MAX (512u * 1024) /* bytes of one image */
#define GEO_SVG_WIDTH 320	  /* user units across; the height follows */

/* Draws the region admin_code of g (its rings, in an equirectangular
 * projection scaled by cos(latitude)) and a marker at lon/lat; the view
 * covers both. An unknown or empty admin_code draws the marker alone.
 * Vertices closer than a quarter unit to the previous one are dropped.
 * The image has an accessible name (role="img", a <title> with the
 * region's full name and the point, aria-labelledby="map-title": one map
 * per page).
 * On GA_OK *out is a malloc'd, NUL-terminated SVG document of *outlen
 * bytes (caller frees); GA_ERR_INVAL for a non-finite point,
 * GA_ERR_TOOBIG past GEO_SVG_MAX, GA_ERR_NOMEM. */
ga_err geo_svg_region(const struct geo *g, const char *admin_code, double lon, double lat,
		      char **out, size_t *outlen);

#endif
