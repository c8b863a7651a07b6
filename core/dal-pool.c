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
 *     condition variable; async ones are continued, or failed when they
 *     waited too long, by one source of the pool's on their main context
 *     (PoolCtx), so a caller's callback never runs inside another call;
 *     one served inside the callback of a statement that completed on its
 *     context goes on right after that callback (_dal_call_run_after()).
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

#include "dal-pool-private.h"

/* A live connection idle at least this long is asked, before it is handed
 * out, whether the server ended it meanwhile. */
#define PEEK_AFTER_US 1000

static void ctx_push_served_locked (Request *req);
static void ctx_arm_locked (DalPool *pool, Request *req);
static gint64 request_timeout_ms (DalPool *pool, Request *req);

/* -- small things -- */

GError *
pool_closed_error (void)
{
  return dal_error_new_hint (DAL_ERROR_CLOSED,
                             "Do not use a pool after dal_pool_close()",
                             "the pool is closed");
}

guint
pool_count_idle_locked (DalPool *pool)
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
  guint idle = pool_count_idle_locked (pool);
  g_autoptr (GString) what = g_string_new (NULL);
  g_string_printf (what, "no pooled connection became free within %.3g s "
                   "(size %u of at most %u, in use %u, idle %u, waiting %u)",
                   waited_ms / 1000.0, size, pool->settings.max_size,
                   size - idle, idle, g_queue_get_length (&pool->waiters));
  if (pool->last_connect_error != NULL && size == 0)
    g_string_append_printf (what, "; the last attempt to connect failed: %s",
                            pool->last_connect_error->message);
  return dal_error_new_hint (DAL_ERROR_POOL_TIMEOUT,
                             "Release connections sooner (dal_pool_release()), "
                             "raise pool_max_size, or wait longer "
                             "(pool_acquire_timeout)",
                             "%s", what->str);
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

GSource *
pool_deadline_source_new (gint64 ready_time)
{
  GSource *source = g_source_new (&deadline_funcs, sizeof (GSource));
  g_source_set_ready_time (source, ready_time);
  return source;
}

/* The source of a context's PoolCtx: ready when requests were served for
 * it (a flag its prepare reads: pushing one costs no wakeup of the
 * context when the pushing thread is the one that iterates it), or at
 * its ready time (the earliest deadline of its waiters). */
typedef struct
{
  GSource source;
  gint served;              /* atomic: the served queue is not empty */
} CtxSource;

static gboolean
ctx_source_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((CtxSource *) source)->served) != 0;
}

static gboolean
ctx_source_check (GSource *source)
{
  return g_atomic_int_get (&((CtxSource *) source)->served) != 0;
}

static gboolean
ctx_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs ctx_source_funcs = {
  ctx_source_prepare, ctx_source_check, ctx_source_dispatch, NULL, NULL, NULL
};

/* Runs @func on @context's thread with nobody dispatching it elsewhere:
 * at once when nobody iterates @context (this thread then owns it
 * meanwhile), else from an idle callback there. */
void
pool_run_on_context (GMainContext *context, GSourceFunc func, gpointer data)
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

Slot *
pool_slot_new (DalPool *pool, DalConnection *conn)
{
  Slot *s = g_new0 (Slot, 1);
  s->pool = pool;
  s->conn = conn;
  s->bound = _dal_connection_is_context_bound (conn);
  s->pipelines = _dal_connection_pipelines (conn);
  s->created_us = s->idle_since_us = now_us ();
  if (pool->settings.max_lifetime_ms > 0)
    s->expires_us = _dal_pool_lifetime_end_us (s->created_us, pool->settings.max_lifetime_ms);
  conn->pool_slot = s;
  /* Two references of the pool's: a toggle reference, kept as long as
   * the slot, and the caller's, the spare, which a borrow hands to the
   * borrower.  The count then falls to 1 (the toggle reference alone,
   * which GLib notifies) only once every reference of a borrow went:
   * while the connection is not lent, the spare keeps the references of
   * the pool's own calls (their tasks) from ever notifying, so that no
   * notification of theirs, however late GLib delivers it, can look like
   * the end of a later borrow.  (No toggle reference is added and removed
   * per borrow: that costs far more than the notifications.) */
  g_object_add_toggle_ref (G_OBJECT (conn), pool_toggle_notify, s);
  return s;
}

/* When a connection made at @created_us with a lifetime of @lifetime_ms
 * (> 0, at most POOL_DURATION_MAX_MS) expires: up to 10 % earlier, at
 * random, so that connections opened together do not all expire
 * together.  (In doubles: a tenth of a lifetime of hours in microseconds
 * is beyond what g_random_int_range() takes.) */
gint64
_dal_pool_lifetime_end_us (gint64 created_us, gint64 lifetime_ms)
{
  gint64 life = lifetime_ms * 1000;
  return created_us + life - (gint64) (g_random_double () * (double) (life / 10));
}

void
pool_slot_free (Slot *s)
{
  s->conn->pool_slot = NULL;
  /* (Never lent here: the spare is the pool's.  The toggle reference
   * goes first, so that dropping the spare notifies nothing.) */
  GObject *conn = G_OBJECT (g_steal_pointer (&s->conn));
  g_object_remove_toggle_ref (conn, pool_toggle_notify, s);
  g_object_unref (conn);
  g_clear_pointer (&s->home, g_main_context_unref);
  g_free (s->label);
  g_free (s);
}

gboolean
pool_slot_dead (Slot *s)
{
  return dal_connection_is_closed (s->conn);
}

static guint64
slot_user_statements (Slot *s)
{
  guint64 n = _dal_connection_get_n_statements (s->conn);
  return n > s->internal ? n - s->internal : 0;
}

gboolean
pool_slot_worn_out (DalPool *pool, Slot *s, gint64 now)
{
  if (s->expires_us != 0 && now >= s->expires_us)
    return TRUE;
  return pool->settings.max_queries > 0
         && slot_user_statements (s) >= pool->settings.max_queries;
}

/* Takes @s out of the pool (pool_work_run() closes its connection). */
void
pool_slot_remove_locked (DalPool *pool, Slot *s, Work *w)
{
  g_ptr_array_remove_fast (pool->slots, s);
  pool->stats.closed++;
  if (s->faulted)
    pool->stats.replaced_after_faults++;
  s->busy = TRUE;
  /* A park of it is queued (park_for_locked()) and will look at it:
   * closed (and freed) now, it would be gone under that park. */
  if (s->park_pending)
    s->close_after_park = TRUE;
  else
    g_queue_push_tail (&w->to_close, s);
  pool_kick_locked (pool);
}

/* -- closing connections -- */

static gboolean
close_on_home (gpointer data)
{
  Slot *s = data;
  dal_connection_close (s->conn, NULL, NULL);
  pool_slot_free (s);
  return G_SOURCE_REMOVE;
}

/* Closes a removed slot's connection where that is safe. */
void
pool_slot_close (Slot *s)
{
  if (s->bound && !s->parked && s->home != NULL)
    pool_run_on_context (s->home, close_on_home, s);
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
  if (s->close_after_park)
    {
      /* Taken out of the pool meanwhile (pool_slot_remove_locked()),
       * which left the closing to this park. */
      g_queue_push_tail (&w.to_close, s);
      g_mutex_unlock (&pool->lock);
      pool_work_run (pool, &w);
      g_object_unref (pool);
      g_free (ref);
      return G_SOURCE_REMOVE;
    }
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
      pool_slot_done_locked (pool, s, &w);
    }
  pool_serve_waiters_locked (pool, &w);
  g_mutex_unlock (&pool->lock);

  pool_work_run (pool, &w);
  g_object_unref (pool);
  g_free (ref);
  return G_SOURCE_REMOVE;
}

/* -- matching requests and slots -- */

/* Whether @s can take @req now (not counting whether it is still alive:
 * find_slot_locked() asks that of the one it picks). */
static gboolean
slot_fits (DalPool *pool, Slot *s, Request *req)
{
  if (s->exclusive || s->busy || s->retiring || s->returning)
    return FALSE;
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
find_slot_locked (DalPool *pool, Request *req, Work *w)
{
  gint64 now = now_us ();
  for (;;)
    {
      Slot *best = NULL;
      for (guint i = 0; i < pool->slots->len; i++)
        {
          Slot *s = pool->slots->pdata[i];
          if (!slot_fits (pool, s, req))
            continue;
          /* Least loaded; among equals one already on the caller's
           * context (no move), then the most recently used (warm). */
          if (best == NULL || s->load < best->load
              || (s->load == best->load && best->parked && !s->parked)
              || (s->load == best->load && s->parked == best->parked
                  && s->idle_since_us > best->idle_since_us))
            best = s;
        }
      if (best == NULL)
        return NULL;
      gboolean dead = pool_slot_dead (best);
      if (!dead && !pool_slot_worn_out (pool, best, now))
        return best;
      /* It takes nothing more; it goes once its statements are done. */
      best->faulted = best->faulted || dead;
      best->retiring = TRUE;
      if (best->load == 0)
        pool_slot_remove_locked (pool, best, w);
    }
}

/* Gives @s to @req, under the lock; pool_request_proceed() does the rest. */
void
pool_claim_locked (DalPool *pool, Slot *s, Request *req)
{
  gint64 now = now_us ();
  gboolean was_idle = s->load == 0;
  if (req->exclusive || !s->pipelines)
    s->exclusive = TRUE;
  else
    s->load++;
  req->slot = s;
  gint64 idle_us = now - s->idle_since_us;
  req->needs_check = was_idle && idle_us >= pool->settings.check_idle_ms * 1000;
  /* Did the server end it while it was idle?  Asked (no round trip) of
   * every connection that nobody watched meanwhile (parked, or without a
   * home), and of a live one idle for a while: its own source watches its
   * socket, but only while its context runs.  One used a moment ago (a
   * busy pool) is not asked. */
  req->needs_peek = was_idle
                    && (!s->bound || s->parked || req->blocking
                        || idle_us >= PEEK_AFTER_US);
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
      if (g_strcmp0 (s->label, req->label) != 0)
        {
          g_free (s->label);
          s->label = g_strdup (req->label);
        }
      pool->stats.acquired++;
      if (pool->settings.leak_warning_ms > 0)
        pool_timer_consider_locked (pool, now + pool->settings.leak_warning_ms * 1000);
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
      if (!s->exclusive && s->load == 0 && s->bound && !s->parked && !s->busy
          && !s->retiring && !s->returning && !s->park_pending
          && (req->blocking || s->home != req->context))
        {
          s->park_pending = TRUE;
          g_queue_push_tail (&w->to_park, s);
          return;
        }
    }
}

void
pool_request_dequeue_locked (DalPool *pool, Request *req)
{
  if (!req->queued)
    return;
  g_queue_unlink (&pool->waiters, &req->link);
  req->queued = FALSE;
  if (req->blocking)
    pool->waiting_blocking--;
}

/* Whether some slot could take some request now (what slot_fits() asks
 * of every request alike). */
static gboolean
any_slot_free_locked (DalPool *pool)
{
  for (guint i = 0; i < pool->slots->len; i++)
    {
      Slot *s = pool->slots->pdata[i];
      if (!s->exclusive && !s->busy && !s->retiring && !s->returning
          && (s->load == 0 || (s->pipelines && s->load < pool->settings.depth)))
        return TRUE;
    }
  return FALSE;
}

/* Whether @a and @b want the same kind of connection: one that cannot be
 * served then tells the answer for the other without a look at the slots. */
static gboolean
same_want (const Request *a, const Request *b)
{
  return a->exclusive == b->exclusive && a->blocking == b->blocking
         && a->context == b->context;
}

/* Gives @s to waiting @req, which goes on from its context's source (or
 * its blocking wait). */
static void
serve_locked (DalPool *pool, Slot *s, Request *req, Work *w)
{
  pool_request_dequeue_locked (pool, req);
  pool_claim_locked (pool, s, req);
  if (req->blocking)
    w->wake_blocking = TRUE;
  else
    ctx_push_served_locked (req);
}

/* Serves the waiting requests, first come first served, with what is
 * free; one that cannot use it does not hold up one behind it that can. */
void
pool_serve_waiters_locked (DalPool *pool, Work *w)
{
  /* Kinds of request found unservable in this pass (a handful at most:
   * blocking or not, exclusive or not, per context). */
  const Request *unserved[8];
  guint n_unserved = 0;
  GList *l = pool->waiters.head;
  while (l != NULL && any_slot_free_locked (pool))
    {
      Request *req = l->data;
      l = l->next;
      gboolean known = FALSE;
      for (guint i = 0; i < n_unserved && !known; i++)
        known = same_want (unserved[i], req);
      if (known)
        continue;
      Slot *s = find_slot_locked (pool, req, w);
      if (s == NULL)
        {
          park_for_locked (pool, req, w);
          if (n_unserved < G_N_ELEMENTS (unserved))
            unserved[n_unserved++] = req;
          continue;
        }
      serve_locked (pool, s, req, w);
    }
  if (w->wake_blocking)
    g_cond_broadcast (&pool->cond);
  pool_kick_locked (pool);
}

/* @s was given back and pool_slot_done_locked() kept it: it goes to the
 * first waiter when that one can take it (what find_slot_locked() would
 * pick: no slot was free for the waiters before, and @s, idle since now,
 * was just found alive), without a look at the others; then the waiters
 * are served as usual (which finds nothing more to do unless another
 * slot is free). */
void
pool_serve_slot_locked (DalPool *pool, Slot *s, Work *w)
{
  GList *head = pool->waiters.head;
  if (head != NULL && s->load == 0 && slot_fits (pool, s, head->data))
    serve_locked (pool, s, head->data, w);
  pool_serve_waiters_locked (pool, w);
}

/* A slot finished something (a one-shot, a return, a move): retire it if
 * it must go, else note it idle. */
void
pool_slot_done_locked (DalPool *pool, Slot *s, Work *w)
{
  gint64 now = now_us ();
  if (s->load > 0 || s->exclusive || s->busy || s->returning)
    return;
  if (pool_slot_dead (s))
    s->faulted = s->retiring = TRUE;
  if (pool->closed || s->retiring || pool_slot_worn_out (pool, s, now))
    {
      pool_slot_remove_locked (pool, s, w);
      return;
    }
  s->idle_since_us = now;
  if (pool->settings.max_idle_ms > 0 && pool->slots->len > pool->settings.min_size)
    pool_timer_consider_locked (pool, now + pool->settings.max_idle_ms * 1000);
}

/* -- the main contexts async callers use -- */

static PoolCtx *
pctx_ref (PoolCtx *c)
{
  g_atomic_int_inc (&c->ref_count);
  return c;
}

static void
pctx_unref (PoolCtx *c)
{
  if (!g_atomic_int_dec_and_test (&c->ref_count))
    return;
  g_mutex_clear (&c->lock);
  g_main_context_unref (c->context);
  g_free (c);
}

static void
pctx_dispatch_locked (DalPool *pool, PoolCtx *c, GQueue *go, GQueue *expired)
{
  gint64 now = now_us ();
  Request *req;
  *go = c->served;   /* (go is empty: the links move with it) */
  g_queue_init (&c->served);
  g_atomic_int_set (&((CtxSource *) c->source)->served, 0);
  /* No deadline of this context's waiters is before armed_at: before it,
   * nobody can have waited too long (no walk through the queue). */
  if (c->armed_at == 0 || c->armed_at > now)
    {
      gint64 ready = c->armed_at != 0 ? c->armed_at : -1;
      if (g_source_get_ready_time (c->source) != ready)
        g_source_set_ready_time (c->source, ready);
      return;
    }
  /* Waiters of this context past their deadline; the next deadline. */
  gint64 next = 0;
  for (GList *l = pool->waiters.head; l != NULL;)
    {
      req = l->data;
      l = l->next;
      if (req->pctx != c || req->deadline_us == 0)
        continue;
      if (req->deadline_us <= now)
        {
          pool_request_dequeue_locked (pool, req);
          pool->stats.acquire_timeouts++;
          req->error = timeout_error_locked (pool, request_timeout_ms (pool, req));
          g_queue_push_tail_link (expired, &req->link);
        }
      else if (next == 0 || req->deadline_us < next)
        next = req->deadline_us;
    }
  c->armed_at = next;
  g_source_set_ready_time (c->source, next != 0 ? next : -1);
}

static gboolean
pctx_fired (gpointer data)
{
  PoolCtx *c = data;
  GQueue go = G_QUEUE_INIT, expired = G_QUEUE_INIT;
  GList *l;

  g_mutex_lock (&c->lock);
  DalPool *pool = c->pool != NULL ? g_object_ref (c->pool) : NULL;
  g_mutex_unlock (&c->lock);
  if (pool == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&pool->lock);
  pctx_dispatch_locked (pool, c, &go, &expired);
  g_mutex_unlock (&pool->lock);

  while ((l = g_queue_pop_head_link (&go)) != NULL)
    pool_request_proceed (l->data);
  while ((l = g_queue_pop_head_link (&expired)) != NULL)
    pool_request_complete (l->data, NULL);
  g_object_unref (pool);
  return G_SOURCE_CONTINUE;
}

/* The record of @context, made on first use. */
static PoolCtx *
pctx_get_locked (DalPool *pool, GMainContext *context)
{
  /* (Most programs use one context: the last one found is looked at
   * first.) */
  PoolCtx *c = pool->last_pctx;
  if (c != NULL && c->context == context)
    return c;
  c = g_hash_table_lookup (pool->contexts, context);
  if (c != NULL)
    {
      pool->last_pctx = c;
      return c;
    }
  c = g_new0 (PoolCtx, 1);
  c->ref_count = 1;
  g_mutex_init (&c->lock);
  c->pool = pool;
  c->context = g_main_context_ref (context);
  g_queue_init (&c->served);
  c->source = g_source_new (&ctx_source_funcs, sizeof (CtxSource));
  g_source_set_callback (c->source, pctx_fired, pctx_ref (c),
                         (GDestroyNotify) pctx_unref);
  g_source_set_name (c->source, "dal pool");
  g_source_attach (c->source, context);
  g_hash_table_insert (pool->contexts, context, c);
  pool->last_pctx = c;
  return c;
}

/* A queued async request's timeout, on its context's source.  armed_at
 * stays at or before the earliest deadline of the context's waiters (one
 * that left may have had it: the source then fires early, once, and
 * finds the next). */
static void
ctx_arm_locked (DalPool *pool, Request *req)
{
  PoolCtx *c = req->pctx = pctx_get_locked (pool, req->context);
  if (req->deadline_us != 0 && (c->armed_at == 0 || req->deadline_us < c->armed_at))
    {
      c->armed_at = req->deadline_us;
      if (g_queue_is_empty (&c->served))
        g_source_set_ready_time (c->source, req->deadline_us);
    }
}

static void
pctx_fired_after (gpointer data)
{
  pctx_fired (data);
  pctx_unref (data);
}

/* An async request got a slot: it goes on from its context's source, or
 * sooner: when this happens inside the callback of a statement that
 * completed on that context (a borrower releasing its connection, say),
 * right after that callback returns, from the same dispatch (no main
 * loop iteration of its own for the hand-off). */
static void
ctx_push_served_locked (Request *req)
{
  /* (A request that waited has its context's record already.) */
  PoolCtx *c = req->pctx != NULL ? req->pctx : pctx_get_locked (req->pool, req->context);
  g_queue_push_tail_link (&c->served, &req->served_link);
  if (c->served.length == 1)
    {
      g_atomic_int_set (&((CtxSource *) c->source)->served, 1);
      if (_dal_call_run_after (c->context, pctx_fired_after, pctx_ref (c)))
        return;
      pctx_unref (c);
      /* Whoever iterates the context on another thread may be in poll():
       * woken.  This thread, dispatching it (or nobody), prepares it
       * before it polls again. */
      if (!g_main_context_is_owner (c->context))
        g_main_context_wakeup (c->context);
    }
}

/* The pool goes: its contexts' sources go with it (nothing is queued:
 * every request holds a reference to the pool). */
void
pool_contexts_drop (DalPool *pool)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, pool->contexts);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      PoolCtx *c = value;
      g_mutex_lock (&c->lock);
      c->pool = NULL;
      g_mutex_unlock (&c->lock);
      g_source_destroy (c->source);
      g_source_unref (c->source);
      pctx_unref (c);
    }
  g_hash_table_remove_all (pool->contexts);
  pool->last_pctx = NULL;
}

/* -- requests -- */

/* Finished requests kept for reuse, per pool (a request is as large as
 * the rest of an acquire's bookkeeping together). */
#define FREE_REQUESTS_MAX 64

void
pool_request_unref (Request *req)
{
  if (!g_atomic_int_dec_and_test (&req->ref_count))
    return;
  if (req->cancel_id != 0)
    g_cancellable_disconnect (req->cancellable, req->cancel_id);
  g_clear_object (&req->cancellable);
  g_clear_object (&req->task);
  g_clear_object (&req->call);
  g_clear_pointer (&req->context, g_main_context_unref);
  g_clear_error (&req->error);
  g_free (req->sql);
  g_clear_pointer (&req->params, g_variant_unref);
  if (req->texts != NULL)
    for (guint i = 0; i < req->n_texts; i++)
      g_free (req->texts[i]);
  g_free (req->texts);
  g_clear_pointer (&req->batch, dal_batch_unref);
  DalPool *pool = g_steal_pointer (&req->pool);
  g_mutex_lock (&pool->free_lock);
  gboolean keep = pool->n_free_requests < FREE_REQUESTS_MAX;
  if (keep)
    {
      req->next_free = pool->free_requests;
      pool->free_requests = req;
      pool->n_free_requests++;
    }
  g_mutex_unlock (&pool->free_lock);
  if (!keep)
    {
      g_free (req->label);
      g_free (req);
    }
  g_object_unref (pool);  /* (last: it may free the kept requests) */
}

/* At finalize: the kept requests go. */
void
pool_requests_free (DalPool *pool)
{
  Request *req;
  while ((req = pool->free_requests) != NULL)
    {
      pool->free_requests = req->next_free;
      g_free (req->label);
      g_free (req);
    }
  pool->n_free_requests = 0;
}

Request *
pool_request_new (DalPool *pool, ReqKind kind, gboolean blocking,
             GCancellable *cancellable)
{
  g_mutex_lock (&pool->free_lock);
  Request *req = pool->free_requests;
  if (req != NULL)
    {
      pool->free_requests = req->next_free;
      pool->n_free_requests--;
    }
  g_mutex_unlock (&pool->free_lock);
  if (req != NULL)
    {
      char *label = req->label;
      memset (req, 0, sizeof *req);
      req->label = label;
    }
  else
    req = g_new0 (Request, 1);
  req->link.data = req->served_link.data = req;
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

void
pool_request_set_label (Request *req, const char *label)
{
  if (g_strcmp0 (req->label, label) == 0)
    return;
  g_free (req->label);
  req->label = g_strdup (label);
}

/* Completes async @req with @conn (an acquire's, taken), or with
 * req->error, and drops the caller's reference on @req.  From a dispatch
 * on the request's context; inside dal_pool_acquire_async() itself the
 * callback is deferred to an idle there (a GTask defers by itself). */
void
pool_request_complete (Request *req, DalConnection *conn)
{
  GError *error = conn == NULL ? g_steal_pointer (&req->error) : NULL;
  if (req->task != NULL)
    {
      if (conn != NULL)
        g_task_return_pointer (req->task, conn, g_object_unref);
      else
        g_task_return_error (req->task, error);
      pool_request_unref (req);
      return;
    }
  DalCall *call = g_steal_pointer (&req->call);
  if (g_atomic_int_get (&req->in_start))
    {
      _dal_call_return_later (call, req->context, conn,
                              conn != NULL ? g_object_unref : NULL, error);
      pool_request_unref (req);
      return;
    }
  /* The request goes first: the callback may acquire again. */
  pool_request_unref (req);
  _dal_call_return_value (call, conn, conn != NULL ? g_object_unref : NULL, error);
}

/* Completes an async request with req->error, from a dispatch on its
 * context (never inside a call of the caller's). */
static gboolean
complete_error_now (gpointer data)
{
  pool_request_complete (data, NULL);
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

/* Everything a locked section left, outside the lock. */
void
pool_work_run (DalPool *pool, Work *w)
{
  Slot *s;
  GList *l;
  if (w->to_close.length == 0 && w->to_park.length == 0 && w->failed.length == 0)
    return;
  while ((s = g_queue_pop_head (&w->to_close)) != NULL)
    pool_slot_close (s);
  while ((s = g_queue_pop_head (&w->to_park)) != NULL)
    {
      SlotRef *ref = g_new (SlotRef, 1);
      ref->pool = g_object_ref (pool);
      ref->slot = s;
      pool_run_on_context (s->home, park_now, ref);
    }
  while ((l = g_queue_pop_head_link (&w->failed)) != NULL)
    complete_error_later (l->data);
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
      pool_request_dequeue_locked (pool, req);
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
 * cancellation armed).  Blocking requests then wait in pool_request_wait().
 * Returns TRUE when @req got a slot at once (the caller proceeds);
 * *@failed is TRUE when it failed here (req->error), never for a request
 * it queued (another thread may fail that one, and complete it). */
static gboolean
pool_request_start (Request *req, gboolean at_head, gboolean *failed)
{
  DalPool *pool = req->pool;
  Work w = WORK_INIT;
  gboolean got = FALSE;
  gboolean watch_cancel = FALSE;

  *failed = FALSE;
  if (req->cancellable != NULL && g_cancellable_is_cancelled (req->cancellable))
    {
      g_cancellable_set_error_if_cancelled (req->cancellable, &req->error);
      *failed = TRUE;
      return FALSE;
    }

  g_mutex_lock (&pool->lock);
  if (pool->closed)
    {
      req->error = pool_closed_error ();
      *failed = TRUE;
    }
  else
    {
      Slot *s = g_queue_is_empty (&pool->waiters) || at_head
                  ? find_slot_locked (pool, req, &w) : NULL;
      if (s != NULL)
        {
          if (s->load > 0)
            pool->grow = TRUE;
          pool_claim_locked (pool, s, req);
          got = TRUE;
        }
      else if (request_timeout_ms (pool, req) == 0 && req->kind == REQ_ACQUIRE
               && req->timeout_ms == 0)
        {
          pool->stats.acquire_timeouts++;
          req->error = timeout_error_locked (pool, 0);
          *failed = TRUE;
        }
      else
        {
          if (at_head)
            g_queue_push_head_link (&pool->waiters, &req->link);
          else
            g_queue_push_tail_link (&pool->waiters, &req->link);
          req->queued = TRUE;
          if (req->blocking)
            pool->waiting_blocking++;
          gint64 t = request_timeout_ms (pool, req);
          if (t > 0 && req->deadline_us == 0)
            req->deadline_us = now_us () + MIN (t, POOL_DURATION_MAX_MS) * 1000;
          if (!req->blocking)
            ctx_arm_locked (pool, req);
          park_for_locked (pool, req, &w);
          pool_kick_locked (pool);
          /* Once the lock is released another thread may serve or fail
           * the request, and its context complete it and let it go: a
           * reference of this call's keeps it while its cancellable is
           * connected. */
          watch_cancel = !req->blocking && req->cancellable != NULL && req->cancel_id == 0;
          if (watch_cancel)
            g_atomic_int_inc (&req->ref_count);
        }
    }
  g_mutex_unlock (&pool->lock);
  pool_work_run (pool, &w);

  if (watch_cancel)
    {
      /* (Connected to a request served meanwhile, the handler finds it
       * no longer queued; it is disconnected when the request goes.) */
      req->cancel_id = g_cancellable_connect (req->cancellable,
                                              G_CALLBACK (request_cancelled),
                                              req, NULL);
      pool_request_unref (req);
    }
  return got;
}

/* Blocking: waits until @req was served, timed out or cancelled.  TRUE
 * when it holds a slot. */
static gboolean
pool_request_wait (Request *req)
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
          pool_request_dequeue_locked (pool, req);
          g_cancellable_set_error_if_cancelled (req->cancellable, &req->error);
          break;
        }
      if (req->deadline_us == 0)
        g_cond_wait (&pool->cond, &pool->lock);
      else if (!g_cond_wait_until (&pool->cond, &pool->lock, req->deadline_us)
               && req->queued && now_us () >= req->deadline_us)
        {
          pool_request_dequeue_locked (pool, req);
          pool->stats.acquire_timeouts++;
          req->error = timeout_error_locked (pool, request_timeout_ms (pool, req));
        }
    }
  if (!req->queued && req->slot == NULL && req->error == NULL)
    req->error = pool_closed_error ();
  g_mutex_unlock (&pool->lock);
  if (req->cancel_id != 0)
    {
      g_cancellable_disconnect (req->cancellable, req->cancel_id);
      req->cancel_id = 0;
    }
  return req->slot != NULL;
}

/* Runs @req: served at once and continued, or queued (a blocking one
 * waits here).  An async request that failed at once is completed with
 * its error; a blocking one keeps it in req->error. */
void
pool_request_run (Request *req, gboolean at_head)
{
  /* Only a request that failed here is completed here: one that was
   * queued may have been failed meanwhile by another thread (the pool's
   * connect failed: pool_fail_waiters_locked), which completes it. */
  gboolean failed;
  /* (Read first: an async request that was queued may be completed and
   * gone once pool_request_start() returns.) */
  gboolean blocking = req->blocking;
  if (pool_request_start (req, at_head, &failed)
      || (blocking && pool_request_wait (req)))
    pool_request_proceed (req);
  else if (failed && !blocking)
    pool_request_complete (req, NULL);
}
