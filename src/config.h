/* config.h - the INI configuration (spec §9), parsed with libinih against
 * a declarative table of options (config.c). Unknown sections and keys are
 * errors naming the file and line. The loaded config is the only global
 * state of the service, and it is read only once loaded. */
#ifndef GA_CONFIG_H
#define GA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "geo.h"
#include "hazard.h"

#define CONFIG_SESSIONS_MAX 64 /* [mqtt] sessions */
/* [mqtt] url: brokers at most. Each takes [mqtt] sessions sessions, a
 * receipts connection and its threads: eight brokers of 64 sessions is
 * already 520 threads. */
#define CONFIG_BROKERS_MAX 8
#define CONFIG_BROKER_HOST_MAX 128 /* bytes of a broker's host name, NUL counted */
/* [mqtt] session_expiry: MQTT 5's "the session does not expire" (spec
 * §1: reports sent while geoalert is away wait for it, however long). */
#define CONFIG_SESSION_NEVER 4294967295L
/* [mqtt] share_group when not set; refused together with a username. */
#define CONFIG_SHARE_GROUP_DEFAULT "geoalert"
#define CONFIG_PATH_MAX 512
#define CONFIG_HOTLINE_MAX 33 /* bytes of [alerts] hotline, NUL counted */
#define CONFIG_STR_MAX 256
#define CONFIG_MAX_CHANNELS 32

/* One key = value of a [channel.NAME] section other than the common
 * ones below; the channel module checks them against its type. */
struct config_kv {
	char key[48];
	char value[CONFIG_STR_MAX];
	int line;
};

#define CONFIG_CHANNEL_KV_MAX 24

struct config_channel {
	char name[64]; /* NAME of [channel.NAME] */
	char type[32]; /* portal, wecom, ... */
	char url[CONFIG_STR_MAX];
	char token_file[CONFIG_PATH_MAX];
	bool enabled;
	bool exercise; /* also used in drill mode */
	int line;      /* where the section starts, for messages */
	struct config_kv kv[CONFIG_CHANNEL_KV_MAX];
	int nkv;
};

/* The value of key in a channel's own keys, or NULL. */
const char *config_channel_get(const struct config_channel *ch, const char *key);

/* An address range of [http] trusted_proxies: family AF_INET or AF_INET6,
 * the address in network order (4 or 16 bytes) and its prefix length. */
#define CONFIG_PROXIES_MAX 16
struct config_net {
	int family;
	unsigned char addr[16];
	int prefix;
};

/* One broker of [mqtt] url. url is its canonical form,
 * "mqtt[s]://host:port" with the port always written: the broker's name in
 * the store (mqtt_sessions.broker, outbox.broker) and in /healthz. */
struct config_broker {
	char url[CONFIG_BROKER_HOST_MAX + 16];
	char host[CONFIG_BROKER_HOST_MAX];
	int port;
	bool tls;
};

struct config {
	char path[CONFIG_PATH_MAX]; /* the file it came from; "" for defaults */

	struct {
		/* mqtt://127.0.0.1:1883 or mqtts://...; several separated by
		 * blanks (spec §10): parsed into brokers at load */
		char url[CONFIG_STR_MAX];
		struct config_broker brokers[CONFIG_BROKERS_MAX];
		int nbrokers; /* 1..CONFIG_BROKERS_MAX once loaded */
		/* geoalert; sessions are ID-0 .. ID-(n-1). With [store] url,
		 * config_load makes it ID-INSTANCE: unique per instance. */
		char client_id[128];
		char username[CONFIG_STR_MAX];
		char password_file[CONFIG_PATH_MAX];
		char ca_file[CONFIG_PATH_MAX];
		int sessions;	      /* MQTT sessions on the shared subscription */
		int keepalive;	      /* seconds */
		long session_expiry;  /* seconds the broker keeps our queue */
		char share_group[64]; /* $share/{group}/... */
	} mqtt;

	struct {
		char path[CONFIG_PATH_MAX];
		long max_page_count; /* 0: unlimited (tests only) */
		int batch_max;	     /* reports per group commit */
		/* raw reports and rejections older than this are deleted
		 * (store_retention.h); 0: kept for ever */
		int keep_reports_days;
		/* postgresql://... (spec §10): PostgreSQL instead of path;
		 * never with a password in it (password_file) */
		char url[CONFIG_STR_MAX];
		char password_file[CONFIG_PATH_MAX];
	} store;

	/* Several instances on one PostgreSQL database (spec §10). */
	struct {
		char instance[64];    /* unique per process; default: the host name */
		int takeover_after_s; /* silence before others take over its work */
	} cluster;

	struct {
		char listen[CONFIG_STR_MAX]; /* host:port; 127.0.0.1:8080 */
		char public_base_url[CONFIG_STR_MAX];
		/* /healthz is 503 while a delivery is unfinished this long
		 * after its version was published */
		int healthz_backlog_s;
		/* Peers whose X-Forwarded-For names the client (reverse proxies):
		 * "trusted_proxies" as written, and parsed. */
		char trusted_proxies_text[CONFIG_STR_MAX];
		struct config_net trusted_proxies[CONFIG_PROXIES_MAX];
		int ntrusted_proxies;
		int connections_per_address; /* open at once from one client address */
		int request_timeout_s;	     /* to send a whole request (slow clients) */
	} http;

	struct {
		char file[CONFIG_PATH_MAX]; /* station registry; "" = none */
		int expected_interval_s;    /* silent longer than this: officers told */
		/* observed_at older than this when received: accepted, flagged */
		int max_observed_age_s;
	} stations;

	struct {
		char file[CONFIG_PATH_MAX]; /* monitoring-device registry (§12); "" = none */
		int confirm_points;	    /* points at a higher level before it rises */
		int clear_after_s;	    /* below a level this long before it falls */
		int keep_days;		    /* points and refused frames kept; 0: all */
		char draft_min_level[16];   /* blue..red: a warning draft from here (§12) */
		int draft_min;		    /* it as enum device_level (1..4), set by the check */
	} devices;

	struct {
		char regions[CONFIG_PATH_MAX]; /* "" = bundled */
		char service_area[CONFIG_STR_MAX];
		struct geo_helmert helmert[GEO_MAX_HELMERT];
		int nhelmert;
	} geo;

	struct {
		enum level publish_min_level;
		char sender[CONFIG_STR_MAX];
		char thresholds[CONFIG_PATH_MAX]; /* "" = bundled national defaults */
		char incident_prefix[16];	  /* JS */
		int utc_offset_min;		  /* +08:00 -> 480 */
		char utc_offset[8];		  /* "+08:00" as written */
		int hazard_point_window_h;	  /* 72 */
		int near_window_h;		  /* 24 */
		double near_radius_m;		  /* 1000 */
		int confirmations_extra_large;	  /* officers needed for extra_large: 1 or 2 */
		int escalate_after_s;		  /* pending this long: notify supervisors */
		char templates[CONFIG_PATH_MAX];  /* "" = bundled alerts/templates */
		bool exercise;			  /* mode = exercise: drill, status "exercise" */
		/* Ed25519 key signing published alerts (sign.h); "" at load
		 * becomes signing-key.pem beside [store] path. Made at start
		 * when missing. */
		char signing_key_file[CONFIG_PATH_MAX];
		/* ECDSA P-256 key (+ certificate) signing the CAP XML
		 * (cap_sign.h); "" at load becomes cap-signing-key.pem
		 * beside [store] path. Made at start when missing. */
		char cap_signing_key_file[CONFIG_PATH_MAX];
		/* CAP <sender>; "" at load becomes the host of
		 * [http] public_base_url. No spaces, commas, < or &. */
		char cap_sender[CONFIG_STR_MAX];
		/* the department's public hotline, shown on the public pages;
		 * "" for none (CONFIG_HOTLINE_MAX - 1 bytes at most) */
		char hotline[CONFIG_HOTLINE_MAX];
	} alerts;

	struct {
		char officers_url[CONFIG_STR_MAX];    /* webhook: a draft appeared */
		char supervisors_url[CONFIG_STR_MAX]; /* webhook: escalations */
	} notify;

	struct {
		int session_idle_s;		/* console session idle timeout */
		int login_max_failures;		/* per name and address within login_window_s */
		int login_address_max_failures; /* per address, any name, within it */
		int login_window_s;
		bool secure_cookies; /* add Secure: set when served behind TLS */
	} console;

	struct {
		char issuers[CONFIG_STR_MAX]; /* ids allowed on geohazard/v1/riskwarnings/{id} */
		int signoff;		      /* officers who must confirm (2) */
		char publish_min_level[16];   /* red, orange, yellow (default), blue */
		int publish_min;	      /* it as enum riskwarning_level */
	} riskwarning;

	struct config_channel channels[CONFIG_MAX_CHANNELS];
	int nchannels;
};

/* Fills c with the built-in defaults (spec §9 values). */
void config_defaults(struct config *c);

/* Parses [mqtt] url: one or more "mqtt://host[:port]" / "mqtts://host[:port]"
 * separated by blanks, at most CONFIG_BROKERS_MAX, none twice (the same
 * host and port). Fills out[0..*n-1]; on error *n is 0 and err says which
 * URL is wrong (without file or line). */
ga_err config_parse_brokers(const char *text, struct config_broker *out, int *n, char *err,
			    size_t errlen);

/* Loads path over the defaults and validates it. On error returns
 * GA_ERR_CONFIG (or GA_ERR_IO) and writes "FILE:LINE: problem" into err. */
ga_err config_load(const char *path, struct config *c, char *err, size_t errlen);

/* Fills geo options from the config (pointers borrowed from c). */
void config_geo_options(const struct config *c, struct geo_options *opt);

/* Reads a secret from a file (first line, trailing newline removed).
 * Files only: secrets never come from the command line. */
ga_err config_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen);

#endif
