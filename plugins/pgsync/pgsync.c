/* pgsync: the blocking PostgreSQL driver (driver name "psycopg2", and the
 * default driver of bare "postgresql://").
 *
 * Blocking libpq, one statement at a time; the core serves the async API
 * from a worker thread.  Connecting uses the shared connect engine (host
 * by host, millisecond deadlines) on a private main context, so pgsync and
 * pgasync fail the same way for the same cause.  A statement with a
 * GCancellable or a command_timeout is watched with poll() and cancelled
 * on the server (PQcancel) when either fires.
 */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "dal-pg.h"

/* How long to wait for the server's answer after a cancel request before
 * giving the connection up (a dead network must not hang the call). */
#define CANCEL_GRACE_MS 5000

typedef struct
{
  PGconn *conn;               /* NULL once given up */
  DalUrl *url;
  gint64 command_timeout_ms;  /* 0: none */
} PgSync;

static void
pgsync_close (gpointer handle)
{
  PgSync *s = handle;
  if (s->conn != NULL)
    PQfinish (s->conn);
  dal_url_unref (s->url);
  g_free (s);
}

static void
connect_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gpointer
pgsync_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  GMainContext *context = g_main_context_new ();
  GAsyncResult *result = NULL;

  g_main_context_push_thread_default (context);
  dal_pg_connect_async (url, g_task_new (NULL, cancellable, connect_done, &result));
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  PGconn *conn = g_task_propagate_pointer (G_TASK (result), error);
  g_object_unref (result);
  g_main_context_unref (context);
  if (conn == NULL)
    return NULL;

  PQsetnonblocking (conn, 0);
  PgSync *s = g_new0 (PgSync, 1);
  s->conn = conn;
  s->url = dal_url_ref (url);
  s->command_timeout_ms = dal_pg_command_timeout_ms (url);
  return s;
}

typedef enum
{
  NOT_CANCELLED,
  CANCELLED_BY_CALLER,
  CANCELLED_BY_TIMEOUT,
  CANCEL_UNANSWERED,          /* no answer within CANCEL_GRACE_MS */
} CancelReason;

/* Asks the server to cancel the running statement (blocking; fine here). */
static void
send_cancel (PGconn *conn)
{
  char errbuf[256];
  PGcancel *cancel = PQgetCancel (conn);
  if (cancel == NULL)
    return;
  if (!PQcancel (cancel, errbuf, sizeof errbuf))
    g_debug ("cancel request failed: %s", errbuf);
  PQfreeCancel (cancel);
}

/* Waits until libpq has a whole result, watching the caller's cancellable
 * and the command deadline.  FALSE if the connection failed. */
static gboolean
wait_for_result (PgSync *s, GCancellable *cancellable, gint64 *deadline,
                 CancelReason *reason)
{
  int cancel_fd = cancellable != NULL ? g_cancellable_get_fd (cancellable) : -1;
  gboolean ok = TRUE;

  while (ok && PQisBusy (s->conn))
    {
      struct pollfd fds[2] = {
        { .fd = PQsocket (s->conn), .events = POLLIN },
        { .fd = *reason == NOT_CANCELLED ? cancel_fd : -1, .events = POLLIN },
      };
      int timeout = -1;
      if (*deadline != G_MAXINT64)
        timeout = (int) MAX ((*deadline - g_get_monotonic_time () + 999) / 1000, 0);

      int n = poll (fds, 2, timeout);
      if (n < 0)
        continue;  /* EINTR */
      if (n == 0 && *reason != NOT_CANCELLED)
        {
          /* The server did not answer the cancel request in time. */
          *reason = CANCEL_UNANSWERED;
          ok = FALSE;
          break;
        }
      if (n == 0)
        {
          *reason = CANCELLED_BY_TIMEOUT;
          send_cancel (s->conn);
          *deadline = g_get_monotonic_time () + CANCEL_GRACE_MS * 1000;
          continue;
        }
      if (fds[1].revents != 0 && *reason == NOT_CANCELLED)
        {
          *reason = CANCELLED_BY_CALLER;
          send_cancel (s->conn);
          *deadline = g_get_monotonic_time () + CANCEL_GRACE_MS * 1000;
        }
      if (fds[0].revents != 0)
        ok = PQconsumeInput (s->conn) != 0;
    }

  if (cancel_fd >= 0)
    g_cancellable_release_fd (cancellable);
  return ok;
}

/* Leaves COPY mode, which dal_connection_query() cannot serve. */
static void
abandon_copy (PGconn *conn, ExecStatusType status)
{
  if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH)
    PQputCopyEnd (conn, "COPY FROM STDIN is not supported by libdal's query API");
  else if (status == PGRES_COPY_OUT)
    {
      char *buf;
      while (PQgetCopyData (conn, &buf, 0) > 0)
        PQfreemem (buf);
    }
}

static DalResult *
pgsync_query (gpointer handle, const char *sql, const DalParams *params,
              GCancellable *cancellable, GError **error)
{
  PgSync *s = handle;
  if (s->conn == NULL)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_CONNECTION_LOST, "Open a new connection",
        "the connection was given up after the server left a cancel request "
        "unanswered"));
      return NULL;
    }
  DalPgParams pp;
  dal_pg_params_init (&pp, params);
  const char * const *values = params != NULL ? params->values : NULL;
  const int *lengths = params != NULL ? params->lengths : NULL;

  PGresult *last = NULL;
  GError *failure = NULL;
  CancelReason reason = NOT_CANCELLED;

  if (cancellable == NULL && s->command_timeout_ms == 0)
    {
      /* Nothing to watch: libpq's own blocking call is the fastest path. */
      last = PQexecParams (s->conn, sql, pp.n, pp.types, values, lengths,
                           pp.formats, 0);
    }
  else if (!PQsendQueryParams (s->conn, sql, pp.n, pp.types, values, lengths,
                               pp.formats, 0))
    failure = dal_pg_error_from_result (s->conn, NULL);
  else
    {
      gint64 deadline = s->command_timeout_ms > 0
                          ? g_get_monotonic_time () + s->command_timeout_ms * 1000
                          : G_MAXINT64;
      for (;;)
        {
          if (!wait_for_result (s, cancellable, &deadline, &reason))
            {
              if (reason != CANCEL_UNANSWERED)
                failure = dal_pg_error_from_result (s->conn, NULL);
              else
                {
                  /* A dead network or server: the call must not hang. */
                  failure = dal_error_new_hint (
                    DAL_ERROR_CONNECTION_LOST,
                    "Check the network and the server; open a new connection",
                    "the server did not answer within %d s of a cancel "
                    "request; the connection was closed", CANCEL_GRACE_MS / 1000);
                  g_clear_pointer (&s->conn, PQfinish);
                }
              break;
            }
          PGresult *r = PQgetResult (s->conn);
          if (r == NULL)
            break;
          abandon_copy (s->conn, PQresultStatus (r));
          PQclear (last);
          last = r;
        }
    }
  dal_pg_params_clear (&pp);

  if (failure == NULL && last == NULL)
    failure = dal_pg_error_from_result (s->conn, NULL);
  if (failure == NULL)
    {
      switch (PQresultStatus (last))
        {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
        case PGRES_EMPTY_QUERY:
          return dal_pg_result_new (last);
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          failure = dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                                        "Use COPY … TO/FROM a server-side file, "
                                        "or INSERT with parameters",
                                        "COPY to or from the client is not "
                                        "supported by dal_connection_query()");
          break;
        default:
          if (reason == CANCELLED_BY_CALLER
              && g_strcmp0 (PQresultErrorField (last, PG_DIAG_SQLSTATE), "57014") == 0)
            failure = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                           "the statement was cancelled");
          else if (reason == CANCELLED_BY_TIMEOUT
                   && g_strcmp0 (PQresultErrorField (last, PG_DIAG_SQLSTATE), "57014") == 0)
            {
              failure = dal_error_new_hint (
                DAL_ERROR_QUERY_TIMEOUT,
                "Make the statement faster, or raise command_timeout in the URL",
                "the statement ran longer than command_timeout=%g s and was "
                "cancelled on the server (SQLSTATE 57014)",
                s->command_timeout_ms / 1000.0);
              dal_error_set_field (failure, DAL_ERROR_FIELD_SQLSTATE, "57014");
            }
          else
            failure = dal_pg_error_from_result (s->conn, last);
          break;
        }
    }
  PQclear (last);
  g_propagate_error (error, failure);
  return NULL;
}

static char *
pgsync_get_info (gpointer handle, const char *key)
{
  PgSync *s = handle;
  return dal_pg_get_info (s->conn, key);
}

static const DalPluginFuncs pgsync_funcs = {
  .connect = pgsync_connect,
  .query = pgsync_query,
  .close = pgsync_close,
  .get_info = pgsync_get_info,
};

static const char *const pgsync_drivers[] = { "psycopg2", NULL };

DAL_PLUGIN_EXPORT const DalPluginDescriptor DAL_PLUGIN_DESCRIPTOR_SYMBOL (pgsync) = {
  DAL_PLUGIN_ABI_INIT,
  .flags = DAL_PLUGIN_DIALECT_DEFAULT,
  .name = "pgsync",
  .dialect = "postgresql",
  .drivers = pgsync_drivers,
  .caps = DAL_PLUGIN_CAP_CANCEL | DAL_PLUGIN_CAP_TLS,
  .funcs = &pgsync_funcs,
  .description = "blocking libpq driver, for migrations and plain sync programs",
};
