/* ingest_receipt.c - the receipt JSON (spec §3), written directly for the common cases. */
#include "ingest_receipt.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "hazard.h"
#include "timeutil.h"

static const char *const status_names[] = {"accepted", "duplicate", "rejected"};

/* Room for a plain receipt apart from its report_id (escaped, at most 6
 * bytes a byte): the fixed text, the incident id, the level, the time. */
#define RECEIPT_PLAIN_CAP (192 + INCIDENT_ID_MAX * 6 + TIME_TEXT_MAX)

struct ingest_receipt_buf {
	char *text;
	size_t len, cap; /* cap includes the NUL */
	bool overflow;
};

#define RECEIPT_PUTS(b, lit) ingest_receipt_put((b), (lit), sizeof(lit) - 1)

static void ingest_receipt_put(struct ingest_receipt_buf *b, const char *p, size_t n)
{
	if (b->overflow || b->len + n >= b->cap) {
		b->overflow = true;
		return;
	}
	memcpy(b->text + b->len, p, n);
	b->len += n;
}

static json_t *ingest_receipt_warnings(unsigned warnings)
{
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	if (warnings & GEO_WARN_BALLPARK)
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s}", "path", "/location/crs", "code", "datum",
				   "message",
				   "no datum shift to CGCS2000 is known for this CRS: position "
				   "may be off by up to ~100 m"));
	if (warnings & REPORT_WARN_OLD)
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:s}", "path", "/observed_at", "code", "old", "message",
			      "observed_at is older than the service's bound for a report's "
			      "age ([stations] max_observed_age) when it was received: "
			      "accepted as it is; check the station's clock"));
	return arr;
}

/* Appends s to b as a JSON string, escaped exactly as jansson's
 * json_dumps does without JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH: '"', '\\'
 * and control characters; everything else (valid UTF-8) as is. */
static void ingest_receipt_put_string(struct ingest_receipt_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	ingest_receipt_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t n = 2;
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (*p >= 0x20) {
				ingest_receipt_put(b, (const char *)p, 1);
				continue;
			}
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			n = 6;
			break;
		}
		ingest_receipt_put(b, esc, n);
	}
	ingest_receipt_put(b, "\"", 1);
}

/* The common receipt, accepted or duplicate without warnings, written
 * directly: the same bytes as the jansson path below, without building
 * and freeing a tree for each report. */
static char *ingest_receipt_build_plain(const char *report_id, enum ingest_writer_status status,
					const char *incident_id, int level, const char *when)
{
	struct ingest_receipt_buf b = {0};

	b.cap = RECEIPT_PLAIN_CAP + (report_id ? strlen(report_id) * 6 : 0);
	if ((b.text = malloc(b.cap)) == NULL)
		return NULL;
	RECEIPT_PUTS(&b, "{\"schema\":\"geohazard.receipt/1\",\"report_id\":");
	if (report_id)
		ingest_receipt_put_string(&b, report_id);
	else
		RECEIPT_PUTS(&b, "null");
	RECEIPT_PUTS(&b, ",\"status\":");
	ingest_receipt_put_string(&b, status_names[status]);
	RECEIPT_PUTS(&b, ",\"incident_id\":");
	if (incident_id && incident_id[0])
		ingest_receipt_put_string(&b, incident_id);
	else
		RECEIPT_PUTS(&b, "null");
	RECEIPT_PUTS(&b, ",\"level\":");
	if (level >= 0)
		ingest_receipt_put_string(&b, level_name((enum level)level));
	else
		RECEIPT_PUTS(&b, "null");
	RECEIPT_PUTS(&b, ",\"received_at\":");
	ingest_receipt_put_string(&b, when);
	RECEIPT_PUTS(&b, ",\"errors\":[]}");
	if (b.overflow) {
		free(b.text);
		return NULL;
	}
	b.text[b.len] = '\0';
	return b.text;
}

char *ingest_receipt_build(const char *report_id, enum ingest_writer_status status,
			   const char *incident_id, int level, int64_t received_ms,
			   int utc_offset_min, const struct report_errors *errs, unsigned warnings)
{
	char *text = NULL;
	char when[TIME_TEXT_MAX];
	json_t *root = NULL;

	time_format_rfc3339(received_ms, utc_offset_min, when, sizeof(when));
	if (status != WRITER_REJECTED && warnings == 0) {
		text = ingest_receipt_build_plain(report_id, status, incident_id, level, when);
		if (text)
			return text;
		/* else: the tree below (a report_id with many escapes) */
	}
	root = json_object();
	if (!root)
		goto out;
	json_object_set_new(root, "schema", json_string("geohazard.receipt/1"));
	json_object_set_new(root, "report_id", report_id ? json_string(report_id) : json_null());
	json_object_set_new(root, "status", json_string(status_names[status]));
	json_object_set_new(root, "incident_id",
			    incident_id && incident_id[0] ? json_string(incident_id) : json_null());
	json_object_set_new(root, "level",
			    level >= 0 ? json_string(level_name((enum level)level)) : json_null());
	json_object_set_new(root, "received_at", json_string(when));
	json_t *errors =
	    (status == WRITER_REJECTED && errs) ? report_errors_to_json(errs) : json_array();
	json_object_set_new(root, "errors", errors ? errors : json_array());
	if (warnings && status != WRITER_REJECTED)
		json_object_set_new(root, "warnings", ingest_receipt_warnings(warnings));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(root);
	return text;
}
