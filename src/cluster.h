/* cluster.h - several instances on one PostgreSQL database (spec §10).
 *
 * Each instance ([cluster] instance) runs a thread of its own with its
 * own store connection that, every CLUSTER_PERIOD (a fifth of
 * takeover_after, at least a second):
 *
 *   - writes its heartbeat (cluster_instances);
 *   - takes or keeps the lease "duties" (cluster_leases) for takeover_after.
 *     The holder alone runs what must happen once: deliveries to the
 *     channels, notices, escalations, the station watchdog, risk warning
 *     expiry, retention. A live instance that cannot renew its lease
 *     (database unreachable) drops the duties when the lease it had runs
 *     out, before anyone else may take it; the new holder first puts the
 *     deliveries and notices left 'sending' back to pending. The lease is
 *     a row updated only when free, expired or ours: one statement, atomic
 *     on the database, so two instances never both hold it;
 *   - claims an instance silent for takeover_after and not yet taken, and
 *     takes over its MQTT sessions (ingest_takeover): mosquitto keeps
 *     queueing a share of the shared subscription to the dead member and
 *     holds what it had in flight; connected under its client ids they are
 *     drained into this instance's writer, then ended. The dead instance's
 *     row is then forgotten; if it comes back it joins afresh.
 *
 * Reports need no lease: every instance takes its share from the broker,
 * (station_id, report_id) is unique in the database, and every transaction
 * takes one advisory lock (store_pg.c) so incidents are grouped as on one
 * instance. Clocks: heartbeats and leases compare the instances' wall
 * clocks: keep them in step (NTP); takeover_after (default 30 s) is far
 * above the skew NTP leaves.
 *
 * On SQLite there is one instance (service_lock.h): no thread, the duties
 * always here. */
#ifndef GA_CLUSTER_H
#define GA_CLUSTER_H

#include <stdatomic.h>
#include <stddef.h>

#include "error.h"

struct service;
struct cluster;

/* Joins the cluster (the instance's row, synchronously: before the
 * sessions connect) and starts the thread. *duty is set while this
 * instance holds the duties' lease. */
ga_err cluster_start(struct service *svc, atomic_bool *duty, struct cluster **out, char *err,
		     size_t errlen);

/* Stops the thread and hands the lease back (expired now), so another
 * instance takes the duties at its next round rather than after
 * takeover_after. NULL: nothing. */
void cluster_stop(struct cluster *c);

#endif
