/* dal-pool-calls.c: DalPool's public calls: one-shot statements,
 * borrowing, the counters (see dal-pool.c for the whole). */
#include "config.h"

#include <string.h>

#include "dal-pool-private.h"

/* A blocking request that served nothing: its error (or the pool's
 * closing) to the caller. */
void
pool_request_propagate_error (Request *req, GError **error)
{
  GError *e = g_steal_pointer (&req->error);
  g_propagate_error (error, e != NULL ? e : pool_closed_error ());
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
  Request *req = pool_request_new (pool, kind, blocking, cancellable);
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
  pool_request_run (req, FALSE);
  DalResult *result = g_steal_pointer (&req->result);
  if (result == NULL)
    pool_request_propagate_error (req, error);
  pool_request_unref (req);
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
  pool_request_run (req, FALSE);
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
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_query_async), NULL);
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

DalResult *
dal_pool_query_texts_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_query_texts_async),
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
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
  Request *req = pool_request_new (pool, REQ_ACQUIRE, TRUE, cancellable);
  pool_request_set_label (req, label);
  req->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
  pool_request_run (req, FALSE);
  DalConnection *conn = g_steal_pointer (&req->acquired);
  if (conn == NULL)
    pool_request_propagate_error (req, error);
  pool_request_unref (req);
  return conn;
}

void
dal_pool_acquire_async (DalPool *pool, const char *label, gint64 timeout_ms,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  Request *req = pool_request_new (pool, REQ_ACQUIRE, FALSE, cancellable);
  pool_request_set_label (req, label);
  req->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
  /* A DalCall rather than a GTask: the pool completes it from its own
   * source on this context (pool_request_complete()), at a fraction of a
   * GTask's cost. */
  req->call = _dal_call_take (pool->call_cache, pool, cancellable, callback,
                              user_data, dal_pool_acquire_async);
  /* Served (or failed) at once, the request completes from an idle. */
  g_atomic_int_set (&req->in_start, TRUE);
  g_atomic_int_inc (&req->ref_count);
  pool_request_run (req, FALSE);
  g_atomic_int_set (&req->in_start, FALSE);
  pool_request_unref (req);
}

DalConnection *
dal_pool_acquire_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (_dal_call_is_valid (result, pool, dal_pool_acquire_async),
                        NULL);
  return _dal_call_propagate ((DalCall *) result, error);
}

void
dal_pool_release (DalPool *pool, DalConnection *connection)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (DAL_IS_CONNECTION (connection));
  Slot *s = connection->pool_slot;
  if (s == NULL || s->pool != pool || !s->borrowed)
    {
      g_critical ("dal_pool_release: the connection was not borrowed from "
                  "this pool");
      return;
    }
  if (!s->lent_blocking)
    {
      g_object_unref (connection);
      return;
    }
  pool_release_begin (connection);
  g_object_unref (connection);
  pool_release_end ();
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
  stats->idle = pool_count_idle_locked (pool);
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
