/* test-pool-facade.c: what the connection facade gives the pool
 * (core/dal-private.h, "the connection facade, as the pool uses it") and
 * the plugin slots of ABI 1.2 behind it, against the harness's real
 * PostgreSQL, on both plugins:
 *   - a pgasync connection moved from one main context to another serves
 *     its async calls there (and only there);
 *   - check_idle notices a backend terminated while the connection was
 *     idle, without a round trip; a healthy connection passes;
 *   - the transaction status, the statement counter and the session
 *     tracking (dal-sql.c) follow what ran.
 * Plus, without a server: the same calls over the fake plugins of
 * tests/plugins (no ABI 1.2 slots, no pipelining; one built for ABI 1.0),
 * and dal_url_is_transaction_pooler().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dal-private.h"
#include "dal-test.h"

static const struct
{
  const char *plugin;
  const char *scheme;
} plugins[] = {
  { "pgasync", "postgresql+asyncpg" },
  { "pgsync", "postgresql+psycopg2" },
};

static DalConnection *
open_plugin (const char *scheme)
{
  g_autofree char *url = dal_test_url (scheme, NULL);
  GError *error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  return conn;
}

static void
run (DalConnection *conn, const char *sql)
{
  GError *error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
}

/* -- dal_url_is_transaction_pooler (no server) -- */

static void
test_transaction_pooler (void)
{
  static const struct
  {
    const char *url;
    gboolean pooler;
  } cases[] = {
    { "postgresql://u@h/db?pooler_mode=transaction", TRUE },
    { "postgresql://u@h/db?pooler_mode=session", FALSE },
    { "postgresql://u@h/db", FALSE },
    { "postgresql://u@aws-0-eu-west-1.pooler.supabase.com:6543/postgres", TRUE },
    { "postgresql://u@AWS-0-EU-WEST-1.Pooler.Supabase.COM.:6543/postgres", TRUE },
    { "postgresql://u@aws-0-eu-west-1.pooler.supabase.com:5432/postgres", FALSE },
    { "postgresql://u@aws-0-eu-west-1.pooler.supabase.com/postgres", FALSE },
    { "postgresql://u@xpooler.supabase.com:6543/postgres", FALSE },
    { "postgresql://u@db.abc.supabase.co:6543/postgres", FALSE },
    { "postgresql://u@h1:5432,aws-0-x.pooler.supabase.com:6543/postgres", TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GError *error = NULL;
      g_autoptr (DalUrl) url = dal_url_parse (cases[i].url, &error);
      g_assert_no_error (error);
      if (dal_url_is_transaction_pooler (url) != cases[i].pooler)
        g_error ("%s: expected %d", cases[i].url, cases[i].pooler);
    }
}

/* -- the fake plugins (no server) -- */

static DalRegistry *fake_registry;

static DalConnection *
open_fake (const char *scheme)
{
  g_autofree char *text = g_strdup_printf ("%s://tester:pw@localhost/db", scheme);
  GError *error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);
  DalConnection *conn = dal_connection_open_url (fake_registry, url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

typedef struct
{
  gboolean done;
  GMainContext *ran_on;   /* the thread-default context of the callback */
  DalResult *result;
  DalConnection *conn;
  GError *error;
} Call;

static void
on_query (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *call = user_data;
  call->ran_on = g_main_context_get_thread_default ();
  call->result = dal_connection_query_finish (DAL_CONNECTION (source), res, &call->error);
  call->done = TRUE;
}

static void
wait_query_async (DalConnection *conn, const char *sql)
{
  Call call = { 0 };
  dal_connection_query_async (conn, sql, NULL, NULL, on_query, &call);
  dal_test_wait_for (&call.done, 5000);
  g_assert_no_error (call.error);
  dal_result_unref (call.result);
}

static void
try_query (DalConnection *conn, const char *sql)
{
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, NULL);
}

static void
test_fake (gconstpointer data)
{
  const char *scheme = data;
  gboolean async = g_str_has_suffix (scheme, "+async");
  gboolean has_info = !g_str_has_prefix (scheme, "old+");
  g_autoptr (DalConnection) conn = open_fake (scheme);

  g_assert_true (_dal_connection_is_context_bound (conn) == async);
  g_assert_false (_dal_connection_pipelines (conn));  /* no CAP_PIPELINE */
  GMainContext *other = g_main_context_new ();
  g_assert_false (_dal_connection_set_context (conn, other));  /* no slot */
  g_main_context_unref (other);
  g_assert_true (_dal_connection_check_idle (conn));           /* no slot */

  /* Every statement counted once, whichever path runs it (an async-only
   * plugin's blocking call goes through its async slot). */
  GError *error = NULL;
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 0);
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==,
                   has_info ? DAL_TX_IDLE : DAL_TX_UNKNOWN);
  try_query (conn, "echo a");
  wait_query_async (conn, "echo b");
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==,
                   has_info ? DAL_TX_INTRANS : DAL_TX_UNKNOWN);
  try_query (conn, "fail");
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==,
                   has_info ? DAL_TX_INERROR : DAL_TX_UNKNOWN);
  g_assert_true (dal_connection_rollback (conn, NULL, &error));
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==,
                   has_info ? DAL_TX_IDLE : DAL_TX_UNKNOWN);
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 5);
  if (has_info)
    {
      g_autofree char *ran = dal_connection_get_info (conn, "statements");
      g_assert_cmpstr (ran, ==, "5");
    }

  /* Tracking sees the text, whatever the plugin makes of it. */
  _dal_connection_track_session (conn, TRUE);
  try_query (conn, "echo x");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_CLEAN);
  try_query (conn, "LISTEN x");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_RESETTABLE);
  try_query (conn, "DISCARD ALL");
  try_query (conn, "SET x = 1");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_REPLACE);
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 9);

  /* Without a check_idle slot, a lost connection still fails the check
   * (the plugin's is_lost, or the error that said so). */
  try_query (conn, "lose");
  g_assert_false (_dal_connection_check_idle (conn));
  g_assert_true (dal_connection_is_closed (conn));

  dal_connection_close (conn, NULL, NULL);
  g_assert_false (_dal_connection_check_idle (conn));
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_UNKNOWN);
}

/* -- moving a pgasync connection to another main context -- */

static void
on_open (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *call = user_data;
  call->ran_on = g_main_context_get_thread_default ();
  call->conn = dal_connection_open_finish (res, &call->error);
  call->done = TRUE;
}

static void
test_set_context (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  GMainContext *a = g_main_context_new ();
  GMainContext *b = g_main_context_new ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);

  /* Opened on A. */
  g_main_context_push_thread_default (a);
  Call opened = { 0 };
  dal_connection_open_async (url, NULL, on_open, &opened);
  dal_test_wait_for (&opened.done, 10000);
  g_assert_no_error (opened.error);
  DalConnection *conn = opened.conn;
  g_assert_true (_dal_connection_is_context_bound (conn));
  g_assert_true (_dal_connection_pipelines (conn));

  /* Not while a statement is in flight. */
  Call busy = { 0 };
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, on_query, &busy);
  g_assert_false (_dal_connection_set_context (conn, b));
  dal_test_wait_for (&busy.done, 5000);
  g_assert_no_error (busy.error);
  g_assert_true (busy.ran_on == a);
  g_clear_pointer (&busy.result, dal_result_unref);
  g_main_context_pop_thread_default (a);

  /* Moved to B (from outside either context, as the pool does). */
  g_assert_true (_dal_connection_set_context (conn, b));
  g_assert_true (_dal_connection_set_context (conn, b));  /* already there */

  /* Only B is iterated: if the socket or completion source had stayed on
   * A, the call would never complete. */
  g_main_context_push_thread_default (b);
  for (guint i = 0; i < 3; i++)
    {
      Call call = { 0 };
      dal_connection_query_async (conn, "SELECT pg_backend_pid(), 42", NULL, NULL,
                                  on_query, &call);
      dal_test_wait_for (&call.done, 5000);
      g_assert_no_error (call.error);
      g_assert_true (call.ran_on == b);
      g_assert_cmpstr (dal_result_get_string (call.result, 0, 1, NULL), ==, "42");
      dal_result_unref (call.result);
    }
  /* A has nothing left of the connection to dispatch. */
  g_assert_false (g_main_context_iteration (a, FALSE));
  /* Blocking calls still work after the move. */
  run (conn, "SELECT 1");
  g_main_context_pop_thread_default (b);

  /* And back to A. */
  g_assert_true (_dal_connection_set_context (conn, a));
  g_main_context_push_thread_default (a);
  Call back = { 0 };
  dal_connection_query_async (conn, "SELECT 2", NULL, NULL, on_query, &back);
  dal_test_wait_for (&back.done, 5000);
  g_assert_no_error (back.error);
  g_assert_true (back.ran_on == a);
  g_clear_pointer (&back.result, dal_result_unref);
  g_assert_false (g_main_context_iteration (b, FALSE));

  g_object_unref (conn);
  g_main_context_pop_thread_default (a);
  /* Nothing of the connection is left on either context. */
  while (g_main_context_iteration (a, FALSE))
    ;
  while (g_main_context_iteration (b, FALSE))
    ;
  g_main_context_unref (a);
  g_main_context_unref (b);
}

/* pgsync is served by the worker: no context to move, no pipelining. */
static void
test_worker_plugin (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_plugin ("postgresql+psycopg2");
  g_assert_false (_dal_connection_is_context_bound (conn));
  g_assert_false (_dal_connection_pipelines (conn));
  GMainContext *other = g_main_context_new ();
  g_assert_false (_dal_connection_set_context (conn, other));
  g_main_context_unref (other);
  run (conn, "SELECT 1");
}

/* -- check_idle -- */

static int
backend_pid (DalConnection *conn)
{
  g_autofree char *pid = dal_connection_get_info (conn, "backend_pid");
  g_assert_nonnull (pid);
  return atoi (pid);
}

static void
test_check_idle (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_plugin (scheme);
  run (conn, "SELECT 1");
  g_assert_true (_dal_connection_check_idle (conn));
  g_assert_true (_dal_connection_check_idle (conn));
  g_assert_false (dal_connection_is_closed (conn));
  run (conn, "SELECT 1");  /* the check took nothing that was not its own */

  /* pg_terminate_backend with a timeout returns once the backend is gone:
   * its farewell and the end of the stream are in our socket by then. */
  g_autofree char *sql = g_strdup_printf ("SELECT pg_terminate_backend(%d, 5000)::text",
                                          backend_pid (conn));
  g_autofree char *ok = dal_test_admin_query (sql);
  g_assert_cmpstr (ok, ==, "true");

  g_assert_false (_dal_connection_check_idle (conn));
  g_assert_true (dal_connection_is_closed (conn));
  g_assert_false (_dal_connection_check_idle (conn));

  /* What a statement gets from then on says why, without a round trip. */
  GError *error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_test_message ("%s: %s", scheme, error->message);
  g_assert_nonnull (strstr (error->message, "administrator command"));
  g_error_free (error);
}

/* A session of its own ended from the server's side while idle, seen by
 * check_idle while another connection is healthy. */
static void
test_check_idle_healthy (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) doomed = open_plugin (scheme);
  g_autoptr (DalConnection) healthy = open_plugin (scheme);
  /* A notification waiting in the socket is no reason to give up. */
  run (healthy, "LISTEN facade_test");
  g_autofree char *sql = g_strdup_printf ("SELECT pg_terminate_backend(%d, 5000)::text",
                                          backend_pid (doomed));
  g_autofree char *ok = dal_test_admin_query (sql);
  g_assert_cmpstr (ok, ==, "true");
  g_autofree char *notified = dal_test_admin_query (
    "SELECT pg_notify('facade_test', 'x')::text");
  (void) notified;

  g_assert_false (_dal_connection_check_idle (doomed));
  g_assert_true (dal_connection_is_closed (doomed));
  g_assert_true (_dal_connection_check_idle (healthy));
  g_assert_false (dal_connection_is_closed (healthy));
  run (healthy, "SELECT 1");
}

/* -- transaction status -- */

static void
test_tx_status (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_plugin (scheme);
  GError *error = NULL;
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_IDLE);
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_INTRANS);
  g_autoptr (DalResult) bad = dal_connection_query (conn, "SELECT 1/0", NULL, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_INERROR);
  g_assert_true (dal_connection_rollback (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_IDLE);
  run (conn, "BEGIN");
  run (conn, "SELECT 1");
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_INTRANS);
  run (conn, "COMMIT");
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_IDLE);

  dal_connection_close (conn, NULL, NULL);
  g_assert_cmpint (_dal_connection_get_tx_status (conn), ==, DAL_TX_UNKNOWN);
}

/* -- statement counter and session tracking -- */

static void
on_transaction (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *call = user_data;
  g_assert_true (dal_connection_rollback_finish (DAL_CONNECTION (source), res,
                                                 &call->error));
  call->done = TRUE;
}

static void
test_n_statements (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_plugin (scheme);
  GError *error = NULL;
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 0);
  run (conn, "SELECT 1");
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 1);
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_cmpint (dal_connection_execute (conn, "SELECT 1", NULL, NULL, &error), ==, 1);
  g_assert_true (dal_connection_commit (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 4);
  wait_query_async (conn, "SELECT 2");
  Call rb = { 0 };
  dal_connection_rollback_async (conn, NULL, on_transaction, &rb);
  dal_test_wait_for (&rb.done, 5000);
  g_assert_no_error (rb.error);
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 6);

  /* A failed statement was started: it counts. */
  g_autoptr (DalResult) bad = dal_connection_query (conn, "SELECT 1/0", NULL, NULL, &error);
  g_assert_null (bad);
  g_clear_error (&error);
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 7);

  /* One cancelled before it started never reached the plugin. */
  g_autoptr (GCancellable) cancelled = g_cancellable_new ();
  g_cancellable_cancel (cancelled);
  g_autoptr (DalResult) none = dal_connection_query (conn, "SELECT 1", NULL, cancelled,
                                                     &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (_dal_connection_get_n_statements (conn), ==, 7);
}

static void
test_track_session (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_plugin (scheme);

  /* Off until turned on. */
  run (conn, "SET search_path = public");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_CLEAN);

  _dal_connection_track_session (conn, TRUE);
  run (conn, "SELECT 1");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_CLEAN);
  run (conn, "SET search_path = public");
  run (conn, "SELECT 1");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_RESETTABLE);
  /* Taken means cleared. */
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_CLEAN);

  /* The async path, the largest effect kept. */
  wait_query_async (conn, "PREPARE facade_p AS SELECT 1");
  wait_query_async (conn, "LISTEN facade_chan");
  wait_query_async (conn, "SET LOCAL work_mem = '1MB'");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_REPLACE);

  /* BEGIN / COMMIT and SET LOCAL leave nothing. */
  GError *error = NULL;
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  run (conn, "SET LOCAL search_path = public");
  g_assert_true (dal_connection_commit (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_CLEAN);

  _dal_connection_track_session (conn, FALSE);
  run (conn, "LISTEN facade_chan2");
  g_assert_cmpint (_dal_connection_take_session_effect (conn), ==, DAL_SESSION_CLEAN);
}

/* What a pool does to a connection it lends and gets back: tracking on
 * while lent, the effect and whether a statement may have opened a
 * transaction given back once, the borrower's signal handlers gone. */
static void
note_notification (DalConnection *conn, const char *channel, const char *payload,
                   gint pid, gpointer data)
{
  (*(guint *) data)++;
}

static void
note_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
note_notice (DalConnection *conn, const char *severity, const char *sqlstate,
             const char *message, const char *detail, const char *hint, gpointer data)
{
  (*(guint *) data)++;
}

static void
test_lend (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_plugin (scheme);
  gboolean in_tx = TRUE;

  _dal_connection_lend (conn, NULL, FALSE);
  run (conn, "SELECT 1");
  wait_query_async (conn, "SELECT 2");
  g_assert_cmpint (_dal_connection_give_back (conn, &in_tx), ==, DAL_SESSION_CLEAN);
  g_assert_false (in_tx);

  _dal_connection_lend (conn, NULL, FALSE);
  run (conn, "SET search_path = public");
  run (conn, "/* x */ begin");
  run (conn, "SELECT 1");
  g_assert_cmpint (_dal_connection_give_back (conn, &in_tx), ==, DAL_SESSION_RESETTABLE);
  g_assert_true (in_tx);
  run (conn, "ROLLBACK");

  /* Not lent: nothing recorded; lent again: nothing left of before. */
  run (conn, "START TRANSACTION");
  run (conn, "ROLLBACK");
  _dal_connection_lend (conn, NULL, FALSE);
  g_assert_cmpint (_dal_connection_give_back (conn, &in_tx), ==, DAL_SESSION_CLEAN);
  g_assert_false (in_tx);

  run (conn, "BEGIN");
  _dal_connection_lend (conn, NULL, FALSE);
  wait_query_async (conn, "COMMIT AND CHAIN");
  g_assert_cmpint (_dal_connection_give_back (conn, &in_tx), ==, DAL_SESSION_CLEAN);
  g_assert_true (in_tx);
  run (conn, "ROLLBACK");

  /* The borrower's handlers go when it is given back; others are not
   * touched (a "notify" handler stays). */
  guint seen = 0;
  _dal_connection_lend (conn, NULL, FALSE);
  gulong id = g_signal_connect (conn, "notification", G_CALLBACK (note_notification),
                                &seen);
  g_assert_true (g_signal_handler_is_connected (conn, id));
  _dal_connection_give_back (conn, &in_tx);
  g_assert_false (g_signal_handler_is_connected (conn, id));

  _dal_connection_lend (conn, NULL, FALSE);
  gulong notify_id = g_signal_connect (conn, "notify", G_CALLBACK (note_notify), &seen);
  id = g_signal_connect (conn, "notification", G_CALLBACK (note_notification), &seen);
  gulong id2 = g_signal_connect (conn, "notice", G_CALLBACK (note_notice), &seen);
  g_signal_handler_block (conn, id);
  _dal_connection_give_back (conn, &in_tx);
  g_assert_false (g_signal_handler_is_connected (conn, id));
  g_assert_false (g_signal_handler_is_connected (conn, id2));
  g_assert_true (g_signal_handler_is_connected (conn, notify_id));
  g_signal_handler_disconnect (conn, notify_id);
  g_assert_cmpuint (seen, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/facade/url/transaction-pooler", test_transaction_pooler);

  /* The test plugins, in a registry of their own. */
  const char *dir = dal_test_env ("DAL_TEST_PLUGINS");
  fake_registry = dal_registry_new ((const char *[]) { dir, NULL }, FALSE);
  g_test_add_data_func ("/facade/fake/sync", "test+sync", test_fake);
  g_test_add_data_func ("/facade/fake/async", "test+async", test_fake);
  g_test_add_data_func ("/facade/fake/abi-1.0", "old+sync", test_fake);
  g_test_add_func ("/facade/pgasync/set-context", test_set_context);
  g_test_add_func ("/facade/pgsync/worker", test_worker_plugin);
  for (guint i = 0; i < G_N_ELEMENTS (plugins); i++)
    {
      struct
      {
        const char *name;
        GTestDataFunc func;
      } tests[] = {
        { "check-idle", test_check_idle },
        { "check-idle-healthy", test_check_idle_healthy },
        { "tx-status", test_tx_status },
        { "n-statements", test_n_statements },
        { "track-session", test_track_session },
        { "lend", test_lend },
      };
      for (guint j = 0; j < G_N_ELEMENTS (tests); j++)
        {
          g_autofree char *path = g_strdup_printf ("/facade/%s/%s", plugins[i].plugin,
                                                   tests[j].name);
          g_test_add_data_func (path, plugins[i].scheme, tests[j].func);
        }
    }
  int rc = g_test_run ();
  dal_registry_free (fake_registry);
  return rc;
}
