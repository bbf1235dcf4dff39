/* channel.h - the publish channels, one per [channel.NAME] section
 * (spec §9; issue 5 "Channels"): for each type, the check of its own
 * config keys, the rendering of one published alert version into the
 * type's request and the reading of the answer.
 *
 * A channel knows nothing of retries, deadlines, rate limits or threads:
 * the delivery worker (delivery.h) owns those and drives the channel
 * through channel_request / channel_answer (HTTP types) or
 * channel_publish (the mqtt type). A type whose delivery takes several
 * requests (wechat_mp: token, draft/add, freepublish/submit; an SMS
 * gateway's batches) answers CHANNEL_NEXT and is asked for step + 1,
 * with job->scratch carrying what one step hands to the next; e-mail is
 * an smtp:// request of the same shape (libcurl speaks SMTP).
 *
 * Secrets (tokens, robot secrets) come only from files named in the
 * config (token_file, secret_file), read once at channel_open. */
#ifndef GA_CHANNEL_H
#define GA_CHANNEL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

#define CHANNEL_URL_MAX 2048	       /* bytes of a request URL */
#define CHANNEL_BODY_MAX (256u * 1024) /* bytes of a request body */
#define CHANNEL_ANSWER_MAX 16384       /* bytes of an answer kept for reading */
#define CHANNEL_TEXT_MAX 65536	       /* bytes of a rendered text before it is fitted */
#define CHANNEL_SCRATCH_MAX 512	       /* what one step of a job hands to the next */
#define CHANNEL_STEPS_MAX 4096	       /* requests of one delivery (an SMS list's batches) */
#define CHANNEL_ADDR_MAX 320	       /* an e-mail address */
#define CHANNEL_ERR_MAX 256	       /* an attempt's error text */
#define CHANNEL_SECRET_MAX 512	       /* a token or secret read from its file */
#define CHANNEL_RATE_MAX 6000	       /* rate_per_min / rate_per_s cap */
#define CHANNEL_CONCURRENCY_MAX 64

enum channel_transport { CHANNEL_HTTP, CHANNEL_MQTT };

/* What an answer means for the delivery. */
enum channel_verdict {
	CHANNEL_DONE,  /* delivered */
	CHANNEL_NEXT,  /* this step went through: ask for step + 1 */
	CHANNEL_RETRY, /* not delivered: try again later; err says why */
	CHANNEL_RATE,  /* refused for rate: try again after Retry-After, else a minute */
	CHANNEL_FAIL,  /* not delivered and never will be: failed now; err says why */
};

/* Limits the worker applies to a channel: the channel keys rate_per_min,
 * rate_per_s (0: none; defaults as the real APIs impose: wecom and
 * dingtalk 20/min, feishu 100/min and 5/s), concurrency (4), deadline
 * (seconds; 0: none, retried until delivered; default 3600, the portal's
 * 0: spec §9 "retries until the portal answers 2xx"), backoff_initial_ms
 * (1000), backoff_max_ms (60000), timeout_ms (10000, one request) and
 * late_after (seconds, 3600: with deadline 0, when the supervisors are
 * told that a delivery is still not done). */
struct channel_limits {
	int rate_per_min, rate_per_s, concurrency;
	int64_t deadline_ms, backoff_initial_ms, backoff_max_ms, timeout_ms;
	int64_t late_ms; /* deadline 0: the supervisors are told once after this */
};

/* One delivery of one published version, as a channel sees it. */
struct channel_job {
	const char *alert_id;
	int version;
	const char *msg_type;	/* alert, update, cancel */
	const char *idem_key;	/* "{alert_id}:{version}": the same on every attempt */
	const json_t *alert;	/* the spec §6 alert JSON; borrowed */
	const char *public_url; /* {public_base_url}/alerts/{id} */
	int64_t now_ms;		/* wall clock, for signatures' timestamps */
	/* The progress of a multi-step type: step is the 0-based request,
	 * scratch what the steps done hand to the next (a NUL-terminated
	 * string). The worker stores both after every CHANNEL_NEXT, so a
	 * retry, even after kill -9, resumes at that step with that scratch
	 * instead of repeating what went through (an SMS batch, a WeChat
	 * draft). A new delivery starts at step 0 with scratch "". */
	int step;
	char scratch[CHANNEL_SCRATCH_MAX];
};

/* One request. body, headers and rcpt are owned: channel_request_cleanup
 * frees them.
 *
 * HTTP (rcpt NULL): a POST of body to url with headers.
 * SMTP (rcpt not NULL; url smtp:// or smtps://): body is the whole
 * RFC 5322 message, sent from mail_from to every address of rcpt; with
 * username set, AUTH with username and password (borrowed: the channel's
 * own, alive while it is); starttls true requires STARTTLS on smtp://;
 * ca_file (borrowed likewise; NULL: the system's store) the PEM file of
 * the CAs the relay's certificate is verified against.
 * The answer's status is the server's last SMTP reply code (250 when
 * the message was taken). */
struct channel_request {
	char url[CHANNEL_URL_MAX];
	char *body;
	size_t bodylen;
	struct curl_slist *headers;
	/* SMTP */
	struct curl_slist *rcpt;
	char mail_from[CHANNEL_ADDR_MAX];
	const char *username, *password;
	const char *ca_file;
	bool starttls;
};

struct channel;

/* Checks every channel of cfg: a known type, no unknown key (the error
 * names "FILE:LINE"), values in range, the url a type needs, secret
 * files readable, its template compiling. Called by check-config and at
 * start. */
ga_err channel_check_all(const struct config *cfg, char *err, size_t errlen);

/* The limits of ch from its keys and its type's defaults; GA_ERR_CONFIG
 * with "FILE:LINE: ..." for a bad value or an unknown type. */
ga_err channel_limits_of(const struct config *cfg, const struct config_channel *ch,
			 struct channel_limits *out, char *err, size_t errlen);

/* Opens ch (borrowed from cfg, which must outlive the channel): reads its
 * secrets, compiles its template, and for mqtt starts its own broker
 * connection. mqtt_done (may be NULL) is called from the connection's
 * thread with the mid channel_publish gave once the broker acknowledged
 * it. On error err says what and *out is unchanged. */
typedef void (*channel_mqtt_done)(void *arg, const struct channel *c, int mid);
ga_err channel_open(const struct config *cfg, const struct config_channel *ch,
		    channel_mqtt_done mqtt_done, void *arg, struct channel **out, char *err,
		    size_t errlen);
void channel_free(struct channel *c);

const char *channel_name(const struct channel *c);
const char *channel_type_name(const struct channel *c);
enum channel_transport channel_transport(const struct channel *c);
const struct channel_limits *channel_limits(const struct channel *c);

/* HTTP types: fills req for job->step. GA_ERR_TOOBIG when the alert
 * cannot be made to fit, other errors with err; req is then empty. */
ga_err channel_request(struct channel *c, struct channel_job *job, struct channel_request *req,
		       char *err, size_t errlen);
void channel_request_cleanup(struct channel_request *req);

/* The text job's alert is rendered to on c, as a duty officer previews
 * it before publishing (issue 10): *text (new string; NULL for the types
 * that send the alert JSON itself: portal, mqtt) and *limit_chars (the
 * limit the type counts in characters, weibo's max_chars or the SMS
 * gateway's param_max_chars; 0 when it counts bytes or has none). Needs
 * no network. */
ga_err channel_preview(struct channel *c, struct channel_job *job, char **text, long *limit_chars,
		       char *err, size_t errlen);

/* HTTP types: what the answer to job->step means (status 0: no answer).
 * body is the start of the answer (len bytes, not NUL-terminated). */
enum channel_verdict channel_answer(struct channel *c, struct channel_job *job, long status,
				    const char *body, size_t len, char *err, size_t errlen);

/* mqtt: publishes job's alert, retained, QoS 1; *mid identifies it in
 * mqtt_done. GA_ERR_MQTT (not connected...) with err. */
ga_err channel_publish(struct channel *c, struct channel_job *job, int *mid, char *err,
		       size_t errlen);

#endif
