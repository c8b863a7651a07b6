/* dal-connection.c: DalConnection, the facade over a plugin's connection.
 *
 * Two paths, chosen by the plugin's function table:
 *   - async slots present: _async calls go straight to the plugin with the
 *     caller's GTask; blocking calls use the blocking slots if present, else
 *     run the async slot on a private main context (sync_wait_*);
 *   - blocking slots only: _async calls queue on the connection and a
 *     worker thread runs them one at a time, in the order they were
 *     started.  Blocking calls wait for the queue to drain first.
 *
 * Before any plugin connects, the core's TLS policy runs (dal-tls.c:
 * effective sslmode, OpenSSL preflight of the certificate files) and the
 * plugin gets the effective URL; the connection keeps the caller's.
 *
 * Every task completes exactly once; GTask guarantees the callback never
 * runs from inside the _async call.  Every error leaving this file has been
 * scrubbed of the URL's password (dal_error_redact).
 */
#include "config.h"

#include <string.h>

#include "dal-private.h"

typedef enum
{
  OP_QUERY,
  OP_CLOSE,
} OpKind;

/* What a queued or running operation needs; the task data of its GTask. */
typedef struct
{
  OpKind kind;
  char *sql;
  DalParamsOwned *params;
} Op;

struct _DalConnection
{
  GObject parent_instance;

  DalUrl *url;
  DalPlugin *plugin;
  const DalPluginFuncs *funcs;
  gpointer handle;            /* the plugin's connection; NULL once closed */
  gboolean closed;            /* no new operations */

  /* Worker path (plugins without async slots). */
  GMutex lock;
  GCond idle_cond;
  GQueue pending;             /* GTask *, waiting for the worker */
  gboolean busy;              /* a blocking slot runs (worker or caller) */
  guint idle_waiters;         /* threads waiting on idle_cond */
};

G_DEFINE_FINAL_TYPE (DalConnection, dal_connection, G_TYPE_OBJECT)

static void
op_free (Op *op)
{
  g_free (op->sql);
  _dal_params_free (op->params);
  g_free (op);
}

static gboolean
uses_worker (DalConnection *self)
{
  return self->funcs->query_async == NULL;
}

static GError *
closed_error (void)
{
  return dal_error_new_hint (DAL_ERROR_CLOSED,
                             "Open a new connection (or do not close this one "
                             "while it is still in use)",
                             "the connection is closed");
}

/* Scrubs the password out of an error that is about to reach the caller. */
static void
redact (DalConnection *self, GError *error)
{
  if (error != NULL && self->url != NULL)
    dal_error_redact (error, dal_url_get_password (self->url));
}

static void
redact_url (DalUrl *url, GError **error)
{
  if (error != NULL && *error != NULL)
    dal_error_redact (*error, dal_url_get_password (url));
}

/* -- lifetime -- */

static void
dal_connection_finalize (GObject *object)
{
  DalConnection *self = DAL_CONNECTION (object);

  /* Every task holds a reference: nothing is pending or running here. */
  g_assert (g_queue_is_empty (&self->pending));
  if (self->handle != NULL)
    self->funcs->close (self->handle);
  g_clear_pointer (&self->url, dal_url_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->idle_cond);

  G_OBJECT_CLASS (dal_connection_parent_class)->finalize (object);
}

static void
dal_connection_class_init (DalConnectionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dal_connection_finalize;
}

static void
dal_connection_init (DalConnection *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->idle_cond);
  g_queue_init (&self->pending);
}

static DalConnection *
connection_new (DalUrl *url, DalPlugin *plugin, gpointer handle)
{
  DalConnection *self = g_object_new (DAL_TYPE_CONNECTION, NULL);
  self->url = dal_url_ref (url);
  self->plugin = plugin;
  self->funcs = _dal_plugin_get_funcs (plugin);
  self->handle = handle;
  return self;
}

/* -- blocking calls on an async-only plugin: a private main context -- */

typedef struct
{
  GMainContext *context;
  GAsyncResult *result;
} SyncWait;

static void
sync_wait_begin (SyncWait *w)
{
  w->context = g_main_context_new ();
  w->result = NULL;
  g_main_context_push_thread_default (w->context);
}

static void
sync_wait_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SyncWait *w = user_data;
  w->result = g_object_ref (result);
}

/* Runs the private context until the call completes; the caller finishes
 * it with w->result and then calls sync_wait_clear(). */
static void
sync_wait_run (SyncWait *w)
{
  while (w->result == NULL)
    g_main_context_iteration (w->context, TRUE);
  g_main_context_pop_thread_default (w->context);
}

static void
sync_wait_clear (SyncWait *w)
{
  g_clear_object (&w->result);
  g_main_context_unref (w->context);
}

/* -- the worker (plugins with blocking slots only) -- */

/* Waits (lock held) until release() signals a change. */
static void
wait_idle_locked (DalConnection *self)
{
  self->idle_waiters++;
  g_cond_wait (&self->idle_cond, &self->lock);
  self->idle_waiters--;
}

/* Claims the connection for a blocking slot on the calling thread, after
 * everything queued before.  Returns FALSE if it was closed meanwhile. */
static gboolean
claim (DalConnection *self)
{
  g_mutex_lock (&self->lock);
  while (self->busy || !g_queue_is_empty (&self->pending))
    wait_idle_locked (self);
  gboolean ok = self->handle != NULL;
  if (ok)
    self->busy = TRUE;
  g_mutex_unlock (&self->lock);
  return ok;
}

static void start_next_locked (DalConnection *self);

static void
release (DalConnection *self)
{
  g_mutex_lock (&self->lock);
  self->busy = FALSE;
  start_next_locked (self);
  /* GLib's GCond makes a futex syscall even with nobody waiting: one per
   * blocking statement, unless skipped. */
  if (self->idle_waiters > 0)
    g_cond_broadcast (&self->idle_cond);
  g_mutex_unlock (&self->lock);
}

/* Runs one queued operation in a worker thread.  It completes the
 * caller's task itself (which queues the callback on the caller's context
 * at once) and only then starts the next operation: callbacks thus come in
 * the order the calls were started.  (With g_task_run_in_thread() the
 * completion was queued only after the thread function returned, which
 * raced with the next operation's completion.)  Takes the task's
 * reference, which keeps the connection alive. */
static void
worker_run (gpointer data, gpointer unused)
{
  GTask *task = data;
  DalConnection *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (op->kind == OP_CLOSE)
    {
      if (self->handle != NULL)
        self->funcs->close (self->handle);
      self->handle = NULL;
      g_task_return_boolean (task, TRUE);
    }
  else if (self->handle == NULL)
    g_task_return_error (task, closed_error ());
  else if (!g_task_return_error_if_cancelled (task))
    {
      DalResult *result = self->funcs->query (self->handle, op->sql,
                                              _dal_params_get (op->params),
                                              g_task_get_cancellable (task),
                                              &error);
      if (result != NULL)
        g_task_return_pointer (task, result, (GDestroyNotify) dal_result_unref);
      else
        g_task_return_error (task, error);
    }
  release (self);
  g_object_unref (task);
}

/* The worker threads, shared by every connection (each runs at most one
 * operation at a time; no limit, so that a long statement on one
 * connection never holds up another). */
static GThreadPool *
worker_pool (void)
{
  static GThreadPool *pool;
  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (worker_run, NULL, -1, FALSE, NULL));
  return pool;
}

static void
start_next_locked (DalConnection *self)
{
  if (self->busy || g_queue_is_empty (&self->pending))
    return;
  GTask *task = g_queue_pop_head (&self->pending);
  self->busy = TRUE;
  g_thread_pool_push (worker_pool (), task, NULL);  /* takes the reference */
}

/* Takes @task (and its reference) onto the worker queue. */
static void
enqueue (DalConnection *self, GTask *task)
{
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->pending, task);
  start_next_locked (self);
  g_mutex_unlock (&self->lock);
}

/* -- opening -- */

DalConnection *
dal_connection_open_url (DalRegistry *registry, DalUrl *url,
                         GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  DalPlugin *plugin = dal_registry_resolve (registry, url, error);
  if (plugin == NULL)
    return NULL;
  const DalPluginFuncs *funcs = _dal_plugin_get_funcs (plugin);

  if (funcs->connect == NULL)
    {
      SyncWait w;
      sync_wait_begin (&w);
      dal_connection_open_url_async (registry, url, cancellable, sync_wait_done, &w);
      sync_wait_run (&w);
      DalConnection *conn = dal_connection_open_finish (w.result, error);
      sync_wait_clear (&w);
      return conn;
    }

  /* The TLS policy (dal-tls.c): the plugin gets the effective URL. */
  g_autoptr (DalUrl) plugin_url = _dal_tls_apply (url, error);
  if (plugin_url == NULL)
    {
      redact_url (url, error);
      return NULL;
    }
  gpointer handle = funcs->connect (plugin_url, cancellable, error);
  if (handle == NULL)
    {
      redact_url (url, error);
      return NULL;
    }
  return connection_new (url, plugin, handle);
}

DalConnection *
dal_connection_open (const char *url, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_autoptr (DalUrl) parsed = dal_url_parse (url, error);
  if (parsed == NULL)
    return NULL;
  return dal_connection_open_url (NULL, parsed, cancellable, error);
}

typedef struct
{
  DalUrl *url;          /* the caller's */
  DalUrl *plugin_url;   /* after the TLS policy: what the plugin gets */
  DalPlugin *plugin;
} OpenData;

static void
open_data_free (OpenData *d)
{
  dal_url_unref (d->url);
  g_clear_pointer (&d->plugin_url, dal_url_unref);
  g_free (d);
}

static void
open_thread (GTask *task, gpointer source, gpointer task_data,
             GCancellable *cancellable)
{
  OpenData *d = task_data;
  GError *error = NULL;
  const DalPluginFuncs *funcs = _dal_plugin_get_funcs (d->plugin);
  gpointer handle = funcs->connect (d->plugin_url, cancellable, &error);
  if (handle == NULL)
    {
      redact_url (d->url, &error);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, connection_new (d->url, d->plugin, handle),
                         g_object_unref);
}

static void
open_plugin_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;  /* the caller's */
  OpenData *d = g_task_get_task_data (task);
  GError *error = NULL;
  gpointer handle = g_task_propagate_pointer (G_TASK (result), &error);
  if (handle == NULL)
    {
      redact_url (d->url, &error);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, connection_new (d->url, d->plugin, handle),
                           g_object_unref);
  g_object_unref (task);
}

void
dal_connection_open_url_async (DalRegistry *registry, DalUrl *url,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (url != NULL);

  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dal_connection_open_url_async);
  g_task_set_name (task, "dal_connection_open_async");

  GError *error = NULL;
  DalPlugin *plugin = dal_registry_resolve (registry, url, &error);
  if (plugin == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  /* The TLS policy (dal-tls.c), before the plugin sees the URL: a
   * configuration problem fails here, without any network activity. */
  DalUrl *plugin_url = _dal_tls_apply (url, &error);
  if (plugin_url == NULL)
    {
      redact_url (url, &error);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  OpenData *d = g_new0 (OpenData, 1);
  d->url = dal_url_ref (url);
  d->plugin_url = plugin_url;
  d->plugin = plugin;
  g_task_set_task_data (task, d, (GDestroyNotify) open_data_free);

  const DalPluginFuncs *funcs = _dal_plugin_get_funcs (plugin);
  if (funcs->connect_async != NULL)
    {
      /* The plugin completes (and releases) its own task; ours follows. */
      GTask *inner = g_task_new (NULL, cancellable, open_plugin_done, task);
      g_task_set_name (inner, "dal plugin connect");
      funcs->connect_async (d->plugin_url, inner);
      return;
    }
  g_task_run_in_thread (task, open_thread);
  g_object_unref (task);
}

void
dal_connection_open_async (const char *url, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (url != NULL);

  GError *error = NULL;
  g_autoptr (DalUrl) parsed = dal_url_parse (url, &error);
  if (parsed == NULL)
    {
      GTask *task = g_task_new (NULL, cancellable, callback, user_data);
      g_task_set_source_tag (task, dal_connection_open_url_async);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  dal_connection_open_url_async (NULL, parsed, cancellable, callback, user_data);
}

DalConnection *
dal_connection_open_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == dal_connection_open_url_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* -- statements -- */

/* Starts one statement on @task (whose reference it takes), with
 * parameters already converted (@owned, taken). */
static void
start_query_owned (DalConnection *self, GTask *task, const char *sql,
                   DalParamsOwned *owned)
{
  if (self->closed)
    {
      _dal_params_free (owned);
      g_task_return_error (task, closed_error ());
      g_object_unref (task);
      return;
    }
  /* Cancelled before it started: it must not run at all. */
  if (g_task_return_error_if_cancelled (task))
    {
      _dal_params_free (owned);
      g_object_unref (task);
      return;
    }

  Op *op = g_new (Op, 1);
  op->kind = OP_QUERY;
  op->sql = g_strdup (sql);
  op->params = owned;
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);

  if (uses_worker (self))
    enqueue (self, task);
  else
    self->funcs->query_async (self->handle, op->sql, _dal_params_get (owned), task);
}

/* The same from a GVariant (a floating reference is consumed). */
static void
start_query (DalConnection *self, GTask *task, const char *sql, GVariant *params)
{
  GError *error = NULL;
  DalParamsOwned *owned = _dal_params_new (params, &error);
  if (owned == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  start_query_owned (self, task, sql, owned);
}

static GTask *
new_task (DalConnection *self, GCancellable *cancellable,
          GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  return task;
}

void
dal_connection_query_async (DalConnection *self, const char *sql,
                            GVariant *params, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  start_query (self, new_task (self, cancellable, callback, user_data,
                               dal_connection_query_async),
               sql, params);
}

DalResult *
dal_connection_query_finish (DalConnection *self, GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  GError *local = NULL;
  DalResult *r = g_task_propagate_pointer (G_TASK (result), &local);
  if (local != NULL)
    {
      redact (self, local);
      g_propagate_error (error, local);
    }
  return r;
}

/* Runs one statement, blocking, with converted parameters (@owned, taken). */
static DalResult *
query_owned (DalConnection *self, const char *sql, DalParamsOwned *owned,
             GCancellable *cancellable, GError **error)
{
  if (self->funcs->query == NULL)
    {
      SyncWait w;
      sync_wait_begin (&w);
      start_query_owned (self, new_task (self, cancellable, sync_wait_done, &w,
                                         dal_connection_query_async),
                         sql, owned);
      sync_wait_run (&w);
      DalResult *r = dal_connection_query_finish (self, w.result, error);
      sync_wait_clear (&w);
      return r;
    }

  GError *local = NULL;
  DalResult *r = NULL;
  gboolean claimed = FALSE;
  if (self->closed || (uses_worker (self) && !(claimed = claim (self))))
    local = closed_error ();
  else if (!g_cancellable_set_error_if_cancelled (cancellable, &local))
    r = self->funcs->query (self->handle, sql, _dal_params_get (owned),
                            cancellable, &local);
  if (claimed)
    release (self);
  _dal_params_free (owned);

  if (local != NULL)
    {
      redact (self, local);
      g_propagate_error (error, local);
    }
  return r;
}

DalResult *
dal_connection_query (DalConnection *self, const char *sql, GVariant *params,
                      GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  DalParamsOwned *owned = _dal_params_new (params, error);
  if (owned == NULL)
    return NULL;
  return query_owned (self, sql, owned, cancellable, error);
}

DalResult *
dal_connection_query_texts (DalConnection *self, const char *sql, guint n_params,
                            const char * const *values, GCancellable *cancellable,
                            GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  g_return_val_if_fail (n_params == 0 || values != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return query_owned (self, sql, _dal_params_new_texts (n_params, values),
                      cancellable, error);
}

void
dal_connection_query_texts_async (DalConnection *self, const char *sql,
                                  guint n_params, const char * const *values,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (n_params == 0 || values != NULL);
  start_query_owned (self, new_task (self, cancellable, callback, user_data,
                                     dal_connection_query_async),
                     sql, _dal_params_new_texts (n_params, values));
}

static gint64
affected_rows (DalResult *r)
{
  gint64 n = dal_result_get_affected_rows (r);
  return n < 0 ? 0 : n;
}

gint64
dal_connection_execute (DalConnection *self, const char *sql, GVariant *params,
                        GCancellable *cancellable, GError **error)
{
  g_autoptr (DalResult) r = dal_connection_query (self, sql, params, cancellable, error);
  return r != NULL ? affected_rows (r) : -1;
}

void
dal_connection_execute_async (DalConnection *self, const char *sql,
                              GVariant *params, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  start_query (self, new_task (self, cancellable, callback, user_data,
                               dal_connection_execute_async),
               sql, params);
}

gint64
dal_connection_execute_finish (DalConnection *self, GAsyncResult *result,
                               GError **error)
{
  g_autoptr (DalResult) r = dal_connection_query_finish (self, result, error);
  return r != NULL ? affected_rows (r) : -1;
}

/* -- transactions -- */

/* COMMIT of a transaction that already failed answers "ROLLBACK" without
 * an error; a caller who asked to commit must hear that it did not. */
static gboolean
check_transaction_result (DalResult *r, const char *sql, GError **error)
{
  if (r == NULL)
    return FALSE;
  if (strcmp (sql, "COMMIT") == 0
      && g_strcmp0 (dal_result_get_command_tag (r), "ROLLBACK") == 0)
    {
      GError *e = dal_error_new_hint (
        DAL_ERROR_QUERY_FAILED,
        "Look at the error of the statement that failed inside the "
        "transaction, fix it and run the transaction again",
        "COMMIT rolled the transaction back, because a statement in it had "
        "failed");
      dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, "25P02");
      g_propagate_error (error, e);
      return FALSE;
    }
  return TRUE;
}

static gboolean
transaction_sync (DalConnection *self, const char *sql,
                  GCancellable *cancellable, GError **error)
{
  g_autoptr (DalResult) r = dal_connection_query (self, sql, NULL, cancellable, error);
  return check_transaction_result (r, sql, error);
}

gboolean
dal_connection_begin (DalConnection *self, GCancellable *cancellable, GError **error)
{
  return transaction_sync (self, "BEGIN", cancellable, error);
}

gboolean
dal_connection_commit (DalConnection *self, GCancellable *cancellable, GError **error)
{
  return transaction_sync (self, "COMMIT", cancellable, error);
}

gboolean
dal_connection_rollback (DalConnection *self, GCancellable *cancellable, GError **error)
{
  return transaction_sync (self, "ROLLBACK", cancellable, error);
}

static void
transaction_async (DalConnection *self, const char *sql, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  /* The tag is the statement itself: it outlives the task (a literal). */
  start_query (self, new_task (self, cancellable, callback, user_data, (gpointer) sql),
               sql, NULL);
}

void
dal_connection_begin_async (DalConnection *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  transaction_async (self, "BEGIN", cancellable, callback, user_data);
}

void
dal_connection_commit_async (DalConnection *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  transaction_async (self, "COMMIT", cancellable, callback, user_data);
}

void
dal_connection_rollback_async (DalConnection *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  transaction_async (self, "ROLLBACK", cancellable, callback, user_data);
}

gboolean
dal_connection_transaction_finish (DalConnection *self, GAsyncResult *result,
                                   GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  const char *sql = g_task_get_source_tag (G_TASK (result));
  g_autoptr (DalResult) r = dal_connection_query_finish (self, result, error);
  return check_transaction_result (r, sql, error);
}

/* -- closing -- */

/* Marks the connection closed and fails what waits in the queue.
 * Returns whether this call did the closing. */
static gboolean
mark_closed (DalConnection *self)
{
  g_mutex_lock (&self->lock);
  gboolean first = !self->closed;
  self->closed = TRUE;
  GQueue doomed = self->pending;
  g_queue_init (&self->pending);
  g_mutex_unlock (&self->lock);

  GTask *task;
  while ((task = g_queue_pop_head (&doomed)) != NULL)
    {
      g_task_return_error (task, closed_error ());
      g_object_unref (task);
    }
  return first;
}

gboolean
dal_connection_close (DalConnection *self, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);

  if (!mark_closed (self))
    return TRUE;
  if (uses_worker (self))
    {
      /* Wait for the statement running in the worker, if any. */
      g_mutex_lock (&self->lock);
      while (self->busy)
        wait_idle_locked (self);
      gpointer handle = g_steal_pointer (&self->handle);
      g_mutex_unlock (&self->lock);
      if (handle != NULL)
        self->funcs->close (handle);
    }
  else if (self->handle != NULL)
    self->funcs->close (g_steal_pointer (&self->handle));
  return TRUE;
}

void
dal_connection_close_async (DalConnection *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));

  GTask *task = new_task (self, cancellable, callback, user_data,
                          dal_connection_close_async);
  gboolean first = mark_closed (self);
  if (!first || !uses_worker (self))
    {
      /* A non-blocking plugin closes without waiting (it fails its own
       * pending tasks).  On the worker path, a second close leaves the
       * handle to the first, which may still wait for a running
       * statement. */
      if (first && self->handle != NULL)
        self->funcs->close (g_steal_pointer (&self->handle));
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  Op *op = g_new0 (Op, 1);
  op->kind = OP_CLOSE;
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  /* Queued behind the running statement, if one runs. */
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->pending, task);
  start_next_locked (self);
  g_mutex_unlock (&self->lock);
}

gboolean
dal_connection_close_finish (DalConnection *self, GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
dal_connection_is_closed (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), TRUE);
  /* TEMPORARY until wip-facade lands */
  return self->closed || (self->handle != NULL && self->funcs->is_lost != NULL
                          && self->funcs->is_lost (self->handle));
}

/* -- what it is -- */

DalUrl *
dal_connection_get_url (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  return self->url;
}

const char *
dal_connection_get_plugin_name (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  return dal_plugin_get_name (self->plugin);
}

char *
dal_connection_get_info (DalConnection *self, const char *key)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (self->funcs->get_info == NULL || self->closed)
    return NULL;
  if (!uses_worker (self))
    return self->funcs->get_info (self->handle, key);
  if (!claim (self))
    return NULL;
  char *value = self->funcs->get_info (self->handle, key);
  release (self);
  return value;
}
