/* service_tick.h - the service's duties the writer runs for it: once a
 * second (retention, silent stations, escalation) and after each commit
 * (notices of the drafts it made). Passed to ingest_writer_new as ingest_writer_duties
 * with the service_tick as arg. */
#ifndef GA_SERVICE_TICK_H
#define GA_SERVICE_TICK_H

#include <stdbool.h>

#include "error.h"
#include "ingest_writer.h"
#include "store.h"

struct service;
struct service_tick;

/* svc is borrowed and outlives the service_tick. */
ga_err service_tick_new(struct service *svc, struct service_tick **out);
void service_tick_free(struct service_tick *t);

/* ingest_writer_duties.step (retention): arg is the service_tick. */
bool service_tick_step(struct store *s, void *arg);
/* ingest_writer_duties.tick: arg is the service_tick. */
void service_tick_run(struct store *s, void *arg);
/* ingest_writer_duties.committed: arg is the service_tick. */
void service_tick_committed(struct store *s, struct ingest_writer_item *batch, void *arg);

#endif
