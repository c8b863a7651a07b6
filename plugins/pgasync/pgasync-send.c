/* pgasync-send.c: putting statements on the wire.
 *
 * A statement goes out in one of two ways (pgasync.c's top comment):
 * - alone, outside pipeline mode, when nothing else is in flight and the
 *   connection's last busy spell had one statement at a time (a caller
 *   that waits for each result, as on a borrowed connection): libpq adds
 *   the Sync itself and makes no PGRES_PIPELINE_SYNC result for it;
 * - otherwise in pipeline mode, with a sync point of its own after it.
 * From the statement cache it is a Parse the first time (always in
 * pipeline mode: the Prepare and the statement go together) and a
 * Bind/Execute each time, or unnamed.  A statement started while one
 * went alone waits in pg->unsent until that one is done (libpq cannot
 * queue behind it), then goes in pipeline mode; so do the ones held back
 * while a cancel request is on its way.  A COPY (which the query API
 * refuses, pgasync.c) waits until nothing is in flight and goes alone, and
 * nothing goes behind it: COPY FROM STDIN would read the next statement's
 * messages as its data and end the session.  What the socket could not take
 * yet is flushed when the source sees it writable.  start_op() is where
 * every statement, async or blocking, starts. */
#include "config.h"

#include <string.h>

#include "pgasync-private.h"

gboolean
set_pipeline (PgAsync *pg, gboolean on)
{
  gboolean is_on = PQpipelineStatus (pg->conn) != PQ_PIPELINE_OFF;
  if (on == is_on)
    return TRUE;
  return on ? PQenterPipelineMode (pg->conn) : PQexitPipelineMode (pg->conn);
}

void
note_depth (PgAsync *pg)
{
  guint depth = pg->ops.length + pg->unsent.length;
  if (depth > 0)
    pg->depth_peak = MAX (pg->depth_peak, depth);
  else if (pg->depth_peak > 0)
    {
      pg->last_peak = pg->depth_peak;
      pg->depth_peak = 0;
    }
}

/* A statement that went alone, or a COPY, is in flight: nothing can go
 * behind it. */
static inline gboolean
nothing_behind (PgAsync *pg)
{
  return pg->ops.head != NULL && (ops_head (pg)->alone || ops_head (pg)->exclusive);
}

/* Whether @op must wait before it is sent: a cancel request is on its
 * way, others wait before it, nothing may go behind what is in flight,
 * or it is a COPY and something is in flight. */
static gboolean
must_wait (PgAsync *pg, PgOp *op)
{
  return !g_queue_is_empty (&pg->unsent) || dal_pg_canceller_pending (pg->canceller) > 0
         || nothing_behind (pg) || (op->exclusive && !g_queue_is_empty (&pg->ops));
}

/* Whether the next statement, a sync segment of its own, may go alone:
 * nothing is in flight or waiting, the last busy spell had one statement
 * at a time (callers that pipeline keep the connection in pipeline mode
 * and pay no wait behind a lone statement), and the cache has no
 * DEALLOCATE to send first.  A COPY goes alone whenever it can. */
static gboolean
may_go_alone (PgAsync *pg, PgOp *op)
{
  return g_queue_is_empty (&pg->ops) && g_queue_is_empty (&pg->deallocate)
         && (op->exclusive || (g_queue_is_empty (&pg->unsent) && pg->last_peak <= 1));
}

/* Sends a DEALLOCATE of the cache's own that nobody waits for (in
 * pipeline mode). */
static gboolean
send_deallocate (PgAsync *pg, char *name)
{
  g_autofree char *sql = g_strdup_printf ("DEALLOCATE %s", name);
  if (!PQsendQueryParams (pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0)
      || !PQpipelineSync (pg->conn))
    {
      g_free (name);
      return FALSE;
    }
  PgOp *op = op_new (pg);
  op->groups_left = 1;
  op->deallocates = name;
  op_queue_push (&pg->ops, op);
  return TRUE;
}

/* pg->queued_in_tx from the last ReadyForQuery when nothing is in flight. */
void
update_queued_in_tx (PgAsync *pg)
{
  if (g_queue_is_empty (&pg->ops))
    {
      /* Nothing in flight: the last ReadyForQuery says. */
      PGTransactionStatusType st = PQtransactionStatus (pg->conn);
      if (st != PQTRANS_ACTIVE && st != PQTRANS_UNKNOWN)
        pg->queued_in_tx = st != PQTRANS_IDLE;
    }
}

/* Where the session settings go with @sql on a transaction pooler (1:
 * before it, 2: after it, 0: nowhere), from the transaction state the
 * statements queued before it will leave: before a statement that starts
 * a transaction of its own, after a BEGIN (they then hold for the whole
 * block, and a SET LOCAL of the caller's after them stays in force). */
static guint8
session_position (PgAsync *pg, const char *sql)
{
  update_queued_in_tx (pg);
  switch (dal_sql_transaction_control (sql))
    {
    case DAL_SQL_TX_BEGIN:
      pg->queued_in_tx = TRUE;
      return 2;
    case DAL_SQL_TX_END:
      pg->queued_in_tx = FALSE;
      return 0;
    case DAL_SQL_TX_NONE:
      return pg->queued_in_tx ? 0 : 1;
    case DAL_SQL_TX_SAVEPOINT:
    case DAL_SQL_TX_OUTSIDE:
    default:
      return 0;
    }
}

/* A batch's statement may use the cache: its entry is there, or there is
 * room for it without evicting another (whose DEALLOCATE would need a
 * sync point of its own in the middle of the batch). */
static gboolean
cache_has_room (PgAsync *pg, PgOp *op, const DalPgParams *pp)
{
  return g_hash_table_size (pg->cache) < pg->cache_size
         || cache_lookup (pg, op->sql, pp) != NULL;
}

/* Sends the DEALLOCATEs the cache has queued, each in a sync segment of
 * its own. */
gboolean
send_deallocations (PgAsync *pg)
{
  gboolean ok = TRUE;
  char *name;
  while (ok && (name = g_queue_pop_head (&pg->deallocate)) != NULL)
    ok = send_deallocate (pg, name);
  return ok;
}

/* Queues the Parse/Bind/Execute (or Prepare + Execute), without a sync
 * point.  The statement cache names statements only when it is on (never
 * with session settings: both only on a transaction pooler / not on
 * one).  @whole: the statement is a sync segment of its own (it places
 * the session settings itself and may send the cache's DEALLOCATEs
 * first); otherwise a batch's, which set op->session_at, sends no sync
 * point of any kind, and runs unnamed when it would need an eviction. */
gboolean
send_parts (PgAsync *pg, PgOp *op, gboolean whole)
{
  DalPgParams pp;
  dal_pg_params_init (&pp, op->params);
  const char * const *values = op->params != NULL ? op->params->values : NULL;
  const int *lengths = op->params != NULL ? op->params->lengths : NULL;
  gboolean ok = TRUE;
  /* Alone, if it may and libpq leaves pipeline mode (it cannot while
   * results are uncollected; then it stays in). */
  gboolean alone = whole && may_go_alone (pg, op);

  op->groups_left = 1;
  if (G_UNLIKELY (pg->session != NULL))
    {
      alone = FALSE;
      if (whole)
        op->session_at = session_position (pg, op->sql);
      op->groups_left = op->session_at != 0 ? 2 : 1;
      ok = set_pipeline (pg, TRUE)
           && (op->session_at != 1 || dal_pg_session_send (pg->session, pg->conn))
           && PQsendQueryParams (pg->conn, op->sql, pp.n, pp.types, values, lengths,
                                 pp.formats, 0)
           && (op->session_at != 2 || dal_pg_session_send (pg->session, pg->conn));
    }
  else if (pg->cache_size == 0 || op->exclusive || (!whole && !cache_has_room (pg, op, &pp)))
    {
      alone = alone && set_pipeline (pg, FALSE);
      ok = (alone || set_pipeline (pg, TRUE))
           && PQsendQueryParams (pg->conn, op->sql, pp.n, pp.types, values, lengths,
                                 pp.formats, 0);
    }
  else
    {
      CacheEntry *e = cache_lookup (pg, op->sql, &pp);
      alone = alone && e != NULL && set_pipeline (pg, FALSE);
      ok = alone || (set_pipeline (pg, TRUE) && (!whole || send_deallocations (pg)));
      if (e != NULL)
        {
          g_queue_unlink (&pg->cache_lru, e->lru_link);
          g_queue_push_tail_link (&pg->cache_lru, e->lru_link);
        }
      else
        {
          if (g_hash_table_size (pg->cache) >= pg->cache_size)
            {
              CacheEntry *victim = g_queue_peek_head (&pg->cache_lru);
              ok = ok && send_deallocate (pg, g_strdup (victim->name));
              cache_forget (pg, victim);
            }
          e = cache_insert (pg, op->sql, &pp);
          op->prepares = TRUE;
          ok = ok && PQsendPrepare (pg->conn, e->name, op->sql, pp.n, pp.types);
          op->groups_left = 2;
        }
      e->refs++;
      op->cache_entry = e;
      ok = ok && PQsendQueryPrepared (pg->conn, e->name, pp.n, values, lengths,
                                      pp.formats, 0);
    }
  dal_pg_params_clear (&pp);
  op->alone = alone;
  return ok;
}

static gboolean
send_statement (PgAsync *pg, PgOp *op)
{
  if (G_UNLIKELY (op->subs != NULL))
    return pgasync_batch_send (pg, op);
  return send_parts (pg, op, TRUE) && (op->alone || PQpipelineSync (pg->conn));
}

/* Sends @op and queues it for its results; FALSE (and @error) if libpq
 * refused it. */
gboolean
send_op (PgAsync *pg, PgOp *op, GError **error)
{
  if (!send_statement (pg, op))
    {
      g_autofree char *why = dal_pg_clean_message (PQerrorMessage (pg->conn));
      *error = PQstatus (pg->conn) == CONNECTION_BAD
                 ? dal_pg_error_connection_gone (why)
                 : dal_error_new_hint (DAL_ERROR_BUSY,
                                       "Wait for the operation in progress to end",
                                       "the connection cannot take a statement "
                                       "now: %s", why);
      return FALSE;
    }
  op_queue_push (&pg->ops, op);
  note_depth (pg);
  note_head (pg);
  update_deadline (pg);
  return TRUE;
}

/* Sends what was held back for cancel requests, once none is on its way
 * any more.  Ops libpq refuses go to @done. */
void
flush_unsent (PgAsync *pg, GQueue *done)
{
  if (pg->conn == NULL || pg->lost != NULL || g_queue_is_empty (&pg->unsent)
      || dal_pg_canceller_pending (pg->canceller) > 0)
    return;
  PgOp *op;
  while (!nothing_behind (pg) && (op = op_queue_pop (&pg->unsent)) != NULL)
    {
      GError *error = NULL;
      if (op->exclusive && !g_queue_is_empty (&pg->ops))
        {
          g_queue_push_head_link (&pg->unsent, &op->link);
          break;
        }
      op->held = FALSE;
      if (send_op (pg, op, &error))
        continue;
      if (PQstatus (pg->conn) == CONNECTION_BAD)
        {
          /* Everything fails, in order. */
          g_error_free (error);
          g_queue_push_head_link (&pg->unsent, &op->link);
          op->held = TRUE;
          mark_lost (pg, done);
          return;
        }
      op->error = error;
      op_queue_push (done, op);
    }
  update_watch (pg);
}

/* FALSE (and @error) when the connection was closed or lost. */
gboolean
pg_check_usable (PgAsync *pg, GError **error)
{
  if (pg->closed)
    {
      *error = dal_error_new_hint (DAL_ERROR_CLOSED, "Open a new connection",
                                   "the connection is closed");
      return FALSE;
    }
  if (pg->lost != NULL)
    {
      g_autofree char *what = dal_pg_error_what_happened (pg->lost);
      *error = dal_error_new_hint (DAL_ERROR_CONNECTION_LOST,
                                   "Open a new connection",
                                   "the connection cannot take statements any "
                                   "more: %s", what);
      return FALSE;
    }
  return TRUE;
}

/* Refuses work the connection cannot take; otherwise sends it, or holds
 * it back while a cancel request is on its way (so that the request
 * cannot hit it) or a statement that went alone runs. */
gboolean
start_op (PgAsync *pg, PgOp *op, const char *sql, const DalParams *params,
          GError **error)
{
  if (!pg_check_usable (pg, error))
    return FALSE;
  op->sql = sql;
  op->params = params;
  op->exclusive = op->subs == NULL && dal_sql_is_copy (sql);
  if (must_wait (pg, op))
    {
      op->held = TRUE;
      op_queue_push (&pg->unsent, op);
      note_depth (pg);
      return TRUE;
    }
  if (!send_op (pg, op, error))
    return FALSE;
  update_watch (pg);
  return TRUE;
}

/* A new operation: a spare one of the connection's, or a new block. */
PgOp *
op_new (PgAsync *pg)
{
  PgOp *op = pg_spares_take (&pg->spare_ops);
  if (op != NULL)
    memset (op, 0, sizeof *op);
  else
    op = g_new0 (PgOp, 1);
  op->pg = pg;
  op->link.data = op;
  return op;
}
