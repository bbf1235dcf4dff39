/* ga_outline_bench.c - the CAP polygons of every county of the bundled
 * regions (issue 14, docs/benchmarks.md "Risk warnings"), two ways in
 * the same run:
 *   simplify  each ring on its own to at most 100 points, stopping at
 *             190 m (what riskwarning_cap.c did before the cut: the
 *             baseline; 80 of 125 rings end farther than 200 m);
 *   cut       riskwarning_outline_new: a county whose rings do not fit
 *             is cut into pieces that do (what the CAP has now).
 * For each: rings or polygons, points, polygons per county (max), the
 * largest deviation the simplifier reports, the bytes of the <polygon>
 * texts, and the time of a pass over all 95 counties (median of R
 * passes). Then the whole CAP of a product with every county red
 * (riskwarning_cap_write, unsigned): size and render time (median of R).
 *
 *   ga_outline_bench [R]      (default 20 passes) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo.h"
#include "riskwarning.h"
#include "riskwarning_cap.h"
#include "riskwarning_outline.h"

#define BENCH_PASSES_MAX 1000
#define BENCH_POLY_TEXT (RISKWARNING_OUTLINE_MAX * 32)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	return v[n / 2];
}

struct tally {
	size_t polygons, points, bytes, most;
	double worst;
};

/* --- the baseline: each ring on its own ------------------------------- */

struct ring {
	double (*p)[2];
	size_t n, cap;
	struct tally *t;
	int failed;
};

static void ring_flush(struct ring *r)
{
	double out[RISKWARNING_OUTLINE_MAX][2], dev;
	char text[BENCH_POLY_TEXT];
	size_t nout;

	if (r->n == 0)
		return;
	if (riskwarning_outline_simplify((const double(*)[2])r->p, NULL, r->n,
					 RISKWARNING_OUTLINE_MAX, RISKWARNING_OUTLINE_WORK_M, out,
					 &nout, &dev) != GA_OK ||
	    riskwarning_outline_cap_text((const double(*)[2])out, nout, text, sizeof(text)) !=
		GA_OK) {
		r->failed = 1;
	} else {
		r->t->polygons++;
		r->t->points += nout;
		r->t->bytes += strlen(text);
		if (dev > r->t->worst)
			r->t->worst = dev;
	}
	r->n = 0;
}

static void ring_point(double lon, double lat, bool start, void *arg)
{
	struct ring *r = arg;

	if (start)
		ring_flush(r);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		void *p = realloc(r->p, r->cap * sizeof(*r->p));
		if (p == NULL) {
			r->failed = 1;
			r->n = 0;
			return;
		}
		r->p = p;
	}
	r->p[r->n][0] = lon;
	r->p[r->n][1] = lat;
	r->n++;
}

static int pass_simplify(const struct geo *g, struct tally *t)
{
	struct ring r = {.t = t};

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < geo_region_count(g); i++) {
		size_t before = t->polygons;
		geo_region_outline(g, geo_region_get(g, i)->admin_code, ring_point, &r);
		ring_flush(&r);
		if (t->polygons - before > t->most)
			t->most = t->polygons - before;
	}
	free(r.p);
	return r.failed;
}

/* --- now: the county cut into pieces ---------------------------------- */

static int pass_cut(const struct geo *g, struct tally *t)
{
	char text[BENCH_POLY_TEXT];

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < geo_region_count(g); i++) {
		struct riskwarning_outline *o;
		if (riskwarning_outline_new(g, geo_region_get(g, i)->admin_code, &o) != GA_OK)
			return 1;
		size_t np = riskwarning_outline_count(o);
		for (size_t k = 0; k < np; k++) {
			size_t n;
			const double(*p)[2] = riskwarning_outline_polygon(o, k, &n);
			if (riskwarning_outline_cap_text(p, n, text, sizeof(text)) != GA_OK) {
				riskwarning_outline_free(o);
				return 1;
			}
			t->points += n;
			t->bytes += strlen(text);
		}
		t->polygons += np;
		if (np > t->most)
			t->most = np;
		if (riskwarning_outline_deviation(o) > t->worst)
			t->worst = riskwarning_outline_deviation(o);
		riskwarning_outline_free(o);
	}
	return 0;
}

/* A product with every county red, as the store keeps it. */
static json_t *all_red(const struct geo *g)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s, s], s:s, s:s, s:[]}", "schema",
			      "geohazard.riskwarning/1", "product_id", "BENCH-ALL", "issued_at",
			      "2026-12-07T17:30:00+08:00", "valid_from",
			      "2026-12-07T20:00:00+08:00", "valid_to", "2026-12-08T20:00:00+08:00",
			      "issuers", "江苏省自然资源厅", "江苏省气象局", "rain_summary",
			      "预计全省有大到暴雨。", "advice", "请加强巡查。", "counties");

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < geo_region_count(g); i++) {
		const struct region *r = geo_region_get(g, i);
		json_array_append_new(json_object_get(p, "counties"),
				      json_pack("{s:s, s:s, s:s, s:s}", "admin_code", r->admin_code,
						"name", r->name, "city", r->city, "level", "red"));
	}
	return p;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long lp = argc > 1 ? strtol(argv[1], &end, 10) : 20;
	/* a trailing non-digit, or out of long's range, is refused below */
	int passes =
	    argc > 1 && (*argv[1] == '\0' || *end != '\0' || lp < 1 || lp > BENCH_PASSES_MAX)
		? 0
		: (int)lp;
	double ts[BENCH_PASSES_MAX], tc[BENCH_PASSES_MAX], tcap[BENCH_PASSES_MAX];
	struct geo_options opt;
	struct tally s, c;
	struct geo *g;
	char err[512];
	json_t *product;
	size_t caplen = 0;
	int ninfo = 0;

	if (passes < 1 || passes > BENCH_PASSES_MAX) {
		fprintf(stderr, "usage: ga_outline_bench [R], 1 <= R <= %d\n", BENCH_PASSES_MAX);
		return 2;
	}
	memset(&opt, 0, sizeof(opt));
	if ((g = geo_new(&opt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ga_outline_bench: %s\n", err);
		return 1;
	}
	for (int i = 0; i < passes; i++) {
		double t0 = now_ms();
		if (pass_simplify(g, &s) != 0) {
			fprintf(stderr, "ga_outline_bench: simplify failed\n");
			return 1;
		}
		ts[i] = now_ms() - t0;
		t0 = now_ms();
		if (pass_cut(g, &c) != 0) {
			fprintf(stderr, "ga_outline_bench: cut failed\n");
			return 1;
		}
		tc[i] = now_ms() - t0;
	}
	struct riskwarning_cap_opts o = {.sender = "bench@geoalert",
					 .base_url = "https://example.org",
					 .publish_min = RISKWARNING_YELLOW,
					 .version = 1,
					 .msg_type = "Alert",
					 .sent = "2026-12-07T17:40:00+08:00"};
	if ((product = all_red(g)) == NULL)
		return 1;
	for (int i = 0; i < passes; i++) {
		char *doc = NULL;
		double t0 = now_ms();
		if (riskwarning_cap_write(&o, product, g, &doc, &caplen, &ninfo) != GA_OK) {
			fprintf(stderr, "ga_outline_bench: riskwarning_cap_write failed\n");
			return 1;
		}
		tcap[i] = now_ms() - t0;
		free(doc);
	}
	printf("%zu counties, %d passes (median)\n", geo_region_count(g), passes);
	printf("%-9s %8s %8s %12s %14s %12s %10s\n", "", "polygons", "points", "most/county",
	       "max dev (m)", "text bytes", "pass ms");
	printf("%-9s %8zu %8zu %12zu %14.1f %12zu %10.2f\n", "simplify", s.polygons, s.points,
	       s.most, s.worst, s.bytes, median(ts, passes));
	printf("%-9s %8zu %8zu %12zu %14.1f %12zu %10.2f\n", "cut", c.polygons, c.points, c.most,
	       c.worst, c.bytes, median(tc, passes));
	printf("cut / simplify: time %.2f, bytes %.2f\n", median(tc, passes) / median(ts, passes),
	       (double)c.bytes / (double)s.bytes);
	printf("CAP, all %zu counties red (%d <info>), unsigned: %zu bytes, render %.2f ms\n",
	       geo_region_count(g), ninfo, caplen, median(tcap, passes));
	json_decref(product);
	geo_free(g);
	return 0;
}
