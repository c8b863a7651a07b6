/* dal-pool.c: DalPool, one connection pool for every plugin.
 *
 * The parts:
 *
 *   - slots: one per open connection.  A slot is idle, runs one-shots
 *     (load > 0: statements in flight, up to `depth` on a plugin that
 *     pipelines, else 1), is exclusive (borrowed, or an exclusive
 *     one-shot), or busy (being moved, checked, reset or closed by the
 *     pool).
 *   - requests: an acquire or a one-shot.  A request that finds no slot
 *     waits in one FIFO queue; whoever frees a slot serves the waiters in
 *     order (a waiter that cannot use what was freed does not hold up
 *     one behind it that can).  Blocking requests wait on the pool's
 *     condition variable, async ones until their context runs them.
 *   - homes: a connection of a plugin that serves async calls natively
 *     (pgasync) lives on one main context.  It is either "live" on the
 *     context of the callers it serves, or "parked" on the pool's parking
 *     context, which nobody ever iterates: a parked connection may be
 *     moved (set_context) by any thread, and blocking calls on it are
 *     safe from any thread.  A live connection stays with its context
 *     after its work (no cost for the next statement from there) and is
 *     parked when a request from elsewhere needs it: at once when nobody
 *     iterates that context, else from an idle callback there.  Nothing
 *     but its own context's thread touches a live connection.
 *     Connections of plugins without native async slots (pgsync) have no
 *     home: the facade's worker thread serves their async calls.
 *   - housekeeping: a thread of the pool's with a main context of its own
 *     opens connections (min_size up front, refills with backoff and
 *     jitter, on-demand growth) and runs one timer for idle timeouts,
 *     lifetimes, leak warnings and connect retries.  It carries no
 *     statement traffic.
 *
 * Locking: one mutex guards the pool's state.  No network I/O, no
 * plugin call that may block, and no user callback happens while it is
 * held.
 */
#include "config.h"

#include <string.h>

#include "dal-private.h"


/* Connect retries while the server is down: from BACKOFF_MIN_MS doubling
 * up to BACKOFF_MAX_MS, each with up to 25 % jitter either way. */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 500

/* Supabase's session pooler accepts this many clients per user and
 * database unless the project raised it. */
#define SUPABASE_SESSION_CLIENT_LIMIT 15

typedef struct _Slot Slot;
typedef struct _Request Request;

struct _Slot
{
  DalPool *pool;
  DalConnection *conn;      /* the pool's reference (a toggle reference
                             * while borrowed) */
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
  gboolean faulted;         /* found lost, or a check or reset failed */
  DalSessionEffect dirty;   /* an exclusive one-shot's effect */
  gint64 created_us;
  gint64 expires_us;        /* 0: never */
  gint64 idle_since_us;
  guint64 internal;         /* statements the pool ran on it */
  /* borrowed */
  gboolean borrowed;
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
} ReqKind;

struct _Request
{
  DalPool *pool;            /* a reference */
  ReqKind kind;
  gboolean exclusive;       /* needs a connection of its own */
  gboolean blocking;
  GMainContext *context;    /* async: the caller's (a reference) */
  GTask *task;              /* async: the caller's */
  GCancellable *cancellable;
  gint64 deadline_us;       /* 0: none */
  gint64 timeout_ms;
  GSource *timeout_source;
  gulong cancel_id;
  gboolean queued;
  gboolean finished;        /* served, failed, timed out or cancelled */
  Slot *slot;
  GError *error;
  char *label;
  /* one-shots */
  char *sql;
  GVariant *params;
  char **texts;
  guint n_texts;
  gboolean texts_form;
  gboolean retried;
  DalSessionEffect effect;  /* of the one-shot's text */
  gboolean needs_check;     /* served: check the connection first */
  gboolean needs_move;      /* served: move it to the caller's context */
  gint ref_count;
  DalConnection *acquired;  /* blocking acquire: the result */
  DalResult *result;        /* blocking one-shot: the result */
};

struct _DalPool
{
  GObject parent_instance;

  DalRegistry *registry;
  DalUrl *url;
  DalUrl *conn_url;         /* without the pool's options */
  DalPoolSettings settings;
  gboolean tx_pooler;

  GMutex lock;
  GCond cond;
  GPtrArray *slots;         /* Slot * */
  GQueue waiters;           /* Request * */
  guint opening;
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
};

G_DEFINE_FINAL_TYPE (DalPool, dal_pool, G_TYPE_OBJECT)

static GQuark slot_quark;

/* What a locked section leaves to do once the lock is released. */
typedef struct
{
  GQueue served;            /* async Request *, to continue on their context */
  GQueue failed;            /* async Request * with req->error, to complete */
  GQueue to_park;           /* Slot *, live, to park */
  GQueue to_close;          /* Slot *, removed, to close */
  gboolean wake_blocking;
} Work;

#define WORK_INIT { G_QUEUE_INIT, G_QUEUE_INIT, G_QUEUE_INIT, G_QUEUE_INIT, FALSE }

static void serve_waiters_locked (DalPool *pool, Work *w);
static void work_run (DalPool *pool, Work *w);
static void kick_locked (DalPool *pool);
static void request_proceed (Request *req);
static void slot_done_locked (DalPool *pool, Slot *slot, Work *w);
static void timer_consider_locked (DalPool *pool, gint64 when_us);

/* -- small things -- */

static gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

static GError *
closed_error (void)
{
  return dal_error_new_hint (DAL_ERROR_CLOSED,
                             "Do not use a pool after dal_pool_close()",
                             "the pool is closed");
}

static guint
count_idle_locked (DalPool *pool)
{
  guint n = 0;
  for (guint i = 0; i < pool->slots->len; i++)
    {
      Slot *s = pool->slots->pdata[i];
      if (s->load == 0 && !s->exclusive && !s->busy)
        n++;
    }
  return n;
}

static GError *
timeout_error_locked (DalPool *pool, gint64 waited_ms)
{
  guint size = pool->slots->len;
  guint idle = count_idle_locked (pool);
  GError *e = dal_error_new_hint (
    DAL_ERROR_POOL_TIMEOUT,
    "Release connections sooner (dal_pool_release()), raise pool_max_size, "
    "or wait longer (pool_acquire_timeout)",
    "no pooled connection became free within %.3g s (size %u of at most %u, "
    "in use %u, idle %u, waiting %u)",
    waited_ms / 1000.0, size, pool->settings.max_size, size - idle, idle,
    g_queue_get_length (&pool->waiters));
  if (pool->last_connect_error != NULL && size == 0)
    {
      g_autofree char *m = g_strdup_printf ("%s; the last attempt to connect "
                                            "failed: %s", e->message,
                                            pool->last_connect_error->message);
      g_free (e->message);
      e->message = g_steal_pointer (&m);
    }
  return e;
}

/* A source that fires at its ready time only (and then not again until
 * its ready time is set again). */
static gboolean
deadline_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  g_source_set_ready_time (source, -1);
  return callback (data);
}

static GSourceFuncs deadline_funcs = { NULL, NULL, deadline_dispatch, NULL, NULL, NULL };

static GSource *
deadline_source_new (gint64 ready_time)
{
  GSource *source = g_source_new (&deadline_funcs, sizeof (GSource));
  g_source_set_ready_time (source, ready_time);
  return source;
}

/* Runs @func on @context's thread with nobody dispatching it elsewhere:
 * at once when nobody iterates @context (this thread then owns it
 * meanwhile), else from an idle callback there. */
static void
run_on_context (GMainContext *context, GSourceFunc func, gpointer data)
{
  if (!g_main_context_is_owner (context) && g_main_context_acquire (context))
    {
      func (data);
      g_main_context_release (context);
      return;
    }
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, func, data, NULL);
  g_source_set_name (idle, "dal pool");
  g_source_attach (idle, context);
  g_source_unref (idle);
}

/* -- slots -- */

static Slot *
slot_new (DalPool *pool, DalConnection *conn)
{
  Slot *s = g_new0 (Slot, 1);
  s->pool = pool;
  s->conn = conn;
  s->bound = _dal_connection_is_context_bound (conn);
  s->pipelines = _dal_connection_pipelines (conn);
  s->created_us = s->idle_since_us = now_us ();
  if (pool->settings.max_lifetime_ms > 0)
    {
      /* Up to 10 % earlier, so that connections opened together do not
       * all expire together. */
      gint64 life = pool->settings.max_lifetime_ms * 1000;
      s->expires_us = s->created_us + life - g_random_int_range (0, life / 10 + 1);
    }
  g_object_set_qdata (G_OBJECT (conn), slot_quark, s);
  return s;
}

static void
slot_free (Slot *s)
{
  g_object_set_qdata (G_OBJECT (s->conn), slot_quark, NULL);
  g_clear_object (&s->conn);
  g_clear_pointer (&s->home, g_main_context_unref);
  g_free (s->label);
  g_free (s);
}

static gboolean
slot_dead (Slot *s)
{
  return dal_connection_is_closed (s->conn);
}

static guint64
slot_user_statements (Slot *s)
{
  guint64 n = _dal_connection_get_n_statements (s->conn);
  return n > s->internal ? n - s->internal : 0;
}

static gboolean
slot_worn_out (DalPool *pool, Slot *s, gint64 now)
{
  if (s->expires_us != 0 && now >= s->expires_us)
    return TRUE;
  return pool->settings.max_queries > 0
         && slot_user_statements (s) >= pool->settings.max_queries;
}

/* Takes @s out of the pool (work_run() closes its connection). */
static void
slot_remove_locked (DalPool *pool, Slot *s, Work *w)
{
  g_ptr_array_remove_fast (pool->slots, s);
  pool->stats.closed++;
  if (s->faulted)
    pool->stats.replaced_after_faults++;
  s->busy = TRUE;
  g_queue_push_tail (&w->to_close, s);
  kick_locked (pool);
}

/* -- closing connections -- */

static gboolean
close_on_home (gpointer data)
{
  Slot *s = data;
  dal_connection_close (s->conn, NULL, NULL);
  slot_free (s);
  return G_SOURCE_REMOVE;
}

/* Closes a removed slot's connection where that is safe. */
static void
slot_close (Slot *s)
{
  if (s->bound && !s->parked && s->home != NULL)
    run_on_context (s->home, close_on_home, s);
  else
    close_on_home (s);
}

/* -- parking a live connection -- */

typedef struct
{
  DalPool *pool;
  Slot *slot;
} SlotRef;

static gboolean
park_now (gpointer data)
{
  SlotRef *ref = data;
  DalPool *pool = ref->pool;
  Slot *s = ref->slot;
  Work w = WORK_INIT;

  g_mutex_lock (&pool->lock);
  s->park_pending = FALSE;
  gboolean can = s->load == 0 && !s->exclusive && !s->busy && !s->parked
                 && !s->returning;
  if (can)
    s->busy = TRUE;
  g_mutex_unlock (&pool->lock);

  gboolean moved = can && _dal_connection_set_context (s->conn, pool->parking);

  g_mutex_lock (&pool->lock);
  if (can)
    {
      s->busy = FALSE;
      if (moved)
        {
          g_clear_pointer (&s->home, g_main_context_unref);
          s->home = g_main_context_ref (pool->parking);
          s->parked = TRUE;
        }
      else
        s->retiring = TRUE;
      slot_done_locked (pool, s, &w);
    }
  serve_waiters_locked (pool, &w);
  g_mutex_unlock (&pool->lock);

  work_run (pool, &w);
  g_object_unref (pool);
  g_free (ref);
  return G_SOURCE_REMOVE;
}

/* -- matching requests and slots -- */

/* Whether @s can take @req now. */
static gboolean
slot_fits (DalPool *pool, Slot *s, Request *req, gint64 now)
{
  if (s->busy || s->retiring || s->exclusive || s->returning)
    return FALSE;
  if (slot_dead (s) || (s->load == 0 && slot_worn_out (pool, s, now)))
    {
      s->faulted = s->faulted || slot_dead (s);
      s->retiring = TRUE;
      return FALSE;
    }
  gboolean shared = !req->exclusive && s->pipelines;
  if (shared ? s->load >= pool->settings.depth : s->load > 0)
    return FALSE;
  if (!s->bound)
    return TRUE;
  if (req->blocking)
    return s->parked;
  /* Async: live on the caller's context, or parked and free to move. */
  if (!s->parked)
    return s->home == req->context;
  return s->load == 0;
}

static Slot *
find_slot_locked (DalPool *pool, Request *req)
{
  gint64 now = now_us ();
  Slot *best = NULL;
  for (guint i = 0; i < pool->slots->len; i++)
    {
      Slot *s = pool->slots->pdata[i];
      if (!slot_fits (pool, s, req, now))
        continue;
      /* Least loaded; among equals one already on the caller's context
       * (no move), then the most recently used (its cache is warm). */
      if (best == NULL || s->load < best->load
          || (s->load == best->load && best->parked && !s->parked)
          || (s->load == best->load && s->parked == best->parked
              && s->idle_since_us > best->idle_since_us))
        best = s;
    }
  return best;
}

/* Gives @s to @req, under the lock; request_proceed() does the rest. */
static void
claim_locked (DalPool *pool, Slot *s, Request *req)
{
  gint64 now = now_us ();
  gboolean was_idle = s->load == 0;
  if (req->exclusive || !s->pipelines)
    s->exclusive = TRUE;
  else
    s->load++;
  req->slot = s;
  req->needs_check = was_idle
                     && now - s->idle_since_us >= pool->settings.check_idle_ms * 1000;
  req->needs_move = s->bound && s->parked && !req->blocking;
  /* Nobody else may start anything on it while it moves or is checked. */
  if (req->needs_move || req->needs_check)
    s->busy = TRUE;
  if (req->needs_move)
    {
      g_clear_pointer (&s->home, g_main_context_unref);
      s->home = g_main_context_ref (req->context);
      s->parked = FALSE;
    }
  if (req->kind == REQ_ACQUIRE)
    {
      s->borrowed = TRUE;
      s->borrowed_us = now;
      s->leak_warned = FALSE;
      g_free (s->label);
      s->label = g_strdup (req->label);
      pool->stats.acquired++;
      if (pool->settings.leak_warning_ms > 0)
        timer_consider_locked (pool, now + pool->settings.leak_warning_ms * 1000);
      g_object_ref (pool);  /* the borrowed connection's */
    }
  else
    {
      pool->in_flight++;
      s->dirty = req->effect;
    }
}

/* A live connection elsewhere that, parked, could serve @req. */
static void
park_for_locked (DalPool *pool, Request *req, Work *w)
{
  for (guint i = 0; i < pool->slots->len; i++)
    {
      Slot *s = pool->slots->pdata[i];
      if (s->bound && !s->parked && s->load == 0 && !s->exclusive && !s->busy
          && !s->retiring && !s->returning && !s->park_pending
          && (req->blocking || s->home != req->context))
        {
          s->park_pending = TRUE;
          g_queue_push_tail (&w->to_park, s);
          return;
        }
    }
}

static void
request_dequeue_locked (DalPool *pool, Request *req)
{
  if (!req->queued)
    return;
  g_queue_remove (&pool->waiters, req);
  req->queued = FALSE;
  if (req->blocking)
    pool->waiting_blocking--;
}

/* Serves the waiting requests, first come first served, with what is
 * free; one that cannot use it does not hold up one behind it that can. */
static void
serve_waiters_locked (DalPool *pool, Work *w)
{
  GList *l = pool->waiters.head;
  while (l != NULL)
    {
      Request *req = l->data;
      l = l->next;
      Slot *s = find_slot_locked (pool, req);
      if (s == NULL)
        {
          park_for_locked (pool, req, w);
          continue;
        }
      request_dequeue_locked (pool, req);
      claim_locked (pool, s, req);
      if (req->blocking)
        w->wake_blocking = TRUE;
      else
        g_queue_push_tail (&w->served, req);
    }
  if (w->wake_blocking)
    g_cond_broadcast (&pool->cond);
  kick_locked (pool);
}

/* A slot finished something (a one-shot, a return, a move): retire it if
 * it must go, else note it idle. */
static void
slot_done_locked (DalPool *pool, Slot *s, Work *w)
{
  gint64 now = now_us ();
  if (s->load > 0 || s->exclusive || s->busy || s->returning)
    return;
  if (slot_dead (s))
    s->faulted = s->retiring = TRUE;
  if (pool->closed || s->retiring || slot_worn_out (pool, s, now))
    {
      slot_remove_locked (pool, s, w);
      return;
    }
  s->idle_since_us = now;
  if (pool->settings.max_idle_ms > 0 && pool->slots->len > pool->settings.min_size)
    timer_consider_locked (pool, now + pool->settings.max_idle_ms * 1000);
}

/* -- requests -- */

static Request *
request_ref (Request *req)
{
  g_atomic_int_inc (&req->ref_count);
  return req;
}

static void
request_unref (Request *req)
{
  if (!g_atomic_int_dec_and_test (&req->ref_count))
    return;
  if (req->cancel_id != 0)
    g_cancellable_disconnect (req->cancellable, req->cancel_id);
  g_clear_object (&req->cancellable);
  g_clear_object (&req->task);
  g_clear_pointer (&req->context, g_main_context_unref);
  g_clear_error (&req->error);
  g_free (req->label);
  g_free (req->sql);
  g_clear_pointer (&req->params, g_variant_unref);
  if (req->texts != NULL)
    for (guint i = 0; i < req->n_texts; i++)
      g_free (req->texts[i]);
  g_free (req->texts);
  g_clear_object (&req->pool);
  g_free (req);
}

static Request *
request_new (DalPool *pool, ReqKind kind, gboolean blocking,
             GCancellable *cancellable)
{
  Request *req = g_new0 (Request, 1);
  req->ref_count = 1;
  req->pool = g_object_ref (pool);
  req->kind = kind;
  req->blocking = blocking;
  req->exclusive = kind == REQ_ACQUIRE || blocking;
  if (cancellable != NULL)
    req->cancellable = g_object_ref (cancellable);
  if (!blocking)
    req->context = g_main_context_ref_thread_default ();
  req->timeout_ms = -1;
  return req;
}

static void
stop_timeout (Request *req)
{
  if (req->timeout_source != NULL)
    {
      g_source_destroy (req->timeout_source);
      g_clear_pointer (&req->timeout_source, g_source_unref);
    }
}

/* Completes an async request with req->error, from a dispatch on its
 * context (never inside a call of the caller's). */
static gboolean
complete_error_now (gpointer data)
{
  Request *req = data;
  stop_timeout (req);
  g_task_return_error (req->task, g_steal_pointer (&req->error));
  request_unref (req);
  return G_SOURCE_REMOVE;
}

static void
complete_error_later (Request *req)
{
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, complete_error_now, req, NULL);
  g_source_set_name (idle, "dal pool completion");
  g_source_attach (idle, req->context);
  g_source_unref (idle);
}

static gboolean
proceed_now (gpointer data)
{
  request_proceed (data);
  return G_SOURCE_REMOVE;
}

/* Everything a locked section left, outside the lock. */
static void
work_run (DalPool *pool, Work *w)
{
  Slot *s;
  Request *req;
  while ((s = g_queue_pop_head (&w->to_close)) != NULL)
    slot_close (s);
  while ((s = g_queue_pop_head (&w->to_park)) != NULL)
    {
      SlotRef *ref = g_new (SlotRef, 1);
      ref->pool = g_object_ref (pool);
      ref->slot = s;
      run_on_context (s->home, park_now, ref);
    }
  while ((req = g_queue_pop_head (&w->served)) != NULL)
    {
      stop_timeout (req);
      GSource *idle = g_idle_source_new ();
      g_source_set_callback (idle, proceed_now, req, NULL);
      g_source_set_name (idle, "dal pool hand-out");
      g_source_attach (idle, req->context);
      g_source_unref (idle);
    }
  while ((req = g_queue_pop_head (&w->failed)) != NULL)
    complete_error_later (req);
}

static gboolean
request_timed_out (gpointer data)
{
  Request *req = data;
  DalPool *pool = req->pool;
  gboolean mine = FALSE;

  g_mutex_lock (&pool->lock);
  if (req->queued)
    {
      request_dequeue_locked (pool, req);
      pool->stats.acquire_timeouts++;
      req->error = timeout_error_locked (pool, req->timeout_ms);
      mine = TRUE;
    }
  g_mutex_unlock (&pool->lock);
  if (mine)
    {
      g_clear_pointer (&req->timeout_source, g_source_unref);
      g_task_return_error (req->task, g_steal_pointer (&req->error));
      request_unref (req);
    }
  return G_SOURCE_REMOVE;
}

static void
request_cancelled (GCancellable *cancellable, gpointer data)
{
  Request *req = data;
  DalPool *pool = req->pool;
  gboolean mine = FALSE;

  g_mutex_lock (&pool->lock);
  if (req->queued)
    {
      request_dequeue_locked (pool, req);
      mine = !req->blocking;
    }
  if (req->blocking)
    g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
  if (mine)
    {
      g_cancellable_set_error_if_cancelled (cancellable, &req->error);
      complete_error_later (req);
    }
}

static gint64
request_timeout_ms (DalPool *pool, Request *req)
{
  return req->timeout_ms >= 0 ? req->timeout_ms : pool->settings.acquire_timeout_ms;
}

/* Finds a slot for @req or queues it (async: with its timeout and
 * cancellation armed).  Blocking requests then wait in request_wait().
 * Returns TRUE when @req got a slot at once (the caller proceeds). */
static gboolean
request_start (Request *req, gboolean at_head)
{
  DalPool *pool = req->pool;
  Work w = WORK_INIT;
  gboolean got = FALSE;

  if (req->cancellable != NULL && g_cancellable_is_cancelled (req->cancellable))
    {
      g_cancellable_set_error_if_cancelled (req->cancellable, &req->error);
      return FALSE;
    }

  g_mutex_lock (&pool->lock);
  if (pool->closed)
    req->error = closed_error ();
  else
    {
      Slot *s = g_queue_is_empty (&pool->waiters) || at_head
                  ? find_slot_locked (pool, req) : NULL;
      if (s != NULL)
        {
          if (s->load > 0)
            pool->grow = TRUE;
          claim_locked (pool, s, req);
          got = TRUE;
        }
      else if (request_timeout_ms (pool, req) == 0 && req->kind == REQ_ACQUIRE
               && req->timeout_ms == 0)
        {
          pool->stats.acquire_timeouts++;
          req->error = timeout_error_locked (pool, 0);
        }
      else
        {
          if (at_head)
            g_queue_push_head (&pool->waiters, req);
          else
            g_queue_push_tail (&pool->waiters, req);
          req->queued = TRUE;
          if (req->blocking)
            pool->waiting_blocking++;
          gint64 t = request_timeout_ms (pool, req);
          if (t > 0 && req->deadline_us == 0)
            req->deadline_us = now_us () + t * 1000;
          park_for_locked (pool, req, &w);
          kick_locked (pool);
        }
    }
  g_mutex_unlock (&pool->lock);
  work_run (pool, &w);

  if (req->queued && !req->blocking)
    {
      if (req->deadline_us != 0 && req->timeout_source == NULL)
        {
          req->timeout_source = deadline_source_new (req->deadline_us);
          g_source_set_callback (req->timeout_source, request_timed_out,
                                 request_ref (req), (GDestroyNotify) request_unref);
          g_source_set_name (req->timeout_source, "dal pool acquire timeout");
          g_source_attach (req->timeout_source, req->context);
        }
      if (req->cancellable != NULL && req->cancel_id == 0)
        req->cancel_id = g_cancellable_connect (req->cancellable,
                                                G_CALLBACK (request_cancelled),
                                                req, NULL);
    }
  return got;
}

/* Blocking: waits until @req was served, timed out or cancelled.  TRUE
 * when it holds a slot. */
static gboolean
request_wait (Request *req)
{
  DalPool *pool = req->pool;
  if (req->error != NULL)
    return FALSE;
  if (req->cancellable != NULL && req->cancel_id == 0)
    req->cancel_id = g_cancellable_connect (req->cancellable,
                                            G_CALLBACK (request_cancelled),
                                            req, NULL);
  g_mutex_lock (&pool->lock);
  while (req->queued)
    {
      if (req->cancellable != NULL && g_cancellable_is_cancelled (req->cancellable))
        {
          request_dequeue_locked (pool, req);
          g_cancellable_set_error_if_cancelled (req->cancellable, &req->error);
          break;
        }
      if (req->deadline_us == 0)
        g_cond_wait (&pool->cond, &pool->lock);
      else if (!g_cond_wait_until (&pool->cond, &pool->lock, req->deadline_us)
               && req->queued && now_us () >= req->deadline_us)
        {
          request_dequeue_locked (pool, req);
          pool->stats.acquire_timeouts++;
          req->error = timeout_error_locked (pool, request_timeout_ms (pool, req));
        }
    }
  if (!req->queued && req->slot == NULL && req->error == NULL)
    req->error = closed_error ();
  g_mutex_unlock (&pool->lock);
  if (req->cancel_id != 0)
    {
      g_cancellable_disconnect (req->cancellable, req->cancel_id);
      req->cancel_id = 0;
    }
  return req->slot != NULL;
}

/* -- giving a slot back -- */

/* The statements that undo session state a borrower may have left
 * (direct and session-pooled connections only). */
static const char * const session_reset[] = {
  "CLOSE ALL",
  "UNLISTEN *",
  "SELECT pg_advisory_unlock_all()",
  "RESET ALL",
};

typedef enum
{
  RETURN_OK,
  RETURN_RETIRE,            /* close it: its state cannot be reset */
  RETURN_FAULT,             /* close it: it is lost, or the reset failed */
} ReturnOutcome;

typedef struct
{
  Slot *slot;
  gboolean rollback;
  gboolean session;
  guint pending;
  gboolean failed;
} Reset;

/* The slot's borrower or exclusive one-shot is done and its reset too. */
static void
finish_return (Slot *s, ReturnOutcome outcome)
{
  DalPool *pool = s->pool;
  Work w = WORK_INIT;
  gboolean borrowed;

  g_mutex_lock (&pool->lock);
  borrowed = s->borrowed;
  s->borrowed = s->returning = s->exclusive = FALSE;
  s->dirty = DAL_SESSION_CLEAN;
  g_clear_pointer (&s->label, g_free);
  if (outcome != RETURN_OK)
    s->retiring = TRUE;
  if (outcome == RETURN_FAULT)
    s->faulted = TRUE;
  slot_done_locked (pool, s, &w);
  serve_waiters_locked (pool, &w);
  g_mutex_unlock (&pool->lock);

  work_run (pool, &w);
  if (borrowed)
    g_object_unref (pool);
}

static void
reset_blocking (Reset *r)
{
  Slot *s = r->slot;
  GError *error = NULL;
  if (r->rollback)
    {
      s->internal++;
      if (!dal_connection_rollback (s->conn, NULL, &error))
        r->failed = TRUE;
    }
  for (guint i = 0; r->session && !r->failed && i < G_N_ELEMENTS (session_reset); i++)
    {
      s->internal++;
      DalResult *res = dal_connection_query (s->conn, session_reset[i], NULL,
                                             NULL, &error);
      if (res == NULL)
        r->failed = TRUE;
      else
        dal_result_unref (res);
    }
  if (error != NULL)
    g_debug ("resetting a pooled connection failed, it is replaced: %s",
             error->message);
  g_clear_error (&error);
  finish_return (s, r->failed ? RETURN_FAULT : RETURN_OK);
  g_free (r);
}

static void
reset_in_thread (GTask *task, gpointer source, gpointer data,
                 GCancellable *cancellable)
{
  reset_blocking (data);
  g_task_return_boolean (task, TRUE);
}

static void
reset_step_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Reset *r = data;
  GError *error = NULL;
  DalResult *res = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                &error);
  if (res == NULL)
    {
      g_debug ("resetting a pooled connection failed, it is replaced: %s",
               error->message);
      g_error_free (error);
      r->failed = TRUE;
    }
  else
    dal_result_unref (res);
  if (--r->pending > 0)
    return;
  finish_return (r->slot, r->failed ? RETURN_FAULT : RETURN_OK);
  g_free (r);
}

/* On the connection's home: every reset statement at once (a plugin
 * that pipelines sends them together), done when the last answered. */
static gboolean
reset_async (gpointer data)
{
  Reset *r = data;
  Slot *s = r->slot;
  if (r->rollback)
    {
      r->pending++;
      s->internal++;
      dal_connection_query_async (s->conn, "ROLLBACK", NULL, NULL,
                                  reset_step_done, r);
    }
  for (guint i = 0; r->session && i < G_N_ELEMENTS (session_reset); i++)
    {
      r->pending++;
      s->internal++;
      dal_connection_query_async (s->conn, session_reset[i], NULL, NULL,
                                  reset_step_done, r);
    }
  return G_SOURCE_REMOVE;
}

typedef struct
{
  Slot *slot;
  DalSessionEffect effect;
} Released;

static void slot_release (Slot *s, DalSessionEffect effect, gboolean may_block);

static void
release_in_thread (GTask *task, gpointer source, gpointer data,
                   GCancellable *cancellable)
{
  Released *rel = data;
  _dal_connection_wait_idle (rel->slot->conn);
  slot_release (rel->slot, rel->effect, TRUE);
  g_task_return_boolean (task, TRUE);
}

/* A borrowed connection came back, or an exclusive one-shot is done:
 * ROLLBACK when a transaction is open; the session reset when its state
 * changed (never through a transaction pooler, where session commands
 * reach another client's server connection); nothing at all when it is
 * clean.  @may_block: the caller is a blocking call of the caller's own,
 * which may wait for the reset. */
static void
slot_release (Slot *s, DalSessionEffect effect, gboolean may_block)
{
  DalPool *pool = s->pool;
  if (slot_dead (s))
    {
      finish_return (s, RETURN_FAULT);
      return;
    }
  DalTxStatus tx = _dal_connection_get_tx_status (s->conn);
  if (tx == DAL_TX_UNKNOWN && !s->bound && !may_block)
    {
      /* The facade's worker has not let go of it yet (the borrower's last
       * reference may even be dropped on that worker): look again from a
       * thread of GLib's pool, once the worker is done. */
      Released *rel = g_new (Released, 1);
      rel->slot = s;
      rel->effect = effect;
      GTask *t = g_task_new (NULL, NULL, NULL, NULL);
      g_task_set_task_data (t, rel, g_free);
      g_task_run_in_thread (t, release_in_thread);
      g_object_unref (t);
      return;
    }
  gboolean rollback = tx != DAL_TX_IDLE;
  gboolean session = !pool->tx_pooler && effect == DAL_SESSION_RESETTABLE;
  if (!pool->tx_pooler && effect == DAL_SESSION_REPLACE)
    {
      g_mutex_lock (&pool->lock);
      pool->stats.resets++;
      g_mutex_unlock (&pool->lock);
      finish_return (s, RETURN_RETIRE);
      return;
    }
  if (!rollback && !session)
    {
      finish_return (s, RETURN_OK);
      return;
    }

  g_mutex_lock (&pool->lock);
  pool->stats.resets++;
  g_mutex_unlock (&pool->lock);

  Reset *r = g_new0 (Reset, 1);
  r->slot = s;
  r->rollback = rollback;
  r->session = session;
  if (s->bound && !s->parked)
    run_on_context (s->home, reset_async, r);
  else if (may_block)
    reset_blocking (r);
  else
    {
      /* Perhaps on the facade's worker thread, or inside a plugin: the
       * blocking reset runs on a thread of GLib's pool. */
      GTask *t = g_task_new (NULL, NULL, NULL, NULL);
      g_task_set_task_data (t, r, NULL);
      g_task_run_in_thread (t, reset_in_thread);
      g_object_unref (t);
    }
}

/* The borrower dropped its last reference: the connection goes back. */
static void
toggle_notify (gpointer data, GObject *object, gboolean is_last_ref)
{
  Slot *s = data;
  DalPool *pool = s->pool;
  if (!is_last_ref)
    return;
  g_mutex_lock (&pool->lock);
  gboolean go = s->borrowed && !s->returning;
  if (go)
    s->returning = TRUE;
  g_mutex_unlock (&pool->lock);
  if (!go)
    return;
  g_object_ref (object);
  g_object_remove_toggle_ref (object, toggle_notify, s);
  _dal_connection_track_session (s->conn, FALSE);
  slot_release (s, _dal_connection_take_session_effect (s->conn), FALSE);
}

/* -- a served request goes on -- */

static void request_go (Request *req);

/* Gives up what claim_locked() took, for a slot that turned out bad. */
static void
unclaim_locked (DalPool *pool, Slot *s, Request *req, Work *w)
{
  s->busy = FALSE;
  if (s->exclusive && (req->exclusive || !s->pipelines))
    s->exclusive = FALSE;
  else if (s->load > 0)
    s->load--;
  if (req->kind == REQ_ACQUIRE)
    {
      s->borrowed = FALSE;
      pool->stats.acquired--;
    }
  else
    pool->in_flight--;
  s->retiring = TRUE;
  slot_done_locked (pool, s, w);
}

/* The slot given to @req could not be used (lost while idle, its check
 * failed, it could not move): it is replaced and @req tries again, at the
 * head of the queue. */
static void
request_retry_slot (Request *req, gboolean fault, gboolean check_failed)
{
  DalPool *pool = req->pool;
  Slot *s = req->slot;
  Work w = WORK_INIT;

  g_mutex_lock (&pool->lock);
  if (fault)
    s->faulted = TRUE;
  if (check_failed)
    pool->stats.failed_health_checks++;
  unclaim_locked (pool, s, req, &w);
  gboolean was_acquire = req->kind == REQ_ACQUIRE;
  g_mutex_unlock (&pool->lock);
  work_run (pool, &w);
  if (was_acquire)
    g_object_unref (pool);

  req->slot = NULL;
  if (request_start (req, TRUE) || (req->blocking && request_wait (req)))
    request_proceed (req);
  else if (req->error != NULL && !req->blocking)
    {
      g_task_return_error (req->task, g_steal_pointer (&req->error));
      request_unref (req);
    }
}

static void
check_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Request *req = data;
  GError *error = NULL;
  DalResult *res = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                &error);
  if (res == NULL)
    {
      g_debug ("a pooled connection failed its check and is replaced: %s",
               error->message);
      g_error_free (error);
      request_retry_slot (req, TRUE, TRUE);
      return;
    }
  dal_result_unref (res);
  request_go (req);
}

/* On the caller's thread (blocking) or on the caller's context (async):
 * move the connection there, check it, then hand it out or run the
 * one-shot. */
static void
request_proceed (Request *req)
{
  Slot *s = req->slot;
  if (req->needs_move && !_dal_connection_set_context (s->conn, req->context))
    {
      request_retry_slot (req, FALSE, FALSE);
      return;
    }
  req->needs_move = FALSE;
  if ((s->exclusive || s->load == 1) && !_dal_connection_check_idle (s->conn))
    {
      request_retry_slot (req, TRUE, FALSE);
      return;
    }
  if (req->needs_check)
    {
      req->needs_check = FALSE;
      s->internal++;
      if (!req->blocking)
        {
          dal_connection_query_async (s->conn, "SELECT 1", NULL, NULL,
                                      check_done, req);
          return;
        }
      GError *error = NULL;
      DalResult *res = dal_connection_query (s->conn, "SELECT 1", NULL, NULL,
                                             &error);
      if (res == NULL)
        {
          g_debug ("a pooled connection failed its check and is replaced: %s",
                   error->message);
          g_error_free (error);
          request_retry_slot (req, TRUE, TRUE);
          return;
        }
      dal_result_unref (res);
    }
  request_go (req);
}

static void oneshot_done (GObject *source, GAsyncResult *result, gpointer data);
static void oneshot_finish (Request *req, DalResult *result, GError *error);

static void
request_go (Request *req)
{
  DalPool *pool = req->pool;
  Slot *s = req->slot;
  if (s->busy)
    {
      Work w = WORK_INIT;
      g_mutex_lock (&pool->lock);
      s->busy = FALSE;
      serve_waiters_locked (pool, &w);
      g_mutex_unlock (&pool->lock);
      work_run (pool, &w);
    }

  if (req->kind == REQ_ACQUIRE)
    {
      DalConnection *conn = s->conn;
      _dal_connection_take_session_effect (conn);
      _dal_connection_track_session (conn, TRUE);
      /* The pool keeps a toggle reference; its own becomes the
       * borrower's. */
      g_object_add_toggle_ref (G_OBJECT (conn), toggle_notify, s);
      if (req->blocking)
        req->acquired = conn;
      else
        {
          g_task_return_pointer (req->task, conn, g_object_unref);
          request_unref (req);
        }
      return;
    }

  if (req->blocking)
    {
      GError *error = NULL;
      DalResult *res = req->texts_form
        ? dal_connection_query_texts (s->conn, req->sql, req->n_texts,
                                      (const char * const *) req->texts,
                                      req->cancellable, &error)
        : dal_connection_query (s->conn, req->sql, req->params,
                                req->cancellable, &error);
      oneshot_finish (req, res, error);
      return;
    }
  if (req->texts_form)
    dal_connection_query_texts_async (s->conn, req->sql, req->n_texts,
                                      (const char * const *) req->texts,
                                      req->cancellable, oneshot_done, req);
  else
    dal_connection_query_async (s->conn, req->sql, req->params,
                                req->cancellable, oneshot_done, req);
}

/* A statement that failed with 57014 although neither its caller nor its
 * command_timeout cancelled it was hit by a cancel request meant for
 * another statement (PostgreSQL cancels whatever the backend runs when
 * the request arrives).  A one-shot is its own implicit transaction, so
 * it was rolled back, and running it again is safe. */
static gboolean
hit_by_foreign_cancel (Request *req, const GError *error)
{
  return error != NULL
         && g_error_matches (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED)
         && g_strcmp0 (dal_error_get_sqlstate (error), "57014") == 0
         && (req->cancellable == NULL
             || !g_cancellable_is_cancelled (req->cancellable));
}

static void
oneshot_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GError *error = NULL;
  DalResult *res = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                &error);
  oneshot_finish (data, res, error);
}

static void
oneshot_finish (Request *req, DalResult *result, GError *error)
{
  DalPool *pool = req->pool;
  Slot *s = req->slot;
  Work w = WORK_INIT;
  gboolean retry = !req->retried && hit_by_foreign_cancel (req, error);

  g_mutex_lock (&pool->lock);
  pool->in_flight--;
  if (retry)
    pool->stats.retried++;
  else
    pool->stats.one_shots++;
  gboolean exclusive = s->exclusive;
  if (!exclusive)
    {
      s->load--;
      slot_done_locked (pool, s, &w);
      serve_waiters_locked (pool, &w);
    }
  else
    s->returning = TRUE;
  g_mutex_unlock (&pool->lock);
  work_run (pool, &w);
  if (exclusive)
    slot_release (s, s->dirty, req->blocking);
  req->slot = NULL;

  if (retry)
    {
      g_clear_error (&error);
      req->retried = TRUE;
      if (request_start (req, TRUE) || (req->blocking && request_wait (req)))
        request_proceed (req);
      else if (req->error != NULL && !req->blocking)
        {
          g_task_return_error (req->task, g_steal_pointer (&req->error));
          request_unref (req);
        }
      return;
    }

  if (req->blocking)
    {
      req->result = result;
      req->error = error;
      return;
    }
  if (result != NULL)
    g_task_return_pointer (req->task, result, (GDestroyNotify) dal_result_unref);
  else
    g_task_return_error (req->task, error);
  request_unref (req);
}

/* -- housekeeping: opening connections, timers -- */

typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
} HkThread;

static gpointer
hk_thread_main (gpointer data)
{
  HkThread *hk = data;
  g_main_context_push_thread_default (hk->context);
  g_main_loop_run (hk->loop);
  g_main_context_pop_thread_default (hk->context);
  g_main_loop_unref (hk->loop);
  g_main_context_unref (hk->context);
  g_free (hk);
  return NULL;
}

static void
timer_consider_locked (DalPool *pool, gint64 when_us)
{
  if (pool->hk_timer == NULL || when_us <= 0)
    return;
  if (pool->timer_at == 0 || when_us < pool->timer_at)
    {
      pool->timer_at = when_us;
      g_source_set_ready_time (pool->hk_timer, when_us);
    }
}

/* How many connections to open now. */
static guint
opens_needed_locked (DalPool *pool, gint64 now)
{
  if (pool->closed)
    return 0;
  guint total = pool->slots->len + pool->opening;
  guint max = pool->settings.max_size;
  if (total >= max)
    return 0;
  guint need = total < pool->settings.min_size ? pool->settings.min_size - total : 0;
  /* Waiters: one connection per exclusive waiter, one per `depth`
   * shared ones. */
  guint exclusive = 0, shared = 0;
  for (GList *l = pool->waiters.head; l != NULL; l = l->next)
    {
      Request *req = l->data;
      if (req->exclusive)
        exclusive++;
      else
        shared++;
    }
  guint want = exclusive + (shared + pool->settings.depth - 1) / pool->settings.depth;
  if (want > pool->opening)
    need = MAX (need, want - pool->opening);
  if (pool->grow && need == 0 && pool->opening == 0)
    need = 1;
  need = MIN (need, max - total);
  if (need > 0 && now < pool->next_open_us)
    {
      timer_consider_locked (pool, pool->next_open_us);
      return 0;
    }
  pool->grow = FALSE;
  return need;
}

static void open_done (GObject *source, GAsyncResult *result, gpointer data);

static gboolean
hk_kick (gpointer data)
{
  DalPool *pool = data;
  g_mutex_lock (&pool->lock);
  pool->hk_kick_pending = FALSE;
  guint n = opens_needed_locked (pool, now_us ());
  pool->opening += n;
  g_mutex_unlock (&pool->lock);
  for (guint i = 0; i < n; i++)
    dal_connection_open_url_async (pool->registry, pool->conn_url, NULL,
                                   open_done, g_object_ref (pool));
  return G_SOURCE_REMOVE;
}

/* Asks the housekeeping thread to open what is missing. */
static void
kick_locked (DalPool *pool)
{
  if (pool->closed || pool->hk_kick_pending || pool->hk_context == NULL)
    return;
  guint total = pool->slots->len + pool->opening;
  if (total >= pool->settings.max_size)
    return;
  if (total >= pool->settings.min_size && g_queue_is_empty (&pool->waiters)
      && !pool->grow)
    return;
  pool->hk_kick_pending = TRUE;
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, hk_kick, g_object_ref (pool), g_object_unref);
  g_source_set_name (idle, "dal pool open");
  g_source_attach (idle, pool->hk_context);
  g_source_unref (idle);
}

/* Fails every waiter with a copy of @error (nothing can serve them:
 * the pool has no connection and could not open one). */
static void
fail_waiters_locked (DalPool *pool, const GError *error, Work *w)
{
  Request *req;
  while ((req = g_queue_peek_head (&pool->waiters)) != NULL)
    {
      request_dequeue_locked (pool, req);
      req->error = g_error_copy (error);
      if (req->blocking)
        w->wake_blocking = TRUE;
      else
        g_queue_push_tail (&w->failed, req);
    }
  if (w->wake_blocking)
    g_cond_broadcast (&pool->cond);
}

static gint64
jitter_ms (gint64 ms)
{
  /* ±25 % */
  return ms - ms / 4 + g_random_int_range (0, (gint32) (ms / 2) + 1);
}

static void
open_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DalPool *pool = data;
  GError *error = NULL;
  Work w = WORK_INIT;
  GTask *open_task = NULL;
  DalConnection *conn = dal_connection_open_finish (result, &error);

  if (conn != NULL && _dal_connection_is_context_bound (conn)
      && !_dal_connection_set_context (conn, pool->parking))
    {
      error = dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Update the plugin to plugin ABI 1.2 (the set_context slot)",
        "plugin %s serves async calls on a main context but cannot move a "
        "connection to another one, which a pool needs",
        dal_connection_get_plugin_name (conn));
      dal_connection_close (conn, NULL, NULL);
      g_clear_object (&conn);
    }

  g_mutex_lock (&pool->lock);
  pool->opening--;
  gint64 now = now_us ();
  if (conn != NULL && pool->closed)
    {
      Slot *s = slot_new (pool, g_steal_pointer (&conn));
      g_queue_push_tail (&w.to_close, s);
    }
  else if (conn != NULL)
    {
      Slot *s = slot_new (pool, g_steal_pointer (&conn));
      if (s->bound)
        {
          s->home = g_main_context_ref (pool->parking);
          s->parked = TRUE;
        }
      g_ptr_array_add (pool->slots, s);
      pool->stats.created++;
      pool->backoff_ms = 0;
      pool->next_open_us = 0;
      g_clear_error (&pool->last_connect_error);
      timer_consider_locked (pool, s->expires_us);
      if (pool->settings.max_idle_ms > 0 && pool->slots->len > pool->settings.min_size)
        timer_consider_locked (pool, now + pool->settings.max_idle_ms * 1000);
      serve_waiters_locked (pool, &w);
    }
  else
    {
      pool->stats.connect_failures++;
      g_clear_error (&pool->last_connect_error);
      pool->last_connect_error = g_error_copy (error);
      pool->backoff_ms = pool->backoff_ms == 0
                           ? BACKOFF_MIN_MS
                           : MIN (pool->backoff_ms * 2, BACKOFF_MAX_MS);
      pool->next_open_us = now + jitter_ms (pool->backoff_ms) * 1000;
      if (pool->starting && pool->start_error == NULL)
        pool->start_error = g_error_copy (error);
      if (pool->slots->len == 0 && pool->opening == 0)
        fail_waiters_locked (pool, error, &w);
      /* The retry: the timer kicks once the backoff has passed. */
      if (!pool->starting)
        opens_needed_locked (pool, now);
    }
  if (pool->starting
      && (pool->start_error != NULL || pool->slots->len >= pool->settings.min_size))
    {
      if (pool->open_task != NULL)
        {
          open_task = g_steal_pointer (&pool->open_task);
          pool->starting = FALSE;
        }
      g_cond_broadcast (&pool->cond);
    }
  g_mutex_unlock (&pool->lock);

  work_run (pool, &w);
  g_clear_error (&error);
  if (open_task != NULL)
    {
      GError *start_error = NULL;
      g_mutex_lock (&pool->lock);
      start_error = g_steal_pointer (&pool->start_error);
      g_mutex_unlock (&pool->lock);
      if (start_error != NULL)
        {
          dal_pool_close (pool);
          g_task_return_error (open_task, start_error);
        }
      else
        g_task_return_pointer (open_task, g_object_ref (pool), g_object_unref);
      g_object_unref (open_task);
    }
  g_object_unref (pool);
}

typedef struct
{
  char *label;
  gint64 held_ms;
} Leak;

static gboolean
hk_timer_fired (gpointer data)
{
  DalPool *pool = data;
  Work w = WORK_INIT;
  GArray *leaks = g_array_new (FALSE, FALSE, sizeof (Leak));
  gint64 now = now_us ();
  const DalPoolSettings *st = &pool->settings;

  g_mutex_lock (&pool->lock);
  pool->timer_at = 0;
  g_source_set_ready_time (pool->hk_timer, -1);
  if (pool->closed)
    {
      g_mutex_unlock (&pool->lock);
      g_array_free (leaks, TRUE);
      return G_SOURCE_CONTINUE;
    }
  GPtrArray *expired = g_ptr_array_new ();
  guint idle_closable = pool->slots->len > st->min_size
                          ? pool->slots->len - st->min_size : 0;
  for (guint i = 0; i < pool->slots->len; i++)
    {
      Slot *s = pool->slots->pdata[i];
      if (s->borrowed && st->leak_warning_ms > 0 && !s->leak_warned)
        {
          gint64 due = s->borrowed_us + st->leak_warning_ms * 1000;
          if (now >= due)
            {
              Leak leak = { g_strdup (s->label), (now - s->borrowed_us) / 1000 };
              g_array_append_val (leaks, leak);
              s->leak_warned = TRUE;
            }
          else
            timer_consider_locked (pool, due);
        }
      if (s->load > 0 || s->exclusive || s->busy || s->returning)
        {
          timer_consider_locked (pool, s->expires_us);
          continue;
        }
      if (slot_worn_out (pool, s, now) || slot_dead (s))
        {
          s->faulted = slot_dead (s);
          g_ptr_array_add (expired, s);
          continue;
        }
      timer_consider_locked (pool, s->expires_us);
      if (st->max_idle_ms > 0 && idle_closable > 0)
        {
          gint64 due = s->idle_since_us + st->max_idle_ms * 1000;
          if (now >= due)
            {
              g_ptr_array_add (expired, s);
              idle_closable--;
            }
          else
            timer_consider_locked (pool, due);
        }
    }
  for (guint i = 0; i < expired->len; i++)
    slot_remove_locked (pool, expired->pdata[i], &w);
  g_ptr_array_free (expired, TRUE);
  kick_locked (pool);
  if (pool->next_open_us > now)
    timer_consider_locked (pool, pool->next_open_us);
  g_mutex_unlock (&pool->lock);

  for (guint i = 0; i < leaks->len; i++)
    {
      Leak *leak = &g_array_index (leaks, Leak, i);
      g_warning ("a pooled connection acquired at %s has been held for %.1f s "
                 "(pool_leak_warning=%g s): release it with dal_pool_release() "
                 "or drop its last reference",
                 leak->label != NULL ? leak->label
                                     : "(no label: pass one to dal_pool_acquire())",
                 leak->held_ms / 1000.0, st->leak_warning_ms / 1000.0);
      g_free (leak->label);
    }
  g_array_free (leaks, TRUE);
  work_run (pool, &w);
  return G_SOURCE_CONTINUE;
}

/* -- lifetime -- */

void
dal_pool_close (DalPool *pool)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  Work w = WORK_INIT;

  g_mutex_lock (&pool->lock);
  if (pool->closed)
    {
      g_mutex_unlock (&pool->lock);
      return;
    }
  pool->closed = TRUE;
  GError *closed = closed_error ();
  fail_waiters_locked (pool, closed, &w);
  g_error_free (closed);
  for (guint i = pool->slots->len; i > 0; i--)
    {
      Slot *s = pool->slots->pdata[i - 1];
      if (s->load == 0 && !s->exclusive && !s->busy && !s->returning)
        slot_remove_locked (pool, s, &w);
    }
  g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
  work_run (pool, &w);
}

static void
dal_pool_dispose (GObject *object)
{
  DalPool *pool = DAL_POOL (object);
  dal_pool_close (pool);
  if (pool->thread != NULL)
    {
      g_source_destroy (pool->hk_timer);
      g_main_loop_quit (pool->hk_loop);
      if (g_thread_self () != pool->thread)
        g_thread_join (pool->thread);
      else
        g_thread_unref (pool->thread);
      pool->thread = NULL;
    }
  G_OBJECT_CLASS (dal_pool_parent_class)->dispose (object);
}

static void
dal_pool_finalize (GObject *object)
{
  DalPool *pool = DAL_POOL (object);
  /* Everything that uses a slot holds a reference: none is in use. */
  for (guint i = 0; i < pool->slots->len; i++)
    slot_close (pool->slots->pdata[i]);
  g_ptr_array_free (pool->slots, TRUE);
  g_clear_pointer (&pool->hk_timer, g_source_unref);
  g_clear_pointer (&pool->hk_loop, g_main_loop_unref);
  g_clear_pointer (&pool->hk_context, g_main_context_unref);
  g_clear_pointer (&pool->parking, g_main_context_unref);
  g_clear_error (&pool->last_connect_error);
  g_clear_error (&pool->start_error);
  g_clear_pointer (&pool->url, dal_url_unref);
  g_clear_pointer (&pool->conn_url, dal_url_unref);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->cond);
  G_OBJECT_CLASS (dal_pool_parent_class)->finalize (object);
}

static void
dal_pool_class_init (DalPoolClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dal_pool_dispose;
  G_OBJECT_CLASS (klass)->finalize = dal_pool_finalize;
  slot_quark = g_quark_from_static_string ("dal-pool-slot");
}

static void
dal_pool_init (DalPool *pool)
{
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->cond);
  pool->slots = g_ptr_array_new ();
  g_queue_init (&pool->waiters);
}

/* Supabase's session pooler (port 5432 on *.pooler.supabase.com) turns
 * clients away past its client limit. */
static void
warn_session_pooler (DalPool *pool)
{
  if (pool->settings.max_size <= SUPABASE_SESSION_CLIENT_LIMIT)
    return;
  for (guint i = 0; i < dal_url_get_n_hosts (pool->url); i++)
    {
      const char *port = dal_url_get_port (pool->url, i);
      if (dal_hostname_has_suffix (dal_url_get_host (pool->url, i),
                                   "pooler.supabase.com")
          && (port == NULL || *port == '\0' || strcmp (port, "5432") == 0))
        {
          g_warning ("pool_max_size=%u is above the %u clients Supabase's session "
                     "pooler (port 5432) accepts per user and database by "
                     "default: connections past it fail with \"max clients "
                     "reached\". Lower pool_max_size, raise the pooler's "
                     "limit, or use the transaction pooler (port 6543)",
                     pool->settings.max_size, SUPABASE_SESSION_CLIENT_LIMIT);
          return;
        }
    }
}

static DalPool *
pool_new (DalRegistry *registry, DalUrl *url, const DalPoolSettings *settings,
          GError **error)
{
  DalPoolSettings st;
  dal_pool_settings_init (&st);
  /* The URL's pool options are checked even when @settings win. */
  if (!dal_pool_settings_from_url (&st, url, error))
    return NULL;
  if (settings != NULL)
    {
      st = *settings;
      if (!dal_pool_settings_check (&st, error))
        return NULL;
    }

  DalPool *pool = g_object_new (DAL_TYPE_POOL, NULL);
  pool->registry = registry;
  pool->url = dal_url_ref (url);
  pool->conn_url = _dal_url_without_pool_options (url);
  pool->settings = st;
  pool->tx_pooler = dal_url_is_transaction_pooler (url);
  pool->parking = g_main_context_new ();
  warn_session_pooler (pool);

  pool->hk_context = g_main_context_new ();
  pool->hk_loop = g_main_loop_new (pool->hk_context, FALSE);
  pool->hk_timer = deadline_source_new (-1);
  g_source_set_callback (pool->hk_timer, hk_timer_fired, pool, NULL);
  g_source_set_name (pool->hk_timer, "dal pool timer");
  g_source_attach (pool->hk_timer, pool->hk_context);
  HkThread *hk = g_new (HkThread, 1);
  hk->context = g_main_context_ref (pool->hk_context);
  hk->loop = g_main_loop_ref (pool->hk_loop);
  pool->thread = g_thread_new ("dal-pool", hk_thread_main, hk);
  return pool;
}

static void
open_cancelled (GCancellable *cancellable, gpointer data)
{
  DalPool *pool = data;
  g_mutex_lock (&pool->lock);
  g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
}

DalPool *
dal_pool_open_url (DalRegistry *registry, DalUrl *url,
                   const DalPoolSettings *settings, GCancellable *cancellable,
                   GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  DalPool *pool = pool_new (registry, url, settings, error);
  if (pool == NULL)
    return NULL;
  gulong id = cancellable != NULL
                ? g_cancellable_connect (cancellable, G_CALLBACK (open_cancelled),
                                         pool, NULL)
                : 0;
  GError *failed = NULL;
  g_mutex_lock (&pool->lock);
  pool->starting = TRUE;
  kick_locked (pool);
  while (pool->start_error == NULL && pool->slots->len < pool->settings.min_size
         && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait (&pool->cond, &pool->lock);
  pool->starting = FALSE;
  failed = g_steal_pointer (&pool->start_error);
  g_mutex_unlock (&pool->lock);
  if (id != 0)
    g_cancellable_disconnect (cancellable, id);
  if (failed == NULL)
    g_cancellable_set_error_if_cancelled (cancellable, &failed);
  if (failed != NULL)
    {
      dal_error_redact (failed, dal_url_get_password (url));
      g_propagate_error (error, failed);
      dal_pool_close (pool);
      g_object_unref (pool);
      return NULL;
    }
  return pool;
}

DalPool *
dal_pool_open (const char *url, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_autoptr (DalUrl) parsed = dal_url_parse (url, error);
  if (parsed == NULL)
    return NULL;
  return dal_pool_open_url (NULL, parsed, NULL, cancellable, error);
}

void
dal_pool_open_url_async (DalRegistry *registry, DalUrl *url,
                         const DalPoolSettings *settings,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (url != NULL);
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dal_pool_open_url_async);
  GError *error = NULL;
  DalPool *pool = pool_new (registry, url, settings, &error);
  if (pool == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_mutex_lock (&pool->lock);
  if (pool->settings.min_size == 0)
    {
      g_mutex_unlock (&pool->lock);
      g_task_return_pointer (task, pool, g_object_unref);
      g_object_unref (task);
      return;
    }
  pool->starting = TRUE;
  pool->open_task = task;
  kick_locked (pool);
  g_mutex_unlock (&pool->lock);
  g_object_unref (pool);  /* the opens in flight hold it */
}

void
dal_pool_open_async (const char *url, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (url != NULL);
  GError *error = NULL;
  g_autoptr (DalUrl) parsed = dal_url_parse (url, &error);
  if (parsed == NULL)
    {
      GTask *task = g_task_new (NULL, cancellable, callback, user_data);
      g_task_set_source_tag (task, dal_pool_open_url_async);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  dal_pool_open_url_async (NULL, parsed, NULL, cancellable, callback, user_data);
}

DalPool *
dal_pool_open_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_open_url_async),
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* -- one-shot statements -- */

static char **
texts_copy (guint n, const char * const *values)
{
  char **copy = g_new0 (char *, n + 1);
  for (guint i = 0; i < n && values != NULL; i++)
    copy[i] = g_strdup (values[i]);
  return copy;
}

static Request *
oneshot_new (DalPool *pool, ReqKind kind, gboolean blocking, const char *sql,
             GVariant *params, gboolean texts_form, guint n_texts,
             const char * const *texts, GCancellable *cancellable)
{
  Request *req = request_new (pool, kind, blocking, cancellable);
  req->sql = g_strdup (sql);
  if (params != NULL)
    req->params = g_variant_ref_sink (params);
  req->texts_form = texts_form;
  if (texts_form)
    {
      req->n_texts = n_texts;
      req->texts = texts_copy (n_texts, texts);
    }
  /* A statement that changes the session gets a connection of its own,
   * reset afterwards: it must not reach the statements of others. */
  req->effect = _dal_sql_session_effect (sql);
  if (req->effect != DAL_SESSION_CLEAN)
    req->exclusive = TRUE;
  return req;
}

static DalResult *
oneshot_blocking (DalPool *pool, ReqKind kind, const char *sql, GVariant *params,
                  gboolean texts_form, guint n_texts, const char * const *texts,
                  GCancellable *cancellable, GError **error)
{
  Request *req = oneshot_new (pool, kind, TRUE, sql, params, texts_form,
                              n_texts, texts, cancellable);
  if (request_start (req, FALSE) || request_wait (req))
    request_proceed (req);
  DalResult *result = g_steal_pointer (&req->result);
  if (result == NULL)
    {
      GError *e = g_steal_pointer (&req->error);
      if (e == NULL)
        e = closed_error ();
      g_propagate_error (error, e);
    }
  request_unref (req);
  return result;
}

static void
oneshot_async (DalPool *pool, ReqKind kind, const char *sql, GVariant *params,
               gboolean texts_form, guint n_texts, const char * const *texts,
               GCancellable *cancellable, GAsyncReadyCallback callback,
               gpointer user_data, gpointer tag)
{
  Request *req = oneshot_new (pool, kind, FALSE, sql, params, texts_form,
                              n_texts, texts, cancellable);
  req->task = g_task_new (pool, cancellable, callback, user_data);
  g_task_set_source_tag (req->task, tag);
  if (request_start (req, FALSE))
    request_proceed (req);
  else if (req->error != NULL)
    {
      g_task_return_error (req->task, g_steal_pointer (&req->error));
      request_unref (req);
    }
}

DalResult *
dal_pool_query (DalPool *pool, const char *sql, GVariant *params,
                GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  return oneshot_blocking (pool, REQ_QUERY, sql, params, FALSE, 0, NULL,
                           cancellable, error);
}

void
dal_pool_query_async (DalPool *pool, const char *sql, GVariant *params,
                      GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (sql != NULL);
  oneshot_async (pool, REQ_QUERY, sql, params, FALSE, 0, NULL, cancellable,
                 callback, user_data, dal_pool_query_async);
}

DalResult *
dal_pool_query_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_query_async)
                        || g_async_result_is_tagged (result, dal_pool_query_texts_async),
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

DalResult *
dal_pool_query_texts (DalPool *pool, const char *sql, guint n_params,
                      const char * const *values, GCancellable *cancellable,
                      GError **error)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  return oneshot_blocking (pool, REQ_QUERY, sql, NULL, TRUE, n_params, values,
                           cancellable, error);
}

void
dal_pool_query_texts_async (DalPool *pool, const char *sql, guint n_params,
                            const char * const *values,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (sql != NULL);
  oneshot_async (pool, REQ_QUERY, sql, NULL, TRUE, n_params, values,
                 cancellable, callback, user_data, dal_pool_query_texts_async);
}

static gint64
affected_rows (DalResult *r)
{
  gint64 n = dal_result_get_affected_rows (r);
  dal_result_unref (r);
  return n < 0 ? 0 : n;
}

gint64
dal_pool_execute (DalPool *pool, const char *sql, GVariant *params,
                  GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), -1);
  g_return_val_if_fail (sql != NULL, -1);
  DalResult *r = oneshot_blocking (pool, REQ_EXECUTE, sql, params, FALSE, 0,
                                   NULL, cancellable, error);
  return r != NULL ? affected_rows (r) : -1;
}

void
dal_pool_execute_async (DalPool *pool, const char *sql, GVariant *params,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (sql != NULL);
  oneshot_async (pool, REQ_EXECUTE, sql, params, FALSE, 0, NULL, cancellable,
                 callback, user_data, dal_pool_execute_async);
}

gint64
dal_pool_execute_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), -1);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_execute_async), -1);
  DalResult *r = g_task_propagate_pointer (G_TASK (result), error);
  return r != NULL ? affected_rows (r) : -1;
}

/* -- borrowing -- */

DalConnection *
dal_pool_acquire (DalPool *pool, const char *label, gint64 timeout_ms,
                  GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  Request *req = request_new (pool, REQ_ACQUIRE, TRUE, cancellable);
  req->label = g_strdup (label);
  req->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
  if (request_start (req, FALSE) || request_wait (req))
    request_proceed (req);
  DalConnection *conn = g_steal_pointer (&req->acquired);
  if (conn == NULL)
    {
      GError *e = g_steal_pointer (&req->error);
      g_propagate_error (error, e != NULL ? e : closed_error ());
    }
  request_unref (req);
  return conn;
}

void
dal_pool_acquire_async (DalPool *pool, const char *label, gint64 timeout_ms,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  Request *req = request_new (pool, REQ_ACQUIRE, FALSE, cancellable);
  req->label = g_strdup (label);
  req->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
  req->task = g_task_new (pool, cancellable, callback, user_data);
  g_task_set_source_tag (req->task, dal_pool_acquire_async);
  if (request_start (req, FALSE))
    request_proceed (req);
  else if (req->error != NULL)
    {
      g_task_return_error (req->task, g_steal_pointer (&req->error));
      request_unref (req);
    }
}

DalConnection *
dal_pool_acquire_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_acquire_async),
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
dal_pool_release (DalPool *pool, DalConnection *connection)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (DAL_IS_CONNECTION (connection));
  Slot *s = g_object_get_qdata (G_OBJECT (connection), slot_quark);
  if (s == NULL || s->pool != pool || !s->borrowed)
    {
      g_critical ("dal_pool_release: the connection was not borrowed from "
                  "this pool");
      return;
    }
  g_object_unref (connection);
}

/* -- what it is -- */

void
dal_pool_get_stats (DalPool *pool, DalPoolStats *stats)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (stats != NULL);
  g_mutex_lock (&pool->lock);
  *stats = pool->stats;
  stats->size = pool->slots->len;
  stats->idle = count_idle_locked (pool);
  stats->in_use = stats->size - stats->idle;
  stats->waiting = g_queue_get_length (&pool->waiters);
  stats->opening = pool->opening;
  stats->one_shots_in_flight = pool->in_flight;
  g_mutex_unlock (&pool->lock);
}

DalUrl *
dal_pool_get_url (DalPool *pool)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), NULL);
  return pool->url;
}

const DalPoolSettings *
dal_pool_get_settings (DalPool *pool)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), NULL);
  return &pool->settings;
}
