/* geo_internal.h - internals shared by geo.c, geo_region.c and geo_transform.c.
 * Not for other modules: they see struct geo only through geo.h. */
#ifndef GA_GEO_INTERNAL_H
#define GA_GEO_INTERNAL_H

#include <stdint.h>

#include "geo.h"

#define GEO_MAX_FILE_BYTES (64u << 20) /* regions GeoJSON */
#define GEO_MAX_REGIONS 10000
#define GEO_MAX_VERTICES (8u << 20) /* over all rings */
#define GEO_MAX_PREFIXES 64	    /* service-area prefixes */
#define GEO_GRID_MAX 512	    /* cells per side of the lookup grid */
#define GEO_BAND_EDGES 8	    /* edges per y-band of a polygon, on average */

/* One edge of a ring; rings are kept as edge lists for the even-odd test. */
struct geo_edge {
	double x1, y1, x2, y2;
};

/* One polygon (outer ring plus holes) of a region. Its edges are split into
 * horizontal bands so a ray cast only looks at edges near the point. */
struct geo_poly {
	double minx, miny, maxx, maxy;
	uint32_t region; /* index into geo.regions */
	uint32_t nband;
	double band_h;	   /* band height in degrees */
	uint32_t band_off; /* nband + 1 offsets into geo.band_edges start here in geo.band_start */
	uint32_t edge0, nedge; /* its edges in geo.edges, ring after ring (for outlines) */
};

struct geo {
	uint64_t id; /* unique per geo_new: keys the per-thread transform caches */

	struct region *regions; /* sorted by admin_code */
	size_t nregions;

	struct geo_poly *polys; /* in region order, so the first hit is the lowest code */
	size_t npolys;
	struct geo_edge *edges;
	size_t nedges;
	uint32_t *band_start; /* per polygon: nband + 1 offsets into band_edges */
	size_t nband_start;
	uint32_t *band_edges; /* edge indices */
	size_t nband_edges;

	/* Grid over all polygons: cell (i, j) lists candidate polygons. */
	double grid_x0, grid_y0, cell;
	uint32_t gnx, gny;
	uint32_t *cell_start; /* gnx * gny + 1 offsets into cell_polys */
	uint32_t *cell_polys;

	char prefixes[GEO_MAX_PREFIXES][GEO_CODE_LEN];
	int nprefixes;

	struct geo_helmert helmert[GEO_MAX_HELMERT];
	int nhelmert;
};

/* geo_region.c: loads the regions file into g and builds the index. */
ga_err geo__load_regions(struct geo *g, const char *path, char *err, size_t errlen);
void geo__free_regions(struct geo *g);

/* geo_transform.c: drops the calling thread's cached transforms of g. */
void geo__forget_thread(const struct geo *g);

#endif
