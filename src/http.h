/* http.h - the HTTP server (libmicrohttpd, one internal thread; password
 * hashes on worker threads): /healthz, the officer API /api/v1/
 * (http_api.c) and the duty officers' console /console/ (http_console.c);
 * spec §8. It keeps a store connection of its own, used only by its
 * thread (and one per worker thread). */
#ifndef GA_HTTP_H
#define GA_HTTP_H

#include <pthread.h>
#include <stddef.h>

#include "error.h"

struct cap_sign_lazy;
struct config;
struct delivery;
struct geo;
struct ingest;
struct ingest_stats;
struct metrics;
struct sign_key;
struct thresholds;
struct watchdog;
struct workflow_ctx;
struct ingest_writer;
struct http;
struct device_registry;
struct registry;

/* What the HTTP server reads of the service: all borrowed, outliving the
 * server; the struct itself is copied by http_start. */
struct http_ctx {
	const struct config *cfg;
	struct geo *geo;
	pthread_rwlock_t *lock; /* held shared to read *thresholds: a reload swaps it */
	struct thresholds *const *thresholds;
	const struct workflow_ctx *wf; /* the service's; its templates loaded */
	struct metrics *metrics;
	struct delivery *delivery;	  /* kicked when an officer's action made deliveries */
	struct sign_key *signer;	  /* the alert JSON's signature; NULL: unsigned */
	struct cap_sign_lazy *cap_signer; /* CAP's */
	/* What /healthz and /metrics report. */
	struct ingest_writer *writer;
	struct ingest *const *ingest; /* the sessions start after the server: NULL till then */
	struct watchdog *watchdog;
	struct ingest_stats *stats;
	/* The device and station registries (§12 monitoring), read under
	 * lock; NULL or *NULL: none. */
	struct device_registry *const *devices;
	struct registry *const *registry;
};

/* Opens its own store connection (ctx->wf must be set up: the API acts
 * through the workflow) and listens on cfg.http.listen ("HOST:PORT",
 * "[V6]:PORT"; port 0 picks a free one: see http_port). On error err
 * says what. */
ga_err http_start(const struct http_ctx *ctx, struct http **out, char *err, size_t errlen);
int http_port(struct http *h);
void http_stop(struct http *h);

#endif
