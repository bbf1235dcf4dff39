/* service.h - the running daemon's context, passed to every part of it
 * (no globals). The config and geo are read only once started; registry
 * and thresholds are swapped on SIGHUP under lock. */
#ifndef GA_SERVICE_H
#define GA_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>

#include "classify.h"
#include "config.h"
#include "device_registry.h"
#include "error.h"
#include "geo.h"
#include "incident.h"
#include "ingest.h"
#include "metrics.h"
#include "registry.h"
#include "workflow.h"

#define SERVICE_KEY_ID_MAX 64 /* a key id + NUL (sign.h, cap_sign.h: 17) */

struct store;
struct ingest_writer;
struct service_tick;
struct ingest;
struct ingest_device;
struct http;
struct notify;
struct watchdog;
struct draft_templates;
struct sign_key;
struct cap_sign_lazy;
struct delivery;
struct cluster;

struct service {
	struct config cfg;
	struct geo *geo;

	/* Readers (validation in the session threads, the writer) hold it
	 * shared for the length of one use; reload holds it exclusive only
	 * to swap the pointers. */
	pthread_rwlock_t lock;
	struct registry *registry;
	struct thresholds *thresholds;
	struct device_registry *devices; /* [devices] file; NULL: none (§12) */

	struct incident_rules rules;
	struct draft_templates *templates;
	struct workflow_ctx wf; /* borrows templates, geo and cfg */
	struct notify *notify;
	struct store *store;
	struct ingest_writer *writer;
	struct service_tick *tick; /* the writer's duties (service_tick.h) */
	/* monitoring devices' frames, the writer's (ingest_device.h); NULL: none */
	struct ingest_device *devintake;
	struct ingest *ingest;
	struct http *http;
	struct delivery *delivery; /* the channels' worker (delivery.h) */
	struct ingest_stats stats;
	struct metrics metrics;
	struct watchdog *watchdog;
	struct sign_key *signer; /* signs published alerts ([alerts] signing_key_file) */
	/* Signs their CAP ([alerts] cap_signing_key_file): loaded at the
	 * first use (cap_sign_lazy_get). */
	struct cap_sign_lazy *cap_signer;
	/* The CAP key's id (checked in a child, service.c), and whether serve
	 * made each key file at this start: the start-up check against the
	 * ids the database records (store_keys_check) names them, and removes
	 * a file it made when it refuses. */
	char cap_key_id[SERVICE_KEY_ID_MAX];
	bool key_made, cap_key_made;
	int lock_fd; /* the SQLite database's serve lock (service_lock.h); -1: none */
	/* This instance runs the duties that happen once (deliveries,
	 * notices, escalations, watchdog, expiry, retention): always on
	 * SQLite, while it holds the lease on PostgreSQL (cluster.h). */
	atomic_bool duty;
	struct cluster *cluster; /* NULL on SQLite */
};

/* `geoalert serve -c FILE` and `geoalert check-config -c FILE`. */
int service_serve(int argc, char **argv);
int service_check_config(int argc, char **argv);

#endif
