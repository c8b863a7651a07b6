/* dal-pool-open.c: DalPool's lifetime and its housekeeping thread:
 * opening the pool, opening connections (min_size, refills with backoff,
 * growth on demand), the one timer (idle timeouts, lifetimes, leak
 * warnings, connect retries), closing (see dal-pool.c for the whole). */
#include "config.h"

#include <string.h>

#include "dal-pool-private.h"

G_DEFINE_FINAL_TYPE (DalPool, dal_pool, G_TYPE_OBJECT)

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

void
pool_timer_consider_locked (DalPool *pool, gint64 when_us)
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
      pool_timer_consider_locked (pool, pool->next_open_us);
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
  pool->opens_in_flight += n;
  g_mutex_unlock (&pool->lock);
  /* No reference: dal_pool_close() cancels them and waits until they are
   * done (OpenSSL must not be mid-handshake on this thread when the
   * program ends). */
  for (guint i = 0; i < n; i++)
    dal_connection_open_url_async (pool->registry, pool->conn_url,
                                   pool->open_cancel, open_done, pool);
  return G_SOURCE_REMOVE;
}

/* Asks the housekeeping thread to open what is missing. */
void
pool_kick_locked (DalPool *pool)
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
void
pool_fail_waiters_locked (DalPool *pool, const GError *error, Work *w)
{
  Request *req;
  while ((req = g_queue_peek_head (&pool->waiters)) != NULL)
    {
      pool_request_dequeue_locked (pool, req);
      req->error = g_error_copy (error);
      if (req->blocking)
        w->wake_blocking = TRUE;
      else
        g_queue_push_tail_link (&w->failed, &req->link);
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

/* The last thing an open does with the pool: once no open is in flight,
 * dal_pool_close() may return and the pool may go. */
static void
open_finished (DalPool *pool)
{
  g_mutex_lock (&pool->lock);
  pool->opens_in_flight--;
  gboolean last = pool->opens_in_flight == 0;
  GObject *keepalive = last ? g_steal_pointer (&pool->keepalive) : NULL;
  if (last)
    g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
  if (keepalive != NULL)
    g_object_unref (keepalive);
}

static void
open_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DalPool *pool = data;
  GError *error = NULL;
  Work w = WORK_INIT;
  GTask *open_task = NULL;
  DalConnection *conn = dal_connection_open_url_finish (result, &error);

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
  if (conn == NULL && pool->closed)
    ;  /* cancelled by dal_pool_close() */
  else if (conn != NULL && pool->closed)
    {
      Slot *s = pool_slot_new (pool, g_steal_pointer (&conn));
      g_queue_push_tail (&w.to_close, s);
    }
  else if (conn != NULL)
    {
      Slot *s = pool_slot_new (pool, g_steal_pointer (&conn));
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
      pool_timer_consider_locked (pool, s->expires_us);
      if (pool->settings.max_idle_ms > 0 && pool->slots->len > pool->settings.min_size)
        pool_timer_consider_locked (pool, now + pool->settings.max_idle_ms * 1000);
      pool_serve_waiters_locked (pool, &w);
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
        pool_fail_waiters_locked (pool, error, &w);
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

  pool_work_run (pool, &w);
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
    }
  open_finished (pool);
  /* Last: once the caller's callback ran (on its own thread), the task's
   * reference may be the pool's last one. */
  g_clear_object (&open_task);
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
            pool_timer_consider_locked (pool, due);
        }
      if (s->load > 0 || s->exclusive || s->busy || s->returning)
        {
          pool_timer_consider_locked (pool, s->expires_us);
          continue;
        }
      if (pool_slot_worn_out (pool, s, now) || pool_slot_dead (s))
        {
          s->faulted = pool_slot_dead (s);
          g_ptr_array_add (expired, s);
          continue;
        }
      pool_timer_consider_locked (pool, s->expires_us);
      if (st->max_idle_ms > 0 && idle_closable > 0)
        {
          gint64 due = s->idle_since_us + st->max_idle_ms * 1000;
          if (now >= due)
            {
              g_ptr_array_add (expired, s);
              idle_closable--;
            }
          else
            pool_timer_consider_locked (pool, due);
        }
    }
  for (guint i = 0; i < expired->len; i++)
    pool_slot_remove_locked (pool, expired->pdata[i], &w);
  g_ptr_array_free (expired, TRUE);
  pool_kick_locked (pool);
  if (pool->next_open_us > now)
    pool_timer_consider_locked (pool, pool->next_open_us);
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
  pool_work_run (pool, &w);
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
  GError *closed = pool_closed_error ();
  pool_fail_waiters_locked (pool, closed, &w);
  g_error_free (closed);
  for (guint i = pool->slots->len; i > 0; i--)
    {
      Slot *s = pool->slots->pdata[i - 1];
      if (s->load == 0 && !s->exclusive && !s->busy && !s->returning)
        pool_slot_remove_locked (pool, s, &w);
    }
  g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
  pool_work_run (pool, &w);

  /* Connections being opened: cancelled, and waited for, so that none is
   * still in a TLS handshake on the pool's thread when this returns (the
   * program may end next).  On the pool's own thread (the last reference
   * was dropped there) they cannot be waited for: the pool keeps itself
   * alive until they are done. */
  g_cancellable_cancel (pool->open_cancel);
  g_mutex_lock (&pool->lock);
  if (g_thread_self () != pool->thread)
    while (pool->opens_in_flight > 0)
      g_cond_wait (&pool->cond, &pool->lock);
  /* The same for resets running on GLib's threads (not from one of them:
   * it would wait for itself). */
  if (!pool_in_return_thread ())
    while (pool->return_threads > 0)
      g_cond_wait (&pool->cond, &pool->lock);
  else if (pool->opens_in_flight > 0 && pool->keepalive == NULL)
    pool->keepalive = g_object_ref (G_OBJECT (pool));
  g_mutex_unlock (&pool->lock);
}

static gboolean
hk_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
dal_pool_dispose (GObject *object)
{
  DalPool *pool = DAL_POOL (object);
  dal_pool_close (pool);
  g_mutex_lock (&pool->lock);
  pool_contexts_drop (pool);
  g_mutex_unlock (&pool->lock);
  if (pool->thread != NULL)
    {
      g_source_destroy (pool->hk_timer);
      /* From a source of its own: a g_main_loop_quit() made before the
       * thread entered g_main_loop_run() would be lost. */
      GSource *stop = g_idle_source_new ();
      g_source_set_callback (stop, hk_quit, g_main_loop_ref (pool->hk_loop),
                             (GDestroyNotify) g_main_loop_unref);
      g_source_attach (stop, pool->hk_context);
      g_source_unref (stop);
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
    pool_slot_close (pool->slots->pdata[i]);
  g_ptr_array_free (pool->slots, TRUE);
  g_hash_table_unref (pool->contexts);
  _dal_call_cache_close (pool->call_cache);
  pool_requests_free (pool);
  g_mutex_clear (&pool->free_lock);
  g_clear_pointer (&pool->hk_timer, g_source_unref);
  g_clear_pointer (&pool->hk_loop, g_main_loop_unref);
  g_clear_pointer (&pool->hk_context, g_main_context_unref);
  g_clear_pointer (&pool->parking, g_main_context_unref);
  g_clear_object (&pool->open_cancel);
  g_clear_error (&pool->last_connect_error);
  g_clear_error (&pool->start_error);
  g_clear_pointer (&pool->url, dal_url_unref);
  g_clear_pointer (&pool->conn_url, dal_url_unref);
  g_clear_pointer (&pool->registry, dal_registry_unref);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->cond);
  G_OBJECT_CLASS (dal_pool_parent_class)->finalize (object);
}

static void
dal_pool_class_init (DalPoolClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dal_pool_dispose;
  G_OBJECT_CLASS (klass)->finalize = dal_pool_finalize;
}

static void
dal_pool_init (DalPool *pool)
{
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->cond);
  pool->slots = g_ptr_array_new ();
  pool->contexts = g_hash_table_new (NULL, NULL);
  g_queue_init (&pool->waiters);
  /* As many acquires as callers wait at once, about. */
  pool->call_cache = _dal_call_cache_new (64);
  g_mutex_init (&pool->free_lock);
  /* A connection released inside a statement's callback goes to the
   * next waiter on that context right after the callback. */
  _dal_call_track_callbacks ();
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
  pool->registry = registry != NULL ? dal_registry_ref (registry) : NULL;
  pool->url = dal_url_ref (url);
  pool->conn_url = _dal_url_without_pool_options (url);
  pool->settings = st;
  pool->tx_pooler = dal_url_is_transaction_pooler (url);
  pool->parking = g_main_context_new ();
  pool->open_cancel = g_cancellable_new ();
  warn_session_pooler (pool);

  pool->hk_context = g_main_context_new ();
  pool->hk_loop = g_main_loop_new (pool->hk_context, FALSE);
  pool->hk_timer = pool_deadline_source_new (-1);
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
  pool_kick_locked (pool);
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
  /* (A NULL @url fails in dal_url_parse(), with "no URL given".) */
  g_autoptr (DalUrl) parsed = dal_url_parse (url, error);
  if (parsed == NULL)
    return NULL;
  return dal_pool_open_url (NULL, parsed, NULL, cancellable, error);
}

/* dal_pool_open_url_async(), its result tagged @tag. */
static void
pool_open_url_async (DalRegistry *registry, DalUrl *url,
                     const DalPoolSettings *settings, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
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
  /* The task holds the pool until the opens have answered it. */
  g_task_set_task_data (task, pool, g_object_unref);
  pool_kick_locked (pool);
  g_mutex_unlock (&pool->lock);
}

void
dal_pool_open_url_async (DalRegistry *registry, DalUrl *url,
                         const DalPoolSettings *settings,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (url != NULL);
  pool_open_url_async (registry, url, settings, cancellable, callback, user_data,
                       dal_pool_open_url_async);
}

DalPool *
dal_pool_open_url_finish (GAsyncResult *result, GError **error)
{
  return _dal_open_finish (result, dal_pool_open_url_async, error);
}

void
dal_pool_open_async (const char *url, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (DalUrl) parsed = _dal_url_parse_for_async (url, cancellable, callback,
                                                       user_data, dal_pool_open_async);
  if (parsed == NULL)
    return;
  pool_open_url_async (NULL, parsed, NULL, cancellable, callback, user_data,
                       dal_pool_open_async);
}

DalPool *
dal_pool_open_finish (GAsyncResult *result, GError **error)
{
  return _dal_open_finish (result, dal_pool_open_async, error);
}

