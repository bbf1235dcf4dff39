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
 * Why the deviation is reported and not guaranteed: the bundled Jiangsu
 * outlines have rings of up to 2,731 vertices, and 80 of their 125 rings
 * cannot be brought to 100 vertices within 200 m this way (the worst,
 * 320312, deviates 1,120 m at 100 vertices: test_riskwarning_outline
 * prints the figures; docs/riskwarnings.md). */
#ifndef GA_RISKWARNING_OUTLINE_H
#define GA_RISKWARNING_OUTLINE_H

#include <stddef.h>

#include "error.h"

#define RISKWARNING_OUTLINE_MAX 100	    /* points of a CAP ring, closing point included */
#define RISKWARNING_OUTLINE_IN_MAX 1000000u /* points of an input ring */

/* Simplifies the closed ring in[0..n) (lon, lat pairs; in[n-1] equal to
 * in[0]) to at most max points (4 <= max <= RISKWARNING_OUTLINE_MAX),
 * stopping early once every dropped vertex is within tolerance_m metres
 * of the kept outline. out must hold max pairs; *nout the points written,
 * the last equal to the first (closed); *deviation_m the largest
 * distance of a dropped vertex from the kept outline. A ring of at most
 * max points is copied as it is (deviation 0). GA_ERR_INVAL for a ring
 * that is not closed, has fewer than 4 points or more than
 * RISKWARNING_OUTLINE_IN_MAX, or a non-finite coordinate; GA_ERR_NOMEM. */
ga_err riskwarning_outline_simplify(const double (*in)[2], size_t n, size_t max, double tolerance_m,
				    double (*out)[2], size_t *nout, double *deviation_m);

/* Writes the ring pts[0..n) as CAP polygon text, "lat,lon lat,lon ..."
 * with 6 decimals (0.1 m), into buf. GA_ERR_TOOBIG when it does not fit
 * in len. */
ga_err riskwarning_outline_cap_text(const double (*pts)[2], size_t n, char *buf, size_t len);

#endif
