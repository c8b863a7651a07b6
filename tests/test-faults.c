/* test-faults.c: the engine's promises under faults, against the real
 * server (live; skips without the harness).
 *
 *   - a statement with a timeout ends by command_timeout + cancel_timeout
 *     however the server or network fails: a network that goes silent
 *     mid-statement (a loopback proxy in front of the server stops
 *     forwarding; cancel requests, which go through it too, hang like
 *     against a frozen postmaster), and a backend that is stopped
 *     (SIGSTOP) while its postmaster answers;
 *   - after that, the connection is lost and dal_connection_is_closed()
 *     says so; the statements behind the timed-out one fail with
 *     connection-lost;
 *   - callbacks never run inside another call; an idle connection costs no
 *     wake-ups; a blocking-only program leaves nothing behind;
 *   - the statement cache survives a changed result type and a server that
 *     lost its statements.
 *
 * The proxy only ever connects to the harness's server on 127.0.0.1.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dal-test.h"
#include "dal-test-net.h"

/* Upper time bounds are multiplied by this (1 normally). */
#define time_scale dal_test_time_scale ()

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* -- a loopback proxy that can go silent (dal-test-net.c) -- */

static guint16
server_port (void)
{
  return (guint16) atoi (dal_test_env ("DAL_TEST_PG_PORT"));
}

/* The harness's server through @p, over verified TLS. */
static char *
proxy_url (DalTestProxy *p, const char *scheme, const char *extra)
{
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%u", dal_test_proxy_get_port (p));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s&%s", ca, extra);
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

/* -- calls -- */

typedef struct
{
  guint calls;
  guint seq;
  gboolean done;
  DalResult *result;
  GError *error;
  double at;
  gboolean *inside;  /* set while the test makes a call: must stay FALSE */
  gboolean saw_inside;
} Call;

static guint completion_seq;

static void
call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *c = user_data;
  c->calls++;
  c->seq = ++completion_seq;
  c->at = now_s ();
  c->done = TRUE;
  if (c->inside != NULL && *c->inside)
    c->saw_inside = TRUE;
  c->result = dal_connection_query_finish (DAL_CONNECTION (source), res, &c->error);
}

static void
call_clear (Call *c)
{
  g_clear_pointer (&c->result, dal_result_unref);
  g_clear_error (&c->error);
}

static void
wait_call (Call *c, double seconds)
{
  dal_test_wait_for (&c->done, (guint) (seconds * 1000));
  g_assert_cmpuint (c->calls, ==, 1);
}

static DalConnection *
open_url (const char *url)
{
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static char *
query_value (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

/* The deadline every timed-out statement must keep. */
#define COMMAND_TIMEOUT 0.5
#define CANCEL_TIMEOUT 0.5
#define TIMEOUTS "command_timeout=0.5&cancel_timeout=0.5"

static void
assert_in_deadline (double started, double ended)
{
  double took = ended - started;
  g_test_message ("ended after %.3f s (deadline %.1f s + grace %.1f s)", took,
                  COMMAND_TIMEOUT, CANCEL_TIMEOUT);
  g_assert_cmpfloat (took, >=, COMMAND_TIMEOUT + CANCEL_TIMEOUT - 0.05);
  g_assert_cmpfloat (took, <, COMMAND_TIMEOUT + CANCEL_TIMEOUT + 1.0 * time_scale);
}

static void
assert_timed_out_and_closed (const GError *error)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "cancel_timeout"));
  g_assert_true (dal_error_is_retryable (error));
}

static void
assert_lost_afterwards (DalConnection *conn)
{
  g_assert_true (dal_connection_is_closed (conn));
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
}

/* A blocking "SELECT 1" on @conn ends by the deadline with the timeout
 * error, and the connection is lost afterwards.  (@after, if not NULL,
 * runs right after the call returns: it ends the fault.) */
static void
assert_blocking_times_out (DalConnection *conn, void (*after) (gpointer), gpointer data)
{
  g_autoptr (GError) error = NULL;
  double t0 = now_s ();
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, NULL, &error);
  double t1 = now_s ();
  if (after != NULL)
    after (data);
  assert_in_deadline (t0, t1);
  g_assert_null (r);
  assert_timed_out_and_closed (error);
  assert_lost_afterwards (conn);
}

/* -- a server that goes silent mid-statement -- */

/* pgasync, async calls: the statement in flight ends by its deadline plus
 * the grace; the two behind it get connection-lost; nothing hangs. */
static void
test_silent_pgasync_async (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  DalTestProxy *p = dal_test_proxy_new (0, server_port (), 0, 0);
  g_autofree char *url = proxy_url (p, "postgresql+asyncpg", TIMEOUTS);
  g_autoptr (DalConnection) conn = open_url (url);
  g_autofree char *one = query_value (conn, "SELECT 1");
  g_assert_cmpstr (one, ==, "1");

  dal_test_proxy_set_frozen (p, TRUE);
  Call calls[3] = { 0 };
  double t0 = now_s ();
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    dal_connection_query_async (conn, "SELECT 1", NULL, NULL, call_done, &calls[i]);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    wait_call (&calls[i], 10 * time_scale);

  assert_in_deadline (t0, calls[0].at);
  assert_timed_out_and_closed (calls[0].error);
  for (guint i = 1; i < G_N_ELEMENTS (calls); i++)
    {
      g_assert_error (calls[i].error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
      g_assert_cmpuint (calls[i].seq, >, calls[i - 1].seq);
    }
  assert_lost_afterwards (conn);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    call_clear (&calls[i]);
  dal_test_proxy_free (p);
}

/* pgasync, a blocking call: the same deadline. */
static void
test_silent_pgasync_blocking (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  DalTestProxy *p = dal_test_proxy_new (0, server_port (), 0, 0);
  g_autofree char *url = proxy_url (p, "postgresql+asyncpg", TIMEOUTS);
  g_autoptr (DalConnection) conn = open_url (url);

  dal_test_proxy_set_frozen (p, TRUE);
  assert_blocking_times_out (conn, NULL, NULL);
  dal_test_proxy_free (p);
}

/* pgsync, blocking and async (a GLib worker thread runs it): the cancel
 * request hangs (it goes through the silent proxy too), and nobody waits
 * for it. */
static void
test_silent_pgsync (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  DalTestProxy *p = dal_test_proxy_new (0, server_port (), 0, 0);
  g_autofree char *url = proxy_url (p, "postgresql+psycopg2", TIMEOUTS);
  g_autoptr (DalConnection) conn = open_url (url);
  g_autoptr (DalConnection) conn2 = open_url (url);

  dal_test_proxy_set_frozen (p, TRUE);
  assert_blocking_times_out (conn, NULL, NULL);

  Call c = { 0 };
  double t0 = now_s ();
  dal_connection_query_async (conn2, "SELECT 1", NULL, NULL, call_done, &c);
  wait_call (&c, 10 * time_scale);
  assert_in_deadline (t0, c.at);
  assert_timed_out_and_closed (c.error);
  assert_lost_afterwards (conn2);
  call_clear (&c);
  dal_test_proxy_free (p);
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (200 * 1000);  /* a trigger, not synchronisation */
  g_cancellable_cancel (data);
  return NULL;
}

/* A caller's cancel with no command_timeout: the caller hears at once (or,
 * blocking, within the grace), and a silent server costs the connection,
 * not a hang. */
static void
test_silent_cancel (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  DalTestProxy *p = dal_test_proxy_new (0, server_port (), 0, 0);
  g_autofree char *url = proxy_url (p, scheme, "cancel_timeout=0.5");
  g_autoptr (DalConnection) conn = open_url (url);

  dal_test_proxy_set_frozen (p, TRUE);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GThread *t = g_thread_new ("canceller", cancel_later, cancellable);
  g_autoptr (GError) error = NULL;
  double t0 = now_s ();
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, cancellable, &error);
  double took = now_s () - t0;
  g_thread_join (t);
  g_test_message ("cancelled call returned after %.3f s", took);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (took, >=, 0.2 + CANCEL_TIMEOUT - 0.05);
  g_assert_cmpfloat (took, <, 0.2 + CANCEL_TIMEOUT + 1.0 * time_scale);
  assert_lost_afterwards (conn);
  dal_test_proxy_free (p);
}

/* pgasync: a caller's async cancel completes at once; the statement queued
 * behind the cancelled one ends within the grace with connection-lost. */
static void
test_silent_cancel_async (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  DalTestProxy *p = dal_test_proxy_new (0, server_port (), 0, 0);
  g_autofree char *url = proxy_url (p, "postgresql+asyncpg", "cancel_timeout=0.5");
  g_autoptr (DalConnection) conn = open_url (url);

  dal_test_proxy_set_frozen (p, TRUE);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Call first = { 0 }, behind = { 0 };
  dal_connection_query_async (conn, "SELECT 1", NULL, cancellable, call_done, &first);
  dal_connection_query_async (conn, "SELECT 2", NULL, NULL, call_done, &behind);
  double t0 = now_s ();
  g_cancellable_cancel (cancellable);
  wait_call (&first, 5 * time_scale);
  g_assert_error (first.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (first.at - t0, <, 0.5 * time_scale);
  wait_call (&behind, 10 * time_scale);
  g_assert_error (behind.error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_assert_cmpfloat (behind.at - t0, >=, CANCEL_TIMEOUT - 0.05);
  g_assert_cmpfloat (behind.at - t0, <, CANCEL_TIMEOUT + 1.0 * time_scale);
  assert_lost_afterwards (conn);
  call_clear (&first);
  call_clear (&behind);
  dal_test_proxy_free (p);
}

static void
resume_backend (gpointer pid)
{
  g_assert_cmpint (kill ((pid_t) GPOINTER_TO_INT (pid), SIGCONT), ==, 0);
}

/* A backend that stops (SIGSTOP) while its postmaster still answers: the
 * cancel request is accepted, the statement never ends.  Needs the right
 * to signal the server's processes (root in CI). */
static void
test_stopped_backend (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *url = dal_test_url (scheme, TIMEOUTS);
  g_autoptr (DalConnection) conn = open_url (url);
  g_autofree char *pid_text = dal_connection_get_info (conn, "backend_pid");
  pid_t pid = (pid_t) atoi (pid_text);
  if (kill (pid, 0) != 0)
    {
      g_test_skip ("cannot signal the server's processes (run as root or as the server's user)");
      return;
    }

  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  assert_blocking_times_out (conn, resume_backend, GINT_TO_POINTER (pid));
}

/* -- a backend terminated by the server -- */

static guint
count_occurrences (const char *haystack, const char *needle)
{
  guint n = 0;
  g_autofree char *h = g_ascii_strdown (haystack, -1);
  g_autofree char *nd = g_ascii_strdown (needle, -1);
  for (const char *p = strstr (h, nd); p != NULL; p = strstr (p + 1, nd))
    n++;
  return n;
}

/* Both plugins keep the server's SQLSTATE (57P01) and every field, say
 * "open a new connection" once, and read as sentences. */
static void
test_terminated (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *url = dal_test_url (scheme, NULL);
  g_autoptr (DalConnection) conn = open_url (url);
  g_autofree char *pid = dal_connection_get_info (conn, "backend_pid");

  g_autoptr (GError) error = NULL;
  g_autofree char *sql = g_strdup_printf ("SELECT pg_terminate_backend(%s) FROM pg_sleep(0.3)", pid);
  Call c = { 0 };
  dal_connection_query_async (conn, "SELECT pg_sleep(5)", NULL, NULL, call_done, &c);
  g_autofree char *killed = dal_test_admin_query (sql);
  g_assert_cmpstr (killed, ==, "t");
  wait_call (&c, 10 * time_scale);
  g_assert_nonnull (c.error);
  g_test_message ("%s", c.error->message);
  g_assert_cmpstr (dal_error_get_sqlstate (c.error), ==, "57P01");
  g_assert_nonnull (dal_error_get_field (c.error, DAL_ERROR_FIELD_SEVERITY));
  g_assert_true (dal_error_is_retryable (c.error));
  g_assert_cmpuint (count_occurrences (c.error->message, "open a new connection"), <=, 1);
  g_assert_null (strstr (c.error->message, "; "));
  call_clear (&c);

  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_test_message ("%s", error->message);
  g_assert_cmpuint (count_occurrences (error->message, "open a new connection"), ==, 1);
  g_assert_null (strstr (error->message, "; "));
  g_assert_true (dal_connection_is_closed (conn));
}

/* -- callbacks and the loop -- */

typedef struct
{
  DalConnection *conn;
  gboolean inside;
  Call *self;
  char *blocking_value;
} Reentry;

static void
reentry_first_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Reentry *r = user_data;
  call_done (source, res, r->self);
  /* A blocking call from a callback: other callbacks must not run inside. */
  r->inside = TRUE;
  r->blocking_value = query_value (r->conn, "SELECT 'inner'");
  r->inside = FALSE;
}

static void
test_no_reentrant_callbacks (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autoptr (DalConnection) conn = open_url (url);

  for (int round = 0; round < 5; round++)
    {
      Call first = { 0 }, others[4] = { 0 };
      Reentry r = { .conn = conn, .self = &first };
      dal_connection_query_async (conn, "SELECT 1", NULL, NULL, reentry_first_done, &r);
      for (guint i = 0; i < G_N_ELEMENTS (others); i++)
        {
          others[i].inside = &r.inside;
          dal_connection_query_async (conn, "SELECT 2", NULL, NULL, call_done, &others[i]);
        }
      for (guint i = 0; i < G_N_ELEMENTS (others); i++)
        wait_call (&others[i], 5 * time_scale);
      g_assert_cmpuint (first.calls, ==, 1);
      g_assert_cmpstr (r.blocking_value, ==, "inner");
      for (guint i = 0; i < G_N_ELEMENTS (others); i++)
        {
          g_assert_false (others[i].saw_inside);
          g_assert_no_error (others[i].error);
          g_assert_cmpuint (others[i].seq, ==, first.seq + 1 + i);
          call_clear (&others[i]);
        }
      call_clear (&first);
      g_free (r.blocking_value);
    }
}

typedef struct
{
  DalConnection *conn;
  Call *self, *queued, *started_inside;
} Nested;

static void
nested_first_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Nested *n = user_data;
  call_done (source, res, n->self);
  /* A main loop of the callback's own waits for a statement started
   * before (its result may be queued already) and one started here. */
  dal_connection_query_async (n->conn, "SELECT 'inside'", NULL, NULL, call_done,
                              n->started_inside);
  dal_test_wait_for (&n->queued->done, 5000);
  dal_test_wait_for (&n->started_inside->done, 5000);
}

static void
test_nested_loop_in_callback (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autoptr (DalConnection) conn = open_url (url);
  Call first = { 0 }, queued = { 0 }, inside = { 0 };
  Nested n = { conn, &first, &queued, &inside };
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, nested_first_done, &n);
  dal_connection_query_async (conn, "SELECT 2", NULL, NULL, call_done, &queued);
  wait_call (&first, 10 * time_scale);
  g_assert_cmpuint (queued.calls, ==, 1);
  g_assert_cmpuint (inside.calls, ==, 1);
  g_assert_no_error (queued.error);
  g_assert_no_error (inside.error);
  g_assert_cmpstr (dal_result_get_string (inside.result, 0, 0, NULL), ==, "inside");
  g_assert_cmpuint (first.seq, <, queued.seq);
  g_assert_cmpuint (queued.seq, <, inside.seq);
  call_clear (&first);
  call_clear (&queued);
  call_clear (&inside);
}

static guint poll_returns;
static GPollFunc default_poll;

static gint
counting_poll (GPollFD *fds, guint n, gint timeout)
{
  gint r = default_poll (fds, n, timeout);
  poll_returns++;
  return r;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Wake-ups of @context over one second of idleness (the second's own
 * timer is one). */
static guint
idle_wakeups (GMainContext *context)
{
  gboolean over = FALSE;
  GSource *t = g_timeout_source_new (1000);
  g_source_set_callback (t, set_flag, &over, NULL);
  g_source_attach (t, context);
  g_source_unref (t);
  while (g_main_context_iteration (context, FALSE))
    ;
  poll_returns = 0;
  while (!over)
    g_main_context_iteration (context, TRUE);
  return poll_returns;
}

static void
test_idle_costs_nothing (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  GMainContext *context = g_main_context_new ();
  default_poll = g_main_context_get_poll_func (context);
  g_main_context_set_poll_func (context, counting_poll);
  g_main_context_push_thread_default (context);
  {
    g_autofree char *url = dal_test_url ("postgresql+asyncpg", "command_timeout=0.2");
    g_autoptr (DalConnection) conn = open_url (url);
    Call c = { 0 }, slow = { 0 };
    dal_connection_query_async (conn, "SELECT 1", NULL, NULL, call_done, &c);
    wait_call (&c, 5 * time_scale);
    g_assert_no_error (c.error);
    guint n = idle_wakeups (context);
    g_test_message ("%u wake-ups in one idle second", n);
    g_assert_cmpuint (n, <=, 2);

    /* After a command timeout and its cancel request, idle again. */
    dal_connection_query_async (conn, "SELECT pg_sleep(2)", NULL, NULL, call_done, &slow);
    wait_call (&slow, 5 * time_scale);
    g_assert_error (slow.error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
    g_assert_false (dal_connection_is_closed (conn));
    /* One more round trip: by then the cancel request's own connection,
     * whose end is one wake-up, has long been closed by the server. */
    Call after = { 0 };
    dal_connection_query_async (conn, "SELECT 1", NULL, NULL, call_done, &after);
    wait_call (&after, 5 * time_scale);
    g_assert_no_error (after.error);
    call_clear (&after);
    n = idle_wakeups (context);
    g_test_message ("%u wake-ups in one idle second after a timeout", n);
    g_assert_cmpuint (n, <=, 2);
    call_clear (&c);
    call_clear (&slow);
  }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* A program that only makes blocking calls never iterates the home
 * context: timeouts and cancels must leave nothing queued there. */
static void
test_blocking_only_leaves_nothing (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  {
    g_autofree char *url = dal_test_url ("postgresql+asyncpg", "command_timeout=0.2");
    g_autoptr (DalConnection) conn = open_url (url);
    for (int i = 0; i < 3; i++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT pg_sleep(2)", NULL,
                                                        NULL, &error);
        g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
      }
    g_autofree char *v = query_value (conn, "SELECT 'still usable'");
    g_assert_cmpstr (v, ==, "still usable");
    g_assert_true (dal_connection_close (conn, NULL, NULL));
  }
  /* Nothing of the connection is queued for its context (the clean-up of
   * a cancel request used to wait there, keeping the connection alive). */
  g_assert_false (g_main_context_pending (context));
  g_assert_false (g_main_context_iteration (context, FALSE));
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* -- the statement cache -- */

/* Supabase's transaction pooler is recognised whatever the case of its
 * host name: the cache stays off and nothing is left on the server.  The
 * name resolves (fake resolver) to a proxy on 127.0.0.1:6543 in front of
 * the harness's server. */
#define POOLER_NAME "AWS-1-EU-WEST-1.POOLER.SUPABASE.COM"

static void
test_cache_off_behind_pooler_any_case (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  DalTestProxy *p = dal_test_proxy_new (6543, server_port (), 0, 0);
  if (p == NULL)
    {
      g_test_skip ("127.0.0.1:6543 is taken on this machine");
      return;
    }
  dal_test_resolver_add (POOLER_NAME, "127.0.0.1");
  g_autofree char *url = dal_test_url_full ("postgresql+asyncpg", dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"),
                                            POOLER_NAME ":6543", dal_test_env ("DAL_TEST_PG_DATABASE"),
                                            "sslmode=require&statement_cache_size=10");
  g_autoptr (DalConnection) conn = open_url (url);
  g_assert_cmpuint (dal_test_resolver_lookups (POOLER_NAME), >=, 1);
  g_autofree char *size = dal_connection_get_info (conn, "statement_cache_size");
  g_assert_cmpstr (size, ==, "0");
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *v = query_value (conn, "SELECT 'through the pooler'");
      g_assert_cmpstr (v, ==, "through the pooler");
    }
  g_autofree char *n = query_value (conn, "SELECT count(*) FROM pg_prepared_statements");
  g_assert_cmpstr (n, ==, "0");
  g_assert_true (dal_connection_close (conn, NULL, NULL));
  dal_test_proxy_free (p);
}

static void
exec_ok (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (dal_connection_execute (conn, sql, NULL, NULL, &error), >=, 0);
  g_assert_no_error (error);
}

/* ALTER TABLE changes a cached statement's result type: outside a
 * transaction the statement is prepared again and runs; inside one, the
 * error says what happened, and after ROLLBACK it runs again. */
static void
test_cache_stale_plan (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", "statement_cache_size=10");
  g_autoptr (DalConnection) conn = open_url (url);
  const char *select = "SELECT a FROM stale_t";

  exec_ok (conn, "CREATE TEMP TABLE stale_t (a int)");
  exec_ok (conn, "INSERT INTO stale_t VALUES (7)");
  g_autofree char *v1 = query_value (conn, select);
  g_assert_cmpstr (v1, ==, "7");
  exec_ok (conn, "ALTER TABLE stale_t ALTER a TYPE text");
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DalResult) r = dal_connection_query (conn, select, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (dal_result_get_column_type (r, 0), ==, DAL_COLUMN_TEXT);
    g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "7");
  }

  exec_ok (conn, "ALTER TABLE stale_t ALTER a TYPE bigint USING a::bigint");
  g_assert_true (dal_connection_begin (conn, NULL, NULL));
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DalResult) r = dal_connection_query (conn, select, NULL, NULL, &error);
    g_assert_null (r);
    g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
    g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "0A000");
    g_assert_nonnull (strstr (error->message, "roll back"));
    g_assert_true (dal_error_is_retryable (error));
  }
  g_assert_true (dal_connection_rollback (conn, NULL, NULL));
  g_autofree char *v2 = query_value (conn, select);
  g_assert_cmpstr (v2, ==, "7");
  /* And no statement is left behind beyond the cache's own. */
  g_autofree char *n = query_value (conn, "SELECT count(*) FROM pg_prepared_statements");
  g_assert_cmpint (atoi (n), <=, 10);
}

/* The server lost our statements (DEALLOCATE ALL, a pooler's DISCARD
 * ALL): one failure, then the whole cache starts afresh. */
static void
test_cache_cleared_on_26000 (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", "statement_cache_size=10");
  g_autoptr (DalConnection) conn = open_url (url);
  g_autofree char *a = query_value (conn, "SELECT 'a'");
  g_autofree char *b = query_value (conn, "SELECT 'b'");
  exec_ok (conn, "DEALLOCATE ALL");
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 'a'", NULL, NULL, &error);
    g_assert_error (error, DAL_ERROR, DAL_ERROR_PREPARED_STATEMENT);
  }
  /* The other cached statement is gone too: it is prepared afresh. */
  g_autofree char *b2 = query_value (conn, "SELECT 'b'");
  g_assert_cmpstr (b2, ==, "b");
  g_autofree char *a2 = query_value (conn, "SELECT 'a'");
  g_assert_cmpstr (a2, ==, "a");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Every name this program resolves goes to the fake resolver. */
  dal_test_resolver_install ();
  g_test_add_func ("/faults/silent-server/pgasync-async", test_silent_pgasync_async);
  g_test_add_func ("/faults/silent-server/pgasync-blocking", test_silent_pgasync_blocking);
  g_test_add_func ("/faults/silent-server/pgsync", test_silent_pgsync);
  g_test_add_data_func ("/faults/silent-server/cancel/pgasync", "postgresql+asyncpg",
                        test_silent_cancel);
  g_test_add_data_func ("/faults/silent-server/cancel/pgsync", "postgresql+psycopg2",
                        test_silent_cancel);
  g_test_add_func ("/faults/silent-server/cancel-async", test_silent_cancel_async);
  g_test_add_data_func ("/faults/stopped-backend/pgasync", "postgresql+asyncpg",
                        test_stopped_backend);
  g_test_add_data_func ("/faults/stopped-backend/pgsync", "postgresql+psycopg2",
                        test_stopped_backend);
  g_test_add_data_func ("/faults/terminated/pgasync", "postgresql+asyncpg", test_terminated);
  g_test_add_data_func ("/faults/terminated/pgsync", "postgresql+psycopg2", test_terminated);
  g_test_add_func ("/loop/no-reentrant-callbacks", test_no_reentrant_callbacks);
  g_test_add_func ("/loop/nested-loop-in-callback", test_nested_loop_in_callback);
  g_test_add_func ("/loop/idle-costs-no-wakeups", test_idle_costs_nothing);
  g_test_add_func ("/loop/blocking-only-leaves-nothing", test_blocking_only_leaves_nothing);
  g_test_add_func ("/cache/stale-plan", test_cache_stale_plan);
  g_test_add_func ("/cache/off-behind-pooler-any-case", test_cache_off_behind_pooler_any_case);
  g_test_add_func ("/cache/cleared-on-26000", test_cache_cleared_on_26000);
  return g_test_run ();
}
