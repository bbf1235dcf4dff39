/* riskwarning_outline.h - a county's outline ring made small enough for a
 * CAP <polygon> (spec §11: closed rings, at most 100 points), and the
 * CAP text of a ring ("lat,lon lat,lon ...", CAP 1.2 §3.3.2: WGS 84
 * latitude first).
 *
 * Simplification keeps a subset of the ring's own vertices (top-down:
 * the vertex farthest from the kept outline is added next, as
 * Douglas-Peucker does), so the result never leaves the area the
 * original vertices span by more than the deviation it reports. The
 * deviation is measured in metres on a local equirectangular projection
 * (exact enough at county size: < 0.1 % over 100 km).
 *
 * A ring that cannot be brought to 100 points within the tolerance (80
 * of the 125 bundled rings cannot: the worst, 320312, needs 1,120 m at
 * 100 points) is cut instead: riskwarning_outline_new cuts the county's
 * area with straight lines into pieces until each piece's ring fits,
 * each piece its own CAP <polygon> (CAP 1.2 allows several per <area>;
 * together they are the area). A cut's ends are kept exactly in the
 * pieces on both sides, so neighbouring pieces share their cut edges
 * and tile the county with no gap or overlap; only the outline stretches
 * are simplified. docs/riskwarnings.md has the figures. */
#ifndef GA_RISKWARNING_OUTLINE_H
#define GA_RISKWARNING_OUTLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "geo.h"

#define RISKWARNING_OUTLINE_MAX 100	    /* points of a CAP ring, closing point included */
#define RISKWARNING_OUTLINE_IN_MAX 1000000u /* points of an input ring */
/* What a county's polygons promise: every stretch of their outline
 * within this many metres of the county's outline, and back. */
#define RISKWARNING_OUTLINE_TOLERANCE_M 200.0
/* What the simplifier works to: 5 % under the promise, for the local
 * projection's scale error (< 0.5 % across a county) against any
 * projected metric CRS the result is measured in. */
#define RISKWARNING_OUTLINE_WORK_M (RISKWARNING_OUTLINE_TOLERANCE_M * 0.95)
#define RISKWARNING_OUTLINE_PIECES_MAX 256 /* polygons of one county */
#define RISKWARNING_OUTLINE_DEPTH_MAX 16   /* cuts on the way to one piece */

/* Simplifies the closed ring in[0..n) (lon, lat pairs; in[n-1] equal to
 * in[0]) to at most max points (4 <= max <= RISKWARNING_OUTLINE_MAX),
 * keeping in[0] and every vertex i with fixed[i] (fixed may be NULL),
 * stopping early once every dropped vertex is within tolerance_m metres
 * of the kept outline. out must hold max pairs; *nout the points written,
 * the last equal to the first (closed); *deviation_m the largest
 * distance of a dropped vertex from the kept outline. A ring of at most
 * max points is copied as it is (deviation 0). GA_ERR_INVAL for a ring
 * that is not closed, has fewer than 4 points or more than
 * RISKWARNING_OUTLINE_IN_MAX, or a non-finite coordinate; GA_ERR_TOOBIG
 * when the fixed vertices alone exceed max; GA_ERR_NOMEM. Distances are
 * metres in the projection of riskwarning_outline_project at the mean
 * latitude of the ring. */
ga_err riskwarning_outline_simplify(const double (*in)[2], const bool *fixed, size_t n, size_t max,
				    double tolerance_m, double (*out)[2], size_t *nout,
				    double *deviation_m);

/* The local projection the simplifier measures in: lon/lat degrees to
 * metres (x east, y north) scaled by the CGCS2000 ellipsoid's radii of
 * curvature at lat0. */
void riskwarning_outline_project(const double (*in)[2], size_t n, double lat0, double (*xy)[2]);

/* A county's area as CAP polygons: each a closed ring of 4 to
 * RISKWARNING_OUTLINE_MAX points (lon, lat), whose outline stretches stay
 * within RISKWARNING_OUTLINE_TOLERANCE_M of the county's outline (and
 * back) and whose other edges are cuts shared with a neighbouring
 * piece; together the pieces cover the county once. Holes are cut
 * through, so no piece has one (CAP polygons have none). */
struct riskwarning_outline;

/* Builds the polygons of rings[0..nrings), ring r the closed ring of
 * pts + start[r] with len[r] points (lon, lat; outer rings and holes of
 * a county, as geo_region_outline walks them). GA_ERR_INVAL for a ring
 * that is not closed or shorter than 4 points, GA_ERR_TOOBIG when the
 * area would need more than RISKWARNING_OUTLINE_PIECES_MAX pieces or
 * RISKWARNING_OUTLINE_DEPTH_MAX cuts, GA_ERR_NOMEM. On GA_OK *out is
 * new (riskwarning_outline_free). */
ga_err riskwarning_outline_new_rings(const double (*pts)[2], const size_t *start, const size_t *len,
				     size_t nrings, struct riskwarning_outline **out);

/* The same for the region admin_code of g; GA_ERR_INVAL for an unknown
 * code. */
ga_err riskwarning_outline_new(const struct geo *g, const char *admin_code,
			       struct riskwarning_outline **out);
void riskwarning_outline_free(struct riskwarning_outline *o);

/* The number of polygons, polygon i (borrowed, *n its points) and the
 * largest deviation of a kept stretch from the outline it replaces, in
 * the simplifier's metres. */
size_t riskwarning_outline_count(const struct riskwarning_outline *o);
const double (*riskwarning_outline_polygon(const struct riskwarning_outline *o, size_t i,
					   size_t *n))[2];
double riskwarning_outline_deviation(const struct riskwarning_outline *o);

/* Writes the ring pts[0..n) as CAP polygon text, "lat,lon lat,lon ..."
 * with 6 decimals (0.1 m), into buf. GA_ERR_TOOBIG when it does not fit
 * in len. */
ga_err riskwarning_outline_cap_text(const double (*pts)[2], size_t n, char *buf, size_t len);

#endif
