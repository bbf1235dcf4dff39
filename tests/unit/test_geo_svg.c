/* test_geo_svg.c - region outlines (geo_region_outline) and the county map
 * SVG of the console (geo_svg_region), on the bundled regions and on a
 * synthetic file with a hole and two polygons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"
#include "geo_svg.h"

static char errbuf[512];

struct rings {
	int nrings, npoints;
	double first_x, first_y, last_x, last_y;
	int closed; /* rings that ended on their first point */
};

static void count_cb(double lon, double lat, bool start, void *arg)
{
	struct rings *r = arg;

	if (start) {
		if (r->nrings > 0 && r->last_x == r->first_x && r->last_y == r->first_y)
			r->closed++;
		r->nrings++;
		r->first_x = lon;
		r->first_y = lat;
	}
	r->last_x = lon;
	r->last_y = lat;
	r->npoints++;
}

static void count_finish(struct rings *r)
{
	if (r->nrings > 0 && r->last_x == r->first_x && r->last_y == r->first_y)
		r->closed++;
}

static struct geo *synthetic(void)
{
	/* A: a square with a square hole; B: two separate squares. */
	static const char text[] =
	    "{\"type\":\"FeatureCollection\",\"features\":["
	    "{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"320101\",\"name\":\"A\","
	    "\"city\":\"C\",\"province\":\"P\"},\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[118,32],[119,32],[119,33],[118,33],[118,32]],"
	    "[[118.4,32.4],[118.6,32.4],[118.6,32.6],[118.4,32.6],[118.4,32.4]]]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"320102\",\"name\":\"B\","
	    "\"city\":\"C\",\"province\":\"P\"},\"geometry\":{\"type\":\"MultiPolygon\","
	    "\"coordinates\":[[[[120,32],[120.5,32],[120.5,32.5],[120,32],[120,32]]],"
	    "[[[121,32],[121.5,32],[121.5,32.5],[121,32.5],[121,32]]]]}}]}";
	char path[] = "/tmp/test_geo_svg_XXXXXX";
	int fd = mkstemp(path);
	struct geo_options opt = {0};
	struct geo *g;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	opt.regions_path = path;
	g = geo_new(&opt, errbuf, sizeof(errbuf));
	unlink(path);
	if (g == NULL)
		fail_msg("geo_new: %s", errbuf);
	return g;
}

static void test_outline_rings(void **state)
{
	struct geo *g = synthetic();
	struct rings a = {0}, b = {0}, none = {0};

	assert_true(geo_region_outline(g, "320101", count_cb, &a));
	count_finish(&a);
	assert_int_equal(a.nrings, 2); /* outer ring and hole */
	assert_int_equal(a.npoints, 10);
	assert_int_equal(a.closed, 2);
	assert_true(geo_region_outline(g, "320102", count_cb, &b));
	count_finish(&b);
	assert_int_equal(b.nrings, 2); /* one per polygon */
	assert_int_equal(b.closed, 2);
	assert_false(geo_region_outline(g, "320199", count_cb, &none));
	assert_false(geo_region_outline(g, "", count_cb, &none));
	assert_int_equal(none.npoints, 0);
	geo_free(g);
}

static void test_svg_synthetic(void **state)
{
	struct geo *g = synthetic();
	char *svg = NULL;
	size_t len = 0;

	assert_int_equal(geo_svg_region(g, "320101", 118.2, 32.2, &svg, &len), GA_OK);
	assert_int_equal(strlen(svg), len);
	assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	assert_non_null(strstr(svg, "fill-rule=\"evenodd\""));
	/* two subpaths: the hole is closed and a second M starts */
	const char *d = strstr(svg, " d=\"M");
	assert_non_null(d);
	assert_non_null(strstr(d + 5, "ZM"));
	assert_non_null(strstr(svg, "<circle"));
	assert_non_null(strstr(svg, "</svg>\n"));
	/* the square is 1 x 1 degree: at 32.5N it is drawn wider than high
	 * by 1 / cos(32.5) no more, and the width is GEO_SVG_WIDTH */
	assert_non_null(strstr(svg, "viewBox=\"0 0 320 "));
	/* an accessible name: role img, labelled by its <title> */
	assert_non_null(strstr(svg, "role=\"img\" aria-labelledby=\"map-title\">"
				    "<title id=\"map-title\">位置示意图："));
	assert_non_null(strstr(svg, "红点为险情、灾情位置（东经118.2000°，北纬32.2000°）</title>"));
	free(svg);

	/* an unknown code draws the point alone */
	assert_int_equal(geo_svg_region(g, "999999", 118.2, 32.2, &svg, &len), GA_OK);
	assert_null(strstr(svg, "<path"));
	assert_non_null(strstr(svg, "<circle"));
	free(svg);
	assert_int_equal(geo_svg_region(g, NULL, 118.2, 32.2, &svg, &len), GA_OK);
	free(svg);
	svg = NULL;
	assert_int_equal(geo_svg_region(g, "320101", NAN, 32.2, &svg, &len), GA_ERR_INVAL);
	assert_int_equal(geo_svg_region(g, "320101", 118.2, INFINITY, &svg, &len), GA_ERR_INVAL);
	assert_int_equal(geo_svg_region(g, "320101", 200, 32.2, &svg, &len), GA_ERR_INVAL);
	assert_null(svg);
	geo_free(g);
}

/* The marker is drawn where the point is: inside the square's drawing. */
static void test_svg_marker_position(void **state)
{
	struct geo *g = synthetic();
	char *svg = NULL;
	size_t len = 0;
	double cx, cy, w, h;

	assert_int_equal(geo_svg_region(g, "320101", 118.5, 32.5, &svg, &len), GA_OK);
	assert_int_equal(sscanf(strstr(svg, "viewBox=\""), "viewBox=\"0 0 %lf %lf", &w, &h), 2);
	assert_int_equal(sscanf(strstr(svg, "<circle"), "<circle cx=\"%lf\" cy=\"%lf\"", &cx, &cy),
			 2);
	/* the centre of the square is the centre of the picture */
	assert_true(fabs(cx - w / 2) < 1.0);
	assert_true(fabs(cy - h / 2) < 1.0);
	free(svg);
	geo_free(g);
}

static void test_svg_bundled_county(void **state)
{
	struct geo *g = geo_new(NULL, errbuf, sizeof(errbuf));
	char *svg = NULL;
	size_t len = 0;

	if (g == NULL)
		fail_msg("geo_new: %s", errbuf);
	/* 浦口区 and the 青山村 station */
	assert_int_equal(geo_svg_region(g, "320111", 118.628, 32.0589, &svg, &len), GA_OK);
	assert_non_null(strstr(svg, "<path"));
	assert_true(len > 1000 && len < GEO_SVG_MAX);
	free(svg);
	geo_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outline_rings),
	    cmocka_unit_test(test_svg_synthetic),
	    cmocka_unit_test(test_svg_marker_position),
	    cmocka_unit_test(test_svg_bundled_county),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
