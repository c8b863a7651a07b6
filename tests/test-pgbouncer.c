/* test-pgbouncer.c: COPY, batches and executemany through the harness's
 * PgBouncer in transaction mode (live), on both PostgreSQL plugins:
 * COPY FROM STDIN (rows and stream) and TO STDOUT with the right data, a
 * bad row mid-way failing with its error and the connection serving the
 * next statement, in the blocking and the _async forms; a batch cancelled
 * through its GCancellable while the server runs it (async, with another client's statement running through
 * the same PgBouncer meanwhile, which must not be hit; and blocking, from
 * another thread); a batch past its command_timeout; executemany leaving
 * no prepared statement on any server connection. */
#include "config.h"

#include <string.h>

#include "dal-test.h"

typedef struct
{
  const char *name;
  const char *scheme;
} Case;

static const Case cases[] = {
  { "asyncpg", "postgresql+asyncpg" },
  { "psycopg2", "postgresql+psycopg2" },
};

/* The harness's default_pool_size: PgBouncer's server connections. */
#define SERVERS 5

/* -- helpers -- */

/* @scheme through PgBouncer in transaction mode, with @extra options. */
static DalConnection *
open_bouncer (const char *scheme, const char *extra)
{
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s",
                                         dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
  g_autofree char *q = g_strdup_printf (
    "sslmode=disable&pooler_mode=transaction&connect_timeout=%g%s%s",
    10 * dal_test_time_scale (), extra != NULL ? "&" : "", extra != NULL ? extra : "");
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static void
assert_scalar (DalConnection *conn, const char *sql, const char *want)
{
  g_autofree char *got = dal_test_scalar (conn, sql);
  g_assert_cmpstr (got, ==, want);
}

/* A fresh table of the test's own. */
static char *
make_table (DalConnection *conn)
{
  return dal_test_make_table (conn, "pgb", "id int PRIMARY KEY, name text");
}

static void
assert_count (DalConnection *conn, const char *table, const char *want)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  assert_scalar (conn, sql, want);
}

/* Waits until a statement holding @mark runs on the server (as seen in
 * pg_stat_activity by the superuser, directly), iterating the
 * thread-default context meanwhile when @iterate. */
static void
wait_running (const char *mark, gboolean iterate)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
    "AND query LIKE '%%%s%%' AND pid <> pg_backend_pid()", mark);
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (10000) * 1000;
  for (;;)
    {
      g_autofree char *n = dal_test_admin_query (sql);
      if (strcmp (n, "0") != 0)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (iterate)
        dal_test_iterate_for (10);
      else
        g_usleep (10000);   /* (a poll of the server's view, not a wait for it) */
    }
}

/* -- COPY -- */

typedef struct
{
  guint next, n;
  guint first;      /* the first id */
  guint bad_at;     /* this row's id is "x" (G_MAXUINT: none) */
  char id[16], name[16];
  const char *values[2];
} Rows;

/* Row i: first + i, "n<i>", or NULL every 7th. */
static gboolean
next_row (gpointer data, guint *n_values, const char * const **values,
          G_GNUC_UNUSED GError **error)
{
  Rows *r = data;
  if (r->next >= r->n)
    return FALSE;
  guint i = r->next++;
  if (i == r->bad_at)
    g_strlcpy (r->id, "x", sizeof r->id);
  else
    g_snprintf (r->id, sizeof r->id, "%u", r->first + i);
  g_snprintf (r->name, sizeof r->name, "n%u", i);
  r->values[0] = r->id;
  r->values[1] = i % 7 == 3 ? NULL : r->name;
  *n_values = 2;
  *values = r->values;
  return TRUE;
}

typedef struct
{
  guint n;
} Seen;

/* COPY TO rows of the table after the rows and stream COPYs below. */
static gboolean
seen_row (gpointer data, guint n_values, const char * const *values,
          G_GNUC_UNUSED GError **error)
{
  Seen *s = data;
  guint i = s->n++;
  g_assert_cmpuint (n_values, ==, 2);
  char want[16];
  g_snprintf (want, sizeof want, "%u", i + 1);
  g_assert_cmpstr (values[0], ==, want);
  if (i < 1000)
    {
      g_snprintf (want, sizeof want, "n%u", i);
      g_assert_cmpstr (values[1], ==, i % 7 == 3 ? NULL : want);
    }
  return TRUE;
}

static void
assert_bad_row (GError *error, const char *line)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22P02");
  g_assert_nonnull (strstr (error->message, line));
}

static void
test_copy (gconstpointer data)
{
  const Case *c = data;
  if (!dal_test_require_pgbouncer ())
    return;
  g_autoptr (DalConnection) conn = open_bouncer (c->scheme, NULL);
  g_autofree char *table = make_table (conn);
  g_autofree char *copy_in = g_strdup_printf ("COPY %s (id, name) FROM STDIN", table);
  g_autoptr (GError) error = NULL;

  Rows rows = { .n = 1000, .first = 1, .bad_at = G_MAXUINT };
  gint64 n = dal_connection_copy_from_rows (conn, copy_in, next_row, &rows, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 1000);

  static const char stream_data[] = "1001\tone\n1002\t\\N\n1003\ttab\\there\n";
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (stream_data, -1, NULL);
  n = dal_connection_copy_from_stream (conn, copy_in, in, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 3);
  assert_count (conn, table, "1003");

  /* Out: every row through the row callback, the last three as bytes. */
  g_autofree char *all = g_strdup_printf ("COPY (SELECT id, name FROM %s ORDER BY id) TO STDOUT",
                                          table);
  Seen seen = { 0 };
  n = dal_connection_copy_to_rows (conn, all, seen_row, &seen, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 1003);
  g_assert_cmpuint (seen.n, ==, 1003);
  g_autofree char *last = g_strdup_printf (
    "COPY (SELECT id, name FROM %s WHERE id > 1000 ORDER BY id) TO STDOUT", table);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  n = dal_connection_copy_to_stream (conn, last, out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 3);
  GMemoryOutputStream *mem = G_MEMORY_OUTPUT_STREAM (out);
  g_assert_cmpmem (g_memory_output_stream_get_data (mem),
                   g_memory_output_stream_get_data_size (mem), stream_data,
                   strlen (stream_data));

  /* A bad row mid-way: its error; nothing of that COPY stays, and the
   * connection serves the next statement. */
  Rows bad = { .n = 1000, .first = 2001, .bad_at = 500 };
  n = dal_connection_copy_from_rows (conn, copy_in, next_row, &bad, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  assert_bad_row (error, "line 501");
  g_clear_error (&error);
  assert_count (conn, table, "1003");

  static const char bad_stream[] = "3001\ta\n3002\tb\nx\tc\n3004\td\n";
  g_autoptr (GInputStream) bad_in = g_memory_input_stream_new_from_data (bad_stream, -1, NULL);
  n = dal_connection_copy_from_stream (conn, copy_in, bad_in, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  assert_bad_row (error, "line 3");
  g_clear_error (&error);
  assert_count (conn, table, "1003");
  dal_test_drop_table (conn, table);
}

/* The _async forms through PgBouncer: rows in, rows out, a bad row. */
typedef struct
{
  gboolean done;
  gint64 n;
  GError *error;
} CopyDone;

static void
copy_in_done (GObject *source, GAsyncResult *result, gpointer data)
{
  CopyDone *d = data;
  g_assert_false (d->done);
  d->n = dal_connection_copy_from_rows_finish (DAL_CONNECTION (source), result, &d->error);
  d->done = TRUE;
}

static void
copy_out_done (GObject *source, GAsyncResult *result, gpointer data)
{
  CopyDone *d = data;
  g_assert_false (d->done);
  d->n = dal_connection_copy_to_rows_finish (DAL_CONNECTION (source), result, &d->error);
  d->done = TRUE;
}

static void
wait_copy (CopyDone *d)
{
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (30000) * 1000;
  while (!d->done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_copy_async (gconstpointer data)
{
  const Case *c = data;
  if (!dal_test_require_pgbouncer ())
    return;
  g_autoptr (DalConnection) conn = open_bouncer (c->scheme, NULL);
  g_autofree char *table = make_table (conn);
  g_autofree char *copy_in = g_strdup_printf ("COPY %s (id, name) FROM STDIN", table);

  Rows rows = { .n = 1000, .first = 1, .bad_at = G_MAXUINT };
  CopyDone in = { 0 };
  dal_connection_copy_from_rows_async (conn, copy_in, next_row, &rows, NULL, NULL,
                                       copy_in_done, &in);
  g_assert_false (in.done);
  wait_copy (&in);
  g_assert_no_error (in.error);
  g_assert_cmpint (in.n, ==, 1000);
  assert_count (conn, table, "1000");

  g_autofree char *all = g_strdup_printf ("COPY (SELECT id, name FROM %s ORDER BY id) TO STDOUT",
                                          table);
  Seen seen = { 0 };
  CopyDone out = { 0 };
  dal_connection_copy_to_rows_async (conn, all, seen_row, &seen, NULL, NULL,
                                     copy_out_done, &out);
  wait_copy (&out);
  g_assert_no_error (out.error);
  g_assert_cmpint (out.n, ==, 1000);
  g_assert_cmpuint (seen.n, ==, 1000);

  Rows bad = { .n = 1000, .first = 2001, .bad_at = 700 };
  CopyDone failed = { 0 };
  dal_connection_copy_from_rows_async (conn, copy_in, next_row, &bad, NULL, NULL,
                                       copy_in_done, &failed);
  wait_copy (&failed);
  g_assert_cmpint (failed.n, ==, -1);
  assert_bad_row (failed.error, "line 701");
  g_clear_error (&failed.error);
  assert_count (conn, table, "1000");
  dal_test_drop_table (conn, table);
}

/* -- batches: cancel and timeout -- */

typedef struct
{
  gboolean done;
  DalBatchResult *br;
  DalResult *result;
  GError *error;
  gint64 at;        /* monotonic time of completion */
} Done;

static void
batch_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Done *d = data;
  d->br = dal_connection_run_batch_finish (DAL_CONNECTION (source), res, &d->error);
  d->at = g_get_monotonic_time ();
  d->done = TRUE;
}

static void
query_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Done *d = data;
  d->result = dal_connection_query_finish (DAL_CONNECTION (source), res, &d->error);
  d->at = g_get_monotonic_time ();
  d->done = TRUE;
}

static void
done_clear (Done *d)
{
  g_clear_pointer (&d->br, dal_batch_result_unref);
  g_clear_pointer (&d->result, dal_result_unref);
  g_clear_error (&d->error);
}

/* INSERT (1), a sleep marked @mark, INSERT (2), into @table. */
static DalBatch *
sleepy_batch (const char *table, const char *mark, guint seconds)
{
  DalBatch *b = dal_batch_new ();
  g_autofree char *ins1 = g_strdup_printf ("INSERT INTO %s VALUES (1, 'a')", table);
  g_autofree char *sleep = g_strdup_printf ("SELECT pg_sleep(%u), '%s'", seconds, mark);
  g_autofree char *ins2 = g_strdup_printf ("INSERT INTO %s VALUES (2, 'b')", table);
  dal_batch_add_texts (b, ins1, 0, NULL);
  dal_batch_add_texts (b, sleep, 0, NULL);
  dal_batch_add_texts (b, ins2, 0, NULL);
  return b;
}

static char *
new_mark (const char *what)
{
  return g_strdup_printf ("%s_%08x", what, g_random_int ());
}

/* Async: cancelled while the server sleeps in it, while another client's
 * statement runs through the same PgBouncer; that one completes
 * untouched, the batch fails as cancelled and rolled back, and the
 * connection serves the next statement. */
static void
test_batch_cancel_async (gconstpointer data)
{
  const Case *c = data;
  if (!dal_test_require_pgbouncer ())
    return;
  g_autoptr (DalConnection) conn = open_bouncer (c->scheme, NULL);
  g_autoptr (DalConnection) other = open_bouncer (c->scheme, NULL);
  g_autofree char *table = make_table (conn);
  g_autofree char *mark = new_mark ("cancel");
  g_autofree char *other_mark = new_mark ("other");
  g_autoptr (DalBatch) batch = sleepy_batch (table, mark, 30);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();

  Done d = { 0 }, o = { 0 };
  dal_connection_run_batch_async (conn, batch, cancellable, batch_done, &d);
  wait_running (mark, TRUE);
  g_autofree char *other_sql = g_strdup_printf ("SELECT pg_sleep(0.5), '%s'", other_mark);
  dal_connection_query_async (other, other_sql, NULL, NULL, query_done, &o);
  wait_running (other_mark, TRUE);
  g_assert_false (d.done);

  gint64 cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  dal_test_wait_for (&d.done, 5000);
  g_assert_null (d.br);
  g_assert_error (d.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Long before the sleep's 30 s. */
  g_assert_cmpint (d.at - cancelled_at, <, dal_test_scaled_ms (5000) * 1000);

  dal_test_wait_for (&o.done, 10000);
  g_assert_no_error (o.error);
  g_assert_cmpstr (dal_result_get_string (o.result, 0, 1, NULL), ==, other_mark);

  /* The connection serves; nothing of the batch stayed. */
  assert_count (conn, table, "0");
  assert_count (other, table, "0");
  done_clear (&d);
  done_clear (&o);
  dal_test_drop_table (conn, table);
}

typedef struct
{
  const char *mark;
  GCancellable *cancellable;
} Canceller;

static gpointer
cancel_when_running (gpointer data)
{
  Canceller *k = data;
  wait_running (k->mark, FALSE);
  g_cancellable_cancel (k->cancellable);
  return NULL;
}

/* Blocking: cancelled from another thread while the server sleeps in it. */
static void
test_batch_cancel_blocking (gconstpointer data)
{
  const Case *c = data;
  if (!dal_test_require_pgbouncer ())
    return;
  g_autoptr (DalConnection) conn = open_bouncer (c->scheme, NULL);
  g_autofree char *table = make_table (conn);
  g_autofree char *mark = new_mark ("blocking");
  g_autoptr (DalBatch) batch = sleepy_batch (table, mark, 30);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Canceller k = { mark, cancellable };
  GThread *t = g_thread_new ("canceller", cancel_when_running, &k);

  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (DalBatchResult) br = dal_connection_run_batch (conn, batch, cancellable, &error);
  g_thread_join (t);
  g_assert_null (br);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, dal_test_scaled_ms (10000) * 1000);
  assert_count (conn, table, "0");
  dal_test_drop_table (conn, table);
}

/* The batch's statement errors after command_timeout: the sleep timed
 * out, the one after it was skipped, the first was rolled back. */
static void
assert_timed_out (DalBatchResult *br)
{
  g_assert_nonnull (br);
  g_autoptr (GError) error = NULL;
  g_assert_false (dal_batch_result_check (br, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_clear_error (&error);
  g_assert_null (dal_batch_result_get (br, 1, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_clear_error (&error);
  g_assert_null (dal_batch_result_get (br, 2, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_BATCH_ABORTED);
}

#define TIMEOUT_MS 500
#define MARGIN_MS 1500

static void
assert_at_timeout (gint64 start, gint64 end)
{
  gint64 ms = (end - start) / 1000;
  g_test_message ("timed out after %" G_GINT64_FORMAT " ms", ms);
  g_assert_cmpint (ms, >=, TIMEOUT_MS);
  g_assert_cmpint (ms, <, TIMEOUT_MS + dal_test_scaled_ms (MARGIN_MS));
}

/* command_timeout shorter than the batch's sleep, blocking and async. */
static void
test_batch_timeout (gconstpointer data)
{
  const Case *c = data;
  if (!dal_test_require_pgbouncer ())
    return;
  g_autoptr (DalConnection) conn = open_bouncer (c->scheme, "command_timeout=0.5");
  g_autofree char *table = make_table (conn);
  g_autofree char *mark = new_mark ("timeout");
  g_autoptr (DalBatch) batch = sleepy_batch (table, mark, 10);

  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (DalBatchResult) br = dal_connection_run_batch (conn, batch, NULL, &error);
  gint64 end = g_get_monotonic_time ();
  g_assert_no_error (error);
  assert_timed_out (br);
  assert_at_timeout (start, end);
  assert_count (conn, table, "0");

  Done d = { 0 };
  start = g_get_monotonic_time ();
  dal_connection_run_batch_async (conn, batch, NULL, batch_done, &d);
  dal_test_wait_for (&d.done, 10000);
  g_assert_no_error (d.error);
  assert_timed_out (d.br);
  assert_at_timeout (start, d.at);
  assert_count (conn, table, "0");
  done_clear (&d);
  dal_test_drop_table (conn, table);
}

/* -- executemany -- */

/* Holds every server connection of PgBouncer at once (a client in a
 * transaction keeps its own) and asks each what it has prepared. */
static void
assert_nothing_prepared (const char *scheme)
{
  DalConnection *held[SERVERS];
  g_autoptr (GHashTable) backends = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                           g_free, NULL);
  for (guint i = 0; i < SERVERS; i++)
    {
      g_autoptr (GError) error = NULL;
      held[i] = open_bouncer (scheme, NULL);
      dal_test_exec (held[i], "BEGIN");
      g_autoptr (DalResult) r = dal_connection_query (
        held[i], "SELECT pg_backend_pid()::text, "
                 "(SELECT count(*) FROM pg_prepared_statements)::text",
        NULL, NULL, &error);
      g_assert_no_error (error);
      g_test_message ("server backend %s: %s prepared", dal_result_get_string (r, 0, 0, NULL),
                      dal_result_get_string (r, 0, 1, NULL));
      g_assert_cmpstr (dal_result_get_string (r, 0, 1, NULL), ==, "0");
      g_hash_table_add (backends, g_strdup (dal_result_get_string (r, 0, 0, NULL)));
    }
  g_assert_cmpuint (g_hash_table_size (backends), ==, SERVERS);
  for (guint i = 0; i < SERVERS; i++)
    {
      dal_test_exec (held[i], "ROLLBACK");
      g_object_unref (held[i]);
    }
}

static void
many_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Done *d = data;
  gint64 n = dal_connection_execute_many_finish (DAL_CONNECTION (source), res, &d->error);
  g_assert_cmpint (n, ==, d->error != NULL ? -1 : 100);
  d->done = TRUE;
}

static void
test_execute_many (gconstpointer data)
{
  const Case *c = data;
  if (!dal_test_require_pgbouncer ())
    return;
  g_autoptr (DalConnection) conn = open_bouncer (c->scheme, NULL);
  g_autofree char *table = make_table (conn);
  g_autofree char *insert = g_strdup_printf ("INSERT INTO %s (id, name) VALUES ($1, $2)",
                                             table);

  /* Texts, blocking: 100 rows. */
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 1; i <= 100; i++)
    {
      g_ptr_array_add (values, g_strdup_printf ("%u", i));
      g_ptr_array_add (values, g_strdup_printf ("row %u", i));
    }
  g_autoptr (GError) error = NULL;
  gint64 n = dal_connection_execute_many_texts (conn, insert, 100, 2,
                                                (const char * const *) values->pdata,
                                                NULL, &error);
  g_ptr_array_unref (values);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 100);

  /* GVariant rows, async: 100 more. */
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(is)"));
  for (gint i = 101; i <= 200; i++)
    g_variant_builder_add (&b, "(is)", i, "async");
  Done d = { 0 };
  dal_connection_execute_many_async (conn, insert, g_variant_builder_end (&b), NULL,
                                     many_done, &d);
  dal_test_wait_for (&d.done, 10000);
  g_assert_no_error (d.error);

  /* A row the server refuses: none of that batch stays. */
  g_autofree char *dup = g_strdup_printf ("INSERT INTO %s (id) VALUES ($1)", table);
  const char *dup_ids[] = { "500", "501", "7", "502" };
  n = dal_connection_execute_many_texts (conn, dup, 4, 1, dup_ids, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "23505");
  g_assert_true (g_str_has_prefix (error->message, "row 3 of 4: "));

  g_autofree char *sum = g_strdup_printf ("SELECT count(*) || ':' || sum(id) FROM %s", table);
  assert_scalar (conn, sum, "200:20100");
  dal_test_drop_table (conn, table);
  assert_nothing_prepared (c->scheme);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autofree char *copy = g_strdup_printf ("/pgbouncer/copy/%s", c->name);
      g_autofree char *copy_async = g_strdup_printf ("/pgbouncer/copy-async/%s", c->name);
      g_autofree char *cancel_async = g_strdup_printf ("/pgbouncer/batch-cancel/async/%s",
                                                       c->name);
      g_autofree char *cancel_blocking = g_strdup_printf (
        "/pgbouncer/batch-cancel/blocking/%s", c->name);
      g_autofree char *timeout = g_strdup_printf ("/pgbouncer/batch-timeout/%s", c->name);
      g_autofree char *many = g_strdup_printf ("/pgbouncer/execute-many/%s", c->name);
      g_test_add_data_func (copy, c, test_copy);
      g_test_add_data_func (copy_async, c, test_copy_async);
      g_test_add_data_func (cancel_async, c, test_batch_cancel_async);
      g_test_add_data_func (cancel_blocking, c, test_batch_cancel_blocking);
      g_test_add_data_func (timeout, c, test_batch_timeout);
      g_test_add_data_func (many, c, test_execute_many);
    }
  return g_test_run ();
}
