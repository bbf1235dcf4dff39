/* test_riskwarning_outline.c - CAP polygons of a county (spec §11, issue
 * 14): ring simplification (closed, at most the budget, vertices of the
 * original, fixed vertices kept, the deviation reported truthfully:
 * checked here by brute force), the cut into pieces (holes cut through,
 * the area kept), CAP's lat,lon order, and for every county of the
 * bundled regions the three properties the issue asks, measured in a
 * projected metric CRS through PROJ: every polygon closed and at most
 * 100 points, the outline of the county's polygons within 200 m of the
 * county's outline both ways (Hausdorff), and the polygons covering the
 * county once. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <proj.h>

#include "geo.h"
#include "riskwarning_outline.h"

/* Distance of p from segment a-b (lon/lat) in the simplifier's own
 * projection at lat0: what it reports. */
static double seg_dist(const double *p, const double *a, const double *b, double lat0)
{
	double in[3][2] = {{a[0], a[1]}, {b[0], b[1]}, {p[0], p[1]}}, xy[3][2];

	riskwarning_outline_project((const double(*)[2])in, 3, lat0, xy);
	double ax = xy[0][0], ay = xy[0][1], bx = xy[1][0], by = xy[1][1], px = xy[2][0],
	       py = xy[2][1];
	double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy, t = 0;

	if (l2 > 0) {
		t = ((px - ax) * dx + (py - ay) * dy) / l2;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
	}
	return hypot(px - ax - t * dx, py - ay - t * dy);
}

/* Checks out against in: closed, <= max, each out point a vertex of in
 * in ring order, and every in vertex within dev (+1 mm) of the out
 * segment spanning it. Returns the largest distance found. */
static double check(const double (*in)[2], size_t n, const double (*out)[2], size_t nout,
		    size_t max, double dev)
{
	double lat0 = 0, worst = 0;
	size_t j = 0, prev = 0;

	assert_true(nout >= 4 && nout <= max);
	assert_true(out[0][0] == out[nout - 1][0] && out[0][1] == out[nout - 1][1]);
	for (size_t i = 0; i < n; i++)
		lat0 += in[i][1] / (double)n;
	assert_true(in[0][0] == out[0][0] && in[0][1] == out[0][1]);
	for (size_t o = 1; o < nout; o++) {
		/* the next kept vertex, in order */
		for (j = prev + 1; j < n; j++)
			if (in[j][0] == out[o][0] && in[j][1] == out[o][1])
				break;
		assert_true(j < n);
		for (size_t i = prev + 1; i < j; i++) {
			double d = seg_dist(in[i], out[o - 1], out[o], lat0);
			if (d > worst)
				worst = d;
		}
		prev = j;
	}
	assert_true(worst <= dev + 1e-3);
	return worst;
}

/* A circle of n points (closed), radius r_deg. */
static double (*circle(size_t n, double r_deg))[2]
{
	double(*p)[2] = malloc(n * sizeof(*p));

	assert_non_null(p);
	for (size_t i = 0; i + 1 < n; i++) {
		double a = 2 * M_PI * (double)i / (double)(n - 1);
		p[i][0] = 118.8 + r_deg * cos(a);
		p[i][1] = 32.0 + r_deg * sin(a);
	}
	p[n - 1][0] = p[0][0];
	p[n - 1][1] = p[0][1];
	return p;
}

static void test_budget_and_tolerance(void **state)
{
	double(*in)[2] = circle(2001, 0.2), out[RISKWARNING_OUTLINE_MAX][2], dev;
	size_t nout;

	/* The budget: exactly at it. */
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 2001,
						      RISKWARNING_OUTLINE_MAX, 0, out, &nout, &dev),
			 GA_OK);
	assert_int_equal(nout, RISKWARNING_OUTLINE_MAX);
	double worst = check((const double(*)[2])in, 2001, (const double(*)[2])out, nout,
			     RISKWARNING_OUTLINE_MAX, dev);
	assert_true(fabs(worst - dev) < 1e-6);
	/* An ellipse of 18.8 x 22.2 km radii: evenly spaced, 99 chords would
	 * stay within r(1-cos(pi/99)) = 11 m; top-down insertion spaces them
	 * less evenly, within a few times that. */
	print_message("circle of 2001 points at 100: %.1f m\n", dev);
	assert_true(dev > 1 && dev < 50);
	/* A tolerance stops early. */
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 2001,
						      RISKWARNING_OUTLINE_MAX, 200, out, &nout,
						      &dev),
			 GA_OK);
	assert_true(nout < 40);
	assert_true(dev <= 200);
	check((const double(*)[2])in, 2001, (const double(*)[2])out, nout, RISKWARNING_OUTLINE_MAX,
	      dev);
	free(in);
}

static void test_small_and_bad(void **state)
{
	double(*in)[2] = circle(101, 0.1), out[RISKWARNING_OUTLINE_MAX][2], dev;
	size_t nout;

	/* At the cap: copied; one past: simplified to the cap. */
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 100, 100, 0,
						      out, &nout, &dev),
			 GA_ERR_INVAL); /* in[99] is not in[0]: not closed */
	free(in);
	in = circle(100, 0.1);
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 100, 100, 0,
						      out, &nout, &dev),
			 GA_OK);
	assert_int_equal(nout, 100);
	assert_true(dev == 0);
	free(in);
	in = circle(101, 0.1);
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 101, 100, 0,
						      out, &nout, &dev),
			 GA_OK);
	assert_int_equal(nout, 100);
	check((const double(*)[2])in, 101, (const double(*)[2])out, nout, 100, dev);
	/* Budgets outside 4..RISKWARNING_OUTLINE_MAX, short rings, NaN. */
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, NULL, 101, 3, 0, out, &nout, &dev),
	    GA_ERR_INVAL);
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 101,
						      RISKWARNING_OUTLINE_MAX + 1, 0, out, &nout,
						      &dev),
			 GA_ERR_INVAL);
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, NULL, 3, 100, 0, out, &nout, &dev),
	    GA_ERR_INVAL);
	in[5][1] = NAN;
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, NULL, 101, 100, 0,
						      out, &nout, &dev),
			 GA_ERR_INVAL);
	free(in);
	/* The smallest budget still gives a closed ring of 4. */
	in = circle(50, 0.1);
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, NULL, 50, 4, 0, out, &nout, &dev),
	    GA_OK);
	assert_int_equal(nout, 4);
	check((const double(*)[2])in, 50, (const double(*)[2])out, nout, 4, dev);
	free(in);
}

static void test_cap_text(void **state)
{
	const double pts[4][2] = {{118.5, 32.25}, {118.75, 32.25}, {118.75, 32.5}, {118.5, 32.25}};
	char buf[256];

	assert_int_equal(riskwarning_outline_cap_text(pts, 4, buf, sizeof(buf)), GA_OK);
	/* latitude first */
	assert_string_equal(buf, "32.250000,118.500000 32.250000,118.750000 32.500000,118.750000 "
				 "32.250000,118.500000");
	size_t need = strlen(buf) + 1;
	assert_int_equal(riskwarning_outline_cap_text(pts, 4, buf, need), GA_OK);
	assert_int_equal(riskwarning_outline_cap_text(pts, 4, buf, need - 1), GA_ERR_TOOBIG);
	assert_string_equal(buf, "");
}

struct collect {
	double (*pts)[2];
	size_t n, cap;
	size_t rings, over, within;
	double worst;
	char worst_code[GEO_CODE_LEN];
	const char *code;
};

static void flush(struct collect *c)
{
	double out[RISKWARNING_OUTLINE_MAX][2], dev;
	size_t nout;

	if (c->n == 0)
		return;
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])c->pts, NULL, c->n,
						      RISKWARNING_OUTLINE_MAX, 0, out, &nout, &dev),
			 GA_OK);
	check((const double(*)[2])c->pts, c->n, (const double(*)[2])out, nout,
	      RISKWARNING_OUTLINE_MAX, dev);
	c->rings++;
	if (c->n > RISKWARNING_OUTLINE_MAX)
		c->over++;
	if (dev <= 200)
		c->within++;
	if (dev > c->worst) {
		c->worst = dev;
		snprintf(c->worst_code, sizeof(c->worst_code), "%s", c->code);
	}
	c->n = 0;
}

static void point(double lon, double lat, bool start, void *arg)
{
	struct collect *c = arg;

	if (start)
		flush(c);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->pts = realloc(c->pts, c->cap * sizeof(*c->pts));
		assert_non_null(c->pts);
	}
	c->pts[c->n][0] = lon;
	c->pts[c->n][1] = lat;
	c->n++;
}

/* Every ring of the bundled regions. */
static void test_bundled_regions(void **state)
{
	struct geo_options opt;
	struct collect c = {0};
	char err[512];
	struct geo *g;

	memset(&opt, 0, sizeof(opt));
	g = geo_new(&opt, err, sizeof(err));
	if (g == NULL)
		fail_msg("geo_new: %s", err);
	for (size_t i = 0; i < geo_region_count(g); i++) {
		c.code = geo_region_get(g, i)->admin_code;
		assert_true(geo_region_outline(g, c.code, point, &c));
		flush(&c);
	}
	print_message("bundled regions: %zu rings, %zu over %d points; %zu within 200 m at %d "
		      "points; worst %.0f m (%s)\n",
		      c.rings, c.over, RISKWARNING_OUTLINE_MAX, c.within, RISKWARNING_OUTLINE_MAX,
		      c.worst, c.worst_code);
	assert_true(c.rings >= geo_region_count(g));
	free(c.pts);
	geo_free(g);
}

/* Fixed vertices are kept whatever the tolerance; more of them than the
 * budget is TOOBIG. */
static void test_fixed(void **state)
{
	double(*in)[2] = circle(2001, 0.2), out[RISKWARNING_OUTLINE_MAX][2], dev;
	bool fixed[2001] = {false};
	size_t nout;

	fixed[333] = fixed[1500] = fixed[1999] = true;
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, fixed, 2001,
						      RISKWARNING_OUTLINE_MAX, 1e9, out, &nout,
						      &dev),
			 GA_OK);
	assert_int_equal(nout, 5); /* 0, the three, the closing point */
	check((const double(*)[2])in, 2001, (const double(*)[2])out, nout, RISKWARNING_OUTLINE_MAX,
	      dev);
	assert_true(out[1][0] == in[333][0] && out[2][0] == in[1500][0] &&
		    out[3][0] == in[1999][0]);
	/* 98 fixed + the first and the closing point: at the budget. */
	memset(fixed, 0, sizeof(fixed));
	for (size_t i = 1; i <= 98; i++)
		fixed[i * 20] = true;
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, fixed, 2001,
						      RISKWARNING_OUTLINE_MAX, 0, out, &nout, &dev),
			 GA_OK);
	assert_int_equal(nout, RISKWARNING_OUTLINE_MAX);
	fixed[1990] = true; /* one past */
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, fixed, 2001,
						      RISKWARNING_OUTLINE_MAX, 0, out, &nout, &dev),
			 GA_ERR_TOOBIG);
	free(in);
}

static double shoelace(const double (*p)[2], size_t n)
{
	double a = 0;

	for (size_t i = 0; i + 1 < n; i++)
		a += p[i][0] * p[i + 1][1] - p[i + 1][0] * p[i][1];
	return a / 2;
}

/* A square county of 500 wiggly points per side around a square hole
 * (another county inside it): no piece has a hole (the cut goes through
 * it), each piece fits, and the pieces' areas add up to the square's
 * minus the hole's, to rounding. */
static void test_hole(void **state)
{
	enum { SIDE = 500, N = 4 * SIDE + 1 };
	double(*pts)[2] = malloc((N + 5) * sizeof(*pts)), area = 0;
	size_t start[2] = {0, N}, len[2] = {N, 5};
	struct riskwarning_outline *o = NULL;

	assert_non_null(pts);
	for (size_t i = 0; i < 4 * SIDE; i++) {
		double t = (double)(i % SIDE) / SIDE, w = (i % 2) ? 0.01 : 0; /* ~1 km teeth */
		double x, y;
		switch (i / SIDE) {
		case 0:
			x = 118 + t, y = 32 - w;
			break;
		case 1:
			x = 119 + w, y = 32 + t;
			break;
		case 2:
			x = 119 - t, y = 33 + w;
			break;
		default:
			x = 118 - w, y = 33 - t;
			break;
		}
		pts[i][0] = x, pts[i][1] = y;
	}
	pts[N - 1][0] = pts[0][0], pts[N - 1][1] = pts[0][1];
	/* the hole, clockwise or not: the depth decides */
	const double hole[5][2] = {
	    {118.4, 32.4}, {118.6, 32.4}, {118.6, 32.6}, {118.4, 32.6}, {118.4, 32.4}};
	memcpy(pts + N, hole, sizeof(hole));
	double want = fabs(shoelace((const double(*)[2])pts, N)) - fabs(shoelace(hole, 5));

	assert_int_equal(riskwarning_outline_new_rings((const double(*)[2])pts, start, len, 2, &o),
			 GA_OK);
	assert_true(riskwarning_outline_count(o) > 2);
	for (size_t i = 0; i < riskwarning_outline_count(o); i++) {
		size_t n;
		const double(*p)[2] = riskwarning_outline_polygon(o, i, &n);
		assert_true(n >= 4 && n <= RISKWARNING_OUTLINE_MAX);
		assert_true(p[0][0] == p[n - 1][0] && p[0][1] == p[n - 1][1]);
		assert_true(shoelace(p, n) > 0); /* counter-clockwise, not a hole */
		area += shoelace(p, n);
	}
	/* The teeth are 1 km deep: simplified within 190 m they must stay;
	 * a piece cut off the hole or covering it would be off by 0.04. */
	print_message("square with a hole: %zu pieces, area %.6f of %.6f deg2\n",
		      riskwarning_outline_count(o), area, want);
	assert_true(fabs(area - want) < 0.01 * want);
	assert_true(riskwarning_outline_deviation(o) <= RISKWARNING_OUTLINE_WORK_M);
	riskwarning_outline_free(o);
	/* Bad input: an open ring, no rings. */
	len[0] = N - 1;
	assert_int_equal(riskwarning_outline_new_rings((const double(*)[2])pts, start, len, 1, &o),
			 GA_ERR_INVAL);
	assert_int_equal(riskwarning_outline_new_rings((const double(*)[2])pts, start, len, 0, &o),
			 GA_ERR_INVAL);
	free(pts);
}

/* ---- The bundled counties, measured through PROJ. ---- */

#define IDX_CELL 250.0 /* m; >= the 200 m asked, so 3x3 cells find it */

struct seg {
	double a[2], b[2];
};

/* A grid index of segments (projected metres): each segment listed in
 * every cell its box touches. */
struct segidx {
	const struct seg *s;
	size_t n;
	double x0, y0;
	size_t nx, ny;
	size_t *head, *items;
};

static void idx_cells(const struct segidx *ix, const struct seg *s, size_t *cx0, size_t *cx1,
		      size_t *cy0, size_t *cy1)
{
	*cx0 = (size_t)((fmin(s->a[0], s->b[0]) - ix->x0) / IDX_CELL);
	*cx1 = (size_t)((fmax(s->a[0], s->b[0]) - ix->x0) / IDX_CELL);
	*cy0 = (size_t)((fmin(s->a[1], s->b[1]) - ix->y0) / IDX_CELL);
	*cy1 = (size_t)((fmax(s->a[1], s->b[1]) - ix->y0) / IDX_CELL);
}

static void idx_build(struct segidx *ix, const struct seg *s, size_t n, const double lo[2],
		      const double hi[2])
{
	size_t *fill, total = 0;

	ix->s = s;
	ix->n = n;
	ix->x0 = lo[0] - 2 * IDX_CELL;
	ix->y0 = lo[1] - 2 * IDX_CELL;
	ix->nx = (size_t)((hi[0] - ix->x0) / IDX_CELL) + 3;
	ix->ny = (size_t)((hi[1] - ix->y0) / IDX_CELL) + 3;
	ix->head = calloc(ix->nx * ix->ny + 1, sizeof(size_t));
	fill = calloc(ix->nx * ix->ny, sizeof(size_t));
	assert_non_null(ix->head);
	assert_non_null(fill);
	for (size_t i = 0; i < n; i++) {
		size_t cx0, cx1, cy0, cy1;
		idx_cells(ix, &s[i], &cx0, &cx1, &cy0, &cy1);
		assert_true(cx1 < ix->nx && cy1 < ix->ny);
		for (size_t y = cy0; y <= cy1; y++)
			for (size_t x = cx0; x <= cx1; x++)
				ix->head[y * ix->nx + x + 1]++;
	}
	for (size_t c = 0; c < ix->nx * ix->ny; c++)
		ix->head[c + 1] += ix->head[c];
	total = ix->head[ix->nx * ix->ny];
	ix->items = malloc((total ? total : 1) * sizeof(size_t));
	assert_non_null(ix->items);
	for (size_t i = 0; i < n; i++) {
		size_t cx0, cx1, cy0, cy1;
		idx_cells(ix, &s[i], &cx0, &cx1, &cy0, &cy1);
		for (size_t y = cy0; y <= cy1; y++)
			for (size_t x = cx0; x <= cx1; x++) {
				size_t c = y * ix->nx + x;
				ix->items[ix->head[c] + fill[c]++] = i;
			}
	}
	free(fill);
}

static void idx_free(struct segidx *ix)
{
	free(ix->head);
	free(ix->items);
}

static double pt_seg(const double *p, const struct seg *s)
{
	double dx = s->b[0] - s->a[0], dy = s->b[1] - s->a[1], l2 = dx * dx + dy * dy, t = 0;

	if (l2 > 0) {
		t = ((p[0] - s->a[0]) * dx + (p[1] - s->a[1]) * dy) / l2;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
	}
	return hypot(p[0] - s->a[0] - t * dx, p[1] - s->a[1] - t * dy);
}

/* Distance from p to the nearest segment, or IDX_CELL when none is
 * nearer than that. */
static double idx_dist(const struct segidx *ix, const double *p)
{
	double best = IDX_CELL;
	long cx = (long)floor((p[0] - ix->x0) / IDX_CELL),
	     cy = (long)floor((p[1] - ix->y0) / IDX_CELL);

	for (long y = cy - 1; y <= cy + 1; y++)
		for (long x = cx - 1; x <= cx + 1; x++) {
			if (x < 0 || y < 0 || x >= (long)ix->nx || y >= (long)ix->ny)
				continue;
			size_t c = (size_t)y * ix->nx + (size_t)x;
			for (size_t k = ix->head[c]; k < ix->head[c + 1]; k++) {
				double d = pt_seg(p, &ix->s[ix->items[k]]);
				if (d < best)
					best = d;
			}
		}
	return best;
}

static void proj_pt(PJ *pj, const double *ll, double *xy)
{
	PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(ll[0], ll[1], 0, 0));

	assert_true(isfinite(c.xy.x) && isfinite(c.xy.y));
	xy[0] = c.xy.x;
	xy[1] = c.xy.y;
}

/* True when every point of the edge a-b (straight in lon/lat, as CAP
 * polygons and the regions file draw them) is within limit of the
 * index's segments: the distance is 1-Lipschitz along the edge, so a
 * stretch whose ends are da and db away and L long is nowhere farther
 * than (da + db + L) / 2; halve (in lon/lat, each point projected
 * through PROJ) until that proves it or a point is farther. *worst gets
 * the largest distance seen. */
static bool seg_within(const struct segidx *ix, PJ *pj, const double *a, const double *b, double da,
		       double db, double limit, double *worst, int depth)
{
	double pa[2], pb[2], m[2], pm[2], dm, L;

	if (da > *worst)
		*worst = da;
	if (db > *worst)
		*worst = db;
	if (da > limit || db > limit)
		return false;
	proj_pt(pj, a, pa);
	proj_pt(pj, b, pb);
	L = hypot(pb[0] - pa[0], pb[1] - pa[1]) * 1.0001; /* arc, not chord */
	if ((da + db + L) / 2 <= limit)
		return true;
	if (depth > 40)
		return false;
	m[0] = (a[0] + b[0]) / 2;
	m[1] = (a[1] + b[1]) / 2;
	proj_pt(pj, m, pm);
	dm = idx_dist(ix, pm);
	return seg_within(ix, pj, a, m, da, dm, limit, worst, depth + 1) &&
	       seg_within(ix, pj, m, b, dm, db, limit, worst, depth + 1);
}

static double ll_dist(const struct segidx *ix, PJ *pj, const double *ll)
{
	double xy[2];

	proj_pt(pj, ll, xy);
	return idx_dist(ix, xy);
}

struct ring {
	double (*p)[2]; /* lon/lat, closed */
	size_t n;
};

static bool ring_has(const struct ring *r, const double *v)
{
	bool in = false;

	for (size_t i = 0, j = r->n - 2; i + 1 < r->n; j = i++) {
		const double *a = r->p[i], *b = r->p[j];
		if ((a[1] > v[1]) != (b[1] > v[1]) &&
		    v[0] < (b[0] - a[0]) * (v[1] - a[1]) / (b[1] - a[1]) + a[0])
			in = !in;
	}
	return in;
}

static size_t rings_cover(const struct ring *r, size_t n, const double *v)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += ring_has(&r[i], v);
	return k;
}

/* True when a polygon holds l and not r and another r and not l: the
 * edge between them is where two pieces meet. */
static bool rings_between(const struct ring *r, size_t n, const double *a, const double *b)
{
	bool aonly = false, bonly = false;

	for (size_t i = 0; i < n; i++) {
		bool ha = ring_has(&r[i], a), hb = ring_has(&r[i], b);
		aonly |= ha && !hb;
		bonly |= hb && !ha;
	}
	return aonly && bonly;
}

struct county_stats {
	size_t counties, cut, polygons, points, most_polygons, most_points;
	double worst_out, worst_back; /* m: polygons -> outline, outline -> polygons */
	char most_code[GEO_CODE_LEN], worst_code[GEO_CODE_LEN];
};

/* The outline rings of code, as geo_region_outline walks them. */
struct walk {
	struct ring *r;
	size_t n, cap;
};

static void walk_point(double lon, double lat, bool start, void *arg)
{
	struct walk *w = arg;

	if (start) {
		w->r = realloc(w->r, (w->n + 1) * sizeof(*w->r));
		assert_non_null(w->r);
		w->r[w->n].p = NULL;
		w->r[w->n].n = 0;
		w->n++;
		w->cap = 0;
	}
	struct ring *r = &w->r[w->n - 1];
	if (r->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 256;
		r->p = realloc(r->p, w->cap * sizeof(*r->p));
		assert_non_null(r->p);
	}
	r->p[r->n][0] = lon;
	r->p[r->n][1] = lat;
	r->n++;
}

/* As seg_within for an edge a-b of the county's outline, where a point
 * with the county on both sides of the edge (where the parts of a
 * multipolygon overlap) or on neither (a spike: out and back along the
 * same line) is no boundary of the county and need not be near the
 * polygons' outline; such stretches are checked every 5 m. */
static bool seg_back(const struct segidx *ix, PJ *pj, const struct walk *w, const double *a,
		     const double *b, double da, double db, double limit, double *worst, int depth)
{
	double pa[2], pb[2], m[2], pm[2], dm, L, n[2], el = hypot(b[0] - a[0], b[1] - a[1]);
	const double *e[2] = {a, b};
	double d[2] = {da, db};
	bool ok = true;

	n[0] = -(b[1] - a[1]) / el * 1e-5;
	n[1] = (b[0] - a[0]) / el * 1e-5;
	proj_pt(pj, a, pa);
	proj_pt(pj, b, pb);
	L = hypot(pb[0] - pa[0], pb[1] - pa[1]) * 1.0001;
	if (da <= limit && db <= limit && (da + db + L) / 2 <= limit) {
		*worst = fmax(*worst, fmax(da, db));
		return true;
	}
	for (int k = 0; k < 2; k++) {
		double l[2] = {e[k][0] + n[0], e[k][1] + n[1]},
		       r[2] = {e[k][0] - n[0], e[k][1] - n[1]};
		if (d[k] > limit &&
		    (rings_cover(w->r, w->n, l) >= 1) != (rings_cover(w->r, w->n, r) >= 1)) {
			*worst = fmax(*worst, d[k]);
			ok = false;
		}
	}
	if (!ok || L < 5)
		return ok;
	if (depth > 40)
		return false;
	m[0] = (a[0] + b[0]) / 2;
	m[1] = (a[1] + b[1]) / 2;
	proj_pt(pj, m, pm);
	dm = idx_dist(ix, pm);
	return seg_back(ix, pj, w, a, m, da, dm, limit, worst, depth + 1) &&
	       seg_back(ix, pj, w, m, b, dm, db, limit, worst, depth + 1);
}

/* Segments to measure against: the edge a-b (lon/lat) projected in
 * pieces of at most 100 m, so that the projected chords follow the
 * edge to well under a millimetre. */
struct segs {
	struct seg *s;
	size_t n, cap;
	double lo[2], hi[2];
};

static void segs_add_edge(struct segs *v, PJ *pj, const double *a, const double *b)
{
	double pa[2], pb[2];
	size_t k;

	proj_pt(pj, a, pa);
	proj_pt(pj, b, pb);
	k = (size_t)ceil(hypot(pb[0] - pa[0], pb[1] - pa[1]) / 100.0);
	if (k == 0)
		k = 1;
	for (size_t i = 0; i < k; i++) {
		double q[2] = {a[0] + (b[0] - a[0]) * (double)(i + 1) / (double)k,
			       a[1] + (b[1] - a[1]) * (double)(i + 1) / (double)k};
		double pq[2];
		proj_pt(pj, q, pq);
		if (v->n == v->cap) {
			v->cap = v->cap ? 2 * v->cap : 1024;
			v->s = realloc(v->s, v->cap * sizeof(*v->s));
			assert_non_null(v->s);
		}
		memcpy(v->s[v->n].a, pa, sizeof(pa));
		memcpy(v->s[v->n].b, pq, sizeof(pq));
		v->n++;
		for (int c = 0; c < 2; c++) {
			v->lo[c] = fmin(v->lo[c], fmin(pa[c], pq[c]));
			v->hi[c] = fmax(v->hi[c], fmax(pa[c], pq[c]));
		}
		memcpy(pa, pq, sizeof(pa));
	}
}

static void county_check(PJ_CONTEXT *ctx, const struct geo *g, const char *code,
			 struct county_stats *st)
{
	const struct region *reg = geo_region_by_code(g, code);
	struct riskwarning_outline *o = NULL;
	struct walk w = {0};
	struct ring *pc;
	double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY}, lon0 = 0;
	size_t npc, npts = 0, nsample = 0, ncut = 0;
	char def[160];
	struct segs os = {.lo = {INFINITY, INFINITY}, .hi = {-INFINITY, -INFINITY}};
	struct segs bs = {.lo = {INFINITY, INFINITY}, .hi = {-INFINITY, -INFINITY}};
	struct segidx oix, bix;
	double worst_out = 0, worst_back = 0;
	const double limit = RISKWARNING_OUTLINE_TOLERANCE_M;

	assert_non_null(reg);
	ga_err e = riskwarning_outline_new(g, code, &o);
	if (e != GA_OK)
		fail_msg("%s: riskwarning_outline_new: %d", code, (int)e);
	assert_true(geo_region_outline(g, code, walk_point, &w));
	npc = riskwarning_outline_count(o);
	assert_true(npc >= 1 && npc <= RISKWARNING_OUTLINE_PIECES_MAX);
	/* A transverse Mercator on the county's middle meridian (CGCS2000
	 * ellipsoid): a projected metric CRS, through PROJ. */
	for (size_t i = 0; i < w.r[0].n; i++)
		lon0 += w.r[0].p[i][0] / (double)w.r[0].n;
	snprintf(def, sizeof(def),
		 "+proj=tmerc +lat_0=0 +lon_0=%.4f +k=1 +x_0=0 +y_0=0 "
		 "+ellps=GRS80 +units=m +type=crs",
		 lon0);
	PJ *op = proj_create_crs_to_crs(ctx, "EPSG:4490", def, NULL);
	assert_non_null(op);
	PJ *pj = proj_normalize_for_visualization(ctx, op);
	assert_non_null(pj);
	proj_destroy(op);

	pc = calloc(npc, sizeof(*pc));
	assert_non_null(pc);
	for (size_t i = 0; i < npc; i++) {
		size_t n;
		const double(*p)[2] = riskwarning_outline_polygon(o, i, &n);
		/* closed, at most 100 points */
		assert_true(n >= 4 && n <= RISKWARNING_OUTLINE_MAX);
		assert_true(p[0][0] == p[n - 1][0] && p[0][1] == p[n - 1][1]);
		pc[i].p = malloc(n * sizeof(*pc[i].p));
		assert_non_null(pc[i].p);
		memcpy(pc[i].p, p, n * sizeof(*p));
		pc[i].n = n;
		npts += n;
	}
	for (size_t i = 0; i < w.n; i++) {
		for (size_t k = 0; k + 1 < w.r[i].n; k++) {
			segs_add_edge(&os, pj, w.r[i].p[k], w.r[i].p[k + 1]);
			for (int c = 0; c < 2; c++) {
				lo[c] = fmin(lo[c], w.r[i].p[k][c]);
				hi[c] = fmax(hi[c], w.r[i].p[k][c]);
			}
		}
		/* no hole: no ring wholly within another */
		for (size_t j = 0; j < i; j++) {
			size_t ij = 0, ji = 0;
			for (size_t k = 0; k + 1 < w.r[i].n; k++)
				ij += ring_has(&w.r[j], w.r[i].p[k]);
			for (size_t k = 0; k + 1 < w.r[j].n; k++)
				ji += ring_has(&w.r[i], w.r[j].p[k]);
			assert_true(ij < w.r[i].n - 1 && ji < w.r[j].n - 1);
		}
	}
	idx_build(&oix, os.s, os.n, os.lo, os.hi);

	/* Each edge of a polygon is either a cut inside the county (along a
	 * meridian or a parallel, the pieces on both of its sides) or a
	 * stretch of the outline, every point of it within 200 m of the
	 * county's outline. */
	for (size_t i = 0; i < npc; i++)
		for (size_t j = 0; j + 1 < pc[i].n; j++) {
			const double *a = pc[i].p[j], *b = pc[i].p[j + 1];
			double L = hypot(b[0] - a[0], b[1] - a[1]), nx = -(b[1] - a[1]) / L * 1e-5,
			       ny = (b[0] - a[0]) / L * 1e-5; /* ~1 m */
			double m[2] = {(a[0] + b[0]) / 2, (a[1] + b[1]) / 2};
			double l[2] = {m[0] + nx, m[1] + ny}, r[2] = {m[0] - nx, m[1] - ny};
			/* a cut runs along a meridian or a parallel
			 * between two polygons */
			if ((a[0] == b[0] || a[1] == b[1]) && rings_between(pc, npc, l, r)) {
				for (int f = 1; f < 20; f++) {
					double q[2] = {a[0] + (b[0] - a[0]) * f / 20.0,
						       a[1] + (b[1] - a[1]) * f / 20.0};
					double ql[2] = {q[0] + nx, q[1] + ny},
					       qr[2] = {q[0] - nx, q[1] - ny};
					/* near the outline its simplification may
					 * cut the corner; farther, covered as the
					 * outline rings cover it */
					if (ll_dist(&oix, pj, q) <= limit + 2)
						continue;
					assert_int_equal(rings_cover(pc, npc, ql),
							 rings_cover(w.r, w.n, ql));
					assert_int_equal(rings_cover(pc, npc, qr),
							 rings_cover(w.r, w.n, qr));
					ncut++;
				}
				continue;
			}
			if (!seg_within(&oix, pj, a, b, ll_dist(&oix, pj, a), ll_dist(&oix, pj, b),
					limit, &worst_out, 0))
				fail_msg("%s: polygon %zu edge %zu is %.1f m off the outline", code,
					 i, j, worst_out);
			segs_add_edge(&bs, pj, a, b);
		}
	/* And back: every point of the county's outline within 200 m of
	 * the polygons' outline (their edges that are not cuts). */
	idx_build(&bix, bs.s, bs.n, os.lo, os.hi);
	for (size_t i = 0; i < w.n; i++)
		for (size_t k = 0; k + 1 < w.r[i].n; k++) {
			const double *a = w.r[i].p[k], *b = w.r[i].p[k + 1];
			if (!seg_back(&bix, pj, &w, a, b, ll_dist(&bix, pj, a),
				      ll_dist(&bix, pj, b), limit, &worst_back, 0))
				fail_msg(
				    "%s: outline edge %zu of ring %zu is %.1f m off the polygons",
				    code, k, i, worst_back);
		}
	/* Covered once: on a 60 x 60 grid over the county's box, a point
	 * more than 200 m from the outline is in as many polygons as
	 * outline rings (the bundled rings have no holes, asserted above;
	 * some multipolygons' parts overlap: there twice, as the data). */
	for (int gy = 0; gy < 60; gy++)
		for (int gx = 0; gx < 60; gx++) {
			double q[2] = {lo[0] + (hi[0] - lo[0]) * (gx + 0.5) / 60,
				       lo[1] + (hi[1] - lo[1]) * (gy + 0.5) / 60};
			if (ll_dist(&oix, pj, q) <= limit)
				continue;
			assert_int_equal(rings_cover(pc, npc, q), rings_cover(w.r, w.n, q));
			nsample++;
		}
	assert_true(nsample > 0);
	if (npc > w.n)
		assert_true(ncut > 0); /* the cut edges were found and checked */

	st->counties++;
	st->polygons += npc;
	st->points += npts;
	if (npc > w.n)
		st->cut++;
	if (npc > st->most_polygons) {
		st->most_polygons = npc;
		st->most_points = npts;
		snprintf(st->most_code, sizeof(st->most_code), "%s", code);
	}
	if (worst_out > st->worst_out || worst_back > st->worst_back)
		snprintf(st->worst_code, sizeof(st->worst_code), "%s", code);
	st->worst_out = fmax(st->worst_out, worst_out);
	st->worst_back = fmax(st->worst_back, worst_back);

	idx_free(&bix);
	idx_free(&oix);
	free(bs.s);
	free(os.s);
	for (size_t i = 0; i < npc; i++)
		free(pc[i].p);
	free(pc);
	for (size_t i = 0; i < w.n; i++)
		free(w.r[i].p);
	free(w.r);
	proj_destroy(pj);
	riskwarning_outline_free(o);
}

static void test_counties(void **state)
{
	struct geo_options opt;
	struct county_stats st = {0};
	char err[512];
	struct geo *g;
	PJ_CONTEXT *ctx = proj_context_create();

	assert_non_null(ctx);
	memset(&opt, 0, sizeof(opt));
	g = geo_new(&opt, err, sizeof(err));
	if (g == NULL)
		fail_msg("geo_new: %s", err);
	for (size_t i = 0; i < geo_region_count(g); i++)
		county_check(ctx, g, geo_region_get(g, i)->admin_code, &st);
	print_message(
	    "bundled counties: %zu, %zu of them cut; %zu polygons, %zu points; most "
	    "%zu polygons (%s, %zu points); Hausdorff: polygons to outline %.1f m, outline "
	    "to polygons %.1f m (worst county %s)\n",
	    st.counties, st.cut, st.polygons, st.points, st.most_polygons, st.most_code,
	    st.most_points, st.worst_out, st.worst_back, st.worst_code);
	assert_int_equal(st.counties, geo_region_count(g));
	/* The limit is met with room, not by accident at the edge; and the
	 * simplification did simplify (a measured distance of 0 would mean
	 * the outlines were copied). */
	assert_true(st.worst_out <= RISKWARNING_OUTLINE_TOLERANCE_M);
	assert_true(st.worst_back <= RISKWARNING_OUTLINE_TOLERANCE_M);
	assert_true(st.worst_back > 50);
	geo_free(g);
	proj_context_destroy(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget_and_tolerance),
	    cmocka_unit_test(test_small_and_bad),
	    cmocka_unit_test(test_cap_text),
	    cmocka_unit_test(test_bundled_regions),
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_hole),
	    cmocka_unit_test(test_counties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
