/* pgsync: the blocking PostgreSQL driver (driver name "psycopg2", and the
 * default driver of bare "postgresql://").
 *
 * Blocking libpq, one statement at a time; the core serves the async API
 * from a worker thread.  Connecting uses the shared connect engine (host
 * by host, millisecond deadlines) on a private main context, so pgsync and
 * pgasync fail the same way for the same cause.
 *
 * Deadlines.  A statement with a GCancellable or a command_timeout is
 * watched with poll().  When either fires, a cancel request goes out on a
 * thread of its own (dal-pg-cancel.c) and the statement gets
 * cancel_timeout more to end; if the server has not answered by then
 * (frozen, or the network drops packets), the connection is closed and
 * the statement fails with the timeout error (or G_IO_ERROR_CANCELLED).
 * Nothing waits for the cancel request itself.  From then on the
 * connection is lost: is_lost() says so, and every call fails with
 * DAL_ERROR_CONNECTION_LOST.
 *
 * Notifications.  Those read with a statement's results are handed to the
 * core at its end, on the thread that ran it.  Once the session listens
 * (a LISTEN's command tag, or a notification that came), its socket is
 * also watched while idle, on the connection's main context (the core
 * gives it with set_notify_context): a NotificationResponse makes it
 * readable, and the watch's dispatch reads it without blocking
 * (read_idle(), the same read as check_idle).  Every slot that uses the
 * connection runs between statement_begin() and statement_end(), which
 * take the socket out of the watch and put it back, so that a read of
 * the watch never meets a statement of another thread and a socket that
 * a statement is about to read never wakes the context; a connection
 * that never listened has no watch and pays nothing (a test of a
 * pointer).  "UNLISTEN *" or DISCARD ALL ends the watch.  End of file or
 * a FATAL message read by the watch makes the connection lost (the watch
 * stops: no busy loop).
 */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "pgsync-private.h"

static void
pgsync_close (gpointer handle)
{
  PgSync *s = handle;
  /* First: no read of the watch may run once the connection goes. */
  dal_pg_idle_watch_free (s->watch);
  if (s->context != NULL)
    g_main_context_unref (s->context);
  if (s->conn != NULL)
    PQfinish (s->conn);
  dal_pg_canceller_free (s->canceller);
  g_clear_error (&s->lost_why);
  dal_pg_session_free (s->session);
  dal_url_unref (s->url);
  g_free (s);
}

static gpointer
pgsync_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  DalPgTimings timings;
  PGconn *conn = dal_pg_connect_sync (url, cancellable, &timings, error);
  if (conn == NULL)
    return NULL;

  DalPgSession *session = NULL;
  if (!dal_pg_session_new (url, &session, error))
    {
      PQfinish (conn);  /* (refused before connecting: cannot happen) */
      return NULL;
    }
  PQsetnonblocking (conn, 0);
  PgSync *s = g_new0 (PgSync, 1);
  s->session = session;
  s->conn = conn;
  s->timings = timings;
  s->url = dal_url_ref (url);
  s->command_timeout_ms = dal_pg_command_timeout_ms (url);
  s->cancel_timeout_ms = dal_pg_cancel_timeout_ms (url);
  s->canceller = dal_pg_canceller_new ();
  return s;
}

static gboolean
pgsync_is_lost (gpointer handle)
{
  PgSync *s = handle;
  return g_atomic_int_get (&s->lost) != 0;
}

/* The connection can serve no statement any more: remember why (@why
 * taken, a CONNECTION_LOST error or the statement's own). */
void
mark_lost (PgSync *s, const GError *why)
{
  if (s->lost_why == NULL)
    {
      g_autofree char *what = dal_pg_error_what_happened (why);
      s->lost_why = why->code == DAL_ERROR_CONNECTION_LOST && why->domain == DAL_ERROR
                      ? g_error_copy (why)
                      : dal_pg_error_connection_gone (what);
    }
  g_atomic_int_set (&s->lost, 1);
}

/* The server left a cancel request unanswered past cancel_timeout: the
 * connection is closed and lost. */
static void
give_up (PgSync *s)
{
  g_autoptr (GError) why = dal_pg_error_connection_gone (
    "the server did not answer a cancel request within "
    "cancel_timeout, so the connection was closed");
  mark_lost (s, why);
  g_clear_pointer (&s->conn, PQfinish);
}

/* Waits until libpq has a whole result, watching the caller's cancellable
 * and the deadlines.  FALSE if the connection failed or was given up
 * (*@gave_up). */
static gboolean
wait_for_result (PgSync *s, GCancellable *cancellable, gint64 *deadline,
                 DalPgCancelReason *reason, gboolean *gave_up)
{
  int cancel_fd = cancellable != NULL ? g_cancellable_get_fd (cancellable) : -1;
  gboolean ok = TRUE;

  while (ok && PQisBusy (s->conn))
    {
      struct pollfd fds[2] = {
        { .fd = PQsocket (s->conn), .events = POLLIN },
        { .fd = *reason == DAL_PG_CANCEL_NONE ? cancel_fd : -1, .events = POLLIN },
      };
      int timeout = -1;
      if (*deadline != G_MAXINT64)
        timeout = (int) MIN (MAX ((*deadline - g_get_monotonic_time () + 999) / 1000, 0),
                             G_MAXINT);

      int n = poll (fds, 2, timeout);
      if (n < 0)
        continue;  /* EINTR */
      if (n == 0 && g_get_monotonic_time () < *deadline)
        continue;
      if (n == 0 && *reason != DAL_PG_CANCEL_NONE)
        {
          /* The server did not act on the cancel request in time. */
          *gave_up = TRUE;
          ok = FALSE;
          break;
        }
      if (n == 0 || (fds[1].revents != 0 && *reason == DAL_PG_CANCEL_NONE))
        {
          *reason = n == 0 ? DAL_PG_CANCEL_BY_TIMEOUT : DAL_PG_CANCEL_BY_CALLER;
          /* No request could go out: give up at once. */
          *deadline = dal_pg_canceller_send (s->canceller, s->conn)
                        ? g_get_monotonic_time () + s->cancel_timeout_ms * 1000
                        : g_get_monotonic_time ();
          s->cancel_deadline = *deadline;
          continue;
        }
      if (fds[0].revents != 0)
        ok = PQconsumeInput (s->conn) != 0;
    }

  if (cancel_fd >= 0)
    g_cancellable_release_fd (cancellable);
  return ok;
}

gint64
command_deadline (PgSync *s)
{
  return s->command_timeout_ms > 0
           ? g_get_monotonic_time () + s->command_timeout_ms * 1000
           : G_MAXINT64;
}

gboolean
wait_or_give_up (PgSync *s, GCancellable *cancellable, gint64 *deadline,
                 DalPgCancelReason *reason, GError **failure)
{
  gboolean gave_up = FALSE;
  if (wait_for_result (s, cancellable, deadline, reason, &gave_up))
    return TRUE;
  if (!gave_up)
    return FALSE;
  /* A dead network or server: the call must not hang. */
  *failure = dal_pg_error_cancel_unanswered (*reason, s->command_timeout_ms,
                                             s->cancel_timeout_ms);
  give_up (s);
  return FALSE;
}

/* Waits until the cancel requests sent for earlier statements have been
 * acted on (PQcancel returned), so that none can hit the next statement
 * (the postmaster signals the backend more than once), but never past
 * their cancel_timeout.  FALSE if one is still on its way: the next
 * statement is then exposed to it. */
gboolean
settle_cancels (PgSync *s)
{
  while (dal_pg_canceller_pending (s->canceller) > 0)
    {
      struct pollfd fd = { .fd = dal_pg_canceller_get_fd (s->canceller), .events = POLLIN };
      gint64 left_ms = (s->cancel_deadline - g_get_monotonic_time () + 999) / 1000;
      if (left_ms <= 0)
        return FALSE;
      if (poll (&fd, 1, (int) MIN (left_ms, G_MAXINT)) > 0)
        dal_pg_canceller_acknowledge (s->canceller);
    }
  return TRUE;
}

/* Leaves COPY mode, which dal_connection_query() cannot serve. */
void
abandon_copy (PGconn *conn, ExecStatusType status)
{
  if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH)
    dal_pg_copy_in_refuse (conn);
  else if (status == PGRES_COPY_OUT)
    {
      char *buf;
      while (PQgetCopyData (conn, &buf, 0) > 0)
        PQfreemem (buf);
    }
}

gboolean
is_error_result (const PGresult *r)
{
  ExecStatusType st = PQresultStatus (r);
  return st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR
         || st == PGRES_BAD_RESPONSE;
}

/* Keeps the result that tells the statement's outcome: the last one, but
 * the first error (a server error such as 57P01 "terminating connection"
 * is followed by libpq's own "server closed the connection", which has no
 * SQLSTATE and must not hide it), and a COPY the query API refused
 * (abandon_copy(): the end of that COPY is not the statement's outcome). */
void
keep_result (PGresult **kept, PGresult *r)
{
  ExecStatusType st = *kept != NULL ? PQresultStatus (*kept) : PGRES_EMPTY_QUERY;
  if (*kept != NULL
      && (is_error_result (*kept) || st == PGRES_COPY_IN || st == PGRES_COPY_OUT
          || st == PGRES_COPY_BOTH))
    {
      PQclear (r);
      return;
    }
  PQclear (*kept);
  *kept = r;
}

/* Where the session settings go for @sql on a transaction pooler: 0
 * before it (it starts a transaction of its own), 1 after it (a BEGIN:
 * the settings then hold for the whole block, savepoints and the user's
 * own SET LOCAL after them included), -1 nowhere (inside a transaction,
 * which has them already, or a statement that must run alone). */
static int
session_position (PgSync *s, const char *sql)
{
  DalSqlTxControl tc = dal_sql_transaction_control (sql);
  if (tc == DAL_SQL_TX_BEGIN)
    return 1;
  if (tc == DAL_SQL_TX_NONE && PQtransactionStatus (s->conn) == PQTRANS_IDLE)
    return 0;
  return -1;
}

DalResult *
statement_outcome (PgSync *s, PGresult *kept, DalPgCancelReason reason,
                   gboolean exposed, GError **failure)
{
  switch (PQresultStatus (kept))
    {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      return dal_pg_result_new (kept);
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      *failure = dal_pg_error_copy_in_query ();
      break;
    default:
      *failure = dal_pg_error_cancelled (dal_pg_error_from_result (s->conn, kept),
                                         reason, exposed, s->command_timeout_ms);
      break;
    }
  PQclear (kept);
  return NULL;
}

/* FALSE (and @error) once the connection can take no statement. */
gboolean
check_not_lost (PgSync *s, GError **error)
{
  if (!g_atomic_int_get (&s->lost))
    return TRUE;
  g_autofree char *what = dal_pg_error_what_happened (s->lost_why);
  g_propagate_error (error, dal_error_new_hint (
    DAL_ERROR_CONNECTION_LOST, "Open a new connection",
    "the connection cannot take statements any more: %s", what));
  return FALSE;
}

/* Reads what the server sent while the connection was idle (without
 * blocking): notifications are handed over; FALSE (lost from now on) when
 * the server ended the connection. */
static gboolean
read_idle (gpointer data)
{
  PgSync *s = data;
  if (g_atomic_int_get (&s->lost))
    return FALSE;
  GError *why = NULL;
  gboolean alive = dal_pg_check_idle (s->conn, &s->notify, &why);
  if (dal_pg_notify_drain (s->conn, &s->notify) > 0)
    s->listening = TRUE;
  if (alive)
    return TRUE;
  mark_lost (s, why);
  g_error_free (why);
  return FALSE;
}

void
statement_begin (PgSync *s)
{
  if (s->watch != NULL)
    dal_pg_idle_watch_hold (s->watch);
}

void
statement_end (PgSync *s)
{
  if (dal_pg_notify_drain (s->conn, &s->notify) > 0)
    s->listening = TRUE;
  gboolean watch = s->listening && s->context != NULL && s->notify.func != NULL
                   && s->conn != NULL && !g_atomic_int_get (&s->lost);
  if (watch && s->watch == NULL)
    s->watch = dal_pg_idle_watch_new (PQsocket (s->conn), s->context,
                                      read_idle, s);
  else if (watch)
    dal_pg_idle_watch_release (s->watch);
  else
    g_clear_pointer (&s->watch, dal_pg_idle_watch_free);
}

/* "UNLISTEN *", any case, spaces and a semicolon around. */
static gboolean
is_unlisten_all (const char *sql)
{
  while (g_ascii_isspace (*sql))
    sql++;
  if (g_ascii_strncasecmp (sql, "UNLISTEN", 8) != 0)
    return FALSE;
  sql += 8;
  while (g_ascii_isspace (*sql))
    sql++;
  if (*sql++ != '*')
    return FALSE;
  while (g_ascii_isspace (*sql) || *sql == ';')
    sql++;
  return *sql == '\0';
}

void
note_listen (PgSync *s, PGresult *r, const char *sql)
{
  const char *tag = PQcmdStatus (r);
  if (tag == NULL)
    return;
  /* (The first letter keeps this a compare for every other statement.) */
  if (tag[0] == 'L' && strcmp (tag, "LISTEN") == 0)
    s->listening = TRUE;
  else if (tag[0] == 'U' && sql != NULL && strcmp (tag, "UNLISTEN") == 0
           && is_unlisten_all (sql))
    s->listening = FALSE;
  else if (tag[0] == 'D' && strcmp (tag, "DISCARD ALL") == 0)
    s->listening = FALSE;
}

/* Runs @sql: one statement with @params (extended protocol), or with
 * @script any number of statements without parameters (simple query
 * protocol).  Returns the result that tells the outcome. */

static DalResult *
run_sql (PgSync *s, const char *sql, const DalParams *params, gboolean script,
         GCancellable *cancellable, GError **error)
{
  if (!check_not_lost (s, error))
    return NULL;
  gboolean exposed = !settle_cancels (s);
  DalPgParams pp;
  dal_pg_params_init (&pp, params);
  const char * const *values = params != NULL ? params->values : NULL;
  const int *lengths = params != NULL ? params->lengths : NULL;

  PGresult *kept = NULL;
  GError *failure = NULL;
  DalPgCancelReason reason = DAL_PG_CANCEL_NONE;

  /* On a transaction pooler, the session settings go in the same Sync
   * block: before a statement that starts a transaction, after a BEGIN. */
  int session_group = s->session != NULL && !script
                        ? session_position (s, sql) : -1;
  int n_groups = session_group >= 0 ? 3 : 1;  /* two statements and the Sync */
  PGresult *session_result = NULL;
  gboolean sent;
  if (script)
    sent = PQsendQuery (s->conn, sql);
  else if (session_group < 0)
    sent = PQsendQueryParams (s->conn, sql, pp.n, pp.types, values, lengths,
                              pp.formats, 0);
  else
    sent = PQenterPipelineMode (s->conn)
           && (session_group == 1
               || dal_pg_session_send (s->session, s->conn))
           && PQsendQueryParams (s->conn, sql, pp.n, pp.types, values, lengths,
                                 pp.formats, 0)
           && (session_group == 0
               || dal_pg_session_send (s->session, s->conn))
           && PQpipelineSync (s->conn);

  if (!sent)
    failure = dal_pg_error_from_result (s->conn, NULL);
  else
    {
      gboolean watched = cancellable != NULL || s->command_timeout_ms > 0;
      gint64 deadline = command_deadline (s);
      int group = 0;
      for (;;)
        {
          /* Nothing to watch: libpq's blocking wait is the fastest path.
           * (The connection failed: read what libpq has.) */
          if (watched && !wait_or_give_up (s, cancellable, &deadline, &reason, &failure))
            break;
          PGresult *r = PQgetResult (s->conn);
          if (r == NULL)
            {
              if (++group >= n_groups || PQstatus (s->conn) == CONNECTION_BAD)
                break;
              continue;
            }
          if (PQresultStatus (r) == PGRES_PIPELINE_SYNC)
            {
              PQclear (r);
              break;
            }
          if (group == session_group)
            keep_result (&session_result, r);
          else
            {
              abandon_copy (s->conn, PQresultStatus (r));
              note_listen (s, r, script ? NULL : sql);
              keep_result (&kept, r);
            }
        }
      /* A connection that failed has its results (or none) ready now. */
      PGresult *r;
      while (failure == NULL && PQstatus (s->conn) == CONNECTION_BAD
             && (r = PQgetResult (s->conn)) != NULL)
        keep_result (&kept, r);
    }
  if (s->conn != NULL && PQpipelineStatus (s->conn) != PQ_PIPELINE_OFF)
    PQexitPipelineMode (s->conn);
  if (failure == NULL && session_result != NULL && is_error_result (session_result))
    failure = dal_pg_session_error (s->session, -1,
                                    dal_pg_error_from_result (s->conn, session_result),
                                    FALSE);
  PQclear (session_result);
  dal_pg_params_clear (&pp);

  if (failure == NULL && kept == NULL)
    failure = dal_pg_error_from_result (s->conn, NULL);
  if (failure == NULL)
    {
      DalResult *result = statement_outcome (s, g_steal_pointer (&kept), reason,
                                             exposed, &failure);
      if (result != NULL)
        return result;
    }
  PQclear (kept);
  if (s->conn != NULL && PQstatus (s->conn) == CONNECTION_BAD)
    mark_lost (s, failure);
  g_propagate_error (error, failure);
  return NULL;
}

static DalResult *
pgsync_query (gpointer handle, const char *sql, const DalParams *params,
              GCancellable *cancellable, GError **error)
{
  PgSync *s = handle;
  statement_begin (s);
  DalResult *r = run_sql (s, sql, params, FALSE, cancellable, error);
  statement_end (s);
  return r;
}

/* A script (a migration file): the simple query protocol, which runs
 * statements separated by semicolons and stops at the first failure. */
static gboolean
pgsync_execute_script (gpointer handle, const char *sql,
                       GCancellable *cancellable, GError **error)
{
  PgSync *s = handle;
  statement_begin (s);
  DalResult *r = run_sql (s, sql, NULL, TRUE, cancellable, error);
  statement_end (s);
  if (r == NULL)
    return FALSE;
  dal_result_unref (r);
  return TRUE;
}

/* COPY (dal-pg-copy.c), after earlier cancel requests settled; a cancel
 * request left unanswered gives the connection up, as for a query.
 * @in: copy_in with @func a DalCopyReadFunc, else copy_out. */
static gint64
run_copy (PgSync *s, const char *sql, gboolean in, gpointer func, gpointer data,
          GCancellable *cancellable, GError **error)
{
  if (!check_not_lost (s, error))
    return -1;
  settle_cancels (s);
  DalPgCopy c = { s->conn, s->canceller, s->command_timeout_ms, s->cancel_timeout_ms };
  GError *local = NULL;
  gint64 rows = in ? dal_pg_copy_in (&c, sql, (DalCopyReadFunc) func, data, cancellable, &local)
                   : dal_pg_copy_out (&c, sql, (DalCopyWriteFunc) func, data,
                                      cancellable, &local);
  if (c.cancel_deadline != 0)
    s->cancel_deadline = c.cancel_deadline;
  if (c.gave_up)
    give_up (s);
  else if (local != NULL && PQstatus (s->conn) == CONNECTION_BAD)
    mark_lost (s, local);
  if (local != NULL)
    g_propagate_error (error, local);
  return rows;
}

static gint64
pgsync_copy_in (gpointer handle, const char *sql, DalCopyReadFunc read,
                gpointer source, GCancellable *cancellable, GError **error)
{
  statement_begin (handle);
  gint64 rows = run_copy (handle, sql, TRUE, (gpointer) read, source, cancellable, error);
  statement_end (handle);
  return rows;
}

static gint64
pgsync_copy_out (gpointer handle, const char *sql, DalCopyWriteFunc write,
                 gpointer sink, GCancellable *cancellable, GError **error)
{
  statement_begin (handle);
  gint64 rows = run_copy (handle, sql, FALSE, (gpointer) write, sink, cancellable, error);
  statement_end (handle);
  return rows;
}

static DalBatchResult *
pgsync_batch_slot (gpointer handle, const DalBatchItem *items, guint n_items,
                   GCancellable *cancellable, GError **error)
{
  statement_begin (handle);
  DalBatchResult *br = pgsync_batch (handle, items, n_items, cancellable, error);
  statement_end (handle);
  return br;
}

/* Before the pool hands the connection out: did the server end it while
 * it was idle? */
static gboolean
pgsync_check_idle (gpointer handle)
{
  PgSync *s = handle;
  statement_begin (s);
  gboolean alive = read_idle (s);
  statement_end (s);
  return alive;
}

/* Notifications: handed over at the end of each statement, on the thread
 * that ran it, and by the idle watch on the connection's context (see
 * the top of this file). */
static gboolean
pgsync_set_notify (gpointer handle, DalNotifyFunc func, gpointer user_data)
{
  PgSync *s = handle;
  return dal_pg_notify_set (&s->notify, func, user_data);
}

/* Where the idle watch goes: the connection is idle (no slot runs). */
static void
pgsync_set_notify_context (gpointer handle, GMainContext *context)
{
  PgSync *s = handle;
  if (context != s->context)
    {
      if (s->context != NULL)
        g_main_context_unref (s->context);
      s->context = context != NULL ? g_main_context_ref (context) : NULL;
    }
  if (s->watch != NULL && context != NULL)
    dal_pg_idle_watch_set_context (s->watch, context);
  else if (context == NULL)
    g_clear_pointer (&s->watch, dal_pg_idle_watch_free);
}

/* Notices: handed over as libpq reads them, on the thread that reads. */
static gboolean
pgsync_set_notice (gpointer handle, DalNoticeFunc func, gpointer user_data)
{
  PgSync *s = handle;
  return dal_pg_notice_set (s->conn, &s->notify, func, user_data);
}

static char *
pgsync_get_info (gpointer handle, const char *key)
{
  PgSync *s = handle;
  return dal_pg_get_info (s->conn, &s->timings, key);
}

static const DalPluginFuncs pgsync_funcs = {
  .connect = pgsync_connect,
  .query = pgsync_query,
  .close = pgsync_close,
  .get_info = pgsync_get_info,
  .is_lost = pgsync_is_lost,
  .check_idle = pgsync_check_idle,
  .execute_script = pgsync_execute_script,
  .batch = pgsync_batch_slot,
  .copy_in = pgsync_copy_in,
  .copy_out = pgsync_copy_out,
  .set_notify = pgsync_set_notify,
  .set_notice = pgsync_set_notice,
  .set_notify_context = pgsync_set_notify_context,
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
  .dialect_info = &dal_pg_dialect,
};
