/* dal-pg-batch.c: what the two PostgreSQL plugins' statements and
 * batches share: the error of a statement the server skipped, of a COPY
 * run as a query, and where the session settings of a transaction
 * pooler go in a batch. */
#include "config.h"

#include "dal-pg.h"

GError *
dal_pg_batch_aborted_error (guint failed, guint n_items)
{
  if (failed >= n_items)
    return dal_error_new_hint (DAL_ERROR_BATCH_ABORTED,
                               "Look at the error of the statement that failed",
                               "not run: an earlier part of the batch failed; "
                               "the batch ran as one transaction and was "
                               "rolled back");
  return dal_error_new_hint (DAL_ERROR_BATCH_ABORTED,
                             "Fix that statement and run the batch again",
                             "not run: statement %u of the batch failed first; "
                             "the batch ran as one transaction and was rolled "
                             "back", failed + 1);
}

GError *
dal_pg_error_copy_in_query (void)
{
  return dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                             "Use COPY … TO/FROM a server-side file, "
                             "or INSERT with parameters",
                             "COPY to or from the client is not "
                             "supported by dal_connection_query()");
}

void
dal_pg_copy_in_refuse (PGconn *conn)
{
  PQputCopyEnd (conn, "COPY to or from the client is not supported by "
                      "dal_connection_query()");
}

void
dal_pg_session_track_init (DalPgSessionTrack *t, gboolean in_block)
{
  t->in_block = in_block;
  t->live = in_block;  /* an open block got them when it began */
}

guint8
dal_pg_session_track_next (DalPgSessionTrack *t, const char *sql)
{
  switch (dal_sql_transaction_control (sql))
    {
    case DAL_SQL_TX_BEGIN:
      {
        guint8 at = t->live ? 0 : 2;
        t->in_block = TRUE;
        t->live = TRUE;
        return at;
      }
    case DAL_SQL_TX_END:
      /* A new (implicit) transaction starts after it. */
      t->in_block = FALSE;
      t->live = FALSE;
      return 0;
    case DAL_SQL_TX_NONE:
      {
        /* Set once, they hold until the batch's implicit transaction
         * (or the block) ends. */
        guint8 at = t->live ? 0 : 1;
        t->live = TRUE;
        return at;
      }
    case DAL_SQL_TX_SAVEPOINT:
    case DAL_SQL_TX_OUTSIDE:
    default:
      return 0;
    }
}
