/* ga_acktest - shows when libmosquitto sends the PUBACK of a QoS 1
 * message, the fact geoalert's no-loss guarantee rests on (see
 * src/ingest.h). Used by tests/integration/test_ack.py.
 *
 *   ga_acktest MODE PORT CLIENT_ID TOPIC
 *
 * MODE
 *   manual       geoalert's loop: mosquitto_threaded_set, then poll,
 *                mosquitto_loop_read, mosquitto_loop_write driven by hand;
 *                once a message has arrived loop_write is never called
 *                again (as geoalert holds it until the commit)
 *   threaded     loop in our own thread with mosquitto_threaded_set;
 *                on_message blocks forever
 *   nonthreaded  mosquitto_loop_forever in the main thread without
 *                threaded_set; on_message blocks forever
 *   refuse       threaded; the first delivery shuts the socket down
 *                inside on_message (geoalert's refusal), later ones
 *                return normally
 *   drain        threaded; prints what arrives for 3 seconds, then exits
 *
 * Prints "ready" once subscribed and "got PAYLOAD" for each message. */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *mode;
static const char *topic;
static int deliveries;

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
		       const mosquitto_property *p)
{
	if (rc == 0)
		mosquitto_subscribe_v5(m, NULL, topic, 1, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q,
			 const mosquitto_property *p)
{
	printf("ready\n");
	fflush(stdout);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *p)
{
	deliveries++;
	printf("got %.*s\n", msg->payloadlen, (const char *)msg->payload);
	fflush(stdout);
	if (strcmp(mode, "manual") == 0)
		return; /* the loop stops writing from now on */
	if (strcmp(mode, "threaded") == 0 || strcmp(mode, "nonthreaded") == 0) {
		for (;;)
			pause();
	}
	if (strcmp(mode, "refuse") == 0 && deliveries == 1) {
		shutdown(mosquitto_socket(m), SHUT_RDWR);
		printf("refused\n");
		fflush(stdout);
	}
}

/* geoalert's session loop in miniature (src/ingest.c): writes only while
 * nothing read is waiting for its commit. */
static void manual_loop(struct mosquitto *m)
{
	for (;;) {
		struct pollfd p = {.fd = mosquitto_socket(m), .events = POLLIN};
		if (deliveries == 0 && mosquitto_want_write(m))
			p.events |= POLLOUT;
		poll(&p, 1, 1000);
		if (p.revents & POLLIN)
			mosquitto_loop_read(m, 1);
		if (deliveries == 0) {
			if (mosquitto_want_write(m))
				mosquitto_loop_write(m, 1);
			mosquitto_loop_misc(m);
		}
	}
}

static void *loop_main(void *arg)
{
	mosquitto_loop_forever(arg, 1000, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: ga_acktest MODE PORT CLIENT_ID TOPIC\n");
		return 2;
	}
	mode = argv[1];
	topic = argv[4];
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new(argv[3], false, NULL);
	if (!m)
		return 1;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_subscribe_v5_callback_set(m, on_subscribe);
	mosquitto_message_v5_callback_set(m, on_message);
	mosquitto_reconnect_delay_set(m, 1, 1, false);
	mosquitto_property *props = NULL;
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 300);
	bool threaded = strcmp(mode, "nonthreaded") != 0;
	if (threaded)
		mosquitto_threaded_set(m, true);
	if (mosquitto_connect_bind_v5(m, "127.0.0.1", (int)strtol(argv[2], NULL, 10), 30, NULL,
				      props) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "connect failed\n");
		return 1;
	}
	mosquitto_property_free_all(&props);
	if (!threaded) {
		mosquitto_loop_forever(m, 1000, 1);
		return 0;
	}
	if (strcmp(mode, "manual") == 0) {
		manual_loop(m);
		return 0;
	}
	pthread_t t;
	pthread_create(&t, NULL, loop_main, m);
	if (strcmp(mode, "drain") == 0 || strcmp(mode, "refuse") == 0) {
		sleep(strcmp(mode, "drain") == 0 ? 3 : 5);
		mosquitto_disconnect(m);
		pthread_join(t, NULL);
		mosquitto_destroy(m);
		mosquitto_lib_cleanup();
		return 0;
	}
	pthread_join(t, NULL);
	return 0;
}
