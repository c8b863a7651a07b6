/* dal-pg-cancel.c: cancel requests that never hold anyone, and the errors
 * of a statement that was cancelled or given up.
 *
 * libpq 15's PQcancel() blocks until the postmaster has acted on the
 * request, with no time limit of its own: a frozen postmaster, or a network
 * that drops packets, holds it for as long as the outage lasts.  So each
 * request runs on a thread of its own that nobody joins.  The thread owns
 * its PGcancel (a copy of what the request needs) and a reference on a
 * small shared record, never the connection: when the plugin gives the
 * connection up at its deadline, a request still hanging only keeps that
 * record alive.  The end of each request is signalled on an eventfd that
 * the plugin polls (pgsync) or watches in its GSource (pgasync); nothing
 * is queued on a main context, so a program that never iterates one leaks
 * nothing.
 *
 * How many requests may hang at once, process-wide, is bounded: past the
 * bound a new request is refused and the caller gives the connection up at
 * its deadline instead of waiting for the server.
 */
#include "config.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dal-pg.h"

/* Requests hanging at once, process-wide, before new ones are refused. */
#define MAX_HANGING_REQUESTS 64

static gint requests_running;  /* atomic, process-wide */

typedef struct
{
  gint ref_count;  /* atomic: the owner and each request under way */
  gint pending;    /* atomic: requests sent and not yet answered */
  int fd;          /* eventfd: one count per request that ended */
} Shared;

struct _DalPgCanceller
{
  Shared *shared;
};

typedef struct
{
  Shared *shared;
  PGcancel *cancel;
} Request;

static void
shared_unref (Shared *s)
{
  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;
  close (s->fd);
  g_free (s);
}

DalPgCanceller *
dal_pg_canceller_new (void)
{
  int fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    g_error ("eventfd: %s", g_strerror (errno));  /* out of descriptors */
  DalPgCanceller *c = g_new0 (DalPgCanceller, 1);
  c->shared = g_new0 (Shared, 1);
  c->shared->ref_count = 1;
  c->shared->fd = fd;
  return c;
}

void
dal_pg_canceller_free (DalPgCanceller *c)
{
  if (c == NULL)
    return;
  shared_unref (c->shared);
  g_free (c);
}

int
dal_pg_canceller_get_fd (DalPgCanceller *c)
{
  return c->shared->fd;
}

guint
dal_pg_canceller_pending (DalPgCanceller *c)
{
  return (guint) g_atomic_int_get (&c->shared->pending);
}

void
dal_pg_canceller_acknowledge (DalPgCanceller *c)
{
  guint64 n;
  while (read (c->shared->fd, &n, sizeof n) < 0 && errno == EINTR)
    ;
}

static gpointer
request_thread (gpointer data)
{
  Request *r = data;
  char errbuf[256];
  if (!PQcancel (r->cancel, errbuf, sizeof errbuf))
    g_debug ("cancel request failed: %s", errbuf);
  PQfreeCancel (r->cancel);
  g_atomic_int_dec_and_test (&r->shared->pending);
  guint64 one = 1;
  while (write (r->shared->fd, &one, sizeof one) < 0 && errno == EINTR)
    ;
  shared_unref (r->shared);
  g_free (r);
  g_atomic_int_dec_and_test (&requests_running);
  return NULL;
}

gboolean
dal_pg_canceller_send (DalPgCanceller *c, PGconn *conn)
{
  if (g_atomic_int_add (&requests_running, 1) >= MAX_HANGING_REQUESTS)
    {
      g_atomic_int_dec_and_test (&requests_running);
      g_debug ("cancel request not sent: %d requests are still waiting for "
               "their servers", MAX_HANGING_REQUESTS);
      return FALSE;
    }
  PGcancel *cancel = PQgetCancel (conn);
  if (cancel == NULL)
    {
      g_atomic_int_dec_and_test (&requests_running);
      return FALSE;
    }
  Request *r = g_new (Request, 1);
  r->cancel = cancel;
  r->shared = c->shared;
  g_atomic_int_inc (&c->shared->ref_count);
  g_atomic_int_inc (&c->shared->pending);

  GError *error = NULL;
  GThread *thread = g_thread_try_new ("dal-pg-cancel", request_thread, r, &error);
  if (thread == NULL)
    {
      g_debug ("cancel request not sent: %s", error->message);
      g_error_free (error);
      g_atomic_int_dec_and_test (&c->shared->pending);
      shared_unref (c->shared);
      PQfreeCancel (cancel);
      g_free (r);
      g_atomic_int_dec_and_test (&requests_running);
      return FALSE;
    }
  g_thread_unref (thread);  /* detached: nobody waits for it */
  return TRUE;
}

gint64
dal_pg_cancel_timeout_ms (DalUrl *url)
{
  gint64 ms = dal_url_get_duration_ms (url, "cancel_timeout",
                                       DAL_PG_DEFAULT_CANCEL_TIMEOUT_MS);
  return ms > 0 ? ms : DAL_PG_DEFAULT_CANCEL_TIMEOUT_MS;
}

/* -- errors -- */

#define HINT_TIMEOUT \
  "Make the statement faster, or raise command_timeout in the URL"

GError *
dal_pg_error_cancelled (GError *server_error, DalPgCancelReason reason,
                        gboolean exposed, gint64 command_timeout_ms)
{
  if (server_error == NULL
      || g_strcmp0 (dal_error_get_sqlstate (server_error), "57014") != 0)
    return server_error;

  GError *out = NULL;
  if (reason == DAL_PG_CANCEL_BY_CALLER)
    out = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "the statement was cancelled");
  else if (reason == DAL_PG_CANCEL_BY_TIMEOUT)
    out = dal_error_new_hint (DAL_ERROR_QUERY_TIMEOUT, HINT_TIMEOUT,
                              "the statement ran longer than command_timeout=%g s "
                              "and was cancelled on the server (SQLSTATE 57014)",
                              command_timeout_ms / 1000.0);
  else if (exposed)
    out = dal_error_new_hint (
      DAL_ERROR_QUERY_FAILED,
      "It did not complete; run it again",
      "the statement was cancelled by a cancel request meant for the "
      "statement before it on this connection, which reached the server as "
      "that one ended (SQLSTATE 57014)");
  if (out == NULL)
    return server_error;
  if (out->domain == DAL_ERROR)
    {
      /* Every field the server sent stays readable. */
      for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
        dal_error_set_field (out, i, dal_error_get_field (server_error, i));
      dal_error_set_retryable (out, TRUE);
    }
  g_error_free (server_error);
  return out;
}

GError *
dal_pg_error_cancel_unanswered (DalPgCancelReason reason, gint64 command_timeout_ms,
                                gint64 cancel_timeout_ms)
{
  if (reason == DAL_PG_CANCEL_BY_CALLER)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "the statement was cancelled; the server did not "
                        "confirm within cancel_timeout=%g s, so the connection "
                        "was closed", cancel_timeout_ms / 1000.0);
  if (reason == DAL_PG_CANCEL_BY_TIMEOUT)
    return dal_error_new_hint (
      DAL_ERROR_QUERY_TIMEOUT,
      "Check the network and the server (it did not answer at all), then "
      "open a new connection; or raise command_timeout",
      "the statement ran longer than command_timeout=%g s, and the server "
      "did not answer the cancel request within cancel_timeout=%g s, so the "
      "connection was closed", command_timeout_ms / 1000.0,
      cancel_timeout_ms / 1000.0);
  return dal_pg_error_connection_gone ("the server did not answer for longer "
                                       "than cancel_timeout after a cancel "
                                       "request for an earlier statement, so "
                                       "the connection was closed");
}

GError *
dal_pg_error_connection_gone (const char *why)
{
  return dal_error_new_hint (DAL_ERROR_CONNECTION_LOST,
                             "Open a new connection and run the statement again",
                             "connection to the server was lost: %s", why);
}
