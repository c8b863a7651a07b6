/* dal-pg-copy.c: COPY FROM STDIN / TO STDOUT on a PGconn, for both
 * plugins' copy_in and copy_out slots (one engine).
 *
 * The COPY runs on the connection in non-blocking mode (restored after),
 * sent with the simple query protocol, outside pipeline mode.  Data moves
 * in chunks of DAL_PG_COPY_CHUNK bytes (one row at a time out): when
 * libpq cannot take more, the engine waits with poll() until the socket
 * is writable, reading what the server sends meanwhile, so that neither
 * side ever holds more than a chunk or two.
 *
 * The caller's GCancellable and command_timeout (for the whole COPY) send
 * a cancel request (the plugin's DalPgCanceller); the server then has
 * cancel_timeout to end the COPY, after which the engine gives up
 * (DalPgCopy.gave_up: the plugin closes the connection).  A failing data
 * source ends a COPY FROM with CopyFail (the server rolls it back); a
 * failing sink ends a COPY TO with a cancel request, and the rest of the
 * data is read and dropped.  Either way the caller gets its own error,
 * and the connection is ready for the next statement.
 */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "dal-pg.h"

/* Per run. */
typedef struct
{
  DalPgCopy *c;
  GCancellable *cancellable;
  int cancel_fd;
  gint64 deadline;             /* command_timeout, then cancel_timeout */
  DalPgCancelReason reason;
  gboolean cancel_sent;        /* for whatever reason, the sink's included */
  gboolean broken;             /* libpq failed: the connection is gone */
} Run;

static void
send_cancel (Run *r)
{
  DalPgCopy *c = r->c;
  r->cancel_sent = TRUE;
  /* No request could go out: give up at once. */
  r->deadline = g_get_monotonic_time ();
  if (dal_pg_canceller_send (c->canceller, c->conn))
    r->deadline += c->cancel_timeout_ms * 1000;
  c->cancel_deadline = r->deadline;
}

/* Waits for the socket (readable; writable too when @want_write), the
 * caller's cancellable or the deadline, and reads what arrived.  FALSE
 * when the COPY cannot go on: the connection failed (r->broken) or a
 * cancel request went unanswered (c->gave_up). */
static gboolean
wait_socket (Run *r, gboolean want_write)
{
  DalPgCopy *c = r->c;
  struct pollfd fds[2] = {
    { .fd = PQsocket (c->conn), .events = POLLIN | (want_write ? POLLOUT : 0) },
    { .fd = r->cancel_sent ? -1 : r->cancel_fd, .events = POLLIN },
  };
  int timeout = -1;
  if (r->deadline != G_MAXINT64)
    timeout = (int) CLAMP ((r->deadline - g_get_monotonic_time () + 999) / 1000,
                           0, G_MAXINT);
  /* Input TLS holds is read without waiting. */
  gboolean pending = dal_pg_tls_input_pending (c->conn);
  int n = poll (fds, 2, pending ? 0 : timeout);
  if (n < 0)
    return TRUE;  /* EINTR */
  if (pending)
    fds[0].revents |= POLLIN;
  if (fds[1].revents != 0)
    {
      r->reason = DAL_PG_CANCEL_BY_CALLER;
      send_cancel (r);
    }
  else if (n == 0 && g_get_monotonic_time () >= r->deadline)
    {
      if (r->cancel_sent)
        {
          c->gave_up = TRUE;
          return FALSE;
        }
      r->reason = DAL_PG_CANCEL_BY_TIMEOUT;
      send_cancel (r);
    }
  if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0
      && !PQconsumeInput (c->conn))
    {
      r->broken = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* Sends what libpq holds.  FALSE as wait_socket(). */
static gboolean
flush_all (Run *r)
{
  int rc;
  while ((rc = PQflush (r->c->conn)) > 0)
    if (!wait_socket (r, TRUE))
      return FALSE;
  r->broken = r->broken || rc < 0;
  return rc == 0;
}

/* The next result, waiting for it; NULL at the end of the statement's
 * results, or when wait_socket() failed. */
static PGresult *
next_result (Run *r)
{
  while (PQisBusy (r->c->conn))
    if (!wait_socket (r, FALSE))
      return NULL;
  return PQgetResult (r->c->conn);
}

/* The server's error for the COPY, its CONTEXT ("COPY items, line 5000,
 * column id: ...") added to the message: it says which row was bad. */
static GError *
server_error (Run *r, const PGresult *result)
{
  GError *e = dal_pg_error_from_result (r->c->conn, result);
  const char *context = result != NULL ? PQresultErrorField (result, PG_DIAG_CONTEXT)
                                       : NULL;
  if (context != NULL && e->domain == DAL_ERROR)
    {
      g_autofree char *what = dal_pg_error_what_happened (e);
      const char *rest = g_str_has_prefix (e->message, what)
                           ? e->message + strlen (what) : "";
      g_autofree char *line = dal_pg_clean_message (context);
      char *message = g_strdup_printf ("%s (at %s)%s", what, line, rest);
      g_free (e->message);
      e->message = message;
    }
  return dal_pg_error_cancelled (e, r->reason, FALSE, r->c->command_timeout_ms);
}

/* Reads the rest of the statement's results: the row count from the
 * COMMAND_OK, or the first error.  Takes @first (may be NULL). */
static gint64
finish (Run *r, PGresult *first, GError **error)
{
  PGresult *res = first;
  gint64 rows = -1;
  GError *failure = NULL;
  do
    {
      ExecStatusType st = PQresultStatus (res);
      if (res == NULL)
        ;
      else if (st == PGRES_COPY_OUT)
        {
          char *buf;
          int n;
          /* Not what was asked: read it to its end and drop it. */
          while ((n = PQgetCopyData (r->c->conn, &buf, 1)) >= 0)
            if (n > 0)
              PQfreemem (buf);
            else if (!wait_socket (r, FALSE))
              break;
        }
      else if (st == PGRES_COPY_IN)
        {
          PQputCopyEnd (r->c->conn, "not the COPY direction the client asked for");
          flush_all (r);
        }
      else if (st == PGRES_COMMAND_OK)
        {
          const char *n = PQcmdTuples (res);
          rows = *n != '\0' ? g_ascii_strtoll (n, NULL, 10) : 0;
        }
      else if (failure == NULL && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        failure = server_error (r, res);
      PQclear (res);
    }
  while ((res = next_result (r)) != NULL);

  if (r->c->gave_up)
    {
      g_clear_error (&failure);
      failure = dal_pg_error_cancel_unanswered (r->reason, r->c->command_timeout_ms,
                                                r->c->cancel_timeout_ms);
    }
  else if (failure == NULL && (r->broken || PQstatus (r->c->conn) == CONNECTION_BAD))
    failure = dal_pg_error_from_result (r->c->conn, NULL);
  if (failure == NULL && rows < 0)
    failure = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                  "the server did not say how many rows the "
                                  "COPY moved");
  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return -1;
    }
  return rows;
}

/* Sends @sql.  FALSE (and @error) when it could not be sent. */
static gboolean
start (Run *r, DalPgCopy *c, const char *sql, GCancellable *cancellable,
       GError **error)
{
  memset (r, 0, sizeof *r);
  r->c = c;
  r->cancellable = cancellable;
  r->cancel_fd = cancellable != NULL ? g_cancellable_get_fd (cancellable) : -1;
  r->deadline = c->command_timeout_ms > 0
                  ? g_get_monotonic_time () + c->command_timeout_ms * 1000
                  : G_MAXINT64;
  c->gave_up = FALSE;
  c->was_nonblocking = PQisnonblocking (c->conn);
  PQsetnonblocking (c->conn, 1);
  if (PQsendQuery (c->conn, sql) && flush_all (r))
    return TRUE;
  g_propagate_error (error, dal_pg_error_from_result (c->conn, NULL));
  return FALSE;
}

static void
end (Run *r)
{
  if (r->cancel_fd >= 0)
    g_cancellable_release_fd (r->cancellable);
  if (!r->c->gave_up && !r->c->was_nonblocking)
    PQsetnonblocking (r->c->conn, 0);
}

/* The error for a statement that is not a COPY of the expected direction. */
static GError *
wrong_statement (const char *expected, ExecStatusType st)
{
  const char *got = st == PGRES_COPY_OUT ? "a COPY TO STDOUT"
                    : st == PGRES_COPY_IN ? "a COPY FROM STDIN"
                    : st == PGRES_TUPLES_OK ? "rows" : "no COPY data";
  return dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                             "Give this call a COPY ... %s statement",
                             "the statement is not a COPY ... %s: the server "
                             "answered with %s", expected, got);
}

/* The statement's first result (@first, taken) is not the COPY this call
 * is for: reads the rest and fails, with the server's error if it gave
 * one.  Ends the run. */
static gint64
refuse (Run *r, PGresult *first, const char *expected, GError **error)
{
  ExecStatusType st = PQresultStatus (first);
  GError *wrong = first != NULL && st != PGRES_FATAL_ERROR && st != PGRES_BAD_RESPONSE
                    ? wrong_statement (expected, st) : NULL;
  gint64 rows = finish (r, first, wrong != NULL ? NULL : error);
  end (r);
  if (wrong == NULL)
    return rows;
  g_propagate_error (error, wrong);
  return -1;
}

/* Ends the run after the data phase.  When the caller's source or sink
 * failed (@own, taken), the COPY was rolled back or cancelled and that
 * error is the caller's answer, unless the connection itself failed. */
static gint64
finish_own (Run *r, GError *own, GError **error)
{
  GError *local = NULL;
  gint64 rows = finish (r, NULL, &local);
  end (r);
  if (own != NULL && !r->c->gave_up && !r->broken)
    {
      g_clear_error (&local);
      local = own;
      rows = -1;
    }
  else
    g_clear_error (&own);
  if (local != NULL)
    g_propagate_error (error, local);
  return rows;
}

gint64
dal_pg_copy_in (DalPgCopy *c, const char *sql, DalCopyReadFunc read,
                gpointer source, GCancellable *cancellable, GError **error)
{
  Run r;
  if (!start (&r, c, sql, cancellable, error))
    {
      end (&r);
      return -1;
    }
  PGresult *first = next_result (&r);
  if (PQresultStatus (first) != PGRES_COPY_IN)
    return refuse (&r, first, "FROM STDIN", error);
  PQclear (first);

  char *buffer = g_malloc (DAL_PG_COPY_CHUNK);
  GError *source_error = NULL;
  gboolean ok = TRUE;
  while (ok && !r.cancel_sent)
    {
      gssize n = read (source, buffer, DAL_PG_COPY_CHUNK, cancellable, &source_error);
      if (n <= 0)
        break;
      int rc = 0;
      while (ok && (rc = PQputCopyData (c->conn, buffer, (int) n)) == 0)
        ok = wait_socket (&r, TRUE);
      ok = ok && rc > 0 && flush_all (&r);
    }
  g_free (buffer);
  if (ok)
    {
      const char *why = source_error != NULL ? "the client's data source failed"
                        : r.cancel_sent ? "the client cancelled the COPY" : NULL;
      int rc = 0;
      while (ok && (rc = PQputCopyEnd (c->conn, why)) == 0)
        ok = wait_socket (&r, TRUE);
      ok = ok && rc > 0 && flush_all (&r);
    }
  r.broken = r.broken || (!ok && !c->gave_up);
  return finish_own (&r, source_error, error);
}

gint64
dal_pg_copy_out (DalPgCopy *c, const char *sql, DalCopyWriteFunc write,
                 gpointer sink, GCancellable *cancellable, GError **error)
{
  Run r;
  if (!start (&r, c, sql, cancellable, error))
    {
      end (&r);
      return -1;
    }
  PGresult *first = next_result (&r);
  if (PQresultStatus (first) != PGRES_COPY_OUT)
    return refuse (&r, first, "TO STDOUT", error);
  PQclear (first);

  GError *sink_error = NULL;
  for (;;)
    {
      char *row;
      int n = PQgetCopyData (c->conn, &row, 1);
      if (n > 0)
        {
          if (sink_error == NULL && !r.cancel_sent
              && !write (sink, row, n, cancellable, &sink_error))
            send_cancel (&r);  /* the rest is dropped */
          PQfreemem (row);
        }
      else if (n == 0)
        {
          if (!wait_socket (&r, FALSE))
            break;
        }
      else
        {
          r.broken = n == -2;
          break;
        }
    }
  return finish_own (&r, sink_error, error);
}
