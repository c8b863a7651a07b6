/* dal-pool-go.c: a served request goes on (dal-pool.c's top comment).
 *
 * A request that got a slot (pool_claim_locked()) proceeds here: its
 * connection is moved to the caller's context when it lives elsewhere,
 * asked (without a round trip) whether the server ended it, checked with
 * a round trip when it idled long enough (one that also works through
 * transaction poolers), then handed to the borrower (an acquire) or given
 * the statement (a one-shot).  A slot found bad on the way is given
 * up and the request served again; a one-shot hit by a cancel that was
 * not its own runs again, once (docs/api.md says when).
 */
#include "config.h"


#include "dal-pool-private.h"

static void request_go (Request *req);

/* Gives up what pool_claim_locked() took, for a slot that turned out bad. */
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
  pool_slot_done_locked (pool, s, w);
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
  pool_work_run (pool, &w);
  if (was_acquire)
    g_object_unref (pool);

  req->slot = NULL;
  pool_request_run (req, TRUE);
}

/* The check's outcome (@res or @error, taken): hand out; or, when the
 * round trip failed, the connection is replaced and @req tries again. */
static void
check_outcome (Request *req, DalResult *res, GError *error)
{
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

static void
check_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GError *error = NULL;
  DalResult *res = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                &error);
  check_outcome (data, res, error);
}

/* On the caller's thread (blocking) or on the caller's context (async):
 * move the connection there, check it, then hand it out or run the
 * one-shot. */
void
pool_request_proceed (Request *req)
{
  Slot *s = req->slot;
  if (req->needs_move && !_dal_connection_set_context (s->conn, req->context))
    {
      request_retry_slot (req, FALSE, FALSE);
      return;
    }
  req->needs_move = FALSE;
  if (req->needs_peek && !_dal_connection_check_idle (s->conn))
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
      check_outcome (req, res, error);
      return;
    }
  request_go (req);
}

static void oneshot_done (GObject *source, GAsyncResult *result, gpointer data);
static void batch_done (GObject *source, GAsyncResult *result, gpointer data);
static void oneshot_finish (Request *req, gpointer result, GError *error);

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
      pool_serve_waiters_locked (pool, &w);
      g_mutex_unlock (&pool->lock);
      pool_work_run (pool, &w);
    }

  if (req->kind == REQ_ACQUIRE)
    {
      DalConnection *conn = s->conn;
      _dal_connection_lend (conn, req->context, req->blocking);
      s->lent_blocking = req->blocking;
      /* The borrower's reference is the pool's spare (pool_slot_new()):
       * once it and every other one but the toggle reference went, GLib
       * notifies, and that ends the borrow. */
      g_atomic_int_set (&s->lent, TRUE);
      if (req->blocking)
        req->acquired = conn;
      else
        pool_request_complete (req, conn);
      return;
    }

  if (req->kind == REQ_BATCH && req->blocking)
    {
      GError *error = NULL;
      oneshot_finish (req, dal_connection_run_batch (s->conn, req->batch, req->cancellable,
                                                     &error),
                      error);
      return;
    }
  if (req->kind == REQ_BATCH)
    {
      dal_connection_run_batch_async (s->conn, req->batch, req->cancellable, batch_done, req);
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
  Request *req = data;
  GError *error = NULL;
  DalResult *res = req->texts_form
    ? dal_connection_query_texts_finish (DAL_CONNECTION (source), result, &error)
    : dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  oneshot_finish (req, res, error);
}

static void
batch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GError *error = NULL;
  DalBatchResult *res = dal_connection_run_batch_finish (DAL_CONNECTION (source), result,
                                                         &error);
  oneshot_finish (data, res, error);
}

/* @result: a DalResult, or a DalBatchResult for REQ_BATCH. */
static void
oneshot_finish (Request *req, gpointer result, GError *error)
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
      pool_slot_done_locked (pool, s, &w);
      pool_serve_waiters_locked (pool, &w);
    }
  else
    s->returning = TRUE;
  g_mutex_unlock (&pool->lock);
  pool_work_run (pool, &w);
  if (exclusive)
    pool_slot_release (s, s->dirty, FALSE, req->blocking);
  req->slot = NULL;

  if (retry)
    {
      g_clear_error (&error);
      req->retried = TRUE;
      pool_request_run (req, TRUE);
      return;
    }

  if (req->blocking)
    {
      if (req->kind == REQ_BATCH)
        req->batch_result = result;
      else
        req->result = result;
      req->error = error;
      return;
    }
  if (result != NULL)
    g_task_return_pointer (req->task, result,
                           req->kind == REQ_BATCH ? (GDestroyNotify) dal_batch_result_unref
                                                  : (GDestroyNotify) dal_result_unref);
  else
    g_task_return_error (req->task, error);
  pool_request_unref (req);
}

