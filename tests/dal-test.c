/* dal-test.c: helpers shared by the test programs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "dal-test.h"

gboolean
dal_test_under_valgrind (void)
{
  return RUNNING_ON_VALGRIND || g_strcmp0 (g_getenv ("DAL_TEST_VALGRIND"), "1") == 0;
}

double
dal_test_time_scale (void)
{
  static gsize once = 0;
  static double scale = 1.0;
  if (g_once_init_enter (&once))
    {
      const char *env = g_getenv ("DAL_TEST_TIME_SCALE");
      if (env != NULL && *env != '\0')
        scale = MAX (g_ascii_strtod (env, NULL), 1.0);
      else if (dal_test_under_valgrind ())
        scale = 6.0;
      g_once_init_leave (&once, 1);
    }
  return scale;
}

gint64
dal_test_scaled_ms (gint64 ms)
{
  return (gint64) (ms * dal_test_time_scale ());
}

gboolean
dal_test_require_live (void)
{
  if (g_getenv ("DAL_TEST_PG_PORT") != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
    g_test_fail_printf ("no live server although DAL_TEST_REQUIRE_SERVER=1: "
                        "run the tests under tests/harness/pg-harness "
                        "(scripts/test or make check-live)");
  else
    g_test_skip ("no live server: run under tests/harness/pg-harness "
                 "(scripts/test or make check-live) to run this test");
  return FALSE;
}

gboolean
dal_test_require_pgbouncer (void)
{
  if (!dal_test_require_live ())
    return FALSE;
  if (g_getenv ("DAL_TEST_PGBOUNCER_PORT") != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
    g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set (harness run with --no-pgbouncer?)");
  else
    g_test_skip ("no PgBouncer");
  return FALSE;
}

const char *
dal_test_env (const char *name)
{
  const char *v = g_getenv (name);
  if (v == NULL)
    g_error ("%s is not set: is this running under tests/harness/pg-harness?", name);
  return v;
}

char *
dal_test_encode (const char *s)
{
  return g_uri_escape_string (s, NULL, FALSE);
}

char *
dal_test_url_full (const char *scheme, const char *user, const char *password,
                   const char *hostport, const char *database, const char *query)
{
  GString *u = g_string_new (scheme);
  g_string_append (u, "://");
  if (user != NULL)
    {
      g_autofree char *eu = dal_test_encode (user);
      g_string_append (u, eu);
      if (password != NULL)
        {
          g_autofree char *ep = dal_test_encode (password);
          g_string_append_printf (u, ":%s", ep);
        }
      g_string_append_c (u, '@');
    }
  if (hostport != NULL)
    g_string_append (u, hostport);
  if (database != NULL)
    g_string_append_printf (u, "/%s", database);
  if (query != NULL && *query != '\0')
    g_string_append_printf (u, "%s?%s", database == NULL ? "/" : "", query);
  return g_string_free (u, FALSE);
}

char *
dal_test_url (const char *scheme, const char *extra_query)
{
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s%s%s", ca,
                                            extra_query != NULL ? "&" : "",
                                            extra_query != NULL ? extra_query : "");
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

DalConnection *
dal_test_admin_connection (void)
{
  return dal_test_admin_connection_port (dal_test_env ("DAL_TEST_PG_PORT"));
}

DalConnection *
dal_test_admin_connection_port (const char *port)
{
  g_autofree char *socket_dir = dal_test_encode (dal_test_env ("DAL_TEST_PG_SOCKET_DIR"));
  g_autofree char *url = g_strdup_printf ("postgresql+psycopg2://%s@/%s?host=%s&port=%s",
                                          dal_test_env ("DAL_TEST_PG_SUPERUSER"),
                                          dal_test_env ("DAL_TEST_PG_DATABASE"),
                                          socket_dir, port);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

char *
dal_test_admin_query (const char *sql)
{
  g_autoptr (DalConnection) conn = dal_test_admin_connection ();
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  if (dal_result_get_n_rows (r) == 0 || dal_result_get_n_columns (r) == 0)
    return NULL;
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
dal_test_wait_for (const gboolean *flag, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  timeout_ms = (guint) MIN (dal_test_scaled_ms (timeout_ms), G_MAXUINT);
  GSource *timer = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timer, on_timeout, &timed_out, NULL);
  g_source_attach (timer, g_main_context_get_thread_default ());
  while (!*flag && !timed_out)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
  if (!*flag)
    g_error ("timed out after %u ms waiting for an async call to complete", timeout_ms);
}

void
dal_test_iterate_for (guint ms)
{
  gboolean over = FALSE;
  GSource *timer = g_timeout_source_new (ms);
  g_source_set_callback (timer, on_timeout, &over, NULL);
  g_source_attach (timer, g_main_context_get_thread_default ());
  while (!over)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_source_unref (timer);
}

void
dal_test_exec (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  dal_connection_execute (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
}

char *
dal_test_scalar (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), >=, 1);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

char *
dal_test_make_table (DalConnection *conn, const char *prefix, const char *columns)
{
  char *name = g_strdup_printf ("%s_%08x", prefix, g_random_int ());
  g_autofree char *sql = g_strdup_printf ("CREATE TABLE %s (%s)", name, columns);
  dal_test_exec (conn, sql);
  return name;
}

void
dal_test_drop_table (DalConnection *conn, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("DROP TABLE %s", table);
  dal_test_exec (conn, sql);
}

guint
dal_test_count_backends (const char *application_name)
{
  return dal_test_count_backends_port (dal_test_env ("DAL_TEST_PG_PORT"),
                                       application_name);
}

guint
dal_test_count_backends_port (const char *port, const char *application_name)
{
  g_autoptr (DalConnection) conn = dal_test_admin_connection_port (port);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn,
                                                  "SELECT count(*)::int FROM pg_stat_activity "
                                                  "WHERE application_name = $1",
                                                  g_variant_new_string (application_name),
                                                  NULL, &error);
  g_assert_no_error (error);
  return (guint) dal_result_get_int64 (r, 0, 0, NULL);
}

void
dal_test_server_restart (void)
{
  const char *dir = dal_test_env ("DAL_TEST_DIR");
  g_autofree char *pg_ctl = g_build_filename (dal_test_env ("DAL_TEST_PG_BINDIR"), "pg_ctl", NULL);
  const char *pgdata = dal_test_env ("DAL_TEST_PG_RESTART_DATA");
  g_autofree char *log = g_build_filename (dir, "log", "postgresql-restart.log", NULL);
  /* As root the harness runs the servers as "postgres" (runuser); as
   * anyone else as that user.  pg_ctl keeps the port (postmaster.opts). */
  GPtrArray *argv = g_ptr_array_new ();
  if (geteuid () == 0)
    {
      g_ptr_array_add (argv, (gpointer) "runuser");
      g_ptr_array_add (argv, (gpointer) "-u");
      g_ptr_array_add (argv, (gpointer) "postgres");
      g_ptr_array_add (argv, (gpointer) "--");
    }
  const char *tail[] = { pg_ctl, "-D", pgdata, "-l", log, "-m", "fast", "-w", "-t", "60",
                         "restart", NULL };
  for (guint i = 0; i < G_N_ELEMENTS (tail); i++)
    g_ptr_array_add (argv, (gpointer) tail[i]);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  gboolean ok = g_spawn_sync (dir, (char **) argv->pdata, NULL,
                              G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
  g_ptr_array_unref (argv);
  g_assert_no_error (error);
  g_assert_true (ok);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("pg_ctl restart failed (wait status %d):\n%s%s", status, out, err);
}
