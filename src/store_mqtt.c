/* store_mqtt.c - the persistent MQTT sessions geoalert has at the broker
 * (migration 8; the SQL is in store_sql.c). */
#include <string.h>

#include "store.h"
#include "store_internal.h"

ga_err store_mqtt_session_each(struct store *s, store_mqtt_session_cb cb, void *arg)
{
	sqlite3_stmt *st = s->stmt[STMT_MQTT_SESSION_EACH];
	char client_id[STORE_CLIENT_ID_MAX], topic[STORE_TOPIC_MAX];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_column_copy(st, 0, client_id, sizeof(client_id));
		store_column_copy(st, 1, topic, sizeof(topic));
		if (!cb(client_id, topic, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		e = store_error(s, rc, "mqtt sessions");
	store_stmt_done(st);
	return e;
}

ga_err store_mqtt_session_put(struct store *s, const char *client_id, const char *topic)
{
	sqlite3_stmt *st = s->stmt[STMT_MQTT_SESSION_PUT];
	int rc = sqlite3_bind_text(st, 1, client_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC);
	return store_run_changes(s, st, rc, NULL, "mqtt session put");
}

ga_err store_mqtt_session_delete(struct store *s, const char *client_id)
{
	sqlite3_stmt *st = s->stmt[STMT_MQTT_SESSION_DELETE];
	return store_run_changes(s, st, sqlite3_bind_text(st, 1, client_id, -1, SQLITE_STATIC),
				 NULL, "mqtt session delete");
}
