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

/* -- the async forms -- */

/* One async COPY: its callback's checks, and what the rows functions saw
 * of the main loop. */
typedef struct
{
  GMainContext *context;    /* the caller's */
  GThread *thread;
  gboolean starting;        /* inside the _async call */
  guint calls;
  gboolean done;
  GAsyncResult *result;
  guint64 iteration;        /* of the waiting loop */
  guint64 rows_iteration;   /* the last one a rows function ran in */
  guint rows_now, rows_max; /* rows in that iteration, the most in one */
  guint row_iterations;     /* iterations with rows */
  gboolean off_context;     /* a rows function ran elsewhere */
} Async;

static void
async_init (Async *a)
{
  memset (a, 0, sizeof *a);
  a->context = g_main_context_ref_thread_default ();
  a->thread = g_thread_self ();
  a->starting = TRUE;
}

static void
async_clear (Async *a)
{
  g_clear_object (&a->result);
  g_main_context_unref (a->context);
}

static void
on_async (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Async *a = user_data;
  g_assert_false (a->starting);
  g_assert_true (g_thread_self () == a->thread);
  g_assert_true (g_main_context_is_owner (a->context));
  a->calls++;
  g_assert_cmpuint (a->calls, ==, 1);
  a->result = g_object_ref (result);
  a->done = TRUE;
}

/* A rows function ran: on the caller's context, in which iteration. */
static void
note_rows_call (Async *a)
{
  if (g_thread_self () != a->thread || !g_main_context_is_owner (a->context))
    a->off_context = TRUE;
  if (a->rows_iteration != a->iteration || a->row_iterations == 0)
    {
      a->rows_iteration = a->iteration;
      a->rows_now = 0;
      a->row_iterations++;
    }
  a->rows_max = MAX (a->rows_max, ++a->rows_now);
}

static gboolean
on_wait_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the caller's context until the callback ran (and a little
 * more: it must not run twice). */
static void
async_wait (Async *a, guint timeout_ms)
{
  a->starting = FALSE;
  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new ((guint) dal_test_scaled_ms (timeout_ms));
  g_source_set_callback (timer, on_wait_timeout, &timed_out, NULL);
  g_source_attach (timer, a->context);
  while (!a->done && !timed_out)
    {
      g_main_context_iteration (a->context, TRUE);
      a->iteration++;
    }
  g_source_destroy (timer);
  g_source_unref (timer);
  g_assert_true (a->done);
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (a->context, FALSE);
  g_assert_false (a->off_context);
}

#define FINISH(a, fn, conn, error) \
  dal_connection_##fn##_finish ((conn), (a)->result, (error))

/* Rows (as next_row) that also note where they ran. */
typedef struct
{
  Rows rows;
  Async *a;
  gboolean freed;
} AsyncRows;

static gboolean
async_next_row (gpointer user_data, guint *n_values, const char * const **values,
                GError **error)
{
  AsyncRows *r = user_data;
  note_rows_call (r->a);
  return next_row (&r->rows, n_values, values, error);
}

typedef struct
{
  Seen seen;
  Async *a;
  gboolean freed;
} AsyncSeen;

static gboolean
async_check_row (gpointer user_data, guint n_values, const char * const *values,
                 GError **error)
{
  AsyncSeen *s = user_data;
  note_rows_call (s->a);
  return check_row (&s->seen, n_values, values, error);
}

static void
rows_freed (gpointer data)
{
  ((AsyncRows *) data)->freed = TRUE;
}

static void
seen_freed (gpointer data)
{
  ((AsyncSeen *) data)->freed = TRUE;
}

/* SELECT 1 works: the connection is usable. */
static void
assert_usable (DalConnection *conn)
{
  g_autofree char *one = scalar (conn, "SELECT 1");
  g_assert_cmpstr (one, ==, "1");
}

/* Runs one async _rows COPY to its end: from @rows, or to @seen. */
static gint64
rows_async (DalConnection *conn, const char *sql, AsyncRows *rows, AsyncSeen *seen,
            GCancellable *cancellable, GError **error)
{
  Async a;
  async_init (&a);
  if (rows != NULL)
    {
      rows->a = &a;
      dal_connection_copy_from_rows_async (conn, sql, async_next_row, rows, rows_freed,
                                           cancellable, on_async, &a);
    }
  else
    {
      seen->a = &a;
      dal_connection_copy_to_rows_async (conn, sql, async_check_row, seen, seen_freed,
                                         cancellable, on_async, &a);
    }
  async_wait (&a, 30000);
  g_assert_true (rows != NULL ? rows->freed : seen->freed);
  gint64 n = rows != NULL ? FINISH (&a, copy_from_rows, conn, error)
                          : FINISH (&a, copy_to_rows, conn, error);
  /* Not buffered whole: the rows were encoded or decoded a few chunks at
   * a time, in many iterations of the caller's context, while the COPY
   * ran. */
  if ((rows != NULL ? rows->rows.next : seen->seen.n) > 100000)
    {
      g_assert_cmpuint (a.rows_max, <, 20000);
      g_assert_cmpuint (a.row_iterations, >=, 10);
    }
  async_clear (&a);
  return n;
}

#define from_rows_async(conn, sql, rows, cancellable, error) \
  rows_async ((conn), (sql), (rows), NULL, (cancellable), (error))
#define to_rows_async(conn, sql, seen, cancellable, error) \
  rows_async ((conn), (sql), NULL, (seen), (cancellable), (error))

static void
test_async_streams (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  static const char data[] = "1\tone\t1.5\n2\t\\N\t2\n3\ttab\\there\t\\N\n";
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (data, -1, NULL);
  g_autoptr (GError) error = NULL;
  Async a;
  async_init (&a);
  dal_connection_copy_from_stream_async (conn, "COPY t FROM STDIN", in, NULL, on_async, &a);
  async_wait (&a, 10000);
  g_assert_cmpint (FINISH (&a, copy_from_stream, conn, &error), ==, 3);
  g_assert_no_error (error);
  async_clear (&a);

  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  async_init (&a);
  dal_connection_copy_to_stream_async (conn, "COPY (SELECT * FROM t ORDER BY id) TO STDOUT",
                                       out, NULL, on_async, &a);
  async_wait (&a, 10000);
  g_assert_cmpint (FINISH (&a, copy_to_stream, conn, &error), ==, 3);
  g_assert_no_error (error);
  async_clear (&a);
  GMemoryOutputStream *mem = G_MEMORY_OUTPUT_STREAM (out);
  g_assert_cmpmem (g_memory_output_stream_get_data (mem),
                   g_memory_output_stream_get_data_size (mem), data, strlen (data));

  /* Large: 200k rows out, byte for byte what the blocking form gives. */
  exec_ok (conn, "INSERT INTO t SELECT g, 'name ' || g, g * 0.5 "
                 "FROM generate_series(4, 200003) g");
  const char *sql = "COPY (SELECT * FROM t ORDER BY id) TO STDOUT";
  g_autoptr (GOutputStream) big = g_memory_output_stream_new_resizable ();
  async_init (&a);
  dal_connection_copy_to_stream_async (conn, sql, big, NULL, on_async, &a);
  async_wait (&a, 30000);
  g_assert_cmpint (FINISH (&a, copy_to_stream, conn, &error), ==, 200003);
  g_assert_no_error (error);
  async_clear (&a);
  g_autoptr (GOutputStream) ref = g_memory_output_stream_new_resizable ();
  g_assert_cmpint (dal_connection_copy_to_stream (conn, sql, ref, NULL, &error), ==, 200003);
  g_assert_no_error (error);
  GMemoryOutputStream *m1 = G_MEMORY_OUTPUT_STREAM (big), *m2 = G_MEMORY_OUTPUT_STREAM (ref);
  g_assert_cmpmem (g_memory_output_stream_get_data (m1), g_memory_output_stream_get_data_size (m1),
                   g_memory_output_stream_get_data (m2), g_memory_output_stream_get_data_size (m2));

  /* ... and in again, from a stream: the same count. */
  exec_ok (conn, "CREATE TEMP TABLE t2 (LIKE t)");
  g_autoptr (GInputStream) back = g_memory_input_stream_new_from_data (
    g_memory_output_stream_get_data (m2), g_memory_output_stream_get_data_size (m2), NULL);
  async_init (&a);
  dal_connection_copy_from_stream_async (conn, "COPY t2 FROM STDIN", back, NULL, on_async, &a);
  async_wait (&a, 30000);
  g_assert_cmpint (FINISH (&a, copy_from_stream, conn, &error), ==, 200003);
  g_assert_no_error (error);
  async_clear (&a);
  g_autofree char *n2 = scalar (conn, "SELECT count(*) FROM t2");
  g_assert_cmpstr (n2, ==, "200003");
}

static void
test_async_rows (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GError) error = NULL;
  AsyncRows rows = { .rows = { .n_rows = 200000, .stop_at = G_MAXUINT } };
  g_assert_cmpint (from_rows_async (conn, "COPY t (id, name, price) FROM STDIN", &rows,
                                    NULL, &error), ==, 200000);
  g_assert_no_error (error);
  assert_count (conn, "200000");

  AsyncSeen seen = { { 0 } };
  g_assert_cmpint (to_rows_async (conn, "COPY (SELECT * FROM t ORDER BY id) TO STDOUT",
                                  &seen, NULL, &error), ==, 200000);
  g_assert_no_error (error);
  g_assert_cmpuint (seen.seen.n, ==, 200000);
  g_assert_false (seen.seen.mismatch);

  /* A row function that fails: its error, and the connection goes on. */
  AsyncSeen failing = { { .stop_at = 10 } };
  g_assert_cmpint (to_rows_async (conn, "COPY t TO STDOUT", &failing, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_clear_error (&error);
  assert_count (conn, "200000");

  /* A source that fails mid-way: its error as it is, nothing inserted. */
  exec_ok (conn, "TRUNCATE t");
  AsyncRows broken = { .rows = { .n_rows = 100000, .stop_at = 30000, .fail = TRUE } };
  g_assert_cmpint (from_rows_async (conn, "COPY t FROM STDIN", &broken, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_assert_cmpstr (error->message, ==, "my source broke at 30000");
  g_clear_error (&error);
  assert_count (conn, "0");

  /* Refused before it starts: never inside the call, data freed. */
  AsyncRows csv = { .rows = { .n_rows = 1, .stop_at = G_MAXUINT } };
  g_assert_cmpint (from_rows_async (conn, "COPY t FROM STDIN (FORMAT csv)", &csv, NULL,
                                    &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  assert_usable (conn);
}

static void
test_async_bad_row (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GError) error = NULL;
  AsyncRows rows = { .rows = { .n_rows = 20000, .stop_at = 4999, .bad = TRUE } };
  g_assert_cmpint (from_rows_async (conn, "COPY t FROM STDIN", &rows, NULL, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22P02");
  g_assert_nonnull (strstr (error->message, "line 5000"));
  assert_count (conn, "0");
  assert_usable (conn);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_async_cancel (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GError) error = NULL;

  /* In: cancelled from the rows function. */
  g_autoptr (GCancellable) c1 = g_cancellable_new ();
  AsyncRows rows = { .rows = { .n_rows = 100000, .stop_at = 20000, .cancel = c1 } };
  g_assert_cmpint (from_rows_async (conn, "COPY t FROM STDIN", &rows, c1, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  assert_count (conn, "0");

  /* Out: the server sleeps after row 5; cancelled from the row function. */
  const char *sleepy = "COPY (SELECT g, repeat('x', 20000), "
                       "pg_sleep(CASE WHEN g = 5 THEN 60 ELSE 0 END) "
                       "FROM generate_series(1, 10) g) TO STDOUT";
  g_autoptr (GCancellable) c2 = g_cancellable_new ();
  AsyncSeen seen = { { .stop_at = 2, .cancel = c2 } };
  gint64 t0 = g_get_monotonic_time ();
  g_assert_cmpint (to_rows_async (conn, sleepy, &seen, c2, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, dal_test_scaled_ms (10000) * 1000);
  g_clear_error (&error);
  assert_usable (conn);

  /* Out to a stream: cancelled from the main loop while the server
   * sleeps. */
  g_autoptr (GCancellable) c3 = g_cancellable_new ();
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  Async a;
  async_init (&a);
  t0 = g_get_monotonic_time ();
  dal_connection_copy_to_stream_async (conn, sleepy, out, c3, on_async, &a);
  GSource *timer = g_timeout_source_new (300);
  g_source_set_callback (timer, cancel_later, c3, NULL);
  g_source_attach (timer, a.context);
  g_source_unref (timer);
  async_wait (&a, 10000);
  g_assert_cmpint (FINISH (&a, copy_to_stream, conn, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, dal_test_scaled_ms (10000) * 1000);
  g_clear_error (&error);
  async_clear (&a);
  assert_usable (conn);
}

static void
test_async_command_timeout (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, "command_timeout=0.3");
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  AsyncSeen seen = { { 0 } };
  g_assert_cmpint (to_rows_async (conn, "COPY (SELECT pg_sleep(60)) TO STDOUT", &seen,
                                  NULL, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, dal_test_scaled_ms (5000) * 1000);
  g_clear_error (&error);
  assert_usable (conn);
}

/* The connection is the COPY's while it runs: other calls are BUSY; it
 * takes them again from the callback on. */
typedef struct
{
  DalConnection *conn;
  gboolean checked;
  Async *a;
} Intruder;

static void
on_busy_query (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                         &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_BUSY);
  *(gboolean *) user_data = TRUE;
}

static gboolean
intrude (gpointer user_data, guint n_values, const char * const *values, GError **error)
{
  Intruder *in = user_data;
  if (in->checked)
    return TRUE;
  in->checked = TRUE;
  GError *local = NULL;
  g_assert_null (dal_connection_query (in->conn, "SELECT 1", NULL, NULL, &local));
  g_assert_error (local, DAL_ERROR, DAL_ERROR_BUSY);
  g_assert_nonnull (strstr (local->message, "COPY"));
  g_clear_error (&local);
  g_assert_null (dal_connection_get_info (in->conn, "transaction_status"));
  return TRUE;
}

static void
test_async_busy (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GError) error = NULL;
  Intruder in = { conn };
  Async a;
  async_init (&a);
  dal_connection_copy_to_rows_async (conn, "COPY (SELECT g FROM generate_series(1, 1000) g) "
                                     "TO STDOUT", intrude, &in, NULL, NULL, on_async, &a);
  /* Right after the call, and from inside a row function. */
  gboolean refused = FALSE;
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, on_busy_query, &refused);
  g_autoptr (GInputStream) empty = g_memory_input_stream_new ();
  g_assert_cmpint (dal_connection_copy_from_stream (conn, "COPY t FROM STDIN", empty, NULL,
                                                    &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_BUSY);
  g_clear_error (&error);
  async_wait (&a, 10000);
  g_assert_true (refused);
  g_assert_true (in.checked);
  g_assert_cmpint (FINISH (&a, copy_to_rows, conn, &error), ==, 1000);
  g_assert_no_error (error);
  async_clear (&a);
  assert_usable (conn);
}

/* pgasync: the connection must be idle, as for the blocking forms. */
static void
test_async_busy_pipeline (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table ("postgresql+asyncpg", NULL);
  gboolean done = FALSE;
  dal_connection_query_async (conn, "SELECT pg_sleep(0.2)", NULL, NULL, on_query, &done);
  g_autoptr (GInputStream) in = g_memory_input_stream_new ();
  g_autoptr (GError) error = NULL;
  Async a;
  async_init (&a);
  dal_connection_copy_from_stream_async (conn, "COPY t FROM STDIN", in, NULL, on_async, &a);
  async_wait (&a, 5000);
  g_assert_cmpint (FINISH (&a, copy_from_stream, conn, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_BUSY);
  g_clear_error (&error);
  async_clear (&a);
  dal_test_wait_for (&done, 5000);
  /* Idle again: it runs, and the pipeline works after it. */
  async_init (&a);
  dal_connection_copy_from_stream_async (conn, "COPY t FROM STDIN", in, NULL, on_async, &a);
  async_wait (&a, 5000);
  g_assert_cmpint (FINISH (&a, copy_from_stream, conn, &error), ==, 0);
  g_assert_no_error (error);
  async_clear (&a);
  done = FALSE;
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, on_query, &done);
  dal_test_wait_for (&done, 5000);
}

/* Closing cancels the COPY, which fails with CLOSED. */
static gboolean
close_at_first (gpointer user_data, guint n_values, const char * const *values,
                GError **error)
{
  DalConnection *conn = user_data;
  if (!dal_connection_is_closed (conn))
    g_assert_true (dal_connection_close (conn, NULL, NULL));
  return TRUE;
}

static void
test_async_close (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  g_autoptr (GError) error = NULL;
  Async a;
  async_init (&a);
  gint64 t0 = g_get_monotonic_time ();
  /* (Rows large enough for the server to send them before it sleeps.) */
  dal_connection_copy_to_rows_async (conn, "COPY (SELECT g, repeat('x', 20000), "
                                     "pg_sleep(CASE WHEN g = 3 THEN 60 ELSE 0 END) "
                                     "FROM generate_series(1, 3) g) TO STDOUT",
                                     close_at_first, conn, NULL, NULL, on_async, &a);
  async_wait (&a, 10000);
  g_assert_cmpint (FINISH (&a, copy_to_rows, conn, &error), ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, dal_test_scaled_ms (10000) * 1000);
  async_clear (&a);
}

/* dal_connection_query() cannot serve COPY to or from the client: the
 * statement fails with DAL_ERROR_UNSUPPORTED (naming the COPY calls'
 * alternatives), the server's COPY is ended (COPY FROM STDIN failed on the
 * server, COPY TO STDOUT's data read and dropped, however much of it there
 * is), and the connection goes on.  Alone (one statement at a time) and,
 * async, in the middle of a pipeline of others. */
static void
assert_copy_refused (const GError *error)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "not supported by dal_connection_query()"));
}

#define BIG_COPY_OUT "COPY (SELECT g, repeat('x', 1000) FROM generate_series(1, 5000) g) TO STDOUT"

static void
test_query_refuses_copy (gconstpointer scheme)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table (scheme, NULL);
  static const char *const copies[] = {
    "COPY (SELECT 1) TO STDOUT", BIG_COPY_OUT, "COPY t FROM STDIN",
  };
  for (guint i = 0; i < G_N_ELEMENTS (copies); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) r = dal_connection_query (conn, copies[i], NULL, NULL, &error);
      g_assert_null (r);
      assert_copy_refused (error);
      g_autofree char *v = scalar (conn, "SELECT 'goes on'");
      g_assert_cmpstr (v, ==, "goes on");
    }
  assert_count (conn, "0");
  g_autofree char *ts = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (ts, ==, "idle");
}

typedef struct
{
  guint done;
  GError *errors[7];
  char *values[7];
} Refused;

typedef struct
{
  Refused *all;
  guint i;
} RefusedCall;

static void
on_refused_query (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RefusedCall *c = user_data;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                         &c->all->errors[c->i]);
  if (r != NULL)
    c->all->values[c->i] = g_strdup (dal_result_get_string (r, 0, 0, NULL));
  c->all->done++;
}

static void
test_query_refuses_copy_pipelined (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_with_table ("postgresql+asyncpg", NULL);
  static const char *const sql[7] = {
    "SELECT 'a'", "COPY (SELECT 1) TO STDOUT", "SELECT 'b'", BIG_COPY_OUT,
    "SELECT 'c'", "COPY t FROM STDIN", "SELECT 'd'",
  };
  Refused all = { 0 };
  RefusedCall calls[7];
  for (guint i = 0; i < 7; i++)
    {
      calls[i] = (RefusedCall) { &all, i };
      dal_connection_query_async (conn, sql[i], NULL, NULL, on_refused_query, &calls[i]);
    }
  while (all.done < 7)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 7; i++)
    {
      if (i % 2 == 1)
        assert_copy_refused (all.errors[i]);
      else
        {
          g_assert_no_error (all.errors[i]);
          char want[2] = { (char) ('a' + i / 2), 0 };
          g_assert_cmpstr (all.values[i], ==, want);
        }
      g_clear_error (&all.errors[i]);
      g_free (all.values[i]);
    }
  g_autofree char *v = scalar (conn, "SELECT 'goes on'");
  g_assert_cmpstr (v, ==, "goes on");
  assert_count (conn, "0");
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
    { "async-streams", test_async_streams },
    { "async-rows", test_async_rows },
    { "async-bad-row", test_async_bad_row },
    { "async-cancel", test_async_cancel },
    { "async-command-timeout", test_async_command_timeout },
    { "async-busy", test_async_busy },
    { "async-close", test_async_close },
    { "query-refuses-copy", test_query_refuses_copy },
  };
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    for (guint j = 0; j < G_N_ELEMENTS (tests); j++)
      {
        g_autofree char *path = g_strdup_printf ("/copy/%s/%s", strchr (schemes[i], '+') + 1,
                                                 tests[j].name);
        g_test_add_data_func (path, schemes[i], tests[j].func);
      }
  g_test_add_func ("/copy/asyncpg/busy", test_busy);
  g_test_add_func ("/copy/asyncpg/async-busy-pipeline", test_async_busy_pipeline);
  g_test_add_func ("/copy/asyncpg/query-refuses-copy-pipelined", test_query_refuses_copy_pipelined);
  g_test_add_func ("/copy/unsupported", test_unsupported);
  return g_test_run ();
}
