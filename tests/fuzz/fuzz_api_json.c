/* fuzz_api_json.c - libFuzzer harness for the officer API's JSON bodies
 * (POST /api/v1/alerts/{id}/confirm, /reject, /cancel; spec §8): what a
 * logged-in officer's browser, or whoever holds a token, sends.
 *
 * Each input is a request body. It goes the way http_api.c takes it:
 *   1. http_body_json (http_util.c): json_loadb with
 *      JSON_REJECT_DUPLICATES, must be an object (empty allowed, as for
 *      confirm);
 *   2. "edits" (an object) to workflow_confirm against a real SQLite store
 *      holding one pending extra_large draft. The harness's context asks
 *      for INT_MAX confirmations of an extra_large draft (the config
 *      allows 1 or 2; the workflow takes the number as given), and each
 *      input confirms as a new officer: checked edits are applied to the
 *      draft's fixed-size text fields (workflow_edits_check, then
 *      workflow_edits_apply's memcpy) and stored, and the draft stays
 *      pending for the next input;
 *   3. "reason" (a string) to workflow_reject_draft with a draft id that
 *      is not pending: the reason check runs, then the conflict rolls the
 *      transaction back and nothing changes.
 * (http_api.c's own key-list check, a static function, is not reached.)
 *
 * Invariants: a refused body has a message; accepted edits read back from
 * the store equal what was sent; a confirmation never publishes (two
 * needed); a reject never succeeds.
 *
 * The store lives in a temp directory (under /dev/shm when there is one:
 * every confirmation is a synchronous=FULL commit). Built and run by
 * tests/run.sh; seeds in tests/fuzz/corpus/api_json/. */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_internal.h"
#include "store.h"
#include "workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MSG_MAX 512
#define FUZZ_NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

static struct store *fuzz_store;
static struct workflow_ctx fuzz_ctx;
static char fuzz_alert[INCIDENT_ID_MAX];
static int64_t fuzz_draft_id;
static uint64_t fuzz_officer_seq;
static struct store_draft *fuzz_draft;
static char fuzz_dir[64];

/* One incident and its pending extra_large draft. */
static void fuzz_setup_store(void)
{
	char path[128], err[FUZZ_MSG_MAX];
	struct store_options opt = {0};
	struct incident inc;
	struct store_draft *d;

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_api_json_XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.db", fuzz_dir);
	opt.path = path;
	if (store_open(&opt, &fuzz_store, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "fuzz_api_json: %s\n", err);
		abort();
	}
	memset(&inc, 0, sizeof(inc));
	inc.hazard_type = HAZARD_LANDSLIDE;
	inc.lon = 118.78;
	inc.lat = 32.04;
	snprintf(inc.admin_code, sizeof(inc.admin_code), "320102");
	inc.first_observed_ms = inc.last_observed_ms = FUZZ_NOW_MS;
	inc.created_ms = inc.updated_ms = FUZZ_NOW_MS;
	inc.level = LEVEL_EXTRA_LARGE;
	inc.nreports = 1;
	inc.open = true;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		abort();
	if (store_begin(fuzz_store) != GA_OK ||
	    store_incident_insert(fuzz_store, &inc, "FZ", 480) != GA_OK)
		abort();
	snprintf(d->alert_id, sizeof(d->alert_id), "%s", inc.id);
	snprintf(d->msg_type, sizeof(d->msg_type), "alert");
	snprintf(d->state, sizeof(d->state), "pending");
	d->level = LEVEL_EXTRA_LARGE;
	d->prev_level = -1;
	d->kind = KIND_DANGER;
	d->hazard_type = HAZARD_LANDSLIDE;
	snprintf(d->headline, sizeof(d->headline), "headline");
	snprintf(d->situation, sizeof(d->situation), "situation");
	snprintf(d->admin_code, sizeof(d->admin_code), "320102");
	d->lon = inc.lon;
	d->lat = inc.lat;
	d->observed_ms = d->created_ms = FUZZ_NOW_MS;
	snprintf(d->refs, sizeof(d->refs), "[]");
	if (store_draft_insert(fuzz_store, d) != GA_OK || store_commit(fuzz_store) != GA_OK)
		abort();
	snprintf(fuzz_alert, sizeof(fuzz_alert), "%s", inc.id);
	fuzz_draft_id = d->id;
	free(d);
	if ((fuzz_draft = malloc(sizeof(*fuzz_draft))) == NULL)
		abort();
	fuzz_ctx.publish_min_level = LEVEL_LARGE;
	fuzz_ctx.sender = "fuzz";
	fuzz_ctx.utc_offset_min = 480;
	fuzz_ctx.confirmations_extra_large = INT_MAX;
}

/* At the end of a run (libFuzzer exits through exit()): the temp store. */
static void fuzz_cleanup(void)
{
	static const char *const files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm"};
	char path[128];

	store_close(fuzz_store);
	fuzz_store = NULL;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, files[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup_store();
	atexit(fuzz_cleanup);
	return 0;
}

/* A new officer for each confirmation: the same officer twice is a
 * conflict before the edits are applied. */
static void fuzz_officer(struct officer *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "fz-%llu", (unsigned long long)++fuzz_officer_seq);
	o->role = OFFICER_DUTY_OFFICER;
	if (store_officer_add(fuzz_store, o->name, o->role, NULL, NULL, FUZZ_NOW_MS, &o->id) !=
	    GA_OK)
		abort();
}

/* The draft's field for an edit name, NULL for an unknown one. */
static const char *fuzz_field(const struct store_draft *d, const char *name)
{
	if (strcmp(name, "headline") == 0)
		return d->headline;
	if (strcmp(name, "situation") == 0)
		return d->situation;
	if (strcmp(name, "causes") == 0)
		return d->causes;
	if (strcmp(name, "response") == 0)
		return d->response;
	if (strcmp(name, "trend") == 0)
		return d->trend;
	return NULL;
}

static void fuzz_confirm(json_t *edits)
{
	char msg[FUZZ_MSG_MAX] = "";
	struct officer o;
	bool published = true;
	const char *key;
	json_t *v;
	ga_err e;

	fuzz_officer(&o);
	e = workflow_confirm(fuzz_store, &fuzz_ctx, &o, fuzz_alert, edits, FUZZ_NOW_MS, &published,
			     msg, sizeof(msg));
	if (e != GA_OK) {
		/* Only the edits can be wrong here, and that must be said. */
		if (e != GA_ERR_INVAL || msg[0] == '\0')
			abort();
		return;
	}
	if (published)
		abort(); /* INT_MAX confirmations are needed */
	if (store_draft_pending(fuzz_store, fuzz_alert, fuzz_draft) != GA_OK ||
	    fuzz_draft->id != fuzz_draft_id)
		abort();
	if (edits == NULL || json_is_null(edits))
		return;
	json_object_foreach(edits, key, v)
	{
		const char *f = fuzz_field(fuzz_draft, key);
		if (f == NULL || !json_is_string(v) || strcmp(f, json_string_value(v)) != 0)
			abort();
	}
}

static void fuzz_reject(const char *reason)
{
	char msg[FUZZ_MSG_MAX] = "";
	struct officer o = {.id = 1, .role = OFFICER_DUTY_OFFICER};
	ga_err e;

	snprintf(o.name, sizeof(o.name), "fz-reject");
	e = workflow_reject_draft(fuzz_store, &fuzz_ctx, &o, fuzz_alert, fuzz_draft_id + 1000,
				  reason, FUZZ_NOW_MS, msg, sizeof(msg));
	if (e == GA_OK || msg[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[FUZZ_MSG_MAX] = "";
	struct http_req req;
	json_t *body = NULL, *edits, *reason;
	char *copy;

	if (size > HTTP_BODY_MAX)
		return 0; /* the server drops larger bodies before parsing */
	/* The server hands on a NUL-terminated copy of what it read. */
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&req, 0, sizeof(req));
	req.body = copy;
	req.len = size;
	req.method = "POST";
	req.url = "/api/v1/alerts/x/confirm";

	if (http_body_json(&req, true, &body, msg, sizeof(msg)) != GA_OK) {
		if (body != NULL || msg[0] == '\0')
			abort();
		goto out;
	}
	if (body == NULL) {
		/* Empty: a confirmation without edits. */
		fuzz_confirm(NULL);
		goto out;
	}
	if (!json_is_object(body))
		abort();
	edits = json_object_get(body, "edits");
	if (edits == NULL || json_is_object(edits) || json_is_null(edits))
		fuzz_confirm(edits);
	reason = json_object_get(body, "reason");
	if (json_is_string(reason))
		fuzz_reject(json_string_value(reason));
out:
	json_decref(body);
	free(copy);
	return 0;
}
