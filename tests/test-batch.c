/* test-batch.c: batches and executemany (dal-batch.h), live, on both
 * PostgreSQL plugins, directly (pgasync also with its statement cache)
 * and through the harness's PgBouncer in transaction mode (with session
 * settings, which must hold inside the batch); the refusal of a plugin
 * without batches (the fake plugins, no server). */
#include "config.h"

#include <string.h>

#include "dal-test.h"

typedef struct
{
  const char *name;
  const char *scheme;
  const char *extra;   /* URL query options */
  gboolean bouncer;    /* through PgBouncer in transaction mode */
} Case;

static const Case cases[] = {
  { "asyncpg", "postgresql+asyncpg", NULL, FALSE },
  { "asyncpg-cache", "postgresql+asyncpg", "statement_cache_size=2", FALSE },
  { "psycopg2", "postgresql+psycopg2", NULL, FALSE },
  { "asyncpg-bouncer", "postgresql+asyncpg", NULL, TRUE },
  { "psycopg2-bouncer", "postgresql+psycopg2", NULL, TRUE },
};

#define BOUNCER_TIMEOUT "4321ms"
#define BOUNCER_OPTIONS "-c%20statement_timeout%3D" BOUNCER_TIMEOUT

/* -- helpers -- */

static gboolean
live_or_skip (const Case *c)
{
  if (!dal_test_require_live ())
    return FALSE;
  if (c->bouncer && g_getenv ("DAL_TEST_PGBOUNCER_PORT") == NULL)
    {
      if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
        g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set");
      else
        g_test_skip ("no PgBouncer");
      return FALSE;
    }
  return TRUE;
}

/* The URL of @c, with @extra query options. */
static char *
case_url (const Case *c, const char *extra)
{
  g_autofree char *url = NULL;
  if (c->bouncer)
    {
      g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s",
                                             dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
      g_autofree char *q = g_strdup_printf (
        "sslmode=disable&pooler_mode=transaction&options=%s%s%s", BOUNCER_OPTIONS,
        extra != NULL ? "&" : "", extra != NULL ? extra : "");
      url = dal_test_url_full (c->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                               dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                               dal_test_env ("DAL_TEST_PG_DATABASE"), q);
    }
  else
    {
      g_autofree char *q = g_strjoin ("&", c->extra != NULL ? c->extra : extra,
                                      c->extra != NULL ? extra : NULL, NULL);
      url = dal_test_url (c->scheme, q[0] != '\0' ? q : NULL);
    }
  /* (a loaded machine, valgrind: connecting may take longer) */
  return g_strdup_printf ("%s&connect_timeout=%g", url, 10 * dal_test_time_scale ());
}

static DalConnection *
open_case (const Case *c, const char *extra)
{
  g_autofree char *url = case_url (c, extra);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static char *make_table (DalConnection *conn);

/* A test's start: its connection (NULL: the test is skipped) and, when
 * @table is not NULL, a fresh table of its own. */
static DalConnection *
begin_test (gconstpointer data, const char *extra, char **table)
{
  const Case *c = data;
  if (!live_or_skip (c))
    return NULL;
  DalConnection *conn = open_case (c, extra);
  if (table != NULL)
    *table = make_table (conn);
  return conn;
}

static void
exec (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  dal_connection_execute (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* A fresh table of the test's own: (id int primary key, name text,
 * score float8, ok bool, data bytea). */
static char *
make_table (DalConnection *conn)
{
  char *name = g_strdup_printf ("batch_%08x", g_random_int ());
  g_autofree char *sql = g_strdup_printf (
    "CREATE TABLE %s (id int PRIMARY KEY, name text, score float8, ok bool, "
    "data bytea)", name);
  exec (conn, sql);
  return name;
}

static void
drop_table (DalConnection *conn, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("DROP TABLE %s", table);
  exec (conn, sql);
}

static gint64
count_rows (DalConnection *conn, const char *table)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  gint64 n = dal_result_get_int64 (r, 0, 0, &error);
  g_assert_no_error (error);
  return n;
}

/* One async call, recorded: completes exactly once, never inside the
 * _async call. */
typedef struct
{
  gboolean in_call;
  guint calls;
  GAsyncResult *res;
} Wait;

static void
done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;
  g_assert_false (w->in_call);
  w->calls++;
  g_clear_object (&w->res);
  w->res = g_object_ref (res);
}

/* Waits for @w, then runs what else is ready: a second completion would
 * show now. */
static GAsyncResult *
wait_done (Wait *w)
{
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (20000) * 1000;
  while (w->res == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (w->res);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (w->calls, ==, 1);
  return w->res;
}

/* Starts an async call with done_cb and @w, checking that it did not
 * complete inside the call. */
#define START(w, call) \
  G_STMT_START { (w) = (Wait) { .in_call = TRUE }; call; (w).in_call = FALSE; \
                 g_assert_null ((w).res); } G_STMT_END

static DalBatchResult *
run_async (DalConnection *conn, DalBatch *batch, GCancellable *cancellable,
           GError **error)
{
  Wait w;
  START (w, dal_connection_run_batch_async (conn, batch, cancellable, done_cb, &w));
  DalBatchResult *br = dal_connection_run_batch_finish (conn, wait_done (&w), error);
  g_object_unref (w.res);
  return br;
}

/* -- results per statement -- */

/* Every statement's outcome as one line of text, to compare runs. */
static char *
describe (DalBatchResult *br)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < dal_batch_result_get_size (br); i++)
    {
      g_autoptr (GError) e = NULL;
      DalResult *r = dal_batch_result_get (br, i, &e);
      if (r == NULL)
        {
          g_string_append_printf (s, "[%u error %s %s]", i,
                                  dal_error_code_to_string (e->code),
                                  dal_error_get_sqlstate (e));
          continue;
        }
      g_string_append_printf (s, "[%u %s:", i, dal_result_get_command_tag (r));
      for (guint row = 0; row < dal_result_get_n_rows (r); row++)
        for (guint col = 0; col < dal_result_get_n_columns (r); col++)
          {
            const char *v = dal_result_get_string (r, row, col, NULL);
            g_string_append_printf (s, " %s", v != NULL ? v : "NULL");
          }
      g_string_append (s, "]");
    }
  return g_string_free (s, FALSE);
}

static DalBatch *
typed_batch (const char *table)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalBatch) b = dal_batch_new ();
  g_autofree char *ins = g_strdup_printf (
    "INSERT INTO %s (id, name, score, ok, data) VALUES ($1, $2, $3, $4, $5)", table);
  static const guint8 bytes[] = { 0, 1, 0xfe };
  g_assert_true (dal_batch_add (b, ins,
                                g_variant_new ("(ismdb@ay)", 1, "one", NULL, TRUE,
                                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                          bytes, 3, 1)),
                                &error));
  g_assert_no_error (error);
  g_assert_true (dal_batch_add (b, ins,
                                g_variant_new ("(xsdbmay)", (gint64) 2, "two", 2.5, FALSE, NULL),
                                &error));
  g_assert_no_error (error);
  dal_batch_add_texts (b, ins, 5, (const char *[]) { "3", "three", "-1e3", NULL, NULL });
  g_autofree char *sel = g_strdup_printf (
    "SELECT id, name, score, ok, encode(data, 'hex') FROM %s WHERE id >= $1 ORDER BY id",
    table);
  g_assert_true (dal_batch_add (b, sel, g_variant_new ("(i)", 1), &error));
  g_assert_no_error (error);
  dal_batch_add (b, "SHOW statement_timeout", NULL, &error);
  g_assert_no_error (error);
  dal_batch_add (b, "SELECT $1::int + $2::int", g_variant_new ("(nq)", 20, 22), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_batch_get_size (b), ==, 6);
  return g_steal_pointer (&b);
}

static void
test_results (gconstpointer data)
{
  g_autofree char *table = NULL;
  g_autoptr (DalConnection) conn = begin_test (data, NULL, &table);
  if (conn == NULL)
    return;
  g_autoptr (DalBatch) b = typed_batch (table);

  g_autoptr (GError) error = NULL;
  g_autoptr (DalBatchResult) br = dal_connection_run_batch (conn, b, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_batch_result_get_size (br), ==, 6);
  g_assert_true (dal_batch_result_check (br, &error));
  g_assert_no_error (error);
  /* 3 inserts, 3 rows selected, SHOW (none), 1 row */
  g_assert_cmpint (dal_batch_result_get_affected_rows (br), ==, 3 + 3 + 0 + 1);

  DalResult *sel = dal_batch_result_get (br, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (sel), ==, 3);
  g_assert_cmpstr (dal_result_get_string (sel, 0, 1, NULL), ==, "one");
  g_assert_true (dal_result_is_null (sel, 0, 2));
  g_assert_cmpstr (dal_result_get_string (sel, 0, 3, NULL), ==, "t");
  g_assert_cmpstr (dal_result_get_string (sel, 0, 4, NULL), ==, "0001fe");
  g_assert_cmpstr (dal_result_get_string (sel, 1, 2, NULL), ==, "2.5");
  g_assert_cmpstr (dal_result_get_string (sel, 1, 3, NULL), ==, "f");
  g_assert_cmpstr (dal_result_get_string (sel, 2, 2, NULL), ==, "-1000");
  g_assert_true (dal_result_is_null (sel, 2, 3));
  DalResult *show = dal_batch_result_get (br, 4, &error);
  g_assert_no_error (error);
  if (((const Case *) data)->bouncer)  /* the session settings hold inside the batch */
    g_assert_cmpstr (dal_result_get_string (show, 0, 0, NULL), ==, BOUNCER_TIMEOUT);
  DalResult *sum = dal_batch_result_get (br, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (sum, 0, 0, NULL), ==, "42");
  g_autofree char *sync_text = describe (br);
  g_test_message ("%s", sync_text);

  /* Async gives the same (after the rows are gone again). */
  g_autofree char *del = g_strdup_printf ("DELETE FROM %s", table);
  exec (conn, del);
  g_autoptr (DalBatchResult) abr = run_async (conn, b, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *async_text = describe (abr);
  g_assert_cmpstr (async_text, ==, sync_text);

  /* Twice more, so that the statement cache serves from its entries. */
  exec (conn, del);
  g_autoptr (DalBatchResult) again = dal_connection_run_batch (conn, b, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *again_text = describe (again);
  g_assert_cmpstr (again_text, ==, sync_text);
  drop_table (conn, table);
}

/* -- a statement that fails in the middle -- */

static void
check_failed_batch (DalConnection *conn, DalBatchResult *br, const char *table)
{
  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (dal_batch_result_get_size (br), ==, 4);
  DalResult *first = dal_batch_result_get (br, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_affected_rows (first), ==, 1);

  g_assert_null (dal_batch_result_get (br, 1, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22012");
  g_clear_error (&error);
  for (guint i = 2; i < 4; i++)
    {
      g_assert_null (dal_batch_result_get (br, i, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_BATCH_ABORTED);
      g_assert_nonnull (strstr (error->message, "statement 2 of the batch failed first"));
      g_assert_nonnull (strstr (error->message, "rolled back"));
      g_clear_error (&error);
    }
  g_assert_false (dal_batch_result_check (br, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "statement 2 of 4: "));
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22012");
  g_assert_cmpint (dal_batch_result_get_affected_rows (br), ==, 1);
  /* The insert before the failure was rolled back with the batch. */
  g_assert_cmpint (count_rows (conn, table), ==, 0);
}

static void
test_failure (gconstpointer data)
{
  g_autofree char *table = NULL;
  g_autoptr (DalConnection) conn = begin_test (data, NULL, &table);
  if (conn == NULL)
    return;
  g_autofree char *ins = g_strdup_printf ("INSERT INTO %s (id) VALUES ($1)", table);

  g_autoptr (DalBatch) b = dal_batch_new ();
  dal_batch_add_texts (b, ins, 1, (const char *[]) { "1" });
  dal_batch_add (b, "SELECT 1 / $1::int", g_variant_new ("(i)", 0), NULL);
  dal_batch_add_texts (b, ins, 1, (const char *[]) { "2" });
  dal_batch_add (b, "SELECT 3", NULL, NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (DalBatchResult) br = dal_connection_run_batch (conn, b, NULL, &error);
  g_assert_no_error (error);
  check_failed_batch (conn, br, table);
  g_autoptr (DalBatchResult) abr = run_async (conn, b, NULL, &error);
  g_assert_no_error (error);
  check_failed_batch (conn, abr, table);

  /* A COMMIT inside the batch keeps what came before it. */
  g_autoptr (DalBatch) tx = dal_batch_new ();
  dal_batch_add (tx, "BEGIN", NULL, NULL);
  dal_batch_add_texts (tx, ins, 1, (const char *[]) { "10" });
  dal_batch_add (tx, "COMMIT", NULL, NULL);
  dal_batch_add (tx, "SELECT 1 / 0", NULL, NULL);
  dal_batch_add_texts (tx, ins, 1, (const char *[]) { "11" });
  g_autoptr (DalBatchResult) tbr = dal_connection_run_batch (conn, tx, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (dal_batch_result_check (tbr, &error));
  g_assert_true (g_str_has_prefix (error->message, "statement 4 of 5: "));
  g_clear_error (&error);
  g_assert_cmpint (count_rows (conn, table), ==, 1);

  /* The connection serves on. */
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 7", NULL, NULL, &error);
  g_assert_no_error (error);
  drop_table (conn, table);
}

/* -- executemany -- */

#define N_ROWS 1000

static void
test_execute_many (gconstpointer data)
{
  g_autofree char *table = NULL;
  g_autoptr (DalConnection) conn = begin_test (data, NULL, &table);
  if (conn == NULL)
    return;
  g_autofree char *ins = g_strdup_printf (
    "INSERT INTO %s (id, name, score) VALUES ($1, $2, $3)", table);
  g_autoptr (GError) error = NULL;

  /* GVariant rows, blocking. */
  GVariantBuilder rows;
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(isd)"));
  for (int i = 0; i < N_ROWS; i++)
    g_variant_builder_add (&rows, "(isd)", i, "row", i / 4.0);
  gint64 n = dal_connection_execute_many (conn, ins, g_variant_builder_end (&rows),
                                          NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, N_ROWS);
  g_assert_cmpint (count_rows (conn, table), ==, N_ROWS);

  /* Texts, async. */
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < N_ROWS; i++)
    {
      g_ptr_array_add (texts, g_strdup_printf ("%d", N_ROWS + i));
      g_ptr_array_add (texts, NULL);
      g_ptr_array_add (texts, g_strdup ("1.5"));
    }
  Wait w;
  START (w, dal_connection_execute_many_texts_async (conn, ins, N_ROWS, 3,
                                                     (const char * const *) texts->pdata,
                                                     NULL, done_cb, &w));
  n = dal_connection_execute_many_texts_finish (conn, wait_done (&w), &error);
  g_clear_object (&w.res);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, N_ROWS);
  g_assert_cmpint (count_rows (conn, table), ==, 2 * N_ROWS);

  /* One row the server refuses: nothing of the batch is kept. */
  g_autofree char *del = g_strdup_printf ("DELETE FROM %s", table);
  exec (conn, del);
  g_ptr_array_set_size (texts, 0);
  for (int i = 0; i < N_ROWS; i++)
    {
      g_ptr_array_add (texts, i == 56 ? g_strdup ("not a number") : g_strdup_printf ("%d", i));
      g_ptr_array_add (texts, g_strdup ("x"));
      g_ptr_array_add (texts, NULL);
    }
  n = dal_connection_execute_many_texts (conn, ins, N_ROWS, 3,
                                         (const char * const *) texts->pdata,
                                         NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22P02");
  g_assert_true (g_str_has_prefix (error->message, "row 57 of 1000: "));
  g_clear_error (&error);
  g_assert_cmpint (count_rows (conn, table), ==, 0);

  /* The same async, with a duplicate key in the last row. */
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(isd)"));
  for (int i = 0; i < N_ROWS; i++)
    g_variant_builder_add (&rows, "(isd)", i == N_ROWS - 1 ? 0 : i, "row", 0.0);
  START (w, dal_connection_execute_many_async (conn, ins, g_variant_builder_end (&rows),
                                               NULL, done_cb, &w));
  n = dal_connection_execute_many_finish (conn, wait_done (&w), &error);
  g_clear_object (&w.res);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "23505");
  g_assert_true (g_str_has_prefix (error->message, "row 1000 of 1000: "));
  g_clear_error (&error);
  g_assert_cmpint (count_rows (conn, table), ==, 0);

  /* Parameters libdal cannot send: refused before anything is sent. */
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(iv)"));
  g_variant_builder_add (&rows, "(iv)", 1, g_variant_new_string ("a"));
  g_variant_builder_add (&rows, "(iv)", 2, g_variant_new_parsed ("{'k': 1}"));
  n = dal_connection_execute_many (conn, ins, g_variant_builder_end (&rows), NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_assert_true (g_str_has_prefix (error->message, "row 2 of 2: parameter $2"));
  g_clear_error (&error);
  n = dal_connection_execute_many (conn, ins, g_variant_new ("(i)", 1), NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_assert_nonnull (strstr (error->message, "array of tuples"));
  g_clear_error (&error);
  n = dal_connection_execute_many (conn, ins, g_variant_new_array (G_VARIANT_TYPE ("(i)"), NULL, 0),
                                   NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_clear_error (&error);
  g_assert_cmpint (count_rows (conn, table), ==, 0);
  drop_table (conn, table);
}

/* -- batch-level errors -- */

static void
test_empty (gconstpointer data)
{
  g_autoptr (DalConnection) conn = begin_test (data, NULL, NULL);
  if (conn == NULL)
    return;
  g_autoptr (DalBatch) b = dal_batch_new ();
  g_autoptr (GError) error = NULL;
  g_assert_null (dal_connection_run_batch (conn, b, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_assert_nonnull (strstr (error->message, "the batch is empty"));
  g_clear_error (&error);
  g_assert_null (run_async (conn, b, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_clear_error (&error);

  /* Through a transaction pooler, LISTEN in a batch is refused as on its
   * own (its notifications could never arrive). */
  if (((const Case *) data)->bouncer)
    {
      g_autoptr (DalBatch) listen = dal_batch_new ();
      dal_batch_add (listen, "SELECT 1", NULL, NULL);
      dal_batch_add (listen, "LISTEN batch_channel", NULL, NULL);
      g_assert_null (dal_connection_run_batch (conn, listen, NULL, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
      g_clear_error (&error);
      g_assert_null (run_async (conn, listen, NULL, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
      g_clear_error (&error);
    }

  /* A closed connection. */
  dal_batch_add (b, "SELECT 1", NULL, NULL);
  dal_connection_close (conn, NULL, NULL);
  g_assert_null (dal_connection_run_batch (conn, b, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_null (run_async (conn, b, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CLOSED);
}

static void
test_unsupported (void)
{
  const char *dir = dal_test_env ("DAL_TEST_PLUGINS");
  DalRegistry *registry = dal_registry_new ((const char *[]) { dir, NULL }, FALSE);
  static const char *const urls[] = { "test+sync://tester@localhost/db",
                                      "test+async://tester@localhost/db" };
  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalUrl) url = dal_url_parse (urls[i], &error);
      g_assert_no_error (error);
      g_autoptr (DalConnection) conn = dal_connection_open_url (registry, url, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (DalBatch) b = dal_batch_new ();
      dal_batch_add (b, "SELECT 1", NULL, NULL);
      g_assert_null (dal_connection_run_batch (conn, b, NULL, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, dal_connection_get_plugin_name (conn)));
      g_clear_error (&error);
      g_assert_null (run_async (conn, b, NULL, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
      g_clear_error (&error);
      g_assert_cmpint (dal_connection_execute_many_texts (conn, "SELECT $1", 1, 1,
                                                          (const char *[]) { "1" },
                                                          NULL, &error), ==, -1);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
    }
  dal_registry_free (registry);  /* after its connections */
}

/* -- cancel and command_timeout of a long batch -- */

typedef struct
{
  int pid;
  GCancellable *cancellable;
  gboolean saw_sleep;
} Canceller;

static gpointer
cancel_when_sleeping (gpointer data)
{
  Canceller *k = data;
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (10000) * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_autofree char *sql = g_strdup_printf (
        "SELECT coalesce((SELECT state || ':' || query FROM pg_stat_activity "
        "WHERE pid = %d), 'gone')", k->pid);
      g_autofree char *a = dal_test_admin_query (sql);
      if (g_str_has_prefix (a, "active:") && strstr (a, "pg_sleep") != NULL)
        {
          k->saw_sleep = TRUE;
          break;
        }
      g_usleep (20000);  /* polling the server's state, not waiting for time */
    }
  g_cancellable_cancel (k->cancellable);
  return NULL;
}

static int
backend_pid (DalConnection *conn)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT pg_backend_pid()", NULL,
                                                  NULL, &error);
  g_assert_no_error (error);
  return dal_result_get_int (r, 0, 0, NULL);
}

static DalBatch *
sleepy_batch (const char *table)
{
  g_autofree char *ins = g_strdup_printf ("INSERT INTO %s (id) VALUES ($1)", table);
  g_autofree char *sleep = g_strdup_printf ("SELECT pg_sleep(%g)", 30 * dal_test_time_scale ());
  DalBatch *b = dal_batch_new ();
  dal_batch_add_texts (b, ins, 1, (const char *[]) { "1" });
  dal_batch_add (b, sleep, NULL, NULL);
  dal_batch_add_texts (b, ins, 1, (const char *[]) { "2" });
  return b;
}

static void
test_cancel (gconstpointer data)
{
  g_autofree char *table = NULL;
  g_autoptr (DalConnection) conn = begin_test (data, NULL, &table);
  if (conn == NULL)
    return;
  g_autoptr (DalBatch) b = sleepy_batch (table);
  g_autoptr (GError) error = NULL;

  for (guint async = 0; async < 2; async++)
    {
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      Canceller k = { backend_pid (conn), cancellable, FALSE };
      GThread *t = g_thread_new ("canceller", cancel_when_sleeping, &k);
      gint64 start = g_get_monotonic_time ();
      g_autoptr (DalBatchResult) br = async ? run_async (conn, b, cancellable, &error)
                                            : dal_connection_run_batch (conn, b, cancellable,
                                                                        &error);
      gint64 took_ms = (g_get_monotonic_time () - start) / 1000;
      g_thread_join (t);
      g_assert_true (k.saw_sleep);
      g_assert_null (br);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_cmpint (took_ms, <, dal_test_scaled_ms (10000));
      /* Usable afterwards, and nothing of the batch was kept. */
      g_assert_cmpint (count_rows (conn, table), ==, 0);
    }
  drop_table (conn, table);
}

static void
test_timeout (gconstpointer data)
{
  g_autofree char *table = NULL;
  g_autoptr (DalConnection) conn = begin_test (data, "command_timeout=0.3", &table);
  if (conn == NULL)
    return;
  g_autoptr (DalBatch) b = sleepy_batch (table);
  g_autoptr (GError) error = NULL;

  for (guint async = 0; async < 2; async++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr (DalBatchResult) br = async ? run_async (conn, b, NULL, &error)
                                            : dal_connection_run_batch (conn, b, NULL, &error);
      gint64 took_ms = (g_get_monotonic_time () - start) / 1000;
      g_assert_no_error (error);
      g_assert_cmpint (took_ms, >=, 300);
      g_assert_cmpint (took_ms, <, dal_test_scaled_ms (10000));
      g_assert_nonnull (dal_batch_result_get (br, 0, NULL));
      g_assert_null (dal_batch_result_get (br, 1, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
      g_clear_error (&error);
      g_assert_null (dal_batch_result_get (br, 2, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_BATCH_ABORTED);
      g_clear_error (&error);
      g_assert_cmpint (count_rows (conn, table), ==, 0);
    }
  drop_table (conn, table);
}

/* -- in order with other async calls -- */

typedef struct
{
  guint *order;
  guint me;
  guint *seen;
} OrderData;

static void
order_query_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  OrderData *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), res, &error);
  g_assert_no_error (error);
  d->order[(*d->seen)++] = d->me;
}

static void
order_batch_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  OrderData *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalBatchResult) br = dal_connection_run_batch_finish (DAL_CONNECTION (source),
                                                                   res, &error);
  g_assert_no_error (error);
  g_assert_true (dal_batch_result_check (br, &error));
  d->order[(*d->seen)++] = d->me;
}

static void
test_order (gconstpointer data)
{
  g_autoptr (DalConnection) conn = begin_test (data, NULL, NULL);
  if (conn == NULL)
    return;
  g_autoptr (DalBatch) b = dal_batch_new ();
  for (int i = 0; i < 50; i++)
    dal_batch_add (b, "SELECT $1::int", g_variant_new ("(i)", i), NULL);

  guint order[6] = { 0 };
  guint seen = 0;
  OrderData d[6];
  for (guint i = 0; i < 6; i++)
    {
      d[i] = (OrderData) { order, i, &seen };
      if (i % 2 == 0)
        dal_connection_query_async (conn, "SELECT 1", NULL, NULL, order_query_cb, &d[i]);
      else
        dal_connection_run_batch_async (conn, b, NULL, order_batch_cb, &d[i]);
    }
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (20000) * 1000;
  while (seen < 6 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (seen, ==, 6);
  for (guint i = 0; i < 6; i++)
    g_assert_cmpuint (order[i], ==, i);
}

/* -- the pool's one-shot forms -- */

static void
test_pool (gconstpointer data)
{
  g_autofree char *table = NULL;
  g_autoptr (DalConnection) conn = begin_test (data, NULL, &table);
  if (conn == NULL)
    return;
  g_autofree char *ins = g_strdup_printf ("INSERT INTO %s (id) VALUES ($1)", table);
  /* One connection: whatever a batch leaves on it, the next one-shot sees. */
  g_autofree char *url = case_url (data, "pool_max_size=1&pool_min_size=1");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalPool) pool = dal_pool_open (url, NULL, &error);
  g_assert_no_error (error);

  GVariantBuilder rows;
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(i)"));
  for (int i = 0; i < 100; i++)
    g_variant_builder_add (&rows, "(i)", i);
  g_assert_cmpint (dal_pool_execute_many (pool, ins, g_variant_builder_end (&rows), NULL,
                                          &error), ==, 100);
  g_assert_no_error (error);
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(i)"));
  for (int i = 100; i < 150; i++)
    g_variant_builder_add (&rows, "(i)", i == 149 ? 5 : i);
  Wait w;
  START (w, dal_pool_execute_many_async (pool, ins, g_variant_builder_end (&rows), NULL,
                                         done_cb, &w));
  g_assert_cmpint (dal_pool_execute_many_finish (pool, wait_done (&w), &error), ==, -1);
  g_clear_object (&w.res);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "row 50 of 50: "));
  g_clear_error (&error);
  g_assert_cmpint (count_rows (conn, table), ==, 100);

  /* A batch that changes the session: its SET holds inside it, and the
   * pool resets the connection before the next one-shot. */
  g_autoptr (DalBatch) b = dal_batch_new ();
  dal_batch_add (b, "SET statement_timeout = '1234ms'", NULL, NULL);
  dal_batch_add (b, "SHOW statement_timeout", NULL, NULL);
  g_autoptr (DalBatchResult) br = dal_pool_run_batch (pool, b, NULL, &error);
  g_assert_no_error (error);
  DalResult *show = dal_batch_result_get (br, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (show, 0, 0, NULL), ==, "1234ms");
  g_autoptr (DalResult) after = dal_pool_query (pool, "SHOW statement_timeout", NULL,
                                                NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (after, 0, 0, NULL), !=, "1234ms");

  START (w, dal_pool_run_batch_async (pool, b, NULL, done_cb, &w));
  g_autoptr (DalBatchResult) abr = dal_pool_run_batch_finish (pool, wait_done (&w), &error);
  g_clear_object (&w.res);
  g_assert_no_error (error);
  g_assert_true (dal_batch_result_check (abr, NULL));
  /* (async: the reset after an async one-shot runs on this context) */
  START (w, dal_pool_query_async (pool, "SHOW statement_timeout", NULL, NULL, done_cb, &w));
  g_autoptr (DalResult) after2 = dal_pool_query_finish (pool, wait_done (&w), &error);
  g_clear_object (&w.res);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (after2, 0, 0, NULL), !=, "1234ms");
  dal_pool_close (pool);
  drop_table (conn, table);
}

/* A statement's result outlives its batch result when the caller keeps a
 * reference to it (the results of a batch may share one block). */
static void
test_result_outlives (gconstpointer data)
{
  g_autoptr (DalConnection) conn = begin_test (data, NULL, NULL);
  if (conn == NULL)
    return;
  g_autoptr (DalBatch) batch = dal_batch_new ();
  dal_batch_add (batch, "SELECT 'first'::text", NULL, NULL);
  dal_batch_add (batch, "SELECT $1::int * 2", g_variant_new ("(i)", 21), NULL);
  g_autoptr (GError) error = NULL;
  DalBatchResult *br = dal_connection_run_batch (conn, batch, NULL, &error);
  g_assert_no_error (error);
  DalResult *first = dal_result_ref (dal_batch_result_get (br, 0, NULL));
  DalResult *second = dal_result_ref (dal_batch_result_get (br, 1, NULL));
  dal_batch_result_unref (br);
  g_assert_cmpstr (dal_result_get_string (first, 0, 0, NULL), ==, "first");
  dal_result_unref (first);
  g_assert_cmpint (dal_result_get_int64 (second, 0, 0, NULL), ==, 42);
  dal_result_unref (second);
}

static void
add (const char *name, GTestDataFunc func, gboolean direct_only)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (direct_only && cases[i].bouncer)
        continue;
      g_autofree char *path = g_strdup_printf ("/batch/%s/%s", name, cases[i].name);
      g_test_add_data_func (path, &cases[i], func);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/batch/unsupported", test_unsupported);
  add ("results", test_results, FALSE);
  add ("failure", test_failure, FALSE);
  add ("execute-many", test_execute_many, FALSE);
  add ("empty-closed", test_empty, FALSE);
  add ("order", test_order, FALSE);
  add ("result-outlives", test_result_outlives, FALSE);
  /* Direct only: through PgBouncer the backend, hence its pid, changes,
   * and a long statement there would hold a server connection that the
   * pool tests running beside this program (make -j) expect to see idle. */
  add ("cancel", test_cancel, TRUE);
  add ("timeout", test_timeout, TRUE);
  add ("pool", test_pool, FALSE);
  return g_test_run ();
}
