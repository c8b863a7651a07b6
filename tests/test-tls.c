/* test-tls.c: the TLS policy (core/dal-tls.c) and what the PostgreSQL
 * plugins do with it, against the harness's servers and its own CA.
 *
 * Connecting tests run once per plugin (postgresql+psycopg2 through the
 * blocking API, postgresql+asyncpg through the async one).  Policy tests
 * (Supabase defaults, warnings, versions) never connect anywhere: hosts
 * that are not loopback are only ever handed to the policy functions, and
 * a fake GResolver answers (and counts) every name lookup.
 */
#include "config.h"

#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>

#include "dal-private.h"
#include "dal-test.h"
#include "dal-test-net.h"

static const char * const schemes[] = { "postgresql+psycopg2", "postgresql+asyncpg", NULL };

/* -- helpers -- */

static gboolean
is_async (const char *scheme)
{
  return g_str_has_suffix (scheme, "+asyncpg");
}

static void
opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Opens @url the way an application of @scheme would: blocking for
 * psycopg2, async for asyncpg. */
static DalConnection *
open_url (const char *scheme, const char *url, GError **error)
{
  if (!is_async (scheme))
    return dal_connection_open (url, NULL, error);

  GAsyncResult *result = NULL;
  dal_connection_open_async (url, NULL, opened, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  DalConnection *conn = dal_connection_open_finish (result, error);
  g_object_unref (result);
  return conn;
}

static char *
enc (const char *s)
{
  return dal_test_encode (s);
}

/* scheme://dal:<password>@127.0.0.1:<port>/dal?<query> */
static char *
url_at (const char *scheme, const char *port, const char *query)
{
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", port);
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

static char *
pg_port (void)
{
  return g_strdup (dal_test_env ("DAL_TEST_PG_PORT"));
}

/* sslmode=verify-full&sslrootcert=<file>[&extra] */
static char *
verify_full_query (const char *ca_file, const char *extra)
{
  g_autofree char *ca = enc (ca_file);
  return g_strdup_printf ("sslmode=verify-full&sslrootcert=%s%s%s", ca,
                          extra != NULL ? "&" : "", extra != NULL ? extra : "");
}

static void
assert_no_password (const GError *error)
{
  const char *pw = g_getenv ("DAL_TEST_PG_PASSWORD");
  if (error == NULL || pw == NULL)
    return;
  g_assert_null (strstr (error->message, pw));
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    g_assert_null (strstr (dal_error_get_field (error, i) != NULL
                             ? dal_error_get_field (error, i) : "", pw));
}

/* Every file this program makes lives in one directory of DAL_TEST_DIR. */
static const char *
work_dir (void)
{
  static char *dir;
  if (dir == NULL)
    {
      dir = g_strdup_printf ("%s/test-tls-%d", dal_test_env ("DAL_TEST_DIR"), (int) getpid ());
      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    }
  return dir;
}

static char *
work_file (const char *name)
{
  return g_build_filename (work_dir (), name, NULL);
}

static char *
write_work_file (const char *name, const char *contents, int mode)
{
  char *path = work_file (name);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

static char *
read_text (const char *path)
{
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* libpq's version as the messages write it: "15.18". */
static char *
libpq_version_text (void)
{
  int v = PQlibVersion ();
  return g_strdup_printf ("%d.%d", v / 10000, v % 10000);
}

/* The preflight's time limit: 100 ms, scaled for a loaded machine
 * (dal_test_scaled_ms()), and at least 5 s under valgrind. */
static gint64
limit_ms (void)
{
  const char *preload = g_getenv ("LD_PRELOAD");
  gint64 limit = dal_test_scaled_ms (100);
  return preload != NULL && strstr (preload, "valgrind") != NULL ? MAX (limit, 5000) : limit;
}

/* Asserts @error is a TLS_CONFIG error that took no time and reached no
 * server (@listener saw no connection). */
static void
assert_preflight_error (GError *error, gint64 started, DalTestListener *listener,
                        const char *needle)
{
  gint64 elapsed_ms = (g_get_monotonic_time () - started) / 1000;
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, needle));
  g_assert_nonnull (dal_error_get_hint (error));
  g_assert_false (dal_error_is_retryable (error));
  g_assert_cmpint (elapsed_ms, <, limit_ms ());
  g_assert_cmpuint (dal_test_listener_drain (listener), ==, 0);
  assert_no_password (error);
}

/* -- connecting with verified TLS -- */

static void
test_verify_full (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *url = dal_test_url (scheme, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_no_error (error);

  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_autofree char *protocol = dal_connection_get_info (conn, "tls_protocol");
  g_autofree char *cipher = dal_connection_get_info (conn, "tls_cipher");
  g_assert_cmpstr (tls, ==, "on");
  g_assert_true (g_strcmp0 (protocol, "TLSv1.2") == 0 || g_strcmp0 (protocol, "TLSv1.3") == 0);
  g_assert_nonnull (cipher);
  g_assert_cmpstr (cipher, !=, "");

  /* The server sees the same. */
  g_autoptr (DalResult) r = dal_connection_query (
    conn, "SELECT ssl::text, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
  g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "true");
  g_assert_cmpstr (dal_result_get_string (r, 0, 1, NULL), ==, protocol);
  g_assert_cmpstr (dal_result_get_string (r, 0, 2, NULL), ==, cipher);
}

/* Without TLS, the connection says so. */
static void
test_no_tls_reported (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_NOSSL_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"),
                                            "sslmode=disable");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_no_error (error);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_autofree char *protocol = dal_connection_get_info (conn, "tls_protocol");
  g_assert_cmpstr (tls, ==, "off");
  g_assert_null (protocol);

  g_autoptr (DalResult) r = dal_connection_query (
    conn, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "false");
}

/* A NOSSL-user URL to @host (a Supabase name the fake resolver maps to
 * 127.0.0.1) on the harness's server, with @query. */
static char *
nossl_url_to (const char *scheme, const char *host, const char *query)
{
  g_autofree char *hostport = g_strdup_printf ("%s:%s", host,
                                               dal_test_env ("DAL_TEST_PG_PORT"));
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_NOSSL_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

/* Opens @url and returns its "tls" info; the connection is closed. */
static char *
open_tls_info (const char *scheme, const char *url)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_no_error (error);
  return dal_connection_get_info (conn, "tls");
}

/* allow_insecure_tls=true lets a connection to a Supabase host go
 * without TLS: one warning per host:port (host without case) and
 * process, none when TLS is in use after all. */
static void
test_insecure_warning (gconstpointer data)
{
  const char *scheme = data;
  const char *d = strchr (scheme, '+') + 1;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *host_a = g_strdup_printf ("db-a-%s.warn.supabase.co", d);
  g_autofree char *host_a_upper = g_ascii_strup (host_a, -1);
  g_autofree char *host_b = g_strdup_printf ("db-b-%s.warn.supabase.co", d);
  dal_test_resolver_add (host_a, "127.0.0.1");
  dal_test_resolver_add (host_a_upper, "127.0.0.1");
  dal_test_resolver_add (host_b, "127.0.0.1");
  const char *insecure = "sslmode=disable&allow_insecure_tls=true";
  g_autofree char *url_a = nossl_url_to (scheme, host_a, insecure);
  g_autofree char *url_a_upper = nossl_url_to (scheme, host_a_upper, insecure);
  g_autofree char *url_b = nossl_url_to (scheme, host_b, insecure);
  g_autofree char *url_b_tls = nossl_url_to (scheme, host_b,
                                             "sslmode=prefer&allow_insecure_tls=true");
  g_autofree char *target_a = g_strdup_printf ("allow_insecure_tls=true let the "
                                               "connection to %s:%s go without TLS "
                                               "(sslmode=disable)", host_a,
                                               dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *target_b = g_strdup_printf ("connection to %s:%s go without TLS",
                                               host_b, dal_test_env ("DAL_TEST_PG_PORT"));
  const char *any = "allow_insecure_tls=true let the connection";

  /* the warning is a g_warning: not fatal here, counted instead */
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  _dal_tls_reset_warnings ();
  dal_test_log_clear ();

  /* TLS in use after all (the server offers it): nothing to say */
  g_autofree char *tls0 = open_tls_info (scheme, url_b_tls);
  g_assert_cmpstr (tls0, ==, "on");
  g_assert_cmpuint (dal_test_log_count (any), ==, 0);

  g_autofree char *tls1 = open_tls_info (scheme, url_a);
  g_assert_cmpstr (tls1, ==, "off");
  g_assert_cmpuint (dal_test_log_count (target_a), ==, 1);
  g_autofree char *tls2 = open_tls_info (scheme, url_a);
  g_autofree char *tls3 = open_tls_info (scheme, url_a_upper);
  g_assert_cmpstr (tls3, ==, "off");
  g_assert_cmpuint (dal_test_log_count (any), ==, 1);

  g_autofree char *tls4 = open_tls_info (scheme, url_b);
  g_assert_cmpstr (tls4, ==, "off");
  g_assert_cmpuint (dal_test_log_count (target_b), ==, 1);
  g_assert_cmpuint (dal_test_log_count (any), ==, 2);
  g_assert_cmpuint (dal_test_log_count ("dal: TLS: allow_insecure_tls"), ==, 2);

  /* never the password */
  g_assert_cmpuint (dal_test_log_count (dal_test_env ("DAL_TEST_PG_PASSWORD")), ==, 0);
  g_log_set_always_fatal (fatal);
}

/* A plugin's get_info for _dal_tls_check_connection(): the handle is a
 * NULL-terminated array of key, value pairs. */
static char *
fake_info (gpointer handle, const char *key)
{
  const char * const *kv = handle;
  for (guint i = 0; kv[i] != NULL; i += 2)
    if (strcmp (kv[i], key) == 0)
      return g_strdup (kv[i + 1]);
  return NULL;
}

static guint
check_connection (const char *url_text, const char * const *info)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (url_text, &error);
  g_assert_no_error (error);
  dal_test_log_clear ();
  _dal_tls_check_connection (url, fake_info, (gpointer) info);
  return dal_test_log_count ("allow_insecure_tls=true let the connection");
}

/* The same warning without a server: which exceptions and which
 * connection states give it. */
static void
test_insecure_warning_unit (void)
{
  static const char * const plain[] = {
    "tls", "off", "host", "db.u.supabase.co", "port", "5432", NULL
  };
  static const char * const plain_6543[] = {
    "tls", "off", "host", "db.u.supabase.co", "port", "6543", NULL
  };
  static const char * const tls13[] = {
    "tls", "on", "tls_protocol", "TLSv1.3", "host", "db.u.supabase.co", "port", "5432", NULL
  };
  static const char * const tls11[] = {
    "tls", "on", "tls_protocol", "TLSv1.1", "host", "old.example.com", "port", "5432", NULL
  };
  static const char * const socket[] = {
    "tls", "off", "host", "/run/postgresql", "port", "5432", NULL
  };
  static const char * const unknown[] = { NULL };
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  _dal_tls_reset_warnings ();

  /* without allow_insecure_tls, or without an exception used: nothing */
  g_assert_cmpuint (check_connection ("postgresql://u@db.u.supabase.co/d?sslmode=require", plain), ==, 0);
  g_assert_cmpuint (check_connection ("postgresql://u@h.example.com/d?sslmode=disable"
                                      "&allow_insecure_tls=true", plain), ==, 0);
  /* an insecure mode towards Supabase, but TLS in use: nothing */
  g_assert_cmpuint (check_connection ("postgresql://u@db.u.supabase.co/d?sslmode=prefer"
                                      "&allow_insecure_tls=true", tls13), ==, 0);
  /* a Unix socket, or a plugin that cannot say: nothing */
  g_assert_cmpuint (check_connection ("postgresql://u@db.u.supabase.co/d?sslmode=disable"
                                      "&allow_insecure_tls=true", socket), ==, 0);
  g_assert_cmpuint (check_connection ("postgresql://u@db.u.supabase.co/d?sslmode=disable"
                                      "&allow_insecure_tls=true", unknown), ==, 0);

  /* plaintext towards Supabase: once per host:port */
  g_assert_cmpuint (check_connection ("postgresql://u:s3cret@db.u.supabase.co/d?sslmode=allow"
                                      "&allow_insecure_tls=true", plain), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("connection to db.u.supabase.co:5432 go without "
                                        "TLS (sslmode=allow)"), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("s3cret"), ==, 0);
  g_assert_cmpuint (check_connection ("postgresql://u@db.u.supabase.co/d?sslmode=disable"
                                      "&allow_insecure_tls=true", plain), ==, 0);
  static const char * const plain_upper[] = {
    "tls", "off", "host", "DB.U.Supabase.CO", "port", "5432", NULL
  };
  g_assert_cmpuint (check_connection ("postgresql://u@DB.U.Supabase.CO/d?sslmode=disable"
                                      "&allow_insecure_tls=true", plain_upper), ==, 0);
  g_assert_cmpuint (check_connection ("postgresql://u@db.u.supabase.co/d?sslmode=disable"
                                      "&allow_insecure_tls=true", plain_6543), ==, 1);

  /* a floor below TLSv1.2: only when the server used such a version */
  const char *low = "postgresql://u@old.example.com/d?sslmode=require"
                    "&ssl_min_protocol_version=TLSv1&allow_insecure_tls=true";
  static const char * const old_tls13[] = {
    "tls", "on", "tls_protocol", "TLSv1.3", "host", "old.example.com", "port", "5432", NULL
  };
  g_assert_cmpuint (check_connection (low, old_tls13), ==, 0);
  g_assert_cmpuint (check_connection (low, tls11), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("connection to old.example.com:5432 use TLSv1.1, "
                                        "below libdal's floor TLSv1.2"), ==, 1);
  g_assert_cmpuint (check_connection (low, tls11), ==, 0);

  _dal_tls_reset_warnings ();
  g_log_set_always_fatal (fatal);
}

static void
test_wrong_ca (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *port = pg_port ();
  g_autofree char *query = verify_full_query (dal_test_env ("DAL_TEST_OTHER_CA_FILE"), NULL);
  g_autofree char *url = url_at (scheme, port, query);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_VERIFY_FAILED);
  /* libpq says only "certificate verify failed"; the probe says why. */
  g_assert_nonnull (strstr (error->message, "certificate verify failed"));
  g_assert_nonnull (strstr (error->message, "which is not in the CA file"));
  g_assert_nonnull (strstr (error->message, "libdal test CA"));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "sslrootcert"));
  g_assert_false (dal_error_is_retryable (error));
  assert_no_password (error);
}

static char *
mismatch_url (const char *scheme, const char *mode)
{
  g_autofree char *ca = enc (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("host=wrong.example&hostaddr=127.0.0.1&port=%s"
                                            "&sslmode=%s&sslrootcert=%s",
                                            dal_test_env ("DAL_TEST_PG_PORT"), mode, ca);
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), NULL,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

static void
test_host_mismatch (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  guint lookups = dal_test_resolver_lookups (NULL);
  g_autofree char *full = mismatch_url (scheme, "verify-full");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) refused = open_url (scheme, full, &error);
  g_assert_null (refused);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_VERIFY_FAILED);
  g_assert_nonnull (strstr (error->message, "does not match host name \"wrong.example\""));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "verify-ca"));
  assert_no_password (error);
  g_clear_error (&error);

  /* verify-ca checks the CA only. */
  g_autofree char *ca_only = mismatch_url (scheme, "verify-ca");
  g_autoptr (DalConnection) conn = open_url (scheme, ca_only, &error);
  g_assert_no_error (error);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "on");

  /* hostaddr was given: no name was looked up. */
  g_assert_cmpuint (dal_test_resolver_lookups (NULL), ==, lookups);
}

static void
test_expired_server_certificate (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  const char *port = dal_test_env ("DAL_TEST_EXPIRED_PORT");
  g_autofree char *query = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"), NULL);
  g_autofree char *url = url_at (scheme, port, query);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_VERIFY_FAILED);
  g_assert_nonnull (strstr (error->message, "has expired"));
  g_assert_nonnull (strstr (error->message, "2020-02-01"));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "expired"));
  assert_no_password (error);
}

static void
test_tls_unavailable (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  const char *port = dal_test_env ("DAL_TEST_PGBOUNCER_PORT");
  g_autofree char *url = url_at (scheme, port, "sslmode=require");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "server does not support SSL, but SSL was required"));
  g_assert_nonnull (strstr (error->message, port));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "does not offer TLS"));
  assert_no_password (error);
}

/* -- the preflight -- */

static void
test_missing_ca (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  DalTestListener *listener = dal_test_listener_new (16, FALSE);
  g_autofree char *port = g_strdup_printf ("%u", dal_test_listener_get_port (listener));
  g_autofree char *missing = work_file ("no-such-ca.crt");
  g_autofree char *query = verify_full_query (missing, NULL);
  g_autofree char *url = url_at (scheme, port, query);

  g_autoptr (GError) error = NULL;
  gint64 started = g_get_monotonic_time ();
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_preflight_error (error, started, listener, missing);
  g_assert_nonnull (strstr (error->message, "does not exist"));
  g_assert_nonnull (strstr (error->message, "sslrootcert"));
  g_clear_error (&error);

  /* The same with the real server: no connection either (it would log). */
  g_autofree char *real_port = pg_port ();
  g_autofree char *url2 = url_at (scheme, real_port, query);
  started = g_get_monotonic_time ();
  g_autoptr (DalConnection) conn2 = open_url (scheme, url2, &error);
  g_assert_null (conn2);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_cmpint ((g_get_monotonic_time () - started) / 1000, <, limit_ms ());
  g_clear_error (&error);

  /* verify-full without sslrootcert: libpq's default file, named. */
  g_autofree char *def = g_build_filename (g_get_home_dir (), ".postgresql", "root.crt", NULL);
  if (!g_file_test (def, G_FILE_TEST_EXISTS))
    {
      g_autofree char *url3 = url_at (scheme, port, "sslmode=verify-full");
      started = g_get_monotonic_time ();
      g_autoptr (DalConnection) conn3 = open_url (scheme, url3, &error);
      g_assert_null (conn3);
      assert_preflight_error (error, started, listener, def);
      g_assert_nonnull (strstr (error->message, "no sslrootcert"));
    }
  dal_test_listener_free (listener);
}

static void
test_garbage_ca (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  DalTestListener *listener = dal_test_listener_new (16, FALSE);
  g_autofree char *port = g_strdup_printf ("%u", dal_test_listener_get_port (listener));
  g_autofree char *garbage = write_work_file ("garbage.crt", "this is not a certificate\n", 0644);
  g_autofree char *broken = write_work_file ("broken.crt",
                                             "-----BEGIN CERTIFICATE-----\n"
                                             "bm90IGEgY2VydGlmaWNhdGU=\n"
                                             "-----END CERTIFICATE-----\n", 0644);
  const char *files[] = { garbage, broken };
  const char *needles[] = { "contains no PEM certificate", "is not a valid PEM certificate file" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *query = verify_full_query (files[i], NULL);
      g_autofree char *url = url_at (scheme, port, query);
      g_autoptr (GError) error = NULL;
      gint64 started = g_get_monotonic_time ();
      g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
      g_assert_null (conn);
      assert_preflight_error (error, started, listener, files[i]);
      g_assert_nonnull (strstr (error->message, needles[i]));
    }
  dal_test_listener_free (listener);
}

static void
test_ca_bundle (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *other = read_text (dal_test_env ("DAL_TEST_OTHER_CA_FILE"));
  g_autofree char *ours = read_text (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *both = g_strconcat (other, ours, NULL);
  g_autofree char *bundle = write_work_file ("bundle.crt", both, 0644);

  g_autofree char *port = pg_port ();
  g_autofree char *query = verify_full_query (bundle, NULL);
  g_autofree char *url = url_at (scheme, port, query);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_no_error (error);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "on");
}

/* A second EC key, not the client certificate's. */
static const char *
other_key (void)
{
  static char *path;
  if (path == NULL)
    {
      path = work_file ("other.key");
      const char *argv[] = { "genpkey", "-algorithm", "EC", "-pkeyopt",
                             "ec_paramgen_curve:P-256", "-out", path, NULL };
      dal_test_openssl (argv);
      g_assert_cmpint (g_chmod (path, 0600), ==, 0);
    }
  return path;
}

static void
test_client_certificate (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *cert = enc (dal_test_env ("DAL_TEST_CLIENT_CERT"));
  g_autofree char *key = enc (dal_test_env ("DAL_TEST_CLIENT_KEY"));

  /* The right pair: the server sees the certificate. */
  g_autofree char *extra = g_strdup_printf ("sslcert=%s&sslkey=%s", cert, key);
  g_autofree char *query = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"), extra);
  g_autofree char *port = pg_port ();
  g_autofree char *url = url_at (scheme, port, query);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) r = dal_connection_query (
    conn, "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (dal_result_get_string (r, 0, 0, NULL), "CN=dal"));

  /* A key of another pair: refused before connecting. */
  DalTestListener *listener = dal_test_listener_new (16, FALSE);
  g_autofree char *lport = g_strdup_printf ("%u", dal_test_listener_get_port (listener));
  g_autofree char *wrong_key = enc (other_key ());
  g_autofree char *extra2 = g_strdup_printf ("sslcert=%s&sslkey=%s", cert, wrong_key);
  g_autofree char *query2 = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"), extra2);
  g_autofree char *url2 = url_at (scheme, lport, query2);
  gint64 started = g_get_monotonic_time ();
  g_autoptr (DalConnection) conn2 = open_url (scheme, url2, &error);
  g_assert_null (conn2);
  assert_preflight_error (error, started, listener, "does not belong to the client certificate");
  g_assert_nonnull (strstr (error->message, other_key ()));
  g_assert_nonnull (strstr (error->message, dal_test_env ("DAL_TEST_CLIENT_CERT")));
  g_clear_error (&error);

  /* The right key, readable by others: libpq would refuse it too. */
  g_autofree char *key_text = read_text (dal_test_env ("DAL_TEST_CLIENT_KEY"));
  g_autofree char *open_key = write_work_file ("world-readable.key", key_text, 0644);
  g_autofree char *open_key_enc = enc (open_key);
  g_autofree char *extra3 = g_strdup_printf ("sslcert=%s&sslkey=%s", cert, open_key_enc);
  g_autofree char *query3 = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"), extra3);
  g_autofree char *url3 = url_at (scheme, lport, query3);
  started = g_get_monotonic_time ();
  g_autoptr (DalConnection) conn3 = open_url (scheme, url3, &error);
  g_assert_null (conn3);
  assert_preflight_error (error, started, listener, "group or world access");
  g_assert_nonnull (strstr (dal_error_get_hint (error), "chmod 600"));
  g_clear_error (&error);

  /* A certificate without any key. */
  g_autofree char *extra4 = g_strdup_printf ("sslcert=%s&sslkey=%s", cert,
                                             "%2Fnonexistent%2Fclient.key");
  g_autofree char *query4 = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"), extra4);
  g_autofree char *url4 = url_at (scheme, lport, query4);
  started = g_get_monotonic_time ();
  g_autoptr (DalConnection) conn4 = open_url (scheme, url4, &error);
  g_assert_null (conn4);
  assert_preflight_error (error, started, listener, "/nonexistent/client.key");
  dal_test_listener_free (listener);
}

/* Certificates that expire in 10 days: a message, once per file. */
static void
test_expiry_warning (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *ca_key = work_file ("soon-ca.key");
  g_autofree char *ca_cert = work_file ("soon-ca.crt");
  const char *argv1[] = { "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
                          "-out", ca_cert, "-days", "10", "-subj", "/CN=soon-expiring-ca",
                          "-addext", "basicConstraints=critical,CA:TRUE", NULL };
  dal_test_openssl (argv1);

  g_autofree char *client_key = work_file ("soon-client.key");
  g_autofree char *client_csr = work_file ("soon-client.csr");
  g_autofree char *client_cert = work_file ("soon-client.crt");
  const char *argv2[] = { "req", "-new", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", client_key,
                          "-out", client_csr, "-subj", "/CN=soon-expiring-client", NULL };
  dal_test_openssl (argv2);
  const char *argv3[] = { "x509", "-req", "-in", client_csr, "-CA",
                          dal_test_env ("DAL_TEST_CA_FILE"), "-CAkey",
                          dal_test_env ("DAL_TEST_CA_KEY"), "-set_serial", "7001",
                          "-days", "10", "-out", client_cert, NULL };
  dal_test_openssl (argv3);
  g_assert_cmpint (g_chmod (client_key, 0600), ==, 0);

  g_autofree char *ca_enc = enc (ca_cert);
  g_autofree char *cert_enc = enc (client_cert);
  g_autofree char *key_enc = enc (client_key);
  g_autofree char *text = g_strdup_printf ("postgresql+psycopg2://dal@127.0.0.1:1/dal"
                                           "?sslmode=verify-full&sslrootcert=%s"
                                           "&sslcert=%s&sslkey=%s", ca_enc, cert_enc, key_enc);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);

  _dal_tls_reset_warnings ();
  dal_test_log_clear ();
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (DalUrl) effective = _dal_tls_apply (url, &error);
      g_assert_no_error (error);
      g_assert_nonnull (effective);
    }
  g_autofree char *log = dal_test_log_dump ();
  g_test_message ("log: %s", log);
  g_assert_cmpuint (dal_test_log_count ("soon-expiring-ca"), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("soon-expiring-client"), ==, 1);
  g_assert_cmpuint (dal_test_log_count (ca_cert), ==, 1);
  g_assert_cmpuint (dal_test_log_count (client_cert), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("expires on"), >=, 2);

  /* A CA file with nothing but an expired certificate is an error. */
  g_autofree char *expired = enc (dal_test_env ("DAL_TEST_EXPIRED_CERT"));
  g_autofree char *text2 = g_strdup_printf ("postgresql+psycopg2://dal@127.0.0.1:1/dal"
                                            "?sslmode=verify-full&sslrootcert=%s", expired);
  g_autoptr (DalUrl) url2 = dal_url_parse (text2, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) effective2 = _dal_tls_apply (url2, &error);
  g_assert_null (effective2);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, "only expired certificates"));
  g_assert_nonnull (strstr (error->message, "2020-02-01"));
}

/* -- the policy alone (no network) -- */

static char *
effective (const char *text, GError **error)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (text, &parse_error);
  g_assert_no_error (parse_error);
  return _dal_tls_effective_mode (url, error);
}

static void
assert_effective (const char *text, const char *mode)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = effective (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, mode);
}

static void
assert_insecure_refused (const char *text, const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = effective (text, &error);
  g_assert_null (got);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, host));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "allow_insecure_tls=true"));
  g_assert_null (strstr (error->message, "s3cret"));
}

#define SB "postgresql+asyncpg://postgres:s3cret@db.abcdefghijklmnopqrst.supabase.co:5432/postgres"
#define SB_HOST "db.abcdefghijklmnopqrst.supabase.co"
#define POOLER "postgresql+psycopg2://postgres.abcdefghijklmnopqrst:s3cret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"

static void
test_supabase_defaults (void)
{
  /* Nothing said: require; a CA configured: verify-full. */
  assert_effective (SB, "require");
  assert_effective (SB "?sslrootcert=%2Fetc%2Fsupabase-ca.crt", "verify-full");
  assert_effective (POOLER, "require");
  assert_effective (POOLER "?pooler_mode=transaction", "require");
  assert_effective ("postgresql://u@DB.X.SUPABASE.CO./d", "require");
  assert_effective ("postgresql://u@supabase.com/d", "require");
  assert_effective ("postgresql://u@localhost,db.x.supabase.co/d", "require");

  /* Secure choices stay. */
  assert_effective (SB "?sslmode=require", "require");
  assert_effective (SB "?sslmode=verify-ca&sslrootcert=%2Fx", "verify-ca");
  assert_effective (SB "?ssl=true", "require");
  assert_effective (SB "?ssl=verify-full&sslrootcert=%2Fx", "verify-full");

  /* Insecure choices need allow_insecure_tls. */
  assert_insecure_refused (SB "?sslmode=disable", SB_HOST);
  assert_insecure_refused (SB "?sslmode=allow", SB_HOST);
  assert_insecure_refused (SB "?sslmode=prefer", SB_HOST);
  assert_insecure_refused (SB "?ssl=false", SB_HOST);
  assert_insecure_refused (POOLER "?sslmode=disable", "aws-0-eu-central-1.pooler.supabase.com");
  assert_effective (SB "?sslmode=disable&allow_insecure_tls=true", "disable");
  assert_effective (SB "?sslmode=prefer&allow_insecure_tls=yes", "prefer");

  /* Other hosts: libpq's default. */
  assert_effective ("postgresql://u@db.example.com/d", "prefer");
  assert_effective ("postgresql://u@supabase.co.example.org/d", "prefer");
  assert_effective ("postgresql://u@notsupabase.co/d", "prefer");
  assert_effective ("postgresql://u@db.example.com/d?sslmode=disable", "disable");

  /* The policy never applies to other dialects. */
  g_autoptr (GError) error = NULL;
  g_autofree char *none = effective ("test://u@db.x.supabase.co/d", &error);
  g_assert_no_error (error);
  g_assert_null (none);

  g_assert_true (_dal_tls_host_is_supabase ("db.abc.supabase.co"));
  g_assert_true (_dal_tls_host_is_supabase ("aws-1-us-east-1.pooler.supabase.com"));
  g_assert_false (_dal_tls_host_is_supabase ("supabase.co.evil.example"));
  g_assert_false (_dal_tls_host_is_supabase ("xsupabase.co"));
  g_assert_false (_dal_tls_host_is_supabase (NULL));
}

/* The URL the plugin gets: sslmode raised, everything else kept. */
static void
test_supabase_effective_url (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (SB "?application_name=app&connect_timeout=2.5"
                                             "&command_timeout=3", &error);
  g_assert_no_error (error);

  dal_test_log_clear ();
  g_autoptr (DalUrl) eff = _dal_tls_apply (url, &error);
  g_assert_no_error (error);
  g_assert_true (eff != url);
  g_assert_cmpstr (dal_url_get_option (eff, "sslmode"), ==, "require");
  g_assert_null (dal_url_get_option (url, "sslmode"));
  g_assert_cmpstr (dal_url_get_password (eff), ==, "s3cret");
  g_assert_cmpstr (dal_url_get_user (eff), ==, "postgres");
  g_assert_cmpstr (dal_url_get_host (eff, 0), ==, SB_HOST);
  g_assert_cmpstr (dal_url_get_port (eff, 0), ==, "5432");
  g_assert_cmpstr (dal_url_get_scheme (eff), ==, "postgresql+asyncpg");
  g_assert_cmpstr (dal_url_get_option (eff, "application_name"), ==, "app");
  g_assert_cmpint (dal_url_get_duration_ms (eff, "connect_timeout", 0), ==, 2500);
  g_assert_cmpint (dal_url_get_duration_ms (eff, "command_timeout", 0), ==, 3000);
  /* Nothing was logged, the password least of all. */
  g_assert_cmpuint (dal_test_log_count ("s3cret"), ==, 0);
  g_assert_cmpuint (dal_test_log_count (SB_HOST), ==, 0);

  /* A URL that needs nothing changed is handed on as it is. */
  g_autoptr (DalUrl) same_in = dal_url_parse (SB "?sslmode=require", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) same_out = _dal_tls_apply (same_in, &error);
  g_assert_no_error (error);
  g_assert_true (same_in == same_out);
}

/* The core refuses before any plugin does anything: no name is looked up. */
static void
test_supabase_refused_before_connecting (gconstpointer data)
{
  const char *scheme = data;
  guint lookups = dal_test_resolver_lookups (NULL);
  g_autofree char *url = g_strdup_printf ("%s://postgres:s3cret@" SB_HOST "/postgres"
                                          "?sslmode=disable", scheme);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, "sslmode=disable towards " SB_HOST));
  g_assert_null (strstr (error->message, "s3cret"));
  g_assert_cmpuint (dal_test_resolver_lookups (NULL), ==, lookups);
}

/* Every plugin of the dialect gets the policy, the fake one too. */
static void
test_policy_for_every_plugin (void)
{
  const char *path[] = { g_getenv ("DAL_TEST_PLUGINS"), NULL };
  if (path[0] == NULL)
    {
      g_test_skip ("DAL_TEST_PLUGINS is not set");
      return;
    }
  DalRegistry *registry = dal_registry_new (path, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("postgres+fake://u@127.0.0.1/db?sslmode=verify-full"
                                          "&sslrootcert=%2Fnonexistent%2Fca.crt", &error);
  g_assert_no_error (error);
  DalConnection *conn = dal_connection_open_url (registry, url, NULL, &error);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, "/nonexistent/ca.crt"));
  g_clear_error (&error);

  g_autoptr (DalUrl) sb = dal_url_parse ("postgres+fake://u@db.x.supabase.co/db?sslmode=prefer", &error);
  g_assert_no_error (error);
  GAsyncResult *result = NULL;
  dal_connection_open_url_async (registry, sb, NULL, opened, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  conn = dal_connection_open_url_finish (result, &error);
  g_object_unref (result);
  g_assert_null (conn);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  dal_registry_free (registry);
}

static void
apply_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) eff = _dal_tls_apply (url, &error);
  g_assert_no_error (error);
  g_assert_nonnull (eff);
}

static void
test_prefer_warning (void)
{
  _dal_tls_reset_warnings ();
  dal_test_log_clear ();

  /* libpq's default towards a remote host: one message, however often. */
  apply_ok ("postgresql+psycopg2://u:s3cret@db.example.com/d");
  apply_ok ("postgresql+asyncpg://u:s3cret@db.example.com/d");
  apply_ok ("postgresql+psycopg2://u:s3cret@db.example.com:5433/other");
  g_assert_cmpuint (dal_test_log_count ("db.example.com"), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("can fall back to an unencrypted connection"), ==, 1);
  g_assert_cmpuint (dal_test_log_count ("libpq's default"), ==, 1);

  /* An explicit prefer (or allow) towards another remote host: one more. */
  apply_ok ("postgresql+psycopg2://u@203.0.113.7/d?sslmode=prefer");
  apply_ok ("postgresql+psycopg2://u@203.0.113.7/d?sslmode=prefer");
  g_assert_cmpuint (dal_test_log_count ("sslmode=prefer towards 203.0.113.7"), ==, 1);
  apply_ok ("postgresql+psycopg2://u@db2.example.com/d?sslmode=allow");
  g_assert_cmpuint (dal_test_log_count ("sslmode=allow towards db2.example.com"), ==, 1);

  /* This machine, secure modes, explicit acceptance: nothing. */
  dal_test_log_clear ();
  apply_ok ("postgresql+psycopg2://u@localhost/d");
  apply_ok ("postgresql+psycopg2://u@127.0.0.1/d");
  apply_ok ("postgresql+psycopg2://u@127.1.2.3/d?sslmode=prefer");
  apply_ok ("postgresql+psycopg2://u@[::1]/d");
  apply_ok ("postgresql+psycopg2://u@/d");
  apply_ok ("postgresql+psycopg2://u@/d?host=%2Fvar%2Frun%2Fpostgresql");
  apply_ok ("postgresql+psycopg2://u@/d?host=far.example&hostaddr=127.0.0.1");
  apply_ok ("postgresql+psycopg2://u@db3.example.com/d?sslmode=require");
  apply_ok ("postgresql+psycopg2://u@db3.example.com/d?sslmode=disable");
  apply_ok ("postgresql+psycopg2://u@db4.example.com/d?allow_insecure_tls=true");
  g_autofree char *log = dal_test_log_dump ();
  g_assert_cmpstr (log, ==, "");

  g_assert_true (_dal_tls_host_is_local (NULL));
  g_assert_true (_dal_tls_host_is_local ("/tmp"));
  g_assert_true (_dal_tls_host_is_local ("LOCALHOST"));
  g_assert_true (_dal_tls_host_is_local ("::1"));
  g_assert_false (_dal_tls_host_is_local ("10.0.0.1"));
  g_assert_false (_dal_tls_host_is_local ("localhost.example.com"));
}

static void
test_protocol_floor (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *m1 = effective ("postgresql://u@localhost/d?sslmode=require"
                                   "&ssl_min_protocol_version=TLSv1.1", &error);
  g_assert_null (m1);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, "ssl_min_protocol_version=TLSv1.1"));
  g_clear_error (&error);

  assert_effective ("postgresql://u@localhost/d?sslmode=require&ssl_min_protocol_version=TLSv1.1"
                    "&allow_insecure_tls=true", "require");
  assert_effective ("postgresql://u@localhost/d?sslmode=require&ssl_min_protocol_version=TLSv1.3",
                    "require");

  g_autofree char *m2 = effective ("postgresql://u@localhost/d?sslmode=require"
                                   "&ssl_max_protocol_version=TLSv1.1", &error);
  g_assert_null (m2);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  g_assert_nonnull (strstr (error->message, "no TLS version is left"));
}

/* -- what libpq 15 cannot do -- */

static void
test_client_version_unit (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) neg = dal_url_parse ("postgresql://u@h/d?sslnegotiation=direct", &error);
  g_assert_no_error (error);
  g_assert_true (dal_url_check_client_version (neg, 170000, "libpq", &error));
  g_assert_no_error (error);
  g_assert_false (dal_url_check_client_version (neg, 150018, "libpq", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "sslnegotiation needs libpq 17 or later"));
  g_assert_nonnull (strstr (error->message, "libpq 15.18"));
  g_clear_error (&error);

  g_autoptr (DalUrl) sys = dal_url_parse ("postgresql://u@h/d?sslmode=verify-full&sslrootcert=system",
                                          &error);
  g_assert_no_error (error);
  g_assert_true (dal_url_check_client_version (sys, 160000, "libpq", &error));
  g_assert_false (dal_url_check_client_version (sys, 150018, "libpq", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "needs libpq 16 or later"));
  g_clear_error (&error);

  g_autoptr (DalUrl) auth = dal_url_parse ("postgresql://u@h/d?require_auth=scram-sha-256", &error);
  g_assert_no_error (error);
  g_assert_false (dal_url_check_client_version (auth, 140000, "libpq", &error));
  g_assert_nonnull (strstr (error->message, "require_auth needs libpq 16 or later, but this "
                                            "program uses libpq 14"));
  g_clear_error (&error);

  g_autoptr (DalUrl) plain = dal_url_parse ("postgresql://u@h/d?sslmode=require", &error);
  g_assert_true (dal_url_check_client_version (plain, 140000, "libpq", &error));
  g_assert_no_error (error);
}

static void
test_client_version (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  DalTestListener *listener = dal_test_listener_new (16, FALSE);
  g_autofree char *port = g_strdup_printf ("%u", dal_test_listener_get_port (listener));
  g_autofree char *found = libpq_version_text ();
  g_autofree char *negotiation = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"),
                                                    "sslnegotiation=direct");
  const struct
  {
    const char *query;
    const char *needed;
  } cases[] = {
    { negotiation, "sslnegotiation needs libpq 17 or later" },
    { "sslmode=verify-full&sslrootcert=system", "sslrootcert=system" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = url_at (scheme, port, cases[i].query);
      g_autoptr (GError) error = NULL;
      g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
      g_assert_null (conn);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, cases[i].needed));
      g_assert_nonnull (strstr (error->message, i == 0 ? "libpq 17" : "libpq 16"));
      g_autofree char *have = g_strdup_printf ("libpq %s", found);
      g_assert_nonnull (strstr (error->message, have));
      g_assert_null (strstr (error->message, "invalid connection option"));
      g_assert_nonnull (dal_error_get_hint (error));
      assert_no_password (error);
    }
  g_assert_cmpuint (dal_test_listener_drain (listener), ==, 0);
  dal_test_listener_free (listener);
}

/* -- TLS records that arrive in pieces -- */

static gint64
thread_cpu_us (void)
{
  struct rusage ru;
  g_assert_cmpint (getrusage (RUSAGE_THREAD, &ru), ==, 0);
  return ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec
         + ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}

static void
query_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError *error = NULL;
  DalResult *r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  GPtrArray *results = user_data;
  g_ptr_array_add (results, r);
}

static gboolean
count_row (gpointer user_data, guint n_values, const char * const *values, GError **error)
{
  guint *n = user_data;
  if (n_values == 2 && strlen (values[1]) == 200)
    (*n)++;
  return TRUE;
}

/* Over a network that delivers the server's TLS records in pieces (as
 * one with a small segment size does), the rows arrive whole and the
 * connection waits for the rest of a record on the socket instead of
 * spinning (the engine's reads, the blocking pump and the COPY engine):
 * this thread's CPU time stays a small part of the time the rows take to
 * arrive.  (pgasync reads ahead, so OpenSSL holds the start
 * of a record while the rest is on its way; see docs/design.md.) */
static void
test_sliced_records (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  double scale = dal_test_time_scale ();
  DalTestProxy *proxy = dal_test_proxy_new (0, (guint16) atoi (dal_test_env ("DAL_TEST_PG_PORT")),
                                             1000, (gulong) (1000 * scale));
  g_autofree char *port = g_strdup_printf ("%u", dal_test_proxy_get_port (proxy));
  g_autofree char *query = verify_full_query (dal_test_env ("DAL_TEST_CA_FILE"), NULL);
  g_autofree char *url = url_at (scheme, port, query);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_no_error (error);
  /* pgasync reads ahead; pgsync, which waits inside libpq, does not
   * know the key. */
  g_autofree char *ra = dal_connection_get_info (conn, "tls_read_ahead");
  g_assert_cmpstr (ra, ==, is_async (scheme) ? "on" : NULL);

  /* About 400 kB of rows (≈ 400 slices, at least 0.4 s) blocking, then
   * async with 20 small results behind them, then by COPY. */
  const char *big = "SELECT g, repeat('x', 200) FROM generate_series(1, 2000) AS g";
  gint64 t0 = g_get_monotonic_time (), cpu0 = thread_cpu_us ();
  g_autoptr (DalResult) rows = dal_connection_query (conn, big, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (rows), ==, 2000);
  g_assert_cmpint (dal_result_get_int64 (rows, 1999, 0, NULL), ==, 2000);
  g_assert_cmpuint (strlen (dal_result_get_string (rows, 1999, 1, NULL)), ==, 200);

  g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) dal_result_unref);
  dal_connection_query_async (conn, big, NULL, NULL, query_done, results);
  for (gint32 i = 0; i < 20; i++)
    dal_connection_query_async (conn, "SELECT $1::int", g_variant_new_int32 (i), NULL,
                                query_done, results);
  while (results->len < 21)
    g_main_context_iteration (NULL, TRUE);
  guint copied = 0;
  g_assert_cmpint (dal_connection_copy_to_rows (
                     conn, "COPY (SELECT g, repeat('x', 200) FROM generate_series(1, 2000) AS g) TO STDOUT",
                     count_row, &copied, NULL, &error), ==, 2000);
  g_assert_no_error (error);
  g_assert_cmpuint (copied, ==, 2000);
  double wall = (g_get_monotonic_time () - t0) / 1e6;
  double cpu = (thread_cpu_us () - cpu0) / 1e6;
  g_test_message ("%s: %.3f s of CPU in %.3f s", scheme, cpu, wall);
  g_assert_cmpuint (dal_result_get_n_rows (results->pdata[0]), ==, 2000);
  for (guint i = 1; i < 21; i++)
    g_assert_cmpint (dal_result_get_int64 (results->pdata[i], 0, 0, NULL), ==, i - 1);
  g_assert_cmpfloat (wall, >=, 1.2);
  g_assert_cmpfloat (cpu, <, 0.4 * wall);

  g_clear_object (&conn);
  dal_test_proxy_free (proxy);
}

int
main (int argc, char **argv)
{
  dal_test_log_install ();
  g_test_init (&argc, &argv, NULL);
  dal_test_resolver_install ();

  for (guint i = 0; schemes[i] != NULL; i++)
    {
      const char *s = schemes[i];
      const char *d = strchr (s, '+') + 1;
#define ADD(name, func) \
      G_STMT_START { \
        g_autofree char *path = g_strdup_printf ("/tls/%s/" name, d); \
        g_test_add_data_func (path, s, func); \
      } G_STMT_END
      ADD ("verify-full", test_verify_full);
      ADD ("no-tls-reported", test_no_tls_reported);
      ADD ("insecure-warning", test_insecure_warning);
      ADD ("wrong-ca", test_wrong_ca);
      ADD ("host-mismatch", test_host_mismatch);
      ADD ("expired-server-certificate", test_expired_server_certificate);
      ADD ("tls-unavailable", test_tls_unavailable);
      ADD ("preflight/missing-ca", test_missing_ca);
      ADD ("preflight/garbage-ca", test_garbage_ca);
      ADD ("preflight/ca-bundle", test_ca_bundle);
      ADD ("preflight/client-certificate", test_client_certificate);
      ADD ("supabase-refused-before-connecting", test_supabase_refused_before_connecting);
      ADD ("client-version", test_client_version);
      ADD ("sliced-records", test_sliced_records);
#undef ADD
    }
  g_test_add_func ("/tls/preflight/expiry-warning", test_expiry_warning);
  g_test_add_func ("/tls/policy/supabase-defaults", test_supabase_defaults);
  g_test_add_func ("/tls/policy/supabase-effective-url", test_supabase_effective_url);
  g_test_add_func ("/tls/policy/every-plugin", test_policy_for_every_plugin);
  g_test_add_func ("/tls/policy/prefer-warning", test_prefer_warning);
  g_test_add_func ("/tls/policy/protocol-floor", test_protocol_floor);
  g_test_add_func ("/tls/policy/insecure-warning", test_insecure_warning_unit);
  g_test_add_func ("/tls/policy/client-version", test_client_version_unit);
  return g_test_run ();
}
