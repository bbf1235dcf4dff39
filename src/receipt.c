#include "receipt.h"

#include <jansson.h>
#include <stdlib.h>

#include "geo.h"
#include "hazard.h"
#include "timeutil.h"

static const char *const status_names[] = {"accepted", "duplicate", "rejected"};

static json_t *receipt_warnings(unsigned warnings)
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
			      "observed longer ago than the service's maximum age "
			      "([stations] max_observed_age, 7 days unless configured) "
			      "before it was received: accepted; check the station's clock"));
	return arr;
}

char *receipt_build(const char *report_id, enum writer_status status, const char *incident_id,
		    int level, int64_t received_ms, int utc_offset_min,
		    const struct report_errors *errs, unsigned warnings)
{
	char *text = NULL;
	char when[TIME_TEXT_MAX];
	json_t *root = NULL;

	time_format_rfc3339(received_ms, utc_offset_min, when, sizeof(when));
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
		json_object_set_new(root, "warnings", receipt_warnings(warnings));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(root);
	return text;
}
