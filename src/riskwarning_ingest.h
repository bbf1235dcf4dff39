/* riskwarning_ingest.h - risk warning products on the MQTT sessions
 * (issue 14): the sessions of ingest.c also subscribe to
 * $share/{group}/geohazard/v1/riskwarnings/+ when [riskwarning] issuers
 * names any, and hand a product on that topic here instead of to
 * report_parse. It then goes the reports' way: the writer stores it
 * (riskwarning_flow_intake_mqtt) or the rejection, in the commit before
 * the PUBACK, and the receipt goes to geohazard/v1/receipts/{issuer_id}
 * with report_id = product_id. */
#ifndef GA_RISKWARNING_INGEST_H
#define GA_RISKWARNING_INGEST_H

#include <mosquitto.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "riskwarning_flow.h"

struct service;

/* Validates payload from issuer (the topic's last level): every rule of
 * riskwarning_parse, and issuer listed in [riskwarning] issuers. As
 * riskwarning_parse; out is cleaned up by the caller. */
ga_err riskwarning_ingest_parse(struct service *svc, const char *issuer, const void *payload,
				size_t len, int64_t now_ms, struct riskwarning *out,
				struct report_errors *errs);

/* Subscribes a session to the risk warning topic when [riskwarning]
 * issuers names any; logs a failure. */
void riskwarning_ingest_subscribe(struct mosquitto *mosq, struct service *svc,
				  const char *client_id);

#endif
