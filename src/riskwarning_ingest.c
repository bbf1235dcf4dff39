/* riskwarning_ingest.c - risk warning products off the MQTT sessions. */
#include "riskwarning_ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ingest_internal.h"
#include "log.h"
#include "service.h"

ga_err riskwarning_ingest_parse(struct service *svc, const char *issuer, const void *payload,
				size_t len, int64_t now_ms, struct riskwarning *out,
				struct report_errors *errs)
{
	const struct riskwarning_context ctx = {.geo = svc->geo, .now_ms = now_ms};
	ga_err rc = riskwarning_parse(&ctx, payload, len, out, errs);

	if (rc == GA_ERR_NOMEM)
		return rc;
	/* The config is read only once started (service.h). */
	if (!riskwarning_flow_issuer_check(svc->cfg.riskwarning.issuers, issuer, errs))
		rc = GA_ERR_INVAL;
	return rc;
}

void riskwarning_ingest_subscribe(struct mosquitto *mosq, struct service *svc,
				  const char *client_id)
{
	char topic[INGEST_TOPIC_MAX];
	int s;

	if (svc->cfg.riskwarning.issuers[strspn(svc->cfg.riskwarning.issuers, " \t,")] == '\0')
		return;
	snprintf(topic, sizeof(topic), "$share/%s/%s+", svc->cfg.mqtt.share_group,
		 RISKWARNING_TOPIC_PREFIX);
	s = mosquitto_subscribe_v5(mosq, NULL, topic, 1, 0, NULL);
	if (s != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: subscribe %s: %s", client_id, topic, mosquitto_strerror(s));
}
