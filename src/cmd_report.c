/* cmd_report.c - `geoalert report timeliness --since DATE [--format csv|json] -c FILE`:
 * per incident, when it was first reported, when its draft appeared, when
 * it was confirmed and by whom, when each channel delivered; then per month
 * the median and worst of each delay. The department's quantified
 * evaluation of how timely its disclosures were. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "hazard.h"
#include "log.h"
#include "riskwarning_flow.h"
#include "store.h"
#include "timeutil.h"

#define REPORT_ROWS_MAX 100000
#define REPORT_MEASURES 3

static const char *const measure_names[REPORT_MEASURES] = {"report_to_draft", "draft_to_confirm",
							   "confirm_to_delivered"};

struct rows {
	struct store_timeliness_row *r;
	size_t n, cap;
	bool truncated;
};

static bool rows_add(const struct store_timeliness_row *row, void *arg)
{
	struct rows *rs = arg;
	if (rs->n == REPORT_ROWS_MAX) {
		rs->truncated = true;
		return false;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct store_timeliness_row *p = realloc(rs->r, cap * sizeof(*p));
		if (!p)
			return false;
		rs->r = p;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *row;
	return true;
}

static json_t *time_or_null(int64_t ms, int offset)
{
	char buf[TIME_TEXT_MAX];
	if (ms <= 0)
		return json_null();
	time_format_rfc3339(ms, offset, buf, sizeof(buf));
	return json_string(buf);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Adds seconds to the measure's list of a month object (kept as a JSON
 * array while collecting; summarised at the end). */
static void month_add(json_t *months, const char *month, int measure, double seconds)
{
	json_t *m = json_object_get(months, month);
	if (!m) {
		m = json_object();
		for (int k = 0; k < REPORT_MEASURES; k++)
			json_object_set_new(m, measure_names[k], json_array());
		json_object_set_new(m, "incidents", json_integer(0));
		json_object_set_new(months, month, m);
	}
	json_array_append_new(json_object_get(m, measure_names[measure]), json_real(seconds));
}

static json_t *summarise(json_t *values)
{
	size_t n = json_array_size(values);
	if (n == 0)
		return json_pack("{s:i, s:n, s:n}", "count", 0, "median_s", "worst_s");
	double *v = malloc(n * sizeof(*v));
	if (!v)
		return json_null();
	for (size_t i = 0; i < n; i++)
		v[i] = json_real_value(json_array_get(values, i));
	qsort(v, n, sizeof(*v), cmp_double);
	double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	json_t *o = json_pack("{s:I, s:f, s:f}", "count", (json_int_t)n, "median_s", median,
			      "worst_s", v[n - 1]);
	free(v);
	return o;
}

/* Builds {"since", "incidents": [...], "months": [...]} from the rows. */
static json_t *report_build(const struct rows *rs, int64_t since_ms, int offset)
{
	json_t *root = json_object(), *list = json_array(), *months = json_object();
	json_t *cur = NULL;
	char month[8];

	json_object_set_new(root, "since", time_or_null(since_ms, offset));
	for (size_t i = 0; i < rs->n; i++) {
		const struct store_timeliness_row *r = &rs->r[i];
		char when[TIME_TEXT_MAX];
		time_format_rfc3339(r->reported_ms, offset, when, sizeof(when));
		snprintf(month, sizeof(month), "%.7s", when);
		bool first = !cur || strcmp(json_string_value(json_object_get(cur, "incident_id")),
					    r->incident_id) != 0;
		if (first) {
			json_t *by = json_array();
			char names[sizeof(r->confirmed_by)], *save = NULL;
			snprintf(names, sizeof(names), "%s", r->confirmed_by);
			for (char *t = strtok_r(names, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				json_array_append_new(by, json_string(t));
			cur = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:{}}", "incident_id",
					r->incident_id, "level", level_name((enum level)r->level),
					"first_reported_at", time_or_null(r->reported_ms, offset),
					"draft_at", time_or_null(r->draft_ms, offset),
					"confirmed_at", time_or_null(r->confirmed_ms, offset),
					"confirmed_by", by, "delivered_at");
			json_array_append_new(list, cur);
			month_add(months, month, 0, (double)(r->draft_ms - r->reported_ms) / 1000);
			json_t *m = json_object_get(months, month);
			json_object_set_new(
			    m, "incidents",
			    json_integer(json_integer_value(json_object_get(m, "incidents")) + 1));
			if (r->confirmed_ms > 0)
				month_add(months, month, 1,
					  (double)(r->confirmed_ms - r->draft_ms) / 1000);
		}
		if (r->channel[0]) {
			json_object_set_new(json_object_get(cur, "delivered_at"), r->channel,
					    time_or_null(r->delivered_ms, offset));
			if (r->delivered_ms > 0 && r->confirmed_ms > 0)
				month_add(months, month, 2,
					  (double)(r->delivered_ms - r->confirmed_ms) / 1000);
		}
	}
	json_t *summary = json_array();
	const char *key;
	json_t *m;
	json_object_foreach(months, key, m)
	{
		json_t *o = json_pack("{s:s, s:O}", "month", key, "incidents",
				      json_object_get(m, "incidents"));
		for (int k = 0; k < REPORT_MEASURES; k++)
			json_object_set_new(o, measure_names[k],
					    summarise(json_object_get(m, measure_names[k])));
		json_array_append_new(summary, o);
	}
	json_decref(months);
	json_object_set_new(root, "incidents", list);
	json_object_set_new(root, "months", summary);
	if (rs->truncated)
		json_object_set_new(root, "truncated", json_true());
	return root;
}

static void csv_field(const char *s)
{
	/* RFC 4180: quote every field that could need it. */
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* The fields of a CSV row that come from the incident: incident_id to
 * confirmed_by (by, the officers joined by ';'), without the comma after. */
static void csv_incident(const json_t *inc, const char *by)
{
	csv_field(json_string_value(json_object_get(inc, "incident_id")));
	printf(",%s,", json_string_value(json_object_get(inc, "level")));
	csv_field(json_string_value(json_object_get(inc, "first_reported_at")));
	putchar(',');
	csv_field(json_string_value(json_object_get(inc, "draft_at")));
	putchar(',');
	csv_field(json_string_value(json_object_get(inc, "confirmed_at")));
	putchar(',');
	csv_field(by);
}

static void report_csv(json_t *root)
{
	size_t i;
	json_t *inc;
	printf("incident_id,level,first_reported_at,draft_at,confirmed_at,confirmed_by,channel,"
	       "delivered_at\n");
	json_array_foreach(json_object_get(root, "incidents"), i, inc)
	{
		char by[512] = "";
		size_t k;
		json_t *name;
		json_array_foreach(json_object_get(inc, "confirmed_by"), k, name)
		{
			size_t used = strlen(by);
			snprintf(by + used, sizeof(by) - used, "%s%s", k ? ";" : "",
				 json_string_value(name));
		}
		json_t *del = json_object_get(inc, "delivered_at");
		const char *ch;
		json_t *at;
		bool any = false;
		json_object_foreach(del, ch, at)
		{
			any = true;
			csv_incident(inc, by);
			putchar(',');
			csv_field(ch);
			putchar(',');
			csv_field(json_string_value(at));
			putchar('\n');
		}
		if (!any) {
			csv_incident(inc, by);
			printf(",\"\",\"\"\n");
		}
	}
	printf("\nmonth,measure,count,median_s,worst_s\n");
	json_t *m;
	json_array_foreach(json_object_get(root, "months"), i, m)
	{
		for (int k = 0; k < REPORT_MEASURES; k++) {
			json_t *s = json_object_get(m, measure_names[k]);
			json_t *med = json_object_get(s, "median_s"),
			       *worst = json_object_get(s, "worst_s");
			printf("%s,%s,%lld,", json_string_value(json_object_get(m, "month")),
			       measure_names[k],
			       (long long)json_integer_value(json_object_get(s, "count")));
			if (json_is_real(med))
				printf("%.3f,%.3f\n", json_real_value(med), json_real_value(worst));
			else
				printf(",\n");
		}
	}
	printf("\nproduct_id,state,issued_at,received_at,confirmed_by,published_at,valid_from,"
	       "published_before_valid_from\n");
	json_t *w;
	json_array_foreach(json_object_get(root, "riskwarnings"), i, w)
	{
		char by[512] = "";
		size_t k;
		json_t *c;
		json_array_foreach(json_object_get(w, "confirmed_by"), k, c)
		{
			size_t used = strlen(by);
			snprintf(by + used, sizeof(by) - used, "%s%s", k ? ";" : "",
				 json_string_value(json_object_get(c, "name")));
		}
		json_t *before = json_object_get(w, "published_before_valid_from");
		const char *fields[] = {"product_id",  "state",	       "issued_at",
					"received_at", "published_at", "valid_from"};
		for (size_t f = 0; f < 6; f++) {
			if (f == 4) {
				csv_field(by);
				putchar(',');
			}
			csv_field(json_string_value(json_object_get(w, fields[f])));
			putchar(',');
		}
		printf("%s\n",
		       json_is_boolean(before) ? (json_is_true(before) ? "yes" : "no") : "");
	}
}

/* "2026-11-01" (midnight at the configured offset) or RFC 3339. */
static ga_err report_parse_since(const char *s, int offset, int64_t *ms)
{
	char buf[64];
	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00%c%02d:%02d", s, offset < 0 ? '-' : '+',
			 abs(offset) / 60, abs(offset) % 60);
		s = buf;
	}
	return time_parse_rfc3339(s, ms, NULL);
}

int cmd_report(int argc, char **argv)
{
	const char *cfgpath = NULL, *since = NULL, *format = "json";
	static const struct option opts[] = {{"since", required_argument, NULL, 's'},
					     {"format", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	int ch, status = 2;
	char err[1024];
	struct config *cfg = NULL;
	struct store *s = NULL;
	struct rows rs = {0};
	json_t *root = NULL;
	int64_t since_ms;

	optind = 1;
	if (argc < 2 || strcmp(argv[1], "timeliness") != 0)
		goto usage;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (ch == 'c')
			cfgpath = optarg;
		else if (ch == 's')
			since = optarg;
		else if (ch == 'f')
			format = optarg;
		else
			goto usage;
	}
	if (!cfgpath || !since || optind != argc ||
	    (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0))
		goto usage;
	log_init(0);
	status = 1;
	if (!(cfg = calloc(1, sizeof(*cfg))))
		goto out;
	if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (report_parse_since(since, cfg->alerts.utc_offset_min, &since_ms) != GA_OK) {
		fprintf(stderr, "--since %s: expected YYYY-MM-DD or an RFC 3339 time\n", since);
		goto out;
	}
	struct store_options sopt = {.path = cfg->store.path,
				     .url = cfg->store.url,
				     .password_file = cfg->store.password_file};
	if (store_open(&sopt, &s, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (store_timeliness_each(s, since_ms, rows_add, &rs) != GA_OK)
		goto out;
	if (!(root = report_build(&rs, since_ms, cfg->alerts.utc_offset_min)))
		goto out;
	/* Risk warning products too (issue 14, riskwarning_flow.h). */
	struct riskwarning_flow_cfg rwcfg = {cfg->riskwarning.signoff, cfg->alerts.utc_offset_min,
					     NULL};
	json_t *rw = riskwarning_flow_timeliness(s, &rwcfg, since_ms);
	if (rw == NULL || json_object_set_new(root, "riskwarnings", rw) != 0)
		goto out;
	if (strcmp(format, "csv") == 0) {
		report_csv(root);
	} else {
		char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text)
			goto out;
		printf("%s\n", text);
		free(text);
	}
	status = 0;
	goto out;
usage:
	fprintf(stderr,
		"usage: geoalert report timeliness --since DATE [--format csv|json] -c FILE\n");
out:
	json_decref(root);
	free(rs.r);
	store_close(s);
	free(cfg);
	return status;
}
