/* delivery_send.c - one step of a delivery on the wire: the channel's
 * request as a libcurl transfer (an HTTP POST, or an SMTP message to its
 * recipients) on the worker's multi handle, or the mqtt channel's
 * publish; and what the answer's headers say (Retry-After). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery_internal.h"
#include "timeutil.h"

/* --- jobs ---------------------------------------------------------- */

void delivery_job_free(struct delivery_job *j)
{
	if (j == NULL)
		return;
	json_decref(j->alert);
	channel_request_cleanup(&j->req);
	free(j->answer);
	free(j);
}

static size_t delivery_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct delivery_job *j = arg;
	size_t n = size * nmemb, keep = n;
	char *p;

	if (j->answerlen + keep > CHANNEL_ANSWER_MAX)
		keep = CHANNEL_ANSWER_MAX - j->answerlen;
	if (keep > 0 && (p = realloc(j->answer, j->answerlen + keep + 1)) != NULL) {
		memcpy(p + j->answerlen, ptr, keep);
		j->answerlen += keep;
		p[j->answerlen] = '\0';
		j->answer = p;
	}
	return n; /* the rest is read and dropped */
}

static size_t delivery_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct delivery_job *j = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
		size_t a = sizeof(name) - 1, b = n;
		while (a < b && (ptr[a] == ' ' || ptr[a] == '\t'))
			a++;
		while (b > a && (ptr[b - 1] == '\r' || ptr[b - 1] == '\n' || ptr[b - 1] == ' '))
			b--;
		snprintf(j->retry_after, sizeof(j->retry_after), "%.*s", (int)(b - a), ptr + a);
	}
	return n;
}

/* Retry-After as a wall-clock time: seconds or an HTTP-date; 0 none. */
int64_t delivery_retry_after(const char *v, int64_t now_ms)
{
	char *end;
	long long s;
	time_t t;

	if (v[0] == '\0')
		return 0;
	if (v[0] >= '0' && v[0] <= '9') {
		s = strtoll(v, &end, 10);
		if (*end != '\0' || s < 0)
			return 0;
		if (s > DELIVERY_RETRY_AFTER_MAX_S)
			s = DELIVERY_RETRY_AFTER_MAX_S;
		return now_ms + s * 1000;
	}
	if ((t = curl_getdate(v, NULL)) < 0)
		return 0;
	if ((int64_t)t * 1000 > now_ms + DELIVERY_RETRY_AFTER_MAX_S * 1000LL)
		return now_ms + DELIVERY_RETRY_AFTER_MAX_S * 1000LL;
	return (int64_t)t * 1000;
}

/* smtp: hands curl the message, as much as it asks for at a time. */
static size_t delivery_on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct delivery_job *j = arg;
	size_t n = size * nmemb, left = j->req.bodylen - j->uploaded;

	if (n > left)
		n = left;
	memcpy(buf, j->req.body + j->uploaded, n);
	j->uploaded += n;
	return n;
}

/* Ends j now with verdict v (a failure to even start). */
void delivery_job_fail(struct delivery_job *j, enum channel_verdict v, const char *why)
{
	j->finished = true;
	j->verdict = v;
	snprintf(j->err, sizeof(j->err), "%s", why);
}

/* Sends j's current step: an HTTP or SMTP transfer, or an mqtt publish. */
void delivery_launch(struct delivery *d, struct delivery_job *j)
{
	const struct channel_limits *lim = channel_limits(j->dc->c);
	char err[CHANNEL_ERR_MAX] = "";
	CURL *e;

	j->cj.now_ms = time_now_ms();
	if (channel_transport(j->dc->c) == CHANNEL_MQTT) {
		if (channel_publish(j->dc->c, &j->cj, &j->mid, err, sizeof(err)) != GA_OK)
			delivery_job_fail(j, CHANNEL_RETRY, err);
		j->expires_mono = time_mono_ms() + lim->timeout_ms;
		return;
	}
	channel_request_cleanup(&j->req);
	free(j->answer);
	j->answer = NULL;
	j->answerlen = 0;
	j->retry_after[0] = '\0';
	if (channel_request(j->dc->c, &j->cj, &j->req, err, sizeof(err)) != GA_OK) {
		delivery_job_fail(j, CHANNEL_RETRY, err);
		return;
	}
	if ((e = curl_easy_init()) == NULL) {
		delivery_job_fail(j, CHANNEL_RETRY, "out of memory");
		return;
	}
	curl_easy_setopt(e, CURLOPT_URL, j->req.url);
	if (j->req.rcpt != NULL) {
		j->uploaded = 0;
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->req.mail_from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->req.rcpt);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, delivery_on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, j);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->req.bodylen);
		if (j->req.username != NULL) {
			curl_easy_setopt(e, CURLOPT_USERNAME, j->req.username);
			curl_easy_setopt(e, CURLOPT_PASSWORD,
					 j->req.password ? j->req.password : "");
		}
		if (j->req.starttls)
			curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		/* verification stays on (curl's default); only whom to trust */
		if (j->req.ca_file != NULL)
			curl_easy_setopt(e, CURLOPT_CAINFO, j->req.ca_file);
		/* A connection per message: curl would hand an smtp://
		 * connection left by one channel to another with the same
		 * relay and login whatever their starttls and ca_file (a
		 * message required in TLS sent in clear). */
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	} else {
		/* Python's and some portals' servers do not answer
		 * 100-continue. */
		j->req.headers = curl_slist_append(j->req.headers, "Expect:");
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->req.body ? j->req.body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->req.bodylen);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->req.headers);
		curl_easy_setopt(e, CURLOPT_USERAGENT, "geoalert/" GA_VERSION);
	}
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)lim->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, delivery_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, delivery_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	j->curl_err[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err);
	if (curl_multi_add_handle(d->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		delivery_job_fail(j, CHANNEL_RETRY, "cannot start the transfer");
		return;
	}
	j->easy = e;
}

void delivery_job_unlink(struct delivery *d, struct delivery_job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(d->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
}
