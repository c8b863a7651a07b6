/* test-pg-connect.c: the connect engine (plugins/pgcommon/dal-pg-connect.c)
 * on where its hosts come from and when it stops.
 *
 *   - host names from the environment (PGHOST, PGPORT) and from a service
 *     file (service= in the URL, or PGSERVICE) go through the engine's own
 *     resolution step like the URL's, never to libpq's blocking lookup;
 *     the URL's own settings win; a service that is not defined is a clear
 *     error before any I/O (no server needed);
 *   - the same, connecting to the harness's server (live);
 *   - a wrong password is tried once, not against every host and address
 *     (live; the server's log counts the failures).
 *
 * Each test sets the PG* variables it needs and clears the others first.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "dal-pg.h"
#include "dal-test.h"
#include "dal-test-net.h"

#define assert_contains(haystack, needle) \
  G_STMT_START { \
    const char *h__ = (haystack), *n__ = (needle); \
    if (h__ == NULL || strstr (h__, n__) == NULL) \
      g_error ("%s:%d: \"%s\" does not contain \"%s\"", __FILE__, __LINE__, \
               h__ ? h__ : "(null)", n__); \
  } G_STMT_END

static char *tmp_dir;

static void
clear_pg_env (void)
{
  static const char * const vars[] = {
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR",
  };
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    g_unsetenv (vars[i]);
}

/* Writes @contents to @name in the temporary directory; returns its path. */
static char *
write_file (const char *name, const char *contents)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static DalPgConnector *
connector_for (const char *url_text)
{
  g_autoptr (GError) error = NULL;
  DalUrl *url = dal_url_parse (url_text, &error);
  g_assert_no_error (error);
  DalPgConnector *c = dal_pg_connector_new (url);
  dal_url_unref (url);
  return c;
}

/* The first step for @url_text is to resolve @host (not a libpq attempt,
 * which would look the name up itself, blocking). */
static void
assert_resolves_first (const char *url_text, const char *host)
{
  DalPgConnector *c = connector_for (url_text);
  DalPgStep step = dal_pg_connector_step (c);
  if (step == DAL_PG_STEP_FAILED)
    {
      g_autoptr (GError) error = dal_pg_connector_take_error (c);
      g_error ("%s: failed: %s", url_text, error->message);
    }
  g_assert_cmpint (step, ==, DAL_PG_STEP_RESOLVE);
  g_assert_cmpstr (dal_pg_connector_get_resolve_host (c), ==, host);
  g_assert_cmpint (dal_pg_connector_get_fd (c), ==, -1);
  dal_pg_connector_free (c);
}

/* -- where the host comes from (no server) -- */

static void
test_host_from_pghost (void)
{
  clear_pg_env ();
  g_setenv ("PGHOST", "db.example.invalid", TRUE);
  g_setenv ("PGPORT", "6543", TRUE);
  assert_resolves_first ("postgresql+asyncpg:///dal", "db.example.invalid");
  /* Several hosts: each is resolved in its turn. */
  g_setenv ("PGHOST", "a.example.invalid,b.example.invalid", TRUE);
  assert_resolves_first ("postgresql+asyncpg:///dal", "a.example.invalid");
  clear_pg_env ();
}

static void
test_host_from_service (void)
{
  clear_pg_env ();
  g_autofree char *file = write_file ("services.conf",
                                      "# comment\n"
                                      "[other]\n"
                                      "host=other.example.invalid\n"
                                      "\n"
                                      "[svc]\n"
                                      "host=svc.example.invalid\n"
                                      "port=6543\n");
  g_setenv ("PGSERVICEFILE", file, TRUE);
  /* service= in the URL */
  assert_resolves_first ("postgresql+asyncpg:///dal?service=svc", "svc.example.invalid");
  /* PGSERVICE */
  g_setenv ("PGSERVICE", "svc", TRUE);
  assert_resolves_first ("postgresql+asyncpg:///dal", "svc.example.invalid");
  /* The service file's entry wins over PGHOST, as in libpq. */
  g_setenv ("PGHOST", "env.example.invalid", TRUE);
  assert_resolves_first ("postgresql+asyncpg:///dal", "svc.example.invalid");
  /* The URL's service wins over PGSERVICE. */
  assert_resolves_first ("postgresql+asyncpg:///dal?service=other", "other.example.invalid");

  /* Not in PGSERVICEFILE: pg_service.conf in PGSYSCONFDIR. */
  clear_pg_env ();
  g_setenv ("PGSERVICEFILE", file, TRUE);
  g_autofree char *sys = write_file ("pg_service.conf",
                                     "[sys]\nhost=sys.example.invalid\n");
  g_setenv ("PGSYSCONFDIR", tmp_dir, TRUE);
  assert_resolves_first ("postgresql+asyncpg:///dal?service=sys", "sys.example.invalid");
  g_unlink (sys);
  g_unlink (file);
  clear_pg_env ();
}

static void
test_url_host_wins (void)
{
  clear_pg_env ();
  g_setenv ("PGHOST", "env.example.invalid", TRUE);
  assert_resolves_first ("postgresql+asyncpg://url.example.invalid/dal", "url.example.invalid");
  assert_resolves_first ("postgresql+asyncpg:///dal?host=url.example.invalid",
                         "url.example.invalid");

  g_autofree char *file = write_file ("services.conf", "[svc]\nhost=svc.example.invalid\n");
  g_setenv ("PGSERVICEFILE", file, TRUE);
  assert_resolves_first ("postgresql+asyncpg://url.example.invalid/dal?service=svc",
                         "url.example.invalid");
  g_unlink (file);
  clear_pg_env ();
}

static void
test_missing_service (void)
{
  clear_pg_env ();
  g_autofree char *file = write_file ("services.conf", "[svc]\nhost=svc.example.invalid\n");
  g_setenv ("PGSERVICEFILE", file, TRUE);
  g_setenv ("PGSYSCONFDIR", tmp_dir, TRUE);  /* no pg_service.conf there */

  const char *urls[] = {
    "postgresql+asyncpg://user:s3cret-pw@/dal?service=nosuch",
    "postgresql+asyncpg://user:s3cret-pw@db.example.invalid/dal?service=nosuch",
  };
  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      DalPgConnector *c = connector_for (urls[i]);
      g_assert_cmpint (dal_pg_connector_step (c), ==, DAL_PG_STEP_FAILED);
      g_autoptr (GError) error = dal_pg_connector_take_error (c);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECT_FAILED);
      assert_contains (error->message, "definition of service \"nosuch\" not found");
      assert_contains (error->message, "PGSERVICEFILE");  /* the hint */
      g_assert_null (strstr (error->message, "s3cret-pw"));
      dal_pg_connector_free (c);
    }

  /* The same from PGSERVICE. */
  g_setenv ("PGSERVICE", "nosuch", TRUE);
  DalPgConnector *c = connector_for ("postgresql+asyncpg:///dal");
  g_assert_cmpint (dal_pg_connector_step (c), ==, DAL_PG_STEP_FAILED);
  g_autoptr (GError) error = dal_pg_connector_take_error (c);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECT_FAILED);
  assert_contains (error->message, "definition of service \"nosuch\" not found");
  dal_pg_connector_free (c);
  g_unlink (file);
  clear_pg_env ();
}

/* -- live -- */

static const char * const schemes[] = { "postgresql+asyncpg", "postgresql+psycopg2" };

/* The harness's database over verified TLS, with no host in the URL. */
static char *
url_without_host (const char *scheme, const char *extra_query)
{
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s%s%s", ca,
                                            extra_query != NULL ? "&" : "",
                                            extra_query != NULL ? extra_query : "");
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), NULL,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

static void
assert_connects (const char *url)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 40 + 2", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "42");
}

static void
test_live_pghost (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  clear_pg_env ();
  g_setenv ("PGHOST", "localhost", TRUE);
  g_setenv ("PGPORT", dal_test_env ("DAL_TEST_PG_PORT"), TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autofree char *url = url_without_host (schemes[i], NULL);
      assert_connects (url);
    }
  clear_pg_env ();
}

static void
test_live_service (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  clear_pg_env ();
  g_autofree char *contents = g_strdup_printf ("[svc]\nhost=localhost\nport=%s\n",
                                               dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *file = write_file ("live-services.conf", contents);
  g_setenv ("PGSERVICEFILE", file, TRUE);
  /* PGHOST would be wrong: the service file's host comes first. */
  g_setenv ("PGHOST", "nothing-here.example.invalid", TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autofree char *url = url_without_host (schemes[i], "service=svc");
      assert_connects (url);
    }
  g_setenv ("PGSERVICE", "svc", TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autofree char *url = url_without_host (schemes[i], NULL);
      assert_connects (url);
    }
  g_unlink (file);
  clear_pg_env ();
}

/* SQLAlchemy's multi-host form (docs/url.md): the first host= refuses,
 * the second is the harness's server, each with its own port. */
static void
test_live_sqlalchemy_hosts (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  clear_pg_env ();
  const char *port = dal_test_env ("DAL_TEST_PG_PORT");
  guint16 closed = dal_test_unused_port ();
  g_autofree char *multi = g_strdup_printf ("host=127.0.0.1:%u&host=localhost:%s",
                                            (guint) closed, port);
  g_autofree char *single = g_strdup_printf ("host=localhost:%s", port);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      const char *queries[] = { multi, single };
      for (guint j = 0; j < G_N_ELEMENTS (queries); j++)
        {
          g_autofree char *url = url_without_host (schemes[i], queries[j]);
          g_autoptr (GError) error = NULL;
          g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
          g_assert_no_error (error);
          g_autofree char *host = dal_connection_get_info (conn, "host");
          g_autofree char *used_port = dal_connection_get_info (conn, "port");
          g_assert_cmpstr (host, ==, "localhost");
          g_assert_cmpstr (used_port, ==, port);
          g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 40 + 2", NULL,
                                                          NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "42");
        }
    }
}

/* Lines of the server's log that contain @needle, or -1 when the log
 * cannot be read. */
static int
count_log_lines (const char *needle)
{
  g_autofree char *path = g_build_filename (dal_test_env ("DAL_TEST_DIR"), "log",
                                            "postgresql.log", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  int n = 0;
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_live_auth_once (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  clear_pg_env ();
  const char *scheme = data;
  const char *port = dal_test_env ("DAL_TEST_PG_PORT");
  /* A user name of this run only, so that the log's count is ours. */
  g_autofree char *user = g_strdup_printf ("dal_auth_once_%d_%s", (int) getpid (),
                                           strchr (scheme, '+') + 1);
  g_autofree char *needle = g_strdup_printf ("password authentication failed for user \"%s\"",
                                             user);
  /* Two hosts; localhost may have two addresses as well. */
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s,localhost:%s", port, port);
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
  g_autofree char *url = dal_test_url_full (scheme, user, "wrong-password", hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);

  int before = count_log_lines (needle);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_AUTH_FAILED);
  assert_contains (error->message, "password authentication failed");
  /* One attempt: a single failure, not a list of them. */
  g_assert_null (strstr (error->message, "attempts"));
  g_assert_null (strstr (error->message, "wrong-password"));

  int after = count_log_lines (needle);
  if (before < 0 || after < 0)
    g_test_message ("the server's log is not readable: not counting its failures");
  else
    g_assert_cmpint (after - before, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmp_dir = g_dir_make_tmp ("dal-test-pg-connect-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/pg-connect/host-from/pghost", test_host_from_pghost);
  g_test_add_func ("/pg-connect/host-from/service", test_host_from_service);
  g_test_add_func ("/pg-connect/host-from/url-wins", test_url_host_wins);
  g_test_add_func ("/pg-connect/host-from/missing-service", test_missing_service);
  g_test_add_func ("/pg-connect/live/pghost", test_live_pghost);
  g_test_add_func ("/pg-connect/live/service", test_live_service);
  g_test_add_func ("/pg-connect/live/sqlalchemy-hosts", test_live_sqlalchemy_hosts);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pg-connect/live/auth-once/%s",
                                               strchr (schemes[i], '+') + 1);
      g_test_add_data_func (path, schemes[i], test_live_auth_once);
    }
  int status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
