/* test-sqlite.c: the SQLite plugin (plugins/sqlite), through the public API.
 *
 * No server: databases are files in a private temporary folder, or in
 * memory.  Covers every URL form and the URLs it refuses, mode=ro, every
 * parameter type round-trip, column types and command tags, errors and
 * their codes, blocking and async calls agreeing, cancellation and
 * command_timeout of a long statement, execute_script, and (live, skipped
 * without the harness) the same application code on sqlite and on
 * postgresql, switched by URL.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "dal-test.h"

static char *tmpdir;

static char *
db_url (const char *name, const char *query)
{
  return g_strdup_printf ("sqlite:///%s/%s%s%s", tmpdir, name,
                          query != NULL ? "?" : "", query != NULL ? query : "");
}

static DalConnection *
open_ok (const char *url)
{
  g_autoptr (GError) error = NULL;
  DalConnection *c = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  g_assert_cmpstr (dal_connection_get_plugin_name (c), ==, "sqlite");
  return c;
}

static void
exec_ok (DalConnection *c, const char *sql)
{
  g_autoptr (GError) error = NULL;
  dal_connection_execute (c, sql, NULL, NULL, &error);
  g_assert_no_error (error);
}

static char *
scalar (DalConnection *c, const char *sql, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (c, sql, params, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

/* -- URL forms -- */

static void
test_url_forms (void)
{
  /* absolute: sqlite:////abs/path.db (tmpdir starts with "/") */
  g_autofree char *abs_url = db_url ("abs.db", NULL);
  g_assert_true (g_str_has_prefix (abs_url, "sqlite:////"));
  g_autoptr (DalConnection) a = open_ok (abs_url);
  exec_ok (a, "CREATE TABLE t (x integer)");
  g_autofree char *abs_file = g_build_filename (tmpdir, "abs.db", NULL);
  g_assert_true (g_file_test (abs_file, G_FILE_TEST_IS_REGULAR));

  /* relative to the working directory */
  g_autofree char *cwd = g_get_current_dir ();
  g_assert_cmpint (g_chdir (tmpdir), ==, 0);
  {
    g_autoptr (DalConnection) r = open_ok ("sqlite+pysqlite:///rel.db");
    exec_ok (r, "CREATE TABLE rel (x integer)");
  }
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_autofree char *rel_file = g_build_filename (tmpdir, "rel.db", NULL);
  g_assert_true (g_file_test (rel_file, G_FILE_TEST_IS_REGULAR));

  /* memory: private to each connection */
  const char *memory[] = { "sqlite://", "sqlite:///:memory:", "sqlite+aiosqlite://" };
  for (guint i = 0; i < G_N_ELEMENTS (memory); i++)
    {
      g_autoptr (DalConnection) m1 = open_ok (memory[i]);
      g_autoptr (DalConnection) m2 = open_ok (memory[i]);
      exec_ok (m1, "CREATE TABLE only_here (x integer)");
      g_autoptr (GError) error = NULL;
      dal_connection_execute (m2, "SELECT * FROM only_here", NULL, NULL, &error);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
      g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42P01");
    }

  /* a named in-memory database shared by the process's connections */
  g_autoptr (DalConnection) s1 = open_ok ("sqlite:///shared1?mode=memory&cache=shared");
  g_autoptr (DalConnection) s2 = open_ok ("sqlite:///shared1?mode=memory&cache=shared");
  exec_ok (s1, "CREATE TABLE both_see (x integer)");
  exec_ok (s2, "INSERT INTO both_see VALUES (1)");

  /* options: the PRAGMAs are applied */
  g_autofree char *wal_url = db_url ("wal.db", "journal_mode=wal&foreign_keys=1&busy_timeout=250");
  g_autoptr (DalConnection) w = open_ok (wal_url);
  g_autofree char *jm = scalar (w, "PRAGMA journal_mode", NULL);
  g_assert_cmpstr (jm, ==, "wal");
  g_autofree char *fk = scalar (w, "PRAGMA foreign_keys", NULL);
  g_assert_cmpstr (fk, ==, "1");
  g_autofree char *bt = scalar (w, "PRAGMA busy_timeout", NULL);
  g_assert_cmpstr (bt, !=, NULL);
}

static void
assert_refused (const char *url, DalErrorCode code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) c = dal_connection_open (url, NULL, &error);
  g_assert_null (c);
  g_assert_error (error, DAL_ERROR, (gint) code);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("%s: \"%s\" does not say \"%s\"", url, error->message, needle);
  g_assert_null (strstr (error->message, "s3cret"));
}

static void
test_url_refused (void)
{
  assert_refused ("sqlite://localhost/x.db", DAL_ERROR_URL_INVALID_VALUE, "a host");
  assert_refused ("sqlite://:5432/x.db", DAL_ERROR_URL_INVALID_VALUE, "a port");
  assert_refused ("sqlite://me@/x.db", DAL_ERROR_URL_INVALID_VALUE, "a user name");
  assert_refused ("sqlite://me:s3cret@/x.db", DAL_ERROR_URL_INVALID_VALUE, "a user name");
  assert_refused ("sqlite://:s3cret@/x.db", DAL_ERROR_URL_INVALID_VALUE, "a password");
  assert_refused ("sqlite:///x.db?sslmode=require", DAL_ERROR_URL_UNKNOWN_OPTION, "sslmode");
  /* The message lists the dialect's options (it declares no docs hint). */
  assert_refused ("sqlite:///x.db?journal=wal", DAL_ERROR_URL_UNKNOWN_OPTION,
                  "options are database, mode, cache");
  assert_refused ("sqlite:///x.db?mode=rx", DAL_ERROR_URL_INVALID_VALUE, "ro, rw, rwc, memory");
  assert_refused ("sqlite:///x.db?busy_timeout=soon", DAL_ERROR_URL_INVALID_VALUE,
                  "whole number");

  g_autofree char *missing = db_url ("missing.db", "mode=rw");
  assert_refused (missing, DAL_ERROR_UNKNOWN_DATABASE, "does not exist");
  g_autofree char *no_dir = db_url ("no/such/folder.db", NULL);
  assert_refused (no_dir, DAL_ERROR_CONNECT_FAILED, "folder must exist");
  g_autofree char *not_db_path = g_build_filename (tmpdir, "not.db", NULL);
  g_assert_true (g_file_set_contents (not_db_path,
                                      "this is a text file, and long enough to be "
                                      "looked at as a database header ...........",
                                      -1, NULL));
  g_autofree char *not_db = db_url ("not.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) c = dal_connection_open (not_db, NULL, &error);
  if (c != NULL)  /* SQLite reads the header lazily: the first statement fails */
    dal_connection_execute (c, "SELECT * FROM sqlite_master", NULL, NULL, &error);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "not a database"));
}

static void
test_mode_ro (void)
{
  g_autofree char *rw = db_url ("ro.db", NULL);
  {
    g_autoptr (DalConnection) c = open_ok (rw);
    exec_ok (c, "CREATE TABLE t (x integer)");
    exec_ok (c, "INSERT INTO t VALUES (1)");
  }
  g_autofree char *ro = db_url ("ro.db", "mode=ro");
  g_autoptr (DalConnection) c = open_ok (ro);
  g_autofree char *n = scalar (c, "SELECT count(*) FROM t", NULL);
  g_assert_cmpstr (n, ==, "1");
  g_autoptr (GError) error = NULL;
  dal_connection_execute (c, "INSERT INTO t VALUES (2)", NULL, NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "25006");
  g_assert_nonnull (strstr (dal_error_get_hint (error), "mode=ro"));
}

/* -- parameters and results -- */

static void
test_params (void)
{
  g_autoptr (DalConnection) c = open_ok ("sqlite://");
  static const guint8 bytes[] = { 0, 1, 0xff, 0, 'a' };
  GVariant *blob = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes,
                                              sizeof bytes, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (
    c,
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, typeof($9), typeof($10), "
    "$11, typeof($12), $12",
    g_variant_new ("(bnixtdsmsvs@ayt)", TRUE, (gint16) -7, (gint32) 123456,
                   G_GINT64_CONSTANT (-9000000000), G_MAXUINT64, 0.1, "héllo",
                   NULL, g_variant_new_int32 (5), "", blob, (guint64) 42),
    NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dal_result_get_boolean (r, 0, 0, NULL));
  g_assert_cmpint (dal_result_get_int (r, 0, 1, NULL), ==, -7);
  g_assert_cmpint (dal_result_get_int (r, 0, 2, NULL), ==, 123456);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 3, NULL), ==, G_GINT64_CONSTANT (-9000000000));
  g_assert_cmpstr (dal_result_get_string (r, 0, 4, NULL), ==, "18446744073709551615");
  g_assert_cmpfloat (dal_result_get_double (r, 0, 5, NULL), ==, 0.1);
  g_assert_cmpint (dal_result_get_column_type (r, 5), ==, DAL_COLUMN_FLOAT64);
  g_assert_cmpstr (dal_result_get_string (r, 0, 6, NULL), ==, "héllo");
  g_assert_true (dal_result_is_null (r, 0, 7));
  g_assert_cmpint (dal_result_get_int (r, 0, 8, NULL), ==, 5);
  g_assert_cmpstr (dal_result_get_string (r, 0, 9, NULL), ==, "");
  g_assert_cmpstr (dal_result_get_string (r, 0, 10, NULL), ==, "integer");
  g_assert_cmpstr (dal_result_get_string (r, 0, 11, NULL), ==, "text");
  g_assert_cmpint (dal_result_get_column_type (r, 12), ==, DAL_COLUMN_BYTES);
  g_autoptr (GBytes) got = dal_result_get_bytes (r, 0, 12, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), bytes, sizeof bytes);
  g_assert_cmpstr (dal_result_get_string (r, 0, 13, NULL), ==, "integer");
  g_assert_cmpint (dal_result_get_int (r, 0, 14, NULL), ==, 42);

  /* $2 before $1, one used twice */
  g_autofree char *order = scalar (c, "SELECT $2 || '-' || $1 || '-' || $2",
                                   g_variant_new ("(ss)", "a", "b"));
  g_assert_cmpstr (order, ==, "b-a-b");

  /* doubles round-trip exactly, extremes included */
  const double doubles[] = { 1e-300, -2.5, 1.0 / 3, G_MAXDOUBLE, 0.0 };
  for (guint i = 0; i < G_N_ELEMENTS (doubles); i++)
    {
      g_autoptr (DalResult) d = dal_connection_query (c, "SELECT $1",
                                                      g_variant_new_double (doubles[i]),
                                                      NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (dal_result_get_double (d, 0, 0, NULL), ==, doubles[i]);
    }

  /* wrong parameter counts and names */
  g_autoptr (DalResult) bad = dal_connection_query (c, "SELECT $1, $2",
                                                    g_variant_new ("(i)", 1), NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_clear_error (&error);
  g_autoptr (DalResult) extra = dal_connection_query (c, "SELECT $1",
                                                      g_variant_new ("(ii)", 1, 2), NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_clear_error (&error);
  g_autoptr (DalResult) named = dal_connection_query (c, "SELECT :x",
                                                      g_variant_new ("(i)", 1), NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  g_assert_nonnull (strstr (error->message, ":x"));
}

static void
test_types_and_tags (void)
{
  g_autoptr (DalConnection) c = open_ok ("sqlite://");
  g_autoptr (GError) error = NULL;
  exec_ok (c, "CREATE TABLE t (id INTEGER PRIMARY KEY, flag boolean, name varchar(20), "
              "price double precision, amount numeric(10,2), data blob, at timestamp, "
              "day date, doc json, anything)");
  g_autoptr (DalResult) ins = dal_connection_query (
    c, "INSERT INTO t (flag, name, price, amount, data, at, day, doc, anything) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9), ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    g_variant_new ("(bsdsssss@ay)", FALSE, "n", 2.5, "12.50", "x",
                   "2024-01-02 03:04:05", "2024-01-02", "{}",
                   g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "z", 1, 1)),
    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_command_tag (ins), ==, "INSERT 0 2");
  g_assert_cmpint (dal_result_get_affected_rows (ins), ==, 2);

  g_autoptr (DalResult) r = dal_connection_query (c, "SELECT * FROM t", NULL, NULL, &error);
  g_assert_no_error (error);
  const DalColumnType want[] = {
    DAL_COLUMN_INT64, DAL_COLUMN_BOOLEAN, DAL_COLUMN_TEXT, DAL_COLUMN_FLOAT64,
    DAL_COLUMN_NUMERIC, DAL_COLUMN_BYTES, DAL_COLUMN_TIMESTAMP, DAL_COLUMN_DATE,
    DAL_COLUMN_JSON, DAL_COLUMN_BYTES,
  };
  g_assert_cmpuint (dal_result_get_n_columns (r), ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpint (dal_result_get_column_type (r, i), ==, want[i]);
  g_assert_cmpstr (dal_result_get_column_type_name (r, 2), ==, "varchar(20)");
  g_assert_cmpstr (dal_result_get_column_type_name (r, 9), ==, "blob");
  g_assert_false (dal_result_get_boolean (r, 0, 1, NULL));
  g_assert_cmpstr (dal_result_get_command_tag (r), ==, "SELECT 2");
  g_assert_cmpint (dal_result_get_affected_rows (r), ==, 2);

  g_autoptr (DalResult) up = dal_connection_query (c, "UPDATE t SET name = 'm' WHERE id = 1",
                                                   NULL, NULL, &error);
  g_assert_cmpstr (dal_result_get_command_tag (up), ==, "UPDATE 1");
  g_autoptr (DalResult) del = dal_connection_query (c, "/* c */ DELETE FROM t", NULL, NULL, &error);
  g_assert_cmpstr (dal_result_get_command_tag (del), ==, "DELETE 2");
  g_autoptr (DalResult) ddl = dal_connection_query (c, "DROP TABLE t", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_affected_rows (ddl), ==, -1);
  g_assert_cmpstr (dal_result_get_command_tag (ddl), ==, "DROP");
}

/* -- errors -- */

static void
test_errors (void)
{
  g_autofree char *url = db_url ("errors.db", "busy_timeout=50");
  g_autoptr (DalConnection) c = open_ok (url);
  g_autoptr (GError) error = NULL;
  exec_ok (c, "CREATE TABLE u (id integer PRIMARY KEY, v text UNIQUE NOT NULL, "
              "n integer CHECK (n > 0))");
  exec_ok (c, "INSERT INTO u (v, n) VALUES ('a', 1)");

  struct { const char *sql; const char *sqlstate; } cases[] = {
    { "INSERT INTO u (v, n) VALUES ('a', 1)", "23505" },
    { "INSERT INTO u (id, v, n) VALUES (1, 'b', 1)", "23505" },
    { "INSERT INTO u (v, n) VALUES (NULL, 1)", "23502" },
    { "INSERT INTO u (v, n) VALUES ('c', 0)", "23514" },
    { "SELECT nope FROM u", "42703" },
    { "SELECT 1; SELECT 2", "42601" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      dal_connection_execute (c, cases[i].sql, NULL, NULL, &error);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
      g_assert_cmpstr (dal_error_get_sqlstate (error), ==, cases[i].sqlstate);
      g_assert_nonnull (dal_error_get_hint (error));
      g_assert_false (dal_error_is_retryable (error));
      g_clear_error (&error);
    }

  /* a syntax error gives its position, in characters */
  dal_connection_execute (c, "SELECT 'é', 2 FROMM u", NULL, NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42601");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_POSITION), ==, "21");  /* "u", after a two-byte é */
  g_clear_error (&error);

  /* another connection's write lock: retryable, after busy_timeout */
  g_autoptr (DalConnection) other = open_ok (url);
  exec_ok (other, "BEGIN IMMEDIATE");
  dal_connection_execute (c, "INSERT INTO u (v, n) VALUES ('z', 1)", NULL, NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_true (dal_error_is_retryable (error));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "busy_timeout"));
  g_clear_error (&error);
  exec_ok (other, "ROLLBACK");
  exec_ok (c, "INSERT INTO u (v, n) VALUES ('z', 1)");
}

/* -- blocking and async agree -- */

static void
on_query (GObject *source, GAsyncResult *res, gpointer data)
{
  GAsyncResult **out = data;
  *out = g_object_ref (res);
}

static DalResult *
query_async_wait (DalConnection *c, const char *sql, GVariant *params,
                  GCancellable *cancellable, GError **error)
{
  GAsyncResult *res = NULL;
  dal_connection_query_async (c, sql, params, cancellable, on_query, &res);
  g_assert_null (res);  /* never completed inside the _async call */
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  DalResult *r = dal_connection_query_finish (c, res, error);
  g_object_unref (res);
  return r;
}

static void
test_sync_async_agree (void)
{
  g_autoptr (DalConnection) c = open_ok ("sqlite+aiosqlite://");
  exec_ok (c, "CREATE TABLE t (id integer PRIMARY KEY, name text, score real, raw blob)");
  exec_ok (c, "INSERT INTO t (name, score, raw) VALUES ('a', 1.5, x'00'), ('b', NULL, x'ff10'), "
              "(NULL, -0.25, NULL)");
  const char *queries[] = {
    "SELECT * FROM t ORDER BY id", "SELECT count(*), sum(score) FROM t",
    "UPDATE t SET score = score * 2 WHERE score IS NOT NULL",
  };
  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) s = dal_connection_query (c, queries[q], NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (DalResult) a = query_async_wait (c, queries[q], NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (dal_result_get_command_tag (s), ==, dal_result_get_command_tag (a));
      g_assert_cmpuint (dal_result_get_n_rows (s), ==, dal_result_get_n_rows (a));
      g_assert_cmpuint (dal_result_get_n_columns (s), ==, dal_result_get_n_columns (a));
      for (guint row = 0; row < dal_result_get_n_rows (s); row++)
        for (guint col = 0; col < dal_result_get_n_columns (s); col++)
          {
            g_assert_cmpint (dal_result_get_column_type (s, col), ==,
                             dal_result_get_column_type (a, col));
            g_assert_cmpstr (dal_result_get_string (s, row, col, NULL), ==,
                             dal_result_get_string (a, row, col, NULL));
          }
    }
  /* errors agree too */
  g_autoptr (GError) e1 = NULL, e2 = NULL;
  g_autoptr (DalResult) r1 = dal_connection_query (c, "SELEC 1", NULL, NULL, &e1);
  g_autoptr (DalResult) r2 = query_async_wait (c, "SELEC 1", NULL, NULL, &e2);
  g_assert_error (e1, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_error (e2, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (e1->message, ==, e2->message);
}

/* -- cancellation and command_timeout -- */

#define ENDLESS \
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) " \
  "SELECT count(*) FROM c"

static gboolean
cancel_now (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (50 * 1000);  /* not synchronisation: any moment gives CANCELLED */
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancel (void)
{
  g_autoptr (DalConnection) c = open_ok ("sqlite://");
  g_autoptr (GError) error = NULL;

  /* async: cancelled from the main loop while it runs */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_timeout_add (50, cancel_now, cancellable);
  gint64 start = g_get_monotonic_time ();
  g_autoptr (DalResult) r = query_async_wait (c, ENDLESS, NULL, cancellable, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, dal_test_scaled_ms (2000) * 1000);
  g_clear_error (&error);

  /* blocking: cancelled from another thread */
  g_autoptr (GCancellable) c2 = g_cancellable_new ();
  GThread *t = g_thread_new ("cancel", cancel_later, c2);
  start = g_get_monotonic_time ();
  g_autoptr (DalResult) r2 = dal_connection_query (c, ENDLESS, NULL, c2, &error);
  g_thread_join (t);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, dal_test_scaled_ms (2000) * 1000);
  g_clear_error (&error);

  /* the connection still works */
  g_autofree char *one = scalar (c, "SELECT 1", NULL);
  g_assert_cmpstr (one, ==, "1");
}

static void
test_command_timeout (void)
{
  g_autoptr (DalConnection) c = open_ok ("sqlite://?command_timeout=0.1");
  g_autoptr (GError) error = NULL;
  for (int async = 0; async < 2; async++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr (DalResult) r = async ? query_async_wait (c, ENDLESS, NULL, NULL, &error)
                                      : dal_connection_query (c, ENDLESS, NULL, NULL, &error);
      gint64 took = g_get_monotonic_time () - start;
      g_assert_null (r);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
      g_assert_true (dal_error_is_retryable (error));
      g_assert_nonnull (strstr (error->message, "command_timeout=0.1"));
      g_assert_cmpint (took, >=, 100 * 1000);
      g_assert_cmpint (took, <, dal_test_scaled_ms (2000) * 1000);
      g_clear_error (&error);
    }
  g_autofree char *one = scalar (c, "SELECT 1", NULL);
  g_assert_cmpstr (one, ==, "1");
}

/* -- execute_script -- */

static void
test_execute_script (void)
{
  g_autoptr (DalConnection) c = open_ok ("sqlite://");
  g_autoptr (GError) error = NULL;
  g_assert_true (dal_connection_execute_script (
    c, "-- a migration\nCREATE TABLE a (x integer);\n"
       "INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);\n/* done */\n",
    NULL, &error));
  g_assert_no_error (error);
  g_autofree char *n = scalar (c, "SELECT sum(x) FROM a", NULL);
  g_assert_cmpstr (n, ==, "3");

  /* stops at the first failure; the position counts in the whole script */
  const char *script = "INSERT INTO a VALUES (10);\nINSERT INTO a VALUE (11);\n"
                       "INSERT INTO a VALUES (12);";
  g_assert_false (dal_connection_execute_script (c, script, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42601");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_POSITION), ==,
                   "42");  /* "VALUE" */
  g_clear_error (&error);
  g_autofree char *after = scalar (c, "SELECT group_concat(x) FROM a", NULL);
  g_assert_cmpstr (after, ==, "1,2,10");
}

/* -- the same code on sqlite and postgresql -- */

/* The application: what it does knows nothing of the dialect. */
static void
app_run (const char *url, char **report)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) c = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dal_connection_execute_script (
    c, "CREATE TEMP TABLE items (id integer PRIMARY KEY, name text NOT NULL UNIQUE, "
       "price double precision)", NULL, &error));
  g_assert_no_error (error);
  for (int i = 1; i <= 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("item%d", i);
      dal_connection_execute (c, "INSERT INTO items (id, name, price) VALUES ($1, $2, $3)",
                              g_variant_new ("(isd)", i, name, i * 1.25), NULL, &error);
      g_assert_no_error (error);
    }
  dal_connection_execute (c, "INSERT INTO items (id, name, price) VALUES ($1, $2, $3)",
                          g_variant_new ("(isd)", 9, "item1", 0.0), NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_autofree char *dup = g_strdup (dal_error_get_sqlstate (error));
  g_clear_error (&error);

  g_autoptr (DalResult) r = dal_connection_query (
    c, "SELECT name, price FROM items WHERE price > $1 ORDER BY id",
    g_variant_new_double (2.0), NULL, &error);
  g_assert_no_error (error);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "dup=%s types=%d,%d tag=%s rows:", dup,
                          dal_result_get_column_type (r, 0),
                          dal_result_get_column_type (r, 1),
                          dal_result_get_command_tag (r));
  for (guint i = 0; i < dal_result_get_n_rows (r); i++)
    g_string_append_printf (s, " %s=%g", dal_result_get_string (r, i, 0, NULL),
                            dal_result_get_double (r, i, 1, NULL));
  *report = g_string_free (s, FALSE);
}

static void
test_switch_by_url (void)
{
  g_autofree char *on_sqlite = NULL;
  app_run ("sqlite://", &on_sqlite);
  g_assert_cmpstr (on_sqlite, ==, "dup=23505 types=8,6 tag=SELECT 2 rows: item2=2.5 item3=3.75");

  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *pg_url = dal_test_url ("postgresql", NULL);
  g_autofree char *on_pg = NULL;
  app_run (pg_url, &on_pg);
  g_assert_cmpstr (on_pg, ==, on_sqlite);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The build tree's SQLite plugin, before the default registry reads
   * the path (make check's path names the PostgreSQL plugins only). */
  const char *builddir = g_getenv ("DAL_TEST_BUILDDIR");
  if (builddir != NULL)
    {
      const char *path = g_getenv ("DAL_PLUGIN_PATH");
      g_autofree char *mine = g_build_filename (builddir, "plugins", "sqlite", NULL);
      g_autofree char *both = path != NULL && *path != '\0'
                                ? g_strconcat (mine, G_SEARCHPATH_SEPARATOR_S, path, NULL)
                                : g_strdup (mine);
      g_setenv ("DAL_PLUGIN_PATH", both, TRUE);
    }
  tmpdir = g_dir_make_tmp ("dal-sqlite-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/sqlite/url/forms", test_url_forms);
  g_test_add_func ("/sqlite/url/refused", test_url_refused);
  g_test_add_func ("/sqlite/mode-ro", test_mode_ro);
  g_test_add_func ("/sqlite/params", test_params);
  g_test_add_func ("/sqlite/types-and-tags", test_types_and_tags);
  g_test_add_func ("/sqlite/errors", test_errors);
  g_test_add_func ("/sqlite/sync-async-agree", test_sync_async_agree);
  g_test_add_func ("/sqlite/cancel", test_cancel);
  g_test_add_func ("/sqlite/command-timeout", test_command_timeout);
  g_test_add_func ("/sqlite/execute-script", test_execute_script);
  g_test_add_func ("/sqlite/switch-by-url", test_switch_by_url);
  int rc = g_test_run ();

  /* the temporary folder and what the tests left in it */
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmpdir, name, NULL);
      g_unlink (path);
    }
  g_clear_pointer (&dir, g_dir_close);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
