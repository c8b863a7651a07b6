/* test-async-pairs.c: every public _async function has its own _finish,
 * which takes the results of that function only.  For each group of
 * calls with the same source (a connection, a pool, none for the opens),
 * the result of every call is handed to every other call's _finish: that
 * is a critical (as in GIO: g_async_result_is_tagged() in a
 * g_return_val_if_fail), the failure value, no error set, and the result
 * stays whole, so that its own _finish then takes it.
 *
 * Connections: the two fake plugins (test+sync: GTasks from the worker
 * path; test+async: the async-only bridge), and pgasync when the harness's
 * server is there (its statements complete through a recycled DalCall,
 * core/dal-call.c).  The pool's acquire completes through a DalCall too.
 * A NULL URL to the open functions is a GError (no critical). */
#include "config.h"

#include <string.h>

#include "dal-test.h"

#define WAIT_MS 10000

/* -- running one async call -- */

typedef struct
{
  gboolean done;
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;
  g_assert_false (w->done);
  w->result = g_object_ref (result);
  w->done = TRUE;
}

/* A call of a group: how to start it, and its _finish (which returns
 * whether it returned a value rather than the failure value, and frees
 * that value). */
typedef void (*StartFunc) (gpointer source, GAsyncReadyCallback cb, gpointer data);
typedef gboolean (*FinishFunc) (gpointer source, GAsyncResult *result, GError **error);

typedef struct
{
  const char *name;
  StartFunc start;
  FinishFunc finish;
} Pair;

/* Starts @p on @source and returns its result (a reference). */
static GAsyncResult *
run_start (const Pair *p, gpointer source)
{
  Wait w = { FALSE, NULL };
  p->start (source, wait_cb, &w);
  g_assert_false (w.done);   /* never from inside the _async call */
  dal_test_wait_for (&w.done, WAIT_MS);
  return w.result;
}

/* The heart of it: @pairs[i]'s result to every other _finish, then to
 * its own. */
static void
check_group (const Pair *pairs, guint n_pairs, gpointer (*make_source) (gpointer),
             gpointer make_data, void (*drop_source) (gpointer))
{
  for (guint i = 0; i < n_pairs; i++)
    {
      gpointer source = make_source (make_data);
      g_autoptr (GAsyncResult) result = run_start (&pairs[i], source);
      for (guint j = 0; j < n_pairs; j++)
        {
          if (j == i)
            continue;
          g_test_message ("%s's result to %s's _finish", pairs[i].name, pairs[j].name);
          GError *error = NULL;
          g_test_expect_message ("dal", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
          gboolean returned = pairs[j].finish (source, result, &error);
          g_test_assert_expected_messages ();
          g_assert_false (returned);
          g_assert_no_error (error);
        }
      /* Its own _finish still takes it (success or the call's own error,
       * e.g. LISTEN on a fake plugin): no critical. */
      GError *error = NULL;
      gboolean returned = pairs[i].finish (source, result, &error);
      g_assert_true (returned || error != NULL);
      g_clear_error (&error);
      drop_source (source);
    }
}

/* -- a connection's calls -- */

/* The statements: the fake plugins' language (tests/plugins/fake-db.h),
 * or SQL. */
static const char *sql_plain;    /* no parameters */
static const char *sql_param;    /* one parameter */

static void
use_sql (gboolean fake)
{
  sql_plain = fake ? "count" : "SELECT 1";
  sql_param = fake ? "echo" : "SELECT $1::int";
}

#define CONN(s) DAL_CONNECTION (s)

static void
s_query (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_query_async (CONN (s), sql_plain, NULL, NULL, cb, d);
}

static gboolean
f_query (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalResult) res = dal_connection_query_finish (CONN (s), r, e);
  return res != NULL;
}

static void
s_query_texts (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  const char *values[] = { "1" };
  dal_connection_query_texts_async (CONN (s), sql_param, 1, values, NULL, cb, d);
}

static gboolean
f_query_texts (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalResult) res = dal_connection_query_texts_finish (CONN (s), r, e);
  return res != NULL;
}

static void
s_execute (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_execute_async (CONN (s), sql_plain, NULL, NULL, cb, d);
}

static gboolean
f_execute (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_execute_finish (CONN (s), r, e) >= 0;
}

static void
s_begin (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_begin_async (CONN (s), NULL, cb, d);
}

static gboolean
f_begin (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_begin_finish (CONN (s), r, e);
}

static void
s_commit (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_commit_async (CONN (s), NULL, cb, d);
}

static gboolean
f_commit (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_commit_finish (CONN (s), r, e);
}

static void
s_rollback (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_rollback_async (CONN (s), NULL, cb, d);
}

static gboolean
f_rollback (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_rollback_finish (CONN (s), r, e);
}

static void
s_run_batch (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  g_autoptr (DalBatch) batch = dal_batch_new ();
  g_assert_true (dal_batch_add (batch, sql_plain, NULL, NULL));
  dal_connection_run_batch_async (CONN (s), batch, NULL, cb, d);
}

static gboolean
f_run_batch (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalBatchResult) res = dal_connection_run_batch_finish (CONN (s), r, e);
  return res != NULL;
}

static void
s_execute_many (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_execute_many_async (CONN (s), sql_param,
                                     g_variant_new_parsed ("[(1,), (2,)]"), NULL, cb, d);
}

static gboolean
f_execute_many (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_execute_many_finish (CONN (s), r, e) >= 0;
}

static void
s_execute_many_texts (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  const char *values[] = { "1", "2" };
  dal_connection_execute_many_texts_async (CONN (s), sql_param, 2, 1, values,
                                           NULL, cb, d);
}

static gboolean
f_execute_many_texts (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_execute_many_texts_finish (CONN (s), r, e) >= 0;
}

static void
s_listen (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_listen_async (CONN (s), "pairs", NULL, cb, d);
}

static gboolean
f_listen (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_listen_finish (CONN (s), r, e);
}

static void
s_unlisten (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_unlisten_async (CONN (s), "pairs", NULL, cb, d);
}

static gboolean
f_unlisten (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_unlisten_finish (CONN (s), r, e);
}

static void
s_close (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_close_async (CONN (s), NULL, cb, d);
}

static gboolean
f_close (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_close_finish (CONN (s), r, e);
}

/* COPY: against a table that does not exist (an error is a result too)
 * or a one-row SELECT. */
static gboolean
no_rows (gpointer data, guint *n, const char * const **values, GError **error)
{
  return FALSE;
}

static gboolean
any_row (gpointer data, guint n, const char * const *values, GError **error)
{
  return TRUE;
}

static void
s_copy_from_stream (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new ();
  dal_connection_copy_from_stream_async (CONN (s), "COPY pairs_none FROM STDIN", in, NULL,
                                         cb, d);
}

static gboolean
f_copy_from_stream (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_copy_from_stream_finish (CONN (s), r, e) >= 0;
}

static void
s_copy_from_rows (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_copy_from_rows_async (CONN (s), "COPY pairs_none FROM STDIN", no_rows, NULL,
                                       NULL, NULL, cb, d);
}

static gboolean
f_copy_from_rows (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_copy_from_rows_finish (CONN (s), r, e) >= 0;
}

static void
s_copy_to_stream (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  dal_connection_copy_to_stream_async (CONN (s), "COPY (SELECT 1) TO STDOUT", out, NULL,
                                       cb, d);
}

static gboolean
f_copy_to_stream (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_copy_to_stream_finish (CONN (s), r, e) >= 0;
}

static void
s_copy_to_rows (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_copy_to_rows_async (CONN (s), "COPY (SELECT 1) TO STDOUT", any_row, NULL,
                                     NULL, NULL, cb, d);
}

static gboolean
f_copy_to_rows (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_connection_copy_to_rows_finish (CONN (s), r, e) >= 0;
}

static const Pair conn_pairs[] = {
  { "dal_connection_query_async", s_query, f_query },
  { "dal_connection_query_texts_async", s_query_texts, f_query_texts },
  { "dal_connection_execute_async", s_execute, f_execute },
  { "dal_connection_begin_async", s_begin, f_begin },
  { "dal_connection_commit_async", s_commit, f_commit },
  { "dal_connection_rollback_async", s_rollback, f_rollback },
  { "dal_connection_run_batch_async", s_run_batch, f_run_batch },
  { "dal_connection_execute_many_async", s_execute_many, f_execute_many },
  { "dal_connection_execute_many_texts_async", s_execute_many_texts,
    f_execute_many_texts },
  { "dal_connection_listen_async", s_listen, f_listen },
  { "dal_connection_unlisten_async", s_unlisten, f_unlisten },
  { "dal_connection_copy_from_stream_async", s_copy_from_stream, f_copy_from_stream },
  { "dal_connection_copy_from_rows_async", s_copy_from_rows, f_copy_from_rows },
  { "dal_connection_copy_to_stream_async", s_copy_to_stream, f_copy_to_stream },
  { "dal_connection_copy_to_rows_async", s_copy_to_rows, f_copy_to_rows },
  { "dal_connection_close_async", s_close, f_close },   /* last: it closes */
};

static gpointer
open_connection (gpointer url)
{
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static char *
fake_url (const char *scheme)
{
  return g_strdup_printf ("%s://tester:pw@localhost/db", scheme);
}

static void
test_connection (gconstpointer data)
{
  g_autofree char *url = fake_url (data);
  use_sql (TRUE);
  check_group (conn_pairs, G_N_ELEMENTS (conn_pairs), open_connection, url,
               g_object_unref);
}

/* pgasync: statements complete through its query_call slot, on a
 * recycled DalCall. */
static void
test_connection_pgasync (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);
  use_sql (FALSE);
  check_group (conn_pairs, G_N_ELEMENTS (conn_pairs), open_connection, url,
               g_object_unref);
}

/* -- a pool's calls -- */

#define POOL(s) DAL_POOL (s)

static void
s_pool_query (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_pool_query_async (POOL (s), sql_plain, NULL, NULL, cb, d);
}

static gboolean
f_pool_query (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalResult) res = dal_pool_query_finish (POOL (s), r, e);
  return res != NULL;
}

static void
s_pool_query_texts (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  const char *values[] = { "1" };
  dal_pool_query_texts_async (POOL (s), sql_param, 1, values, NULL, cb, d);
}

static gboolean
f_pool_query_texts (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalResult) res = dal_pool_query_texts_finish (POOL (s), r, e);
  return res != NULL;
}

static void
s_pool_execute (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_pool_execute_async (POOL (s), sql_plain, NULL, NULL, cb, d);
}

static gboolean
f_pool_execute (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_pool_execute_finish (POOL (s), r, e) >= 0;
}

static void
s_pool_acquire (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_pool_acquire_async (POOL (s), "pairs", -1, NULL, cb, d);
}

static gboolean
f_pool_acquire (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalConnection) conn = dal_pool_acquire_finish (POOL (s), r, e);
  return conn != NULL;
}

static void
s_pool_run_batch (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  g_autoptr (DalBatch) batch = dal_batch_new ();
  g_assert_true (dal_batch_add (batch, sql_plain, NULL, NULL));
  dal_pool_run_batch_async (POOL (s), batch, NULL, cb, d);
}

static gboolean
f_pool_run_batch (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalBatchResult) res = dal_pool_run_batch_finish (POOL (s), r, e);
  return res != NULL;
}

static void
s_pool_execute_many (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_pool_execute_many_async (POOL (s), sql_param,
                               g_variant_new_parsed ("[(1,), (2,)]"), NULL, cb, d);
}

static gboolean
f_pool_execute_many (gpointer s, GAsyncResult *r, GError **e)
{
  return dal_pool_execute_many_finish (POOL (s), r, e) >= 0;
}

static const Pair pool_pairs[] = {
  { "dal_pool_query_async", s_pool_query, f_pool_query },
  { "dal_pool_query_texts_async", s_pool_query_texts, f_pool_query_texts },
  { "dal_pool_execute_async", s_pool_execute, f_pool_execute },
  { "dal_pool_acquire_async", s_pool_acquire, f_pool_acquire },
  { "dal_pool_run_batch_async", s_pool_run_batch, f_pool_run_batch },
  { "dal_pool_execute_many_async", s_pool_execute_many, f_pool_execute_many },
};

static gpointer
open_pool (gpointer url)
{
  g_autoptr (GError) error = NULL;
  DalPool *pool = dal_pool_open (url, NULL, &error);
  g_assert_no_error (error);
  return pool;
}

static void
close_pool (gpointer pool)
{
  dal_pool_close (pool);
  g_object_unref (pool);
}

static void
test_pool (gconstpointer data)
{
  g_autofree char *url = fake_url (data);
  use_sql (TRUE);
  check_group (pool_pairs, G_N_ELEMENTS (pool_pairs), open_pool, url, close_pool);
}

/* -- the opens (no source object) -- */

static const char *open_url_text;   /* the URL the open pairs use */

static DalUrl *
parsed_open_url (void)
{
  g_autoptr (GError) error = NULL;
  DalUrl *url = dal_url_parse (open_url_text, &error);
  g_assert_no_error (error);
  return url;
}

static void
s_open (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_connection_open_async (open_url_text, NULL, cb, d);
}

static gboolean
f_open (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalConnection) conn = dal_connection_open_finish (r, e);
  return conn != NULL;
}

static void
s_open_url (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  g_autoptr (DalUrl) url = parsed_open_url ();
  dal_connection_open_url_async (NULL, url, NULL, cb, d);
}

static gboolean
f_open_url (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalConnection) conn = dal_connection_open_url_finish (r, e);
  return conn != NULL;
}

static void
s_pool_open (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  dal_pool_open_async (open_url_text, NULL, cb, d);
}

static gboolean
f_pool_open (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalPool) pool = dal_pool_open_finish (r, e);
  if (pool != NULL)
    dal_pool_close (pool);
  return pool != NULL;
}

static void
s_pool_open_url (gpointer s, GAsyncReadyCallback cb, gpointer d)
{
  g_autoptr (DalUrl) url = parsed_open_url ();
  dal_pool_open_url_async (NULL, url, NULL, NULL, cb, d);
}

static gboolean
f_pool_open_url (gpointer s, GAsyncResult *r, GError **e)
{
  g_autoptr (DalPool) pool = dal_pool_open_url_finish (r, e);
  if (pool != NULL)
    dal_pool_close (pool);
  return pool != NULL;
}

static const Pair open_pairs[] = {
  { "dal_connection_open_async", s_open, f_open },
  { "dal_connection_open_url_async", s_open_url, f_open_url },
  { "dal_pool_open_async", s_pool_open, f_pool_open },
  { "dal_pool_open_url_async", s_pool_open_url, f_pool_open_url },
};

static gpointer
no_source (gpointer unused)
{
  return NULL;
}

static void
no_drop (gpointer unused)
{
}

static void
test_open (gconstpointer data)
{
  g_autofree char *url = fake_url (data);
  open_url_text = url;
  check_group (open_pairs, G_N_ELEMENTS (open_pairs), no_source, NULL, no_drop);
  /* A failed open (an unknown scheme) is tagged the same way. */
  open_url_text = "nosuch://localhost/db";
  check_group (open_pairs, G_N_ELEMENTS (open_pairs), no_source, NULL, no_drop);
  open_url_text = NULL;
}

/* Without g_test_expect_message() the critical is fatal, as everywhere in
 * a test: the child dies naming the check, instead of misreading a
 * BEGIN's result as a COMMIT's (the string comparison of the tags that
 * dal_connection_transaction_finish() did). */
static void
test_wrong_finish_is_critical (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *url = fake_url ("test+sync");
      g_autoptr (DalConnection) conn = open_connection (url);
      g_autoptr (GAsyncResult) result = run_start (&conn_pairs[3], conn);   /* begin */
      dal_connection_commit_finish (conn, result, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*g_async_result_is_tagged*");
}

/* -- NULL URLs -- */

static void
assert_no_url (GError *error)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_MALFORMED);
  g_assert_nonnull (strstr (error->message, "no URL given"));
  g_assert_nonnull (strstr (error->message, "DATABASE_URL"));
}

static void
test_null_url (void)
{
  GError *error = NULL;
  g_assert_null (dal_url_parse (NULL, &error));
  assert_no_url (error);
  g_clear_error (&error);

  g_assert_null (dal_connection_open (NULL, NULL, &error));
  assert_no_url (error);
  g_clear_error (&error);

  g_assert_null (dal_pool_open (NULL, NULL, &error));
  assert_no_url (error);
  g_clear_error (&error);

  /* NULL error: no critical either. */
  g_assert_null (dal_connection_open (NULL, NULL, NULL));

  Wait w = { FALSE, NULL };
  dal_connection_open_async (NULL, NULL, wait_cb, &w);
  g_assert_false (w.done);
  dal_test_wait_for (&w.done, WAIT_MS);
  g_assert_null (dal_connection_open_finish (w.result, &error));
  assert_no_url (error);
  g_clear_error (&error);
  g_clear_object (&w.result);

  w.done = FALSE;
  dal_pool_open_async (NULL, NULL, wait_cb, &w);
  g_assert_false (w.done);
  dal_test_wait_for (&w.done, WAIT_MS);
  g_assert_null (dal_pool_open_finish (w.result, &error));
  assert_no_url (error);
  g_clear_error (&error);
  g_clear_object (&w.result);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* The fake plugins for the default registry, before the build tree's
   * (pgasync, for the live test: DAL_PLUGIN_PATH of make check). */
  const char *dir = dal_test_env ("DAL_TEST_PLUGINS");
  const char *build_path = g_getenv ("DAL_PLUGIN_PATH");
  g_autofree char *path = build_path != NULL && *build_path != '\0'
                          ? g_strdup_printf ("%s:%s", dir, build_path)
                          : g_strdup (dir);
  g_setenv ("DAL_PLUGIN_PATH", path, TRUE);
  g_setenv ("DAL_PLUGIN_SYSTEM_PATH", "", TRUE);

  static const char *const schemes[] = { "test+sync", "test+async" };
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      const char *kind = strchr (schemes[i], '+') + 1;
      g_autofree char *p1 = g_strdup_printf ("/async-pairs/%s/connection", kind);
      g_autofree char *p2 = g_strdup_printf ("/async-pairs/%s/pool", kind);
      g_autofree char *p3 = g_strdup_printf ("/async-pairs/%s/open", kind);
      g_test_add_data_func (p1, schemes[i], test_connection);
      /* (A pool needs the set_context slot, which fakeasync lacks.) */
      if (strcmp (kind, "sync") == 0)
        g_test_add_data_func (p2, schemes[i], test_pool);
      g_test_add_data_func (p3, schemes[i], test_open);
    }
  g_test_add_func ("/async-pairs/pgasync/connection", test_connection_pgasync);
  g_test_add_func ("/async-pairs/wrong-finish-is-critical", test_wrong_finish_is_critical);
  g_test_add_func ("/async-pairs/null-url", test_null_url);
  return g_test_run ();
}
