/* test_report_place.c - where a report is: the station registry
 * (unknown stations, a danger's default figures, the station's point) and
 * the geo context (transform, region, service area). */
#include "report_testutil.h"

#include "geo.h"
#include "registry.h"

/* With the example registry: unknown stations, defaults of a danger. */
static void test_registry(void **state)
{
	struct registry *reg = NULL;
	struct report r;
	struct report_errors e;
	struct report_context ctx = plain_ctx;
	char path[PATH_MAX_T], err[512];
	json_t *o;

	snprintf(path, sizeof(path), "%s/geo/stations.example.geojson", src_dir());
	if (registry_load(path, NULL, &reg, err, sizeof(err)) != GA_OK)
		fail_msg("registry_load: %s", err);
	ctx.registry = reg;

	/* Danger without figures: the hazard point's. */
	o = base();
	json_object_set_new(o, "kind", json_string("danger"));
	assert_int_equal(parse_obj(&ctx, o, &r, &e), GA_OK);
	assert_true(r.figures.value[FIG_THREATENED_PEOPLE] == 620);
	assert_true(r.figures.value[FIG_THREATENED_PROPERTY_CNY] == 30000000);
	assert_int_equal(r.figures.set,
			 (1u << FIG_THREATENED_PEOPLE) | (1u << FIG_THREATENED_PROPERTY_CNY));
	assert_string_equal(r.hazard_point_id, "320111010007");
	assert_true(r.has_point && !r.has_location);
	assert_true(r.lon == 118.6280 && r.lat == 32.0589);
	report_cleanup(&r);

	/* A figure the report gives wins over the default. */
	o = base();
	json_object_set_new(o, "kind", json_string("danger"));
	json_object_set_new(o, "figures", json_pack("{s:i}", "threatened_people", 700));
	assert_int_equal(parse_obj(&ctx, o, &r, &e), GA_OK);
	assert_true(r.figures.value[FIG_THREATENED_PEOPLE] == 700);
	assert_true(r.figures.value[FIG_THREATENED_PROPERTY_CNY] == 30000000);
	report_cleanup(&r);

	/* A disaster takes no defaults, but the hazard point still. */
	o = base();
	json_object_set_new(o, "station_id", json_string("JS-3211-0002"));
	assert_int_equal(parse_obj(&ctx, o, &r, &e), GA_OK);
	assert_int_equal(r.figures.set, 0);
	assert_string_equal(r.hazard_point_id, "321183020002");
	report_cleanup(&r);

	/* The example danger report with its registry. */
	size_t len;
	char *buf = read_data("report-danger-registry.json", &len);
	assert_int_equal(parse_text(&ctx, buf, len, &r, &e), GA_OK);
	assert_true(r.figures.value[FIG_THREATENED_PEOPLE] == 620);
	report_cleanup(&r);
	free(buf);

	expect_one(&ctx, base_with("station_id", json_string("JS-9999-0001")), "/station_id",
		   "unknown_station");
	/* Unknown and not matching the topic: both said. */
	ctx.topic_station = "JS-3201-0007";
	o = base();
	json_object_set_new(o, "station_id", json_string("JS-9999-0001"));
	assert_int_equal(parse_obj(&ctx, o, &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 2);
	assert_true(has_err(&e, "/station_id", "station_mismatch"));
	assert_true(has_err(&e, "/station_id", "unknown_station"));
	report_cleanup(&r);
	registry_free(reg);
}

static struct geo *new_geo(const char *service_area)
{
	struct geo_options opt;
	char err[512];
	struct geo *g;

	memset(&opt, 0, sizeof(opt));
	opt.service_area = service_area;
	g = geo_new(&opt, err, sizeof(err));
	if (g == NULL)
		fail_msg("geo_new: %s", err);
	return g;
}

static json_t *with_location(const char *crs, double x, double y)
{
	json_t *o = base();

	json_object_set_new(o, "location",
			    crs ? json_pack("{s:s, s:[f,f]}", "crs", crs, "coordinates", x, y)
				: json_pack("{s:[f,f]}", "coordinates", x, y));
	return o;
}

/* With the bundled regions (Jiangsu): transform, region, service area. */
static void test_geo(void **state)
{
	struct geo *g = new_geo("32");
	struct report_context ctx = plain_ctx;
	struct report r;
	struct report_errors e;
	size_t len;
	char *buf;

	ctx.geo = g;
	/* Gauss-Kruger CGCS2000 zone 40 (EPSG:4549) near Jurong. */
	buf = read_data("report-disaster-gk.json", &len);
	if (parse_text(&ctx, buf, len, &r, &e) != GA_OK) {
		dump_errs(&e);
		fail();
	}
	free(buf);
	assert_true(r.has_point);
	assert_true(r.lon > 119.0 && r.lon < 119.3 && r.lat > 32.0 && r.lat < 32.3);
	assert_string_equal(r.admin_code, "321183");
	assert_non_null(strstr(r.admin_name, "句容"));
	report_cleanup(&r);

	assert_int_equal(parse_obj(&ctx, with_location(NULL, 118.628, 32.0589), &r, &e), GA_OK);
	assert_string_equal(r.admin_code, "320111");
	assert_true(r.lon == 118.628 && r.lat == 32.0589);
	report_cleanup(&r);

	/* Shanghai: in no known region. */
	assert_int_equal(parse_obj(&ctx, with_location("EPSG:4326", 121.47, 31.23), &r, &e),
			 GA_ERR_INVAL);
	assert_true(e.n == 1 && has_err(&e, "/location/coordinates", "outside_area"));
	assert_string_equal(e.e[0].message, "outside every known region");
	report_cleanup(&r);

	expect_one(&ctx, with_location("EPSG:999999", 1, 2), "/location/crs", "crs");
	expect_one(&ctx, with_location("EPSG:4549", 1e12, 1e12), "/location/coordinates",
		   "transform");
	geo_free(g);

	/* A service area of Nanjing only: Jurong is outside it. */
	g = new_geo("3201");
	ctx.geo = g;
	assert_int_equal(parse_obj(&ctx, with_location(NULL, 119.152, 32.157), &r, &e),
			 GA_ERR_INVAL);
	assert_true(e.n == 1 && has_err(&e, "/location/coordinates", "outside_area"));
	assert_non_null(strstr(e.e[0].message, "outside the service area: "));
	assert_non_null(strstr(e.e[0].message, "句容"));
	report_cleanup(&r);
	assert_int_equal(parse_obj(&ctx, with_location(NULL, 118.628, 32.0589), &r, &e), GA_OK);
	report_cleanup(&r);
	geo_free(g);
}

/* Registry and geo: no location means the station's point and region. */
static void test_geo_station(void **state)
{
	struct geo *g = new_geo("3201");
	struct registry *reg = NULL;
	struct report_context ctx = plain_ctx;
	struct report r;
	struct report_errors e;
	char path[PATH_MAX_T], err[512];
	json_t *o;

	snprintf(path, sizeof(path), "%s/geo/stations.example.geojson", src_dir());
	if (registry_load(path, g, &reg, err, sizeof(err)) != GA_OK)
		fail_msg("registry_load: %s", err);
	ctx.geo = g;
	ctx.registry = reg;
	assert_int_equal(parse_obj(&ctx, base(), &r, &e), GA_OK);
	assert_true(r.has_point && !r.has_location);
	assert_string_equal(r.admin_code, "320111");
	assert_non_null(strstr(r.admin_name, "浦口区"));
	report_cleanup(&r);

	/* A station outside the service area: not the report's fault. */
	o = base();
	json_object_set_new(o, "station_id", json_string("JS-3211-0002"));
	assert_int_equal(parse_obj(&ctx, o, &r, &e), GA_OK);
	assert_string_equal(r.admin_code, "321183");
	assert_true(r.lon == 119.1520 && r.lat == 32.1570);
	report_cleanup(&r);
	registry_free(reg);
	geo_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_geo),
	    cmocka_unit_test(test_geo_station),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
