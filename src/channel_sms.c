/* channel_sms.c - an HTTP SMS gateway in the style of Aliyun's and
 * Tencent's: the alert goes as a template message (the gateway holds the
 * approved wording under template_code; we send its parameters) to every
 * number of the alert's county, batch_size numbers a request:
 *
 *   POST {url}  Authorization: Bearer {token_file}
 *   {"template_code": "...", "sign_name": "...",
 *    "params": {"level": "大型", "place": "江苏省南京市浦口区", ...},
 *    "phones": ["+8613800000000", ...],
 *    "out_id": "{alert_id}:{version}:{batch}"}
 *
 * Batch k (1-based) is step k - 1 of the delivery: an accepted batch
 * answers CHANNEL_NEXT until the last, which is CHANNEL_DONE. The numbers
 * are sorted and unique, and the worker's scratch, "next=N;last=H" (where
 * the next batch starts and a hash of the last number sent, so that no
 * number is stored in the ledger), says where to go on, even when the
 * files changed between a crash and the retry. A batch sent again (the
 * gateway took it, we died before recording that) has the same out_id,
 * and the gateway's duplicate answer counts as accepted.
 *
 * The numbers come from recipients_dir (recipients.h): the alert's
 * county's file, its city's and its province's, each number once. They
 * never reach the log or an error text (a gateway's message is masked).
 *
 * A risk warning (riskwarning_deliver.h) goes to the files of its
 * counties (all at a public level: the worker's message has no other),
 * their cities' and provinces', each number once, with the text of the
 * most specific file it is in (a county's before a city's before a
 * province's; of two counties', the more severe): admin_name (and
 * levels) names that file's counties at their levels, fitted to
 * param_max_chars (riskwarning_deliver_names), level_zh its most severe
 * level. The numbers are sorted by that file, then by number; a batch
 * never mixes two files, and the scratch works as above. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel_internal.h"
#include "recipients.h"
#include "riskwarning.h"
#include "riskwarning_deliver.h"
#include "text.h"
#include "timeutil.h"

#define SMS_BATCH_DEFAULT 100
#define SMS_BATCH_MAX 1000
#define SMS_PARAMS_MAX 16
#define SMS_PARAM_NAME_MAX 32
#define SMS_PARAM_CHARS_DEFAULT 35 /* what Aliyun's templates take per variable */
#define SMS_PARAM_CHARS_MAX 500
#define SMS_PENDING CHANNEL_CONCURRENCY_MAX
#define SMS_ELLIPSIS "…"
/* files of a risk warning: 512 counties, their cities, provinces */
#define SMS_RW_GROUPS_MAX 1536
#define SMS_RW_NUMBERS_MAX 2000000 /* numbers of one risk warning's files, repeats included */
#define SMS_RW_PLAN_TTL_MS 60000   /* a risk warning's list is read again after this */
#define SMS_RW_PLANS 4		   /* risk warnings' lists kept: deliveries at once */

static const char *const sms_keys[] = {
    "template_code", "sign_name",	"params", "recipients_dir",
    "batch_size",    "param_max_chars", NULL};
static const char *const sms_ok_dup[] = {"DUPLICATE_OUT_ID", "isv.DUPLICATE_OUT_ID", NULL};
static const char *const sms_rate[] = {"isv.BUSINESS_LIMIT_CONTROL", "LimitExceeded", "RATE_LIMIT",
				       "Throttling", NULL};

struct sms_param {
	char name[SMS_PARAM_NAME_MAX + 1];
	enum channel_var var; /* one of the channel templates' variables */
};

/* A request in flight: its batch's last number, whether more follow. */
struct sms_pending {
	bool used;
	char key[CHANNEL_SCRATCH_MAX];
	int step;
	char next[64]; /* the scratch once it is accepted */
	bool more;
};

/* A risk warning's recipients: the numbers grouped by the file whose
 * text they get (see the top). */
struct sms_rw_group {
	char file[7];
	int level;	 /* the most severe of its counties */
	size_t from, to; /* its numbers in the plan */
};

struct sms_rw_plan {
	char key[CHANNEL_SCRATCH_MAX]; /* the delivery's idem_key; "" none */
	int64_t built_mono;
	recipients_phone *phones;
	size_t n;
	struct sms_rw_group *groups;
	int ngroups;
};

struct sms {
	struct sms_rw_plan plans[SMS_RW_PLANS];
	const char *template_code, *sign_name, *dir;
	int batch, param_chars;
	struct sms_param params[SMS_PARAMS_MAX];
	int nparams;
	struct recipients *rcpt;
	struct sms_pending pending[SMS_PENDING];
	int next_pending;
};

static int sms_key_line(const struct config_channel *ch, const char *key)
{
	for (int i = 0; i < ch->nkv; i++)
		if (strcmp(ch->kv[i].key, key) == 0)
			return ch->kv[i].line;
	return ch->line;
}

/* --- opening -------------------------------------------------------- */

/* Parses "name=variable,name=variable" into s->params. */
static ga_err sms_parse_params(struct sms *s, const char *spec, char *why, size_t whylen)
{
	const char *p = spec;

	while (*p) {
		const char *item = p, *eq, *end;
		size_t nl;
		int v;
		p += strcspn(p, ",");
		end = p;
		if (*p == ',')
			p++;
		while (item < end && (*item == ' ' || *item == '\t'))
			item++;
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (item == end)
			continue;
		eq = memchr(item, '=', (size_t)(end - item));
		if (eq == NULL) {
			snprintf(why, whylen, "\"%.*s\" is not name=variable", (int)(end - item),
				 item);
			return GA_ERR_CONFIG;
		}
		nl = (size_t)(eq - item);
		while (nl > 0 && (item[nl - 1] == ' ' || item[nl - 1] == '\t'))
			nl--;
		for (eq++; eq < end && (*eq == ' ' || *eq == '\t'); eq++)
			;
		if (nl == 0 || nl > SMS_PARAM_NAME_MAX ||
		    strspn(item,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") <
			nl) {
			snprintf(why, whylen, "\"%.*s\": a name is 1 to %d of A-Z a-z 0-9 _",
				 (int)nl, item, SMS_PARAM_NAME_MAX);
			return GA_ERR_CONFIG;
		}
		if ((v = channel_var_lookup(eq, (size_t)(end - eq))) < 0) {
			snprintf(why, whylen,
				 "\"%.*s\" is not a value of the channel templates "
				 "(alerts/templates/README.md)",
				 (int)(end - eq), eq);
			return GA_ERR_CONFIG;
		}
		for (int i = 0; i < s->nparams; i++)
			if (strlen(s->params[i].name) == nl &&
			    memcmp(s->params[i].name, item, nl) == 0) {
				snprintf(why, whylen, "\"%.*s\" twice", (int)nl, item);
				return GA_ERR_CONFIG;
			}
		if (s->nparams == SMS_PARAMS_MAX) {
			snprintf(why, whylen, "more than %d parameters", SMS_PARAMS_MAX);
			return GA_ERR_CONFIG;
		}
		memcpy(s->params[s->nparams].name, item, nl);
		s->params[s->nparams].name[nl] = '\0';
		s->params[s->nparams++].var = (enum channel_var)v;
	}
	return GA_OK;
}

/* Reads key as an integer in [lo, hi] (def when absent). */
static ga_err sms_int(const struct channel *c, const char *key, long lo, long hi, long def,
		      int *out, char *err, size_t errlen)
{
	const char *v = config_channel_get(c->ch, key);
	char *end;
	long n = def;

	if (v != NULL) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
			snprintf(err, errlen,
				 "%s:%d: [channel.%s] %s: \"%s\" must be an integer %ld..%ld",
				 c->cfg->path, sms_key_line(c->ch, key), c->ch->name, key, v, lo,
				 hi);
			return GA_ERR_CONFIG;
		}
	}
	*out = (int)n;
	return GA_OK;
}

static ga_err sms_open(struct channel *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	const struct config_channel *ch = c->ch;
	static const char *const required[] = {"template_code", "sign_name", "recipients_dir",
					       NULL};
	const char *params = config_channel_get(ch, "params");
	char why[CHANNEL_ERR_MAX], derr[CHANNEL_ERR_MAX + CONFIG_PATH_MAX];
	struct sms *s;
	ga_err e;

	for (int i = 0; required[i] != NULL; i++) {
		const char *v = config_channel_get(ch, required[i]);
		if (v == NULL || v[0] == '\0') {
			snprintf(err, errlen, "%s:%d: [channel.%s]: %s must be set for type sms",
				 cfg->path, ch->line, ch->name, required[i]);
			return GA_ERR_CONFIG;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GA_ERR_NOMEM;
	c->priv = s;
	s->template_code = config_channel_get(ch, "template_code");
	s->sign_name = config_channel_get(ch, "sign_name");
	s->dir = config_channel_get(ch, "recipients_dir");
	if ((e = sms_int(c, "batch_size", 1, SMS_BATCH_MAX, SMS_BATCH_DEFAULT, &s->batch, err,
			 errlen)) != GA_OK ||
	    (e = sms_int(c, "param_max_chars", 4, SMS_PARAM_CHARS_MAX, SMS_PARAM_CHARS_DEFAULT,
			 &s->param_chars, err, errlen)) != GA_OK)
		return e;
	if (params != NULL && (e = sms_parse_params(s, params, why, sizeof(why))) != GA_OK) {
		snprintf(err, errlen, "%s:%d: [channel.%s] params: %s", cfg->path,
			 sms_key_line(ch, "params"), ch->name, why);
		return e;
	}
	for (int i = 0; i < s->nparams; i++) {
		/* a link cut short is no link: "url" must fit whole */
		size_t len = strlen(cfg->http.public_base_url) + strlen("/alerts/") +
			     strlen(cfg->alerts.incident_prefix) + strlen("-20261126-0003");
		if (s->params[i].var == CV_URL && len > (size_t)s->param_chars) {
			snprintf(err, errlen,
				 "%s:%d: [channel.%s] params: %s=url: the alert links "
				 "(%s/alerts/...) have about %zu characters, more than "
				 "param_max_chars (%d)",
				 cfg->path, sms_key_line(ch, "params"), ch->name, s->params[i].name,
				 cfg->http.public_base_url, len, s->param_chars);
			return GA_ERR_CONFIG;
		}
	}
	if ((e = recipients_open(s->dir, &s->rcpt, derr, sizeof(derr))) != GA_OK) {
		snprintf(err, errlen, "%s:%d: [channel.%s] recipients_dir: %s", cfg->path,
			 sms_key_line(ch, "recipients_dir"), ch->name, derr);
		return e;
	}
	return GA_OK;
}

static void sms_close(struct channel *c)
{
	struct sms *s = c->priv;

	if (s == NULL)
		return;
	recipients_free(s->rcpt);
	for (int i = 0; i < SMS_RW_PLANS; i++) {
		free(s->plans[i].phones);
		free(s->plans[i].groups);
	}
	explicit_bzero(s, sizeof(*s));
	free(s);
	c->priv = NULL;
}

/* --- requests ------------------------------------------------------- */

/* The params object: each value at most param_chars characters, cut on
 * a character boundary with "…"; the link and codes are never cut. */
static ga_err sms_params_of(const struct channel *c, const struct channel_values *cvp, json_t **out,
			    char *err, size_t errlen)
{
	const struct sms *s = c->priv;
	const struct channel_values cv = *cvp;
	json_t *o = json_object();
	char *cut = NULL;

	if (o == NULL)
		return GA_ERR_NOMEM;
	for (int i = 0; i < s->nparams; i++) {
		enum channel_var v = s->params[i].var;
		const char *val = cv.v[v] != NULL ? cv.v[v] : ""; /* a flag not set */
		size_t nc = text_chars(val);
		if (nc > (size_t)s->param_chars) {
			const char *p = val;
			size_t keep = 0;
			if (v == CV_URL || v == CV_ALERT_ID || v == CV_ADMIN_CODE ||
			    v == CV_VERSION) {
				snprintf(err, errlen,
					 "parameter %s (%s) has %zu characters, the gateway takes "
					 "%d (param_max_chars)",
					 s->params[i].name, channel_var_names[v], nc,
					 s->param_chars);
				json_decref(o);
				return GA_ERR_TOOBIG;
			}
			/* param_chars - 1 characters, then "…" */
			for (size_t seen = 0; *p; p++)
				if (((unsigned char)*p & 0xC0) != 0x80 &&
				    seen++ == (size_t)s->param_chars - 1)
					break;
			keep = (size_t)(p - val);
			if ((cut = malloc(keep + sizeof(SMS_ELLIPSIS))) == NULL) {
				json_decref(o);
				return GA_ERR_NOMEM;
			}
			memcpy(cut, val, keep);
			memcpy(cut + keep, SMS_ELLIPSIS, sizeof(SMS_ELLIPSIS));
			val = cut;
		}
		if (json_object_set_new(o, s->params[i].name, json_string(val)) != 0) {
			free(cut);
			json_decref(o);
			snprintf(err, errlen, "parameter %s is not UTF-8", s->params[i].name);
			return GA_ERR_INVAL;
		}
		free(cut);
		cut = NULL;
	}
	*out = o;
	return GA_OK;
}

/* sms_params_of the job's values as plain text: no link but geoalert's
 * own, no control character (channel_escape.c). */
static ga_err sms_params(const struct channel *c, const struct channel_job *job, json_t **out,
			 char *err, size_t errlen)
{
	struct channel_values cv;
	ga_err e;

	if ((e = channel_values_fill(job, CHANNEL_ESC_TEXT, &cv)) == GA_OK)
		e = sms_params_of(c, &cv, out, err, errlen);
	channel_values_cleanup(&cv);
	return e;
}

/* The parameters sms_request sends, one "name: value" a line; the limit
 * (param_max_chars) is each value's. The gateway's own template makes
 * the message of them. */
static ga_err sms_preview(struct channel *c, struct channel_job *job, char **out, long *limit_chars,
			  char *err, size_t errlen)
{
	const struct sms *s = c->priv;
	json_t *params = NULL;
	size_t len = 1;
	char *text;
	ga_err e;

	*limit_chars = s->param_chars;
	if ((e = sms_params(c, job, &params, err, errlen)) != GA_OK)
		return e;
	for (int i = 0; i < s->nparams; i++)
		len += strlen(s->params[i].name) + 3 +
		       strlen(json_string_value(json_object_get(params, s->params[i].name)));
	if ((text = malloc(len)) == NULL) {
		json_decref(params);
		return GA_ERR_NOMEM;
	}
	text[0] = '\0';
	for (int i = 0, n = 0; i < s->nparams; i++)
		n += snprintf(text + n, len - (size_t)n, "%s%s: %s", i ? "\n" : "",
			      s->params[i].name,
			      json_string_value(json_object_get(params, s->params[i].name)));
	json_decref(params);
	*out = text;
	return GA_OK;
}

/* FNV-1a of a number: the scratch names the last number sent by this,
 * not by the number itself. */
static unsigned long long sms_hash(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The first index of l after the batches done. The scratch of the last
 * accepted batch, "next=N;last=H", says: start at N, where the number
 * before (hash H) was the last sent. When the list changed since and that
 * number moved, start after wherever it is now; when it is gone, at N. No
 * scratch (step 0, or a worker that does not keep it): step * batch. */
static size_t sms_start(const struct sms *s, const struct recipients_list *l,
			const struct channel_job *job)
{
	unsigned long long h;
	size_t next;

	if (job->step == 0)
		return 0;
	if (sscanf(job->scratch, "next=%zu;last=%llx", &next, &h) != 2)
		return (size_t)job->step * (size_t)s->batch;
	if (next >= 1 && next <= l->n && sms_hash(l->phones[next - 1]) == h)
		return next;
	for (size_t i = 0; i < l->n; i++)
		if (sms_hash(l->phones[i]) == h)
			return i + 1;
	return next < l->n ? next : l->n;
}

static struct sms_pending *sms_pending_find(struct sms *s, const struct channel_job *job)
{
	for (int i = 0; i < SMS_PENDING; i++)
		if (s->pending[i].used && s->pending[i].step == job->step &&
		    strcmp(s->pending[i].key, job->idem_key) == 0)
			return &s->pending[i];
	return NULL;
}

static void sms_pending_put(struct sms *s, const struct channel_job *job, size_t next,
			    const char *last, bool more)
{
	struct sms_pending *p = sms_pending_find(s, job);

	if (p == NULL) {
		p = &s->pending[s->next_pending];
		s->next_pending = (s->next_pending + 1) % SMS_PENDING;
	}
	p->used = true;
	snprintf(p->key, sizeof(p->key), "%s", job->idem_key);
	p->step = job->step;
	snprintf(p->next, sizeof(p->next), "next=%zu;last=%016llx", next, sms_hash(last));
	p->more = more;
}

/* Where job's current batch starts and ends in l; GA_ERR_INVAL with err
 * when there is nothing to send. */
static ga_err sms_batch(struct channel *c, const struct channel_job *job, struct recipients_list *l,
			size_t *from, size_t *to, char *err, size_t errlen)
{
	struct sms *s = c->priv;
	const char *code = channel_alert_str(json_object_get(job->alert, "area"), "admin_code");
	size_t start, batches;
	ga_err e;

	if (strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		snprintf(err, errlen, "the alert has no 6-digit area.admin_code");
		return GA_ERR_INVAL;
	}
	if ((e = recipients_get(s->rcpt, code, l, err, errlen)) != GA_OK)
		return e;
	if (l->n == 0) {
		snprintf(err, errlen,
			 "no recipients for %s in %s (%s.txt, %.4s00.txt, %.2s0000.txt)", code,
			 s->dir, code, code, code);
		return GA_ERR_INVAL;
	}
	start = sms_start(s, l, job);
	if (start >= l->n) {
		snprintf(err, errlen,
			 "batch %d: no numbers left after the batches sent (the list of %s "
			 "shrank since)",
			 job->step + 1, code);
		return GA_ERR_INVAL;
	}
	batches = (l->n - start + (size_t)s->batch - 1) / (size_t)s->batch;
	if ((size_t)job->step + batches > CHANNEL_STEPS_MAX) {
		snprintf(err, errlen, "%zu numbers for %s need more than %d batches of %d", l->n,
			 code, CHANNEL_STEPS_MAX, s->batch);
		return GA_ERR_TOOBIG;
	}
	*from = start;
	*to = start + (size_t)s->batch < l->n ? start + (size_t)s->batch : l->n;
	return GA_OK;
}

/* --- risk warnings -------------------------------------------------- */

static bool sms_is_rw(const struct channel_job *job)
{
	return json_is_true(json_object_get(job->alert, "riskwarning"));
}

struct sms_rw_entry {
	recipients_phone p;
	int g;
};

static int sms_rw_by_phone(const void *a, const void *b)
{
	const struct sms_rw_entry *x = a, *y = b;
	int c = strcmp(x->p, y->p);
	return c != 0 ? c : (x->g > y->g) - (x->g < y->g);
}

static int sms_rw_by_group(const void *a, const void *b)
{
	const struct sms_rw_entry *x = a, *y = b;
	return x->g != y->g ? (x->g > y->g) - (x->g < y->g) : strcmp(x->p, y->p);
}

/* Whether county code is under file (its own, its city's, its province's). */
static bool sms_rw_under(const char *file, const char *code)
{
	if (strcmp(file + 2, "0000") == 0)
		return strncmp(file, code, 2) == 0;
	if (strcmp(file + 4, "00") == 0)
		return strncmp(file, code, 4) == 0;
	return strcmp(file, code) == 0;
}

/* The files of the job's counties, most specific first: each county's
 * (most severe first, as the product lists them), then their cities',
 * then their provinces'. */
static ga_err sms_rw_files(const json_t *counties, struct sms_rw_group *g, int *ng, char *err,
			   size_t errlen)
{
	for (int pass = 0; pass < 3; pass++) {
		size_t i;
		json_t *v;
		json_array_foreach(counties, i, v)
		{
			const char *code = json_string_value(json_object_get(v, "admin_code"));
			char file[7];
			int k;
			if (code == NULL || strlen(code) != 6 || strspn(code, "0123456789") != 6)
				continue;
			snprintf(file, sizeof(file),
				 pass == 0   ? "%.6s"
				 : pass == 1 ? "%.4s00"
					     : "%.2s0000",
				 code);
			for (k = 0; k < *ng && strcmp(g[k].file, file) != 0; k++)
				;
			if (k < *ng)
				continue;
			if (*ng == SMS_RW_GROUPS_MAX) {
				snprintf(err, errlen, "more than %d recipient files",
					 SMS_RW_GROUPS_MAX);
				return GA_ERR_TOOBIG;
			}
			memcpy(g[*ng].file, file, sizeof(file));
			g[*ng].level = riskwarning_level_from_name(
			    json_string_value(json_object_get(v, "level")));
			(*ng)++;
		}
	}
	return GA_OK;
}

/* Builds p for job: every number of the files once, in the group of the
 * first file it is in, sorted by group then number. */
static ga_err sms_rw_build(struct sms *s, struct sms_rw_plan *p, const struct channel_job *job,
			   char *err, size_t errlen)
{
	struct sms_rw_entry *all = NULL, *grown;
	size_t n = 0, cap = 0, u = 0;
	ga_err e;

	free(p->phones);
	free(p->groups);
	memset(p, 0, sizeof(*p));
	if ((p->groups = calloc(SMS_RW_GROUPS_MAX, sizeof(*p->groups))) == NULL)
		return GA_ERR_NOMEM;
	if ((e = sms_rw_files(json_object_get(job->alert, "counties"), p->groups, &p->ngroups, err,
			      errlen)) != GA_OK)
		goto out;
	for (int g = 0; g < p->ngroups; g++) {
		recipients_phone *ph = NULL;
		size_t np = 0;
		if ((e = recipients_file(s->rcpt, p->groups[g].file, &ph, &np, err, errlen)) !=
		    GA_OK)
			goto out;
		if (n + np > SMS_RW_NUMBERS_MAX) {
			free(ph);
			snprintf(err, errlen, "more than %d numbers in the product's files",
				 SMS_RW_NUMBERS_MAX);
			e = GA_ERR_TOOBIG;
			goto out;
		}
		if (n + np > cap) {
			size_t nc = cap ? cap : 4096;
			while (nc < n + np)
				nc *= 2;
			if ((grown = realloc(all, nc * sizeof(*all))) == NULL) {
				free(ph);
				e = GA_ERR_NOMEM;
				goto out;
			}
			all = grown;
			cap = nc;
		}
		for (size_t i = 0; i < np; i++, n++) {
			memcpy(all[n].p, ph[i], sizeof(all[n].p));
			all[n].g = g;
		}
		free(ph);
	}
	if (n > 0) {
		qsort(all, n, sizeof(*all), sms_rw_by_phone);
		for (size_t i = 0; i < n; i++) /* the first group of each number */
			if (u == 0 || strcmp(all[i].p, all[u - 1].p) != 0)
				all[u++] = all[i];
		qsort(all, u, sizeof(*all), sms_rw_by_group);
		if ((p->phones = malloc(u * sizeof(*p->phones))) == NULL) {
			e = GA_ERR_NOMEM;
			goto out;
		}
	}
	for (int g = 0; g < p->ngroups; g++)
		p->groups[g].from = p->groups[g].to = 0;
	for (size_t i = 0; i < u; i++) {
		struct sms_rw_group *g = &p->groups[all[i].g];
		memcpy(p->phones[i], all[i].p, sizeof(p->phones[i]));
		if (g->to == 0)
			g->from = i;
		g->to = i + 1;
	}
	p->n = u;
	snprintf(p->key, sizeof(p->key), "%s", job->idem_key);
	p->built_mono = time_mono_ms();
	e = GA_OK;
out:
	if (e != GA_OK) {
		free(p->phones);
		free(p->groups);
		memset(p, 0, sizeof(*p));
	}
	if (all != NULL)
		explicit_bzero(all, cap * sizeof(*all));
	free(all);
	return e;
}

/* The batch of a risk warning's job: [*from, *to) of the plan, within
 * one file's group, and its params. */
static ga_err sms_rw_batch(struct channel *c, const struct channel_job *job,
			   struct recipients_list *l, size_t *from, size_t *to, json_t **params,
			   char *err, size_t errlen)
{
	struct sms *s = c->priv;
	struct sms_rw_plan *p = NULL;
	struct riskwarning_deliver_county members[512];
	char names[RISKWARNING_DELIVER_NAMES_MAX];
	const struct sms_rw_group *grp = NULL;
	struct channel_values cv;
	size_t start, batches = 0, nm = 0, i;
	json_t *v;
	ga_err e;

	/* the job's list, else the oldest slot (built_mono 0: a free one) */
	for (int k = 0; k < SMS_RW_PLANS; k++) {
		struct sms_rw_plan *x = &s->plans[k];
		if (x->key[0] != '\0' && strcmp(x->key, job->idem_key) == 0) {
			p = x;
			break;
		}
		if (p == NULL || x->built_mono < p->built_mono)
			p = x;
	}
	if (strcmp(p->key, job->idem_key) != 0 ||
	    time_mono_ms() - p->built_mono > SMS_RW_PLAN_TTL_MS)
		if ((e = sms_rw_build(s, p, job, err, errlen)) != GA_OK)
			return e;
	l->phones = (const recipients_phone *)p->phones;
	l->n = p->n;
	if (l->n == 0) {
		snprintf(err, errlen, "no recipients for any county of the risk warning in %s",
			 s->dir);
		return GA_ERR_INVAL;
	}
	start = sms_start(s, l, job);
	if (start >= l->n) {
		snprintf(err, errlen, "batch %d: no numbers left after the batches sent",
			 job->step + 1);
		return GA_ERR_INVAL;
	}
	for (int g = 0; g < p->ngroups; g++) {
		const struct sms_rw_group *x = &p->groups[g];
		if (x->to <= start || x->to == x->from)
			continue;
		if (grp == NULL && x->from <= start)
			grp = x;
		size_t b = x->from > start ? x->from : start;
		batches += (x->to - b + (size_t)s->batch - 1) / (size_t)s->batch;
	}
	if (grp == NULL)
		return GA_ERR_INVAL; /* cannot happen: start is inside a group */
	if ((size_t)job->step + batches > CHANNEL_STEPS_MAX) {
		snprintf(err, errlen, "%zu numbers need more than %d batches of %d", l->n,
			 CHANNEL_STEPS_MAX, s->batch);
		return GA_ERR_TOOBIG;
	}
	*from = start;
	*to = start + (size_t)s->batch < grp->to ? start + (size_t)s->batch : grp->to;
	/* the file's counties at their levels, most severe first */
	json_array_foreach(json_object_get(job->alert, "counties"), i, v)
	{
		const char *code = json_string_value(json_object_get(v, "admin_code"));
		if (code == NULL || !sms_rw_under(grp->file, code) ||
		    nm == sizeof(members) / sizeof(members[0]))
			continue;
		members[nm].name = json_string_value(json_object_get(v, "name"));
		members[nm++].level =
		    riskwarning_level_from_name(json_string_value(json_object_get(v, "level")));
	}
	riskwarning_deliver_names(members, nm, (size_t)s->param_chars, names, sizeof(names));
	if ((e = channel_values_fill(job, CHANNEL_ESC_TEXT, &cv)) == GA_OK) {
		const char *lz = riskwarning_level_zh((enum riskwarning_level)grp->level);
		cv.v[CV_ADMIN_NAME] = names;
		cv.v[CV_LEVELS] = names;
		cv.v[CV_LEVEL_ZH] = lz ? lz : "";
		/* the warning's own page when its link fits, else the front
		 * page, which lists the current warnings */
		if (text_chars(job->public_url) > (size_t)s->param_chars)
			cv.v[CV_URL] = c->cfg->http.public_base_url;
		e = sms_params_of(c, &cv, params, err, errlen);
	}
	channel_values_cleanup(&cv);
	return e;
}

static ga_err sms_request(struct channel *c, struct channel_job *job, struct channel_request *req,
			  char *err, size_t errlen)
{
	struct sms *s = c->priv;
	struct recipients_list l;
	char out_id[CHANNEL_SCRATCH_MAX + 16], bearer[CHANNEL_SECRET_MAX + 16];
	json_t *body = NULL, *params = NULL, *phones = NULL;
	size_t from, to;
	ga_err e;

	snprintf(req->url, sizeof(req->url), "%s", c->ch->url);
	if (sms_is_rw(job))
		e = sms_rw_batch(c, job, &l, &from, &to, &params, err, errlen);
	else if ((e = sms_batch(c, job, &l, &from, &to, err, errlen)) == GA_OK)
		e = sms_params(c, job, &params, err, errlen);
	if (e != GA_OK)
		return e;
	e = GA_ERR_NOMEM;
	if ((phones = json_array()) == NULL)
		goto out;
	for (size_t i = from; i < to; i++)
		if (json_array_append_new(phones, json_string(l.phones[i])) != 0)
			goto out;
	snprintf(out_id, sizeof(out_id), "%s:%d", job->idem_key, job->step + 1);
	body =
	    json_pack("{s:s, s:s, s:O, s:O, s:s}", "template_code", s->template_code, "sign_name",
		      s->sign_name, "params", params, "phones", phones, "out_id", out_id);
	if (body == NULL)
		goto out;
	snprintf(bearer, sizeof(bearer), "Bearer %s", c->token);
	if ((e = channel_json_request(req, body, 0)) != GA_OK ||
	    (e = channel_header(req, "Authorization", bearer)) != GA_OK)
		goto out;
	sms_pending_put(s, job, to, l.phones[to - 1], to < l.n);
out:
	if (e != GA_OK)
		snprintf(err, errlen, "building batch %d: %s", job->step + 1, ga_strerror(e));
	explicit_bzero(bearer, sizeof(bearer));
	json_decref(body);
	json_decref(phones);
	json_decref(params);
	return e;
}

/* Copies the gateway's message, numbers (5 digits or more) masked: it
 * may name a recipient. */
static void sms_mask(const char *msg, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = msg; *p && o + 4 < len;) {
		size_t d = strspn(p, "0123456789");
		if (d >= 5) { /* the shortest number a file takes */
			memcpy(out + o, "***", 3);
			o += 3;
			p += d;
		} else if (d > 0) {
			memcpy(out + o, p, d < len - o - 1 ? d : len - o - 1);
			o += d < len - o - 1 ? d : len - o - 1;
			p += d;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static bool sms_code_in(const char *code, const char *const *list)
{
	for (; code != NULL && *list != NULL; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

static enum channel_verdict sms_answer(struct channel *c, struct channel_job *job, long status,
				       const char *body, size_t len, char *err, size_t errlen)
{
	struct sms *s = c->priv;
	json_t *j = json_loadb(body, len, 0, NULL), *code = json_object_get(j, "code");
	const char *cs = json_string_value(code);
	const char *msg = json_string_value(json_object_get(j, "message"));
	char masked[160], cbuf[32];
	enum channel_verdict v = CHANNEL_RETRY;
	struct sms_pending *p;
	bool ok = (status == 200 && ((cs != NULL && strcasecmp(cs, "OK") == 0) ||
				     (json_is_integer(code) && json_integer_value(code) == 0))) ||
		  ((status == 200 || status == 409) && sms_code_in(cs, sms_ok_dup));

	if (!ok) {
		if (json_is_integer(code))
			snprintf(cbuf, sizeof(cbuf), "%lld", (long long)json_integer_value(code));
		sms_mask(msg ? msg
			     : (json_string_value(json_object_get(j, "msg"))
				    ? json_string_value(json_object_get(j, "msg"))
				    : ""),
			 masked, sizeof(masked));
		snprintf(err, errlen, "batch %d: HTTP %ld, code %s: %s", job->step + 1, status,
			 cs ? cs : (json_is_integer(code) ? cbuf : "none"), masked);
		v = status == 429 || sms_code_in(cs, sms_rate) ? CHANNEL_RATE : CHANNEL_RETRY;
		goto out;
	}
	if ((p = sms_pending_find(s, job)) == NULL) {
		/* not ours in flight (cannot happen with one worker): send the
		 * batch again; the gateway knows its out_id */
		snprintf(err, errlen, "batch %d: answer to no request in flight", job->step + 1);
		goto out;
	}
	p->used = false;
	if (!p->more) {
		v = CHANNEL_DONE;
		goto out;
	}
	snprintf(job->scratch, sizeof(job->scratch), "%s", p->next);
	v = CHANNEL_NEXT;
out:
	json_decref(j);
	return v;
}

const struct channel_type channel_type_sms = {
    .name = "sms",
    .transport = CHANNEL_HTTP,
    .keys = sms_keys,
    .needs_url = true,
    .needs_token = true,
    .open = sms_open,
    .close = sms_close,
    .request = sms_request,
    .preview = sms_preview,
    .answer = sms_answer,
};
