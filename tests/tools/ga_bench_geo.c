/* ga_bench_geo.c - transform and region-lookup rates on one core.
 *
 *   ga_bench_geo [N]     (default 1,000,000 points)
 *
 * N pseudo-random points (fixed seed) over Jiangsu's part of the 3-degree
 * Gauss-Kruger zone CM 120E (lon 118.5-121.5, lat 31-35) are made as
 * EPSG:4549 easting/northing, then timed through:
 *   1. bare proj_trans with the same normalised EPSG:4549 -> EPSG:4490 PJ
 *      that geo builds (the floor: what PROJ itself costs per point);
 *   2. geo_transform("EPSG:4549", ...);
 *   3. geo_region_at on the results;
 *   4. geo_transform + geo_region_at, as a report goes through them.
 * Prints points/s for each and the ratio geo_transform / bare proj_trans. */
#include <math.h>
#include <proj.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "geo.h"

#define BENCH_DEFAULT_N 1000000L
#define BENCH_MAX_N 100000000L

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible and cheap. */
static double uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : BENCH_DEFAULT_N;
	double *x = NULL, *y = NULL, *lon = NULL, *lat = NULL, t0, t_bare, t_geo, t_look, t_both;
	double sink = 0;
	long found = 0, failed = 0;
	uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
	PJ_CONTEXT *ctx = NULL;
	PJ *fwd = NULL, *op = NULL, *bare = NULL, *tmp = NULL;
	struct geo *g = NULL;
	char err[512];
	int status = 1;

	if (n <= 0 || n > BENCH_MAX_N) {
		fprintf(stderr, "usage: ga_bench_geo [N], 1 <= N <= %ld\n", BENCH_MAX_N);
		return 2;
	}
	x = malloc((size_t)n * sizeof(double));
	y = malloc((size_t)n * sizeof(double));
	lon = malloc((size_t)n * sizeof(double));
	lat = malloc((size_t)n * sizeof(double));
	if (x == NULL || y == NULL || lon == NULL || lat == NULL) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	if ((g = geo_new(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "geo_new: %s\n", err);
		goto out;
	}
	ctx = proj_context_create();
	/* lon/lat -> easting/northing, to make the input points. */
	if ((tmp = proj_create_crs_to_crs(ctx, "EPSG:4490", "EPSG:4549", NULL)) == NULL ||
	    (fwd = proj_normalize_for_visualization(ctx, tmp)) == NULL) {
		fprintf(stderr, "PROJ: cannot build EPSG:4490 -> EPSG:4549\n");
		goto out;
	}
	for (long i = 0; i < n; i++) {
		PJ_COORD c =
		    proj_coord(118.5 + 3.0 * uniform(&seed), 31.0 + 4.0 * uniform(&seed), 0, 0);

		c = proj_trans(fwd, PJ_FWD, c);
		x[i] = c.xy.x;
		y[i] = c.xy.y;
	}
	proj_destroy(tmp);
	tmp = NULL;
	if ((op = proj_create_crs_to_crs(ctx, "EPSG:4549", "EPSG:4490", NULL)) == NULL ||
	    (bare = proj_normalize_for_visualization(ctx, op)) == NULL) {
		fprintf(stderr, "PROJ: cannot build EPSG:4549 -> EPSG:4490\n");
		goto out;
	}
	/* Warm up: the first geo_transform builds and caches the PJ. */
	if (geo_transform(g, "EPSG:4549", x[0], y[0], &lon[0], &lat[0], NULL, err, sizeof(err)) !=
	    GA_OK) {
		fprintf(stderr, "geo_transform: %s\n", err);
		goto out;
	}

	t0 = now();
	for (long i = 0; i < n; i++) {
		PJ_COORD c = proj_trans(bare, PJ_FWD, proj_coord(x[i], y[i], 0, 0));

		sink += c.xy.x;
	}
	t_bare = now() - t0;

	t0 = now();
	for (long i = 0; i < n; i++)
		if (geo_transform(g, "EPSG:4549", x[i], y[i], &lon[i], &lat[i], NULL, err,
				  sizeof(err)) != GA_OK)
			failed++;
	t_geo = now() - t0;

	t0 = now();
	for (long i = 0; i < n; i++)
		found += geo_region_at(g, lon[i], lat[i]) != NULL;
	t_look = now() - t0;

	t0 = now();
	for (long i = 0; i < n; i++) {
		double a, b;

		if (geo_transform(g, "EPSG:4549", x[i], y[i], &a, &b, NULL, err, sizeof(err)) ==
		    GA_OK)
			sink += geo_region_at(g, a, b) != NULL;
	}
	t_both = now() - t0;

	printf("points                      %ld (EPSG:4549, lon 118.5-121.5, lat 31-35)\n", n);
	printf("in a region                 %ld (%.1f%%), transform failures %ld\n", found,
	       100.0 * found / n, failed);
	printf("bare proj_trans             %12.0f points/s  (%.3f us/point)\n", n / t_bare,
	       1e6 * t_bare / n);
	printf("geo_transform               %12.0f points/s  (%.3f us/point)\n", n / t_geo,
	       1e6 * t_geo / n);
	printf("geo_region_at               %12.0f points/s  (%.3f us/point)\n", n / t_look,
	       1e6 * t_look / n);
	printf("transform + region lookup   %12.0f points/s  (%.3f us/point)\n", n / t_both,
	       1e6 * t_both / n);
	printf("ratio geo_transform / bare  %12.3f\n", t_geo / t_bare);
	if (!isfinite(sink))
		printf("(sink %f)\n", sink);
	status = failed == 0 ? 0 : 1;
out:
	proj_destroy(bare);
	proj_destroy(op);
	proj_destroy(fwd);
	proj_destroy(tmp);
	if (ctx != NULL)
		proj_context_destroy(ctx);
	geo_free(g);
	free(x);
	free(y);
	free(lon);
	free(lat);
	return status;
}
