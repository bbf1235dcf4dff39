/* test_riskwarning_outline.c - ring simplification for CAP polygons:
 * closed, at most the budget, vertices of the original, the deviation
 * reported truthfully (checked here by brute force), and CAP's lat,lon
 * order. Every ring of the bundled regions is run through it; how many
 * stay within 200 m at 100 points is printed, not asserted (it is a
 * property of the data: docs/riskwarnings.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "geo.h"
#include "riskwarning_outline.h"

#define M_PER_DEG (6378137.0 * M_PI / 180.0)

static double seg_dist(const double *p, const double *a, const double *b, double k)
{
	double ax = a[0] * k * M_PER_DEG, ay = a[1] * M_PER_DEG;
	double bx = b[0] * k * M_PER_DEG, by = b[1] * M_PER_DEG;
	double px = p[0] * k * M_PER_DEG, py = p[1] * M_PER_DEG;
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
	double lat0 = 0, k, worst = 0;
	size_t j = 0, prev = 0;

	assert_true(nout >= 4 && nout <= max);
	assert_true(out[0][0] == out[nout - 1][0] && out[0][1] == out[nout - 1][1]);
	for (size_t i = 0; i < n; i++)
		lat0 += in[i][1] / (double)n;
	k = cos(lat0 * M_PI / 180.0);
	assert_true(in[0][0] == out[0][0] && in[0][1] == out[0][1]);
	for (size_t o = 1; o < nout; o++) {
		/* the next kept vertex, in order */
		for (j = prev + 1; j < n; j++)
			if (in[j][0] == out[o][0] && in[j][1] == out[o][1])
				break;
		assert_true(j < n);
		for (size_t i = prev + 1; i < j; i++) {
			double d = seg_dist(in[i], out[o - 1], out[o], k);
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
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, 2001,
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
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, 2001,
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
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 100, 100, 0, out, &nout, &dev),
	    GA_ERR_INVAL); /* in[99] is not in[0]: not closed */
	free(in);
	in = circle(100, 0.1);
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 100, 100, 0, out, &nout, &dev),
	    GA_OK);
	assert_int_equal(nout, 100);
	assert_true(dev == 0);
	free(in);
	in = circle(101, 0.1);
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 101, 100, 0, out, &nout, &dev),
	    GA_OK);
	assert_int_equal(nout, 100);
	check((const double(*)[2])in, 101, (const double(*)[2])out, nout, 100, dev);
	/* Budgets outside 4..RISKWARNING_OUTLINE_MAX, short rings, NaN. */
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 101, 3, 0, out, &nout, &dev),
	    GA_ERR_INVAL);
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])in, 101,
						      RISKWARNING_OUTLINE_MAX + 1, 0, out, &nout,
						      &dev),
			 GA_ERR_INVAL);
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 3, 100, 0, out, &nout, &dev),
	    GA_ERR_INVAL);
	in[5][1] = NAN;
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 101, 100, 0, out, &nout, &dev),
	    GA_ERR_INVAL);
	free(in);
	/* The smallest budget still gives a closed ring of 4. */
	in = circle(50, 0.1);
	assert_int_equal(
	    riskwarning_outline_simplify((const double(*)[2])in, 50, 4, 0, out, &nout, &dev),
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
	assert_int_equal(riskwarning_outline_simplify((const double(*)[2])c->pts, c->n,
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget_and_tolerance),
	    cmocka_unit_test(test_small_and_bad),
	    cmocka_unit_test(test_cap_text),
	    cmocka_unit_test(test_bundled_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
