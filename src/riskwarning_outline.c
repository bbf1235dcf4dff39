/* riskwarning_outline.c - top-down simplification of a closed ring to a
 * vertex budget, and its CAP text. */
#include "riskwarning_outline.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* CGCS2000 ellipsoid (GRS 80 for all that matters here). */
#define OUTLINE_A 6378137.0
#define OUTLINE_E2 0.00669438002290

/* Squared distance of p from segment a-b, all in projected metres
 * (squared: the farthest vertex is found without a square root each). */
static double outline_seg_dist2(const double *p, const double *a, const double *b)
{
	double dx = b[0] - a[0], dy = b[1] - a[1];
	double len2 = dx * dx + dy * dy, t = 0;

	if (len2 > 0) {
		t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
	}
	double ex = p[0] - a[0] - t * dx, ey = p[1] - a[1] - t * dy;
	return ex * ex + ey * ey;
}

/* A kept stretch of the ring from vertex a to vertex b (b > a): the
 * dropped vertex farthest from chord a-b, and its distance. */
struct outline_seg {
	size_t a, b, far;
	double dist;
};

static void outline_seg_measure(const double (*xy)[2], struct outline_seg *s)
{
	double best = -1;

	s->far = s->a;
	for (size_t i = s->a + 1; i < s->b; i++) {
		double d = outline_seg_dist2(xy[i], xy[s->a], xy[s->b]);
		if (d > best) {
			best = d;
			s->far = i;
		}
	}
	s->dist = best < 0 ? -1 : sqrt(best);
}

static int outline_size_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return (a > b) - (a < b);
}

/* The local projection: metres east and north of (0, lat0) on the
 * CGCS2000 ellipsoid's radii of curvature at lat0. */
static void outline_scale(double lat0, double *kx, double *ky)
{
	double s = sin(lat0 * M_PI / 180.0), w = sqrt(1 - OUTLINE_E2 * s * s);

	*kx = OUTLINE_A / w * cos(lat0 * M_PI / 180.0) * M_PI / 180.0;
	*ky = OUTLINE_A * (1 - OUTLINE_E2) / (w * w * w) * M_PI / 180.0;
}

void riskwarning_outline_project(const double (*in)[2], size_t n, double lat0, double (*xy)[2])
{
	double kx, ky;

	outline_scale(lat0, &kx, &ky);
	for (size_t i = 0; i < n; i++) {
		xy[i][0] = in[i][0] * kx;
		xy[i][1] = in[i][1] * ky;
	}
}

ga_err riskwarning_outline_simplify(const double (*in)[2], const bool *fixed, size_t n, size_t max,
				    double tolerance_m, double (*out)[2], size_t *nout,
				    double *deviation_m)
{
	double(*xy)[2] = NULL;
	struct outline_seg *segs = NULL;
	size_t *keep = NULL, nkeep = 0, nsegs = 0, nfixed = 0;
	double lat0 = 0;
	ga_err e = GA_ERR_INVAL;

	*nout = 0;
	*deviation_m = 0;
	if (in == NULL || n < 4 || n > RISKWARNING_OUTLINE_IN_MAX || max < 4 ||
	    max > RISKWARNING_OUTLINE_MAX)
		return GA_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(in[i][0]) || !isfinite(in[i][1]))
			return GA_ERR_INVAL;
	if (in[0][0] != in[n - 1][0] || in[0][1] != in[n - 1][1])
		return GA_ERR_INVAL;
	if (n <= max) {
		for (size_t i = 0; i < n; i++) {
			out[i][0] = in[i][0];
			out[i][1] = in[i][1];
		}
		*nout = n;
		return GA_OK;
	}
	for (size_t i = 1; fixed != NULL && i + 1 < n; i++)
		nfixed += fixed[i];
	if (nfixed + 2 > max)
		return GA_ERR_TOOBIG;

	e = GA_ERR_NOMEM;
	if (!(xy = malloc(n * sizeof(*xy))) || !(segs = malloc(max * sizeof(*segs))) ||
	    !(keep = malloc(max * sizeof(*keep))))
		goto out;
	for (size_t i = 0; i < n; i++)
		lat0 += in[i][1] / (double)n;
	riskwarning_outline_project(in, n, lat0, xy);

	keep[nkeep++] = 0;
	if (nfixed > 0) {
		/* The fixed vertices (where a cut meets the outline) are kept
		 * first: the stretches between them. */
		for (size_t i = 1; i + 1 < n; i++)
			if (fixed[i])
				keep[nkeep++] = i;
	} else {
		/* Start from vertex 0 (= n-1) and the vertex farthest from
		 * it: two stretches that together are the whole ring. */
		size_t far = 0;
		double best = -1;
		for (size_t i = 1; i < n - 1; i++) {
			double d = hypot(xy[i][0] - xy[0][0], xy[i][1] - xy[0][1]);
			if (d > best) {
				best = d;
				far = i;
			}
		}
		if (far == 0) { /* every vertex on the first: a degenerate ring */
			e = GA_ERR_INVAL;
			goto out;
		}
		keep[nkeep++] = far;
	}
	keep[nkeep++] = n - 1;
	for (size_t i = 0; i + 1 < nkeep; i++) {
		segs[nsegs] = (struct outline_seg){.a = keep[i], .b = keep[i + 1]};
		outline_seg_measure(xy, &segs[nsegs]);
		nsegs++;
	}

	/* Keep adding the farthest dropped vertex of any stretch while the
	 * budget lasts and something is farther than the tolerance. Each
	 * addition splits one stretch in two: O(n) per addition. A ring at
	 * least 4 points (3 distinct) is kept even within the tolerance. */
	for (;;) {
		size_t worst = 0;
		for (size_t s = 1; s < nsegs; s++)
			if (segs[s].dist > segs[worst].dist)
				worst = s;
		if (nkeep >= max || segs[worst].dist < 0 ||
		    (segs[worst].dist <= tolerance_m && nkeep >= 4))
			break;
		struct outline_seg *w = &segs[worst];
		size_t mid = w->far, b = w->b;
		keep[nkeep++] = mid;
		w->b = mid;
		outline_seg_measure(xy, w);
		segs[nsegs] = (struct outline_seg){.a = mid, .b = b};
		outline_seg_measure(xy, &segs[nsegs]);
		nsegs++;
	}
	for (size_t s = 0; s < nsegs; s++)
		if (segs[s].dist > *deviation_m)
			*deviation_m = segs[s].dist;
	qsort(keep, nkeep, sizeof(*keep), outline_size_cmp);
	for (size_t i = 0; i < nkeep; i++) {
		out[i][0] = in[keep[i]][0];
		out[i][1] = in[keep[i]][1];
	}
	*nout = nkeep;
	e = GA_OK;
out:
	free(keep);
	free(segs);
	free(xy);
	return e;
}

ga_err riskwarning_outline_cap_text(const double (*pts)[2], size_t n, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return GA_ERR_TOOBIG;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, len - off, "%s%.6f,%.6f", i ? " " : "", pts[i][1],
				 pts[i][0]);
		if (w < 0 || (size_t)w >= len - off) {
			buf[0] = '\0';
			return GA_ERR_TOOBIG;
		}
		off += (size_t)w;
	}
	return GA_OK;
}
