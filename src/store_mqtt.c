/* store_mqtt.c - the persistent MQTT sessions geoalert has at the broker
 * (migration 8; the SQL is in store_sql.c). */
#include <string.h>

#include "store.h"
#include "store_internal.h"

ga_err store_mqtt_session_each(struct store *s, const char *instance, store_mqtt_session_cb cb,
			       void *arg)
{
	struct db_stmt *st = s->stmt[STMT_MQTT_SESSION_EACH];
	char client_id[STORE_CLIENT_ID_MAX], topic[STORE_TOPIC_MAX], broker[STORE_BROKER_MAX];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	rc = db_bind_text(st, 1, instance, -1);
	while (rc == DB_OK || rc == DB_ROW) {
		if ((rc = db_step(st)) != DB_ROW)
			break;
		store_column_copy(st, 0, client_id, sizeof(client_id));
		store_column_copy(st, 1, topic, sizeof(topic));
		store_column_copy(st, 2, broker, sizeof(broker));
		if (!cb(broker, client_id, topic, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, "mqtt sessions");
	store_stmt_done(st);
	return e;
}

ga_err store_mqtt_session_put(struct store *s, const char *instance, const char *broker,
			      const char *client_id, const char *topic)
{
	struct db_stmt *st = s->stmt[STMT_MQTT_SESSION_PUT];
	int rc = db_bind_text(st, 1, client_id, -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 2, topic, -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 3, instance, -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 4, broker, -1);
	return store_run_changes(s, st, rc, NULL, "mqtt session put");
}

ga_err store_mqtt_session_delete(struct store *s, const char *broker, const char *client_id)
{
	struct db_stmt *st = s->stmt[STMT_MQTT_SESSION_DELETE];
	int rc = db_bind_text(st, 1, client_id, -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 2, broker, -1);
	return store_run_changes(s, st, rc, NULL, "mqtt session delete");
}
