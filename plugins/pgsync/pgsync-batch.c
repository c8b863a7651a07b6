/* pgsync-batch.c: batches, blocking.
 *
 * libpq's pipeline mode is entered for the batch and left after it: every
 * statement is queued (Parse/Bind/Execute), then one Sync, then the
 * results are read in order, one group per statement (and one per
 * set_config() of the session settings on a transaction pooler).  The
 * waiting is pgsync's own (wait_for_result): command_timeout covers the
 * whole batch, and a GCancellable or a timeout cancels on the server as
 * for one statement.
 */
#include "config.h"

#include <string.h>

#include "pgsync-private.h"

/* Queues the batch and its Sync; @groups gets, for each result group,
 * the statement it belongs to (i), or for a set_config() of the session
 * settings n_items + the statement it goes with (before it, or the BEGIN
 * it follows), which takes the blame if it fails. */
static gboolean
send_batch (PgSync *s, const DalBatchItem *items, guint n_items, GArray *groups)
{
  DalPgSessionTrack track;
  dal_pg_session_track_init (&track, PQtransactionStatus (s->conn) != PQTRANS_IDLE);
  gboolean ok = PQenterPipelineMode (s->conn);

  for (guint i = 0; ok && i < n_items; i++)
    {
      const DalParams *params = &items[i].params;
      guint8 at = s->session != NULL
                    ? dal_pg_session_track_next (&track, items[i].sql) : 0;
      guint session = n_items + i;
      if (at == 1)
        {
          ok = dal_pg_session_send (s->session, s->conn);
          g_array_append_val (groups, session);
        }
      DalPgParams pp;
      dal_pg_params_init (&pp, params);
      ok = ok && PQsendQueryParams (s->conn, items[i].sql, pp.n, pp.types,
                                    params->values, params->lengths, pp.formats, 0);
      dal_pg_params_clear (&pp);
      g_array_append_val (groups, i);
      if (at == 2)
        {
          ok = ok && dal_pg_session_send (s->session, s->conn);
          g_array_append_val (groups, session);
        }
    }
  return ok && PQpipelineSync (s->conn);
}

/* What each statement gave, from the result kept for it (@kept, taken).
 * A batch its caller cancelled on the server fails as a whole (NULL and
 * @failure). */
static DalBatchResult *
collect (PgSync *s, PGresult **kept, GError **session_errors, guint n_items,
         DalPgCancelReason reason, gboolean exposed, GError **failure)
{
  DalBatchResult *br = dal_batch_result_new (n_items);
  guint failed = n_items;
  for (guint i = 0; i < n_items; i++)
    {
      GError *error = NULL;
      DalResult *result = NULL;
      if (session_errors[i] != NULL)
        {
          error = g_steal_pointer (&session_errors[i]);
          PQclear (kept[i]);
        }
      else if (kept[i] != NULL && PQresultStatus (kept[i]) == PGRES_PIPELINE_ABORTED)
        {
          error = dal_pg_batch_aborted_error (failed, n_items);
          PQclear (kept[i]);
        }
      else if (kept[i] != NULL)
        result = statement_outcome (s, kept[i], reason, exposed, &error);
      else
        error = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                    "the server sent no result for the statement");
      kept[i] = NULL;
      if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_prefix_error (&error, "the batch was cancelled (the server rolled "
                                  "back what of it had run): ");
          *failure = error;
          dal_batch_result_unref (br);
          return NULL;
        }
      if (error != NULL && failed == n_items)
        failed = i;
      dal_batch_result_take (br, i, result, error);
    }
  return br;
}

DalBatchResult *
pgsync_batch (gpointer handle, const DalBatchItem *items, guint n_items,
              GCancellable *cancellable, GError **error)
{
  PgSync *s = handle;
  if (!check_not_lost (s, error))
    return NULL;
  gboolean exposed = !settle_cancels (s);

  g_autoptr (GArray) groups = g_array_new (FALSE, FALSE, sizeof (guint));
  PGresult **kept = g_new0 (PGresult *, n_items);
  GError **session_errors = g_new0 (GError *, n_items);
  GError *failure = NULL;
  DalPgCancelReason reason = DAL_PG_CANCEL_NONE;

  if (!send_batch (s, items, n_items, groups))
    failure = dal_pg_error_from_result (s->conn, NULL);
  else
    {
      gboolean watched = cancellable != NULL || s->command_timeout_ms > 0;
      gint64 deadline = command_deadline (s);
      guint group = 0;
      guint owner = 0;
      for (;;)
        {
          if (watched && !wait_or_give_up (s, cancellable, &deadline, &reason, &failure))
            break;
          PGresult *r = PQgetResult (s->conn);
          if (r == NULL)
            {
              if (PQstatus (s->conn) == CONNECTION_BAD)
                break;
              group++;
              continue;
            }
          ExecStatusType st = PQresultStatus (r);
          if (st == PGRES_PIPELINE_SYNC)
            {
              PQclear (r);
              break;
            }
          if (group < groups->len)
            owner = g_array_index (groups, guint, group);
          if (owner >= n_items)
            {
              /* A skipped set_config() says nothing new. */
              guint i = owner - n_items;
              if (is_error_result (r) && session_errors[i] == NULL)
                session_errors[i] = dal_pg_session_error (s->session, -1,
                                                          dal_pg_error_from_result (s->conn, r),
                                                          FALSE);
              PQclear (r);
            }
          else
            {
              abandon_copy (s->conn, st);
              note_listen (s, r, items[owner].sql);
              keep_result (&kept[owner], r);
            }
        }
      /* A connection that failed: drop what libpq still has. */
      PGresult *r;
      while (s->conn != NULL && PQstatus (s->conn) == CONNECTION_BAD
             && (r = PQgetResult (s->conn)) != NULL)
        PQclear (r);
    }
  if (s->conn != NULL && PQpipelineStatus (s->conn) != PQ_PIPELINE_OFF)
    PQexitPipelineMode (s->conn);

  DalBatchResult *br = NULL;
  if (failure == NULL && s->conn != NULL && PQstatus (s->conn) == CONNECTION_BAD)
    failure = dal_pg_error_from_result (s->conn, NULL);
  if (failure == NULL)
    br = collect (s, kept, session_errors, n_items, reason, exposed, &failure);
  for (guint i = 0; i < n_items; i++)
    {
      PQclear (kept[i]);
      g_clear_error (&session_errors[i]);
    }
  g_free (kept);
  g_free (session_errors);
  if (failure != NULL)
    {
      if (s->conn != NULL && PQstatus (s->conn) == CONNECTION_BAD)
        mark_lost (s, failure);
      dal_error_redact (failure, dal_url_get_password (s->url));
      g_propagate_error (error, failure);
    }
  return br;
}
