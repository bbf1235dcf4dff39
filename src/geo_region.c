/* geo_region.c - the county polygons: loading the GeoJSON, the lookup
 * index (a grid of candidate polygons, and per polygon its edges split
 * into y-bands) and the even-odd point-in-polygon test. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "geo.h"
#include "geo_internal.h"
#include "geojson.h"

/* A growable array with a cap on its element count. */
struct vec {
	void *p;
	size_t n, cap, size, max;
};

static int vec_push(struct vec *v, const void *elem)
{
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 64;
		void *np;

		if (v->n >= v->max)
			return -1;
		if (ncap > v->max)
			ncap = v->max;
		if ((np = realloc(v->p, ncap * v->size)) == NULL)
			return -1;
		v->p = np;
		v->cap = ncap;
	}
	memcpy((char *)v->p + v->n * v->size, elem, v->size);
	v->n++;
	return 0;
}

/* A region being loaded, before sorting. */
struct pending {
	struct region r;
	size_t index; /* feature index, for messages; its polygons' region until sorted */
};

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	return strcmp(x->r.admin_code, y->r.admin_code);
}

/* Polygons by region, then in file order (their edges come in file order). */
static int poly_cmp(const void *a, const void *b)
{
	const struct geo_poly *x = a, *y = b;

	if (x->region != y->region)
		return x->region < y->region ? -1 : 1;
	return x->edge0 < y->edge0 ? -1 : x->edge0 > y->edge0;
}

/* Copies a string property into dst; false when absent, not a string,
 * empty or too long. */
static bool geo_prop_string(json_t *props, const char *key, char *dst, size_t dstlen)
{
	json_t *v = json_object_get(props, key);

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= dstlen ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool geo_is_code(const char *s)
{
	if (strlen(s) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Reads one region's properties; message into why. */
static bool geo_read_props(json_t *feature, struct region *r, char *why, size_t whylen)
{
	json_t *props = json_object_get(feature, "properties");
	char province[GEO_NAME_MAX] = "";
	int n;

	if (!json_is_object(props)) {
		snprintf(why, whylen, "properties is not an object");
		return false;
	}
	if (!geo_prop_string(props, "admin_code", r->admin_code, sizeof(r->admin_code)) ||
	    !geo_is_code(r->admin_code)) {
		snprintf(why, whylen, "admin_code is not 6 digits");
		return false;
	}
	if (!geo_prop_string(props, "name", r->name, sizeof(r->name))) {
		snprintf(why, whylen, "name is missing, empty or longer than %d bytes",
			 GEO_NAME_MAX - 1);
		return false;
	}
	if (!geo_prop_string(props, "city", r->city, sizeof(r->city))) {
		snprintf(why, whylen, "city is missing, empty or longer than %d bytes",
			 GEO_NAME_MAX - 1);
		return false;
	}
	if (json_object_get(props, "province") != NULL) {
		if (!geo_prop_string(props, "province", province, sizeof(province))) {
			snprintf(why, whylen, "province is not a non-empty string");
			return false;
		}
	} else if (strncmp(r->admin_code, "32", 2) == 0) {
		snprintf(province, sizeof(province), "江苏省");
	}
	n = snprintf(r->full_name, sizeof(r->full_name), "%s%s%s", province, r->city, r->name);
	if (n < 0 || (size_t)n >= sizeof(r->full_name)) {
		snprintf(why, whylen, "full name longer than %d bytes", GEO_NAME_MAX - 1);
		return false;
	}
	return true;
}

/* Validates a ring: an array of >= 4 [x, y] positions, finite, in range,
 * closed. Returns the number of positions or 0. */
static size_t geo_check_ring(json_t *ring, char *why, size_t whylen)
{
	size_t n = json_array_size(ring);

	if (!json_is_array(ring) || n < 4) {
		snprintf(why, whylen, "a ring has fewer than 4 positions");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *pos = json_array_get(ring, i);
		json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
		double dx, dy;

		if (!json_is_array(pos) || json_array_size(pos) < 2 || !json_is_number(x) ||
		    !json_is_number(y)) {
			snprintf(why, whylen, "position %zu is not [lon, lat]", i);
			return 0;
		}
		dx = json_number_value(x);
		dy = json_number_value(y);
		if (!isfinite(dx) || !isfinite(dy) || dx < -180 || dx > 180 || dy < -90 ||
		    dy > 90) {
			snprintf(why, whylen, "position %zu is not a lon/lat in range", i);
			return 0;
		}
	}
	if (!json_equal(json_array_get(ring, 0), json_array_get(ring, n - 1))) {
		snprintf(why, whylen, "a ring is not closed");
		return 0;
	}
	return n;
}

struct build {
	struct vec polys, edges, band_start, band_edges;
	size_t nvertices;
};

/* The bands [*b0, *b1] of p an edge's y-range meets, clamped. */
static void geo_edge_bands(const struct geo_poly *p, const struct geo_edge *e, long *b0, long *b1)
{
	*b0 = (long)floor((fmin(e->y1, e->y2) - p->miny) / p->band_h);
	*b1 = (long)floor((fmax(e->y1, e->y2) - p->miny) / p->band_h);
	if (*b0 < 0)
		*b0 = 0;
	if (*b1 >= (long)p->nband)
		*b1 = (long)p->nband - 1;
	if (*b0 > *b1)
		*b0 = *b1;
}

/* Adds one polygon (array of rings) of region ri. */
static bool geo_add_polygon(struct build *b, json_t *rings, uint32_t ri, char *why, size_t whylen)
{
	struct geo_poly poly = {
	    .minx = INFINITY, .miny = INFINITY, .maxx = -INFINITY, .maxy = -INFINITY, .region = ri};
	size_t e0 = b->edges.n, ne;
	uint32_t *counts = NULL;
	bool ok = false;

	if (!json_is_array(rings) || json_array_size(rings) == 0) {
		snprintf(why, whylen, "a polygon has no rings");
		goto out;
	}
	for (size_t k = 0; k < json_array_size(rings); k++) {
		json_t *ring = json_array_get(rings, k);
		size_t n = geo_check_ring(ring, why, whylen);

		if (n == 0)
			goto out;
		b->nvertices += n;
		if (b->nvertices > GEO_MAX_VERTICES) {
			snprintf(why, whylen, "more than %u vertices in the file",
				 GEO_MAX_VERTICES);
			goto out;
		}
		for (size_t i = 0; i + 1 < n; i++) {
			json_t *p = json_array_get(ring, i), *q = json_array_get(ring, i + 1);
			struct geo_edge e = {json_number_value(json_array_get(p, 0)),
					     json_number_value(json_array_get(p, 1)),
					     json_number_value(json_array_get(q, 0)),
					     json_number_value(json_array_get(q, 1))};

			poly.minx = fmin(poly.minx, e.x1);
			poly.maxx = fmax(poly.maxx, e.x1);
			poly.miny = fmin(poly.miny, e.y1);
			poly.maxy = fmax(poly.maxy, e.y1);
			if (vec_push(&b->edges, &e) != 0) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
		}
	}
	ne = b->edges.n - e0;
	poly.edge0 = (uint32_t)e0;
	poly.nedge = (uint32_t)ne;
	poly.nband = (uint32_t)(ne / GEO_BAND_EDGES) + 1;
	poly.band_h = (poly.maxy - poly.miny) / poly.nband;
	if (!(poly.band_h > 0))
		poly.band_h = 1;
	poly.band_off = (uint32_t)b->band_start.n;
	/* Count edges per band, lay out the offsets, then fill band by band
	 * so each band's edge indices are contiguous. */
	if ((counts = calloc(poly.nband, sizeof(*counts))) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (size_t i = e0; i < b->edges.n; i++) {
		long b0, b1;

		geo_edge_bands(&poly, (struct geo_edge *)b->edges.p + i, &b0, &b1);
		for (long k = b0; k <= b1; k++)
			counts[k]++;
	}
	{
		uint32_t off = (uint32_t)b->band_edges.n;

		for (uint32_t k = 0; k <= poly.nband; k++) {
			if (vec_push(&b->band_start, &off) != 0) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			if (k < poly.nband)
				off += counts[k];
		}
	}
	/* Reserve the slots, then place each edge in its bands via cursors
	 * (counts is reused as the cursor of each band). */
	{
		const uint32_t *off = (uint32_t *)b->band_start.p + poly.band_off;
		uint32_t zero = 0;

		for (uint32_t k = 0; k < poly.nband; k++)
			for (uint32_t c = 0; c < counts[k]; c++)
				if (vec_push(&b->band_edges, &zero) != 0) {
					snprintf(why, whylen, "out of memory");
					goto out;
				}
		memset(counts, 0, poly.nband * sizeof(*counts));
		for (size_t i = e0; i < b->edges.n; i++) {
			long b0, b1;

			geo_edge_bands(&poly, (struct geo_edge *)b->edges.p + i, &b0, &b1);
			for (long k = b0; k <= b1; k++)
				((uint32_t *)b->band_edges.p)[off[k] + counts[k]++] = (uint32_t)i;
		}
	}
	if (vec_push(&b->polys, &poly) != 0) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	ok = true;
out:
	free(counts);
	return ok;
}

static bool geo_add_geometry(struct build *b, json_t *geom, uint32_t ri, char *why, size_t whylen)
{
	const char *type = json_string_value(json_object_get(geom, "type"));
	json_t *coords = json_object_get(geom, "coordinates");

	if (!json_is_object(geom) || type == NULL || !json_is_array(coords)) {
		snprintf(why, whylen, "geometry is not a Polygon or MultiPolygon");
		return false;
	}
	if (strcmp(type, "Polygon") == 0)
		return geo_add_polygon(b, coords, ri, why, whylen);
	if (strcmp(type, "MultiPolygon") == 0) {
		if (json_array_size(coords) == 0) {
			snprintf(why, whylen, "MultiPolygon has no polygons");
			return false;
		}
		for (size_t i = 0; i < json_array_size(coords); i++)
			if (!geo_add_polygon(b, json_array_get(coords, i), ri, why, whylen))
				return false;
		return true;
	}
	snprintf(why, whylen, "geometry type %s is not Polygon or MultiPolygon", type);
	return false;
}

/* Builds the grid: each cell lists the polygons whose bbox meets it. */
static ga_err geo_build_grid(struct geo *g)
{
	double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY, w, h;
	uint32_t *counts = NULL;
	size_t ncells, total = 0;
	ga_err rc = GA_ERR_NOMEM;

	for (size_t i = 0; i < g->npolys; i++) {
		minx = fmin(minx, g->polys[i].minx);
		miny = fmin(miny, g->polys[i].miny);
		maxx = fmax(maxx, g->polys[i].maxx);
		maxy = fmax(maxy, g->polys[i].maxy);
	}
	if (g->npolys == 0) {
		minx = miny = 0;
		maxx = maxy = 1;
	}
	w = maxx - minx;
	h = maxy - miny;
	g->cell = fmax(fmax(w, h) / GEO_GRID_MAX, 0.01);
	g->grid_x0 = minx;
	g->grid_y0 = miny;
	g->gnx = (uint32_t)(w / g->cell) + 1;
	g->gny = (uint32_t)(h / g->cell) + 1;
	ncells = (size_t)g->gnx * g->gny;
	if ((g->cell_start = calloc(ncells + 1, sizeof(*g->cell_start))) == NULL)
		goto out;
	if ((counts = calloc(ncells, sizeof(*counts))) == NULL)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < g->npolys; i++) {
			const struct geo_poly *p = &g->polys[i];
			uint32_t i0 = (uint32_t)((p->minx - minx) / g->cell);
			uint32_t i1 = (uint32_t)((p->maxx - minx) / g->cell);
			uint32_t j0 = (uint32_t)((p->miny - miny) / g->cell);
			uint32_t j1 = (uint32_t)((p->maxy - miny) / g->cell);

			for (uint32_t j = j0; j <= j1 && j < g->gny; j++)
				for (uint32_t k = i0; k <= i1 && k < g->gnx; k++) {
					size_t c = (size_t)j * g->gnx + k;

					if (pass == 0)
						counts[c]++;
					else
						g->cell_polys[g->cell_start[c] + counts[c]++] =
						    (uint32_t)i;
				}
		}
		if (pass == 0) {
			for (size_t c = 0; c < ncells; c++) {
				g->cell_start[c] = (uint32_t)total;
				total += counts[c];
			}
			g->cell_start[ncells] = (uint32_t)total;
			if (total > UINT32_MAX ||
			    (g->cell_polys = malloc((total ? total : 1) * sizeof(uint32_t))) ==
				NULL)
				goto out;
			memset(counts, 0, ncells * sizeof(*counts));
		}
	}
	rc = GA_OK;
out:
	free(counts);
	return rc;
}

/* Gives back a vector's unused capacity (growth doubles it). */
static void vec_shrink(struct vec *v)
{
	void *np;

	if (v->n > 0 && v->n < v->cap && (np = realloc(v->p, v->n * v->size)) != NULL) {
		v->p = np;
		v->cap = v->n;
	}
}

/* The loader's state while features stream in. */
struct geo_load {
	const char *path;
	struct vec pend; /* struct pending, in file order */
	struct build b;
};

/* geojson_feature_cb: checks one feature's properties and adds its
 * polygons, which point at the region by feature index for now. */
static ga_err geo_load_feature(json_t *f, size_t i, void *arg, char *err, size_t errlen)
{
	struct geo_load *l = arg;
	struct pending p = {.index = i};
	char why[256];

	if (i >= GEO_MAX_REGIONS) {
		snprintf(err, errlen, "%s: more than %d features", l->path, GEO_MAX_REGIONS);
		return GA_ERR_CONFIG;
	}
	if (!json_is_object(f) || !geo_read_props(f, &p.r, why, sizeof(why))) {
		snprintf(err, errlen, "%s: feature %zu: %s", l->path, i,
			 json_is_object(f) ? why : "not an object");
		return GA_ERR_CONFIG;
	}
	if (!geo_add_geometry(&l->b, json_object_get(f, "geometry"), (uint32_t)i, why,
			      sizeof(why))) {
		snprintf(err, errlen, "%s: feature %zu (admin_code %s): %s", l->path, i,
			 p.r.admin_code, why);
		return GA_ERR_CONFIG;
	}
	if (vec_push(&l->pend, &p) != 0) {
		snprintf(err, errlen, "%s: out of memory", l->path);
		return GA_ERR_NOMEM;
	}
	return GA_OK;
}

ga_err geo__load_regions(struct geo *g, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, nf;
	uint32_t *order = NULL;
	struct pending *pend;
	struct geo_poly *polys;
	struct geo_load l = {
	    .path = path,
	    .pend = {.size = sizeof(struct pending), .max = GEO_MAX_REGIONS},
	    .b =
		{
		    .polys = {.size = sizeof(struct geo_poly), .max = GEO_MAX_VERTICES},
		    .edges = {.size = sizeof(struct geo_edge), .max = GEO_MAX_VERTICES},
		    .band_start = {.size = sizeof(uint32_t), .max = 4 * (size_t)GEO_MAX_VERTICES},
		    .band_edges = {.size = sizeof(uint32_t), .max = 16 * (size_t)GEO_MAX_VERTICES},
		},
	};
	ga_err rc;

	if ((rc = file_read(path, GEO_MAX_FILE_BYTES, &buf, &len, err, errlen)) != GA_OK)
		goto out;
	/* One feature's tree at a time: the whole file's would be ~8x its size. */
	if ((rc = geojson_each_feature(path, buf, len, geo_load_feature, &l, err, errlen)) != GA_OK)
		goto out;
	free(buf);
	buf = NULL;
	rc = GA_ERR_CONFIG;
	pend = l.pend.p;
	nf = l.pend.n;
	if (nf > 1)
		qsort(pend, nf, sizeof(*pend), pending_cmp);
	for (size_t i = 0; i + 1 < nf; i++)
		if (strcmp(pend[i].r.admin_code, pend[i + 1].r.admin_code) == 0) {
			snprintf(err, errlen, "%s: feature %zu: admin_code %s appears twice", path,
				 pend[i + 1].index > pend[i].index ? pend[i + 1].index
								   : pend[i].index,
				 pend[i].r.admin_code);
			goto out;
		}
	if ((g->regions = calloc(nf ? nf : 1, sizeof(*g->regions))) == NULL ||
	    (order = calloc(nf ? nf : 1, sizeof(*order))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = GA_ERR_NOMEM;
		goto out;
	}
	/* Regions in code order; polygons follow their region's new index and
	 * are sorted the same way, so the first hit is the lowest code. */
	for (size_t i = 0; i < nf; i++) {
		g->regions[i] = pend[i].r;
		order[pend[i].index] = (uint32_t)i;
	}
	polys = l.b.polys.p;
	for (size_t k = 0; k < l.b.polys.n; k++)
		polys[k].region = order[polys[k].region];
	if (l.b.polys.n > 1)
		qsort(polys, l.b.polys.n, sizeof(*polys), poly_cmp);
	vec_shrink(&l.b.polys);
	vec_shrink(&l.b.edges);
	vec_shrink(&l.b.band_start);
	vec_shrink(&l.b.band_edges);
	g->nregions = nf;
	g->polys = l.b.polys.p;
	g->npolys = l.b.polys.n;
	g->edges = l.b.edges.p;
	g->nedges = l.b.edges.n;
	g->band_start = l.b.band_start.p;
	g->nband_start = l.b.band_start.n;
	g->band_edges = l.b.band_edges.p;
	g->nband_edges = l.b.band_edges.n;
	memset(&l.b, 0, sizeof(l.b));
	if (geo_build_grid(g) != GA_OK) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = GA_ERR_NOMEM;
		goto out;
	}
	rc = GA_OK;
out:
	free(l.b.polys.p);
	free(l.b.edges.p);
	free(l.b.band_start.p);
	free(l.b.band_edges.p);
	free(l.pend.p);
	free(order);
	free(buf);
	return rc;
}

void geo__free_regions(struct geo *g)
{
	free(g->regions);
	free(g->polys);
	free(g->edges);
	free(g->band_start);
	free(g->band_edges);
	free(g->cell_start);
	free(g->cell_polys);
}

/* True when (x, y) lies on the edge (exactly, as given in the file). */
static bool geo_on_edge(const struct geo_edge *e, double x, double y)
{
	if (x < fmin(e->x1, e->x2) || x > fmax(e->x1, e->x2) || y < fmin(e->y1, e->y2) ||
	    y > fmax(e->y1, e->y2))
		return false;
	return (e->x2 - e->x1) * (y - e->y1) == (e->y2 - e->y1) * (x - e->x1);
}

/* Even-odd test over all rings of one polygon, looking only at the edges
 * of the band holding lat. Half-open in y, so a vertex is counted once.
 * A point on the boundary is inside, so a point on a shared border is in
 * both neighbours and the lowest code wins (see geo_region_at). */
static bool geo_poly_contains(const struct geo *g, const struct geo_poly *p, double x, double y)
{
	const uint32_t *bs;
	long k;
	bool in = false;

	if (x < p->minx || x > p->maxx || y < p->miny || y > p->maxy)
		return false;
	k = (long)floor((y - p->miny) / p->band_h);
	if (k < 0)
		k = 0;
	if (k >= (long)p->nband)
		k = (long)p->nband - 1;
	bs = g->band_start + p->band_off;
	for (uint32_t i = bs[k]; i < bs[k + 1]; i++) {
		const struct geo_edge *e = &g->edges[g->band_edges[i]];

		if (geo_on_edge(e, x, y))
			return true;
		if ((e->y1 > y) != (e->y2 > y) &&
		    x < (e->x2 - e->x1) * (y - e->y1) / (e->y2 - e->y1) + e->x1)
			in = !in;
	}
	return in;
}

const struct region *geo_region_at(const struct geo *g, double lon, double lat)
{
	long i, j;
	size_t c;

	if (g == NULL || g->npolys == 0 || !isfinite(lon) || !isfinite(lat))
		return NULL;
	i = (long)floor((lon - g->grid_x0) / g->cell);
	j = (long)floor((lat - g->grid_y0) / g->cell);
	if (i < 0 || j < 0 || i >= (long)g->gnx || j >= (long)g->gny)
		return NULL;
	c = (size_t)j * g->gnx + (size_t)i;
	/* Candidates are in region-code order: the first hit is the lowest
	 * code, which settles points on shared borders. */
	for (uint32_t k = g->cell_start[c]; k < g->cell_start[c + 1]; k++) {
		const struct geo_poly *p = &g->polys[g->cell_polys[k]];

		if (geo_poly_contains(g, p, lon, lat))
			return &g->regions[p->region];
	}
	return NULL;
}

bool geo_region_outline(const struct geo *g, const char *admin_code, geo_outline_cb cb, void *arg)
{
	const struct region *r = geo_region_by_code(g, admin_code);

	if (r == NULL)
		return false;
	uint32_t ri = (uint32_t)(r - g->regions);
	for (size_t k = 0; k < g->npolys; k++) {
		const struct geo_poly *p = &g->polys[k];

		if (p->region != ri)
			continue;
		for (uint32_t i = p->edge0; i < p->edge0 + p->nedge; i++) {
			const struct geo_edge *e = &g->edges[i];

			/* A ring ends where the next edge does not continue it. */
			if (i == p->edge0 || e->x1 != g->edges[i - 1].x2 ||
			    e->y1 != g->edges[i - 1].y2)
				cb(e->x1, e->y1, true, arg);
			cb(e->x2, e->y2, false, arg);
		}
	}
	return true;
}
