/* pgasync-copy.c: the copy_in and copy_out slots of pgasync.
 *
 * libpq does not allow COPY in pipeline mode, and pgasync lives in it.
 * So a COPY runs only on an idle connection: with statements in flight
 * (sent or held back) it is refused with DAL_ERROR_BUSY rather than
 * waited for, since their results are delivered on the home context,
 * which a blocking call does not run.  On an idle connection the COPY
 * waits for earlier cancel requests to settle (at most cancel_timeout,
 * so that none can hit it), takes the socket away from the connection's
 * GSource, leaves pipeline mode, runs the COPY with the shared engine
 * (dal-pg-copy.c), enters pipeline mode again and gives the socket back.
 */
#include "config.h"

#include <poll.h>

#include "pgasync-private.h"

/* Waits, up to cancel_timeout, until no cancel request of an earlier
 * statement is on its way. */
static void
settle_cancels (PgAsync *pg)
{
  gint64 until = g_get_monotonic_time () + pg->cancel_timeout_ms * 1000;
  while (dal_pg_canceller_pending (pg->canceller) > 0)
    {
      struct pollfd fd = { .fd = dal_pg_canceller_get_fd (pg->canceller), .events = POLLIN };
      gint64 left_ms = (until - g_get_monotonic_time () + 999) / 1000;
      if (left_ms <= 0)
        return;
      if (poll (&fd, 1, (int) MIN (left_ms, G_MAXINT)) > 0)
        dal_pg_canceller_acknowledge (pg->canceller);
    }
}

/* The connection ended during the COPY: it is lost (@why: taken). */
static void
note_lost (PgAsync *pg, GError *why)
{
  if (pg->lost == NULL)
    pg->lost = why;
  else
    g_error_free (why);
  g_atomic_int_set (&pg->lost_flag, 1);
  g_clear_pointer (&pg->conn, PQfinish);
}

static gint64
run_copy (PgAsync *pg, const char *sql, gboolean in, gpointer func, gpointer data,
          GCancellable *cancellable, GError **error)
{
  if (!pg_check_usable (pg, error))
    return -1;
  if (!g_queue_is_empty (&pg->ops) || !g_queue_is_empty (&pg->unsent) || pg->pumping > 0)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_BUSY,
        "Wait for the statements in flight to complete before a COPY",
        "a COPY cannot run while statements are in flight on this "
        "connection (libpq does not allow COPY in a pipeline)"));
      return -1;
    }
  settle_cancels (pg);
  if (!PQexitPipelineMode (pg->conn))
    {
      g_autofree char *why = dal_pg_clean_message (PQerrorMessage (pg->conn));
      g_propagate_error (error, dal_error_new_hint (DAL_ERROR_BUSY, NULL,
                                                    "could not leave pipeline mode "
                                                    "for the COPY: %s", why));
      return -1;
    }

  /* The socket is the COPY's until it ends. */
  gboolean had_source = pg->source != NULL;
  detach_source (pg);
  pg->pumping++;
  DalPgCopy c = { pg->conn, pg->canceller, pg->command_timeout_ms, pg->cancel_timeout_ms };
  GError *local = NULL;
  gint64 rows = in ? dal_pg_copy_in (&c, sql, (DalCopyReadFunc) func, data, cancellable, &local)
                   : dal_pg_copy_out (&c, sql, (DalCopyWriteFunc) func, data,
                                      cancellable, &local);
  pg->pumping--;

  if (c.gave_up)
    {
      g_autofree char *why = g_strdup_printf (
        "the server did not answer a cancel request within cancel_timeout=%g s, "
        "so the connection was closed", pg->cancel_timeout_ms / 1000.0);
      note_lost (pg, dal_pg_error_connection_gone (why));
    }
  else if (PQstatus (pg->conn) == CONNECTION_BAD || !PQenterPipelineMode (pg->conn))
    {
      g_autofree char *what = local != NULL ? dal_pg_error_what_happened (local)
                                            : g_strdup ("the connection failed after a COPY");
      note_lost (pg, dal_pg_error_connection_gone (what));
    }
  else if (had_source)
    {
      pg->watching = G_IO_IN | G_IO_HUP | G_IO_ERR;
      attach_source (pg);
    }
  if (local != NULL)
    {
      dal_error_redact (local, dal_url_get_password (pg->url));
      g_propagate_error (error, local);
    }
  return rows;
}

gint64
pgasync_copy_in (gpointer handle, const char *sql, DalCopyReadFunc read,
                 gpointer source, GCancellable *cancellable, GError **error)
{
  return run_copy (handle, sql, TRUE, (gpointer) read, source, cancellable, error);
}

gint64
pgasync_copy_out (gpointer handle, const char *sql, DalCopyWriteFunc write,
                  gpointer sink, GCancellable *cancellable, GError **error)
{
  return run_copy (handle, sql, FALSE, (gpointer) write, sink, cancellable, error);
}
