/* pgasync: the non-blocking PostgreSQL driver (driver name "asyncpg").
 *
 * libpq in non-blocking pipeline mode.  Every statement is sent at once,
 * followed by its own sync point, so many are in flight on one connection
 * and one statement's error fails only that statement (the rest of its
 * sync segment is just itself).  Results come back in order and go to the
 * operation at the head of the queue.  A lone statement (nothing in
 * flight, and the connection's callers have been waiting for each result)
 * goes outside pipeline mode instead, with libpq's own Sync: the same
 * messages, without the PGRES_PIPELINE_SYNC result libpq makes for each
 * sync point (pgasync-send.c says when).
 *
 * The main context the connection was opened in (its "home" context)
 * watches the socket, the end of cancel requests (an eventfd,
 * dal-pg-cancel.c, polled only while one is on its way: every descriptor
 * polled costs every poll()) and the deadline of the statement at the head of the
 * queue, through the one GSource pgasync has there for all its
 * connections (the hub, pgasync-hub.c: an iteration prepares and checks
 * one source however many connections live on the context).  An idle
 * connection has no deadline and nothing readable: it costs no wake-ups.
 * Blocking calls pump the same engine with poll() on the same three
 * things instead.
 *
 * Completions.  Finished operations are handed to a FIFO of the
 * connection's (pgasync-deliver.c), and callbacks run only from a
 * dispatch of the hub on the home context, after it has read what it
 * could, never inside another call: a blocking call, an _async call or a
 * close made from a callback completes other operations into the FIFO,
 * and they are delivered when that callback has returned (or by a main
 * loop the callback runs itself: the hub may recurse).  Callbacks run in
 * the order the statements were started (a call cancelled through its
 * GCancellable excepted: it completes at once).
 *
 * Cancellation (GCancellable) completes the caller's task at once and asks
 * the server to cancel the statement when it is the one running.  A
 * command timeout also cancels on the server, and the statement fails with
 * the server's SQLSTATE 57014; the connection stays usable.  The timeout
 * counts from when the statement reaches the head of the queue (when the
 * server starts it), not from when it was sent: time spent waiting behind
 * other statements in the pipeline is not the statement's own.
 *
 * Deadlines hold whatever the server does.  After a cancel request the
 * server has cancel_timeout (default 2 s) to end the statement.  If it
 * has not (frozen, or the network drops packets), the connection is
 * closed: the statement fails with its timeout error (or CANCELLED), the
 * statements behind it with DAL_ERROR_CONNECTION_LOST, and the connection
 * is lost (is_lost()).  The cancel request runs on a thread of its own
 * and holds nobody.
 *
 * In a pipeline, a cancel request that reaches the server just after its
 * statement finished hits the next one: that statement then fails with
 * 57014 and a message saying so (retryable).  This is PostgreSQL's cancel
 * protocol, not a libdal choice.  What pgasync does avoid is the same
 * accident on statements started after the request: while one is on its
 * way (until PQcancel returns, i.e. the server has acted on it), new
 * statements are held back (pg->unsent) and sent once it has returned.
 */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "pgasync-private.h"


static void pg_io (PgAsync *pg, GIOCondition revents, GQueue *done);
static void complete_all (PgAsync *pg, GQueue *done);
static void fail_all (PgAsync *pg, GQueue *done, const GError *why);

/* -- lifetime -- */

PgAsync *
pg_ref (PgAsync *pg)
{
  pg->ref_count++;
  return pg;
}

void
pg_unref (PgAsync *pg)
{
  if (--pg->ref_count > 0)
    return;
  g_assert (pg->conn == NULL && g_queue_is_empty (&pg->ops)
            && g_queue_is_empty (&pg->unsent));
  g_clear_error (&pg->lost);
  /* Completions still queued outlive the connection. */
  pg_deliverer_release (pg->deliverer);
  dal_pg_canceller_free (pg->canceller);
  g_hash_table_unref (pg->cache);
  g_queue_clear (&pg->cache_lru);
  g_string_free (pg->cache_key_buf, TRUE);
  pg_spares_clear (&pg->spare_ops);
  g_free (pg->spare_subs);
  g_queue_clear_full (&pg->deallocate, g_free);
  dal_pg_session_free (pg->session);
  dal_url_unref (pg->url);
  g_main_context_unref (pg->context);
  g_free (pg);
}

/* Frees what @op holds, not @op itself (a batch's statements live in one
 * block). */
void
op_clear (PgOp *op)
{
  dal_pg_source_clear (&op->cancel_source);
  g_clear_pointer (&op->result, PQclear);
  if (G_UNLIKELY (op->error != NULL))
    g_clear_error (&op->error);
  if (G_UNLIKELY (op->session_error != NULL))
    g_clear_error (&op->session_error);
  g_clear_pointer (&op->cache_entry, cache_entry_unref);
  g_free (op->deallocates);
  if (G_UNLIKELY (op->subs != NULL))
    pgasync_batch_free_subs (op);
}

/* Frees what @op holds; @op is kept for the connection's next one. */
void
op_free (PgOp *op)
{
  op_clear (op);
  pg_spares_put (&op->pg->spare_ops, &op->link);
}

/* -- the connection on its context's hub (pgasync-hub.c) -- */

static void on_head_deadline (PgAsync *pg, GQueue *done);

/* TLS holds input that the socket no longer shows (pgasync reads with
 * OpenSSL's read-ahead: one read may take several records, and libpq
 * takes one per read). */
static inline gboolean
input_pending (PgAsync *pg)
{
  return pg->tls != NULL && pg->conn != NULL && dal_pg_tls_session_pending (pg->tls);
}

/* Before the connection waits for its socket again: if TLS holds input,
 * its watch fires at once instead (pg->input_due). */
static void
check_input (PgAsync *pg)
{
  if (G_UNLIKELY (input_pending (pg)) && !pg->input_due)
    {
      pg->input_due = TRUE;
      update_deadline (pg);
    }
}

/* The hub's dispatch found the socket, the cancel eventfd or the deadline
 * fired: reads and completes into the FIFO, which the hub drains next. */
static void
pg_watch_fired (gpointer data, GIOCondition revents, gboolean cancel_ready, gboolean due)
{
  PgAsync *pg = data;
  GQueue done = G_QUEUE_INIT;

  pg_ref (pg);
  if (due && pg->input_due)
    {
      pg->input_due = FALSE;
      revents |= G_IO_IN;
    }
  if (cancel_ready)
    {
      dal_pg_canceller_acknowledge (pg->canceller);
      if (dal_pg_canceller_pending (pg->canceller) == 0 && pg->source != NULL)
        pg_hub_watch_cancel (pg->source, &pg->watch, FALSE);
      flush_unsent (pg, &done);
    }
  if (revents != 0)
    pg_io (pg, revents, &done);
  /* (pg_io may have ended the connection and left the hub.) */
  if (due && pg->source != NULL)
    on_head_deadline (pg, &done);
  complete_all (pg, &done);
  pg_unref (pg);
}

/* Watches for input always, for output while libpq has unsent data. */
void
update_watch (PgAsync *pg)
{
  if (pg->source == NULL || pg->conn == NULL)
    return;
  GIOCondition want = G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (PQflush (pg->conn) > 0)
    want |= G_IO_OUT;
  if (want != pg->watching)
    {
      pg_hub_set_condition (pg->source, &pg->watch, want);
      pg->watching = want;
    }
  /* A send may have read (libpq reads when the socket takes no more). */
  check_input (pg);
}

/* -- deadlines and cancel requests -- */

/* The monotonic time (µs) at which something must happen to the statement
 * the server runs now: its command timeout, or giving the connection up
 * once its cancel request went unanswered; -1: nothing. */
static gint64
head_deadline (PgAsync *pg)
{
  PgOp *head = ops_head (pg);
  if (head == NULL || pg->conn == NULL)
    return -1;
  if (head->cancel_sent)
    return head->give_up_at;
  if (head->cancel_reason != DAL_PG_CANCEL_NONE)
    return g_get_monotonic_time ();  /* wanted, not sent yet */
  if (pg->command_timeout_ms > 0 && head->head_since != 0)
    return head->head_since + pg->command_timeout_ms * 1000;
  return -1;
}

void
update_deadline (PgAsync *pg)
{
  /* Now, when TLS holds input the socket does not show. */
  gint64 t = pg->input_due ? 0 : head_deadline (pg);
  if (pg->source == NULL || t == pg->ready_time)
    return;
  pg->ready_time = t;
  pg_hub_set_ready_time (pg->source, &pg->watch, t);
}

/* The statement at the head of the queue is the one the server runs now:
 * note when it got there (its command timeout counts from then; nothing
 * else reads it). */
void
note_head (PgAsync *pg)
{
  PgOp *head = ops_head (pg);
  if (head != NULL && head->head_since == 0 && pg->command_timeout_ms > 0)
    head->head_since = g_get_monotonic_time ();
}

/* If the statement the server runs (the head) should be cancelled, sends
 * the request (on a thread of its own) and starts the cancel_timeout. */
static void
maybe_send_cancel (PgAsync *pg)
{
  PgOp *head = ops_head (pg);
  if (head == NULL || head->cancel_reason == DAL_PG_CANCEL_NONE || head->cancel_sent
      || pg->conn == NULL)
    return;
  head->cancel_sent = TRUE;
  /* The statements already sent behind it can be hit by the request if
   * the head finishes before it arrives; later ones are held back. */
  for (GList *l = pg->ops.head->next; l != NULL; l = l->next)
    ((PgOp *) l->data)->cancel_exposed = TRUE;
  /* No request could go out: give the connection up at once. */
  head->give_up_at = g_get_monotonic_time ();
  if (pg->source != NULL)
    pg_hub_watch_cancel (pg->source, &pg->watch, TRUE);
  if (dal_pg_canceller_send (pg->canceller, pg->conn))
    head->give_up_at += pg->cancel_timeout_ms * 1000;
}

/* The server left a cancel request unanswered past cancel_timeout: close
 * the connection; the statement gets its own error, the others
 * connection-lost. */
static void
give_up (PgAsync *pg, GQueue *done)
{
  PgOp *head = op_queue_pop (&pg->ops);
  g_clear_error (&head->error);
  head->error = dal_pg_error_cancel_unanswered (head->cancel_reason,
                                                pg->command_timeout_ms,
                                                pg->cancel_timeout_ms);
  op_queue_push (done, head);

  g_autofree char *why = g_strdup_printf (
    "the server did not answer a cancel request within cancel_timeout=%g s, "
    "so the connection was closed", pg->cancel_timeout_ms / 1000.0);
  pg->lost = dal_pg_error_connection_gone (why);
  g_atomic_int_set (&pg->lost_flag, 1);
  fail_all (pg, done, pg->lost);
  detach_source (pg);
  g_clear_pointer (&pg->conn, PQfinish);
}

static void
on_head_deadline (PgAsync *pg, GQueue *done)
{
  PgOp *head = ops_head (pg);
  gint64 deadline = head_deadline (pg);
  if (head == NULL || deadline < 0 || g_get_monotonic_time () < deadline)
    {
      update_deadline (pg);
      return;
    }
  if (head->cancel_sent)
    give_up (pg, done);
  else
    {
      if (head->cancel_reason == DAL_PG_CANCEL_NONE)
        head->cancel_reason = DAL_PG_CANCEL_BY_TIMEOUT;
      maybe_send_cancel (pg);
    }
  update_deadline (pg);
}

/* -- completing operations (their callbacks: pgasync-deliver.c) -- */


GError *
op_final_error (PgAsync *pg, PgOp *op)
{
  if (G_UNLIKELY (op->session_error != NULL))
    {
      /* The statement was not run (or its transaction is void). */
      g_clear_error (&op->error);
      op->error = g_steal_pointer (&op->session_error);
    }
  GError *e = dal_pg_error_cancelled (g_steal_pointer (&op->error), op->cancel_reason,
                                      op->cancel_exposed, pg->command_timeout_ms);
  if (e == NULL && op->result == NULL)
    e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                            "the server sent no result for the statement");
  return e;
}

/* Hands an operation whose sync point arrived to whoever waits for it. */
static void
op_complete (PgOp *op)
{
  PgAsync *pg = op->pg;
  op->done = TRUE;
  dal_pg_source_clear (&op->cancel_source);
  if (op->blocking)
    return;  /* the pump reads it and frees it */

  GTask *task = g_steal_pointer (&op->task);
  DalCall *call = g_steal_pointer (&op->call);
  if (G_UNLIKELY (op->subs != NULL) && task != NULL)
    pgasync_batch_deliver (pg, op, task);
  else if (task != NULL || call != NULL)
    {
      GError *error = op_final_error (pg, op);
      if (error != NULL)
        {
          dal_error_redact (error, dal_url_get_password (pg->url));
          pg_deliverer_push (pg->deliverer, task, call, NULL, error);
        }
      else
        pg_deliverer_push (pg->deliverer, task, call,
                           dal_pg_result_new (g_steal_pointer (&op->result)), NULL);
    }
  op_free (op);
}

/* Completes what is in @done, in order, into the FIFO.  Its callbacks run
 * at the end of the source's dispatch, or from the deliverer's own. */
static void
complete_all (PgAsync *pg, GQueue *done)
{
  PgOp *op;
  while ((op = op_queue_pop (done)) != NULL)
    op_complete (op);
  pg_deliverer_kick (pg->deliverer);
}

/* -- results -- */

void
take_result (PgAsync *pg, PgOp *op, PGresult *r)
{
  switch (PQresultStatus (r))
    {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      /* With a Prepare first, the statement's own result comes last. */
      g_clear_pointer (&op->result, PQclear);
      op->result = r;
      return;
    case PGRES_PIPELINE_ABORTED:
      if (op->error == NULL)
        op->error = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                        "the statement was not run because an "
                                        "earlier part of it failed");
      break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      if (op->error == NULL)
        op->error = dal_pg_error_copy_in_query ();
      break;
    default:
      if (op->error == NULL)
        op->error = dal_pg_error_from_result (pg->conn, r);
      cache_note_failure (pg, op, r);
      break;
    }
  PQclear (r);
}

/* The connection is gone: every operation still queued gets an error. */
static void
fail_all (PgAsync *pg, GQueue *done, const GError *why)
{
  PgOp *op;
  while ((op = op_queue_pop (&pg->ops)) != NULL
         || (op = op_queue_pop (&pg->unsent)) != NULL)
    {
      if (op->error == NULL)
        op->error = g_error_copy (why);
      op_queue_push (done, op);
    }
}

/* The server's own word on why it ended the session (57P01 "terminating
 * connection due to administrator command", …), if a statement got one. */
static const GError *
server_said_why (PgAsync *pg, GQueue *done)
{
  PgOp *candidates[] = { ops_head (pg), g_queue_peek_tail (done) };
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] != NULL && candidates[i]->error != NULL
        && dal_error_get_sqlstate (candidates[i]->error) != NULL)
      return candidates[i]->error;
  return NULL;
}

void
mark_lost (PgAsync *pg, GQueue *done)
{
  const GError *cause = server_said_why (pg, done);
  if (pg->lost == NULL)
    pg->lost = cause != NULL ? g_error_copy (cause) : dal_pg_error_from_result (pg->conn, NULL);
  if (pg->lost->domain != DAL_ERROR || pg->lost->code != DAL_ERROR_CONNECTION_LOST)
    {
      g_autofree char *what = dal_pg_error_what_happened (pg->lost);
      GError *e = dal_pg_error_connection_gone (what);
      for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
        dal_error_set_field (e, i, dal_error_get_field (pg->lost, i));
      g_error_free (pg->lost);
      pg->lost = e;
    }
  g_atomic_int_set (&pg->lost_flag, 1);
  fail_all (pg, done, pg->lost);
  detach_source (pg);
}

/* At its sync point: a statement whose cached plan went stale is run
 * again, once, when that cannot change what else ran: nothing is in
 * flight behind it and it was not inside a transaction block (asyncpg's
 * rule).  Otherwise its error says what happened.  TRUE if re-sent. */
static gboolean
retry_stale_plan (PgAsync *pg, PgOp *op)
{
  if (!op->stale_plan || op->retried)
    return FALSE;
  if (!op->held && g_queue_is_empty (&pg->ops) && g_queue_is_empty (&pg->unsent)
      && PQtransactionStatus (pg->conn) == PQTRANS_IDLE)
    {
      GError *error = NULL;
      op->retried = TRUE;
      op->stale_plan = FALSE;
      op->prepares = FALSE;
      op->in_sync_phase = FALSE;
      g_clear_error (&op->error);
      g_clear_pointer (&op->result, PQclear);
      g_clear_pointer (&op->cache_entry, cache_entry_unref);
      if (send_op (pg, op, &error))
        return TRUE;
      op->error = error;
      return FALSE;
    }
  GError *e = dal_error_new_hint (
    DAL_ERROR_QUERY_FAILED,
    "Run it again; inside a transaction, roll back and run the whole "
    "transaction again",
    "the statement's cached prepared plan no longer matches its tables "
    "(a column's type changed, e.g. by ALTER TABLE); it was dropped from "
    "the statement cache and the statement did not run");
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    dal_error_set_field (e, i, dal_error_get_field (op->error, i));
  dal_error_set_retryable (e, TRUE);
  g_error_free (op->error);
  op->error = e;
  return FALSE;
}

/* The result of the session settings' set_config(): consumed here, never
 * delivered; its error fails the statement, naming the setting. */
void
take_session_result (PgAsync *pg, PgOp *op, PGresult *r)
{
  if (PQresultStatus (r) == PGRES_FATAL_ERROR && op->session_error == NULL)
    op->session_error = dal_pg_session_error (pg->session, -1,
                                              dal_pg_error_from_result (pg->conn, r),
                                              FALSE);
  PQclear (r);
}

/* The server answered a statement with COPY, which the query API cannot
 * serve: COPY FROM STDIN is failed on the server (the statement then
 * fails with the server's error), COPY TO STDOUT's data is read and
 * dropped.  The statement's error says why either way.  FALSE while that
 * data is still coming (wait for the socket). */
static gboolean
leave_copy (PgAsync *pg, PgOp *op)
{
  if (!op->leaving_copy)
    return TRUE;
  char *buf;
  int n;
  while ((n = PQgetCopyData (pg->conn, &buf, TRUE)) > 0)
    PQfreemem (buf);
  if (n == 0)
    return FALSE;
  op->leaving_copy = FALSE;
  return TRUE;
}

/* Starts leaving the COPY that @r (then handed on as usual, for its
 * error) announces, for the head @op. */
static void
start_leaving_copy (PgAsync *pg, PgOp *op, const PGresult *r)
{
  switch (PQresultStatus (r))
    {
    case PGRES_COPY_OUT:
      op->leaving_copy = TRUE;
      break;
    case PGRES_COPY_IN:
    case PGRES_COPY_BOTH:
      dal_pg_copy_in_refuse (pg->conn);
      break;
    default:
      break;
    }
}

/* @op's results have ended (its sync point, or the end of a statement that
 * went alone): it is done, unless it is run again. */
static void
op_finished (PgAsync *pg, PgOp *op, GQueue *done)
{
  op_queue_pop (&pg->ops);
  if (!retry_stale_plan (pg, op))
    op_queue_push (done, op);
}

/* Reads every result libpq has whole; finished operations go to @done. */
static void
process_results (PgAsync *pg, GQueue *done)
{
  while (pg->ops.head != NULL)
    {
      note_head (pg);
      maybe_send_cancel (pg);
      PgOp *op = ops_head (pg);
      if (G_UNLIKELY (op->leaving_copy) && !leave_copy (pg, op))
        break;
      if (PQisBusy (pg->conn))
        break;

      PGresult *r = PQgetResult (pg->conn);
      if (r != NULL)
        start_leaving_copy (pg, op, r);
      if (G_UNLIKELY (op->subs != NULL) && !op->in_sync_phase)
        {
          pgasync_batch_take (pg, op, r);
          continue;
        }
      if (!op->in_sync_phase)
        {
          if (r == NULL && op->alone)
            {
              /* libpq's own Sync: its result ends the statement.  A
               * connection that ended first fails it with everything
               * else (mark_lost). */
              if (PQstatus (pg->conn) == CONNECTION_BAD)
                break;
              op_finished (pg, op, done);
            }
          else if (r == NULL)
            op->in_sync_phase = --op->groups_left == 0;
          else if (op->session_at != 0 && op->session_at == 3 - op->groups_left)
            take_session_result (pg, op, r);
          else
            take_result (pg, op, r);
          continue;
        }
      if (r == NULL)
        break;  /* nothing more now (the connection may have ended) */
      if (PQresultStatus (r) == PGRES_PIPELINE_SYNC)
        {
          PQclear (r);
          op_finished (pg, op, done);
          continue;
        }
      take_result (pg, op, r);
    }

  if (PQstatus (pg->conn) == CONNECTION_BAD && pg->lost == NULL)
    mark_lost (pg, done);
  note_depth (pg);
  update_deadline (pg);
}

/* Reads what came (one TLS record at most) and takes the results it
 * completes; FALSE once the connection ended. */
static gboolean
read_input (PgAsync *pg, GQueue *done)
{
  if (!PQconsumeInput (pg->conn) && PQstatus (pg->conn) == CONNECTION_BAD)
    {
      /* Results already received still belong to their operations. */
      process_results (pg, done);
      if (pg->lost == NULL)
        mark_lost (pg, done);
      return FALSE;
    }
  process_results (pg, done);
  return pg->lost == NULL;
}

static void
pg_io (PgAsync *pg, GIOCondition revents, GQueue *done)
{
  if (pg->conn == NULL || pg->lost != NULL)
    return;

  gboolean ok = TRUE;
  if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    {
      ok = read_input (pg, done);
      /* The records read along with it, from memory. */
      while (ok && input_pending (pg))
        ok = read_input (pg, done);
    }
  else
    process_results (pg, done);
  if (ok && pg->lost == NULL)
    {
      flush_unsent (pg, done);
      update_watch (pg);
    }
  /* After the results: libpq parses no further than a result not read. */
  dal_pg_notify_drain (pg->conn, &pg->notify);
}

/* -- async statements (sending them: pgasync-send.c) -- */

static gboolean
op_on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  PgOp *op = user_data;
  PgAsync *pg = op->pg;
  if (op->cancel_reason == DAL_PG_CANCEL_NONE)
    op->cancel_reason = DAL_PG_CANCEL_BY_CALLER;
  GTask *task = g_steal_pointer (&op->task);
  DalCall *call = g_steal_pointer (&op->call);
  g_clear_pointer (&op->cancel_source, g_source_unref);
  if (op->held)
    {
      /* Never sent: nothing to cancel on the server. */
      g_queue_unlink (&pg->unsent, &op->link);
      op_free (op);
    }
  else
    {
      maybe_send_cancel (pg);
      update_deadline (pg);
    }
  /* The caller hears now, and last: its callback may start the next
   * statement (held back while the cancel request is on its way) or
   * close the connection.  The server's answer is dropped when it
   * comes. */
  GError *cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                           "the statement was cancelled");
  if (task != NULL)
    {
      g_task_return_error (task, cancelled);
      g_object_unref (task);
    }
  else if (call != NULL)
    dal_call_return (call, NULL, cancelled);
  else
    g_error_free (cancelled);
  return G_SOURCE_REMOVE;
}

/* Starts @op (taken) for an async caller, who waits on @task or @call. */
void
start_async (PgAsync *pg, PgOp *op, const char *sql, const DalParams *params,
             GTask *task, DalCall *call, GCancellable *cancellable)
{
  GError *error = NULL;

  if (!start_op (pg, op, sql, params, &error))
    {
      /* In its turn, after what completes before it; never from here. */
      pg_deliverer_push (pg->deliverer, task, call, NULL, error);
      pg_deliverer_kick (pg->deliverer);
      op_free (op);
      return;
    }
  op->task = task;
  op->call = call;
  if (cancellable != NULL)
    {
      op->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (op->cancel_source, G_SOURCE_FUNC (op_on_cancelled), op, NULL);
      g_source_attach (op->cancel_source, pg->context);
    }
}

static void
pgasync_query_async (gpointer handle, const char *sql, const DalParams *params,
                     GTask *task)
{
  PgAsync *pg = handle;
  start_async (pg, op_new (pg), sql, params, task, NULL, g_task_get_cancellable (task));
}

/* The same on a DalCall, whose callback the FIFO runs directly: only for
 * a caller on the connection's home context (a GTask takes the others to
 * theirs). */
static gboolean
pgasync_query_call (gpointer handle, const char *sql, const DalParams *params,
                    DalCall *call)
{
  PgAsync *pg = handle;
  GMainContext *caller = g_main_context_get_thread_default ();
  if ((caller != NULL ? caller : g_main_context_default ()) != pg->context)
    return FALSE;
  start_async (pg, op_new (pg), sql, params, NULL, call, dal_call_get_cancellable (call));
  return TRUE;
}

/* -- blocking statements: pump the engine with poll() -- */

static int
poll_timeout_ms (gint64 deadline)
{
  if (deadline < 0)
    return -1;
  gint64 ms = (deadline - g_get_monotonic_time () + 999) / 1000;
  return (int) CLAMP (ms, 0, G_MAXINT);
}

gboolean
run_blocking (PgAsync *pg, PgOp *op, const char *sql, const DalParams *params,
              GCancellable *cancellable, GError **error)
{
  op->blocking = TRUE;
  if (!start_op (pg, op, sql, params, error))
    return FALSE;

  pg->pumping++;
  int cancel_fd = cancellable != NULL ? g_cancellable_get_fd (cancellable) : -1;

  while (!op->done && pg->conn != NULL)
    {
      GQueue done = G_QUEUE_INIT;
      struct pollfd fds[3] = {
        { .fd = PQsocket (pg->conn), .events = POLLIN },
        { .fd = dal_pg_canceller_get_fd (pg->canceller), .events = POLLIN },
        { .fd = op->cancel_reason == DAL_PG_CANCEL_NONE ? cancel_fd : -1, .events = POLLIN },
      };
      if (PQflush (pg->conn) > 0)
        fds[0].events |= POLLOUT;

      gboolean pending = input_pending (pg);
      int n = poll (fds, 3, pending ? 0 : poll_timeout_ms (head_deadline (pg)));
      if (n < 0)
        continue;  /* EINTR */
      if (pending)
        fds[0].revents |= POLLIN;
      if (fds[1].revents != 0)
        {
          dal_pg_canceller_acknowledge (pg->canceller);
          flush_unsent (pg, &done);
        }
      if (fds[2].revents != 0 && op->cancel_reason == DAL_PG_CANCEL_NONE)
        {
          op->cancel_reason = DAL_PG_CANCEL_BY_CALLER;
          if (op->held)
            {
              /* Never sent: nothing to cancel on the server. */
              g_queue_unlink (&pg->unsent, &op->link);
              op->held = FALSE;
              op->done = TRUE;
              op->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "the statement was cancelled");
            }
          else
            maybe_send_cancel (pg);
        }
      GIOCondition rev = 0;
      if (fds[0].revents & POLLIN)
        rev |= G_IO_IN;
      if (fds[0].revents & POLLOUT)
        rev |= G_IO_OUT;
      if (fds[0].revents & (POLLHUP | POLLERR))
        rev |= G_IO_HUP;
      if (rev != 0)
        pg_io (pg, rev, &done);
      on_head_deadline (pg, &done);
      complete_all (pg, &done);
    }
  if (cancel_fd >= 0)
    g_cancellable_release_fd (cancellable);
  pg->pumping--;

  if (!op->done)
    {
      /* Closed from another callback while we waited (cannot happen on
       * one thread; kept as a guard). */
      if (g_queue_link_index (&pg->ops, &op->link) >= 0)
        g_queue_unlink (&pg->ops, &op->link);
      if (g_queue_link_index (&pg->unsent, &op->link) >= 0)
        g_queue_unlink (&pg->unsent, &op->link);
      g_set_error_literal (error, DAL_ERROR, DAL_ERROR_CLOSED, "the connection was closed");
      return FALSE;
    }
  return TRUE;
}

static DalResult *
pgasync_query (gpointer handle, const char *sql, const DalParams *params,
               GCancellable *cancellable, GError **error)
{
  PgAsync *pg = handle;
  PgOp *op = op_new (pg);
  DalResult *result = NULL;

  pg_ref (pg);
  if (run_blocking (pg, op, sql, params, cancellable, error))
    {
      GError *e = op_final_error (pg, op);
      if (e != NULL)
        g_propagate_error (error, e);
      else
        result = dal_pg_result_new (g_steal_pointer (&op->result));
    }
  op_free (op);
  update_deadline (pg);
  pg_unref (pg);
  return result;
}

/* -- connecting and closing -- */

/* Puts the connection's socket on its home context's hub, watching what
 * pg->watching and pg->ready_time say. */
void
attach_source (PgAsync *pg)
{
  PgHub *hub = pg_deliverer_get_hub (pg->deliverer);
  pg->watch.func = pg_watch_fired;
  pg->watch.data = pg;
  pg->watch.ready_time = pg->ready_time;
  pg_hub_add_watch (hub, &pg->watch, PQsocket (pg->conn), pg->watching,
                    dal_pg_canceller_get_fd (pg->canceller));
  if (dal_pg_canceller_pending (pg->canceller) > 0)
    pg_hub_watch_cancel (hub, &pg->watch, TRUE);
  pg->source = hub;
  check_input (pg);
}

/* Takes the connection's socket off the hub (the connection ended, or a
 * COPY has it). */
void
detach_source (PgAsync *pg)
{
  if (pg->source == NULL)
    return;
  pg_hub_remove_watch (pg->source, &pg->watch);
  pg->source = NULL;
}

static PgAsync *
pgasync_new (PGconn *conn, const DalPgTimings *timings, DalUrl *url,
             GMainContext *context, GError **error)
{
  if (!PQenterPipelineMode (conn))
    {
      g_autofree char *why = dal_pg_clean_message (PQerrorMessage (conn));
      *error = dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                                   "pgasync needs libpq 14 or newer",
                                   "could not enter pipeline mode: %s", why);
      PQfinish (conn);
      return NULL;
    }

  PgAsync *pg = g_new0 (PgAsync, 1);
  pg->ref_count = 1;
  pg->conn = conn;
  pg->timings = *timings;
  pg->url = dal_url_ref (url);
  pg->context = g_main_context_ref (context);
  pg->command_timeout_ms = dal_pg_command_timeout_ms (url);
  pg->cancel_timeout_ms = dal_pg_cancel_timeout_ms (url);
  pg->canceller = dal_pg_canceller_new ();
  pg->cache = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                     (GDestroyNotify) cache_entry_unref);
  g_queue_init (&pg->cache_lru);
  pg->cache_key_buf = g_string_new (NULL);
  /* Refused before connecting when it would fail (dal-pg-connect.c). */
  if (!dal_pg_session_new (url, &pg->session, NULL))
    g_warn_if_reached ();
  pg->cache_size = dal_url_get_uint (url, "statement_cache_size", 0);
  if (pg->cache_size > 0 && dal_url_is_transaction_pooler (url))
    {
      g_info ("statement_cache_size=%u ignored: the host looks like a "
              "transaction pooler, where named statements are unsafe",
              pg->cache_size);
      pg->cache_size = 0;
    }

  pg->tls = dal_pg_tls_read_ahead (conn);
  pg->deliverer = pg_deliverer_new (context);
  pg->watching = G_IO_IN | G_IO_HUP | G_IO_ERR;
  pg->ready_time = -1;
  attach_source (pg);
  return pg;
}

static void
pgasync_close (gpointer handle)
{
  PgAsync *pg = handle;
  GQueue done = G_QUEUE_INIT;
  GError *closed = dal_error_new_hint (DAL_ERROR_CLOSED,
                                       "Do not close a connection while it is "
                                       "still in use",
                                       "the connection was closed before the "
                                       "statement completed");
  pg->closed = TRUE;
  fail_all (pg, &done, closed);
  g_error_free (closed);
  detach_source (pg);
  g_clear_pointer (&pg->conn, PQfinish);
  complete_all (pg, &done);
  pg_unref (pg);
}

static gboolean
pgasync_is_lost (gpointer handle)
{
  PgAsync *pg = handle;
  return g_atomic_int_get (&pg->lost_flag) != 0;
}

/* The pool moves idle connections between threads' contexts: the
 * connection leaves its hub (which goes with its last connection) for
 * @context's, watching the same things. */
static gboolean
pgasync_set_context (gpointer handle, GMainContext *context)
{
  PgAsync *pg = handle;
  if (!g_queue_is_empty (&pg->ops) || !g_queue_is_empty (&pg->unsent)
      || pg->pumping > 0 || !pg_deliverer_is_empty (pg->deliverer))
    return FALSE;
  if (context == pg->context)
    return TRUE;

  gboolean had_source = pg->source != NULL;
  detach_source (pg);
  pg_deliverer_release (pg->deliverer);  /* empty: it goes at once */
  g_main_context_unref (pg->context);
  pg->context = g_main_context_ref (context);
  pg->deliverer = pg_deliverer_new (context);
  /* A lost connection has no socket to watch any more. */
  if (had_source && pg->conn != NULL)
    attach_source (pg);
  return TRUE;
}

/* Before the pool hands the connection out: did the server end it while
 * it was idle? */
static gboolean
pgasync_check_idle (gpointer handle)
{
  PgAsync *pg = handle;
  if (g_atomic_int_get (&pg->lost_flag) || pg->conn == NULL)
    return FALSE;
  /* Not idle: what arrives is for the statements in flight. */
  if (!g_queue_is_empty (&pg->ops) || !g_queue_is_empty (&pg->unsent))
    return TRUE;

  GError *why = NULL;
  gboolean alive = dal_pg_check_idle (pg->conn, &pg->notify, &why);
  dal_pg_notify_drain (pg->conn, &pg->notify);
  if (alive)
    return TRUE;
  if (pg->lost == NULL)
    pg->lost = why;   /* made a CONNECTION_LOST error by mark_lost */
  else
    g_error_free (why);
  GQueue done = G_QUEUE_INIT;
  mark_lost (pg, &done);
  complete_all (pg, &done);
  return FALSE;
}

static void
connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;  /* the core's */
  GError *error = NULL;
  DalPgConnected *done = g_task_propagate_pointer (G_TASK (result), &error);
  PgAsync *pg = done != NULL
                  ? pgasync_new (g_steal_pointer (&done->conn), &done->timings,
                                 g_task_get_task_data (task),
                                 g_task_get_context (task), &error)
                  : NULL;
  dal_pg_connected_free (done);
  if (pg != NULL)
    g_task_return_pointer (task, pg, pgasync_close);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
pgasync_connect_async (DalUrl *url, GTask *task)
{
  g_task_set_task_data (task, dal_url_ref (url), (GDestroyNotify) dal_url_unref);
  dal_pg_connect_async (url, g_task_new (NULL, g_task_get_cancellable (task),
                                         connected, task));
}

static gpointer
pgasync_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  /* The socket will be watched on the caller's context. */
  g_autoptr (GMainContext) home = g_main_context_ref_thread_default ();
  DalPgTimings timings;
  PGconn *conn = dal_pg_connect_sync (url, cancellable, &timings, error);
  return conn != NULL ? pgasync_new (conn, &timings, url, home, error) : NULL;
}

static char *
pgasync_get_info (gpointer handle, const char *key)
{
  PgAsync *pg = handle;
  if (strcmp (key, "statement_cache_size") == 0)
    return g_strdup_printf ("%u", pg->cache_size);
  if (strcmp (key, "tls_read_ahead") == 0)
    return pg->conn != NULL ? g_strdup (pg->tls ? "on" : "off") : NULL;
  if (strcmp (key, "in_flight") == 0)
    return g_strdup_printf ("%u", g_queue_get_length (&pg->ops)
                                  + g_queue_get_length (&pg->unsent));
  return dal_pg_get_info (pg->conn, &pg->timings, key);
}

static const DalPluginFuncs pgasync_funcs = {
  .connect = pgasync_connect,
  .connect_async = pgasync_connect_async,
  .query = pgasync_query,
  .query_async = pgasync_query_async,
  .query_call = pgasync_query_call,
  .close = pgasync_close,
  .get_info = pgasync_get_info,
  .is_lost = pgasync_is_lost,
  .set_context = pgasync_set_context,
  .check_idle = pgasync_check_idle,
  .batch = pgasync_batch,
  .batch_async = pgasync_batch_async,
  .copy_in = pgasync_copy_in,
  .copy_out = pgasync_copy_out,
  .set_notify = pgasync_set_notify,
  .set_notice = pgasync_set_notice,
};

static const char *const pgasync_drivers[] = { "asyncpg", NULL };

DAL_PLUGIN_EXPORT const DalPluginDescriptor DAL_PLUGIN_DESCRIPTOR_SYMBOL (pgasync) = {
  DAL_PLUGIN_ABI_INIT,
  .name = "pgasync",
  .dialect = "postgresql",
  .drivers = pgasync_drivers,
  .caps = DAL_PLUGIN_CAP_ASYNC | DAL_PLUGIN_CAP_PIPELINE | DAL_PLUGIN_CAP_CANCEL
          | DAL_PLUGIN_CAP_TLS,
  .funcs = &pgasync_funcs,
  .description = "non-blocking libpq driver: pipelined, cancellable, for "
                 "application queries",
  .dialect_info = &dal_pg_dialect,
};
