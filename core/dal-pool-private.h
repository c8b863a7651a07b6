/* dal-pool-private.h: what the files of DalPool share (core/dal-pool*.c).
 * Never installed; nothing here is exported. */
#ifndef DAL_POOL_PRIVATE_H
#define DAL_POOL_PRIVATE_H

#include "dal-private.h"
#include "dal-connection-private.h"  /* DalCall */

G_BEGIN_DECLS

/* Connect retries while the server is down: from BACKOFF_MIN_MS doubling
 * up to BACKOFF_MAX_MS, each with up to 25 % jitter either way. */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 250

/* The longest duration setting the pool takes (100 years, in ms): the
 * pool counts deadlines in microseconds of the monotonic clock, and
 * anything longer means "never" to a program anyway. */
#define POOL_DURATION_MAX_MS ((gint64) 100 * 365 * 24 * 3600 * 1000)

/* Supabase's session pooler accepts this many clients per user and
 * database unless the project raised it. */
#define SUPABASE_SESSION_CLIENT_LIMIT 15

typedef struct _Slot Slot;
typedef struct _Request Request;
typedef struct _PoolCtx PoolCtx;

/* A main context async callers used the pool from: one source there
 * continues the requests served for it and fails those that waited too
 * long (one source per context, not one per request). */
struct _PoolCtx
{
  gint ref_count;
  GMutex lock;              /* guards @pool */
  DalPool *pool;            /* NULL once the pool is disposed */
  GMainContext *context;
  GSource *source;          /* fires when @served is not empty, or at
                             * armed_at */
  GQueue served;            /* Request *, under the pool's lock */
  gint64 armed_at;          /* under the pool's lock: at or before the
                             * earliest deadline of the context's
                             * waiters; 0: none has one */
};

struct _Slot
{
  DalPool *pool;
  DalConnection *conn;      /* the pool's reference: a toggle reference
                             * (pool_toggle_notify()), for the slot's life */
  gint lent;                /* atomic: a borrower holds a reference; the
                             * toggle notification that ends the borrow
                             * clears it (exactly once) */
  GMainContext *home;       /* bound connections: where it lives; NULL for
                             * connections without a home (pgsync) */
  gboolean bound;
  gboolean parked;          /* home is the parking context */
  gboolean pipelines;
  guint load;               /* one-shots in flight */
  gboolean exclusive;       /* borrowed, or an exclusive one-shot */
  gboolean busy;            /* the pool moves, checks, resets or closes it */
  gboolean retiring;        /* closed once nothing runs on it */
  gboolean park_pending;
  gboolean close_after_park;  /* removed while a park of it was queued:
                               * park_now() closes it */
  gboolean faulted;         /* found lost, or a check or reset failed */
  DalSessionEffect dirty;   /* an exclusive one-shot's effect */
  gint64 created_us;
  gint64 expires_us;        /* 0: never */
  gint64 idle_since_us;
  guint64 internal;         /* statements the pool ran on it */
  /* borrowed */
  gboolean borrowed;
  gboolean lent_blocking;   /* by the blocking dal_pool_acquire() */
  gboolean returning;
  char *label;
  gint64 borrowed_us;
  gboolean leak_warned;
};

typedef enum
{
  REQ_ACQUIRE,
  REQ_QUERY,
  REQ_EXECUTE,
  REQ_BATCH,                /* dal-pool-batch.c */
} ReqKind;

struct _Request
{
  DalPool *pool;            /* a reference */
  GList link;               /* in the pool's waiters, then in a queue of
                             * expired or failed requests (no allocation
                             * per queueing) */
  GList served_link;        /* in its context's served queue */
  Request *next_free;       /* in the pool's finished requests */
  ReqKind kind;
  gboolean exclusive;       /* needs a connection of its own */
  gboolean blocking;
  GMainContext *context;    /* async: the caller's (a reference) */
  GTask *task;              /* async one-shots: the caller's */
  DalCall *call;            /* async acquire: the caller's */
  gint in_start;            /* atomic: dal_pool_acquire_async() runs it */
  GCancellable *cancellable;
  gint64 deadline_us;       /* 0: none */
  gint64 timeout_ms;
  PoolCtx *pctx;            /* async, once queued */
  gulong cancel_id;
  gboolean queued;
  gboolean finished;        /* served, failed, timed out or cancelled */
  Slot *slot;
  GError *error;
  char *label;              /* kept by a finished request (for the next
                             * acquire with the same label) */
  /* one-shots */
  char *sql;
  GVariant *params;
  char **texts;
  guint n_texts;
  gboolean texts_form;
  gboolean retried;
  DalSessionEffect effect;  /* of the one-shot's text */
  gboolean needs_check;     /* served: check the connection first */
  gboolean needs_peek;      /* served: ask it whether it was lost (no I/O) */
  gboolean needs_move;      /* served: move it to the caller's context */
  gint ref_count;
  DalConnection *acquired;  /* blocking acquire: the result */
  DalResult *result;        /* blocking one-shot: the result */
  DalBatch *batch;          /* REQ_BATCH: the statements */
  DalBatchResult *batch_result;  /* blocking REQ_BATCH: the result */
};

struct _DalPool
{
  GObject parent_instance;

  DalRegistry *registry;    /* a reference; NULL: the default one */
  DalUrl *url;
  DalUrl *conn_url;         /* without the pool's options */
  DalPoolSettings settings;
  gboolean tx_pooler;

  GMutex lock;
  GCond cond;
  GPtrArray *slots;         /* Slot * */
  GQueue waiters;           /* Request * */
  guint opening;
  guint opens_in_flight;    /* opens whose callback has not finished */
  guint return_threads;     /* returns running on GLib's threads */
  GCancellable *open_cancel;  /* cancels them (dal_pool_close()) */
  GObject *keepalive;       /* the pool's own reference while opens are in
                             * flight after it was disposed on its thread */
  guint waiting_blocking;
  gboolean closed;
  gboolean starting;        /* dal_pool_open() waits for min_size */
  GError *start_error;
  GTask *open_task;         /* dal_pool_open_async()'s */
  GError *last_connect_error;
  gint64 backoff_ms;
  gint64 next_open_us;
  gboolean grow;            /* open one more: no connection was idle */
  guint in_flight;          /* one-shots sent, not yet answered */
  gint64 timer_at;          /* the timer's ready time; 0: unarmed */
  DalPoolStats stats;       /* the counters; gauges are computed */

  GThread *thread;
  GMainContext *hk_context;
  GMainLoop *hk_loop;
  GSource *hk_timer;
  gboolean hk_kick_pending;
  GMainContext *parking;
  GHashTable *contexts;     /* GMainContext * -> PoolCtx * */
  PoolCtx *last_pctx;       /* the one of contexts found last, or NULL */
  DalCallCache *call_cache; /* finished acquire calls, for reuse */
  GMutex free_lock;
  Request *free_requests;   /* finished requests, for reuse (through
                             * next_free; under free_lock) */
  guint n_free_requests;
};



/* What a locked section leaves to do once the lock is released. */
typedef struct
{
  GQueue failed;            /* async Request * with req->error, to complete */
  GQueue to_park;           /* Slot *, live, to park */
  GQueue to_close;          /* Slot *, removed, to close */
  gboolean wake_blocking;
} Work;

#define WORK_INIT { G_QUEUE_INIT, G_QUEUE_INIT, G_QUEUE_INIT, FALSE }

static inline gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

G_GNUC_INTERNAL GError *pool_closed_error (void);
G_GNUC_INTERNAL guint pool_count_idle_locked (DalPool *pool);
G_GNUC_INTERNAL GSource *pool_deadline_source_new (gint64 ready_time);
G_GNUC_INTERNAL void pool_run_on_context (GMainContext *context, GSourceFunc func, gpointer data);
G_GNUC_INTERNAL Slot *pool_slot_new (DalPool *pool, DalConnection *conn);
gint64 _dal_pool_lifetime_end_us (gint64 created_us, gint64 lifetime_ms);
G_GNUC_INTERNAL void pool_slot_free (Slot *s);
G_GNUC_INTERNAL gboolean pool_slot_dead (Slot *s);
G_GNUC_INTERNAL gboolean pool_slot_worn_out (DalPool *pool, Slot *s, gint64 now);
G_GNUC_INTERNAL void pool_slot_remove_locked (DalPool *pool, Slot *s, Work *w);
G_GNUC_INTERNAL void pool_slot_close (Slot *s);
/* Gives @s to @req (taken out of the queue): counts, borrow, load. */
G_GNUC_INTERNAL void pool_claim_locked (DalPool *pool, Slot *s, Request *req);
G_GNUC_INTERNAL void pool_request_dequeue_locked (DalPool *pool, Request *req);
G_GNUC_INTERNAL void pool_serve_waiters_locked (DalPool *pool, Work *w);
/* The same after @s was given back (pool_slot_done_locked() first). */
G_GNUC_INTERNAL void pool_serve_slot_locked (DalPool *pool, Slot *s, Work *w);
G_GNUC_INTERNAL void pool_slot_done_locked (DalPool *pool, Slot *s, Work *w);
G_GNUC_INTERNAL void pool_request_unref (Request *req);
/* Completes an async request with @conn (an acquire's) or req->error. */
G_GNUC_INTERNAL void pool_request_complete (Request *req, DalConnection *conn);
G_GNUC_INTERNAL Request *pool_request_new (DalPool *pool, ReqKind kind, gboolean blocking, GCancellable *cancellable);
/* @label (copied) for an acquire. */
G_GNUC_INTERNAL void pool_request_set_label (Request *req, const char *label);
G_GNUC_INTERNAL void pool_requests_free (DalPool *pool);
G_GNUC_INTERNAL void pool_contexts_drop (DalPool *pool);
G_GNUC_INTERNAL gboolean pool_in_return_thread (void);
G_GNUC_INTERNAL void pool_release_begin (DalConnection *connection);
G_GNUC_INTERNAL void pool_release_end (void);
G_GNUC_INTERNAL void pool_work_run (DalPool *pool, Work *w);
G_GNUC_INTERNAL void pool_request_run (Request *req, gboolean at_head);
G_GNUC_INTERNAL void pool_request_proceed (Request *req);
G_GNUC_INTERNAL void pool_request_propagate_error (Request *req, GError **error);
/* @no_tx: none of the statements could have left a transaction open
 * (_dal_connection_give_back()). */
G_GNUC_INTERNAL void pool_slot_release (Slot *s, DalSessionEffect effect, gboolean no_tx,
                                        gboolean may_block);
G_GNUC_INTERNAL void pool_toggle_notify (gpointer data, GObject *object, gboolean is_last_ref);
G_GNUC_INTERNAL void pool_timer_consider_locked (DalPool *pool, gint64 when_us);
G_GNUC_INTERNAL void pool_kick_locked (DalPool *pool);
G_GNUC_INTERNAL void pool_fail_waiters_locked (DalPool *pool, const GError *error, Work *w);

G_END_DECLS

#endif /* DAL_POOL_PRIVATE_H */
