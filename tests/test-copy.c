/* test-copy.c: COPY through both PostgreSQL plugins (live), and the
 * facade's refusals (statement checks, a plugin without the slots). */
#include "config.h"

#include <string.h>

#include "dal-test.h"

static DalConnection *
open_conn (const char *scheme, const char *extra)
{
  g_autofree char *url = dal_test_url (scheme, extra);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static void
exec_ok (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  dal_connection_execute (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
}

static char *
scalar (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static void
assert_count (DalConnection *conn, const char *expected)
{
  g_autofree char *n = scalar (conn, "SELECT count(*) FROM t");
  g_assert_cmpstr (n, ==, expected);
}

static DalConnection *
open_with_table (const char *scheme, const char *extra)
{
  DalConnection *conn = open_conn (scheme, extra);
  exec_ok (conn, "CREATE TEMP TABLE t (id int, name text, price numeric)");
  return conn;
}

/* The values the _rows tests send and expect back. */
static const char *const names[] = {
  "plain", "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N",
  "", NULL, "éà€ 中文", "end\\",
};

typedef struct
{
  guint next, stop_at, n_rows;
  GCancellable *cancel;     /* cancelled at row stop_at, when set */
  gboolean fail;            /* fails at row stop_at */
  gboolean bad;             /* row stop_at has a bad id */
  char id[16], price[32];
  const char *values[3];
} Rows;

static gboolean
next_row (gpointer user_data, guint *n_values, const char * const **values,
          GError **error)
{
  Rows *r = user_data;
  if (r->next >= r->n_rows)
    return FALSE;
  guint i = r->next++;
  if (i == r->stop_at && r->fail)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "my source broke at %u", i);
      return FALSE;
    }
  if (i == r->stop_at && r->cancel != NULL)
    g_cancellable_cancel (r->cancel);
  if (i == r->stop_at && r->bad)
    g_strlcpy (r->id, "x", sizeof r->id);
  else
    g_snprintf (r->id, sizeof r->id, "%u", i);
  g_snprintf (r->price, sizeof r->price, "%u.25", i);
  r->values[0] = r->id;
  r->values[1] = names[i % G_N_ELEMENTS (names)];
  r->values[2] = i % 7 == 3 ? NULL : r->price;
  *n_values = 3;
  *values = r->values;
  return TRUE;
}

static void
test_from_stream (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  static const char data[] = "1\tone\t1.5\n2\t\\N\t2\n3\ttab\\there\t\\N\n";
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (data, -1, NULL);
  g_autoptr (GError) error = NULL;
  gint64 n = dal_connection_copy_from_stream (conn, "COPY t FROM STDIN", in, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 3);
  g_autofree char *agg = scalar (conn, "SELECT string_agg(id || ':' || coalesce(name, 'NULL') "
                                 "|| ':' || coalesce(price::text, 'NULL'), ',' ORDER BY id) FROM t");
  g_assert_cmpstr (agg, ==, "1:one:1.5,2:NULL:2,3:tab\there:NULL");

  /* Out again, byte for byte. */
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  n = dal_connection_copy_to_stream (conn, "COPY (SELECT * FROM t ORDER BY id) TO STDOUT",
                                     out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 3);
  GMemoryOutputStream *mem = G_MEMORY_OUTPUT_STREAM (out);
  g_assert_cmpmem (g_memory_output_stream_get_data (mem),
                   g_memory_output_stream_get_data_size (mem), data, strlen (data));
}

typedef struct
{
  guint n;
  gboolean mismatch;
  guint stop_at;
  GCancellable *cancel;
} Seen;

static gboolean
check_row (gpointer user_data, guint n_values, const char * const *values,
           GError **error)
{
  Seen *s = user_data;
  guint i = s->n++;
  if (s->cancel != NULL && i == s->stop_at)
    g_cancellable_cancel (s->cancel);
  if (s->cancel != NULL)
    return TRUE;
  if (i == s->stop_at && s->stop_at > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "my sink is full");
      return FALSE;
    }
  char id[16], price[32];
  g_snprintf (id, sizeof id, "%u", i);
  g_snprintf (price, sizeof price, "%u.25", i);
  if (n_values != 3 || g_strcmp0 (values[0], id) != 0
      || g_strcmp0 (values[1], names[i % G_N_ELEMENTS (names)]) != 0
      || g_strcmp0 (values[2], i % 7 == 3 ? NULL : price) != 0)
    s->mismatch = TRUE;
  return TRUE;
}

static void
test_rows (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  Rows rows = { .n_rows = 5000, .stop_at = G_MAXUINT };
  g_autoptr (GError) error = NULL;
  gint64 n = dal_connection_copy_from_rows (conn, "COPY t (id, name, price) FROM STDIN",
                                            next_row, &rows, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 5000);
  /* Read back with SELECT: the values arrived as they were. */
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT id, name FROM t WHERE id < 20 "
                                                  "ORDER BY id", NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 20; i++)
    g_assert_cmpstr (dal_result_get_string (r, i, 1, NULL), ==, names[i % G_N_ELEMENTS (names)]);

  Seen seen = { 0 };
  n = dal_connection_copy_to_rows (conn, "COPY (SELECT * FROM t ORDER BY id) TO STDOUT",
                                   check_row, &seen, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 5000);
  g_assert_cmpuint (seen.n, ==, 5000);
  g_assert_false (seen.mismatch);

  /* A sink that fails: its error, and the connection goes on. */
  Seen failing = { .stop_at = 10 };
  n = dal_connection_copy_to_rows (conn, "COPY t TO STDOUT", check_row, &failing, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_cmpint (n, ==, -1);
  g_clear_error (&error);
  assert_count (conn, "5000");
}

static void
test_bad_row (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  Rows rows = { .n_rows = 20000, .stop_at = 4999, .bad = TRUE };
  g_autoptr (GError) error = NULL;
  gint64 n = dal_connection_copy_from_rows (conn, "COPY t FROM STDIN", next_row, &rows,
                                            NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpint (n, ==, -1);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22P02");
  g_assert_nonnull (strstr (error->message, "line 5000"));
  assert_count (conn, "0");
}

static void
test_source_fails (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  Rows rows = { .n_rows = 100000, .stop_at = 30000, .fail = TRUE };
  g_autoptr (GError) error = NULL;
  gint64 n = dal_connection_copy_from_rows (conn, "COPY t FROM STDIN", next_row, &rows,
                                            NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_assert_cmpstr (error->message, ==, "my source broke at 30000");
  g_assert_cmpint (n, ==, -1);
  assert_count (conn, "0");
}

static void
test_cancel (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GError) error = NULL;

  /* In: the caller cancels from its source. */
  g_autoptr (GCancellable) c1 = g_cancellable_new ();
  Rows rows = { .n_rows = 100000, .stop_at = 20000, .cancel = c1 };
  gint64 n = dal_connection_copy_from_rows (conn, "COPY t FROM STDIN", next_row, &rows,
                                            c1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (n, ==, -1);
  g_clear_error (&error);
  assert_count (conn, "0");

  /* Out: the server is busy (sleeping after row 5) when the caller
   * cancels; the cancel request ends it. */
  g_autoptr (GCancellable) c2 = g_cancellable_new ();
  Seen seen = { .stop_at = 2, .cancel = c2 };
  gint64 t0 = g_get_monotonic_time ();
  n = dal_connection_copy_to_rows (conn,
                                   "COPY (SELECT g, repeat('x', 20000), "
                                   "pg_sleep(CASE WHEN g = 5 THEN 60 ELSE 0 END) "
                                   "FROM generate_series(1, 10) g) TO STDOUT",
                                   check_row, &seen, c2, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (n, ==, -1);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, dal_test_scaled_ms (10000) * 1000);
  g_clear_error (&error);
  assert_count (conn, "0");
}

static void
test_command_timeout (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, "command_timeout=0.3");
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  Seen seen = { 0 };
  gint64 n = dal_connection_copy_to_rows (conn, "COPY (SELECT pg_sleep(60)) TO STDOUT",
                                          check_row, &seen, NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_assert_cmpint (n, ==, -1);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, dal_test_scaled_ms (5000) * 1000);
  g_clear_error (&error);
  assert_count (conn, "0");
}

static void
test_wrong_statement (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GInputStream) in = g_memory_input_stream_new ();
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;

  /* Refused before it runs: the DELETE must not happen. */
  exec_ok (conn, "INSERT INTO t VALUES (1, 'a', 1)");
  g_assert_cmpint (dal_connection_copy_from_stream (conn, "DELETE FROM t", in, NULL, &error),
                   ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "not a COPY ... FROM STDIN"));
  g_clear_error (&error);
  assert_count (conn, "1");
  g_assert_cmpint (dal_connection_copy_to_stream (conn, "COPY t FROM STDIN", out, NULL, &error),
                   ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* Past the word check, the server's answer decides. */
  g_assert_cmpint (dal_connection_copy_from_stream (conn, "COPY (SELECT 1 AS stdin) TO STDOUT",
                                                    in, NULL, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "answered with a COPY TO STDOUT"));
  g_clear_error (&error);

  /* The _rows forms want text format. */
  Rows rows = { .n_rows = 1, .stop_at = G_MAXUINT };
  g_assert_cmpint (dal_connection_copy_from_rows (conn, "COPY t FROM STDIN (FORMAT csv)",
                                                  next_row, &rows, NULL, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "copy_from_stream"));
  g_clear_error (&error);

  g_autofree char *one = scalar (conn, "SELECT 1");
  g_assert_cmpstr (one, ==, "1");
}

static void
on_query (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* pgasync: not while statements are in flight. */
static void
test_busy (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table ("postgresql+asyncpg", NULL);
  gboolean done = FALSE;
  dal_connection_query_async (conn, "SELECT pg_sleep(0.2)", NULL, NULL, on_query, &done);
  g_autoptr (GInputStream) in = g_memory_input_stream_new ();
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (dal_connection_copy_from_stream (conn, "COPY t FROM STDIN", in, NULL, &error),
                   ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_BUSY);
  dal_test_wait_for (&done, 5000);
  g_clear_error (&error);
  /* Idle again: it runs, and the pipeline works after it. */
  g_assert_cmpint (dal_connection_copy_from_stream (conn, "COPY t FROM STDIN", in, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
  done = FALSE;
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, on_query, &done);
  dal_test_wait_for (&done, 5000);
}

static void
test_unsupported (void)
{
  const char *dir = dal_test_env ("DAL_TEST_PLUGINS");
  DalRegistry *registry = dal_registry_new ((const char *[]) { dir, NULL }, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("test+sync://tester@localhost/db", &error);
  g_assert_no_error (error);
  DalConnection *conn = dal_connection_open_url (registry, url, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GInputStream) in = g_memory_input_stream_new ();
  g_assert_cmpint (dal_connection_copy_from_stream (conn, "COPY t FROM STDIN", in, NULL, &error),
                   ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "fakesync"));
  g_object_unref (conn);  /* before its plugin's registry */
  dal_registry_free (registry);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const char *const schemes[] = { "postgresql+psycopg2", "postgresql+asyncpg" };
  static const struct { const char *name; GTestDataFunc func; } tests[] = {
    { "from-stream", test_from_stream },
    { "rows", test_rows },
    { "bad-row", test_bad_row },
    { "source-fails", test_source_fails },
    { "cancel", test_cancel },
    { "command-timeout", test_command_timeout },
    { "wrong-statement", test_wrong_statement },
  };
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    for (guint j = 0; j < G_N_ELEMENTS (tests); j++)
      {
        g_autofree char *path = g_strdup_printf ("/copy/%s/%s", strchr (schemes[i], '+') + 1,
                                                 tests[j].name);
        g_test_add_data_func (path, schemes[i], tests[j].func);
      }
  g_test_add_func ("/copy/asyncpg/busy", test_busy);
  g_test_add_func ("/copy/unsupported", test_unsupported);
  return g_test_run ();
}
