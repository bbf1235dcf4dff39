/* service.c - `geoalert serve` and `geoalert check-config`: wiring the
 * parts together, signals and reload. */
#include "service.h"
#include "service_lock.h"
#include "service_tick.h"

#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cap_sign.h"
#include "cluster.h"
#include "delivery.h"
#include "draft.h"
#include "http.h"
#include "ingest.h"
#include "ingest_commit.h"
#include "ingest_device.h"
#include "ingest_writer.h"
#include "log.h"
#include "notify.h"
#include "sign.h"
#include "store.h"
#include "timeutil.h"
#include "watchdog.h"

#define SERVICE_ERR_MAX 1024

static int service_usage(const char *cmd)
{
	fprintf(stderr, "usage: geoalert %s -c FILE [-v]\n", cmd);
	return 2;
}

/* Parses "-c FILE [-v]"; returns the config path or NULL. */
static const char *service_args(int argc, char **argv, int *verbose)
{
	const char *path = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt(argc, argv, "c:v")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		default:
			return NULL;
		}
	}
	if (optind != argc)
		return NULL;
	return path;
}

static void service_rules(const struct config *c, struct incident_rules *rules)
{
	incident_rules_default(rules);
	rules->hazard_point_window_ms = (int64_t)c->alerts.hazard_point_window_h * 3600 * 1000;
	rules->near_window_ms = (int64_t)c->alerts.near_window_h * 3600 * 1000;
	rules->near_radius_m = c->alerts.near_radius_m;
	snprintf(rules->id_prefix, sizeof(rules->id_prefix), "%s", c->alerts.incident_prefix);
	rules->utc_offset_min = c->alerts.utc_offset_min;
}

/* Loads the files named by the config that SIGHUP reloads. */
static ga_err service_load_data(const struct config *c, const struct geo *geo,
				struct registry **reg, struct thresholds **thr, char *err,
				size_t errlen)
{
	ga_err result = thresholds_load(c->alerts.thresholds[0] ? c->alerts.thresholds : NULL, thr,
					err, errlen);
	if (result != GA_OK)
		return result;
	*reg = NULL;
	if (c->stations.file[0]) {
		result = registry_load(c->stations.file, geo, reg, err, errlen);
		if (result != GA_OK) {
			thresholds_free(*thr);
			*thr = NULL;
		}
	}
	return result;
}

/* The device registry of [devices] file (§12) into *out (NULL when not
 * configured); its stations must be in reg. */
static ga_err service_load_devices(const struct config *c, const struct registry *reg,
				   struct device_registry **out, char *err, size_t errlen)
{
	*out = NULL;
	if (c->devices.file[0] == '\0')
		return GA_OK;
	if (reg == NULL) {
		snprintf(err, errlen, "[devices] file needs a [stations] file to check against");
		return GA_ERR_CONFIG;
	}
	return device_registry_load(c->devices.file, reg, out, err, errlen);
}

struct service_backlog_ctx {
	struct ingest_backlog *head, **tail;
	int n;
	bool nomem;
};

static bool service_backlog_add(int64_t id, const char *broker, const char *topic,
				const char *payload, void *arg)
{
	struct service_backlog_ctx *ctx = arg;
	struct ingest_backlog *b = calloc(1, sizeof(*b));
	if (!b || !(b->topic = strdup(topic)) || !(b->payload = strdup(payload)) ||
	    !(b->broker = strdup(broker))) {
		ingest_backlog_free(b);
		ctx->nomem = true;
		return false;
	}
	b->outbox_id = id;
	*ctx->tail = b;
	ctx->tail = &b->next;
	return ++ctx->n < INGEST_BACKLOG_MAX;
}

/* Receipts an earlier run committed but could not hand to the broker. */
static struct ingest_backlog *service_outbox(struct store *store)
{
	struct service_backlog_ctx ctx = {.tail = &ctx.head};
	if (store_outbox_each(store, service_backlog_add, &ctx) != GA_OK || ctx.nomem)
		log_warnx("outbox: could not read every pending receipt; the rest wait for the "
			  "next start");
	if (ctx.n)
		log_info("outbox: %d receipts to send again", ctx.n);
	return ctx.head;
}

static void service_reload(struct service *svc)
{
	char err[SERVICE_ERR_MAX];
	struct registry *reg = NULL, *old_reg = NULL;
	struct thresholds *thr = NULL, *old_thr = NULL;
	const struct config *c = &svc->cfg;

	/* Each file on its own: a bad one is refused and the old one kept. */
	if (thresholds_load(c->alerts.thresholds[0] ? c->alerts.thresholds : NULL, &thr, err,
			    sizeof(err)) != GA_OK) {
		log_warnx("reload: thresholds refused, keeping the old ones: %s", err);
		thr = NULL;
	}
	if (c->stations.file[0] &&
	    registry_load(c->stations.file, svc->geo, &reg, err, sizeof(err)) != GA_OK) {
		log_warnx("reload: station registry refused, keeping the old one: %s", err);
		reg = NULL;
	}
	struct device_registry *devs = NULL, *old_devs = NULL;
	if (service_load_devices(c, reg ? reg : svc->registry, &devs, err, sizeof(err)) != GA_OK) {
		log_warnx("reload: device registry refused, keeping the old one: %s", err);
		devs = NULL;
	}
	pthread_rwlock_wrlock(&svc->lock);
	if (devs) {
		old_devs = svc->devices;
		svc->devices = devs;
	}
	if (thr) {
		old_thr = svc->thresholds;
		svc->thresholds = thr;
		svc->wf.thresholds = thr; /* users of wf hold svc->lock shared */
	}
	if (reg) {
		old_reg = svc->registry;
		svc->registry = reg;
	}
	pthread_rwlock_unlock(&svc->lock);
	if (thr)
		log_info("reload: thresholds loaded");
	if (reg)
		log_info("reload: station registry loaded, %zu stations", registry_count(reg));
	if (devs)
		log_info("reload: device registry loaded, %zu devices",
			 device_registry_count(devs));
	device_registry_free(old_devs);
	thresholds_free(old_thr);
	registry_free(old_reg);
}

/* Checks the CAP signing key, and makes it when missing, in a child
 * process: OpenSSL's and xmlsec's state (~2 MiB, docs/benchmarks.md
 * "Ingest") then stays out of the service until the first CAP document
 * is signed (cap_sign_lazy_get). A bad key still stops the start. Runs
 * before any thread starts (fork). On success the child writes back '1'
 * (it made the file) or '0', then the key id: into id (idlen bytes) and
 * *made. */
static ga_err service_cap_key_check(const struct config *cfg, char *id, size_t idlen,
				    bool *made_out, char *err, size_t errlen)
{
	char buf[SERVICE_ERR_MAX] = "";
	int fds[2], status = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return GA_ERR_IO;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return GA_ERR_IO;
	}
	if (pid == 0) {
		struct cap_sign_key *k = NULL;
		bool made = false;
		close(fds[0]);
		if (cap_sign_key_load(cfg->alerts.cap_signing_key_file, true,
				      cfg->alerts.cap_sender, &k, &made, buf,
				      sizeof(buf)) != GA_OK) {
			if (write(fds[1], buf, strlen(buf)) < 0)
				_exit(2);
			_exit(1);
		}
		log_info("CAP signing key: %s%s (ECDSA P-256%s), key_id %s",
			 made ? "generated " : "", cfg->alerts.cap_signing_key_file,
			 made ? ", mode 0600; back it up" : "", cap_sign_key_id(k));
		snprintf(buf, sizeof(buf), "%c%s", made ? '1' : '0', cap_sign_key_id(k));
		if (write(fds[1], buf, strlen(buf)) != (ssize_t)strlen(buf))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	/* A pipe write of less than PIPE_BUF bytes arrives whole. */
	n = read(fds[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && n > 1 && (size_t)n - 1 < idlen) {
		*made_out = buf[0] == '1';
		memcpy(id, buf + 1, (size_t)n - 1); /* fits: checked above */
		id[n - 1] = '\0';
		return GA_OK;
	}
	snprintf(err, errlen, "%s", buf[0] ? buf : "checking the key failed");
	return GA_ERR_CONFIG;
}

/* Loading, before any thread: the data files, the rules, the templates,
 * the workflow's context, the signing keys, the watchdog. Logs what is
 * wrong. */
static ga_err service_load(struct service *svc)
{
	char err[SERVICE_ERR_MAX];
	struct geo_options gopt;

	/* Several instances sign with one pair of keys (config.c leaves them
	 * unset beside a store that is no file). */
	if (svc->cfg.store.url[0] != '\0' && (svc->cfg.alerts.signing_key_file[0] == '\0' ||
					      svc->cfg.alerts.cap_signing_key_file[0] == '\0')) {
		snprintf(err, sizeof(err),
			 "[alerts] signing_key_file and cap_signing_key_file: must be set with "
			 "[store] url (every instance signs with the same keys: start one, then "
			 "copy its key files to the others)");
		goto fail;
	}
	config_geo_options(&svc->cfg, &gopt);
	svc->geo = geo_new(&gopt, err, sizeof(err));
	if (!svc->geo)
		goto fail;
	if (service_load_data(&svc->cfg, svc->geo, &svc->registry, &svc->thresholds, err,
			      sizeof(err)) != GA_OK)
		goto fail;
	if (service_load_devices(&svc->cfg, svc->registry, &svc->devices, err, sizeof(err)) !=
	    GA_OK)
		goto fail;
	service_rules(&svc->cfg, &svc->rules);
	if (draft_templates_load(svc->cfg.alerts.templates[0] ? svc->cfg.alerts.templates : NULL,
				 &svc->templates, err, sizeof(err)) != GA_OK)
		goto fail;
	svc->wf = (struct workflow_ctx){
	    .templates = svc->templates,
	    .geo = svc->geo,
	    .publish_min_level = svc->cfg.alerts.publish_min_level,
	    .sender = svc->cfg.alerts.sender,
	    .utc_offset_min = svc->cfg.alerts.utc_offset_min,
	    .confirmations_extra_large = svc->cfg.alerts.confirmations_extra_large,
	    .exercise = svc->cfg.alerts.exercise,
	};
	svc->wf.thresholds = svc->thresholds; /* a reload swaps them: see service_reload */
	if (sign_key_load(svc->cfg.alerts.signing_key_file, true, &svc->signer, &svc->key_made, err,
			  sizeof(err)) != GA_OK) {
		log_warnx("[alerts] signing_key_file: %s", err);
		return GA_ERR_CONFIG;
	}
	if (svc->key_made)
		log_info("signing key: generated %s (mode 0600), key_id %s; back it up",
			 svc->cfg.alerts.signing_key_file, sign_key_id(svc->signer));
	else
		log_info("signing key: %s, key_id %s", svc->cfg.alerts.signing_key_file,
			 sign_key_id(svc->signer));
	if (service_cap_key_check(&svc->cfg, svc->cap_key_id, sizeof(svc->cap_key_id),
				  &svc->cap_key_made, err, sizeof(err)) != GA_OK) {
		log_warnx("[alerts] cap_signing_key_file: %s", err);
		return GA_ERR_CONFIG;
	}
	svc->wf.delivery_cfg = &svc->cfg;
	svc->wf.signer = svc->signer;
	svc->wf.metrics = &svc->metrics;
	if (cap_sign_lazy_new(svc->cfg.alerts.cap_signing_key_file, svc->cfg.alerts.cap_sender,
			      &svc->cap_signer) != GA_OK ||
	    watchdog_new((int64_t)svc->cfg.stations.expected_interval_s * 1000,
			 svc->cfg.alerts.utc_offset_min, time_now_ms(), &svc->watchdog) != GA_OK) {
		log_warnx("out of memory");
		return GA_ERR_NOMEM;
	}
	return GA_OK;
fail:
	log_warnx("%s", err);
	return GA_ERR_CONFIG;
}

/* A key file serve made at this start, removed again when the start is
 * refused: left behind it would look like a key of the deployment's, and
 * be copied or adopted as one. Logged either way. */
static void service_key_unmake(const char *option, const char *path)
{
	if (unlink(path) == 0)
		log_warnx("[alerts] %s %s: made at this start (the file was missing):"
			  " removed again",
			  option, path);
	else
		log_warn("[alerts] %s %s: made at this start (the file was missing);"
			 " cannot remove it: remove it yourself",
			 option, path);
}

/* The start-up check of issue 12 (spec §10, docs/high-availability.md
 * "Signing keys"): every instance on a database signs with the keys it
 * records. The first start on a database records this instance's key
 * ids; a later one whose ids differ is refused, naming each differing
 * key file, both ids and the two ways out. Runs right after the store is
 * opened, before any part that signs or publishes starts. */
static ga_err service_keys_check(struct service *svc)
{
	const struct config *c = &svc->cfg;
	const char *option[2] = {"signing_key_file", "cap_signing_key_file"};
	const char *path[2] = {c->alerts.signing_key_file, c->alerts.cap_signing_key_file};
	bool made[2] = {svc->key_made, svc->cap_key_made};
	struct store_key keys[2] = {
	    {.purpose = STORE_KEY_ALERT, .key_id = sign_key_id(svc->signer)},
	    {.purpose = STORE_KEY_CAP, .key_id = svc->cap_key_id},
	};
	char when[TIME_TEXT_MAX];
	ga_err e = store_keys_check(svc->store, keys, 2, time_now_ms());

	if (e == GA_OK) {
		for (int i = 0; i < 2; i++)
			if (keys[i].recorded_now)
				log_info("[alerts] %s: key_id %s recorded in the database as the"
					 " deployment's key (first start on it)",
					 option[i], keys[i].key_id);
		return GA_OK;
	}
	if (e != GA_ERR_CONFLICT) {
		log_warnx("cannot check the signing keys against the database (%s)",
			  ga_strerror(e));
		return e;
	}
	for (int i = 0; i < 2; i++) {
		if (keys[i].recorded[0] == '\0' || strcmp(keys[i].recorded, keys[i].key_id) == 0)
			continue;
		time_format_rfc3339(keys[i].recorded_ms, c->alerts.utc_offset_min, when,
				    sizeof(when));
		log_warnx("[alerts] %s %s: key_id %s is not the key this deployment signs with:"
			  " the database records key_id %s (recorded %s)%s",
			  option[i], path[i], keys[i].key_id, keys[i].recorded, when,
			  made[i] ? "; the file was missing and was made at this start: a new"
				    " key that nobody has published"
				  : "");
	}
	for (int i = 0; i < 2; i++)
		if (made[i])
			service_key_unmake(option[i], path[i]);
	log_warnx("refusing to start: alerts it published would not verify with the published"
		  " keys. Copy signing_key_file and cap_signing_key_file from a running"
		  " instance (or a backup) to the paths above and start again; to change the"
		  " deployment's keys on purpose, run `geoalert keys adopt -c FILE`"
		  " (docs/high-availability.md, Signing keys)");
	return GA_ERR_CONFLICT;
}

/* Starting, in order: the store (its first connection migrates the
 * schema), the notifier, the writer with its duties, the delivery worker
 * (before the HTTP server: its confirmations kick it), the HTTP server,
 * then the sessions. Logs what is wrong; service_stop undoes any part. */
static ga_err service_start(struct service *svc)
{
	char err[SERVICE_ERR_MAX];
	struct ingest_plan *plan = NULL;
	struct ingest_backlog *backlog = NULL;
	struct store_options sopt = {
	    .path = svc->cfg.store.path,
	    .url = svc->cfg.store.url,
	    .password_file = svc->cfg.store.password_file,
	    .max_page_count = svc->cfg.store.max_page_count,
	};

	/* One serve per SQLite file; PostgreSQL is shared (spec §10). */
	if ((svc->cfg.store.url[0] == '\0' &&
	     service_lock_take(svc->cfg.store.path, &svc->lock_fd, err, sizeof(err)) != GA_OK) ||
	    store_open(&sopt, &svc->store, err, sizeof(err)) != GA_OK)
		goto fail;
	/* Before anything is signed or published (issue 12). */
	if (service_keys_check(svc) != GA_OK)
		return GA_ERR_CONFIG;
	if (svc->cfg.store.url[0] != '\0') {
		/* Several instances: the duties wait for the lease (cluster.h). */
		atomic_store(&svc->duty, false);
		svc->wf.duty = &svc->duty;
	}
	if (notify_new(svc->cfg.notify.officers_url, svc->cfg.notify.supervisors_url, &sopt,
		       svc->wf.duty, &svc->notify, err, sizeof(err)) != GA_OK) {
		log_warnx("cannot start the notifier: %s", err);
		return GA_ERR_IO;
	}
	/* Read before the writer thread owns the store. */
	if (ingest_plan_make(svc->store, &svc->cfg, &plan, err, sizeof(err)) != GA_OK)
		log_warnx("%s; sessions an earlier run left are not retired this time", err);
	backlog = service_outbox(svc->store);
	/* The judge, rebuilt from the store before the writer owns it. */
	if (ingest_device_new(svc, svc->store, &svc->devintake) != GA_OK) {
		snprintf(err, sizeof(err), "monitoring devices: cannot rebuild from the store");
		goto fail;
	}
	struct ingest_commit commit = {.lock = &svc->lock,
				       .rules = &svc->rules,
				       .thresholds = &svc->thresholds,
				       .wf = &svc->wf,
				       .utc_offset_min = svc->cfg.alerts.utc_offset_min,
				       .devices = svc->devintake};
	struct ingest_writer_duties duties = {service_tick_step, service_tick_run,
					      service_tick_committed, NULL};
	if (service_tick_new(svc, &svc->tick) != GA_OK) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	duties.arg = svc->tick;
	if (ingest_writer_new(svc->store, &commit, &duties, svc->cfg.store.batch_max,
			      &svc->writer) != GA_OK) {
		snprintf(err, sizeof(err), "cannot start the writer thread");
		goto fail;
	}
	if (delivery_start(&svc->cfg, &svc->wf, svc->notify, &svc->metrics, &svc->delivery, err,
			   sizeof(err)) != GA_OK)
		goto fail;
	struct http_ctx hctx = {.cfg = &svc->cfg,
				.geo = svc->geo,
				.lock = &svc->lock,
				.thresholds = &svc->thresholds,
				.wf = &svc->wf,
				.metrics = &svc->metrics,
				.delivery = svc->delivery,
				.signer = svc->signer,
				.cap_signer = svc->cap_signer,
				.writer = svc->writer,
				.ingest = &svc->ingest,
				.watchdog = svc->watchdog,
				.stats = &svc->stats,
				.devices = &svc->devices,
				.registry = &svc->registry};
	if (http_start(&hctx, &svc->http, err, sizeof(err)) != GA_OK)
		goto fail;
	/* ingest_start takes the plan and the backlog, whatever it returns. */
	if (ingest_start(svc, backlog, plan, &svc->ingest, err, sizeof(err)) != GA_OK) {
		log_warnx("%s", err);
		return GA_ERR_IO;
	}
	/* Last: a takeover drains sessions into the running ingest. */
	if (svc->cfg.store.url[0] != '\0' &&
	    cluster_start(svc, &svc->duty, &svc->cluster, err, sizeof(err)) != GA_OK) {
		log_warnx("%s", err);
		return GA_ERR_IO;
	}
	return GA_OK;
fail:
	ingest_backlog_free(backlog);
	ingest_plan_free(plan);
	log_warnx("%s", err);
	return GA_ERR_IO;
}

/* Serving: takes the signals (blocked in every thread) until one says
 * stop; SIGHUP reloads. */
static void service_wait(struct service *svc, const sigset_t *sigs)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(sigs, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			log_warn("sigwaitinfo");
			return;
		}
		if (sig == SIGHUP) {
			service_reload(svc);
			continue;
		}
		log_info("signal %d: stopping", sig);
		return;
	}
}

/* Stopping, whatever was started. Order matters: stop taking messages
 * (handlers in progress finish and are committed), then the writer, then
 * the rest. */
static void service_stop(struct service *svc)
{
	/* A takeover the cluster runs drains through ingest: told first, it
	 * ends its pass instead of keeping cluster_stop waiting (the session
	 * it drains stays at the broker, its row kept: taken over later). */
	ingest_stop_begin(svc->ingest);
	cluster_stop(svc->cluster);
	ingest_stop(svc->ingest);
	http_stop(svc->http);
	delivery_stop(svc->delivery);
	ingest_writer_free(svc->writer);
	ingest_device_free(svc->devintake);
	service_tick_free(svc->tick);
	notify_free(svc->notify);
	sign_key_free(svc->signer);
	cap_sign_lazy_free(svc->cap_signer);
	cap_sign_shutdown();
	watchdog_free(svc->watchdog);
	store_close(svc->store);
	service_lock_release(svc->lock_fd);
	draft_templates_free(svc->templates);
	device_registry_free(svc->devices);
	registry_free(svc->registry);
	thresholds_free(svc->thresholds);
	geo_free(svc->geo);
	pthread_rwlock_destroy(&svc->lock);
	free(svc);
}

int service_serve(int argc, char **argv)
{
	int verbose = 0, status = 1;
	char err[SERVICE_ERR_MAX];
	const char *path = service_args(argc, argv, &verbose);
	if (!path)
		return service_usage("serve");
	log_init(verbose);

	/* Before SQLite is first used: no global mutex around every SQLite
	 * allocation for statistics nobody reads. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	struct service *svc = calloc(1, sizeof(*svc));
	if (!svc)
		fatalx("out of memory");
	svc->lock_fd = -1;
	atomic_init(&svc->duty, true); /* cluster_start takes it back on PostgreSQL */
	pthread_rwlock_init(&svc->lock, NULL);
	metrics_init(&svc->metrics);
	if (config_load(path, &svc->cfg, err, sizeof(err)) != GA_OK) {
		log_warnx("%s", err);
		goto out;
	}

	/* Signals are taken by this thread with sigwaitinfo, never by a
	 * handler: block them before any thread starts so all inherit it. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (service_load(svc) != GA_OK || service_start(svc) != GA_OK)
		goto out;
#ifdef __GLIBC__
	/* Loading regions and the registry parses megabytes of JSON into
	 * short-lived trees; hand the freed heap back (about 10 MiB). */
	malloc_trim(0);
#endif
	if (svc->registry == NULL)
		log_warnx("no [stations] file: every report will be rejected (unknown_station)");
	log_info("geoalert %s serving: %s, %d MQTT sessions, %zu stations, http on port %d",
		 GA_VERSION, svc->cfg.mqtt.url, svc->cfg.mqtt.sessions,
		 svc->registry ? registry_count(svc->registry) : (size_t)0, http_port(svc->http));
	service_wait(svc, &sigs);
	status = 0;
out:
	service_stop(svc);
	if (status == 0)
		log_info("stopped");
	return status;
}

int service_check_config(int argc, char **argv)
{
	int verbose = 0, status = 1;
	char err[SERVICE_ERR_MAX];
	struct config *c = NULL;
	struct geo *geo = NULL;
	struct registry *reg = NULL;
	struct thresholds *thr = NULL;
	struct draft_templates *tpl = NULL;
	struct device_registry *devs = NULL;
	const char *path = service_args(argc, argv, &verbose);
	if (!path)
		return service_usage("check-config");
	log_init(verbose);

	c = calloc(1, sizeof(*c));
	if (!c)
		fatalx("out of memory");
	if (config_load(path, c, err, sizeof(err)) != GA_OK)
		goto fail;
	struct geo_options gopt;
	config_geo_options(c, &gopt);
	geo = geo_new(&gopt, err, sizeof(err));
	if (!geo)
		goto fail;
	if (service_load_data(c, geo, &reg, &thr, err, sizeof(err)) != GA_OK)
		goto fail;
	if (draft_templates_load(c->alerts.templates[0] ? c->alerts.templates : NULL, &tpl, err,
				 sizeof(err)) != GA_OK)
		goto fail;
	if (service_load_devices(c, reg, &devs, err, sizeof(err)) != GA_OK)
		goto fail;
	char secret[512];
	if (c->mqtt.password_file[0] &&
	    config_read_secret(c->mqtt.password_file, secret, sizeof(secret), err, sizeof(err)) !=
		GA_OK)
		goto fail;
	if (delivery_check_config(c, err, sizeof(err)) != GA_OK)
		goto fail;
	for (int i = 0; i < c->nchannels; i++) {
		if (c->channels[i].token_file[0] &&
		    config_read_secret(c->channels[i].token_file, secret, sizeof(secret), err,
				       sizeof(err)) != GA_OK)
			goto fail;
	}
	explicit_bzero(secret, sizeof(secret));
	/* The signing key: made by serve when missing; one that is there must
	 * be readable and well-formed. */
	struct sign_key *key = NULL;
	char keyerr[SERVICE_ERR_MAX - 64];
	ga_err ke =
	    sign_key_load(c->alerts.signing_key_file, false, &key, NULL, keyerr, sizeof(keyerr));
	sign_key_free(key);
	if (ke != GA_OK && ke != GA_ERR_NOTFOUND) {
		snprintf(err, sizeof(err), "[alerts] signing_key_file: %s", keyerr);
		goto fail;
	}
	if (ke == GA_ERR_NOTFOUND)
		log_info("[alerts] signing_key_file %s does not exist yet: serve will make it",
			 c->alerts.signing_key_file);
	struct cap_sign_key *capkey = NULL;
	ke = cap_sign_key_load(c->alerts.cap_signing_key_file, false, c->alerts.cap_sender, &capkey,
			       NULL, keyerr, sizeof(keyerr));
	cap_sign_key_free(capkey);
	cap_sign_shutdown();
	if (ke != GA_OK && ke != GA_ERR_NOTFOUND) {
		snprintf(err, sizeof(err), "[alerts] cap_signing_key_file: %s", keyerr);
		goto fail;
	}
	if (ke == GA_ERR_NOTFOUND)
		log_info("[alerts] cap_signing_key_file %s does not exist yet: serve will make it",
			 c->alerts.cap_signing_key_file);
	if (reg == NULL)
		log_warnx("no [stations] file: every report will be rejected (unknown_station)");
	printf("%s: ok (%zu stations)\n", path, reg ? registry_count(reg) : (size_t)0);
	if (devs)
		printf("%s: ok (%zu devices)\n", c->devices.file, device_registry_count(devs));
	status = 0;
	goto out;
fail:
	printf("%s\n", err);
out:
	draft_templates_free(tpl);
	device_registry_free(devs);
	registry_free(reg);
	thresholds_free(thr);
	geo_free(geo);
	free(c);
	return status;
}
