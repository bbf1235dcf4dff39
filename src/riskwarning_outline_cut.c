/* riskwarning_outline_cut.c - a county's area cut with straight lines into
 * pieces whose rings each fit a CAP <polygon> (at most
 * RISKWARNING_OUTLINE_MAX points within the tolerance of the outline;
 * riskwarning_outline.h).
 *
 * The area is the union of its outer rings less their holes (a ring
 * wholly within another is a hole of it, one within that an island
 * again), outer rings made counter-clockwise and holes clockwise, so
 * the area is always on the left of its boundary. A piece whose ring does not simplify within the
 * tolerance, or that has a hole, is clipped against the two half-planes
 * of a line through the middle of its bounding box (of its first hole's
 * box when it has one) across the longer side: the boundary stretches on
 * one side become chains from an entry crossing to an exit crossing;
 * sorted along the line, the crossings pair up (1st-2nd, 3rd-4th, ...)
 * as the stretches of the line inside the area, each leading from an
 * exit to the entry of the chain that continues the piece's ring. The
 * crossings are marked fixed: the simplifier keeps them, so the pieces
 * on both sides of a cut share its edges exactly. */
#include "riskwarning_outline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CUT_NUDGE_MAX 64 /* tries to move a cut line off every vertex */
/* How far (degrees, ~1 cm) a cut line stays from every vertex: a cut
 * along an edge of the outline itself (the bundled coordinates have 5
 * decimals, a box's middle often one of them) would make a cut edge of
 * an outline stretch. */
#define CUT_CLEAR_DEG 1e-7

struct cpt {
	double v[2]; /* lon, lat */
	bool fixed;  /* where a cut meets the boundary */
};

/* An open ring (the first point not repeated), n >= 3. */
struct cring {
	struct cpt *p;
	size_t n, cap;
};

struct riskwarning_outline {
	double (*pts)[2];
	size_t npts, cap;
	size_t *start, *len;
	size_t count, capcount;
	double deviation;
};

static void cring_cleanup(struct cring *r)
{
	free(r->p);
	r->p = NULL;
	r->n = r->cap = 0;
}

static void crings_free(struct cring *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++)
		cring_cleanup(&r[i]);
	free(r);
}

static ga_err cring_add(struct cring *r, const double v[2], bool fixed)
{
	if (r->n > 0 && r->p[r->n - 1].v[0] == v[0] && r->p[r->n - 1].v[1] == v[1]) {
		r->p[r->n - 1].fixed |= fixed; /* no repeated point */
		return GA_OK;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void *p =
		    cap <= RISKWARNING_OUTLINE_IN_MAX ? realloc(r->p, cap * sizeof(*r->p)) : NULL;
		if (p == NULL)
			return GA_ERR_NOMEM;
		r->p = p;
		r->cap = cap;
	}
	r->p[r->n].v[0] = v[0];
	r->p[r->n].v[1] = v[1];
	r->p[r->n].fixed = fixed;
	r->n++;
	return GA_OK;
}

static bool cpt_eq(const struct cpt *a, const struct cpt *b)
{
	return a->v[0] == b->v[0] && a->v[1] == b->v[1];
}

/* Removes the spikes of r (A B A: out and back along the same edge,
 * bounding nothing; the bundled outlines have some), also across its
 * start: two crossings at one point would not pair up. */
static void cring_despike(struct cring *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (n >= 2 && cpt_eq(&r->p[n - 2], &r->p[i])) {
			n--;
			continue;
		}
		if (n >= 1 && cpt_eq(&r->p[n - 1], &r->p[i]))
			continue;
		r->p[n++] = r->p[i];
	}
	for (int guard = 0; n >= 3 && guard < 1000000; guard++) {
		if (cpt_eq(&r->p[n - 1], &r->p[0]))
			n--;
		else if (cpt_eq(&r->p[n - 2], &r->p[0]))
			n -= 2;
		else if (cpt_eq(&r->p[n - 1], &r->p[1])) {
			memmove(r->p, r->p + 2, (n - 2) * sizeof(*r->p));
			n -= 2;
		} else
			break;
	}
	r->n = n;
}

/* Appending to a growing array of rings. */
static ga_err crings_push(struct cring **arr, size_t *n, size_t *cap, struct cring *r)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		void *p = realloc(*arr, c * sizeof(**arr));
		if (p == NULL)
			return GA_ERR_NOMEM;
		*arr = p;
		*cap = c;
	}
	(*arr)[(*n)++] = *r;
	memset(r, 0, sizeof(*r));
	return GA_OK;
}

/* Twice the signed area in degrees², positive counter-clockwise. */
static double cring_area(const struct cring *r)
{
	double a = 0;

	for (size_t i = 0; i < r->n; i++) {
		const double *p = r->p[i].v, *q = r->p[(i + 1) % r->n].v;
		a += p[0] * q[1] - q[0] * p[1];
	}
	return a;
}

static bool cring_contains(const struct cring *r, const double v[2])
{
	bool in = false;

	for (size_t i = 0, j = r->n - 1; i < r->n; j = i++) {
		const double *a = r->p[i].v, *b = r->p[j].v;
		if ((a[1] > v[1]) != (b[1] > v[1]) &&
		    v[0] < (b[0] - a[0]) * (v[1] - a[1]) / (b[1] - a[1]) + a[0])
			in = !in;
	}
	return in;
}

/* True when every vertex of in lies inside r: in is a hole of r, or
 * inside one. Rings of one county that merely overlap (the bundled
 * regions have such multipolygons) are not nested. */
static bool cring_within(const struct cring *r, const struct cring *in)
{
	for (size_t i = 0; i < in->n; i++)
		if (!cring_contains(r, in->p[i].v))
			return false;
	return true;
}

static void cring_reverse(struct cring *r)
{
	for (size_t i = 0, j = r->n - 1; i < j; i++, j--) {
		struct cpt t = r->p[i];
		r->p[i] = r->p[j];
		r->p[j] = t;
	}
}

/* Adds ring r (closed on output) if it fits; *fits false when it needs
 * more points than the budget or deviates more than the tolerance. */
static ga_err outline_emit(struct riskwarning_outline *o, const struct cring *r, bool *fits)
{
	double(*in)[2] = NULL, out[RISKWARNING_OUTLINE_MAX][2], dev;
	bool *fixed = NULL;
	size_t f = 0, nout, n = r->n + 1;
	ga_err e = GA_ERR_NOMEM;

	*fits = false;
	if (!(in = malloc(n * sizeof(*in))) || !(fixed = malloc(n)))
		goto out;
	/* Start on a fixed point: the first point is always kept. */
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].fixed) {
			f = i;
			break;
		}
	for (size_t i = 0; i < n; i++) {
		const struct cpt *p = &r->p[(f + i) % r->n];
		in[i][0] = p->v[0];
		in[i][1] = p->v[1];
		fixed[i] = p->fixed;
	}
	e = riskwarning_outline_simplify((const double(*)[2])in, fixed, n, RISKWARNING_OUTLINE_MAX,
					 RISKWARNING_OUTLINE_WORK_M, out, &nout, &dev);
	if (e == GA_ERR_TOOBIG || (e == GA_OK && dev > RISKWARNING_OUTLINE_WORK_M)) {
		e = GA_OK; /* does not fit: cut */
		goto out;
	}
	if (e != GA_OK)
		goto out;
	e = GA_ERR_TOOBIG;
	if (o->count == RISKWARNING_OUTLINE_PIECES_MAX)
		goto out;
	e = GA_ERR_NOMEM;
	if (o->count == o->capcount) {
		size_t c = o->capcount ? o->capcount * 2 : 8;
		size_t *s = realloc(o->start, c * sizeof(*s));
		if (s == NULL)
			goto out;
		o->start = s;
		size_t *l = realloc(o->len, c * sizeof(*l));
		if (l == NULL)
			goto out;
		o->len = l;
		o->capcount = c;
	}
	if (o->npts + nout > o->cap) {
		size_t c = o->cap ? o->cap : 256;
		while (c < o->npts + nout)
			c *= 2;
		void *p = realloc(o->pts, c * sizeof(*o->pts));
		if (p == NULL)
			goto out;
		o->pts = p;
		o->cap = c;
	}
	memcpy(o->pts + o->npts, out, nout * sizeof(*out));
	o->start[o->count] = o->npts;
	o->len[o->count] = nout;
	o->count++;
	o->npts += nout;
	if (dev > o->deviation)
		o->deviation = dev;
	*fits = true;
	e = GA_OK;
out:
	free(fixed);
	free(in);
	return e;
}

struct chain {
	struct cring r;	    /* entry crossing ... exit crossing */
	size_t first, last; /* its crossings' places in the sorted list */
	bool used;
};

struct xing {
	double t; /* position along the cut line */
	size_t chain;
	bool entry;
};

static int xing_cmp(const void *x, const void *y)
{
	const struct xing *a = x, *b = y;

	return (a->t > b->t) - (a->t < b->t);
}

/* The rings of the part of rings[0..nrings) on side (+1: coordinate axis
 * above c, -1: below) of the line coordinate axis = c, appended to
 * *out. No vertex lies on the line (the caller moved it off them). */
static ga_err outline_clip(const struct cring *rings, size_t nrings, int axis, double c, int side,
			   struct cring **out, size_t *nout, size_t *capout)
{
	struct chain *ch = NULL;
	struct xing *xs = NULL;
	struct cring ring = {0};
	size_t nch = 0, capch = 0, nx = 0, capx = 0;
	ga_err e = GA_ERR_NOMEM;

#define CUT_IN(p) ((double)side * ((p)->v[axis] - c) > 0)
	for (size_t r = 0; r < nrings; r++) {
		const struct cring *rr = &rings[r];
		size_t nin = 0, s = 0, m = rr->n;
		struct chain *cur = NULL;

		for (size_t i = 0; i < m; i++)
			nin += CUT_IN(&rr->p[i]);
		if (nin == 0)
			continue;
		if (nin == m) {
			for (size_t i = 0; i < m; i++)
				if ((e = cring_add(&ring, rr->p[i].v, rr->p[i].fixed)) != GA_OK)
					goto out;
			if ((e = crings_push(out, nout, capout, &ring)) != GA_OK)
				goto out;
			continue;
		}
		/* Walk the edges from the one entering the side. */
		for (s = 0; s < m; s++)
			if (CUT_IN(&rr->p[s]) && !CUT_IN(&rr->p[(s + m - 1) % m]))
				break;
		for (size_t step = 0; step < m; step++) {
			const struct cpt *a = &rr->p[(s + m - 1 + step) % m],
					 *b = &rr->p[(s + step) % m];
			bool ain = CUT_IN(a), bin = CUT_IN(b);
			double x[2];

			if (ain != bin) {
				double t = (c - a->v[axis]) / (b->v[axis] - a->v[axis]);
				x[axis] = c;
				x[1 - axis] =
				    a->v[1 - axis] + t * (b->v[1 - axis] - a->v[1 - axis]);
				if (nx == capx) {
					size_t cx = capx ? capx * 2 : 16;
					void *p = realloc(xs, cx * sizeof(*xs));
					if (p == NULL)
						goto out;
					xs = p;
					capx = cx;
				}
				if (bin) {
					if (nch == capch) {
						size_t cc = capch ? capch * 2 : 8;
						void *p = realloc(ch, cc * sizeof(*ch));
						if (p == NULL)
							goto out;
						ch = p;
						capch = cc;
					}
					cur = &ch[nch++];
					memset(cur, 0, sizeof(*cur));
				}
				if (cur == NULL) {
					e = GA_ERR_INVAL;
					goto out;
				}
				xs[nx++] = (struct xing){
				    .t = x[1 - axis], .chain = (size_t)(cur - ch), .entry = bin};
				if ((e = cring_add(&cur->r, x, true)) != GA_OK)
					goto out;
			}
			if (bin && cur != NULL && (e = cring_add(&cur->r, b->v, b->fixed)) != GA_OK)
				goto out;
			if (!bin)
				cur = NULL;
		}
	}
	/* Pair the crossings along the line (even-odd: the 1st and 2nd
	 * bound a stretch of the line inside the area, the 3rd and 4th the
	 * next, ...); a ring goes along a chain, then along the line to its
	 * end's partner, and on along the chain that ends there, forwards
	 * or backwards: it closes whatever the rings' orientation, also
	 * where a ring crosses itself. */
	e = GA_ERR_INVAL;
	if (nx % 2 != 0)
		goto out;
	qsort(xs, nx, sizeof(*xs), xing_cmp);
	for (size_t q = 0; q < nx; q++) {
		if (xs[q].entry)
			ch[xs[q].chain].first = q;
		else
			ch[xs[q].chain].last = q;
	}
	for (size_t k0 = 0; k0 < nch; k0++) {
		size_t k = k0, steps = 0;
		bool fwd = true;

		if (ch[k0].used)
			continue;
		for (;;) {
			const struct chain *h = &ch[k];
			if (h->used || steps++ > nch) {
				e = GA_ERR_INVAL;
				goto out;
			}
			ch[k].used = true;
			for (size_t i = 0; i < h->r.n; i++) {
				const struct cpt *p = &h->r.p[fwd ? i : h->r.n - 1 - i];
				if ((e = cring_add(&ring, p->v, p->fixed)) != GA_OK)
					goto out;
			}
			size_t q = (fwd ? h->last : h->first) ^ 1;
			k = xs[q].chain;
			fwd = xs[q].entry;
			if (k == k0)
				break;
		}
		if (ring.n > 1 && ring.p[0].v[0] == ring.p[ring.n - 1].v[0] &&
		    ring.p[0].v[1] == ring.p[ring.n - 1].v[1]) {
			ring.p[0].fixed |= ring.p[ring.n - 1].fixed;
			ring.n--;
		}
		if (ring.n < 3) { /* a sliver of nothing */
			cring_cleanup(&ring);
			continue;
		}
		if ((e = crings_push(out, nout, capout, &ring)) != GA_OK)
			goto out;
	}
	e = GA_OK;
#undef CUT_IN
out:
	cring_cleanup(&ring);
	for (size_t i = 0; i < nch; i++)
		cring_cleanup(&ch[i].r);
	free(ch);
	free(xs);
	return e;
}

static ga_err outline_pieces(struct riskwarning_outline *o, struct cring *rings, size_t nrings,
			     int depth);

/* Groups rings into pieces and carries on with each: a ring within an
 * odd number of others is a hole (made clockwise) of the smallest outer
 * ring (made counter-clockwise) it is within. Rings that merely overlap
 * (the bundled regions have such multipolygons) are outer rings each:
 * the area is their union, as CAP's several <polygon>s are. A ring of
 * no area is dropped. The rings stay the caller's (turned round). */
static ga_err outline_group(struct riskwarning_outline *o, struct cring *rings, size_t nrings,
			    int depth)
{
	struct cring *piece = NULL;
	double *area = NULL;
	ga_err e = GA_ERR_NOMEM;

	if (nrings == 0)
		return GA_OK;
	if (!(piece = malloc(nrings * sizeof(*piece))) || !(area = malloc(nrings * sizeof(*area))))
		goto out;
	for (size_t i = 0; i < nrings; i++) {
		size_t within = 0;
		for (size_t j = 0; j < nrings; j++)
			if (j != i && cring_within(&rings[j], &rings[i]))
				within++;
		area[i] = cring_area(&rings[i]);
		if (area[i] != 0 && (within % 2 == 0) != (area[i] > 0)) {
			cring_reverse(&rings[i]);
			area[i] = -area[i];
		}
	}
	e = GA_OK;
	for (size_t i = 0; i < nrings && e == GA_OK; i++) {
		size_t np = 0;

		if (area[i] <= 0)
			continue;
		piece[np++] = rings[i];
		for (size_t h = 0; h < nrings; h++) {
			size_t best = nrings;
			if (area[h] >= 0)
				continue;
			for (size_t j = 0; j < nrings; j++)
				if (area[j] > 0 && j != h && cring_within(&rings[j], &rings[h]) &&
				    (best == nrings || area[j] < area[best]))
					best = j;
			if (best == i)
				piece[np++] = rings[h];
		}
		e = outline_pieces(o, piece, np, depth);
	}
out:
	free(area);
	free(piece);
	return e;
}

/* rings[0] an outer ring, the rest its holes: emitted as one polygon if
 * it fits, else cut in two and each side carried on. */
static ga_err outline_pieces(struct riskwarning_outline *o, struct cring *rings, size_t nrings,
			     int depth)
{
	static const double cut_at[] = {0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7};
	struct cring *half = NULL;
	size_t nhalf = 0, caphalf = 0, nlow = 0;
	double lo[2], hi[2], c;
	int axis;
	bool fits = false;
	ga_err e = GA_ERR_INVAL;

	if (nrings == 1) {
		if ((e = outline_emit(o, &rings[0], &fits)) != GA_OK || fits)
			return e;
	}
	if (depth >= RISKWARNING_OUTLINE_DEPTH_MAX)
		return GA_ERR_TOOBIG;
	/* The cut: across the longer side of the box, through the middle
	 * of the box or of the first hole's box (a cut through a hole
	 * joins it to the outline). */
	for (int k = 0; k < 2; k++) {
		const struct cring *b = nrings > 1 ? &rings[1] : &rings[0];
		lo[k] = hi[k] = rings[0].p[0].v[k];
		for (size_t i = 0; i < rings[0].n; i++) {
			lo[k] = fmin(lo[k], rings[0].p[i].v[k]);
			hi[k] = fmax(hi[k], rings[0].p[i].v[k]);
		}
		if (b != &rings[0]) {
			double l = b->p[0].v[k], h = l;
			for (size_t i = 0; i < b->n; i++) {
				l = fmin(l, b->p[i].v[k]);
				h = fmax(h, b->p[i].v[k]);
			}
			lo[k] = l;
			hi[k] = h;
		}
	}
	axis = (hi[0] - lo[0]) * cos((lo[1] + hi[1]) / 2 * M_PI / 180.0) >= hi[1] - lo[1] ? 0 : 1;
	/* The middle first; where the crossings do not pair up (a line
	 * through a point where a ring touches or crosses itself: the
	 * bundled rings do, in small loops) the next position is tried. */
	for (size_t k = 0; k < sizeof(cut_at) / sizeof(cut_at[0]); k++) {
		c = lo[axis] + (hi[axis] - lo[axis]) * cut_at[k];
		for (int tries = 0;; tries++) {
			bool near = false;
			for (size_t r = 0; r < nrings && !near; r++)
				for (size_t i = 0; i < rings[r].n && !near; i++)
					near = fabs(rings[r].p[i].v[axis] - c) < CUT_CLEAR_DEG;
			if (!near)
				break;
			if (tries == CUT_NUDGE_MAX)
				return GA_ERR_INVAL;
			c += 2.3 * CUT_CLEAR_DEG;
		}
		e = outline_clip(rings, nrings, axis, c, -1, &half, &nhalf, &caphalf);
		nlow = nhalf;
		if (e == GA_OK)
			e = outline_clip(rings, nrings, axis, c, 1, &half, &nhalf, &caphalf);
		if (e == GA_OK)
			break;
		crings_free(half, nhalf);
		half = NULL;
		nhalf = caphalf = 0;
		if (e != GA_ERR_INVAL)
			return e;
	}
	if (e == GA_OK) {
		e = outline_group(o, half, nlow, depth + 1);
		if (e == GA_OK)
			e = outline_group(o, half + nlow, nhalf - nlow, depth + 1);
	}
	crings_free(half, nhalf);
	return e;
}

ga_err riskwarning_outline_new_rings(const double (*pts)[2], const size_t *start, const size_t *len,
				     size_t nrings, struct riskwarning_outline **out)
{
	struct riskwarning_outline *o = NULL;
	struct cring *rings = NULL;
	ga_err e = GA_ERR_INVAL;

	*out = NULL;
	if (nrings == 0)
		return GA_ERR_INVAL;
	for (size_t r = 0; r < nrings; r++) {
		const double(*p)[2] = pts + start[r];
		if (len[r] < 4 || len[r] > RISKWARNING_OUTLINE_IN_MAX ||
		    p[0][0] != p[len[r] - 1][0] || p[0][1] != p[len[r] - 1][1])
			return GA_ERR_INVAL;
		for (size_t i = 0; i < len[r]; i++)
			if (!isfinite(p[i][0]) || !isfinite(p[i][1]))
				return GA_ERR_INVAL;
	}
	e = GA_ERR_NOMEM;
	if (!(o = calloc(1, sizeof(*o))) || !(rings = calloc(nrings, sizeof(*rings))))
		goto out;
	for (size_t r = 0; r < nrings; r++) {
		for (size_t i = 0; i + 1 < len[r]; i++)
			if ((e = cring_add(&rings[r], pts[start[r] + i], false)) != GA_OK)
				goto out;
		cring_despike(&rings[r]);
	}
	if ((e = outline_group(o, rings, nrings, 0)) != GA_OK)
		goto out;
	*out = o;
	o = NULL;
out:
	crings_free(rings, rings != NULL ? nrings : 0);
	riskwarning_outline_free(o);
	return e;
}

struct outline_collect {
	double (*pts)[2];
	size_t n, cap;
	size_t *start;
	size_t nrings, caprings;
	bool failed;
};

static void outline_collect_point(double lon, double lat, bool start, void *arg)
{
	struct outline_collect *c = arg;

	if (c->failed)
		return;
	if (start) {
		if (c->nrings == c->caprings) {
			size_t cap = c->caprings ? c->caprings * 2 : 8;
			void *p = realloc(c->start, cap * sizeof(*c->start));
			if (p == NULL) {
				c->failed = true;
				return;
			}
			c->start = p;
			c->caprings = cap;
		}
		c->start[c->nrings++] = c->n;
	}
	if (c->nrings == 0) {
		c->failed = true;
		return;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		void *p = cap <= RISKWARNING_OUTLINE_IN_MAX ? realloc(c->pts, cap * sizeof(*c->pts))
							    : NULL;
		if (p == NULL) {
			c->failed = true;
			return;
		}
		c->pts = p;
		c->cap = cap;
	}
	c->pts[c->n][0] = lon;
	c->pts[c->n][1] = lat;
	c->n++;
}

ga_err riskwarning_outline_new(const struct geo *g, const char *admin_code,
			       struct riskwarning_outline **out)
{
	struct outline_collect c = {0};
	size_t *len = NULL;
	ga_err e = GA_ERR_INVAL;

	*out = NULL;
	if (g == NULL || admin_code == NULL ||
	    !geo_region_outline(g, admin_code, outline_collect_point, &c))
		goto out;
	e = GA_ERR_NOMEM;
	if (c.failed || !(len = malloc((c.nrings ? c.nrings : 1) * sizeof(*len))))
		goto out;
	for (size_t r = 0; r < c.nrings; r++)
		len[r] = (r + 1 < c.nrings ? c.start[r + 1] : c.n) - c.start[r];
	e = riskwarning_outline_new_rings((const double(*)[2])c.pts, c.start, len, c.nrings, out);
out:
	free(len);
	free(c.start);
	free(c.pts);
	return e;
}

void riskwarning_outline_free(struct riskwarning_outline *o)
{
	if (o == NULL)
		return;
	free(o->pts);
	free(o->start);
	free(o->len);
	free(o);
}

size_t riskwarning_outline_count(const struct riskwarning_outline *o)
{
	return o->count;
}

const double (*riskwarning_outline_polygon(const struct riskwarning_outline *o, size_t i,
					   size_t *n))[2]
{
	if (i >= o->count) {
		*n = 0;
		return NULL;
	}
	*n = o->len[i];
	return (const double(*)[2])(o->pts + o->start[i]);
}

double riskwarning_outline_deviation(const struct riskwarning_outline *o)
{
	return o->deviation;
}
