/* Config parsing: defaults, every kind of error names file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char dir[] = "/tmp/ga-config-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads text; returns the error message ("" when it loaded). */
static const char *load(const char *text, struct config *c)
{
	static char err[1024];
	err[0] = '\0';
	const char *path = write_file("t.ini", text);
	ga_err r = config_load(path, c, err, sizeof(err));
	if (r == GA_OK)
		assert_string_equal(err, "");
	else
		assert_true(err[0] != '\0');
	return err;
}

static void test_spec_example(void **state)
{
	struct config c;
	const char *err =
	    load("[mqtt]\n"
		 "url = mqtt://127.0.0.1:1883      ; mqtts://host:8883 for TLS\n"
		 "client_id = geoalert\n"
		 "[store]\npath = var/geoalert.db\n"
		 "[http]\nlisten = 127.0.0.1:8080\npublic_base_url = http://127.0.0.1:8080\n"
		 "[stations]\nfile = geo/stations.geojson\n"
		 "[geo]\nregions = geo/regions.geojson      ; bundled\n"
		 "service_area = 32                 ; Jiangsu\n"
		 "[alerts]\npublish_min_level = large\nsender = 江苏省自然资源厅\n"
		 "[channel.portal]\ntype = portal                     ; POST\n"
		 "url = http://127.0.0.1:9000/api/alerts\n",
		 &c);
	assert_string_equal(err, "");
	assert_string_equal(c.mqtt.url, "mqtt://127.0.0.1:1883");
	assert_string_equal(c.geo.service_area, "32");
	assert_string_equal(c.alerts.sender, "江苏省自然资源厅");
	assert_int_equal(c.alerts.publish_min_level, LEVEL_LARGE);
	assert_int_equal(c.nchannels, 1);
	assert_string_equal(c.channels[0].type, "portal");
	assert_string_equal(c.channels[0].url, "http://127.0.0.1:9000/api/alerts");
	/* defaults where the file is silent */
	assert_int_equal(c.alerts.utc_offset_min, 480);
	assert_int_equal(c.alerts.hazard_point_window_h, 72);
	assert_int_equal(c.mqtt.sessions, 4);
	/* spec §1: a session that does not expire (MQTT 5's 0xFFFFFFFF) */
	assert_int_equal(c.mqtt.session_expiry, 4294967295L);
}

static void test_unknown_key_names_line(void **state)
{
	struct config c;
	const char *err = load("[mqtt]\nurl = mqtt://127.0.0.1:1883\n\nclient = x\n", &c);
	assert_non_null(strstr(err, "t.ini:4:"));
	assert_non_null(strstr(err, "unknown key \"client\""));
}

static void test_unknown_section(void **state)
{
	struct config c;
	const char *err = load("[mqtt]\nurl = mqtt://h:1\n[bogus]\nx = 1\n", &c);
	assert_non_null(strstr(err, ":4:"));
	assert_non_null(strstr(err, "unknown section [bogus]"));
}

static void test_bad_values(void **state)
{
	struct config c;
	const char *err = load("[mqtt]\nsessions = 0\n", &c);
	assert_non_null(strstr(err, ":2:"));
	assert_non_null(strstr(err, "outside 1..64"));
	err = load("[mqtt]\nsessions = 64\n", &c);
	assert_string_equal(err, "");
	err = load("[mqtt]\nsessions = 65\n", &c);
	assert_non_null(strstr(err, "outside"));
	err = load("[mqtt]\nsession_expiry = 4294967295\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.mqtt.session_expiry, 4294967295L);
	err = load("[mqtt]\nsession_expiry = 3000000000\n", &c); /* past INT_MAX */
	assert_string_equal(err, "");
	assert_int_equal(c.mqtt.session_expiry, 3000000000L);
	err = load("[mqtt]\nsession_expiry = 4294967296\n", &c);
	assert_non_null(strstr(err, "outside 60..4294967295"));
	err = load("[mqtt]\nsessions = 4x\n", &c);
	assert_non_null(strstr(err, "not an integer"));
	err = load("[alerts]\npublish_min_level = huge\n", &c);
	assert_non_null(strstr(err, "\"huge\" is not one of"));
	/* [devices] draft_min_level: the four monitoring levels, orange by default */
	err = load("[mqtt]\nsessions = 2\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.devices.draft_min, 3);
	err = load("[devices]\ndraft_min_level = red\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.devices.draft_min, 4);
	err = load("[devices]\ndraft_min_level = blue\n", &c);
	assert_int_equal(c.devices.draft_min, 1);
	err = load("[devices]\ndraft_min_level = large\n", &c);
	assert_non_null(
	    strstr(err, "draft_min_level: \"large\" must be blue, yellow, orange or red"));
	err = load("[alerts]\nutc_offset = +8\n", &c);
	assert_non_null(strstr(err, "offset"));
	err = load("[alerts]\nutc_offset = -05:30\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.alerts.utc_offset_min, -330);
	err = load("[alerts]\nnear_radius_m = nan\n", &c);
	assert_non_null(strstr(err, "near_radius_m"));
	err = load("[mqtt]\nurl = http://x:1\n", &c);
	assert_non_null(strstr(err, "mqtt://"));
	err = load("[mqtt]\npassword_file = /x\n", &c);
	assert_non_null(strstr(err, "needs username"));
	/* with broker accounts, the share group's name is a secret */
	err = load("[mqtt]\nusername = ga\n", &c);
	assert_non_null(strstr(err, "share_group"));
	assert_non_null(strstr(err, "secret"));
	err = load("[mqtt]\nusername = ga\nshare_group = geoalert\n", &c);
	assert_non_null(strstr(err, "share_group"));
	err = load("[mqtt]\nusername = ga\nshare_group = 5f0c2a9e8b1d4c7f\n", &c);
	assert_string_equal(err, "");
	err = load("[mqtt]\nshare_group = a/b\n", &c);
	assert_non_null(strstr(err, "without / + #"));
	err = load("[alerts]\nescalate_after = 10m\nconfirmations.extra_large = 2\n"
		   "[console]\nsecure_cookies = yes\nsession_idle = 2h\n",
		   &c);
	assert_string_equal(err, "");
	assert_int_equal(c.alerts.escalate_after_s, 600);
	assert_int_equal(c.alerts.confirmations_extra_large, 2);
	assert_true(c.console.secure_cookies);
	assert_int_equal(c.console.session_idle_s, 7200);
	err = load("[alerts]\nescalate_after = 10 minutes\n", &c);
	assert_non_null(strstr(err, "duration"));
	err = load("[alerts]\nconfirmations.extra_large = 3\n", &c);
	assert_non_null(strstr(err, "outside 1..2"));
	err = load("[alerts]\nincident_prefix = J S\n", &c);
	assert_non_null(strstr(err, "incident_prefix"));
	err = load("[alerts]\nincident_prefix = SU-GEO\n", &c);
	assert_string_equal(err, "");
	err = load("[channel.portal]\nurl = http://x/\n", &c);
	assert_non_null(strstr(err, "type must be set"));
	err = load("[channel.ding]\ntype = dingtalk\nsecret_file = /s\nexercise = yes\n", &c);
	assert_string_equal(err, "");
	assert_true(c.channels[0].exercise);
	assert_string_equal(config_channel_get(&c.channels[0], "secret_file"), "/s");
	assert_int_equal(c.channels[0].kv[0].line, 3);
	assert_null(config_channel_get(&c.channels[0], "nope"));
	err = load("[channel.ding]\ntype = dingtalk\nsecret_file = /s\nsecret_file = /t\n", &c);
	assert_non_null(strstr(err, ":4:"));
	err = load("[alerts]\nmode = exercise\n", &c);
	assert_string_equal(err, "");
	assert_true(c.alerts.exercise);
	err = load("[alerts]\nmode = drill\n", &c);
	assert_non_null(strstr(err, "actual or exercise"));
}

static void test_syntax_error(void **state)
{
	struct config c;
	const char *err = load("[mqtt]\nurl = mqtt://h:1\nthis line has no equals sign\n", &c);
	assert_non_null(strstr(err, ":3:"));
	err = load("[mqtt\nurl = x\n", &c);
	assert_non_null(strstr(err, ":1:"));
}

static void test_string_caps(void **state)
{
	struct config c;
	/* client_id: 63 bytes fit the buffer but the check caps it at 40 */
	char text[512];
	char id[41];
	memset(id, 'a', 40);
	id[40] = '\0';
	snprintf(text, sizeof(text), "[mqtt]\nclient_id = %s\n", id);
	assert_string_equal(load(text, &c), "");
	snprintf(text, sizeof(text), "[mqtt]\nclient_id = %sb\n", id);
	assert_non_null(strstr(load(text, &c), "client_id"));
	/* a line past inih's line buffer is refused, not split */
	char longline[400];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	snprintf(text, sizeof(text), "[alerts]\nsender = %.300s\n", longline);
	assert_non_null(strstr(load(text, &c), "line longer than"));
}

static void test_helmert(void **state)
{
	struct config c;
	const char *err = load("[geo]\nhelmert.4610 = 24,-123,-94,0.02,-0.25,-0.13,1.1\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.geo.nhelmert, 1);
	assert_int_equal(c.geo.helmert[0].epsg, 4610);
	err = load("[geo]\nhelmert.4610 = 1,2\n", &c);
	assert_non_null(strstr(err, "helmert.4610"));
	err = load("[geo]\nhelmert.x = 1,2,3\n", &c);
	assert_non_null(strstr(err, "EPSGCODE"));
}

static void test_missing_file(void **state)
{
	struct config c;
	char err[512];
	assert_int_equal(config_load("/nonexistent/geoalert.ini", &c, err, sizeof(err)), GA_ERR_IO);
	assert_non_null(strstr(err, "/nonexistent/geoalert.ini"));
}

static void test_secret(void **state)
{
	char buf[16], err[256];
	const char *p = write_file("s", "hunter2\n");
	assert_int_equal(config_read_secret(p, buf, sizeof(buf), err, sizeof(err)), GA_OK);
	assert_string_equal(buf, "hunter2");
	p = write_file("s", "\n");
	assert_int_not_equal(config_read_secret(p, buf, sizeof(buf), err, sizeof(err)), GA_OK);
	p = write_file("s", "0123456789abcdefXYZ\n");
	assert_int_equal(config_read_secret(p, buf, sizeof(buf), err, sizeof(err)), GA_ERR_TOOBIG);
}

/* [store] url and [cluster] (spec §10). */
#define KEYS "[alerts]\nsigning_key_file = /k/s.pem\ncap_signing_key_file = /k/c.pem\n"
static void test_cluster(void **state)
{
	struct config c;
	char host[64] = "";
	const char *err = load("[store]\nurl = postgresql://ga@127.0.0.1:5432,127.0.0.1:5433/ga"
			       "?target_session_attrs=read-write\n[cluster]\ninstance = node-a\n"
			       "takeover_after = 5\n" KEYS,
			       &c);
	(void)state;
	assert_string_equal(err, "");
	assert_string_equal(c.cluster.instance, "node-a");
	assert_int_equal(c.cluster.takeover_after_s, 5);
	/* the same [mqtt] client_id on every node: made unique per instance */
	assert_string_equal(c.mqtt.client_id, "geoalert-node-a");
	err = load("[store]\npassword_file = /etc/pw\n", &c);
	assert_non_null(strstr(err, "password_file needs [store] url"));
	err = load("[store]\nurl = mysql://x/y\n", &c);
	assert_non_null(strstr(err, "must start with postgresql://"));
	err = load("[store]\nurl = postgresql://ga:secret@h/ga\n", &c);
	assert_non_null(strstr(err, "holds a password"));
	assert_null(strstr(err, "secret"));
	err = load("[store]\nurl = postgresql://h/ga?password=secret\n", &c);
	assert_non_null(strstr(err, "holds a password"));
	err = load("[store]\nurl = postgres://ga@[::1]:5432/ga\n" KEYS, &c); /* a colon after @ */
	assert_string_equal(err, "");
	/* keys are not made per node beside a store that is no file (serve
	 * refuses to start without them; the command-line verbs need none) */
	err = load("[store]\nurl = postgres://ga@h/ga\n", &c);
	assert_string_equal(err, "");
	assert_string_equal(c.alerts.signing_key_file, "");
	err = load("[cluster]\ninstance = a b\n", &c);
	assert_non_null(strstr(err, "[cluster] instance"));
	err = load("[cluster]\ntakeover_after = 4\n", &c);
	assert_non_null(strstr(err, "outside 5..3600"));
	err = load("[cluster]\n", &c); /* the host name by default */
	assert_string_equal(err, "");
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(c.cluster.instance, host);
	assert_int_equal(c.cluster.takeover_after_s, 30);
}

/* [mqtt] url: one or more brokers separated by blanks (spec §10), each
 * checked at load with the file and line of the key; canonical urls with
 * the port written out. */
static void test_brokers(void **state)
{
	struct config c;
	const char *err;

	/* The default and a single URL: one broker. */
	err = load("[store]\npath = var/x.db\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.mqtt.nbrokers, 1);
	assert_string_equal(c.mqtt.brokers[0].url, "mqtt://127.0.0.1:1883");
	err = load("[mqtt]\nurl = mqtts://mq.example.org\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.mqtt.nbrokers, 1);
	assert_string_equal(c.mqtt.brokers[0].host, "mq.example.org");
	assert_int_equal(c.mqtt.brokers[0].port, 8883);
	assert_true(c.mqtt.brokers[0].tls);
	assert_string_equal(c.mqtt.brokers[0].url, "mqtts://mq.example.org:8883");

	/* Two, blanks and tabs between them, the spec's example. */
	err = load("[mqtt]\nurl =  mqtt://mq1:1883 \t mqtts://mq2:8884   ; two brokers\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.mqtt.nbrokers, 2);
	assert_string_equal(c.mqtt.brokers[0].url, "mqtt://mq1:1883");
	assert_false(c.mqtt.brokers[0].tls);
	assert_string_equal(c.mqtt.brokers[1].url, "mqtts://mq2:8884");
	assert_int_equal(c.mqtt.brokers[1].port, 8884);
	assert_true(c.mqtt.brokers[1].tls);

	/* At the cap, and one past it. */
	char text[512], line[400] = "";
	for (int i = 0; i < CONFIG_BROKERS_MAX; i++) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof(line) - n, "mqtt://b:%d ", 2000 + i);
	}
	snprintf(text, sizeof(text), "[mqtt]\nurl = %s\n", line);
	err = load(text, &c);
	assert_string_equal(err, "");
	assert_int_equal(c.mqtt.nbrokers, CONFIG_BROKERS_MAX);
	assert_string_equal(c.mqtt.brokers[CONFIG_BROKERS_MAX - 1].url, "mqtt://b:2007");
	snprintf(text, sizeof(text), "[mqtt]\n\nurl = %s mqtt://b:3000\n", line);
	err = load(text, &c);
	assert_non_null(strstr(err, "t.ini:3:"));
	assert_non_null(strstr(err, "more than 8 brokers"));

	/* Each URL is checked, and the error names it and the line. */
	static const struct {
		const char *url, *says;
	} bad[] = {
	    {"mqtt://mq1:1883 http://mq2:1883", "\"http://mq2:1883\""},
	    {"mqtt://mq1:1883 mqtt://mq2:0", "\"mqtt://mq2:0\""},
	    {"mqtt://mq1:1883 mqtt://mq2:65536", "\"mqtt://mq2:65536\""},
	    {"mqtt://mq1:1883 mqtt://mq2:18x3", "\"mqtt://mq2:18x3\""},
	    {"mqtt://mq1:1883 mqtt://mq2:", "\"mqtt://mq2:\""},
	    {"mqtt:// mqtt://mq2", "\"mqtt://\""},
	    {"mqtt://user@mq1", "\"mqtt://user@mq1\""},
	    {"mqtt://mq1/path", "\"mqtt://mq1/path\""},
	    {"mqtt://mq1,mqtt://mq2", "\"mqtt://mq1,mqtt://mq2\""},
	    {"mqtt://mq1:1883 mqtt://mq1", "mqtt://mq1:1883 given twice"},
	    {"mqtts://mq1:1883 mqtt://mq1:1883", "mqtt://mq1:1883 given twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[mqtt]\nclient_id = g\nurl = %s\n", bad[i].url);
		err = load(text, &c);
		if (!strstr(err, "t.ini:3:") || !strstr(err, bad[i].says))
			fail_msg("%s: %s", bad[i].url, err);
	}
	/* Blanks only: no broker. */
	err = load("[mqtt]\nurl = \"\"\n", &c);
	assert_true(err[0] != '\0');
	err = load("[mqtt]\nurl = \t\n", &c);
	assert_true(err[0] != '\0');

	/* The parser on its own: a host at its cap, and one past it. */
	struct config_broker b[CONFIG_BROKERS_MAX];
	char url[CONFIG_BROKER_HOST_MAX + 32], msg[256];
	int n = -1;
	memset(url, 0, sizeof(url));
	memcpy(url, "mqtt://", 7);
	memset(url + 7, 'h', CONFIG_BROKER_HOST_MAX - 1);
	assert_int_equal(config_parse_brokers(url, b, &n, msg, sizeof(msg)), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(b[0].host), CONFIG_BROKER_HOST_MAX - 1);
	url[7 + CONFIG_BROKER_HOST_MAX - 1] = 'h';
	assert_int_equal(config_parse_brokers(url, b, &n, msg, sizeof(msg)), GA_ERR_CONFIG);
	assert_int_equal(n, 0);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_example),    cmocka_unit_test(test_unknown_key_names_line),
	    cmocka_unit_test(test_unknown_section), cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_syntax_error),    cmocka_unit_test(test_string_caps),
	    cmocka_unit_test(test_helmert),	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_secret),	    cmocka_unit_test(test_cluster),
	    cmocka_unit_test(test_brokers),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
