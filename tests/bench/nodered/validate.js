// tests/bench/nodered/validate.js - the body of the Node-RED function node
// of the peer baseline (tests/bench/ingest.sh): the report rules of spec §2
// that need no database or map, the severity of spec §5 from the report's
// own figures, and a receipt (spec §3) on geohazard/v1/receipts/{station}.
// Stores nothing. STATIONS (a Set of station ids) and the service area
// bounds are prepended by nodered_flow.py.
const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const KINDS = new Set(["danger", "disaster"]);
const TYPES = new Set(["collapse", "landslide", "debris_flow", "ground_collapse",
	"ground_fissure", "land_subsidence"]);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const COUNTS = ["deaths", "missing", "injured", "relocated_people", "threatened_people"];
const AMOUNTS = ["direct_loss_cny", "threatened_property_cny"];
const TEXTS = {place: 200, causes: 2000, trend: 2000, measures: 2000};
const errors = [];
const err = (path, code, message) => errors.push({path, code, message});
const station = msg.topic.split("/").pop();
const raw = Buffer.isBuffer(msg.payload) ? msg.payload.toString("utf8") : String(msg.payload);
let r = null;
if (raw.length > 65536)
	err("", "too_large", "larger than 64 KiB");
else {
	try { r = JSON.parse(raw); } catch (e) { err("", "syntax", "not JSON"); }
}
if (r !== null && (typeof r !== "object" || Array.isArray(r))) {
	err("", "type", "not an object");
	r = null;
}
let level = -1;
if (r) {
	if (r.schema !== "geohazard.report/1") err("/schema", "required", "geohazard.report/1");
	if (typeof r.report_id !== "string" || !ID_RE.test(r.report_id))
		err("/report_id", "format", "1-64 of A-Z a-z 0-9 . _ : -");
	if (r.station_id !== station) err("/station_id", "mismatch", "not the topic's");
	else if (!STATIONS.has(station)) err("/station_id", "unknown_station", "not registered");
	if (!KINDS.has(r.kind)) err("/kind", "enum", "danger or disaster");
	if (!TYPES.has(r.hazard_type)) err("/hazard_type", "enum", "unknown hazard type");
	const t = typeof r.observed_at === "string" && RFC3339.test(r.observed_at) ?
		Date.parse(r.observed_at) : NaN;
	if (isNaN(t)) err("/observed_at", "format", "RFC 3339 with an offset");
	else if (t > Date.now() + 600000) err("/observed_at", "future", "in the future");
	if (r.location !== undefined) {
		const l = r.location, c = l && l.coordinates;
		if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== "number" ||
		    typeof c[1] !== "number")
			err("/location/coordinates", "type", "[x, y]");
		else if ((l.crs || "EPSG:4490") !== "EPSG:4490" || c[0] < AREA[0] || c[0] > AREA[2] ||
			 c[1] < AREA[1] || c[1] > AREA[3])
			err("/location", "outside", "outside the service area");
	}
	for (const [k, max] of Object.entries(TEXTS))
		if (r[k] !== undefined && (typeof r[k] !== "string" || [...r[k]].length > max))
			err("/" + k, "type", "text of at most " + max);
	const f = r.figures === undefined ? {} : r.figures;
	if (typeof f !== "object" || f === null || Array.isArray(f)) err("/figures", "type", "object");
	else {
		for (const k of COUNTS)
			if (f[k] !== undefined && !(Number.isInteger(f[k]) && f[k] >= 0))
				err("/figures/" + k, "range", "a count");
		for (const k of AMOUNTS)
			if (f[k] !== undefined && !(typeof f[k] === "number" && isFinite(f[k]) && f[k] >= 0))
				err("/figures/" + k, "range", "non-negative");
		// spec §5: lower bounds inclusive
		const lv = (n, m, tn, tm) => n >= tn[2] || m >= tm[2] ? 3 : n >= tn[1] || m >= tm[1] ? 2 :
			n >= tn[0] || m >= tm[0] ? 1 : 0;
		if (r.kind === "disaster")
			level = lv((f.deaths || 0) + (f.missing || 0), f.direct_loss_cny || 0,
				   [3, 10, 30], [1e6, 5e6, 1e7]);
		else
			level = lv(f.threatened_people || 0, f.threatened_property_cny || 0,
				   [100, 500, 1000], [5e6, 5e7, 1e8]);
	}
}
const LEVELS = ["small", "medium", "large", "extra_large"];
msg.topic = "geohazard/v1/receipts/" + station;
msg.qos = 1;
msg.payload = JSON.stringify({
	schema: "geohazard.receipt/1",
	report_id: r && typeof r.report_id === "string" ? r.report_id : null,
	status: errors.length ? "rejected" : "accepted",
	incident_id: "",
	level: errors.length || level < 0 ? null : LEVELS[level],
	received_at: new Date().toISOString(),
	errors,
});
return msg;
