/* dal-connection.c: DalConnection, the facade over a plugin's connection.
 *
 * Two paths, chosen by the plugin's function table:
 *   - async slots present: _async calls go straight to the plugin with the
 *     caller's GTask; blocking calls use the blocking slots if present, else
 *     run the async slot on a private main context (DalSyncCall).  For such
 *     an async-only plugin the facade counts the async calls pending on the
 *     connection (a task of its own between the caller's and the plugin)
 *     and refuses a blocking call while any are (DAL_ERROR_BUSY): they may
 *     be waiting for sources on a context the blocking call does not run;
 *   - blocking slots only: _async calls queue on the connection and a
 *     worker thread runs them one at a time, in the order they were
 *     started.  Blocking calls wait for the queue to drain first.
 *
 * Opening (the TLS policy first, the plugin resolved off the caller's
 * thread) is dal-connection-open.c.
 *
 * A connection is lost once the plugin's is_lost slot says so, or once a
 * call completed with DAL_ERROR_CONNECTION_LOST (note_error); either way
 * dal_connection_is_closed() answers TRUE from then on.
 *
 * For the pool (dal-private.h): every statement handed to the plugin is
 * counted (atomic), and classified by dal-sql.c while the pool tracks the
 * session; set_context and check_idle go to the plugin's ABI 1.2 slots;
 * none of the pool's calls does network I/O of its own.
 *
 * Every task completes exactly once; GTask guarantees the callback never
 * runs from inside the _async call, and closing never runs the callbacks
 * of the calls it fails before it returns (see "closing" below).  Every error leaving this file has been
 * scrubbed of the URL's password (dal_error_redact).
 */
#include "config.h"

#include <string.h>

#include "dal-connection-private.h"
#include "dal-openssl-util.h"

/* What a queued or running operation needs; the task data of its GTask
 * (a batch's: dal-connection-batch.c). */
typedef struct
{
  OpKind kind;
  char *sql;
  DalParamsOwned *params;
} Op;


G_DEFINE_FINAL_TYPE (DalConnection, dal_connection, G_TYPE_OBJECT)

static void
op_free (Op *op)
{
  g_free (op->sql);
  _dal_params_free (op->params);
  g_free (op);
}

/* Async slots without blocking ones: blocking calls are bridged. */
gboolean
is_async_only (DalConnection *self)
{
  return self->funcs->query == NULL;
}

/* Notes a lost connection from an error a call completed with. */
void
note_error (DalConnection *self, const GError *error)
{
  if (g_error_matches (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST))
    g_atomic_int_set (&self->lost, TRUE);
}

/* A statement is about to be handed to the plugin: counted, and
 * classified when the pool asked for it. */
void
note_statement (DalConnection *self, const char *sql)
{
  __atomic_add_fetch (&self->n_statements, 1, __ATOMIC_RELAXED);
  if (g_atomic_int_get (&self->track_session))
    {
      gboolean opens_tx;
      DalSessionEffect effect = _dal_sql_statement_effects (sql, &opens_tx);
      guint seen = (effect != DAL_SESSION_CLEAN ? 1u << effect : 0)
                   | (opens_tx ? SEEN_OPENS_TX : 0);
      if (seen != 0)
        g_atomic_int_or (&self->session_effects, seen);
    }
}

/* Completes @task with a statement's @result, or its @error (taken),
 * noting a lost connection. */
static void
return_query (DalConnection *self, GTask *task, DalResult *result, GError *error)
{
  if (result != NULL)
    g_task_return_pointer (task, result, (GDestroyNotify) dal_result_unref);
  else
    {
      note_error (self, error);
      g_task_return_error (task, error);
    }
}

/* Takes the plugin's handle away (under the lock, as is_closed() calls
 * the plugin with it); the caller closes it. */
static gpointer
steal_handle (DalConnection *self)
{
  g_mutex_lock (&self->lock);
  gpointer handle = g_steal_pointer (&self->handle);
  g_mutex_unlock (&self->lock);
  return handle;
}

GError *
closed_error (void)
{
  return dal_error_new_hint (DAL_ERROR_CLOSED,
                             "Open a new connection (or do not close this one "
                             "while it is still in use)",
                             "the connection is closed");
}

/* Scrubs the password out of an error that is about to reach the caller. */
void
redact (DalConnection *self, GError *error)
{
  if (error != NULL && self->url != NULL)
    dal_error_redact (error, dal_url_get_password (self->url));
}

/* -- lifetime -- */

static void close_handle (DalConnection *self, gpointer handle);

static void
dal_connection_finalize (GObject *object)
{
  DalConnection *self = DAL_CONNECTION (object);

  /* Every task holds a reference: nothing is pending or running here. */
  g_assert (g_queue_is_empty (&self->pending));
  close_handle (self, g_steal_pointer (&self->handle));
  _dal_notify_free (self);
  _dal_call_cache_close (self->call_cache);
  g_clear_pointer (&self->url, dal_url_unref);
  g_clear_pointer (&self->registry, dal_registry_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->idle_cond);

  G_OBJECT_CLASS (dal_connection_parent_class)->finalize (object);
}

static void
dal_connection_class_init (DalConnectionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dal_connection_finalize;
  _dal_notify_class_init (G_OBJECT_CLASS (klass));
  /* Before any plugin connects (libpq initialises OpenSSL then). */
  dal_openssl_init_once ();
}

static void
dal_connection_init (DalConnection *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->idle_cond);
  g_queue_init (&self->pending);
  self->call_cache = _dal_call_cache_new (16);  /* a pipeline's depth, about */
}

DalTxStatus
conn_parse_tx_status (char *status)
{
  DalTxStatus tx = DAL_TX_UNKNOWN;
  if (g_strcmp0 (status, "idle") == 0)
    tx = DAL_TX_IDLE;
  else if (g_strcmp0 (status, "intrans") == 0)
    tx = DAL_TX_INTRANS;
  else if (g_strcmp0 (status, "inerror") == 0)
    tx = DAL_TX_INERROR;
  g_free (status);
  return tx;
}

/* Worker path: records the transaction status the statement that just
 * ran on this thread left, before its caller hears of it. */
void
note_tx (DalConnection *self)
{
  DalTxStatus tx = DAL_TX_UNKNOWN;
  if (self->funcs->get_info != NULL && self->handle != NULL)
    tx = conn_parse_tx_status (self->funcs->get_info (self->handle, "transaction_status"));
  g_atomic_int_set (&self->worker_tx, tx);
}

DalConnection *
connection_new (DalUrl *url, DalPlugin *plugin, gpointer handle)
{
  DalConnection *self = g_object_new (DAL_TYPE_CONNECTION, NULL);
  self->url = dal_url_ref (url);
  self->registry = dal_registry_ref (_dal_plugin_get_registry (plugin));
  self->plugin = plugin;
  self->funcs = _dal_plugin_get_funcs (plugin);
  self->handle = handle;
  if (uses_worker (self))
    note_tx (self);
  _dal_notify_init (self);
  _dal_tls_check_connection (url, self->funcs->get_info, handle);
  return self;
}

/* -- waiting for an async call on a private main context -- */

struct _DalSyncCall
{
  GMainContext *context;
  GAsyncResult *result;
  gboolean popped;
};

DalSyncCall *
dal_sync_call_new (void)
{
  DalSyncCall *call = g_new0 (DalSyncCall, 1);
  call->context = g_main_context_new ();
  g_main_context_push_thread_default (call->context);
  return call;
}

void
dal_sync_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DalSyncCall *call = user_data;
  g_return_if_fail (call->result == NULL);
  call->result = g_object_ref (result);
}

GAsyncResult *
dal_sync_call_wait (DalSyncCall *call)
{
  g_return_val_if_fail (call != NULL && !call->popped, NULL);
  while (call->result == NULL)
    g_main_context_iteration (call->context, TRUE);
  g_main_context_pop_thread_default (call->context);
  call->popped = TRUE;
  return call->result;
}

void
dal_sync_call_free (DalSyncCall *call)
{
  if (call == NULL)
    return;
  if (!call->popped)
    g_main_context_pop_thread_default (call->context);
  g_clear_object (&call->result);
  g_main_context_unref (call->context);
  g_free (call);
}

/* -- the worker (plugins with blocking slots only) -- */

/* Waits (lock held) until release() signals a change. */
void
conn_wait_idle_locked (DalConnection *self)
{
  self->idle_waiters++;
  g_cond_wait (&self->idle_cond, &self->lock);
  self->idle_waiters--;
}

/* Claims the connection for a blocking slot on the calling thread, after
 * everything queued before.  Returns FALSE if it was closed meanwhile. */
gboolean
conn_claim (DalConnection *self)
{
  g_mutex_lock (&self->lock);
  while (self->busy || !g_queue_is_empty (&self->pending))
    conn_wait_idle_locked (self);
  gboolean ok = self->handle != NULL;
  if (ok)
    self->busy = TRUE;
  g_mutex_unlock (&self->lock);
  return ok;
}

static void start_next_locked (DalConnection *self);

void
conn_release (DalConnection *self)
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
      close_handle (self, steal_handle (self));
      g_task_return_boolean (task, TRUE);
    }
  else if (self->handle == NULL)
    g_task_return_error (task, closed_error ());
  else if (op->kind == OP_BATCH)
    conn_batch_work (self, task);
  else if (op->kind == OP_COPY)
    _dal_copy_work (self, task);
  else if (!g_task_return_error_if_cancelled (task))
    {
      DalResult *result = self->funcs->query (self->handle, op->sql,
                                              _dal_params_get (op->params),
                                              g_task_get_cancellable (task),
                                              &error);
      note_tx (self);
      return_query (self, task, result, error);
    }
  conn_release (self);
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
void
enqueue (DalConnection *self, GTask *task)
{
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->pending, task);
  start_next_locked (self);
  g_mutex_unlock (&self->lock);
}

/* -- statements -- */

/* An async-only plugin's task completed: the call no longer counts as
 * pending, and the caller's task (user_data) follows. */
static void
async_only_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  DalConnection *self = DAL_CONNECTION (source);
  GError *error = NULL;
  DalResult *r = g_task_propagate_pointer (G_TASK (result), &error);

  g_assert (self->async_pending > 0);
  self->async_pending--;
  return_query (self, task, r, error);
  g_object_unref (task);
}

/* Before an async call starts: completes @task (and drops its
 * reference) with the error when the connection cannot take it now;
 * returns whether it did. */
gboolean
start_refused (DalConnection *self, GTask *task)
{
  if (self->closed)
    g_task_return_error (task, closed_error ());
  else if (g_atomic_int_get (&self->blocking_only))
    g_task_return_new_error (task, DAL_ERROR, DAL_ERROR_BUSY,
                             "this connection came from dal_pool_acquire(), "
                             "which lends a connection for blocking calls: "
                             "its events are not watched on any main "
                             "context. Borrow it with dal_pool_acquire_async() "
                             "to make async calls on it");
  else if (self->copy_job != NULL)
    g_task_return_error (task, _dal_copy_busy_error ());
  /* Cancelled before it started: it must not run at all. */
  else if (!g_task_return_error_if_cancelled (task))
    return FALSE;
  g_object_unref (task);
  return TRUE;
}

/* Starts one statement on @task (whose reference it takes), with
 * parameters already converted (@owned, taken). */
static void
start_query_owned (DalConnection *self, GTask *task, const char *sql,
                   DalParamsOwned *owned)
{
  if (start_refused (self, task))
    {
      _dal_params_free (owned);
      return;
    }
  GError *refused = NULL;
  if (!conn_check_listen (self, sql, &refused))
    {
      _dal_params_free (owned);
      g_task_return_error (task, refused);
      g_object_unref (task);
      return;
    }

  Op *op = g_new (Op, 1);
  op->kind = OP_QUERY;
  op->sql = g_strdup (sql);
  op->params = owned;
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  note_statement (self, sql);

  if (uses_worker (self))
    enqueue (self, task);
  else if (is_async_only (self))
    {
      /* Counted until the plugin completes it (async_only_done), on this
       * thread's context: a blocking call meanwhile is refused. */
      GTask *inner = g_task_new (self, g_task_get_cancellable (task),
                                 async_only_done, task);
      g_task_set_name (inner, "dal plugin query");
      self->async_pending++;
      self->funcs->query_async (self->handle, op->sql, _dal_params_get (owned), inner);
    }
  else
    self->funcs->query_async (self->handle, op->sql, _dal_params_get (owned), task);
}

GTask *
new_task (DalConnection *self, GCancellable *cancellable,
          GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  return task;
}

/* Whether a statement for an async caller goes on a DalCall through the
 * plugin's query_call slot (else a GTask takes it, which also fails what
 * must fail). */
static gboolean
call_path (DalConnection *self, const char *sql, GCancellable *cancellable)
{
  return self->funcs->query_call != NULL && !is_async_only (self) && !self->closed
         && !g_atomic_int_get (&self->blocking_only) && self->copy_job == NULL
         && !g_cancellable_is_cancelled (cancellable)
         && conn_check_listen (self, sql, NULL);
}

/* Hands @call, its statement set, to the plugin; FALSE when the plugin
 * declined it (not on the connection's context): a GTask takes it. */
static gboolean
call_start (DalConnection *self, DalCall *call, const char *sql)
{
  /* (The plugin never completes the call from inside query_call, so the
   * statement may be noted after it.) */
  if (!self->funcs->query_call (self->handle, _dal_call_get_sql (call),
                                _dal_call_get_params (call), call))
    return FALSE;
  note_statement (self, sql);
  return TRUE;
}

/* Starts one statement for an async caller, with parameters already
 * converted (@owned, taken): on a DalCall through the plugin's query_call
 * slot when it has one and takes the call, else on a GTask. */
static void
query_async_owned (DalConnection *self, const char *sql, DalParamsOwned *owned,
                   GCancellable *cancellable, GAsyncReadyCallback callback,
                   gpointer user_data, gpointer tag)
{
  if (call_path (self, sql, cancellable))
    {
      DalCall *call = _dal_call_new (self, cancellable, callback, user_data, tag,
                                     sql, owned);
      if (call_start (self, call, sql))
        return;
      owned = _dal_call_steal_params (call);
      _dal_call_drop (call);
    }
  start_query_owned (self, new_task (self, cancellable, callback, user_data, tag),
                     sql, owned);
}

/* The same from a GVariant (a floating reference is consumed).  @tag is
 * the source tag the result carries: the _finish that goes with it checks
 * it (query_finish()). */
void
query_async (DalConnection *self, const char *sql, GVariant *params,
             GCancellable *cancellable, GAsyncReadyCallback callback,
             gpointer user_data, gpointer tag)
{
  GError *error = NULL;
  DalParamsOwned *owned = _dal_params_new (params, &error);
  if (owned == NULL)
    {
      GTask *task = new_task (self, cancellable, callback, user_data, tag);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  query_async_owned (self, sql, owned, cancellable, callback, user_data, tag);
}

void
dal_connection_query_async (DalConnection *self, const char *sql,
                            GVariant *params, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  query_async (self, sql, params, cancellable, callback, user_data,
               dal_connection_query_async);
}

/* Finishes a statement started by query_async() or query_async_owned()
 * with @tag (a DalCall or a GTask): a result of another call is a
 * critical, as in GIO. */
DalResult *
query_finish (DalConnection *self, GAsyncResult *result, gpointer tag,
              GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_dal_call_is_valid (result, self, tag)
                        || (g_task_is_valid (result, self)
                            && g_async_result_is_tagged (result, tag)), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GError *local = NULL;
  DalResult *r;
  if (DAL_IS_CALL (result))
    r = _dal_call_propagate ((DalCall *) result, &local);
  else
    r = g_task_propagate_pointer (G_TASK (result), &local);
  if (local != NULL)
    {
      note_error (self, local);
      redact (self, local);
      g_propagate_error (error, local);
    }
  return r;
}

DalResult *
dal_connection_query_finish (DalConnection *self, GAsyncResult *result,
                             GError **error)
{
  return query_finish (self, result, dal_connection_query_async, error);
}

/* A blocking slot on the caller's thread: claims the connection (worker
 * path: after everything queued before) and notes the statement; FALSE
 * (and *@local) when it is closed or @cancellable fired already. */
gboolean
blocking_begin (DalConnection *self, const char *sql, GCancellable *cancellable,
                gboolean *claimed, GError **local)
{
  if (self->copy_job != NULL && !self->closed)
    {
      *local = _dal_copy_busy_error ();
      return FALSE;
    }
  if (self->closed || (uses_worker (self) && !(*claimed = conn_claim (self))))
    {
      *local = closed_error ();
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, local)
      || !conn_check_listen (self, sql, local))
    return FALSE;
  note_statement (self, sql);
  return TRUE;
}

/* After the slot: gives the connection back and hands @local (taken,
 * may be NULL) to the caller, redacted. */
void
blocking_end (DalConnection *self, gboolean claimed, GError *local, GError **error)
{
  if (claimed)
    {
      note_tx (self);
      conn_release (self);
    }
  if (local != NULL)
    {
      note_error (self, local);
      redact (self, local);
      g_propagate_error (error, local);
    }
}

/* An async-only plugin: the private context of a bridged blocking call
 * does not run what the pending async calls wait for (their sources are
 * on the caller's context): that call would wait for them forever.
 * Returns TRUE (and @error) when it must be refused. */
gboolean
blocking_refused (DalConnection *self, GError **error)
{
  if (self->async_pending == 0 || self->closed)
    return FALSE;
  g_set_error_literal (
    error, DAL_ERROR, DAL_ERROR_BUSY,
    "a blocking call cannot run while async calls are pending on "
    "this connection (its plugin has no blocking functions, and "
    "their results arrive on the main context the blocking call "
    "does not run).  Wait for the async calls to complete, or use "
    "the _async form of this call");
  return TRUE;
}

/* Runs one statement, blocking, with converted parameters (@owned, taken). */
static DalResult *
query_owned (DalConnection *self, const char *sql, DalParamsOwned *owned,
             GCancellable *cancellable, GError **error)
{
  if (is_async_only (self))
    {
      if (blocking_refused (self, error))
        {
          _dal_params_free (owned);
          return NULL;
        }
      DalSyncCall *call = dal_sync_call_new ();
      start_query_owned (self, new_task (self, cancellable, dal_sync_call_done, call,
                                         dal_connection_query_async),
                         sql, owned);
      DalResult *r = dal_connection_query_finish (self, dal_sync_call_wait (call), error);
      dal_sync_call_free (call);
      return r;
    }

  GError *local = NULL;
  DalResult *r = NULL;
  gboolean claimed = FALSE;
  if (blocking_begin (self, sql, cancellable, &claimed, &local))
    r = self->funcs->query (self->handle, sql, _dal_params_get (owned),
                            cancellable, &local);
  _dal_params_free (owned);
  blocking_end (self, claimed, local, error);
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
  gpointer tag = dal_connection_query_texts_async;
  if (call_path (self, sql, cancellable))
    {
      /* The texts go into the call's own block (no allocation per
       * statement once the call is reused). */
      DalCall *call = _dal_call_new (self, cancellable, callback, user_data, tag,
                                     sql, NULL);
      _dal_call_set_texts (call, n_params, values);
      if (call_start (self, call, sql))
        return;
      _dal_call_drop (call);
    }
  start_query_owned (self, new_task (self, cancellable, callback, user_data, tag),
                     sql, _dal_params_new_texts (n_params, values));
}

DalResult *
dal_connection_query_texts_finish (DalConnection *self, GAsyncResult *result,
                                   GError **error)
{
  return query_finish (self, result, dal_connection_query_texts_async, error);
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
  query_async (self, sql, params, cancellable, callback, user_data,
               dal_connection_execute_async);
}

gint64
dal_connection_execute_finish (DalConnection *self, GAsyncResult *result,
                               GError **error)
{
  g_autoptr (DalResult) r = query_finish (self, result, dal_connection_execute_async,
                                         error);
  return r != NULL ? affected_rows (r) : -1;
}

/* -- scripts (blocking only) -- */

gboolean
dal_connection_execute_script (DalConnection *self, const char *sql,
                               GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->funcs->execute_script == NULL)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Use a postgresql+psycopg2:// URL (the pgsync plugin) for scripts "
        "and migrations",
        "the %s plugin cannot run a script of several statements",
        dal_connection_get_plugin_name (self)));
      return FALSE;
    }
  if (is_async_only (self) && self->async_pending > 0 && !self->closed)
    {
      g_set_error_literal (error, DAL_ERROR, DAL_ERROR_BUSY,
                           "a script cannot run while async calls are pending "
                           "on this connection.  Wait for them to complete");
      return FALSE;
    }

  GError *local = NULL;
  gboolean ok = FALSE;
  gboolean claimed = FALSE;
  if (blocking_begin (self, sql, cancellable, &claimed, &local))
    ok = self->funcs->execute_script (self->handle, sql, cancellable, &local);
  ok = ok && local == NULL;
  blocking_end (self, claimed, local, error);
  return ok;
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
transaction_async (DalConnection *self, const char *sql, gpointer tag,
                   GCancellable *cancellable, GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  query_async (self, sql, NULL, cancellable, callback, user_data, tag);
}

static gboolean
transaction_finish (DalConnection *self, GAsyncResult *result, const char *sql,
                    gpointer tag, GError **error)
{
  g_autoptr (DalResult) r = query_finish (self, result, tag, error);
  return check_transaction_result (r, sql, error);
}

void
dal_connection_begin_async (DalConnection *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  transaction_async (self, "BEGIN", dal_connection_begin_async, cancellable,
                     callback, user_data);
}

gboolean
dal_connection_begin_finish (DalConnection *self, GAsyncResult *result,
                             GError **error)
{
  return transaction_finish (self, result, "BEGIN", dal_connection_begin_async,
                             error);
}

void
dal_connection_commit_async (DalConnection *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  transaction_async (self, "COMMIT", dal_connection_commit_async, cancellable,
                     callback, user_data);
}

gboolean
dal_connection_commit_finish (DalConnection *self, GAsyncResult *result,
                              GError **error)
{
  return transaction_finish (self, result, "COMMIT", dal_connection_commit_async,
                             error);
}

void
dal_connection_rollback_async (DalConnection *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  transaction_async (self, "ROLLBACK", dal_connection_rollback_async, cancellable,
                     callback, user_data);
}

gboolean
dal_connection_rollback_finish (DalConnection *self, GAsyncResult *result,
                                GError **error)
{
  return transaction_finish (self, result, "ROLLBACK",
                             dal_connection_rollback_async, error);
}

/* -- closing -- */

/* Closing never runs a pending call's callback before it returns (it may
 * be called from inside a callback, on the calls' own context, where
 * GTask would call back at once): the queued tasks fail from an idle on
 * their own context, and a plugin's close slot fails its own pending
 * calls the same way (close_handle()). */

static gboolean
fail_closed_cb (gpointer data)
{
  GTask *task = data;
  g_task_return_error (task, closed_error ());  /* CANCELLED if it was */
  return G_SOURCE_REMOVE;
}

/* Fails @task (its reference taken) with DAL_ERROR_CLOSED from an idle on
 * its context; idles of one priority run in the order they were added, so
 * the callbacks keep the order the calls were started in. */
static void
fail_closed_later (GTask *task)
{
  GSource *idle = g_idle_source_new ();
  g_source_set_priority (idle, g_task_get_priority (task));
  g_source_set_callback (idle, fail_closed_cb, task, g_object_unref);
  g_source_set_static_name (idle, "dal connection closed");
  g_source_attach (idle, g_task_get_context (task));
  g_source_unref (idle);
}

/* Runs the plugin's close slot on @handle (if not NULL).  The slot fails
 * its own pending calls from a source on their context, never inside the
 * slot (docs/plugins.md). */
static void
close_handle (DalConnection *self, gpointer handle)
{
  if (handle != NULL)
    self->funcs->close (handle);
}

/* Marks the connection closed; returns whether this call did the
 * closing.  If it did: with @doomed, the calls waiting in the worker's
 * queue move there; with @closer (its reference taken), that task goes to
 * the head of the queue, to run after the statement running now, and the
 * calls queued behind it fail in the worker (no handle), in order. */
static gboolean
mark_closed (DalConnection *self, GQueue *doomed, GTask *closer)
{
  g_mutex_lock (&self->lock);
  gboolean first = !self->closed;
  self->closed = TRUE;
  if (first && doomed != NULL)
    {
      *doomed = self->pending;
      g_queue_init (&self->pending);
    }
  if (first && closer != NULL)
    {
      g_queue_push_head (&self->pending, closer);
      start_next_locked (self);
    }
  g_mutex_unlock (&self->lock);
  return first;
}

gboolean
dal_connection_close (DalConnection *self, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);

  GQueue doomed = G_QUEUE_INIT;
  if (!mark_closed (self, &doomed, NULL))
    return TRUE;
  _dal_copy_close (self);
  if (uses_worker (self) || self->copy_job != NULL)
    {
      /* Wait for the statement running in the worker, if any. */
      g_mutex_lock (&self->lock);
      while (self->busy)
        conn_wait_idle_locked (self);
      gpointer handle = g_steal_pointer (&self->handle);
      g_mutex_unlock (&self->lock);
      close_handle (self, handle);
    }
  else
    close_handle (self, steal_handle (self));
  /* After the running statement's completion: callbacks keep their order. */
  GTask *task;
  while ((task = g_queue_pop_head (&doomed)) != NULL)
    fail_closed_later (task);
  return TRUE;
}

void
dal_connection_close_async (DalConnection *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));

  GTask *task = new_task (self, cancellable, callback, user_data,
                          dal_connection_close_async);
  _dal_copy_close (self);
  if (uses_worker (self) || self->copy_job != NULL)
    {
      Op *op = g_new0 (Op, 1);
      op->kind = OP_CLOSE;
      g_task_set_task_data (task, op, (GDestroyNotify) op_free);
      if (mark_closed (self, NULL, g_object_ref (task)))
        {
          g_object_unref (task);
          return;
        }
      g_object_unref (task);   /* the reference mark_closed() did not take */
    }
  /* A non-blocking plugin closes without waiting (it fails its own
   * pending calls).  On the worker path, a second close leaves the
   * handle to the first, which may still wait for a running statement. */
  else if (mark_closed (self, NULL, NULL))
    close_handle (self, steal_handle (self));
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

gboolean
dal_connection_close_finish (DalConnection *self, GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_connection_close_async),
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
dal_connection_is_closed (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), TRUE);

  if (g_atomic_int_get (&self->lost))
    return TRUE;
  /* Under the lock: closing (any thread) takes the handle away under it. */
  g_mutex_lock (&self->lock);
  gboolean closed = self->closed || self->handle == NULL;
  gboolean lost = !closed && self->funcs->is_lost != NULL
                  && self->funcs->is_lost (self->handle);
  g_mutex_unlock (&self->lock);
  if (lost)
    g_atomic_int_set (&self->lost, TRUE);  /* it never comes back */
  return closed || lost;
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

  if (self->funcs->get_info == NULL || self->closed || self->copy_job != NULL)
    return NULL;
  if (!uses_worker (self))
    return self->funcs->get_info (self->handle, key);
  if (!conn_claim (self))
    return NULL;
  char *value = self->funcs->get_info (self->handle, key);
  conn_release (self);
  return value;
}
