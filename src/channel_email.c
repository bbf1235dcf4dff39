/* channel_email.c - e-mail through an SMTP relay: url smtp://host:port
 * (or smtps://), one message per published version to every address of
 * to_file, sent by the worker with libcurl (channel.h, struct
 * channel_request).
 *
 * The message is built here, RFC 5322 with CRLF line endings: From (the
 * from address, with from_name or the sender as its name), To the group
 * "undisclosed-recipients:;" (or to_name) so the list is not shown to
 * everyone on it, Subject the headline (【演练】 in front in drill mode)
 * as RFC 2047 UTF-8 base64 words, Date in the configured offset,
 * Message-ID <{alert_id}.{version}@{from's domain}>, the same on every
 * attempt so that a receiver drops a repeat, and References to the
 * versions it follows, so mail programs thread an alert's updates. The
 * body is multipart/alternative: email.txt as text/plain and email.html
 * (values HTML-escaped) as text/html, both UTF-8 in base64 lines of 76.
 *
 * 250 after the message is delivered; anything else, or no answer, is
 * tried again.
 *
 * TLS: smtps:// is TLS from the start; smtp:// with starttls = true
 * sends STARTTLS (RFC 3207) and refuses to go on in clear when the relay
 * does not offer it. Either way the relay's certificate is verified,
 * against ca_file (PEM) when set, else the system's store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "channel_internal.h"
#include "file.h"

#define EMAIL_TEXT_MAX 32768		/* default max_bytes of each part */
#define EMAIL_RCPT_MAX 100		/* RFC 5321 4.5.3.1.8: what every server takes */
#define EMAIL_TO_FILE_MAX 65536		/* bytes of to_file */
#define EMAIL_LOCAL_MAX 64		/* RFC 5321 4.5.3.1.1 */
#define EMAIL_PATH_MAX 254		/* an address in a reverse/forward path */
#define EMAIL_LABEL_MAX 63		/* a domain label */
#define EMAIL_WORD_BYTES 39		/* UTF-8 bytes per encoded word: lines <= 76 */
#define EMAIL_B64_LINE 57		/* bytes per base64 line of 76 characters */
#define EMAIL_REFS_MAX 16		/* References kept */
#define EMAIL_SUBJECT_MAX 1024		/* bytes of the subject before encoding */
#define EMAIL_CA_FILE_MAX (4u << 20)	/* bytes of ca_file (PEM bundle) */
#define EMAIL_LINK_PRE "\n\n查看全文：" /* ends a text cut to max_bytes */
#define EMAIL_LINK_POST "\n"

static const char *const email_keys[] = {"from",     "from_name",   "to_file",	"to_name",
					 "username", "secret_file", "starttls", "template_html",
					 "ca_file",  "internal",    NULL};

struct email {
	char from[CHANNEL_ADDR_MAX];
	const char *domain;  /* in from */
	const char *ca_file; /* borrowed from the config; NULL: the system's store */
	char (*rcpt)[CHANNEL_ADDR_MAX];
	int nrcpt;
	bool starttls;
	struct draft_template *html;
};

/* --- addresses and the recipients' file --------------------------- */

/* A bare addr-spec with a dot-atom local part and a host name domain
 * (what a relay takes in MAIL FROM and RCPT TO). */
static bool email_addr_ok(const char *a)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const char *at = strrchr(a, '@'), *p;
	size_t label = 0;

	if (at == NULL || at == a || (size_t)(at - a) > EMAIL_LOCAL_MAX ||
	    strlen(a) > EMAIL_PATH_MAX || a[0] == '.' || at[-1] == '.' || at[1] == '\0')
		return false;
	for (p = a; p < at; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '.' ? p[1] == '.'
			      : !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				  (ch >= '0' && ch <= '9') || (ch != '\0' && strchr(atext, ch))))
			return false;
	}
	for (p = at + 1;; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '.' || ch == '\0') {
			if (label == 0 || p[-1] == '-')
				return false;
			if (ch == '\0')
				return true;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) {
			if (++label > EMAIL_LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
}

/* Reads the recipients of path into m: one address a line, blank lines
 * and "#" comments (a whole line, or after a blank) skipped, each
 * address once, 1..EMAIL_RCPT_MAX of them. Errors name "path:line". */
static ga_err email_rcpt_load(const char *path, struct email *m, char *err, size_t errlen)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len;
	int lineno = 0;
	ga_err e;

	if ((e = file_read(path, EMAIL_TO_FILE_MAX, &buf, &len, err, errlen)) != GA_OK)
		return e;
	buf[len] = '\0';
	if ((m->rcpt = calloc(EMAIL_RCPT_MAX, sizeof(*m->rcpt))) == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	e = GA_ERR_CONFIG;
	/* strtok_r would skip empty lines and lose the count */
	for (line = buf; line != NULL; line = save) {
		char *end, *hash;
		lineno++;
		if ((save = strchr(line, '\n')) != NULL)
			*save++ = '\0';
		for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++)
			if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
				*hash = '\0';
				break;
			}
		line += strspn(line, " \t");
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (line[0] == '\0')
			continue;
		if (!email_addr_ok(line)) {
			snprintf(err, errlen,
				 "%s:%d: \"%.80s\" is not an e-mail address (one bare"
				 " address a line: name@example.org)",
				 path, lineno, line);
			goto out;
		}
		for (int i = 0; i < m->nrcpt; i++)
			if (strcmp(m->rcpt[i], line) == 0) {
				snprintf(err, errlen, "%s:%d: %s is listed twice", path, lineno,
					 line);
				goto out;
			}
		if (m->nrcpt == EMAIL_RCPT_MAX) {
			snprintf(err, errlen,
				 "%s:%d: more than %d recipients (use a mailing list's address)",
				 path, lineno, EMAIL_RCPT_MAX);
			goto out;
		}
		snprintf(m->rcpt[m->nrcpt++], CHANNEL_ADDR_MAX, "%s", line);
	}
	if (m->nrcpt == 0) {
		snprintf(err, errlen, "%s: no recipient addresses", path);
		goto out;
	}
	e = GA_OK;
out:
	free(buf);
	return e;
}

/* ca_file of ch, when set: a readable regular file of PEM certificates
 * (curl would only find out at the first delivery). */
static ga_err email_ca_check(const struct config *cfg, const struct config_channel *ch,
			     const char *path, char *err, size_t errlen)
{
	char *buf = NULL, why[CHANNEL_ERR_MAX];
	size_t len;
	ga_err e;

	if ((e = file_read(path, EMAIL_CA_FILE_MAX, &buf, &len, why, sizeof(why))) != GA_OK) {
		snprintf(err, errlen, "%s:%d: [channel.%s] ca_file: %s", cfg->path,
			 channel_key_line(ch, "ca_file"), ch->name, why);
		goto out;
	}
	if (strstr(buf, "-----BEGIN CERTIFICATE-----") == NULL) {
		snprintf(err, errlen, "%s:%d: [channel.%s] ca_file: %s holds no PEM certificate",
			 cfg->path, channel_key_line(ch, "ca_file"), ch->name, path);
		e = GA_ERR_CONFIG;
	}
out:
	free(buf);
	return e;
}

static void email_cleanup(struct email *m)
{
	free(m->rcpt);
	draft_template_free(m->html);
	memset(m, 0, sizeof(*m));
}

/* Everything the keys say, checked. */
static ga_err email_load(const struct config *cfg, const struct config_channel *ch, struct email *m,
			 char *err, size_t errlen)
{
	const char *from = config_channel_get(ch, "from");
	const char *to = config_channel_get(ch, "to_file");
	const char *user = config_channel_get(ch, "username");
	ga_err e;

	memset(m, 0, sizeof(*m));
	if (from == NULL || to == NULL) {
		snprintf(err, errlen, "%s:%d: [channel.%s]: %s must be set for type email",
			 cfg->path, ch->line, ch->name, from == NULL ? "from" : "to_file");
		return GA_ERR_CONFIG;
	}
	if (!email_addr_ok(from)) {
		snprintf(err, errlen, "%s:%d: [channel.%s] from: \"%s\" is not an e-mail address",
			 cfg->path, channel_key_line(ch, "from"), ch->name, from);
		return GA_ERR_CONFIG;
	}
	if (user != NULL && config_channel_get(ch, "secret_file") == NULL) {
		snprintf(err, errlen,
			 "%s:%d: [channel.%s] username: the password must be in secret_file",
			 cfg->path, channel_key_line(ch, "username"), ch->name);
		return GA_ERR_CONFIG;
	}
	snprintf(m->from, sizeof(m->from), "%s", from);
	m->domain = strrchr(m->from, '@') + 1;
	m->ca_file = config_channel_get(ch, "ca_file");
	if (m->ca_file != NULL && (e = email_ca_check(cfg, ch, m->ca_file, err, errlen)) != GA_OK)
		return e;
	if ((e = channel_bool(cfg, ch, "starttls", false, &m->starttls, err, errlen)) != GA_OK ||
	    (e = email_rcpt_load(to, m, err, errlen)) != GA_OK ||
	    (e = channel_template_open(cfg, ch, "template_html", "email.html", &m->html, err,
				       errlen)) != GA_OK)
		email_cleanup(m);
	return e;
}

static ga_err email_check(const struct config *cfg, const struct config_channel *ch, char *err,
			  size_t errlen)
{
	struct email m;
	ga_err e = email_load(cfg, ch, &m, err, errlen);

	if (e == GA_OK)
		email_cleanup(&m);
	return e;
}

static ga_err email_open(struct channel *c, char *err, size_t errlen)
{
	struct email *m = calloc(1, sizeof(*m));
	ga_err e;

	if (m == NULL)
		return GA_ERR_NOMEM;
	if ((e = email_load(c->cfg, c->ch, m, err, errlen)) != GA_OK) {
		free(m);
		return e;
	}
	c->priv = m;
	return GA_OK;
}

static void email_close(struct channel *c)
{
	if (c->priv != NULL)
		email_cleanup(c->priv);
	free(c->priv);
	c->priv = NULL;
}

/* --- the message --------------------------------------------------- */

/* The message being written, capped at CHANNEL_BODY_MAX. */
struct email_buf {
	char *p;
	size_t len, size;
	bool over, nomem; /* past CHANNEL_BODY_MAX; out of memory */
};

static void email_add(struct email_buf *b, const char *s, size_t n)
{
	if (b->over || b->len + n + 1 > CHANNEL_BODY_MAX) {
		b->over = true;
		return;
	}
	if (b->len + n + 1 > b->size) {
		size_t size = b->size ? b->size : 8192;
		char *p;
		while (size < b->len + n + 1)
			size *= 2;
		if (size > CHANNEL_BODY_MAX)
			size = CHANNEL_BODY_MAX;
		if ((p = realloc(b->p, size)) == NULL) {
			b->over = b->nomem = true;
			return;
		}
		b->p = p;
		b->size = size;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void email_adds(struct email_buf *b, const char *s)
{
	email_add(b, s, strlen(s));
}

/* True when s may stand in a header as it is: printable ASCII without
 * the specials of a phrase. */
static bool email_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ||
		    strchr("\"(),.:;<>@[\\]", *s))
			return false;
	return true;
}

/* Appends text as RFC 2047 "B" words of UTF-8, EMAIL_WORD_BYTES each
 * (never splitting a character), folded one a line. */
static void email_words(struct email_buf *b, const char *text)
{
	size_t n = strlen(text);
	char b64[sodium_base64_ENCODED_LEN(EMAIL_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	if (email_plain(text)) {
		email_adds(b, text);
		return;
	}
	for (size_t i = 0, k; i < n; i += k) {
		k = n - i < EMAIL_WORD_BYTES ? n - i : EMAIL_WORD_BYTES;
		while (k > 1 && i + k < n && ((unsigned char)text[i + k] & 0xC0) == 0x80)
			k--;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)text + i, k,
				  sodium_base64_VARIANT_ORIGINAL);
		email_adds(b, i ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
		email_adds(b, b64);
		email_adds(b, "?=");
	}
}

/* Appends data in base64 lines of 76 characters, each ending in CRLF. */
static void email_base64(struct email_buf *b, const char *data, size_t n)
{
	char line[sodium_base64_ENCODED_LEN(EMAIL_B64_LINE, sodium_base64_VARIANT_ORIGINAL)];

	for (size_t i = 0; i < n; i += EMAIL_B64_LINE) {
		size_t k = n - i < EMAIL_B64_LINE ? n - i : EMAIL_B64_LINE;
		sodium_bin2base64(line, sizeof(line), (const unsigned char *)data + i, k,
				  sodium_base64_VARIANT_ORIGINAL);
		email_adds(b, line);
		email_adds(b, "\r\n");
	}
}

/* A new copy of s with every line break CRLF (the canonical form of
 * text before base64, RFC 2045 6.8); NULL when out of memory. */
static char *email_crlf(const char *s)
{
	size_t n = 0, o = 0;
	char *out;

	for (const char *p = s; *p; p++)
		n += *p == '\n' ? 2 : *p == '\r' ? 0 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			out[o++] = '\r';
		if (*p != '\r')
			out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

/* "Thu, 26 Nov 2026 15:10:00 +0800" for ms at offset_min. */
static void email_date(int64_t ms, int offset_min, char *buf, size_t len)
{
	static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000) + (time_t)offset_min * 60;
	int off = offset_min < 0 ? -offset_min : offset_min;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

static const char *email_ref(const json_t *refs, size_t i)
{
	const char *s = json_string_value(json_array_get(refs, i));
	return s != NULL ? s : "";
}

/* "<{alert_id}.{version}@{domain}>" of the reference "ID:VERSION". */
static void email_ref_id(const char *ref, const char *domain, char *buf, size_t len)
{
	const char *colon = strrchr(ref, ':');

	if (colon == NULL)
		snprintf(buf, len, "<%s@%s>", ref, domain);
	else
		snprintf(buf, len, "<%.*s.%s@%s>", (int)(colon - ref), ref, colon + 1, domain);
}

static void email_headers(struct email_buf *b, const struct channel *c, const struct email *m,
			  const struct channel_job *job, const char *boundary)
{
	const json_t *refs = json_object_get(job->alert, "references");
	const char *name = config_channel_get(c->ch, "from_name");
	const char *to = config_channel_get(c->ch, "to_name");
	char line[CHANNEL_ADDR_MAX + CONFIG_STR_MAX + 64], subject[EMAIL_SUBJECT_MAX];
	char plain[CHANNEL_TITLE_MAX];
	size_t nrefs = json_array_size(refs), first;

	email_date(job->now_ms, c->cfg->alerts.utc_offset_min, line, sizeof(line));
	email_adds(b, "Date: ");
	email_adds(b, line);
	email_adds(b, "\r\nFrom: ");
	if (name == NULL)
		name = channel_alert_str(job->alert, "sender");
	channel_plain(name, plain, sizeof(plain));
	if (plain[0]) {
		email_words(b, plain);
		email_adds(b, " ");
	}
	snprintf(line, sizeof(line), "<%s>\r\nTo: ", m->from);
	email_adds(b, line);
	email_words(b, to != NULL && to[0] ? to : "undisclosed-recipients");
	email_adds(b, ":;\r\nSubject: ");
	channel_plain(channel_alert_str(job->alert, "headline"), plain, sizeof(plain));
	snprintf(subject, sizeof(subject), "%s%s",
		 strcmp(channel_alert_str(job->alert, "status"), "exercise") == 0 ? "【演练】" : "",
		 plain);
	channel_utf8_cut(subject, sizeof(subject) - 8); /* snprintf may have cut a character */
	email_words(b, subject);
	snprintf(line, sizeof(line), "\r\nMessage-ID: <%s.%d@%s>\r\n", job->alert_id, job->version,
		 m->domain);
	email_adds(b, line);
	if (nrefs > 0) {
		first = nrefs > EMAIL_REFS_MAX ? nrefs - EMAIL_REFS_MAX : 0;
		email_ref_id(email_ref(refs, nrefs - 1), m->domain, line, sizeof(line));
		email_adds(b, "In-Reply-To: ");
		email_adds(b, line);
		email_adds(b, "\r\nReferences:");
		for (size_t i = first; i < nrefs; i++) {
			email_ref_id(email_ref(refs, i), m->domain, line, sizeof(line));
			email_adds(b, i > first ? "\r\n " : " ");
			email_adds(b, line);
		}
		email_adds(b, "\r\n");
	}
	email_adds(b, "MIME-Version: 1.0\r\n"
		      "Auto-Submitted: auto-generated\r\n"
		      "Content-Type: multipart/alternative;\r\n boundary=\"");
	email_adds(b, boundary);
	email_adds(b, "\"\r\n");
}

static void email_part(struct email_buf *b, const char *boundary, const char *type,
		       const char *text)
{
	email_adds(b, "\r\n--");
	email_adds(b, boundary);
	email_adds(b, "\r\nContent-Type: ");
	email_adds(b, type);
	email_adds(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	email_base64(b, text, strlen(text));
}

/* The plain-text part email_request sends. */
static ga_err email_preview(struct channel *c, struct channel_job *job, char **out,
			    long *limit_chars, char *err, size_t errlen)
{
	*limit_chars = 0;
	return channel_text(c, job, EMAIL_LINK_PRE, EMAIL_LINK_POST, c->text_max, out, err, errlen);
}

static ga_err email_request(struct channel *c, struct channel_job *job, struct channel_request *req,
			    char *err, size_t errlen)
{
	struct email *m = c->priv;
	struct email_buf b = {0};
	char boundary[128], *raw = NULL, *text = NULL, *html = NULL;
	ga_err e;

	if ((e = channel_text(c, job, EMAIL_LINK_PRE, EMAIL_LINK_POST, c->text_max, &raw, err,
			      errlen)) != GA_OK ||
	    (e = channel_html(m->html, job, c->text_max, &html, err, errlen)) != GA_OK)
		goto out;
	if ((text = email_crlf(raw)) == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	/* '=' and '_' never start a base64 line: the boundary cannot occur */
	snprintf(boundary, sizeof(boundary), "=_geoalert_%.64s_%d", job->alert_id, job->version);
	email_headers(&b, c, m, job, boundary);
	email_adds(&b, "\r\nThis is a MIME message: text/plain and text/html.\r\n");
	email_part(&b, boundary, "text/plain", text);
	email_part(&b, boundary, "text/html", html);
	email_adds(&b, "\r\n--");
	email_adds(&b, boundary);
	email_adds(&b, "--\r\n");
	if (b.over) {
		e = b.nomem ? GA_ERR_NOMEM : GA_ERR_TOOBIG;
		snprintf(err, errlen, "building the message: %s", ga_strerror(e));
		goto out;
	}
	for (int i = 0; i < m->nrcpt; i++) {
		struct curl_slist *l = curl_slist_append(req->rcpt, m->rcpt[i]);
		if (l == NULL) {
			e = GA_ERR_NOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		req->rcpt = l;
	}
	snprintf(req->url, sizeof(req->url), "%s", c->ch->url);
	snprintf(req->mail_from, sizeof(req->mail_from), "%s", m->from);
	req->username = config_channel_get(c->ch, "username");
	req->password = req->username != NULL ? c->secret : NULL;
	req->starttls = m->starttls;
	req->ca_file = m->ca_file;
	req->body = b.p;
	req->bodylen = b.len;
	b.p = NULL;
out:
	free(b.p);
	free(raw);
	free(text);
	free(html);
	return e;
}

static enum channel_verdict email_answer(struct channel *c, struct channel_job *job, long status,
					 const char *body, size_t len, char *err, size_t errlen)
{
	if (status == 250)
		return CHANNEL_DONE;
	if (status == 0)
		snprintf(err, errlen, "SMTP: no answer");
	else
		snprintf(err, errlen, "SMTP %ld", status);
	return CHANNEL_RETRY;
}

static const char *const email_schemes[] = {"smtp://", "smtps://", NULL};

const struct channel_type channel_type_email = {
    .name = "email",
    .transport = CHANNEL_HTTP,
    .keys = email_keys,
    .template_file = "email.txt",
    .syntax = CHANNEL_ESC_TEXT,
    .text_max = EMAIL_TEXT_MAX,
    .needs_url = true,
    .schemes = email_schemes,
    .check = email_check,
    .open = email_open,
    .close = email_close,
    .request = email_request,
    .preview = email_preview,
    .answer = email_answer,
};
