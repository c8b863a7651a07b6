/* test-connection.c: DalConnection (core/dal-connection.c, dal-params.c,
 * dal-result.c) over the fake plugins of tests/plugins/.
 *
 * Every test body runs twice, once per fake plugin (its scheme is the test
 * data): "test+sync" has blocking slots only (the core serves async calls
 * from a worker thread), "test+async" async slots only (the core serves
 * blocking calls on a private main context).  The fake SQL language is
 * described in tests/plugins/fake-db.h.
 *
 * Every async callback here checks that it does not run inside the _async
 * call that started it (ASYNC wraps each call) and that it runs on the
 * thread that started it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "dal-private.h"
#include "dal-test.h"

static DalRegistry *registry;
static char *password;         /* random, per run */
static char *main_thread_id;   /* "%p" of the main thread, as the fake prints it */

/* Set around every _async call: a callback must never see it set. */
static gboolean in_async_call;
#define ASYNC(call) \
  G_STMT_START { in_async_call = TRUE; call; in_async_call = FALSE; } G_STMT_END

#define WAIT_MS 10000   /* generous: valgrind is slow */

#define assert_contains(haystack, needle) \
  G_STMT_START { \
    const char *h__ = (haystack), *n__ = (needle); \
    if (h__ == NULL || n__ == NULL || strstr (h__, n__) == NULL) \
      g_error ("%s:%d: \"%s\" does not contain \"%s\"", __FILE__, __LINE__, \
               h__ ? h__ : "(null)", n__ ? n__ : "(null)"); \
  } G_STMT_END

#define assert_not_contains(haystack, needle) \
  G_STMT_START { \
    const char *h__ = (haystack), *n__ = (needle); \
    if (h__ != NULL && strstr (h__, n__) != NULL) \
      g_error ("%s:%d: \"%s\" contains \"%s\"", __FILE__, __LINE__, h__, n__); \
  } G_STMT_END

static gboolean
is_async_plugin (const char *scheme)
{
  return strcmp (scheme, "test+async") == 0;
}

static char *
thread_id (void)
{
  return g_strdup_printf ("%p", (void *) g_thread_self ());
}

static DalUrl *
make_url_user (const char *scheme, const char *user, const char *database)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("%s://%s:%s@localhost/%s", scheme, user,
                                           password, database);
  DalUrl *url = dal_url_parse (text, &error);
  g_assert_no_error (error);
  return url;
}

static DalUrl *
make_url (const char *scheme, const char *database)
{
  return make_url_user (scheme, "tester", database);
}

static DalConnection *
open_conn_user (const char *scheme, const char *user)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = make_url_user (scheme, user, "db");
  DalConnection *conn = dal_connection_open_url (registry, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  return conn;
}

static DalConnection *
open_conn (const char *scheme)
{
  return open_conn_user (scheme, "tester");
}

/* A user name of its own for the connections of one test, so that their
 * closing can be counted apart from other tests' connections (whose last
 * reference a worker thread may drop a moment after their test ended). */
static char *
unique_user (void)
{
  static guint n;
  return g_strdup_printf ("user%u", ++n);
}

/* The one value a one-row statement ("count", "closed", ...) returns. */
static gint64
query_int (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
  gint64 v = dal_result_get_int64 (r, 0, 0, &error);
  g_assert_no_error (error);
  return v;
}

/* Waits until @probe's module has closed @expected connections of @user
 * (the last reference to a connection may be dropped by a worker thread a
 * moment after the callback ran), and a little longer to see that no more
 * are closed. */
static void
assert_closed_count (DalConnection *probe, const char *user, gint64 expected)
{
  g_autofree char *sql = g_strdup_printf ("closed %s", user);
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (WAIT_MS) * 1000;
  gint64 n;
  while ((n = query_int (probe, sql)) < expected && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpint (n, ==, expected);
  for (int i = 0; i < 10; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpint (query_int (probe, sql), ==, expected);
}

/* -- waiting for async calls -- */

/* Iterates the thread-default context until *@count reaches @n. */
static void
wait_for_count (const guint *count, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (*count < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (*count, ==, n);
}

typedef struct
{
  gboolean done;
  guint calls;
  GAsyncResult *result;
  GThread *thread;       /* where the callback must run */
  gint64 started;        /* monotonic time of the call */
  gint64 finished;
} Wait;

static void
wait_init (Wait *w)
{
  memset (w, 0, sizeof *w);
  w->thread = g_thread_self ();
  w->started = g_get_monotonic_time ();
}

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;
  g_assert_false (in_async_call);
  g_assert_true (g_thread_self () == w->thread);
  w->calls++;
  g_assert_cmpuint (w->calls, ==, 1);
  w->result = g_object_ref (result);
  w->finished = g_get_monotonic_time ();
  w->done = TRUE;
}

static GAsyncResult *
wait_result (Wait *w)
{
  dal_test_wait_for (&w->done, WAIT_MS);
  return w->result;
}

static void
wait_clear (Wait *w)
{
  g_clear_object (&w->result);
}

static gint64
elapsed_ms (const Wait *w)
{
  return (w->finished - w->started) / 1000;
}

/* The bound for "gave up at once, long before the 2 s that the slow open
 * and \"sleep 2000\" take": 1 s, scaled for a loaded machine
 * (dal_test_scaled_ms()) but kept under those 2 s, where it would prove
 * nothing. */
static gint64
quick_ms (void)
{
  return MIN (dal_test_scaled_ms (1000), 1900);
}

/* Opens @scheme asynchronously. */
static DalConnection *
open_conn_async (const char *scheme, const char *user)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = make_url_user (scheme, user, "db");
  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_open_url_async (registry, url, NULL, wait_cb, &w));
  DalConnection *conn = dal_connection_open_url_finish (wait_result (&w), &error);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  wait_clear (&w);
  return conn;
}

/* Cancels @cancellable from another thread after @ms. */
typedef struct
{
  GCancellable *cancellable;
  guint ms;
} CancelLater;

static gpointer
cancel_later_thread (gpointer data)
{
  CancelLater *c = data;
  g_usleep (c->ms * 1000);
  g_cancellable_cancel (c->cancellable);
  g_object_unref (c->cancellable);
  g_free (c);
  return NULL;
}

static GThread *
cancel_later (GCancellable *cancellable, guint ms)
{
  CancelLater *c = g_new0 (CancelLater, 1);
  c->cancellable = g_object_ref (cancellable);
  c->ms = ms;
  return g_thread_new ("cancel-later", cancel_later_thread, c);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* -- opening -- */

static void
test_open (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (GError) error = NULL;

  /* Blocking, through a chosen registry. */
  g_autoptr (DalUrl) url = make_url (scheme, "db");
  g_autoptr (DalConnection) conn = dal_connection_open_url (registry, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (DAL_IS_CONNECTION (conn));
  g_assert_cmpstr (dal_connection_get_plugin_name (conn), ==,
                   is_async_plugin (scheme) ? "fakeasync" : "fakesync");
  g_assert_true (dal_connection_get_url (conn) == url);
  g_assert_false (dal_connection_is_closed (conn));
  g_autofree char *user = dal_connection_get_info (conn, "user");
  g_assert_cmpstr (user, ==, "tester");
  g_assert_null (dal_connection_get_info (conn, "no-such-key"));

  /* Blocking, from text, through the default registry. */
  g_autofree char *text = dal_url_to_string (url);
  g_autoptr (DalConnection) conn2 = dal_connection_open (text, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_connection_get_plugin_name (conn2), ==,
                   dal_connection_get_plugin_name (conn));
  g_assert_cmpstr (dal_url_get_password (dal_connection_get_url (conn2)), ==, password);

  /* Async, both ways. */
  g_autoptr (DalConnection) conn3 = open_conn_async (scheme, "tester");
  g_assert_cmpstr (dal_connection_get_plugin_name (conn3), ==,
                   dal_connection_get_plugin_name (conn));
  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_open_async (text, NULL, wait_cb, &w));
  g_autoptr (DalConnection) conn4 = dal_connection_open_finish (wait_result (&w), &error);
  g_assert_no_error (error);
  g_assert_nonnull (conn4);
  wait_clear (&w);

  /* Four connections, each its own. */
  gint64 n1 = query_int (conn, "count");
  gint64 n3 = query_int (conn3, "count");
  g_assert_cmpint (n1, ==, 1);
  g_assert_cmpint (n3, ==, 1);
  g_assert_cmpint (query_int (conn, "count"), ==, 2);
}

static void
test_open_errors (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (GError) error = NULL;
  Wait w;

  /* The plugin's connect errors reach the caller, password scrubbed. */
  g_autoptr (DalUrl) refuse = make_url (scheme, "refuse");
  g_assert_null (dal_connection_open_url (registry, refuse, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_REFUSED);
  g_assert_true (dal_error_is_retryable (error));
  g_clear_error (&error);

  g_autoptr (DalUrl) leak = make_url (scheme, "leak");
  g_assert_null (dal_connection_open_url (registry, leak, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_AUTH_FAILED);
  g_test_message ("%s", error->message);
  assert_not_contains (error->message, password);
  assert_contains (error->message, "****");
  assert_not_contains (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), password);
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), ==, "****");
  g_clear_error (&error);

  wait_init (&w);
  ASYNC (dal_connection_open_url_async (registry, leak, NULL, wait_cb, &w));
  g_assert_null (dal_connection_open_url_finish (wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_AUTH_FAILED);
  assert_not_contains (error->message, password);
  assert_not_contains (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), password);
  g_clear_error (&error);
  wait_clear (&w);

  /* Errors found before the plugin runs complete outside the call too. */
  g_autoptr (DalUrl) unknown = NULL;
  unknown = dal_url_parse ("test+nosuch://localhost/db", &error);
  g_assert_no_error (error);
  wait_init (&w);
  ASYNC (dal_connection_open_url_async (registry, unknown, NULL, wait_cb, &w));
  g_assert_null (dal_connection_open_url_finish (wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_clear_error (&error);
  wait_clear (&w);

  wait_init (&w);
  ASYNC (dal_connection_open_async ("test+sync:/missing-slashes", NULL, wait_cb, &w));
  g_assert_null (dal_connection_open_finish (wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_MALFORMED);
  g_clear_error (&error);
  wait_clear (&w);
}

static void
test_open_cancel (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) slow = make_url (scheme, "slow");  /* takes 2 s */
  Wait w;

  /* Cancelled before. */
  g_autoptr (GCancellable) before = g_cancellable_new ();
  g_cancellable_cancel (before);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_null (dal_connection_open_url (registry, slow, before, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, quick_ms () * 1000);
  g_clear_error (&error);

  wait_init (&w);
  ASYNC (dal_connection_open_url_async (registry, slow, before, wait_cb, &w));
  g_assert_null (dal_connection_open_url_finish (wait_result (&w), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (elapsed_ms (&w), <, quick_ms ());
  g_clear_error (&error);
  wait_clear (&w);

  /* Cancelled while connecting, blocking (from another thread). */
  g_autoptr (GCancellable) during = g_cancellable_new ();
  GThread *canceller = cancel_later (during, 50);
  t0 = g_get_monotonic_time ();
  g_assert_null (dal_connection_open_url (registry, slow, during, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, quick_ms () * 1000);
  g_clear_error (&error);
  g_thread_join (canceller);

  /* ... and async. */
  g_autoptr (GCancellable) during2 = g_cancellable_new ();
  wait_init (&w);
  ASYNC (dal_connection_open_url_async (registry, slow, during2, wait_cb, &w));
  g_timeout_add (50, cancel_cb, during2);
  g_assert_null (dal_connection_open_url_finish (wait_result (&w), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (elapsed_ms (&w), <, quick_ms ());
  g_clear_error (&error);
  wait_clear (&w);
}

/* -- statements -- */

static void
check_rows_result (DalResult *r, guint n)
{
  static const struct
  {
    const char *name;
    DalColumnType type;
    const char *type_name;
  } columns[] = {
    { "i", DAL_COLUMN_INT32, "int4" },
    { "big", DAL_COLUMN_INT64, "int8" },
    { "f", DAL_COLUMN_FLOAT64, "float8" },
    { "b", DAL_COLUMN_BOOLEAN, "bool" },
    { "t", DAL_COLUMN_TEXT, "text" },
    { "bin", DAL_COLUMN_BYTES, "bytea" },
    { "num", DAL_COLUMN_NUMERIC, "numeric" },
  };

  g_assert_cmpuint (dal_result_get_n_rows (r), ==, n);
  g_assert_cmpuint (dal_result_get_n_columns (r), ==, G_N_ELEMENTS (columns));
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    {
      g_assert_cmpstr (dal_result_get_column_name (r, c), ==, columns[c].name);
      g_assert_cmpint (dal_result_get_column_type (r, c), ==, columns[c].type);
      g_assert_cmpstr (dal_result_get_column_type_name (r, c), ==, columns[c].type_name);
      g_assert_cmpint (dal_result_get_column_index (r, columns[c].name), ==, c);
    }
  g_assert_cmpint (dal_result_get_column_index (r, "nosuch"), ==, -1);
  g_assert_cmpint (dal_result_get_column_index (r, "I"), ==, -1);  /* exact */
  g_assert_cmpint (dal_result_get_affected_rows (r), ==, n);
  g_autofree char *tag = g_strdup_printf ("SELECT %u", n);
  g_assert_cmpstr (dal_result_get_command_tag (r), ==, tag);
}

static void
test_query (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  Wait w;

  /* Blocking. */
  g_autoptr (DalResult) r = dal_connection_query (conn, "rows 5", NULL, NULL, &error);
  g_assert_no_error (error);
  check_rows_result (r, 5);
  g_clear_pointer (&r, dal_result_unref);

  r = dal_connection_query (conn, "echo", g_variant_new ("(si)", "a", 7), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 2);
  g_assert_cmpstr (dal_result_get_string (r, 0, 1, NULL), ==, "a");
  g_assert_cmpstr (dal_result_get_string (r, 1, 1, NULL), ==, "7");
  g_clear_pointer (&r, dal_result_unref);

  /* A result outlives its connection. */
  r = dal_connection_query (conn, "rows 3", NULL, NULL, &error);
  g_assert_no_error (error);

  gint64 n = g_random_int_range (1, 1000000);
  g_autofree char *affected = g_strdup_printf ("affected %" G_GINT64_FORMAT, n);
  g_assert_cmpint (dal_connection_execute (conn, affected, NULL, NULL, &error), ==, n);
  g_assert_no_error (error);
  /* No count reported: 0 (the result itself says -1). */
  g_assert_cmpint (dal_connection_execute (conn, "BEGIN", NULL, NULL, &error), ==, 0);
  g_assert_no_error (error);
  g_autoptr (DalResult) tag_only = dal_connection_query (conn, "ROLLBACK", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_affected_rows (tag_only), ==, -1);
  g_assert_cmpstr (dal_result_get_command_tag (tag_only), ==, "ROLLBACK");
  g_assert_cmpuint (dal_result_get_n_rows (tag_only), ==, 0);
  g_assert_cmpuint (dal_result_get_n_columns (tag_only), ==, 0);
  g_assert_cmpint (dal_result_get_column_index (tag_only, "i"), ==, -1);

  /* An error: -1. */
  g_assert_cmpint (dal_connection_execute (conn, "fail", NULL, NULL, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_clear_error (&error);

  /* Async. */
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "rows 4", NULL, NULL, wait_cb, &w));
  g_autoptr (DalResult) ra = dal_connection_query_finish (conn, wait_result (&w), &error);
  g_assert_no_error (error);
  check_rows_result (ra, 4);
  wait_clear (&w);

  wait_init (&w);
  ASYNC (dal_connection_execute_async (conn, affected, NULL, NULL, wait_cb, &w));
  g_assert_cmpint (dal_connection_execute_finish (conn, wait_result (&w), &error), ==, n);
  g_assert_no_error (error);
  wait_clear (&w);

  wait_init (&w);
  ASYNC (dal_connection_execute_async (conn, "fail", NULL, NULL, wait_cb, &w));
  g_assert_cmpint (dal_connection_execute_finish (conn, wait_result (&w), &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_clear_error (&error);
  wait_clear (&w);

  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "syntax error here", NULL, NULL, wait_cb, &w));
  g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42601");
  g_clear_error (&error);
  wait_clear (&w);

  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&conn);
  check_rows_result (r, 3);
  g_assert_cmpstr (dal_result_get_string (r, 1, 4, NULL), ==, "row 1");
}

static void
test_transactions (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  Wait w;

  /* Blocking. */
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *status = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (status, ==, "intrans");
  g_assert_true (dal_connection_commit (conn, NULL, &error));
  g_assert_no_error (error);
  g_free (status);
  status = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (status, ==, "idle");
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_true (dal_connection_rollback (conn, NULL, &error));
  g_assert_no_error (error);

  /* COMMIT of a failed transaction answers ROLLBACK: an error. */
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_null (dal_connection_query (conn, "fail", NULL, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_clear_error (&error);
  g_free (status);
  status = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (status, ==, "inerror");
  g_assert_false (dal_connection_commit (conn, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "25P02");
  assert_contains (error->message, "COMMIT");
  g_assert_nonnull (dal_error_get_hint (error));
  g_clear_error (&error);
  /* ... and the transaction is over. */
  g_free (status);
  status = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (status, ==, "idle");

  /* A ROLLBACK of a failed transaction is what was asked for. */
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_null (dal_connection_query (conn, "fail", NULL, NULL, &error));
  g_clear_error (&error);
  g_assert_true (dal_connection_rollback (conn, NULL, &error));
  g_assert_no_error (error);

  /* Async: begin, a failure, commit. */
  Wait wb, wf, wc;
  wait_init (&wb);
  wait_init (&wf);
  wait_init (&wc);
  ASYNC (dal_connection_begin_async (conn, NULL, wait_cb, &wb));
  ASYNC (dal_connection_query_async (conn, "fail", NULL, NULL, wait_cb, &wf));
  ASYNC (dal_connection_commit_async (conn, NULL, wait_cb, &wc));
  g_assert_true (dal_connection_begin_finish (conn, wait_result (&wb), &error));
  g_assert_no_error (error);
  g_assert_null (dal_connection_query_finish (conn, wait_result (&wf), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_clear_error (&error);
  g_assert_false (dal_connection_commit_finish (conn, wait_result (&wc), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "25P02");
  g_clear_error (&error);
  wait_clear (&wb);
  wait_clear (&wf);
  wait_clear (&wc);

  /* Async: begin, commit, and rollback outside a transaction. */
  wait_init (&wb);
  wait_init (&wc);
  wait_init (&w);
  ASYNC (dal_connection_begin_async (conn, NULL, wait_cb, &wb));
  ASYNC (dal_connection_commit_async (conn, NULL, wait_cb, &wc));
  ASYNC (dal_connection_rollback_async (conn, NULL, wait_cb, &w));
  g_assert_true (dal_connection_begin_finish (conn, wait_result (&wb), &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_commit_finish (conn, wait_result (&wc), &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_rollback_finish (conn, wait_result (&w), &error));
  g_assert_no_error (error);
  wait_clear (&wb);
  wait_clear (&wc);
  wait_clear (&w);
}

/* -- parameters -- */

typedef struct
{
  GVariant *value;        /* one parameter */
  const char *type;       /* expected DalParamType name */
  char *text;             /* expected value (NULL: SQL NULL) */
  gsize length;
} ParamCase;

static void
add_case (GPtrArray *cases, GVariant *value, const char *type, const char *text,
          gssize length)
{
  ParamCase *c = g_new0 (ParamCase, 1);
  c->value = g_variant_ref_sink (value);
  c->type = type;
  c->length = text == NULL ? 0 : length >= 0 ? (gsize) length : strlen (text);
  if (text != NULL)
    {
      /* @length bytes, then a NUL of our own (raw bytes may have none). */
      c->text = g_malloc0 (c->length + 1);
      memcpy (c->text, text, c->length);
    }
  g_ptr_array_add (cases, c);
}

static void
param_case_free (gpointer data)
{
  ParamCase *c = data;
  g_variant_unref (c->value);
  g_free (c->text);
  g_free (c);
}

#define ADD_PRINTF(cases, value, type, fmt, v) \
  G_STMT_START { \
    g_autofree char *t__ = g_strdup_printf (fmt, v); \
    add_case (cases, value, type, t__, -1); \
  } G_STMT_END

static GPtrArray *
param_cases (void)
{
  GPtrArray *cases = g_ptr_array_new_with_free_func (param_case_free);
  gint32 r32 = (gint32) g_random_int ();
  gint64 r64 = (gint64) (((guint64) g_random_int () << 32) | g_random_int ());

  add_case (cases, g_variant_new_boolean (TRUE), "boolean", "t", -1);
  add_case (cases, g_variant_new_boolean (FALSE), "boolean", "f", -1);
  ADD_PRINTF (cases, g_variant_new_byte (200), "int16", "%d", 200);
  ADD_PRINTF (cases, g_variant_new_int16 (G_MININT16), "int16", "%d", G_MININT16);
  ADD_PRINTF (cases, g_variant_new_uint16 (G_MAXUINT16), "int32", "%u", G_MAXUINT16);
  ADD_PRINTF (cases, g_variant_new_int32 (G_MININT32), "int32", "%d", G_MININT32);
  ADD_PRINTF (cases, g_variant_new_int32 (r32), "int32", "%d", r32);
  ADD_PRINTF (cases, g_variant_new_uint32 (G_MAXUINT32), "int64", "%u", G_MAXUINT32);
  ADD_PRINTF (cases, g_variant_new_int64 (G_MININT64), "int64", "%" G_GINT64_FORMAT, G_MININT64);
  ADD_PRINTF (cases, g_variant_new_int64 (r64), "int64", "%" G_GINT64_FORMAT, r64);
  ADD_PRINTF (cases, g_variant_new_uint64 (G_MAXINT64), "int64", "%" G_GUINT64_FORMAT,
              (guint64) G_MAXINT64);
  /* Beyond int64: NUMERIC. */
  ADD_PRINTF (cases, g_variant_new_uint64 ((guint64) G_MAXINT64 + 1), "numeric",
              "%" G_GUINT64_FORMAT, (guint64) G_MAXINT64 + 1);
  ADD_PRINTF (cases, g_variant_new_uint64 (G_MAXUINT64), "numeric", "%" G_GUINT64_FORMAT,
              G_MAXUINT64);
  /* Doubles: checked by round trip below; specials by name. */
  add_case (cases, g_variant_new_double (NAN), "double", "NaN", -1);
  add_case (cases, g_variant_new_double (INFINITY), "double", "Infinity", -1);
  add_case (cases, g_variant_new_double (-INFINITY), "double", "-Infinity", -1);
  /* Text of every kind; "length" counts bytes. */
  add_case (cases, g_variant_new_string ("h\xc3\xa9llo"), "text", "h\xc3\xa9llo", -1);
  add_case (cases, g_variant_new_string (""), "text", "", -1);
  add_case (cases, g_variant_new_object_path ("/org/example/x"), "text", "/org/example/x", -1);
  add_case (cases, g_variant_new_signature ("a{sv}"), "text", "a{sv}", -1);
  /* Bytes, with NULs inside and at the end, and none. */
  static const char raw[] = { 'a', '\0', 'b', '\0', (char) 0xff };
  add_case (cases, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, raw, sizeof raw, 1),
            "bytes", raw, sizeof raw);
  /* (a bytestring keeps its terminating NUL) */
  add_case (cases, g_variant_new_bytestring ("x"), "bytes", "x", 2);
  add_case (cases, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, NULL, 0, 1), "bytes", "", 0);
  /* Variants are unwrapped, nested ones too. */
  add_case (cases, g_variant_new_variant (g_variant_new_int32 (7)), "int32", "7", -1);
  add_case (cases, g_variant_new_variant (g_variant_new_variant (g_variant_new_string ("deep"))),
            "text", "deep", -1);
  /* Maybe types: Nothing is NULL, Just is the value. */
  add_case (cases, g_variant_new_maybe (G_VARIANT_TYPE_INT32, NULL), "null", NULL, 0);
  add_case (cases, g_variant_new_maybe (G_VARIANT_TYPE_STRING, NULL), "null", NULL, 0);
  add_case (cases, g_variant_new_maybe (G_VARIANT_TYPE_BYTESTRING, NULL), "null", NULL, 0);
  add_case (cases, g_variant_new_maybe (NULL, g_variant_new_int64 (5)), "int64", "5", -1);
  add_case (cases, g_variant_new_maybe (NULL, g_variant_new_string ("just")), "text", "just", -1);
  add_case (cases, g_variant_new_variant (g_variant_new_maybe (G_VARIANT_TYPE_DOUBLE, NULL)),
            "null", NULL, 0);
  add_case (cases, g_variant_new_maybe (NULL, g_variant_new_maybe (G_VARIANT_TYPE_BOOLEAN, NULL)),
            "null", NULL, 0);
  return cases;
}

/* The doubles that must round-trip exactly through their text. */
static const double doubles[] = { 0.1, -1e300, 5e-324, 1.0 / 3.0, -0.0, 123456789.125,
                                  G_MAXDOUBLE };

static void
check_echo_row (DalResult *r, guint row, const ParamCase *c)
{
  g_autoptr (GError) error = NULL;
  g_test_message ("parameter %u: %s", row + 1, g_variant_get_type_string (c->value));
  g_assert_cmpstr (dal_result_get_string (r, row, 0, NULL), ==, c->type);
  gsize len = 12345;
  const char *v = dal_result_get_string (r, row, 1, &len);
  if (c->text == NULL)
    {
      g_assert_null (v);
      g_assert_true (dal_result_is_null (r, row, 1));
      g_assert_cmpuint (len, ==, 0);
    }
  else
    {
      g_assert_nonnull (v);
      g_assert_false (dal_result_is_null (r, row, 1));
      g_assert_cmpmem (v, len, c->text, c->length);
    }
  g_assert_cmpint (dal_result_get_int (r, row, 2, &error), ==, (gint) c->length);
  g_assert_no_error (error);
}

/* dal_connection_query_texts: text in, NULL for SQL NULL, and the
 * caller's strings may go as soon as the call returns. */
static void
test_params_texts (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;

  for (int pass = 0; pass < 2; pass++)
    {
      char *owned[3] = { g_strdup ("42"), NULL, g_strdup ("it's \"quoted\"") };
      g_autoptr (DalResult) r = NULL;
      Wait w;
      if (pass == 0)
        r = dal_connection_query_texts (conn, "echo", 3, (const char * const *) owned,
                                        NULL, &error);
      else
        {
          wait_init (&w);
          ASYNC (dal_connection_query_texts_async (conn, "echo", 3,
                                                   (const char * const *) owned,
                                                   NULL, wait_cb, &w));
        }
      /* Scribble over the caller's copies before the async call completes. */
      for (guint i = 0; i < 3; i++)
        if (owned[i] != NULL)
          {
            memset (owned[i], 'X', strlen (owned[i]));
            g_free (owned[i]);
          }
      if (pass == 1)
        {
          r = dal_connection_query_texts_finish (conn, wait_result (&w), &error);
          wait_clear (&w);
        }
      g_assert_no_error (error);
      g_assert_cmpuint (dal_result_get_n_rows (r), ==, 3);
      g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "text");
      g_assert_cmpstr (dal_result_get_string (r, 0, 1, NULL), ==, "42");
      g_assert_cmpstr (dal_result_get_string (r, 1, 0, NULL), ==, "null");
      g_assert_null (dal_result_get_string (r, 1, 1, NULL));
      g_assert_cmpstr (dal_result_get_string (r, 2, 1, NULL), ==, "it's \"quoted\"");
    }

  /* No parameters at all. */
  g_autoptr (DalResult) none = dal_connection_query_texts (conn, "echo", 0, NULL,
                                                           NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (none), ==, 0);
}

static void
test_params (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) cases = param_cases ();

  /* All at once, as a tuple (blocking and async). */
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_TUPLE);
  for (guint i = 0; i < cases->len; i++)
    g_variant_builder_add_value (&b, ((ParamCase *) cases->pdata[i])->value);
  for (guint d = 0; d < G_N_ELEMENTS (doubles); d++)
    g_variant_builder_add_value (&b, g_variant_new_double (doubles[d]));
  g_autoptr (GVariant) tuple = g_variant_ref_sink (g_variant_builder_end (&b));

  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr (DalResult) r = NULL;
      if (pass == 0)
        r = dal_connection_query (conn, "echo", tuple, NULL, &error);
      else
        {
          Wait w;
          wait_init (&w);
          ASYNC (dal_connection_query_async (conn, "echo", tuple, NULL, wait_cb, &w));
          r = dal_connection_query_finish (conn, wait_result (&w), &error);
          wait_clear (&w);
        }
      g_assert_no_error (error);
      g_assert_cmpuint (dal_result_get_n_rows (r), ==, cases->len + G_N_ELEMENTS (doubles));
      for (guint i = 0; i < cases->len; i++)
        check_echo_row (r, i, cases->pdata[i]);
      for (guint d = 0; d < G_N_ELEMENTS (doubles); d++)
        {
          guint row = cases->len + d;
          g_assert_cmpstr (dal_result_get_string (r, row, 0, NULL), ==, "double");
          const char *text = dal_result_get_string (r, row, 1, NULL);
          g_test_message ("double %.17g: \"%s\"", doubles[d], text);
          double back = g_ascii_strtod (text, NULL);
          g_assert_cmpmem (&back, sizeof back, &doubles[d], sizeof doubles[d]);
        }
    }
  /* The specials read back as doubles (PostgreSQL's spelling is strtod's). */
  g_autoptr (DalResult) specials = dal_connection_query (
    conn, "echo", g_variant_new ("(ddd)", NAN, INFINITY, -INFINITY), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (dal_result_get_double (specials, 0, 1, &error)));
  g_assert_cmpfloat (dal_result_get_double (specials, 1, 1, &error), ==, INFINITY);
  g_assert_cmpfloat (dal_result_get_double (specials, 2, 1, &error), ==, -INFINITY);
  g_assert_no_error (error);

  /* Booleans as text. */
  static const struct
  {
    const char *text;
    int value;   /* -1: a mismatch */
  } booleans[] = {
    { "t", 1 }, { "true", 1 }, { "TRUE", 1 }, { "1", 1 },
    { "f", 0 }, { "false", 0 }, { "False", 0 }, { "0", 0 },
    { "yes", -1 }, { "", -1 }, { "tru", -1 }, { "10", -1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (booleans); i++)
    {
      g_autoptr (DalResult) br = dal_connection_query (conn, "echo",
                                                      g_variant_new_string (booleans[i].text),
                                                      NULL, &error);
      g_assert_no_error (error);
      gboolean v = dal_result_get_boolean (br, 0, 1, &error);
      if (booleans[i].value < 0)
        {
          g_assert_error (error, DAL_ERROR, DAL_ERROR_TYPE_MISMATCH);
          g_assert_false (v);
          g_clear_error (&error);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpint (v, ==, booleans[i].value);
        }
    }

  /* Integers at and beyond the limits. */
  g_autofree char *max64 = g_strdup_printf ("%" G_GINT64_FORMAT, G_MAXINT64);
  g_autofree char *min64 = g_strdup_printf ("%" G_GINT64_FORMAT, G_MININT64);
  g_autoptr (DalResult) ints = dal_connection_query (
    conn, "echo", g_variant_new ("(sssss)", max64, min64, "9223372036854775808",
                                 "2147483648", "-2147483648"), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_int64 (ints, 0, 1, &error), ==, G_MAXINT64);
  g_assert_cmpint (dal_result_get_int64 (ints, 1, 1, &error), ==, G_MININT64);
  g_assert_cmpint (dal_result_get_int (ints, 4, 1, &error), ==, G_MININT32);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_int64 (ints, 2, 1, &error), ==, 0);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TYPE_MISMATCH);
  g_clear_error (&error);
  g_assert_cmpint (dal_result_get_int (ints, 3, 1, &error), ==, 0);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TYPE_MISMATCH);
  assert_contains (error->message, "\"value\"");
  assert_contains (error->message, "row 3");
  g_clear_error (&error);

  /* A tuple we hold a reference to is not consumed. */
  g_assert_true (g_variant_is_of_type (tuple, G_VARIANT_TYPE_TUPLE));

  /* One value without a tuple is one parameter. */
  for (guint i = 0; i < cases->len; i++)
    {
      const ParamCase *c = cases->pdata[i];
      g_autoptr (DalResult) r = dal_connection_query (conn, "echo", c->value, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
      check_echo_row (r, 0, c);
    }

  /* No parameters: NULL and the empty tuple. */
  g_autoptr (DalResult) none = dal_connection_query (conn, "echo", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (none), ==, 0);
  g_autoptr (DalResult) empty = dal_connection_query (conn, "echo", g_variant_new ("()"),
                                                      NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (empty), ==, 0);

  /* A floating reference is consumed (valgrind checks it is not leaked). */
  g_autoptr (DalResult) floating = dal_connection_query (
    conn, "echo", g_variant_new ("(sms)", "x", NULL), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (floating, 1, 0, NULL), ==, "null");
}

static void
test_params_invalid (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  gint64 before = query_int (conn, "count");

  /* Types libdal cannot send, as GVariant text: the value, and one
   * parameter of that type (a tuple holding it). */
  static const struct
  {
    const char *type;
    const char *value;
    const char *single;
  } bad[] = {
    { "as", "['a', 'b']", "['a']" },
    { "a{sv}", "{'k': <1>}", "@a{sv} {}" },
    { "(ii)", "(1, 2)", "((1, 2),)" },
    { "aay", "[b'x']", "@aay []" },
    { "ai", "[1, 2]", "@ai []" },
    { "h", "handle 3", "handle 0" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) perror = NULL;
      g_autoptr (GVariant) value = g_variant_parse (G_VARIANT_TYPE (bad[i].type),
                                                    bad[i].value, NULL, NULL, &perror);
      g_assert_no_error (perror);
      /* As the 2nd parameter of a tuple, after a valid one. */
      g_autoptr (GVariant) params = g_variant_ref_sink (
        g_variant_new_tuple ((GVariant *[]) { g_variant_new_int32 (1), value }, 2));

      g_assert_null (dal_connection_query (conn, "echo", params, NULL, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
      g_test_message ("%s", error->message);
      assert_contains (error->message, "$2");
      g_autofree char *quoted = g_strdup_printf ("\"%s\"", bad[i].type);
      assert_contains (error->message, quoted);
      g_clear_error (&error);

      Wait w;
      wait_init (&w);
      ASYNC (dal_connection_query_async (conn, "echo", params, NULL, wait_cb, &w));
      g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
      g_clear_error (&error);
      wait_clear (&w);

      /* One floating parameter: consumed even on error (valgrind). */
      g_assert_cmpint (dal_connection_execute (conn, "echo",
                                               g_variant_new_parsed (bad[i].single),
                                               NULL, &error), ==, -1);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
      assert_contains (error->message, "$1");
      g_clear_error (&error);
    }
  /* None of them reached the plugin. */
  g_assert_cmpint (query_int (conn, "count"), ==, before + 1);
}

/* -- typed getters -- */

static void
check_getters (DalResult *r)
{
  guint n = dal_result_get_n_rows (r);
  g_assert_cmpuint (n, >=, 4);
  for (guint row = 0; row < n; row++)
    {
      g_autoptr (GError) error = NULL;
      g_test_message ("row %u", row);

      if (row % 3 == 2)
        {
          /* SQL NULL: zero values, no error. */
          for (guint c = 0; c < dal_result_get_n_columns (r); c++)
            {
              gsize len = 99;
              g_assert_true (dal_result_is_null (r, row, c));
              g_assert_null (dal_result_get_string (r, row, c, &len));
              g_assert_cmpuint (len, ==, 0);
              g_assert_cmpint (dal_result_get_int (r, row, c, &error), ==, 0);
              g_assert_cmpint (dal_result_get_int64 (r, row, c, &error), ==, 0);
              g_assert_cmpfloat (dal_result_get_double (r, row, c, &error), ==, 0.0);
              g_assert_false (dal_result_get_boolean (r, row, c, &error));
              g_assert_null (dal_result_get_bytes (r, row, c, &error));
              g_assert_no_error (error);
            }
          continue;
        }

      for (guint c = 0; c < dal_result_get_n_columns (r); c++)
        g_assert_false (dal_result_is_null (r, row, c));

      g_assert_cmpint (dal_result_get_int (r, row, 0, &error), ==, (gint) row);
      g_assert_cmpint (dal_result_get_int64 (r, row, 0, &error), ==, row);
      g_assert_cmpfloat (dal_result_get_double (r, row, 0, &error), ==, row);
      gint64 big = (gint64) row * G_GINT64_CONSTANT (3000000000);
      g_assert_cmpint (dal_result_get_int64 (r, row, 1, &error), ==, big);
      g_assert_cmpfloat (dal_result_get_double (r, row, 2, &error), ==, row + 0.25);
      g_assert_cmpint (dal_result_get_boolean (r, row, 3, &error), ==, row % 2 == 0);
      g_autofree char *text = g_strdup_printf ("row %u", row);
      gsize len = 0;
      g_assert_cmpstr (dal_result_get_string (r, row, 4, &len), ==, text);
      g_assert_cmpuint (len, ==, strlen (text));
      g_assert_no_error (error);

      /* bytea arrives in hex and is decoded. */
      const guint8 expected_bytes[] = { row & 0xff, 0, 0xff, (row ^ 0x5a) & 0xff };
      g_autoptr (GBytes) bytes = dal_result_get_bytes (r, row, 5, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       expected_bytes, sizeof expected_bytes);
      g_assert_true (g_str_has_prefix (dal_result_get_string (r, row, 5, NULL), "\\x"));
      /* Other columns' bytes are their text. */
      g_autoptr (GBytes) text_bytes = dal_result_get_bytes (r, row, 4, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (text_bytes, NULL), g_bytes_get_size (text_bytes),
                       text, strlen (text));

      /* numeric reads as text and as a double. */
      g_autofree char *num = g_strdup_printf ("%u12345678901234567890.5", row + 1);
      g_assert_cmpstr (dal_result_get_string (r, row, 6, NULL), ==, num);
      g_assert_cmpfloat_with_epsilon (dal_result_get_double (r, row, 6, &error),
                                      g_ascii_strtod (num, NULL), 1e6);
      g_assert_no_error (error);

      /* Mismatches name the column and the row, and give 0. */
      struct
      {
        guint column;
        int getter;   /* 0 int, 1 int64, 2 double, 3 boolean */
      } mismatches[] = {
        { 4, 0 }, { 4, 1 }, { 4, 2 }, { 4, 3 },
        { 6, 1 },          /* a decimal point is not an integer */
        { 2, 0 },          /* nor is 0.25 */
        { 0, 3 },          /* an integer other than 0/1 is not a boolean */
        { 1, 0 },          /* beyond 32 bits (from row 1 on) */
        { 5, 1 },          /* bytea */
      };
      for (guint m = 0; m < G_N_ELEMENTS (mismatches); m++)
        {
          guint c = mismatches[m].column;
          if (c == 1 && row == 0)
            continue;   /* 0 fits */
          if (c == 0 && mismatches[m].getter == 3 && row <= 1)
            continue;   /* 0 and 1 are booleans */
          gboolean zero = FALSE;
          switch (mismatches[m].getter)
            {
            case 0: zero = dal_result_get_int (r, row, c, &error) == 0; break;
            case 1: zero = dal_result_get_int64 (r, row, c, &error) == 0; break;
            case 2: zero = dal_result_get_double (r, row, c, &error) == 0.0; break;
            case 3: zero = !dal_result_get_boolean (r, row, c, &error); break;
            default: g_assert_not_reached ();
            }
          g_assert_true (zero);
          g_assert_error (error, DAL_ERROR, DAL_ERROR_TYPE_MISMATCH);
          g_autofree char *column = g_strdup_printf ("\"%s\"", dal_result_get_column_name (r, c));
          g_autofree char *where = g_strdup_printf ("row %u", row);
          assert_contains (error->message, column);
          assert_contains (error->message, where);
          assert_contains (error->message, dal_result_get_column_type_name (r, c));
          g_clear_error (&error);
        }
    }
}

static void
test_getters (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  guint n = 6 + g_random_int_range (0, 6);

  g_autofree char *sql = g_strdup_printf ("rows %u", n);
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, n);
  check_getters (r);

  /* References. */
  DalResult *again = dal_result_ref (r);
  g_assert_true (again == r);
  dal_result_unref (again);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, n);

  /* bytea's hex form: decoded in either case; anything else a mismatch. */
  static const struct
  {
    const char *text;
    const char *bytes;   /* NULL: a mismatch */
    gsize length;
  } hex[] = {
    { "\\x", "", 0 },
    { "\\x00", "\0", 1 },
    { "\\xDEADbeef", "\xde\xad\xbe\xef", 4 },
    { "\\xzz", NULL, 0 },
    { "\\x0", NULL, 0 },
    { "\\x0g", NULL, 0 },
    { "deadbeef", NULL, 0 },
    { "x", NULL, 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (hex); i++)
    {
      g_autofree char *bsql = g_strdup_printf ("bytea %s", hex[i].text);
      g_autoptr (DalResult) b = dal_connection_query (conn, bsql, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (dal_result_get_column_type (b, 0), ==, DAL_COLUMN_BYTES);
      g_assert_cmpstr (dal_result_get_string (b, 0, 0, NULL), ==, hex[i].text);
      g_autoptr (GBytes) bytes = dal_result_get_bytes (b, 0, 0, &error);
      g_test_message ("bytea %s", hex[i].text);
      if (hex[i].bytes == NULL)
        {
          g_assert_null (bytes);
          g_assert_error (error, DAL_ERROR, DAL_ERROR_TYPE_MISMATCH);
          assert_contains (error->message, "\"bin\"");
          g_clear_error (&error);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_nonnull (bytes);
          g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                           hex[i].bytes, hex[i].length);
        }
    }
}

/* -- the async contract -- */

/* Runs on another thread with its own main context: the callbacks run
 * there, and nothing is dispatched on the global default context. */
typedef struct
{
  DalConnection *conn;
  const char *scheme;
  char *callback_thread;
  char *ran_on;          /* what the fake says */
  gboolean done;
} OtherThread;

static void
other_thread_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  OtherThread *t = data;
  g_autoptr (GError) error = NULL;
  g_assert_false (in_async_call);
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  t->callback_thread = thread_id ();
  t->ran_on = g_strdup (dal_result_get_string (r, 0, 0, NULL));
  t->done = TRUE;
}

static gpointer
other_thread (gpointer data)
{
  OtherThread *t = data;
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  /* in_async_call belongs to the main thread's calls; this thread checks
   * with its own flag (the callback cannot run before the call returns,
   * since only this thread iterates the context). */
  dal_connection_query_async (t->conn, "thread", NULL, NULL, other_thread_cb, t);
  g_assert_false (t->done);
  dal_test_wait_for (&t->done, WAIT_MS);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return thread_id ();
}

static void
test_callback_context (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  OtherThread t = { conn, scheme, NULL, NULL, FALSE };

  while (g_main_context_iteration (NULL, FALSE))
    ;

  GThread *thread = g_thread_new ("other", other_thread, &t);
  g_autofree char *other_id = g_thread_join (thread);
  g_assert_true (t.done);
  g_assert_cmpstr (t.callback_thread, ==, other_id);
  if (is_async_plugin (scheme))
    g_assert_cmpstr (t.ran_on, ==, other_id);      /* on the caller's context */
  else
    {
      g_assert_cmpstr (t.ran_on, !=, other_id);    /* in the worker */
      g_assert_cmpstr (t.ran_on, !=, main_thread_id);
    }
  /* Nothing was left for the global default context. */
  g_assert_false (g_main_context_pending (NULL));
  g_free (t.callback_thread);
  g_free (t.ran_on);

  /* On this thread, with a pushed context: dispatched there, not on the
   * global default context. */
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "count", NULL, NULL, wait_cb, &w));
  gint64 until = g_get_monotonic_time () + 100 * 1000;
  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (g_main_context_default (), FALSE);
      g_usleep (1000);
    }
  g_assert_false (w.done);
  dal_test_wait_for (&w.done, WAIT_MS);   /* iterates the pushed context */
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (conn, w.result, &error);
  g_assert_no_error (error);
  wait_clear (&w);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

#define N_CONCURRENT 200

typedef struct
{
  DalConnection *conn;
  guint index;
  guint *calls;           /* [N_CONCURRENT] */
  GArray *order;          /* guint: indices in completion order */
  GError **errors;        /* [N_CONCURRENT] */
} Concurrent;

static void
concurrent_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Concurrent *c = data;
  g_assert_false (in_async_call);
  c->calls[c->index]++;
  g_array_append_val (c->order, c->index);
  GError *error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (c->conn, result, &error);
  if (r != NULL)
    {
      /* echo $1 = the index, and the statement count. */
      g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "int32");
      g_assert_cmpint (dal_result_get_int (r, 0, 1, &error), ==, (gint) c->index);
      g_assert_no_error (error);
    }
  c->errors[c->index] = error;
}

static void
test_exactly_once (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  guint calls[N_CONCURRENT] = { 0 };
  GError *errors[N_CONCURRENT] = { NULL };
  g_autoptr (GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));
  Concurrent *cs = g_new0 (Concurrent, N_CONCURRENT);

  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      cs[i] = (Concurrent) { conn, i, calls, order, errors };
      ASYNC (dal_connection_query_async (conn, "echo", g_variant_new ("(i)", (gint32) i),
                                         NULL, concurrent_cb, &cs[i]));
    }
  /* None completed inside its call; wait for all. */
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (WAIT_MS) * 1000;
  while (order->len < N_CONCURRENT && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (order->len, ==, N_CONCURRENT);

  /* Exactly once each, in submission order, all fine. */
  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      g_assert_cmpuint (calls[i], ==, 1);
      g_assert_cmpuint (g_array_index (order, guint, i), ==, i);
      g_assert_no_error (errors[i]);
    }
  /* Nothing more arrives later. */
  gint64 until = g_get_monotonic_time () + 50 * 1000;
  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_cmpuint (order->len, ==, N_CONCURRENT);
  g_free (cs);
}

/* 100 statements started at once run in order, one at a time; on the
 * worker path, never on the main thread. */
#define N_ORDERED 100

typedef struct
{
  guint index;
  guint *next;          /* the index expected next */
  gint64 count;
  gint max_concurrent;
  char *thread;
} Ordered;

static void
ordered_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Ordered *o = data;
  g_autoptr (GError) error = NULL;
  g_assert_false (in_async_call);
  g_assert_cmpuint (o->index, ==, *o->next);
  (*o->next)++;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  o->count = dal_result_get_int64 (r, 0, 0, &error);
  o->max_concurrent = dal_result_get_int (r, 0, 1, &error);
  g_assert_no_error (error);
  o->thread = g_strdup (dal_result_get_string (r, 0, 2, NULL));
}

static void
test_ordering (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  gint64 base = query_int (conn, "count");
  Ordered o[N_ORDERED];
  guint next = 0;

  for (guint i = 0; i < N_ORDERED; i++)
    {
      o[i] = (Ordered) { i, &next, 0, 0, NULL };
      /* A short sleep now and then keeps the line long. */
      if (i % 10 == 0)
        ASYNC (dal_connection_execute_async (conn, "sleep 5", NULL, NULL, NULL, NULL));
      ASYNC (dal_connection_query_async (conn, "state", NULL, NULL, ordered_cb, &o[i]));
    }
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (WAIT_MS) * 1000;
  while (next < N_ORDERED && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (next, ==, N_ORDERED);

  for (guint i = 0; i < N_ORDERED; i++)
    {
      /* "state" i ran after the i + 1 sleeps and i states before it. */
      g_assert_cmpint (o[i].count, ==, base + i + i / 10 + 1 + 1);
      g_assert_cmpint (o[i].max_concurrent, ==, 1);
      if (is_async_plugin (scheme))
        g_assert_cmpstr (o[i].thread, ==, main_thread_id);
      else
        g_assert_cmpstr (o[i].thread, !=, main_thread_id);
      g_free (o[i].thread);
    }
}

/* -- cancellation -- */

static void
test_cancel (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  Wait w;

  /* Cancelled before: async and blocking. */
  g_autoptr (GCancellable) before = g_cancellable_new ();
  g_cancellable_cancel (before);
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "sleep 2000", NULL, before, wait_cb, &w));
  g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (elapsed_ms (&w), <, quick_ms ());
  g_clear_error (&error);
  wait_clear (&w);

  gint64 t0 = g_get_monotonic_time ();
  g_assert_null (dal_connection_query (conn, "sleep 2000", NULL, before, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, quick_ms () * 1000);
  g_clear_error (&error);
  g_assert_false (dal_connection_begin (conn, before, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Cancelled while it runs: async ... */
  g_autoptr (GCancellable) during = g_cancellable_new ();
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "sleep 2000", NULL, during, wait_cb, &w));
  g_timeout_add (50, cancel_cb, during);
  g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (elapsed_ms (&w), <, quick_ms ());
  g_clear_error (&error);
  wait_clear (&w);

  /* ... and blocking (cancelled from another thread). */
  g_autoptr (GCancellable) during2 = g_cancellable_new ();
  GThread *canceller = cancel_later (during2, 50);
  t0 = g_get_monotonic_time ();
  g_assert_null (dal_connection_query (conn, "sleep 2000", NULL, during2, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, quick_ms () * 1000);
  g_clear_error (&error);
  g_thread_join (canceller);

  /* A statement waiting in line whose cancellable fires completes with
   * CANCELLED without running; the others are unaffected. */
  gint64 base = query_int (conn, "count");
  g_autoptr (GCancellable) queued = g_cancellable_new ();
  Wait w1, w2, w3;
  wait_init (&w1);
  wait_init (&w2);
  wait_init (&w3);
  ASYNC (dal_connection_query_async (conn, "sleep 200", NULL, NULL, wait_cb, &w1));
  ASYNC (dal_connection_query_async (conn, "count", NULL, queued, wait_cb, &w2));
  ASYNC (dal_connection_query_async (conn, "count", NULL, NULL, wait_cb, &w3));
  g_cancellable_cancel (queued);
  g_autoptr (DalResult) r1 = dal_connection_query_finish (conn, wait_result (&w1), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_command_tag (r1), ==, "SLEEP");
  g_assert_null (dal_connection_query_finish (conn, wait_result (&w2), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_autoptr (DalResult) r3 = dal_connection_query_finish (conn, wait_result (&w3), &error);
  g_assert_no_error (error);
  /* base: the count itself; then the sleep, then the 3rd (not the 2nd). */
  g_assert_cmpint (dal_result_get_int64 (r3, 0, 0, NULL), ==, base + 2);
  wait_clear (&w1);
  wait_clear (&w2);
  wait_clear (&w3);

  /* The connection is fine afterwards. */
  g_assert_cmpint (query_int (conn, "count"), ==, base + 3);
}

/* -- closing -- */

#define N_PENDING 5

typedef struct
{
  guint calls;
  GError *error;
  gboolean ok;
} Pending;

static void
pending_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Pending *p = data;
  g_assert_false (in_async_call);
  p->calls++;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                         &p->error);
  p->ok = r != NULL;
}

static void
check_pending_closed (Pending *p)
{
  /* Each exactly once; the one that was running may have its result, the
   * others waited in line and are CLOSED. */
  for (guint i = 0; i < N_PENDING; i++)
    {
      g_test_message ("pending %u: %s", i, p[i].ok ? "ok" : p[i].error->message);
      g_assert_cmpuint (p[i].calls, ==, 1);
      if (i == 0 && p[i].ok)
        continue;
      g_assert_false (p[i].ok);
      g_assert_error (p[i].error, DAL_ERROR, DAL_ERROR_CLOSED);
      g_clear_error (&p[i].error);
    }
}

static void
wait_pending (Pending *p)
{
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (WAIT_MS) * 1000;
  for (;;)
    {
      guint done = 0;
      for (guint i = 0; i < N_PENDING; i++)
        done += p[i].calls > 0;
      if (done == N_PENDING || g_get_monotonic_time () > deadline)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  /* Nothing completes twice, later. */
  gint64 until = g_get_monotonic_time () + 50 * 1000;
  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
test_close_pending (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) probe = open_conn (scheme);
  g_autofree char *user = unique_user ();

  /* Blocking close. */
  g_autoptr (DalConnection) conn = open_conn_user (scheme, user);
  Pending p[N_PENDING] = { { 0 } };
  ASYNC (dal_connection_query_async (conn, "sleep 500", NULL, NULL, pending_cb, &p[0]));
  for (guint i = 1; i < N_PENDING; i++)
    ASYNC (dal_connection_query_async (conn, i % 2 ? "count" : "echo", NULL, NULL,
                                       pending_cb, &p[i]));
  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_is_closed (conn));
  wait_pending (p);
  check_pending_closed (p);
  assert_closed_count (probe, user, 1);

  /* Async close. */
  g_autoptr (DalConnection) conn2 = open_conn_user (scheme, user);
  Pending q[N_PENDING] = { { 0 } };
  ASYNC (dal_connection_query_async (conn2, "sleep 500", NULL, NULL, pending_cb, &q[0]));
  for (guint i = 1; i < N_PENDING; i++)
    ASYNC (dal_connection_query_async (conn2, "count", NULL, NULL, pending_cb, &q[i]));
  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_close_async (conn2, NULL, wait_cb, &w));
  g_assert_true (dal_connection_is_closed (conn2));
  g_assert_true (dal_connection_close_finish (conn2, wait_result (&w), &error));
  g_assert_no_error (error);
  wait_clear (&w);
  wait_pending (q);
  check_pending_closed (q);
  assert_closed_count (probe, user, 2);
}

/* Closing from inside a statement's callback (ASYNC marks the close as a
 * call: pending_cb and wait_cb fail if they run inside it). */
typedef struct
{
  gboolean use_async;
  gboolean closed;
  Wait *w;
} Closer;

static void
close_from_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Closer *c = data;
  DalConnection *conn = DAL_CONNECTION (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (conn, result, &error);
  g_assert_no_error (error);
  if (c->use_async)
    ASYNC (dal_connection_close_async (conn, NULL, wait_cb, c->w));
  else
    {
      gboolean ok;
      ASYNC (ok = dal_connection_close (conn, NULL, &error));
      g_assert_true (ok);
      g_assert_no_error (error);
    }
  c->closed = TRUE;
}

static void
test_close_in_callback (gconstpointer data)
{
  const char *scheme = data;

  for (guint use_async = 0; use_async < 2; use_async++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalConnection) conn = open_conn (scheme);
      Pending p[N_PENDING] = { { 0 } };
      Wait w;
      wait_init (&w);
      Closer c = { use_async, FALSE, &w };
      ASYNC (dal_connection_query_async (conn, "count", NULL, NULL, close_from_cb, &c));
      /* Running when the close comes (worker path), or waiting behind. */
      ASYNC (dal_connection_query_async (conn, "sleep 300", NULL, NULL, pending_cb, &p[0]));
      for (guint i = 1; i < N_PENDING; i++)
        ASYNC (dal_connection_query_async (conn, i % 2 ? "count" : "echo", NULL, NULL,
                                           pending_cb, &p[i]));
      wait_pending (p);
      g_assert_true (c.closed);
      g_assert_true (dal_connection_is_closed (conn));
      check_pending_closed (p);
      if (use_async)
        {
          g_assert_true (dal_connection_close_finish (conn, wait_result (&w), &error));
          g_assert_no_error (error);
          g_assert_cmpuint (w.calls, ==, 1);
          wait_clear (&w);
        }
      else
        g_assert_cmpuint (w.calls, ==, 0);
    }
}

static void
test_after_close (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) probe = open_conn (scheme);
  g_autofree char *user = unique_user ();
  g_autoptr (DalConnection) conn = open_conn_user (scheme, user);
  Wait w;

  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_is_closed (conn));

  g_assert_null (dal_connection_query (conn, "count", NULL, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_assert_nonnull (dal_error_get_hint (error));
  g_clear_error (&error);
  g_assert_cmpint (dal_connection_execute (conn, "count", NULL, NULL, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (dal_connection_begin (conn, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_null (dal_connection_get_info (conn, "user"));

  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "count", g_variant_new ("(i)", 1), NULL,
                                     wait_cb, &w));
  g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_clear_error (&error);
  wait_clear (&w);

  wait_init (&w);
  ASYNC (dal_connection_commit_async (conn, NULL, wait_cb, &w));
  g_assert_false (dal_connection_commit_finish (conn, wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_clear_error (&error);
  wait_clear (&w);

  /* Closing again is harmless, blocking or async; the plugin closed it
   * once. */
  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);
  wait_init (&w);
  ASYNC (dal_connection_close_async (conn, NULL, wait_cb, &w));
  g_assert_true (dal_connection_close_finish (conn, wait_result (&w), &error));
  g_assert_no_error (error);
  wait_clear (&w);
  assert_closed_count (probe, user, 1);
  /* ... and dropping it closes nothing more. */
  g_clear_object (&conn);
  assert_closed_count (probe, user, 1);

  /* Closed async first, then blocking. */
  g_autoptr (DalConnection) conn2 = open_conn_user (scheme, user);
  wait_init (&w);
  ASYNC (dal_connection_close_async (conn2, NULL, wait_cb, &w));
  g_assert_true (dal_connection_close_finish (conn2, wait_result (&w), &error));
  g_assert_no_error (error);
  wait_clear (&w);
  g_assert_true (dal_connection_close (conn2, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&conn2);
  assert_closed_count (probe, user, 2);
}

static void
unref_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_command_tag (r), ==, "SLEEP");
  wait_cb (source, result, data);
}

static void
test_unref_closes (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) probe = open_conn (scheme);
  g_autofree char *user = unique_user ();
  g_autofree char *sql = g_strdup_printf ("closed %s", user);

  DalConnection *conn = open_conn_user (scheme, user);
  g_assert_cmpint (query_int (conn, "count"), ==, 1);
  g_object_unref (conn);
  g_assert_cmpint (query_int (probe, sql), ==, 1);   /* at once */

  /* With a statement in flight, the statement keeps it alive and
   * completes; then it closes. */
  conn = open_conn_user (scheme, user);
  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "sleep 50", NULL, NULL, unref_cb, &w));
  g_object_unref (conn);
  g_assert_cmpint (query_int (probe, sql), ==, 1);   /* not yet */
  wait_result (&w);
  wait_clear (&w);
  /* Once the task (and its reference) is gone. */
  assert_closed_count (probe, user, 2);

  /* An async-opened connection too. */
  conn = open_conn_async (scheme, user);
  g_object_unref (conn);
  assert_closed_count (probe, user, 3);
}

/* -- errors from the plugin -- */

static void
check_fail_error (const GError *error, const char *sql, const char *sqlstate,
                  gboolean retryable)
{
  g_assert_error ((GError *) error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, sqlstate);
  g_autofree char *detail = g_strdup_printf ("detail of %s", sql);
  g_autofree char *hint = g_strdup_printf ("server hint of %s", sql);
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), ==, detail);
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_HINT), ==, hint);
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_SEVERITY), ==, "ERROR");
  g_assert_cmpstr (dal_error_get_hint (error), ==, hint);
  g_assert_cmpint (dal_error_is_retryable (error), ==, retryable);
  assert_contains (error->message, sql);
}

static void
check_leak_error (const GError *error)
{
  g_assert_error ((GError *) error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_test_message ("%s", error->message);
  assert_not_contains (error->message, password);
  assert_contains (error->message, "****");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), ==, "detail: ****!");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_MESSAGE), ==, "****");
  g_assert_cmpstr (dal_error_get_hint (error), ==, "****");
}

static void
test_plugin_errors (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_autoptr (GError) error = NULL;
  Wait w;
  const struct
  {
    const char *sql;
    const char *sqlstate;
    gboolean retryable;
  } fails[] = {
    { "fail 40001", "40001", TRUE },
    { "fail 23505", "23505", FALSE },
    { "fail", "42P01", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (fails); i++)
    {
      g_assert_null (dal_connection_query (conn, fails[i].sql, NULL, NULL, &error));
      check_fail_error (error, fails[i].sql, fails[i].sqlstate, fails[i].retryable);
      g_clear_error (&error);

      wait_init (&w);
      ASYNC (dal_connection_query_async (conn, fails[i].sql, NULL, NULL, wait_cb, &w));
      g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
      check_fail_error (error, fails[i].sql, fails[i].sqlstate, fails[i].retryable);
      g_clear_error (&error);
      wait_clear (&w);
    }

  /* The password never reaches the caller. */
  g_assert_null (dal_connection_query (conn, "leak", NULL, NULL, &error));
  check_leak_error (error);
  g_clear_error (&error);
  g_assert_cmpint (dal_connection_execute (conn, "leak", NULL, NULL, &error), ==, -1);
  check_leak_error (error);
  g_clear_error (&error);
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn, "leak", NULL, NULL, wait_cb, &w));
  g_assert_null (dal_connection_query_finish (conn, wait_result (&w), &error));
  check_leak_error (error);
  g_clear_error (&error);
  wait_clear (&w);
  wait_init (&w);
  ASYNC (dal_connection_execute_async (conn, "leak", NULL, NULL, wait_cb, &w));
  g_assert_cmpint (dal_connection_execute_finish (conn, wait_result (&w), &error), ==, -1);
  check_leak_error (error);
  g_clear_error (&error);
  wait_clear (&w);

  /* Still usable. */
  g_assert_cmpint (query_int (conn, "count"), >, 0);
}

/* -- blocking calls among async ones -- */

typedef struct
{
  DalConnection *conn;
  gint64 outer;
  gint64 inner;
  gint64 after_commit;
  gboolean done;
} Nested;

static void
nested_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Nested *n = data;
  g_autoptr (GError) error = NULL;
  g_assert_false (in_async_call);
  g_autoptr (DalResult) r = dal_connection_query_finish (n->conn, result, &error);
  g_assert_no_error (error);
  n->outer = dal_result_get_int64 (r, 0, 0, NULL);

  /* A blocking call from inside a callback. */
  n->inner = query_int (n->conn, "count");
  g_assert_true (dal_connection_begin (n->conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_commit (n->conn, NULL, &error));
  g_assert_no_error (error);
  n->after_commit = query_int (n->conn, "count");
  n->done = TRUE;
}

static void
test_sync_in_callback (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  Nested n = { conn, 0, 0, 0, FALSE };

  ASYNC (dal_connection_query_async (conn, "count", NULL, NULL, nested_cb, &n));
  dal_test_wait_for (&n.done, WAIT_MS);
  g_assert_cmpint (n.outer, ==, 1);
  g_assert_cmpint (n.inner, ==, 2);
  g_assert_cmpint (n.after_commit, ==, 5);
}

typedef struct
{
  guint index;
  gint64 count;
  guint *completed;
} Queued;

static void
queued_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Queued *q = data;
  g_autoptr (GError) error = NULL;
  g_assert_false (in_async_call);
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  q->count = dal_result_get_int64 (r, 0, 0, NULL);
  g_assert_cmpuint (*q->completed, ==, q->index);
  (*q->completed)++;
}

#define N_QUEUED 20

static void
test_sync_waits_for_queue (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  gint64 base = query_int (conn, "count");
  Queued q[N_QUEUED];
  guint completed = 0;

  /* A sleep first, so that the line is still there when the blocking call
   * comes. */
  ASYNC (dal_connection_execute_async (conn, "sleep 100", NULL, NULL, NULL, NULL));
  for (guint i = 0; i < N_QUEUED; i++)
    {
      q[i] = (Queued) { i, 0, &completed };
      ASYNC (dal_connection_query_async (conn, "count", NULL, NULL, queued_cb, &q[i]));
    }

  if (is_async_plugin (scheme))
    {
      /* The async fake's sleep holds the connection until its timeout is
       * dispatched on this context, which a blocking call does not
       * iterate: the core refuses the blocking call at once instead of
       * waiting forever. */
      g_autoptr (GError) error = NULL;
      g_assert_null (dal_connection_query (conn, "count", NULL, NULL, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_BUSY);
      assert_contains (error->message, "async calls are pending");
      assert_contains (error->message, "_async");
      g_assert_cmpuint (completed, ==, 0);
      g_assert_false (dal_connection_is_closed (conn));

      /* Once they completed, blocking calls run again. */
      wait_for_count (&completed, N_QUEUED);
      gint64 mine = query_int (conn, "count");
      g_assert_cmpint (mine, ==, base + 1 + N_QUEUED + 1);
    }
  else
    {
      /* The blocking call runs after everything started before it. */
      gint64 t0 = g_get_monotonic_time ();
      gint64 mine = query_int (conn, "count");
      g_assert_cmpint (mine, ==, base + 1 + N_QUEUED + 1);
      g_assert_cmpint (g_get_monotonic_time () - t0, >=, 50 * 1000);  /* it waited */
    }

  wait_for_count (&completed, N_QUEUED);
  for (guint i = 0; i < N_QUEUED; i++)
    g_assert_cmpint (q[i].count, ==, base + 1 + i + 1);
}

/* -- lost connections -- */

static void
assert_lost_error (GError *error)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  assert_not_contains (error->message, password);
}

/* The plugin's is_lost slot: dal_connection_is_closed() says so before any
 * call failed ("lose quietly" succeeds). */
static void
test_lost_slot (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_conn (scheme);
  g_assert_false (dal_connection_is_closed (conn));

  g_autoptr (DalResult) r = dal_connection_query (conn, "lose quietly", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_command_tag (r), ==, "LOSE");
  g_assert_true (dal_connection_is_closed (conn));

  g_assert_null (dal_connection_query (conn, "count", NULL, NULL, &error));
  assert_lost_error (error);
  g_clear_error (&error);
  g_assert_true (dal_connection_is_closed (conn));
  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_is_closed (conn));
}

/* A plugin without the slot (oldfuncs, ABI 1.0): the facade notices the
 * DAL_ERROR_CONNECTION_LOST a call completes with, blocking or async. */
static void
test_lost_noticed (void)
{
  g_autoptr (GError) error = NULL;

  /* Blocking. */
  g_autoptr (DalConnection) conn = open_conn ("old+sync");
  g_autoptr (DalResult) r = dal_connection_query (conn, "lose quietly", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (dal_connection_is_closed (conn));  /* nobody can tell yet */
  g_assert_null (dal_connection_query (conn, "count", NULL, NULL, &error));
  assert_lost_error (error);
  g_clear_error (&error);
  g_assert_true (dal_connection_is_closed (conn));

  /* Async (the worker path). */
  g_autofree char *user = unique_user ();
  DalConnection *conn2 = open_conn_user ("old+sync", user);
  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_query_async (conn2, "lose", NULL, NULL, wait_cb, &w));
  g_assert_null (dal_connection_query_finish (conn2, wait_result (&w), &error));
  assert_lost_error (error);
  g_clear_error (&error);
  wait_clear (&w);
  g_assert_true (dal_connection_is_closed (conn2));
  /* The worker may drop the last reference a moment later: wait for the
   * module to close it (before the test's end unloads the module). */
  g_object_unref (conn2);
  g_autoptr (DalConnection) probe = open_conn ("old+sync");
  assert_closed_count (probe, user, 1);

  /* A statement that failed otherwise does not count. */
  g_autoptr (DalConnection) conn3 = open_conn ("old+sync");
  g_assert_null (dal_connection_query (conn3, "fail", NULL, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_clear_error (&error);
  g_assert_false (dal_connection_is_closed (conn3));
}

/* -- opening never blocks the caller -- */

typedef struct
{
  const char *path;
  gint fired;     /* atomic: the watchdog wrote the FIFO */
  GCancellable *stop;
} Watchdog;

/* Writes @text into the FIFO at @path (whose reader must come). */
static gboolean
feed_fifo (const char *path, const char *text, GCancellable *stop)
{
  int fd;
  /* Non-blocking until the reader is there, so that a reader that never
   * comes fails the test instead of hanging it. */
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while ((fd = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
    {
      g_assert_cmpint (errno, ==, ENXIO);
      if (g_get_monotonic_time () >= deadline || g_cancellable_is_cancelled (stop))
        return FALSE;
      g_usleep (1000);
    }
  g_assert_cmpint (fcntl (fd, F_SETFL, 0), ==, 0);
  gsize len = strlen (text);
  g_assert_cmpint (write (fd, text, len), ==, (gssize) len);
  close (fd);
  return TRUE;
}

/* If dal_connection_open_async() read the FIFO on the caller's thread, it
 * would never return: this unblocks it after WAIT_MS, and the test fails
 * on the flag. */
static gpointer
watchdog_thread (gpointer data)
{
  Watchdog *wd = data;
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (g_get_monotonic_time () < deadline && !g_cancellable_is_cancelled (wd->stop))
    g_usleep (1000);
  if (g_cancellable_is_cancelled (wd->stop))
    return NULL;
  g_atomic_int_set (&wd->fired, TRUE);
  feed_fifo (wd->path, "watchdog\n", NULL);
  return NULL;
}

/* The TLS preflight reads sslrootcert in a worker thread: with a FIFO
 * there, the _async call returns at once and completes only after the
 * test wrote the "CA" (not PEM: DAL_ERROR_TLS_CONFIG, no server needed). */
static void
test_open_async_reads_off_thread (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dal-fifo-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *fifo = g_build_filename (dir, "ca.pem", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  g_autofree char *text = g_strdup_printf (
    "postgresql+fake://tester:%s@localhost/db?sslmode=verify-full&sslrootcert=%s",
    password, fifo);
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);

  g_autoptr (GCancellable) stop = g_cancellable_new ();
  Watchdog wd = { fifo, FALSE, stop };
  GThread *watchdog = g_thread_new ("watchdog", watchdog_thread, &wd);

  Wait w;
  wait_init (&w);
  ASYNC (dal_connection_open_url_async (registry, url, NULL, wait_cb, &w));
  g_assert_false (g_atomic_int_get (&wd.fired));  /* it returned by itself */

  /* The worker is blocked on the FIFO: nothing completes until it gets
   * its data. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_false (w.done);
  g_assert_true (feed_fifo (fifo, "this is not a certificate\n", stop));
  g_assert_false (g_atomic_int_get (&wd.fired));
  g_cancellable_cancel (stop);
  g_thread_join (watchdog);

  g_assert_null (dal_connection_open_url_finish (wait_result (&w), &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  assert_contains (error->message, "sslrootcert");
  assert_not_contains (error->message, password);
  g_assert_cmpuint (w.calls, ==, 1);
  wait_clear (&w);

  g_assert_cmpint (g_unlink (fifo), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* -- main -- */

static void
add (const char *name, GTestDataFunc func)
{
  static const char *const schemes[] = { "test+sync", "test+async" };
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/connection/%s/%s",
                                               strchr (schemes[i], '+') + 1, name);
      g_test_add_data_func (path, schemes[i], func);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* The test plugins for everything, the default registry included. */
  const char *dir = dal_test_env ("DAL_TEST_PLUGINS");
  g_setenv ("DAL_PLUGIN_PATH", dir, TRUE);
  g_setenv ("DAL_PLUGIN_SYSTEM_PATH", "", TRUE);
  registry = dal_registry_new ((const char *[]) { dir, NULL }, FALSE);
  password = g_strdup_printf ("pw%08x", g_random_int ());
  main_thread_id = thread_id ();

  add ("open", test_open);
  add ("open-errors", test_open_errors);
  add ("open-cancel", test_open_cancel);
  add ("query", test_query);
  add ("transactions", test_transactions);
  add ("params", test_params);
  add ("params-texts", test_params_texts);
  add ("params-invalid", test_params_invalid);
  add ("getters", test_getters);
  add ("callback-context", test_callback_context);
  add ("exactly-once", test_exactly_once);
  add ("ordering", test_ordering);
  add ("cancel", test_cancel);
  add ("close-pending", test_close_pending);
  add ("close-in-callback", test_close_in_callback);
  add ("after-close", test_after_close);
  add ("unref-closes", test_unref_closes);
  add ("plugin-errors", test_plugin_errors);
  add ("sync-in-callback", test_sync_in_callback);
  add ("sync-waits-for-queue", test_sync_waits_for_queue);
  add ("lost-slot", test_lost_slot);
  g_test_add_func ("/connection/old/lost-noticed", test_lost_noticed);
  g_test_add_func ("/connection/open-async-reads-off-thread",
                   test_open_async_reads_off_thread);

  int ret = g_test_run ();
  dal_registry_free (registry);
  g_free (password);
  g_free (main_thread_id);
  return ret;
}
