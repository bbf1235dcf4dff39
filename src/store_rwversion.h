/* store_rwversion.h - a risk warning product's version (spec §11): a
 * cancel is version n + 1 of the product it cancels, as an alert's
 * cancel is a version of the alert (spec §6), so that the portal's
 * Idempotency-Key {product_id}:{version} and the CAP identifier
 * {product_id}-{version} of the Cancel differ from the Alert's
 * (docs/riskwarnings.md, "Versions"). Its own file while the store moves
 * to db.h (issue 12). */
#ifndef GA_STORE_RWVERSION_H
#define GA_STORE_RWVERSION_H

#include <stdint.h>

#include "error.h"
#include "store.h"

/* Inside the caller's transaction: row id's version becomes version + 1;
 * *version (may be NULL) the new one. GA_ERR_NOTFOUND: no such row. */
ga_err store_rwversion_bump(struct store *s, int64_t id, int *version);

#endif
