/* test-migrate.c: DalMigrator and `dal migrate` against the harness's
 * PostgreSQL (live; the folder checks run without a server).
 *
 * Each test has its own version table and its own tables (prefix per
 * test), dropped when it starts, so that the tests never meet.
 */
#include "config.h"

#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "dal-test.h"
#include "dal-migrate-private.h"

/* -- helpers -- */

static char *
make_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("dal-migrate-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static DalConnection *
open_sync (void)
{
  g_autofree char *url = dal_test_url ("postgresql+psycopg2", NULL);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static void
run_script (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (dal_connection_execute_script (conn, sql, NULL, &error));
  g_assert_no_error (error);
}

static char *
query_value (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static gboolean
table_exists (DalConnection *conn, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT to_regclass('%s') IS NOT NULL", table);
  g_autofree char *v = query_value (conn, sql);
  return g_strcmp0 (v, "t") == 0;
}

static gint64
count_rows (DalConnection *conn, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  g_autofree char *v = query_value (conn, sql);
  return g_ascii_strtoll (v, NULL, 10);
}

static void
count_progress (const DalMigration *mig, gboolean up, gpointer user_data)
{
  gint *count = user_data;
  g_atomic_int_inc (count);
}

static DalMigrator *
new_migrator (DalConnection *conn, const char *dir, const char *table, gint *progress)
{
  g_autoptr (GError) error = NULL;
  DalMigrator *m = dal_migrator_new (conn, dir, &error);
  g_assert_no_error (error);
  g_assert_true (dal_migrator_set_table (m, table, &error));
  if (progress != NULL)
    dal_migrator_set_progress (m, count_progress, progress);
  return m;
}

static DalMigrationState
state_of (DalMigrator *m, gint64 version)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = dal_migrator_status (m, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *mig = list->pdata[i];
      if (mig->version == version)
        return mig->state;
    }
  g_assert_not_reached ();
}

/* -- no server -- */

static void
test_line_column (void)
{
  guint line, column;
  _dal_migrate_line_column ("SELECT 1;\nSELECT nope", 18, &line, &column);
  g_assert_cmpuint (line, ==, 2);
  g_assert_cmpuint (column, ==, 8);
  /* "é" is two bytes, one character. */
  _dal_migrate_line_column ("-- é\nSELECT 'é' || x", 20, &line, &column);
  g_assert_cmpuint (line, ==, 2);
  g_assert_cmpuint (column, ==, 15);
  _dal_migrate_line_column ("x", 1, &line, &column);
  g_assert_cmpuint (line, ==, 1);
  g_assert_cmpuint (column, ==, 1);
}

static void
test_bad_names (void)
{
  g_autofree char *dir = make_dir ();
  write_file (dir, "0001_a.up.sql", "SELECT 1;");
  write_file (dir, ".hidden", "");  /* ignored */
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ok = _dal_migrate_scan (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ok->len, ==, 1);

  write_file (dir, "notes.txt", "");
  g_autoptr (GPtrArray) bad = _dal_migrate_scan (dir, &error);
  g_assert_null (bad);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "notes.txt is not a migration file name"));
  g_clear_error (&error);
  g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_unlink (notes);

  write_file (dir, "01_b.up.sql", "SELECT 2;");
  g_autoptr (GPtrArray) dup = _dal_migrate_scan (dir, &error);
  g_assert_null (dup);
  g_assert_nonnull (strstr (error->message, "both have version 1"));
  g_assert_nonnull (strstr (error->message, "01_b.up.sql"));
  g_clear_error (&error);
  g_autofree char *b = g_build_filename (dir, "01_b.up.sql", NULL);
  g_unlink (b);

  write_file (dir, "0002_c.down.sql", "SELECT 3;");
  g_autoptr (GPtrArray) orphan = _dal_migrate_scan (dir, &error);
  g_assert_null (orphan);
  g_assert_nonnull (strstr (error->message, "0002_c.down.sql has no up file"));
  g_clear_error (&error);
  g_autofree char *c = g_build_filename (dir, "0002_c.down.sql", NULL);
  g_unlink (c);

  /* new: the next version, four digits. */
  g_autofree char *up = NULL, *down = NULL;
  g_assert_true (dal_migrate_new_files (dir, "add_things", &up, &down, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (up, "0002_add_things.up.sql"));
  g_assert_true (g_str_has_suffix (down, "0002_add_things.down.sql"));
  g_assert_true (g_file_test (up, G_FILE_TEST_EXISTS));
  g_assert_false (dal_migrate_new_files (dir, "bad name", NULL, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_FAILED);
  remove_dir (dir);
}

/* -- live -- */

static void
test_unsupported_plugin (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (dal_connection_execute_script (conn, "SELECT 1; SELECT 2", NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "postgresql+psycopg2"));
}

static void
test_round_trip (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_sync ();
  run_script (conn, "DROP TABLE IF EXISTS mrt_a, mrt_b, mrt_c, mrt_d, mrt_versions");
  g_autofree char *dir = make_dir ();
  write_file (dir, "0001_create_ab.up.sql",
              "CREATE TABLE mrt_a (id int);\nCREATE TABLE mrt_b (id int);\n");
  write_file (dir, "0001_create_ab.down.sql", "DROP TABLE mrt_b;\nDROP TABLE mrt_a;\n");
  write_file (dir, "0002_create_c.up.sql",
              "CREATE TABLE mrt_c (t text);\nINSERT INTO mrt_c VALUES ('é');\n");
  write_file (dir, "0002_create_c.down.sql", "DROP TABLE mrt_c;");

  gint progress = 0;
  g_autoptr (DalMigrator) m = new_migrator (conn, dir, "mrt_versions", &progress);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (state_of (m, 1), ==, DAL_MIGRATION_PENDING);
  g_assert_false (table_exists (conn, "mrt_versions"));  /* status creates nothing */

  g_assert_true (dal_migrator_up (m, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (progress, ==, 2);
  g_assert_true (table_exists (conn, "mrt_a"));
  g_assert_true (table_exists (conn, "mrt_b"));
  g_assert_true (table_exists (conn, "mrt_c"));
  g_assert_cmpint (count_rows (conn, "mrt_versions"), ==, 2);

  g_autoptr (GPtrArray) list = dal_migrator_status (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *mig = list->pdata[i];
      g_assert_cmpint (mig->state, ==, DAL_MIGRATION_APPLIED);
      g_assert_nonnull (mig->applied_at);
      g_assert_cmpstr (mig->checksum, ==, mig->applied_checksum);
      g_assert_cmpuint (strlen (mig->checksum), ==, 64);
      g_assert_cmpint (mig->execution_ms, >=, 0);
    }
  g_assert_cmpstr (((DalMigration *) list->pdata[1])->name, ==, "create_c");

  /* Again: nothing to do. */
  progress = 0;
  g_assert_true (dal_migrator_up (m, -1, NULL, &error));
  g_assert_cmpint (progress, ==, 0);

  /* down without a target: the last one only. */
  g_assert_true (dal_migrator_down (m, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (progress, ==, 1);
  g_assert_false (table_exists (conn, "mrt_c"));
  g_assert_true (table_exists (conn, "mrt_a"));
  g_assert_cmpint (state_of (m, 2), ==, DAL_MIGRATION_PENDING);
  g_assert_cmpint (count_rows (conn, "mrt_versions"), ==, 1);

  /* down 0: everything. */
  g_assert_true (dal_migrator_down (m, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (table_exists (conn, "mrt_a"));
  g_assert_false (table_exists (conn, "mrt_b"));
  g_assert_cmpint (count_rows (conn, "mrt_versions"), ==, 0);

  /* up TARGET: up to and including it. */
  g_assert_true (dal_migrator_up (m, 1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (table_exists (conn, "mrt_a"));
  g_assert_false (table_exists (conn, "mrt_c"));
  g_assert_false (dal_migrator_up (m, 7, NULL, &error));
  g_assert_nonnull (strstr (error->message, "no migration has version 7"));
  g_clear_error (&error);

  /* An up without a down: fine for up, an error naming it for down,
   * and nothing is reverted. */
  write_file (dir, "0003_create_d.up.sql", "CREATE TABLE mrt_d (id int);");
  g_assert_true (dal_migrator_up (m, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (table_exists (conn, "mrt_d"));
  g_assert_false (dal_migrator_down (m, 0, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "0003_create_d.up.sql cannot be reverted"));
  g_assert_nonnull (strstr (error->message, "0003_create_d.down.sql"));
  g_clear_error (&error);
  g_assert_true (table_exists (conn, "mrt_c"));
  g_assert_cmpint (count_rows (conn, "mrt_versions"), ==, 3);
  /* down 2 needs 0003 reverted too: refused the same way. */
  g_assert_false (dal_migrator_down (m, 2, NULL, &error));
  g_assert_nonnull (strstr (error->message, "0003_create_d.up.sql cannot be reverted"));
  g_clear_error (&error);
  g_assert_cmpint (count_rows (conn, "mrt_versions"), ==, 3);

  run_script (conn, "DROP TABLE IF EXISTS mrt_a, mrt_b, mrt_c, mrt_d, mrt_versions");
  remove_dir (dir);
}

/* Two runners at once: both wait on the lock (held here) until released,
 * then every migration is applied exactly once and neither fails. */
typedef struct
{
  const char *dir;
  gint progress;
  GError *error;
} Runner;

static gpointer
runner_thread (gpointer data)
{
  Runner *r = data;
  g_autoptr (DalConnection) conn = open_sync ();
  g_autoptr (DalMigrator) m = new_migrator (conn, r->dir, "mtwo_versions", &r->progress);
  dal_migrator_up (m, -1, NULL, &r->error);
  return NULL;
}

static gint64
waiting_for_lock (DalConnection *conn, gint64 key)
{
  g_autofree char *classid = g_strdup_printf ("%" G_GUINT64_FORMAT, ((guint64) key) >> 32);
  g_autofree char *objid = g_strdup_printf ("%" G_GUINT64_FORMAT, ((guint64) key) & 0xffffffffu);
  const char *values[] = { classid, objid };
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_texts (
    conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
    "AND NOT granted AND classid = $1::oid AND objid = $2::oid AND objsubid = 1",
    2, values, NULL, &error);
  g_assert_no_error (error);
  return dal_result_get_int64 (r, 0, 0, NULL);
}

static void
test_two_runners (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_sync ();
  run_script (conn, "DROP TABLE IF EXISTS mtwo_log, mtwo_x, mtwo_y, mtwo_versions");
  g_autofree char *dir = make_dir ();
  /* Each would fail if run twice (CREATE TABLE without IF NOT EXISTS). */
  write_file (dir, "0001_log.up.sql",
              "CREATE TABLE mtwo_log (v int);\nINSERT INTO mtwo_log VALUES (1);");
  write_file (dir, "0002_x.up.sql",
              "CREATE TABLE mtwo_x (id int);\nINSERT INTO mtwo_log VALUES (2);");
  write_file (dir, "0003_y.up.sql",
              "CREATE TABLE mtwo_y (id int);\nINSERT INTO mtwo_log VALUES (3);");

  g_autoptr (DalMigrator) holder = new_migrator (conn, dir, "mtwo_versions", NULL);
  g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT, dal_migrator_get_lock_key (holder));
  const char *values[] = { key };
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) locked = dal_connection_query_texts (
    conn, "SELECT pg_advisory_lock($1::bigint)", 1, values, NULL, &error);
  g_assert_no_error (error);

  Runner runners[2] = { { .dir = dir }, { .dir = dir } };
  GThread *threads[2];
  for (int i = 0; i < 2; i++)
    threads[i] = g_thread_new ("runner", runner_thread, &runners[i]);

  /* Both are waiting for the lock: they run at the same time. */
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (20000) * 1000;
  while (waiting_for_lock (conn, dal_migrator_get_lock_key (holder)) < 2)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);  /* polling pg_locks, not synchronisation */
    }
  g_assert_cmpint (count_rows (conn, "pg_class WHERE relname = 'mtwo_log'"), ==, 0);
  g_autoptr (DalResult) unlocked = dal_connection_query_texts (
    conn, "SELECT pg_advisory_unlock($1::bigint)", 1, values, NULL, &error);
  g_assert_no_error (error);

  for (int i = 0; i < 2; i++)
    {
      g_thread_join (threads[i]);
      g_assert_no_error (runners[i].error);
    }
  g_assert_cmpint (runners[0].progress + runners[1].progress, ==, 3);
  g_assert_cmpint (count_rows (conn, "mtwo_log"), ==, 3);
  g_assert_cmpint (count_rows (conn, "mtwo_versions"), ==, 3);
  g_assert_true (table_exists (conn, "mtwo_y"));
  /* Nobody holds the lock any more. */
  g_autoptr (DalResult) free_now = dal_connection_query_texts (
    conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, values, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (free_now, 0, 0, NULL), ==, "t");
  run_script (conn, "SELECT pg_advisory_unlock_all ()");

  run_script (conn, "DROP TABLE IF EXISTS mtwo_log, mtwo_x, mtwo_y, mtwo_versions");
  remove_dir (dir);
}

/* A runner waiting for the lock stops when its GCancellable fires, having
 * applied nothing. */
typedef struct
{
  const char *dir;
  GCancellable *cancellable;
  GError *error;
  gboolean ok;
} Waiter;

static gpointer
waiter_thread (gpointer data)
{
  Waiter *w = data;
  g_autoptr (DalConnection) conn = open_sync ();
  g_autoptr (DalMigrator) m = new_migrator (conn, w->dir, "mwait_versions", NULL);
  w->ok = dal_migrator_up (m, -1, w->cancellable, &w->error);
  return NULL;
}

static void
test_lock_wait_cancel (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_sync ();
  run_script (conn, "DROP TABLE IF EXISTS mwait_a, mwait_versions");
  g_autofree char *dir = make_dir ();
  write_file (dir, "0001_a.up.sql", "CREATE TABLE mwait_a (id int);");
  g_autoptr (DalMigrator) holder = new_migrator (conn, dir, "mwait_versions", NULL);
  g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT, dal_migrator_get_lock_key (holder));
  const char *values[] = { key };
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) locked = dal_connection_query_texts (
    conn, "SELECT pg_advisory_lock($1::bigint)", 1, values, NULL, &error);
  g_assert_no_error (error);

  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Waiter w = { .dir = dir, .cancellable = cancellable };
  GThread *thread = g_thread_new ("waiter", waiter_thread, &w);
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (20000) * 1000;
  while (waiting_for_lock (conn, dal_migrator_get_lock_key (holder)) < 1)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);  /* polling pg_locks, not synchronisation */
    }
  gint64 cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, dal_test_scaled_ms (3000) * 1000);
  g_assert_false (w.ok);
  g_assert_error (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&w.error);
  g_assert_false (table_exists (conn, "mwait_a"));
  g_assert_cmpint (waiting_for_lock (conn, dal_migrator_get_lock_key (holder)), ==, 0);

  run_script (conn, "SELECT pg_advisory_unlock_all ()");
  run_script (conn, "DROP TABLE IF EXISTS mwait_a, mwait_versions");
  remove_dir (dir);
}

static void
test_drift (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_sync ();
  run_script (conn, "DROP TABLE IF EXISTS mdrift_a, mdrift_b, mdrift_versions");
  g_autofree char *dir = make_dir ();
  write_file (dir, "0001_a.up.sql", "CREATE TABLE mdrift_a (id int);");
  write_file (dir, "0001_a.down.sql", "DROP TABLE mdrift_a;");
  g_autoptr (DalMigrator) m = new_migrator (conn, dir, "mdrift_versions", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (dal_migrator_up (m, -1, NULL, &error));
  g_assert_no_error (error);

  /* Changed after it was applied. */
  write_file (dir, "0001_a.up.sql", "CREATE TABLE mdrift_a (id bigint);");
  write_file (dir, "0002_b.up.sql", "CREATE TABLE mdrift_b (id int);");
  g_assert_cmpint (state_of (m, 1), ==, DAL_MIGRATION_DRIFTED);
  g_assert_false (dal_migrator_up (m, -1, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "0001_a.up.sql changed after it was applied"));
  g_clear_error (&error);
  g_assert_false (table_exists (conn, "mdrift_b"));  /* refused before anything ran */
  g_assert_false (dal_migrator_down (m, 0, NULL, &error));
  g_assert_nonnull (strstr (error->message, "0001_a.up.sql changed"));
  g_clear_error (&error);
  g_assert_true (table_exists (conn, "mdrift_a"));

  /* Put back: runs again. */
  write_file (dir, "0001_a.up.sql", "CREATE TABLE mdrift_a (id int);");
  g_assert_true (dal_migrator_up (m, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (table_exists (conn, "mdrift_b"));

  run_script (conn, "DROP TABLE IF EXISTS mdrift_a, mdrift_b, mdrift_versions");
  remove_dir (dir);
}

static void
test_failure_mid_file (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_sync ();
  run_script (conn, "DROP TABLE IF EXISTS mfail_ok, mfail_partial, mfail_versions");
  g_autofree char *dir = make_dir ();
  write_file (dir, "0001_ok.up.sql", "CREATE TABLE mfail_ok (id int);");
  /* The error is at "nope": line 4, column 15, counted in characters
   * (the comment and the literal hold two-byte letters). */
  write_file (dir, "0002_bad.up.sql",
              "CREATE TABLE mfail_partial (id int);\n"
              "INSERT INTO mfail_partial VALUES (1);\n"
              "-- ünïcödé\n"
              "SELECT 'ä' || nope\n"
              "  FROM mfail_partial;\n");
  gint progress = 0;
  g_autoptr (DalMigrator) m = new_migrator (conn, dir, "mfail_versions", &progress);
  g_autoptr (GError) error = NULL;
  g_assert_false (dal_migrator_up (m, -1, NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message,
                            "0002_bad.up.sql failed at line 4, column 15: "
                            "column \"nope\" does not exist"));
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42703");
  g_assert_cmpint (progress, ==, 1);
  /* Rolled back: no partial table, no version row; the one before stays. */
  g_assert_false (table_exists (conn, "mfail_partial"));
  g_assert_true (table_exists (conn, "mfail_ok"));
  g_assert_cmpint (count_rows (conn, "mfail_versions"), ==, 1);
  g_assert_cmpint (state_of (m, 2), ==, DAL_MIGRATION_PENDING);
  /* And the lock was given back: the connection is usable again. */
  g_autofree char *tx = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (tx, ==, "idle");

  run_script (conn, "DROP TABLE IF EXISTS mfail_ok, mfail_partial, mfail_versions");
  remove_dir (dir);
}

static void
test_transaction_pooler (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (g_getenv ("DAL_TEST_PGBOUNCER_PORT") == NULL)
    {
      if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
        g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set");
      else
        g_test_skip ("no PgBouncer (harness run with --no-pgbouncer)");
      return;
    }
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
  g_autofree char *url = dal_test_url_full ("postgresql+psycopg2",
                                            dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"),
                                            "sslmode=disable&pooler_mode=transaction");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *dir = make_dir ();
  write_file (dir, "0001_a.up.sql", "CREATE TABLE mpool_a (id int);");
  g_autoptr (DalMigrator) m = dal_migrator_new (conn, dir, &error);
  g_assert_null (m);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "cannot run through a transaction pooler"));
  g_assert_nonnull (strstr (error->message, "session advisory lock"));
  g_assert_nonnull (strstr (error->message, "session port"));
  g_assert_null (strstr (error->message, dal_test_env ("DAL_TEST_PG_PASSWORD")));
  remove_dir (dir);
}

/* `dal migrate` as a user runs it. */
static char *
run_tool (int *exit_code, char **err, const char * const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) dal_test_env ("DAL_TEST_TOOL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  char *out = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  *exit_code = WEXITSTATUS (status);
  const char *password = dal_test_env ("DAL_TEST_PG_PASSWORD");
  g_assert_null (strstr (out, password));
  g_assert_null (strstr (*err, password));
  return out;
}

static void
test_tool (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_sync ();
  run_script (conn, "DROP TABLE IF EXISTS mtool_t, mtool_versions");
  g_autofree char *parent = make_dir ();
  g_autofree char *dir = g_build_filename (parent, "migrations", NULL);
  g_autofree char *url = dal_test_url ("postgresql+psycopg2", NULL);
  int code;
  g_autofree char *err1 = NULL, *err2 = NULL, *err3 = NULL, *err4 = NULL, *err5 = NULL;

  /* new: no server; makes the folder. */
  g_autofree char *out1 = run_tool (&code, &err1, (const char * const[]) {
    "migrate", "--dir", dir, "new", "create_t", NULL });
  g_assert_cmpint (code, ==, 0);
  g_assert_nonnull (strstr (out1, "created "));
  g_assert_nonnull (strstr (out1, "0001_create_t.up.sql"));
  write_file (dir, "0001_create_t.up.sql", "CREATE TABLE mtool_t (id int);\n");
  write_file (dir, "0001_create_t.down.sql", "DROP TABLE mtool_t;\n");

  g_autofree char *out2 = run_tool (&code, &err2, (const char * const[]) {
    "migrate", "--url", url, "--dir", dir, "--table", "mtool_versions", "up", NULL });
  g_assert_cmpint (code, ==, 0);
  g_assert_true (g_str_has_prefix (out2, "applied  0001_create_t ("));
  g_assert_true (table_exists (conn, "mtool_t"));

  g_autofree char *out3 = run_tool (&code, &err3, (const char * const[]) {
    "migrate", "--url", url, "--dir", dir, "--table", "mtool_versions", "status", NULL });
  g_assert_cmpint (code, ==, 0);
  g_assert_true (g_str_has_prefix (out3, "0001_create_t"));
  g_assert_nonnull (strstr (out3, " applied 20"));

  g_autofree char *out4 = run_tool (&code, &err4, (const char * const[]) {
    "migrate", "--url", url, "--dir", dir, "--table", "mtool_versions", "down", "0", NULL });
  g_assert_cmpint (code, ==, 0);
  g_assert_true (g_str_has_prefix (out4, "reverted 0001_create_t ("));
  g_assert_false (table_exists (conn, "mtool_t"));

  /* Usage errors exit 2. */
  g_autofree char *out5 = run_tool (&code, &err5, (const char * const[]) {
    "migrate", "--dir", dir, "sideways", NULL });
  g_assert_cmpint (code, ==, 2);
  g_assert_nonnull (strstr (err5, "status, up, down or new"));

  run_script (conn, "DROP TABLE IF EXISTS mtool_t, mtool_versions");
  remove_dir (dir);
  g_rmdir (parent);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/migrate/line-column", test_line_column);
  g_test_add_func ("/migrate/bad-names", test_bad_names);
  g_test_add_func ("/migrate/live-unsupported-plugin", test_unsupported_plugin);
  g_test_add_func ("/migrate/live-round-trip", test_round_trip);
  g_test_add_func ("/migrate/live-two-runners", test_two_runners);
  g_test_add_func ("/migrate/live-lock-wait-cancel", test_lock_wait_cancel);
  g_test_add_func ("/migrate/live-drift", test_drift);
  g_test_add_func ("/migrate/live-failure-mid-file", test_failure_mid_file);
  g_test_add_func ("/migrate/live-transaction-pooler", test_transaction_pooler);
  g_test_add_func ("/migrate/live-tool", test_tool);
  return g_test_run ();
}
