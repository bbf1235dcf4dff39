/* channel_internal.h - private to channel*.c: the table each type fills
 * and the helpers the types share (rendering and fitting texts, HMAC
 * signatures, URL encoding, JSON requests and robot answers). */
#ifndef GA_CHANNEL_INTERNAL_H
#define GA_CHANNEL_INTERNAL_H

#include "channel.h"
#include "draft_template.h"

/* How a value is made data in a syntax (channel_escape.c); every way
 * also drops bidirectional and C0 controls (but the line break). */
enum {
	CHANNEL_ESC_DEFANG = 1u << 0,	/* no link: "://", "a:b", "a.b" made full-width */
	CHANNEL_ESC_MARKDOWN = 1u << 1, /* the robots' markdown: markup full-width */
	CHANNEL_ESC_HTML = 1u << 2,	/* & < > " ' as entities, line breaks <br> */
	CHANNEL_ESC_WEIBO = 1u << 3,	/* @ # [ ] $ full-width */
	CHANNEL_ESC_TEXT = CHANNEL_ESC_DEFANG,
};

/* One channel type, declaratively (as options-table.c does for tmux). */
struct channel_type {
	const char *name;
	enum channel_transport transport;
	const char *const *keys;   /* its own keys besides the common ones; NULL-terminated */
	const char *template_file; /* in the templates dir; NULL: the type sends no text */
	unsigned syntax;	   /* CHANNEL_ESC_* of the values in its text (channel_text) */
	size_t text_max;	   /* default max_bytes of its text; 0: none */
	bool needs_url, needs_token;
	const char *const *schemes;   /* url prefixes it takes; NULL: http://, https:// */
	int rate_per_min, rate_per_s; /* defaults: what the real API imposes */
	bool never_give_up;	      /* default deadline 0: retried until delivered */
	/* Checks the type's own keys beyond what the table says (files they
	 * name, addresses), at check-config and at open; errors name
	 * "FILE:LINE". May be NULL. */
	ga_err (*check)(const struct config *cfg, const struct config_channel *ch, char *err,
			size_t errlen);
	ga_err (*open)(struct channel *c, char *err, size_t errlen); /* may be NULL */
	void (*close)(struct channel *c);			     /* may be NULL */
	ga_err (*request)(struct channel *c, struct channel_job *job, struct channel_request *req,
			  char *err, size_t errlen);
	enum channel_verdict (*answer)(struct channel *c, struct channel_job *job, long status,
				       const char *body, size_t len, char *err, size_t errlen);
	ga_err (*publish)(struct channel *c, struct channel_job *job, int *mid, char *err,
			  size_t errlen);
	/* The officer's preview (channel_preview); NULL: the template
	 * rendered as the chat robots do, or no text when there is none. */
	ga_err (*preview)(struct channel *c, struct channel_job *job, char **text,
			  long *limit_chars, char *err, size_t errlen);
};

extern const struct channel_type channel_type_portal, channel_type_wecom, channel_type_dingtalk,
    channel_type_feishu, channel_type_mqtt, channel_type_wechat_mp, channel_type_weibo,
    channel_type_sms, channel_type_email;

struct channel {
	const struct config *cfg;
	const struct config_channel *ch;
	const struct channel_type *type;
	struct channel_limits limits;
	char token[CHANNEL_SECRET_MAX];	 /* token_file; "" when none */
	char secret[CHANNEL_SECRET_MAX]; /* secret_file; "" when none */
	struct draft_template *tpl;	 /* NULL for types without text */
	size_t text_max;		 /* max_bytes */
	channel_mqtt_done mqtt_done;
	void *mqtt_arg;
	void *priv; /* the type's own state */
};

/* The variables of the channel templates (alerts/templates/README.md,
 * "Channel templates"), by index; channel_var_names[CV_*] their names. */
enum channel_var {
	CV_ALERT,
	CV_UPDATE,
	CV_CANCEL,
	CV_EXERCISE,
	CV_HEADLINE,
	CV_SITUATION,
	CV_CAUSES,
	CV_RESPONSE,
	CV_TREND,
	CV_LEVEL_ZH,
	CV_HAZARD_ZH,
	CV_KIND_ZH,
	CV_RESPONSE_LEVEL,
	CV_COLOR,
	CV_ADMIN_NAME,
	CV_ADMIN_CODE,
	CV_PLACE,
	CV_SENDER,
	CV_SENT,
	CV_ALERT_ID,
	CV_VERSION,
	CV_URL,
	CV_RISKWARNING, /* flag: a risk warning (riskwarning_deliver.h), not an alert */
	CV_LEVELS, /* a risk warning's counties by level: 红色（一级）：江宁区；... */
	CV_COUNT
};

extern const char *const channel_var_names[CV_COUNT];

/* The variable named name (len bytes, not NUL-terminated), or -1. */
int channel_var_lookup(const char *name, size_t len);

/* The variables' values for one job. With how 0, v[CV_*] point into
 * job's alert and into version and sent, so the struct is filled in
 * place and never copied. With CHANNEL_ESC_* flags, every value but the
 * flags and url (geoalert's own link) is a copy escaped that way, owned
 * by own[]. A flag (alert, update, cancel, exercise) is "1" when it
 * holds, NULL when not; a value the alert lacks is "". GA_ERR_NOMEM;
 * channel_values_cleanup in either case. */
struct channel_values {
	const char *v[CV_COUNT];
	char *own[CV_COUNT];
	char version[16];
	char sent[64];
};
ga_err channel_values_fill(const struct channel_job *job, unsigned how, struct channel_values *out);
void channel_values_cleanup(struct channel_values *cv);

/* A new copy of s (NULL when out of memory): first cut to cut bytes on
 * a character boundary ending in "…" when longer (SIZE_MAX: never), then
 * escaped as how (CHANNEL_ESC_*) says. */
char *channel_escape(const char *s, size_t cut, unsigned how);

/* s as plain text (CHANNEL_ESC_TEXT) into out, cut to outlen - 1 bytes
 * on a character boundary; "" when out of memory. For titles, names,
 * digests: the fields no markup reaches but a reader does. */
void channel_plain(const char *s, char *out, size_t outlen);

/* Renders the channel's template for job. When the text is longer than
 * cap bytes it is cut on a UTF-8 character boundary (ending in "…") and
 * the link to the full alert, link_pre job->public_url link_post, is
 * appended, all within cap. *out is a new string (caller frees). */
ga_err channel_text(const struct channel *c, const struct channel_job *job, const char *link_pre,
		    const char *link_post, size_t cap, char **out, char *err, size_t errlen);

/* Renders tpl (the channel's own or one from channel_template_open) for
 * job as HTML: every value HTML-escaped, its line breaks as <br>. When
 * the page is longer than cap bytes the values are shortened (cut on a
 * character boundary, ending in "…"), never the markup; GA_ERR_TOOBIG
 * when even that does not fit. *out is a new string (caller frees). */
ga_err channel_html(const struct draft_template *tpl, const struct channel_job *job, size_t cap,
		    char **out, char *err, size_t errlen);

/* Compiles a further template of ch: the file its key names, else file
 * in the templates dir. Errors as draft_template_load. */
ga_err channel_template_open(const struct config *cfg, const struct config_channel *ch,
			     const char *key, const char *file, struct draft_template **out,
			     char *err, size_t errlen);

/* Cuts s to at most cap bytes on a UTF-8 character boundary, with no
 * ellipsis (for names and fields where "…" would not belong). */
void channel_utf8_cut(char *s, size_t cap);

/* The line of key in ch (its section's line when the key is absent). */
int channel_key_line(const struct config_channel *ch, const char *key);

/* Reads key of ch as a boolean (true/yes/1, false/no/0), def when
 * absent; GA_ERR_CONFIG with "FILE:LINE: ..." otherwise. */
ga_err channel_bool(const struct config *cfg, const struct config_channel *ch, const char *key,
		    bool def, bool *out, char *err, size_t errlen);

/* HMAC-SHA256 of msg under key (any length), standard base64 with
 * padding into out (>= 45 bytes). */
void channel_hmac_b64(const void *key, size_t keylen, const void *msg, size_t msglen, char *out,
		      size_t outlen);

/* Percent-encodes s (everything but A-Z a-z 0-9 - . _ ~). false when
 * out is too small. */
bool channel_urlencode(const char *s, char *out, size_t outlen);

/* Makes req a POST of body (JSON, compact, members in order, UTF-8 as
 * is) with Content-Type: application/json. GA_ERR_TOOBIG past max bytes
 * (0: CHANNEL_BODY_MAX). body is borrowed. */
ga_err channel_json_request(struct channel_request *req, const json_t *body, size_t max);
/* Adds "name: value" to req's headers. */
ga_err channel_header(struct channel_request *req, const char *name, const char *value);

/* Bytes of a title made plain (channel_plain): a headline is at most 120
 * bytes, each of which may become 3. */
#define CHANNEL_TITLE_MAX 512

/* The link to the full alert that the chat robots' markdown ends with. */
#define CHANNEL_MD_LINK_PRE "\n\n[查看全文]("
#define CHANNEL_MD_LINK_POST ")"

/* The channel's url with the query parameter param={token_file's token,
 * URL-encoded} added after '?' or, when the url has a query, '&'; into
 * url (len bytes). GA_ERR_TOOBIG when it does not fit. */
ga_err channel_token_url(const struct channel *c, const char *param, char *url, size_t len);

/* Makes req a chat robot's markdown message, a POST of
 * {"msgtype":"markdown","markdown":{title_key: the alert's headline,
 * text_key: the channel's text}} (no title when title_key is NULL). The
 * text is channel_text's within the channel's max_bytes, ending in the
 * CHANNEL_MD_LINK_* link when cut. Errors say why in err. */
ga_err channel_robot_markdown(const struct channel *c, const struct channel_job *job,
			      const char *title_key, const char *text_key,
			      struct channel_request *req, char *err, size_t errlen);

/* A robot's answer: HTTP 200 with the integer member field (errcode,
 * code) 0 is delivered; a code in rate_codes (0-terminated) is
 * CHANNEL_RATE; 429 too; anything else CHANNEL_RETRY with err. */
enum channel_verdict channel_robot_answer(long status, const char *body, size_t len,
					  const char *field, const int *rate_codes, char *err,
					  size_t errlen);

/* A string member of the alert JSON, "" when absent. */
const char *channel_alert_str(const json_t *alert, const char *key);

#endif
