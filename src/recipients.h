/* recipients.h - the numbers the sms channel sends an alert to
 * (docs/delivery.md, "SMS recipients"): in one directory,
 * {admin_code}.txt per county, and optionally {city}00.txt and
 * {province}0000.txt, whose numbers get the alerts of every county under
 * them. One number a line (an optional "+" and 5 to 15 digits), blank
 * lines and "#" comments (also after a number).
 *
 * Numbers are personal data: no error text here ever holds one (an error
 * names FILE:LINE and what is wrong). */
#ifndef GA_RECIPIENTS_H
#define GA_RECIPIENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define RECIPIENTS_PHONE_MAX 16	   /* bytes of a number: "+" and 15 digits (E.164) */
#define RECIPIENTS_FILE_MAX 100000 /* numbers in one file */
#define RECIPIENTS_LINE_MAX 256	   /* bytes of a line */
#define RECIPIENTS_FILES_MAX 8192  /* *.txt files in the directory */

typedef char recipients_phone[RECIPIENTS_PHONE_MAX + 1];

struct recipients;

/* A county's numbers: sorted (strcmp), each once; borrowed from the
 * recipients, valid until its next recipients_get or recipients_free. */
struct recipients_list {
	const recipients_phone *phones;
	size_t n;
};

/* Checks every *.txt of dir (each must be named by a 6-digit code and
 * hold only numbers, at most RECIPIENTS_FILE_MAX) and makes *out, which
 * reads them when asked. GA_ERR_CONFIG / GA_ERR_IO with "FILE:LINE: what"
 * (or "DIR: what") in err; *out unchanged then. */
ga_err recipients_open(const char *dir, struct recipients **out, char *err, size_t errlen);

/* The union of the files of county code (6 digits): its own, its city's,
 * its province's, read again when one of them changed on disk (else from
 * a cache of a few counties). No file at all is an empty list, not an
 * error; a file that became invalid is, as at open. */
ga_err recipients_get(struct recipients *r, const char *code, struct recipients_list *out,
		      char *err, size_t errlen);

/* The numbers of the one file {code}.txt (a county's, a city's
 * {city}00, a province's {province}0000), as written (not sorted, maybe
 * repeated); none when it does not exist. *phones is malloc'd (the
 * caller frees it, NULL when none). For a risk warning's SMS, which names
 * each file's own counties (channel_sms.c). Errors as recipients_get. */
ga_err recipients_file(struct recipients *r, const char *code, recipients_phone **phones, size_t *n,
		       char *err, size_t errlen);

void recipients_free(struct recipients *r);

#endif
