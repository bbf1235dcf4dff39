/* channel_mqtt.c - the alert JSON retained on
 * geohazard/v1/alerts/{admin_code} (spec §1), QoS 1, through a broker
 * connection of the channel's own to the [mqtt] broker (client id
 * "{client_id}-{channel name}", clean session): a cancel version replaces
 * the retained alert. A risk warning's public JSON is retained on
 * geohazard/v1/warnings/{product_id} instead, and its clearing row
 * (riskwarning_deliver.h) publishes a zero-length retained message
 * there. Delivered when the broker's PUBACK arrives. With
 * several brokers in [mqtt] url, on the first one (docs/operations.md). */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"
#include "log.h"
#include "riskwarning_deliver.h"

#define MQTT_TOPIC_PREFIX "geohazard/v1/alerts/"
#define MQTT_WARNING_PREFIX "geohazard/v1/warnings/"
#define MQTT_WARNING_ID_MAX 64 /* REPORT_ID_MAX: a product_id's length */
#define MQTT_KEEPALIVE_S 30

struct mqtt_priv {
	struct mosquitto *mosq;
	char client_id[CONFIG_STR_MAX];
	bool loop;
};

static void mqtt_on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct channel *c = arg;

	if (c->mqtt_done != NULL)
		c->mqtt_done(c->mqtt_arg, c, mid);
}

static void mqtt_on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct channel *c = arg;

	if (rc != 0)
		log_warnx("channel %s: broker refused the connection: %s", c->ch->name,
			  mosquitto_connack_string(rc));
}

static void mqtt_close(struct channel *c)
{
	struct mqtt_priv *p = c->priv;

	if (p == NULL)
		return;
	if (p->mosq != NULL) {
		mosquitto_disconnect(p->mosq);
		if (p->loop)
			mosquitto_loop_stop(p->mosq, true);
		mosquitto_destroy(p->mosq);
		mosquitto_lib_cleanup();
	}
	free(p);
	c->priv = NULL;
}

static ga_err mqtt_open(struct channel *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	struct mqtt_priv *p = calloc(1, sizeof(*p));
	const struct config_broker *b = &cfg->mqtt.brokers[0];
	char password[CHANNEL_SECRET_MAX] = "";
	int rc;
	ga_err e = GA_ERR_MQTT;

	if (p == NULL)
		return GA_ERR_NOMEM;
	c->priv = p;
	if (cfg->mqtt.nbrokers < 1) {
		snprintf(err, errlen, "channel %s: [mqtt] url names no broker", c->ch->name);
		return GA_ERR_CONFIG;
	}
	snprintf(p->client_id, sizeof(p->client_id), "%.64s-%.64s", cfg->mqtt.client_id,
		 c->ch->name);
	mosquitto_lib_init();
	if ((p->mosq = mosquitto_new(p->client_id, true, c)) == NULL) {
		mosquitto_lib_cleanup();
		return GA_ERR_NOMEM;
	}
	mosquitto_publish_callback_set(p->mosq, mqtt_on_publish);
	mosquitto_connect_callback_set(p->mosq, mqtt_on_connect);
	mosquitto_reconnect_delay_set(p->mosq, 1, 30, true);
	if (cfg->mqtt.username[0]) {
		if (cfg->mqtt.password_file[0] &&
		    (e = config_read_secret(cfg->mqtt.password_file, password, sizeof(password),
					    err, errlen)) != GA_OK)
			return e;
		rc = mosquitto_username_pw_set(p->mosq, cfg->mqtt.username,
					       password[0] ? password : NULL);
		explicit_bzero(password, sizeof(password));
		if (rc != MOSQ_ERR_SUCCESS)
			goto fail;
	}
	if (b->tls) {
		rc = cfg->mqtt.ca_file[0]
			 ? mosquitto_tls_set(p->mosq, cfg->mqtt.ca_file, NULL, NULL, NULL, NULL)
			 : mosquitto_int_option(p->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			goto fail;
	}
	rc = mosquitto_connect_async(p->mosq, b->host, b->port, MQTT_KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warnx("channel %s: cannot connect to %s yet (%s); will retry", c->ch->name,
			  b->url, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	if ((rc = mosquitto_loop_start(p->mosq)) != MOSQ_ERR_SUCCESS)
		goto fail;
	p->loop = true;
	return GA_OK;
fail:
	snprintf(err, errlen, "channel %s: %s", c->ch->name, mosquitto_strerror(rc));
	return e;
}

/* The topic of job: a risk warning's public JSON (it carries
 * "product_id", riskwarning_deliver.c) retained on
 * geohazard/v1/warnings/{product_id}, the way /warnings/{product_id}
 * serves it; an alert on geohazard/v1/alerts/{admin_code} (spec §1). */
static ga_err mqtt_topic(const json_t *alert, char *topic, size_t len, char *err, size_t errlen)
{
	const char *pid = json_string_value(json_object_get(alert, "product_id"));
	const char *code = channel_alert_str(json_object_get(alert, "area"), "admin_code");

	if (pid != NULL) {
		/* report_id's characters (spec §11): never a wildcard or a level */
		if (pid[0] == '\0' || strlen(pid) > MQTT_WARNING_ID_MAX ||
		    strpbrk(pid, "/+#") != NULL) {
			snprintf(err, errlen, "risk warning without a usable product_id");
			return GA_ERR_INVAL;
		}
		snprintf(topic, len, MQTT_WARNING_PREFIX "%s", pid);
		return GA_OK;
	}
	if (code[0] == '\0' || strlen(code) > 12 || strspn(code, "0123456789") != strlen(code)) {
		snprintf(err, errlen, "alert without a usable admin_code");
		return GA_ERR_INVAL;
	}
	snprintf(topic, len, MQTT_TOPIC_PREFIX "%s", code);
	return GA_OK;
}

static ga_err mqtt_publish(struct channel *c, struct channel_job *job, int *mid, char *err,
			   size_t errlen)
{
	struct mqtt_priv *p = c->priv;
	char topic[sizeof(MQTT_WARNING_PREFIX) + MQTT_WARNING_ID_MAX];
	char *payload;
	int rc;
	ga_err e;

	if ((e = mqtt_topic(job->alert, topic, sizeof(topic), err, errlen)) != GA_OK)
		return e;
	if ((payload = json_dumps(job->alert, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		return GA_ERR_NOMEM;
	/* a risk warning's clear row (riskwarning_deliver.h): a zero-length
	 * retained message, which the broker takes as deleting the retained one */
	if (job->version == RISKWARNING_DELIVER_CLEAR_VERSION &&
	    json_object_get(job->alert, "product_id") != NULL)
		payload[0] = '\0';
	rc = mosquitto_publish(p->mosq, mid, topic, (int)strlen(payload), payload, 1, true);
	free(payload);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "publish: %s", mosquitto_strerror(rc));
		return GA_ERR_MQTT;
	}
	return GA_OK;
}

const struct channel_type channel_type_mqtt = {
    .name = "mqtt",
    .transport = CHANNEL_MQTT,
    .open = mqtt_open,
    .close = mqtt_close,
    .publish = mqtt_publish,
};
