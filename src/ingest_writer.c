/* ingest_writer.c - group commit: one thread, one transaction per batch. */
#include "ingest_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <time.h>

#include "incident_index.h"
#include "ingest_commit.h"
#include "log.h"
#include "store_incident_recent.h"
#include "timeutil.h"

/* Receipt acknowledgements waiting to be deleted from the outbox. Past
 * the cap they are dropped: those receipts are only sent again. */
#define WRITER_MAX_ACKS 65536
#define WRITER_TICK_MS 1000
/* Past this many, acknowledged receipts are deleted without waiting. */
#define WRITER_ACKS_FLUSH (WRITER_MAX_ACKS / 2)
/* Under load (the last commit carried several sessions' batches and at
 * least WRITER_GATHER_MIN reports), the writer waits this long at most
 * for the other sessions' batches to join the next commit: fewer, larger
 * transactions. Light load never waits. */
#define WRITER_GATHER_US 1000
#define WRITER_GATHER_MIN 8
/* Past this many frames in the WAL (4 KiB pages: 16 MiB), readers have
 * kept the passive checkpoints after commits from finishing: the writer
 * (after a batch, or in its tick when idle) waits up to
 * WRITER_WAL_RESTART_WAIT_MS, writes held, for the readers of old
 * snapshots to finish, and restarts the log. */
#define WRITER_WAL_RESTART_FRAMES (4 * STORE_WAL_AUTOCHECKPOINT)
#define WRITER_WAL_RESTART_WAIT_MS 250
/* At most one restart a second: with readers that never let go, each
 * one holds the writes up to WRITER_WAL_RESTART_WAIT_MS; the log grows
 * by what a second of commits writes between two. */
#define WRITER_WAL_RESTART_EVERY_MS 1000
/* At most one log line a minute for a WAL that cannot be restarted. */
#define WRITER_WAL_WARN_MS 60000

struct ingest_writer {
	struct log_repeat commit_failed; /* said once, then summarised (log.h) */
	struct store *store;
	struct ingest_commit commit;  /* the business step of each item */
	struct incident_index *index; /* open incidents (incident_index.h) */
	/* The incidents' generation (store_incident_recent.h) the index is
	 * true at (as the writer's last commit left it); -1 when not known. */
	int64_t gen_mine;
	/* The group is taken once its transaction holds the lock (PostgreSQL:
	 * ingest_writer_main). */
	bool take_after_lock;
	struct ingest_writer_duties duties;
	int batch_max;

	pthread_mutex_t mu;
	pthread_cond_t work; /* signalled when an item is queued or on stop */
	pthread_cond_t done; /* broadcast when a batch is finished */
	struct ingest_writer_item *head, *tail;
	int nsubmits;	  /* ingest_writer_submit_many calls queued (not yet taken) */
	int last_submits; /* how many the last commit carried */
	int last_n;	  /* and how many reports */
	bool stopping;
	ga_err last_result;
	ga_err last_fail;     /* the latest commit refused for want of space */
	int64_t last_fail_ms; /* monotonic; 0: none yet */
	int64_t *acks;	      /* outbox ids acknowledged by the broker */
	int nacks;
	bool acks_dropped;
	bool tick;		/* a second passed without work */
	int64_t last_tick_ms;	/* monotonic */
	int64_t wal_warned_ms;	/* monotonic */
	int64_t wal_restart_ms; /* monotonic: the last restart tried */
	pthread_t thread;
};

static int ingest_writer_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Deletes the acknowledged receipts: sorted, one statement per run of
 * consecutive ids (receipts are stored in order, so a batch's are one
 * run or a few). acks is sorted in place. */
static ga_err ingest_writer_delete_acked(struct ingest_writer *w, int64_t *acks, int nacks)
{
	ga_err result = GA_OK;

	qsort(acks, (size_t)nacks, sizeof(*acks), ingest_writer_id_cmp);
	for (int i = 0; i < nacks && result == GA_OK;) {
		int j = i;
		while (j + 1 < nacks && acks[j + 1] <= acks[j] + 1)
			j++;
		result = store_outbox_delete_range(w->store, acks[i], acks[j]);
		i = j + 1;
	}
	return result;
}

/* Inside the group's transaction, after its lock: brings the index of
 * open incidents (incident_index.h) to what the store holds now and reads
 * the incidents' generation now into *gen. When someone else changed
 * incidents since the writer's last commit (another instance, a step of
 * the writer's own outside its groups), the incidents they wrote are read
 * back (incident_index_refresh: the generation and the incidents in one
 * statement, their figures in a second when any changed); when the index
 * does not know where it stands, it is rebuilt at the group's first
 * report. Under the lock nobody else writes incidents until the group
 * commits. */
static ga_err ingest_writer_index_sync(struct ingest_writer *w, int64_t *gen)
{
	ga_err e;

	if (w->gen_mine >= 0 &&
	    incident_index_refresh(w->index, w->store, w->gen_mine, gen) == GA_OK) {
		w->gen_mine = *gen;
		return GA_OK;
	}
	incident_index_discard(w->index);
	if ((e = store_incident_gen_get(w->store, gen)) == GA_OK)
		w->gen_mine = *gen;
	return e;
}

/* The start of a group's transaction: BEGIN (and, on PostgreSQL, the
 * transaction lock) and, for a group of reports, the index brought to the
 * store (ingest_writer_index_sync), *gen the incidents' generation then
 * (-1 when not read). On a failure after BEGIN the transaction is rolled
 * back and the index discarded. */
static ga_err ingest_writer_begin(struct ingest_writer *w, bool reports, int64_t *gen)
{
	*gen = -1;
	ga_err result = store_begin(w->store);
	if (result != GA_OK)
		return result;
	if (w->index && reports && (result = ingest_writer_index_sync(w, gen)) != GA_OK) {
		store_rollback(w->store);
		ingest_commit_done(&w->commit, false);
		incident_index_discard(w->index);
	}
	return result;
}

/* A transaction begun before its group was taken (ingest_writer_main). */
struct ingest_writer_turn {
	bool begun;
	ga_err result; /* ingest_writer_begin's */
	int64_t gen;
};

/* One transaction: the batch's reports and receipts, and the deletion of
 * the receipts the broker has acknowledged meanwhile. turn: begun already
 * (for this batch, not NULL); NULL: begun here. */
static ga_err ingest_writer_commit_batch(struct ingest_writer *w, struct ingest_writer_item *batch,
					 int64_t *acks, int nacks,
					 const struct ingest_writer_turn *turn)
{
	int64_t gen = -1;
	ga_err result =
	    turn && turn->begun ? turn->result : ingest_writer_begin(w, batch != NULL, &gen);
	if (turn && turn->begun)
		gen = turn->gen;
	if (result != GA_OK)
		return result; /* rolled back (ingest_writer_begin) */
	if ((result = ingest_writer_delete_acked(w, acks, nacks)) != GA_OK)
		goto fail;
	/* The group's duplicate checks in one statement where each costs a
	 * round trip (PostgreSQL); SQLite's are function calls, cheaper one
	 * by one than the JSON the single statement takes. */
	if (batch && store_shared(w->store))
		ingest_commit_prefind(&w->commit, batch);
	for (struct ingest_writer_item *it = batch; it; it = it->next) {
		result = ingest_commit_item(&w->commit, it);
		if (result != GA_OK)
			goto fail;
	}
	/* The incidents' updates the index deferred (incident_index_defer). */
	if ((result = incident_index_flush(w->index, w->store)) != GA_OK)
		goto fail;
	if ((result = store_commit(w->store)) != GA_OK) {
		ingest_commit_done(&w->commit, false);
		goto discard; /* store_commit rolled back */
	}
	ingest_commit_done(&w->commit, true);
	if (gen >= 0) {
		/* The generation as this commit left it: bumped once by the
		 * group's first write of an incident, which, under the lock,
		 * no other writer's bump came between. */
		int64_t bumped = store_incident_gen_txn(w->store);
		if (bumped < 0)
			w->gen_mine = gen;
		else if (bumped == gen + 1)
			w->gen_mine = bumped;
		else {
			w->gen_mine = -1;
			incident_index_discard(w->index);
		}
	}
	return GA_OK;
fail:
	store_rollback(w->store);
	ingest_commit_done(&w->commit, false);
discard:
	/* The index may hold incidents, or states, that were never committed:
	 * it is rebuilt from the store at the next report. */
	incident_index_discard(w->index);
	return result;
}

/* Lets the batches of the sessions that joined the last commit join this
 * one too, waiting at most WRITER_GATHER_US. Called with w->mu held. */
static void ingest_writer_gather(struct ingest_writer *w)
{
	struct timespec ts;

	if (w->last_submits < 2 || w->last_n < WRITER_GATHER_MIN || w->nsubmits >= w->last_submits)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += WRITER_GATHER_US * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (w->nsubmits < w->last_submits && !w->stopping)
		if (pthread_cond_timedwait(&w->work, &w->mu, &ts) == ETIMEDOUT)
			break;
}

/* Waits for work, at most a second: the writer also has periodic duties
 * (flushing receipt acknowledgements, escalating old drafts). */
static void ingest_writer_wait(struct ingest_writer *w)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WRITER_TICK_MS / 1000;
	if (pthread_cond_timedwait(&w->work, &w->mu, &ts) == ETIMEDOUT)
		w->tick = true;
}

/* Bounds the WAL when readers kept the passive checkpoints from
 * finishing (see WRITER_WAL_RESTART_FRAMES). */
static void ingest_writer_wal_bound(struct ingest_writer *w)
{
	int frames = store_wal_frames(w->store), nlog = -1, ndone = -1;

	if (frames <= WRITER_WAL_RESTART_FRAMES ||
	    time_mono_ms() - w->wal_restart_ms < WRITER_WAL_RESTART_EVERY_MS)
		return;
	w->wal_restart_ms = time_mono_ms();
	ga_err e = store_checkpoint(w->store, true, WRITER_WAL_RESTART_WAIT_MS, &nlog, &ndone);
	if (e != GA_OK && time_mono_ms() - w->wal_warned_ms >= WRITER_WAL_WARN_MS) {
		w->wal_warned_ms = time_mono_ms();
		log_warnx(
		    "writer: the WAL holds %d frames (%d checkpointed): a reader holds an old "
		    "snapshot for long; restart failed: %s",
		    nlog, ndone, ga_strerror(e));
	}
}

/* Periodic work, outside any batch: the WAL's bound; the background
 * steps while idle (else the batch first: one step after it); the
 * service's tick. */
static void ingest_writer_tick(struct ingest_writer *w)
{
	ingest_writer_wal_bound(w);
	for (bool idle = true; idle && w->duties.step && w->duties.step(w->store, w->duties.arg);) {
		pthread_mutex_lock(&w->mu);
		idle = !w->head;
		pthread_mutex_unlock(&w->mu);
	}
	if (w->duties.tick)
		w->duties.tick(w->store, w->duties.arg);
}

static void *ingest_writer_main(void *arg)
{
	struct ingest_writer *w = arg;

	int64_t *acks = malloc(WRITER_MAX_ACKS * sizeof(*acks));
	if (!acks)
		fatalx("writer: out of memory");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		w->tick = false;
		while (!w->head && !w->stopping && !w->tick && w->nacks < WRITER_ACKS_FLUSH)
			ingest_writer_wait(w);
		if (!w->head && w->stopping && w->nacks == 0)
			break;
		if (time_mono_ms() - w->last_tick_ms >= WRITER_TICK_MS) {
			w->last_tick_ms = time_mono_ms();
			pthread_mutex_unlock(&w->mu);
			ingest_writer_tick(w);
			pthread_mutex_lock(&w->mu);
		}
		/* Acknowledged receipts alone wait for the next batch, or for
		 * the tick when idle: a transaction (an fsync) of their own
		 * for each would cost more than all the reports. */
		if (!w->head &&
		    (w->nacks == 0 || (!w->tick && !w->stopping && w->nacks < WRITER_ACKS_FLUSH)))
			continue;

		if (w->head)
			ingest_writer_gather(w);
		/* PostgreSQL: the group's transaction is begun, and its lock
		 * waited for, before the group is taken, so that the reports
		 * that queue while another instance's writer has its turn join
		 * this one (fewer, larger turns: each costs its lock, its
		 * read-back and its commit). SQLite: taken first, as ever (its
		 * lock is not waited for behind another instance). Only this
		 * thread takes items: head stays set while unlocked. */
		struct ingest_writer_turn turn = {.begun = false};
		if (w->head && w->take_after_lock) {
			pthread_mutex_unlock(&w->mu);
			turn.begun = true;
			turn.result = ingest_writer_begin(w, true, &turn.gen);
			pthread_mutex_lock(&w->mu);
		}
		/* Take up to batch_max items: everything that queued while the
		 * last commit was running; and the acknowledged receipts. */
		struct ingest_writer_item *batch = w->head, *last = w->head;
		int n = 0, submits = 0;
		if (batch) {
			n = 1;
			submits = last->ends_submit;
			while (last->next && n < w->batch_max) {
				last = last->next;
				n++;
				submits += last->ends_submit;
			}
			w->nsubmits -= submits;
			w->last_submits = submits;
			w->last_n = n;
			w->head = last->next;
			if (!w->head)
				w->tail = NULL;
			last->next = NULL;
		}
		int nacks = w->nacks;
		memcpy(acks, w->acks, (size_t)nacks * sizeof(*acks));
		w->nacks = 0;
		pthread_mutex_unlock(&w->mu);

		ga_err result = ingest_writer_commit_batch(w, batch, acks, nacks, &turn);
		if (result != GA_OK)
			log_warnx_repeat(
			    &w->commit_failed,
			    "writer: commit of %d reports failed: %s; not acknowledged", n,
			    ga_strerror(result));
		else
			log_repeat_over(&w->commit_failed, "writer: commits succeed again");

		if (result == GA_OK && w->duties.committed)
			w->duties.committed(w->store, batch, w->duties.arg);

		pthread_mutex_lock(&w->mu);
		w->last_result = result;
		if (result == GA_ERR_FULL) {
			w->last_fail = result;
			w->last_fail_ms = time_mono_ms();
		}
		for (struct ingest_writer_item *it = batch, *next; it; it = next) {
			next = it->next;
			it->result = result;
			it->done = true;
		}
		pthread_cond_broadcast(&w->done);
		/* The checkpoint a commit would have run inline, now that the
		 * sessions have their answer (store_defer_checkpoints). */
		if (result == GA_OK && store_wal_frames(w->store) >= STORE_WAL_AUTOCHECKPOINT) {
			pthread_mutex_unlock(&w->mu);
			store_checkpoint(w->store, false, 0, NULL, NULL);
			ingest_writer_wal_bound(w);
			pthread_mutex_lock(&w->mu);
		}
		if (result == GA_OK && batch && w->duties.step) {
			pthread_mutex_unlock(&w->mu);
			w->duties.step(w->store, w->duties.arg);
			pthread_mutex_lock(&w->mu);
		}
		if (result != GA_OK && nacks > 0 && w->nacks + nacks <= WRITER_MAX_ACKS) {
			/* Keep them for the next transaction. */
			memcpy(w->acks + w->nacks, acks, (size_t)nacks * sizeof(*acks));
			w->nacks += nacks;
		}
		if (result != GA_OK && w->stopping && !w->head)
			break; /* cannot write: what is left is sent again next start */
	}
	pthread_mutex_unlock(&w->mu);
	free(acks);
	return NULL;
}

ga_err ingest_writer_new(struct store *store, const struct ingest_commit *commit,
			 const struct ingest_writer_duties *duties, int batch_max,
			 struct ingest_writer **out)
{
	struct ingest_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return GA_ERR_NOMEM;
	w->store = store;
	w->commit = *commit;
	w->commit.store = store;
	if (duties)
		w->duties = *duties;
	w->batch_max = batch_max > 0 ? batch_max : 1;
	w->acks = malloc(WRITER_MAX_ACKS * sizeof(*w->acks));
	/* The index of open incidents, on either backend: the incidents'
	 * generation tells the writer when another instance (spec §10), or
	 * anything else, changed incidents (ingest_writer_index_sync). */
	w->gen_mine = -1;
	if (!w->acks || incident_index_new(0, &w->index) != GA_OK) {
		free(w->acks);
		free(w);
		return GA_ERR_NOMEM;
	}
	w->commit.index = w->index;
	w->take_after_lock = store_shared(store);
	store_defer_checkpoints(store, true);
	/* A failure fails the group (ingest_writer_commit_batch); duplicates
	 * are asked first (ingest_commit.c); outbox ids are read after the
	 * commit. */
	store_defer_writes(store, true);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thread, NULL, ingest_writer_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		incident_index_free(w->index);
		free(w->acks);
		free(w);
		return GA_ERR_NOMEM;
	}
	*out = w;
	return GA_OK;
}

ga_err ingest_writer_submit_many(struct ingest_writer *w, struct ingest_writer_item **items, int n)
{
	ga_err result = GA_OK;

	if (n <= 0)
		return GA_OK;
	for (int i = 0; i < n; i++) {
		struct ingest_writer_item *it = items[i];
		it->next = i + 1 < n ? items[i + 1] : NULL;
		it->done = false;
		it->result = GA_OK;
		it->receipt = NULL;
		it->outbox_id = 0;
		it->draft_made = false;
		it->ends_submit = i == n - 1;
		it->stored = WRITER_FOUND_ASK;
		it->same = NULL;
	}
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		result = GA_ERR_SHUTDOWN;
		goto out;
	}
	if (w->tail)
		w->tail->next = items[0];
	else
		w->head = items[0];
	w->tail = items[n - 1];
	w->nsubmits++;
	pthread_cond_signal(&w->work);
	/* The writer finishes items in queue order: the last one done means
	 * all are. */
	while (!items[n - 1]->done)
		pthread_cond_wait(&w->done, &w->mu);
	for (int i = 0; i < n; i++)
		if (items[i]->result != GA_OK && result == GA_OK)
			result = items[i]->result;
out:
	pthread_mutex_unlock(&w->mu);
	return result;
}

ga_err ingest_writer_submit(struct ingest_writer *w, struct ingest_writer_item *it)
{
	return ingest_writer_submit_many(w, &it, 1);
}

void ingest_writer_receipt_acked(struct ingest_writer *w, int64_t outbox_id)
{
	pthread_mutex_lock(&w->mu);
	if (w->nacks < WRITER_MAX_ACKS) {
		w->acks[w->nacks++] = outbox_id;
		if (w->nacks == WRITER_ACKS_FLUSH)
			pthread_cond_signal(&w->work);
	} else if (!w->acks_dropped) {
		w->acks_dropped = true;
		log_warnx("writer: too many receipt acknowledgements queued; some receipts "
			  "will be sent again at the next start");
	}
	pthread_mutex_unlock(&w->mu);
}

ga_err ingest_writer_last_result(struct ingest_writer *w)
{
	pthread_mutex_lock(&w->mu);
	ga_err r = w->last_result;
	if (r == GA_OK && w->last_fail_ms > 0 &&
	    time_mono_ms() - w->last_fail_ms < WRITER_FAIL_HOLD_MS)
		r = w->last_fail;
	pthread_mutex_unlock(&w->mu);
	return r;
}

void ingest_writer_free(struct ingest_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	incident_index_free(w->index);
	free(w->acks);
	free(w);
}
