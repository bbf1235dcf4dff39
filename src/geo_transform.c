/* geo_transform.c - "EPSG:n" (x = easting/longitude, y = northing/latitude)
 * to CGCS2000 lon/lat with PROJ.
 *
 * PROJ objects are not thread-safe and are expensive to create, so each
 * thread has its own PROJ context and a small cache of transforms keyed by
 * (geo, EPSG code); unknown codes are cached too, so a flood of bad codes
 * costs one database query each per thread. The cache is bounded
 * (GEO_CACHE_MAX) and evicts round-robin. */
#include <math.h>
#include <proj.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "geo_internal.h"
#include "log.h"

#define GEO_CACHE_MAX 64    /* CRSs per thread */
#define GEO_AREA_MARGIN 0.5 /* degrees around a CRS's area of use */
#define GEO_TARGET_CRS "EPSG:4490"

struct geo_cached {
	uint64_t geo_id;
	int epsg;
	PJ *pj; /* NULL: the code failed; rc and msg say why */
	ga_err rc;
	unsigned warn; /* GEO_WARN_* */
	bool has_area;
	double west, south, east, north;
	char msg[160];
};

struct geo_thread {
	PJ_CONTEXT *ctx;
	struct geo_cached cache[GEO_CACHE_MAX];
	int n;
	int next_evict;
};

static pthread_key_t geo_key;
static pthread_once_t geo_key_once = PTHREAD_ONCE_INIT;

static void geo_cached_clear(struct geo_cached *c)
{
	if (c->pj != NULL)
		proj_destroy(c->pj);
	memset(c, 0, sizeof(*c));
}

static void geo_thread_free(void *arg)
{
	struct geo_thread *t = arg;

	if (t == NULL)
		return;
	for (int i = 0; i < t->n; i++)
		geo_cached_clear(&t->cache[i]);
	if (t->ctx != NULL)
		proj_context_destroy(t->ctx);
	free(t);
}

static void geo_key_init(void)
{
	if (pthread_key_create(&geo_key, geo_thread_free) != 0)
		fatalx("geo: pthread_key_create failed");
}

static struct geo_thread *geo_thread_get(void)
{
	struct geo_thread *t;

	pthread_once(&geo_key_once, geo_key_init);
	if ((t = pthread_getspecific(geo_key)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->ctx = proj_context_create()) == NULL) {
		free(t);
		return NULL;
	}
	/* Our callers report the errors; keep PROJ's own messages off stderr. */
	proj_log_level(t->ctx, PJ_LOG_NONE);
	if (pthread_setspecific(geo_key, t) != 0) {
		geo_thread_free(t);
		return NULL;
	}
	return t;
}

void geo__forget_thread(const struct geo *g)
{
	struct geo_thread *t;
	int j = 0;

	pthread_once(&geo_key_once, geo_key_init);
	if ((t = pthread_getspecific(geo_key)) == NULL)
		return;
	for (int i = 0; i < t->n; i++) {
		if (t->cache[i].geo_id == g->id)
			geo_cached_clear(&t->cache[i]);
		else
			t->cache[j++] = t->cache[i];
	}
	t->n = j;
	t->next_evict = 0;
	if (t->n == 0) {
		pthread_setspecific(geo_key, NULL);
		geo_thread_free(t);
	}
}

/* "EPSG:4549" -> 4549; -1 when not of that form. */
static int geo_parse_crs(const char *crs)
{
	long v = 0;
	const char *p;

	if (crs == NULL || strncmp(crs, "EPSG:", 5) != 0)
		return -1;
	p = crs + 5;
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 99999999)
			return -1;
	}
	return *p == '\0' ? (int)v : -1;
}

/* True when the CRS's ellipsoid is GRS 1980 or WGS 84 shaped: then a
 * ballpark (null) shift to CGCS2000 is right to a metre and needs no
 * warning. Xian 1980 (IAU 1976) and Beijing 1954 (Krassowsky) are not. */
static bool geo_grs80_like(PJ_CONTEXT *ctx, const PJ *crs)
{
	PJ *ell = proj_get_ellipsoid(ctx, crs);
	double a = 0, b = 0, invf = 0;
	int computed = 0;
	bool like = false;

	if (ell != NULL && proj_ellipsoid_get_parameters(ctx, ell, &a, &b, &computed, &invf))
		like = fabs(a - 6378137.0) < 0.5 && fabs(invf - 298.2572) < 0.001;
	proj_destroy(ell);
	return like;
}

static const struct geo_helmert *geo_find_helmert(const struct geo *g, int epsg, const PJ *geodetic)
{
	const char *code = geodetic != NULL ? proj_get_id_code(geodetic, 0) : NULL;
	const char *auth = geodetic != NULL ? proj_get_id_auth_name(geodetic, 0) : NULL;
	long base = -1;

	if (code != NULL && auth != NULL && strcmp(auth, "EPSG") == 0)
		base = strtol(code, NULL, 10);
	for (int i = 0; i < g->nhelmert; i++)
		if (g->helmert[i].epsg == epsg)
			return &g->helmert[i];
	for (int i = 0; i < g->nhelmert; i++)
		if (g->helmert[i].epsg == base)
			return &g->helmert[i];
	return NULL;
}

/* Builds the transform for a CRS with a configured Helmert: the CRS as a
 * PROJ string with +towgs84, to CGCS2000 (GRS 1980, no shift). */
static PJ *geo_helmert_op(PJ_CONTEXT *ctx, const PJ *src, const struct geo_helmert *h)
{
	const char *s = proj_as_proj_string(ctx, src, PJ_PROJ_5, NULL);
	char def[1024], *cut;
	PJ *op;

	if (s == NULL || snprintf(def, sizeof(def), "%s", s) >= (int)sizeof(def))
		return NULL;
	/* Drop what would be repeated or conflict with +towgs84. */
	if ((cut = strstr(def, " +type=crs")) != NULL)
		*cut = '\0';
	if ((cut = strstr(def, " +no_defs")) != NULL)
		*cut = '\0';
	if (strstr(def, "+towgs84") != NULL || strstr(def, "+nadgrids") != NULL ||
	    strstr(def, "+datum") != NULL)
		return NULL;
	if ((size_t)snprintf(def + strlen(def), sizeof(def) - strlen(def),
			     " +towgs84=%s +no_defs +type=crs",
			     h->towgs84) >= sizeof(def) - strlen(def))
		return NULL;
	op = proj_create_crs_to_crs(
	    ctx, def, "+proj=longlat +ellps=GRS80 +towgs84=0,0,0 +no_defs +type=crs", NULL);
	return op;
}

/* Fills c for code epsg (c->pj NULL and c->rc set when it cannot be). */
static void geo_build(struct geo_thread *t, const struct geo *g, int epsg, struct geo_cached *c)
{
	PJ_CONTEXT *ctx = t->ctx;
	PJ *src = NULL, *dst = NULL, *op = NULL, *geodetic = NULL, *cs = NULL;
	const struct geo_helmert *h;
	char code[16];
	PJ_TYPE type;
	const char *name;

	memset(c, 0, sizeof(*c));
	c->geo_id = g->id;
	c->epsg = epsg;
	c->rc = GA_ERR_INVAL;
	snprintf(code, sizeof(code), "%d", epsg);
	if ((src = proj_create_from_database(ctx, "EPSG", code, PJ_CATEGORY_CRS, 0, NULL)) ==
	    NULL) {
		snprintf(c->msg, sizeof(c->msg), "unknown CRS EPSG:%d", epsg);
		goto out;
	}
	type = proj_get_type(src);
	cs = proj_crs_get_coordinate_system(ctx, src);
	if ((type != PJ_TYPE_GEOGRAPHIC_2D_CRS && type != PJ_TYPE_PROJECTED_CRS) || cs == NULL ||
	    proj_cs_get_axis_count(ctx, cs) != 2) {
		snprintf(c->msg, sizeof(c->msg), "EPSG:%d is not a 2D geographic or projected CRS",
			 epsg);
		goto out;
	}
	c->rc = GA_ERR_GEO;
	{
		double w, s, e, n;

		if (proj_get_area_of_use(ctx, src, &w, &s, &e, &n, NULL) && w > -1000 &&
		    s > -1000) {
			c->has_area = true;
			c->west = w;
			c->south = s;
			c->east = e;
			c->north = n;
		}
	}
	geodetic = proj_crs_get_geodetic_crs(ctx, src);
	if ((h = geo_find_helmert(g, epsg, geodetic)) != NULL) {
		if ((op = geo_helmert_op(ctx, src, h)) == NULL) {
			snprintf(c->msg, sizeof(c->msg),
				 "EPSG:%d: cannot build the configured Helmert transformation",
				 epsg);
			goto out;
		}
	} else {
		if ((dst = proj_create(ctx, GEO_TARGET_CRS)) == NULL ||
		    (op = proj_create_crs_to_crs_from_pj(ctx, src, dst, NULL, NULL)) == NULL) {
			snprintf(c->msg, sizeof(c->msg), "no transformation from EPSG:%d to %s",
				 epsg, GEO_TARGET_CRS);
			goto out;
		}
		/* No datum shift in proj.db: PROJ falls back to a "Ballpark"
		 * operation (accuracy unknown). Harmless for WGS 84-like
		 * datums, ~100 m off for Xian 1980 / Beijing 1954. */
		name = proj_get_name(op);
		if (name != NULL && strstr(name, "Ballpark") != NULL && !geo_grs80_like(ctx, src))
			c->warn |= GEO_WARN_BALLPARK;
	}
	if ((c->pj = proj_normalize_for_visualization(ctx, op)) == NULL) {
		snprintf(c->msg, sizeof(c->msg), "EPSG:%d: cannot normalise the axis order", epsg);
		goto out;
	}
	c->rc = GA_OK;
out:
	proj_destroy(cs);
	proj_destroy(geodetic);
	proj_destroy(op);
	proj_destroy(dst);
	proj_destroy(src);
}

static struct geo_cached *geo_lookup(struct geo_thread *t, const struct geo *g, int epsg)
{
	struct geo_cached *c;

	for (int i = 0; i < t->n; i++)
		if (t->cache[i].epsg == epsg && t->cache[i].geo_id == g->id)
			return &t->cache[i];
	if (t->n < GEO_CACHE_MAX) {
		c = &t->cache[t->n++];
	} else {
		c = &t->cache[t->next_evict];
		t->next_evict = (t->next_evict + 1) % GEO_CACHE_MAX;
		geo_cached_clear(c);
	}
	geo_build(t, g, epsg, c);
	return c;
}

static bool geo_in_area(const struct geo_cached *c, double lon, double lat)
{
	double m = GEO_AREA_MARGIN;

	if (!c->has_area)
		return true;
	if (lat < c->south - m || lat > c->north + m)
		return false;
	if (c->west <= c->east)
		return lon >= c->west - m && lon <= c->east + m;
	/* Area across the antimeridian. */
	return lon >= c->west - m || lon <= c->east + m;
}

ga_err geo_transform(struct geo *g, const char *crs, double x, double y, double *lon, double *lat,
		     unsigned *warnings, char *err, size_t errlen)
{
	struct geo_thread *t;
	struct geo_cached *c;
	PJ_COORD in, out;
	int epsg;

	if (warnings != NULL)
		*warnings = 0;
	if (g == NULL) {
		snprintf(err, errlen, "no geo context");
		return GA_ERR_INVAL;
	}
	if ((epsg = geo_parse_crs(crs)) < 0) {
		snprintf(err, errlen, "CRS \"%.40s\" is not of the form EPSG:n", crs ? crs : "");
		return GA_ERR_INVAL;
	}
	if (!isfinite(x) || !isfinite(y)) {
		snprintf(err, errlen, "coordinates are not finite numbers");
		return GA_ERR_GEO;
	}
	if ((t = geo_thread_get()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return GA_ERR_NOMEM;
	}
	c = geo_lookup(t, g, epsg);
	if (c->pj == NULL) {
		snprintf(err, errlen, "%s", c->msg);
		return c->rc;
	}
	in = proj_coord(x, y, 0, 0);
	out = proj_trans(c->pj, PJ_FWD, in);
	if (!isfinite(out.xy.x) || !isfinite(out.xy.y) || fabs(out.xy.x) > 180 ||
	    fabs(out.xy.y) > 90) {
		snprintf(err, errlen, "(%.10g, %.10g) does not transform from EPSG:%d", x, y, epsg);
		return GA_ERR_GEO;
	}
	if (!geo_in_area(c, out.xy.x, out.xy.y)) {
		snprintf(err, errlen,
			 "(%.10g, %.10g) lies outside the area of use of EPSG:%d "
			 "(lon %.2f..%.2f, lat %.2f..%.2f)",
			 x, y, epsg, c->west, c->east, c->south, c->north);
		return GA_ERR_GEO;
	}
	*lon = out.xy.x;
	*lat = out.xy.y;
	if (warnings != NULL)
		*warnings = c->warn;
	return GA_OK;
}
