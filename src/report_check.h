/* report_check.h - internal to the report module: the field rules of
 * spec §2, applied to a parsed root object. */
#ifndef GA_REPORT_CHECK_H
#define GA_REPORT_CHECK_H

#include "report.h"

/* Checks every field of out->root (an object, owned by out) against
 * spec §2 and fills out; appends every problem to errs. Returns GA_OK
 * (look at errs->n for validity) or GA_ERR_NOMEM. */
ga_err report_check_fields(const struct report_context *ctx, struct report *out,
			   struct report_errors *errs);

#endif
