/* dal-connection-batch.c: batches and executemany on a DalConnection.
 *
 * The same paths as one statement (dal-connection.c): a plugin with
 * async slots gets the caller's task in its batch_async slot (an
 * async-only plugin through a task of the facade's, counted as pending);
 * a plugin with blocking slots only runs its batch slot in the worker,
 * queued in order with the connection's other calls.  Blocking calls use
 * the batch slot on the caller's thread, or batch_async on a private
 * context (DalSyncCall) for an async-only plugin.  Every statement of a
 * batch is counted and classified for the pool (note_statement), and on
 * the worker path the transaction status is read after the batch as
 * after a statement.
 *
 * executemany is a batch of one statement with many parameter sets: the
 * same task, finished into a sum of affected rows.
 */
#include "config.h"

#include "dal-connection-private.h"

/* The task data of a batch call; begins with its OpKind (the worker). */
typedef struct
{
  OpKind kind;          /* OP_BATCH */
  DalBatch *batch;
  DalBatchItem *items;  /* point into @batch */
  guint n_items;
} BatchOp;

static void
batch_op_free (BatchOp *op)
{
  g_free (op->items);
  dal_batch_unref (op->batch);
  g_free (op);
}

/* Whether the plugin serves batches on the path this call takes; the
 * error names the plugin otherwise. */
static gboolean
check_batch (DalConnection *self, DalBatch *batch, gboolean async, GError **error)
{
  const DalPluginFuncs *f = self->funcs;
  gboolean ok = uses_worker (self) ? f->batch != NULL
                : async ? f->batch_async != NULL
                        : f->batch != NULL || f->batch_async != NULL;
  if (!ok)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Run the statements one by one, or use a postgresql+asyncpg:// or "
        "postgresql+psycopg2:// URL",
        "the %s plugin cannot run batches", dal_connection_get_plugin_name (self)));
      return FALSE;
    }
  if (dal_batch_get_size (batch) == 0)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_INVALID_PARAMETER, "Add at least one statement with dal_batch_add()",
        "the batch is empty"));
      return FALSE;
    }
  return TRUE;
}

/* Through a transaction pooler a batch with a LISTEN fails (@error). */
static gboolean
check_listen (DalConnection *self, const DalBatchItem *items, guint n_items,
              GError **error)
{
  for (guint i = 0; i < n_items; i++)
    if (!conn_check_listen (self, items[i].sql, error))
      return FALSE;
  return TRUE;
}

static void
return_batch (DalConnection *self, GTask *task, DalBatchResult *br, GError *error)
{
  if (br != NULL)
    g_task_return_pointer (task, br, (GDestroyNotify) dal_batch_result_unref);
  else
    {
      note_error (self, error);
      g_task_return_error (task, error);
    }
}

void
conn_batch_work (DalConnection *self, GTask *task)
{
  BatchOp *op = g_task_get_task_data (task);
  GError *error = NULL;
  if (g_task_return_error_if_cancelled (task))
    return;
  DalBatchResult *br = self->funcs->batch (self->handle, op->items, op->n_items,
                                           g_task_get_cancellable (task), &error);
  note_tx (self);
  return_batch (self, task, br, error);
}

/* An async-only plugin completed its task: the caller's (user_data)
 * follows. */
static void
async_only_batch_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  DalConnection *self = DAL_CONNECTION (source);
  GError *error = NULL;
  DalBatchResult *br = g_task_propagate_pointer (G_TASK (result), &error);

  g_assert (self->async_pending > 0);
  self->async_pending--;
  return_batch (self, task, br, error);
  g_object_unref (task);
}

/* Starts @batch (a reference taken) on @task (its reference taken). */
static void
start_batch (DalConnection *self, GTask *task, DalBatch *batch)
{
  GError *error = NULL;
  if (!check_batch (self, batch, TRUE, &error))
    {
      dal_batch_unref (batch);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (start_refused (self, task))
    {
      dal_batch_unref (batch);
      return;
    }

  BatchOp *op = g_new0 (BatchOp, 1);
  op->kind = OP_BATCH;
  op->batch = batch;
  op->items = _dal_batch_items_new (batch, &op->n_items);
  g_task_set_task_data (task, op, (GDestroyNotify) batch_op_free);
  if (!check_listen (self, op->items, op->n_items, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  for (guint i = 0; i < op->n_items; i++)
    note_statement (self, op->items[i].sql);

  if (uses_worker (self))
    enqueue (self, task);
  else if (is_async_only (self))
    {
      GTask *inner = g_task_new (self, g_task_get_cancellable (task),
                                 async_only_batch_done, task);
      g_task_set_name (inner, "dal plugin batch");
      self->async_pending++;
      self->funcs->batch_async (self->handle, op->items, op->n_items, inner);
    }
  else
    self->funcs->batch_async (self->handle, op->items, op->n_items, task);
}

void
dal_connection_run_batch_async (DalConnection *self, DalBatch *batch,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (batch != NULL);
  start_batch (self, new_task (self, cancellable, callback, user_data,
                               dal_connection_run_batch_async),
               dal_batch_ref (batch));
}

/* The result of any batch task of @self, errors redacted. */
static DalBatchResult *
batch_finish (DalConnection *self, GAsyncResult *result, GError **error)
{
  GError *local = NULL;
  DalBatchResult *br = g_task_propagate_pointer (G_TASK (result), &local);
  if (local != NULL)
    {
      note_error (self, local);
      redact (self, local);
      g_propagate_error (error, local);
      return NULL;
    }
  _dal_batch_result_redact (br, dal_url_get_password (self->url));
  return br;
}

DalBatchResult *
dal_connection_run_batch_finish (DalConnection *self, GAsyncResult *result,
                                 GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, dal_connection_run_batch_async),
                        NULL);
  return batch_finish (self, result, error);
}

/* Runs @batch blocking, its result redacted. */
static DalBatchResult *
run_batch (DalConnection *self, DalBatch *batch, GCancellable *cancellable,
           GError **error)
{
  if (!check_batch (self, batch, FALSE, error))
    return NULL;

  if (self->funcs->batch == NULL)
    {
      /* An async-only plugin: its batch_async on a private context. */
      if (blocking_refused (self, error))
        return NULL;
      DalSyncCall *call = dal_sync_call_new ();
      dal_connection_run_batch_async (self, batch, cancellable, dal_sync_call_done, call);
      DalBatchResult *br = batch_finish (self, dal_sync_call_wait (call), error);
      dal_sync_call_free (call);
      return br;
    }

  guint n_items;
  g_autofree DalBatchItem *items = _dal_batch_items_new (batch, &n_items);
  GError *local = NULL;
  DalBatchResult *br = NULL;
  gboolean claimed = FALSE;
  if (check_listen (self, items, n_items, &local)
      && blocking_begin (self, items[0].sql, cancellable, &claimed, &local))
    {
      for (guint i = 1; i < n_items; i++)
        note_statement (self, items[i].sql);
      br = self->funcs->batch (self->handle, items, n_items, cancellable, &local);
    }
  if (br != NULL)
    _dal_batch_result_redact (br, dal_url_get_password (self->url));
  blocking_end (self, claimed, local, error);
  return br;
}

DalBatchResult *
dal_connection_run_batch (DalConnection *self, DalBatch *batch,
                          GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (batch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return run_batch (self, batch, cancellable, error);
}

/* -- executemany -- */

gint64
dal_connection_execute_many (DalConnection *self, const char *sql, GVariant *rows,
                             GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (rows != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  g_autoptr (DalBatch) batch = _dal_batch_new_rows (sql, rows, error);
  if (batch == NULL)
    return -1;
  return _dal_batch_result_total (run_batch (self, batch, cancellable, error), error);
}

gint64
dal_connection_execute_many_texts (DalConnection *self, const char *sql,
                                   guint n_rows, guint n_params,
                                   const char * const *values,
                                   GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (n_params == 0 || values != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  g_autoptr (DalBatch) batch = _dal_batch_new_text_rows (sql, n_rows, n_params, values, error);
  if (batch == NULL)
    return -1;
  return _dal_batch_result_total (run_batch (self, batch, cancellable, error), error);
}

/* Starts @batch (taken; NULL: @error, taken, is the answer) for an
 * executemany task. */
static void
start_many (DalConnection *self, DalBatch *batch, GError *error,
            GCancellable *cancellable, GAsyncReadyCallback callback,
            gpointer user_data, gpointer tag)
{
  GTask *task = new_task (self, cancellable, callback, user_data, tag);
  if (batch == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  start_batch (self, task, batch);
}

void
dal_connection_execute_many_async (DalConnection *self, const char *sql,
                                   GVariant *rows, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (rows != NULL);
  GError *error = NULL;
  DalBatch *batch = _dal_batch_new_rows (sql, rows, &error);
  start_many (self, batch, error, cancellable, callback, user_data,
              dal_connection_execute_many_async);
}

void
dal_connection_execute_many_texts_async (DalConnection *self, const char *sql,
                                         guint n_rows, guint n_params,
                                         const char * const *values,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (n_params == 0 || values != NULL);
  GError *error = NULL;
  DalBatch *batch = _dal_batch_new_text_rows (sql, n_rows, n_params, values, &error);
  start_many (self, batch, error, cancellable, callback, user_data,
              dal_connection_execute_many_texts_async);
}

/* The _finish of an executemany task tagged @tag. */
static gint64
many_finish (DalConnection *self, GAsyncResult *result, gpointer tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), -1);
  g_return_val_if_fail (g_async_result_is_tagged (result, tag), -1);
  return _dal_batch_result_total (batch_finish (self, result, error), error);
}

gint64
dal_connection_execute_many_finish (DalConnection *self, GAsyncResult *result,
                                    GError **error)
{
  return many_finish (self, result, dal_connection_execute_many_async, error);
}

gint64
dal_connection_execute_many_texts_finish (DalConnection *self, GAsyncResult *result,
                                          GError **error)
{
  return many_finish (self, result, dal_connection_execute_many_texts_async, error);
}
