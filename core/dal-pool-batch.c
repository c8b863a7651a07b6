/* dal-pool-batch.c: batches and executemany as one-shots of a DalPool.
 *
 * A batch goes to one connection, as one request of the pool (queued,
 * timed out and cancelled like a one-shot statement).  Every statement of
 * it is classified: a batch that changes the session gets a connection
 * of its own, reset afterwards, as such a one-shot does.  The batch runs
 * through the connection's own dal_connection_run_batch(_async). */
#include "config.h"

#include "dal-pool-private.h"
#include "dal-connection-private.h"

static Request *
batch_request_new (DalPool *pool, gboolean blocking, DalBatch *batch,
                   GCancellable *cancellable)
{
  Request *req = pool_request_new (pool, REQ_BATCH, blocking, cancellable);
  req->batch = batch;
  req->effect = _dal_batch_session_effect (batch);
  if (req->effect != DAL_SESSION_CLEAN)
    req->exclusive = TRUE;
  return req;
}

/* Runs @batch (taken), blocking. */
static DalBatchResult *
run_blocking (DalPool *pool, DalBatch *batch, GCancellable *cancellable, GError **error)
{
  Request *req = batch_request_new (pool, TRUE, batch, cancellable);
  pool_request_run (req, FALSE);
  DalBatchResult *br = g_steal_pointer (&req->batch_result);
  if (br == NULL)
    pool_request_propagate_error (req, error);
  pool_request_unref (req);
  return br;
}

/* Starts @batch (taken; NULL: @error, taken, is the answer). */
static void
run_async (DalPool *pool, DalBatch *batch, GError *error, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  if (batch == NULL)
    {
      GTask *task = g_task_new (pool, cancellable, callback, user_data);
      g_task_set_source_tag (task, tag);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  Request *req = batch_request_new (pool, FALSE, batch, cancellable);
  req->task = g_task_new (pool, cancellable, callback, user_data);
  g_task_set_source_tag (req->task, tag);
  pool_request_run (req, FALSE);
}

DalBatchResult *
dal_pool_run_batch (DalPool *pool, DalBatch *batch, GCancellable *cancellable,
                    GError **error)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), NULL);
  g_return_val_if_fail (batch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return run_blocking (pool, dal_batch_ref (batch), cancellable, error);
}

void
dal_pool_run_batch_async (DalPool *pool, DalBatch *batch, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (batch != NULL);
  run_async (pool, dal_batch_ref (batch), NULL, cancellable, callback, user_data,
             dal_pool_run_batch_async);
}

DalBatchResult *
dal_pool_run_batch_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_run_batch_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gint64
dal_pool_execute_many (DalPool *pool, const char *sql, GVariant *rows,
                       GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_POOL (pool), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (rows != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);
  DalBatch *batch = _dal_batch_new_rows (sql, rows, error);
  if (batch == NULL)
    return -1;
  return _dal_batch_result_total (run_blocking (pool, batch, cancellable, error), error);
}

void
dal_pool_execute_many_async (DalPool *pool, const char *sql, GVariant *rows,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_return_if_fail (DAL_IS_POOL (pool));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (rows != NULL);
  GError *error = NULL;
  DalBatch *batch = _dal_batch_new_rows (sql, rows, &error);
  run_async (pool, batch, error, cancellable, callback, user_data,
             dal_pool_execute_many_async);
}

gint64
dal_pool_execute_many_finish (DalPool *pool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), -1);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_pool_execute_many_async), -1);
  return _dal_batch_result_total (g_task_propagate_pointer (G_TASK (result), error), error);
}
