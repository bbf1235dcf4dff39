/* ingest_receipt.h - the receipt a station gets for each report (spec §3). */
#ifndef GA_RECEIPT_H
#define GA_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest_writer.h"
#include "report.h"

#define RECEIPT_TOPIC_PREFIX "geohazard/v1/receipts/"
#define REPORT_TOPIC_PREFIX "geohazard/v1/reports/"

/* Builds the receipt JSON text (malloc'd, caller frees; NULL on no memory).
 * report_id may be NULL (written as null). incident_id "" and level < 0
 * are written as null. warnings are GEO_WARN_* bits; when any is set a
 * "warnings" array (same form as errors) is added. */
char *ingest_receipt_build(const char *report_id, enum ingest_writer_status status,
			   const char *incident_id, int level, int64_t received_ms,
			   int utc_offset_min, const struct report_errors *errs, unsigned warnings);

#endif
