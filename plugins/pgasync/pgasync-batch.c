/* pgasync-batch.c: batches, natively in the pipeline.
 *
 * A batch is one operation of the engine (one PgOp in pg->ops, one sync
 * segment), which holds an op per statement (op->subs).  Those are never
 * queued: the batch sends each one's Parse/Bind/Execute (or Prepare +
 * Execute from the statement cache, or with the session settings of a
 * transaction pooler) as one statement does, then one sync point; their
 * results are handed to them in order, with the engine's own code
 * (take_result, take_session_result).  Everything else is the batch op's
 * as for one statement: its place in the FIFO of the connection, its
 * command timeout (which so covers the whole batch), its cancellation,
 * the connection ending under it (a batch-level error).
 *
 * Statements the server skipped after a failure (PGRES_PIPELINE_ABORTED)
 * get DAL_ERROR_BATCH_ABORTED naming the one that failed first.
 */
#include "config.h"

#include <string.h>

#include "pgasync-private.h"

/* The largest statement block a connection keeps for its next batch. */
#define SPARE_SUBS_MAX 256

static PgOp *
batch_op_new (PgAsync *pg, const DalBatchItem *items, guint n_items)
{
  PgOp *op = op_new (pg);
  /* One block: a batch's statements are made and freed together (64
   * allocations in a burst would outrun malloc's per-thread cache), and
   * the connection keeps it for the next batch (a block this large
   * costs malloc more than its size suggests: it consolidates the small
   * chunks freed since). */
  if (pg->spare_subs != NULL && pg->spare_subs_room >= n_items)
    {
      op->subs = g_steal_pointer (&pg->spare_subs);
      op->subs_room = pg->spare_subs_room;
      memset (op->subs, 0, n_items * sizeof (PgOp));
    }
  else
    {
      op->subs = g_new0 (PgOp, n_items);
      op->subs_room = n_items;
    }
  op->n_subs = n_items;
  op->batch_failed = n_items;
  for (guint i = 0; i < n_items; i++)
    {
      PgOp *sub = &op->subs[i];
      sub->pg = pg;
      sub->sql = items[i].sql;
      sub->params = &items[i].params;
    }
  return op;
}

void
pgasync_batch_free_subs (PgOp *op)
{
  PgAsync *pg = op->pg;
  for (guint i = 0; i < op->n_subs; i++)
    op_clear (&op->subs[i]);
  if (op->subs_room <= SPARE_SUBS_MAX
      && (pg->spare_subs == NULL || pg->spare_subs_room < op->subs_room))
    {
      g_free (pg->spare_subs);
      pg->spare_subs = g_steal_pointer (&op->subs);
      pg->spare_subs_room = op->subs_room;
    }
  g_clear_pointer (&op->subs, g_free);
}

gboolean
pgasync_batch_send (PgAsync *pg, PgOp *op)
{
  DalPgSessionTrack track;
  if (G_UNLIKELY (pg->session != NULL))
    {
      update_queued_in_tx (pg);
      dal_pg_session_track_init (&track, pg->queued_in_tx);
    }
  /* The cache's DEALLOCATEs go first, each with a sync point of its own. */
  gboolean ok = set_pipeline (pg, TRUE) && (pg->cache_size == 0 || send_deallocations (pg));
  for (guint i = 0; ok && i < op->n_subs; i++)
    {
      PgOp *sub = &op->subs[i];
      if (G_UNLIKELY (pg->session != NULL))
        sub->session_at = dal_pg_session_track_next (&track, sub->sql);
      ok = send_parts (pg, sub, FALSE);
    }
  if (G_UNLIKELY (pg->session != NULL))
    pg->queued_in_tx = track.in_block;
  op->sub_at = 0;
  op->groups_left = 1;
  return ok && PQpipelineSync (pg->conn);
}

void
pgasync_batch_take (PgAsync *pg, PgOp *op, PGresult *r)
{
  PgOp *sub = &op->subs[op->sub_at];
  if (r == NULL)
    {
      /* The end of a result group. */
      if (--sub->groups_left == 0 && ++op->sub_at == op->n_subs)
        op->in_sync_phase = TRUE;
      return;
    }
  ExecStatusType st = PQresultStatus (r);
  if (st == PGRES_PIPELINE_ABORTED)
    {
      /* A skipped Prepare left no statement behind for the cache. */
      cache_note_failure (pg, sub, r);
      if (sub->error == NULL)
        sub->error = dal_pg_batch_aborted_error (op->batch_failed, op->n_subs);
    }
  else if ((st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR
            || st == PGRES_BAD_RESPONSE)
           && op->batch_failed == op->n_subs)
    op->batch_failed = op->sub_at;
  if (sub->session_at != 0 && sub->session_at == 3 - sub->groups_left)
    take_session_result (pg, sub, r);
  else
    take_result (pg, sub, r);
}

/* What the batch gave: its error (taken), or one result or error per
 * statement.  A batch cancelled on the server by its caller fails as a
 * whole. */
static DalBatchResult *
batch_outcome (PgAsync *pg, PgOp *op, GError **error)
{
  if (op->error != NULL)
    {
      GError *e = op_final_error (pg, op);
      dal_error_redact (e, dal_url_get_password (pg->url));
      g_propagate_error (error, e);
      return NULL;
    }
  DalBatchResult *br = dal_batch_result_new (op->n_subs);
  for (guint i = 0; i < op->n_subs; i++)
    {
      PgOp *sub = &op->subs[i];
      sub->cancel_reason = op->cancel_reason;
      sub->cancel_exposed = op->cancel_exposed;
      GError *e = op_final_error (pg, sub);
      if (e != NULL && g_error_matches (e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_prefix_error (&e, "the batch was cancelled (the server rolled back "
                              "what of it had run): ");
          g_propagate_error (error, e);
          dal_batch_result_unref (br);
          return NULL;
        }
      if (e != NULL)
        {
          dal_error_redact (e, dal_url_get_password (pg->url));
          dal_batch_result_take (br, i, NULL, e);
        }
      else
        dal_pg_batch_result_take (br, i, g_steal_pointer (&sub->result));
    }
  return br;
}

void
pgasync_batch_deliver (PgAsync *pg, PgOp *op, GTask *task)
{
  GError *error = NULL;
  DalBatchResult *br = batch_outcome (pg, op, &error);
  pg_deliverer_push_batch (pg->deliverer, task, br, error);
}

void
pgasync_batch_async (gpointer handle, const DalBatchItem *items, guint n_items,
                     GTask *task)
{
  PgAsync *pg = handle;
  start_async (pg, batch_op_new (pg, items, n_items), NULL, NULL, task, NULL,
               g_task_get_cancellable (task));
}

DalBatchResult *
pgasync_batch (gpointer handle, const DalBatchItem *items, guint n_items,
               GCancellable *cancellable, GError **error)
{
  PgAsync *pg = handle;
  PgOp *op = batch_op_new (pg, items, n_items);
  DalBatchResult *br = NULL;

  pg_ref (pg);
  if (run_blocking (pg, op, NULL, NULL, cancellable, error))
    br = batch_outcome (pg, op, error);
  op_free (op);
  update_deadline (pg);
  pg_unref (pg);
  return br;
}
