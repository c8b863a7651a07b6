/* test-errors-live.c: the error catalogue (plugins/pgcommon/dal-pg-error.c)
 * as users meet it: every failure has a code, a message saying what
 * happened, a hint saying what to change, a retryable flag and the
 * SQLSTATE where there is one.
 *
 *   - the classifier on libpq's exact texts (no network), including the
 *     ones that cannot be produced here without sending traffic off this
 *     machine (an unreachable IPv6 network, Supabase's IPv6-only hosts);
 *   - the pooler's refusals (Supavisor, PgBouncer), from a fake server on
 *     127.0.0.1 that answers with just that ErrorResponse;
 *   - everything the real server can produce, against the harness's
 *     PostgreSQL and PgBouncer (live);
 *   - the password, which appears in no message, field, log line or `dal`
 *     output.
 * Connecting tests run for postgresql+psycopg2 (blocking API) and
 * postgresql+asyncpg (async API).  Names resolve through a fake GResolver.
 */
#include "config.h"

#include <string.h>

#include "dal-pg.h"
#include "dal-private.h"
#include "dal-test.h"
#include "dal-test-net.h"

static const char * const schemes[] = { "postgresql+psycopg2", "postgresql+asyncpg", NULL };

#define REF "abcdefghijklmnopqrst"
#define SB_HOST "db." REF ".supabase.co"

/* -- helpers -- */

static void
opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static DalConnection *
open_url (const char *scheme, const char *url, GError **error)
{
  if (!g_str_has_suffix (scheme, "+asyncpg"))
    return dal_connection_open (url, NULL, error);
  GAsyncResult *result = NULL;
  dal_connection_open_async (url, NULL, opened, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  DalConnection *conn = dal_connection_open_finish (result, error);
  g_object_unref (result);
  return conn;
}

static const char *
driver_of (const char *scheme)
{
  return strchr (scheme, '+') + 1;
}

/* The rules every catalogue error keeps. */
static void
assert_well_formed (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == DAL_ERROR);
  const char *hint = dal_error_get_hint (error);
  g_assert_nonnull (hint);
  g_assert_cmpuint (strlen (hint), >, 10);
  g_assert_true (g_str_has_suffix (error->message, hint));
  g_assert_cmpuint (strlen (error->message), >, strlen (hint) + 10);
  const char *pw = g_getenv ("DAL_TEST_PG_PASSWORD");
  if (pw != NULL)
    {
      g_assert_null (strstr (error->message, pw));
      for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
        if (dal_error_get_field (error, i) != NULL)
          g_assert_null (strstr (dal_error_get_field (error, i), pw));
    }
}

static void
assert_catalogued (const GError *error, DalErrorCode code, gboolean retryable,
                   const char *sqlstate, const char *message_needle,
                   const char *hint_needle)
{
  g_assert_error (error, DAL_ERROR, (gint) code);
  assert_well_formed (error);
  g_assert_cmpint (dal_error_is_retryable (error), ==, retryable);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, sqlstate);
  if (message_needle != NULL && strstr (error->message, message_needle) == NULL)
    g_error ("\"%s\" not in the message: %s", message_needle, error->message);
  if (hint_needle != NULL && strstr (dal_error_get_hint (error), hint_needle) == NULL)
    g_error ("\"%s\" not in the hint: %s", hint_needle, dal_error_get_hint (error));
}

/* -- the classifier, on libpq's exact words -- */

static void
test_classify_connect (void)
{
  static const struct
  {
    const char *text;
    DalErrorCode code;
    gboolean retryable;
    const char *sqlstate;
    const char *hint_needle;
  } cases[] = {
    { "connection to server at \"2001:db8::1\", port 5432 failed: Network is unreachable\n"
      "\tIs the server running on that host and accepting TCP/IP connections?\n",
      DAL_ERROR_NETWORK_UNREACHABLE, FALSE, NULL, "IPv6" },
    { "connection to server at \"2001:db8::1\", port 5432 failed: Cannot assign requested address\n"
      "\tIs the server running on that host and accepting TCP/IP connections?\n",
      DAL_ERROR_NETWORK_UNREACHABLE, FALSE, NULL, "IPv6" },
    { "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
      "\tIs the server running on that host and accepting TCP/IP connections?\n",
      DAL_ERROR_CONNECTION_REFUSED, TRUE, NULL, "host and port" },
    { "could not translate host name \"nope.invalid\" to address: Name or service not known\n",
      DAL_ERROR_HOST_NOT_FOUND, FALSE, NULL, "host name" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password "
      "authentication failed for user \"dal\"\nLOCATION:  auth_failed, auth.c:335\n",
      DAL_ERROR_AUTH_FAILED, FALSE, "28P01", "password" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  3D000: database "
      "\"nope\" does not exist\n",
      DAL_ERROR_UNKNOWN_DATABASE, FALSE, "3D000", "database name" },
    { "connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: FATAL:  28000: role "
      "\"nobody\" does not exist\n",
      DAL_ERROR_UNKNOWN_ROLE, FALSE, "28000", "user name" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  53300: sorry, too "
      "many clients already\n",
      DAL_ERROR_TOO_MANY_CONNECTIONS, TRUE, "53300", "max_connections" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  53300: too many "
      "connections for role \"app\"\n",
      DAL_ERROR_TOO_MANY_CONNECTIONS, TRUE, "53300", "CONNECTION LIMIT" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28000: no pg_hba.conf "
      "entry for host \"127.0.0.1\", user \"dal\", database \"dal\", no encryption\n",
      DAL_ERROR_TLS_REQUIRED, FALSE, "28000", "sslmode=require" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28000: no pg_hba.conf "
      "entry for host \"127.0.0.1\", user \"dal\", database \"dal\", SSL off\n",
      DAL_ERROR_TLS_REQUIRED, FALSE, "28000", "sslmode=require" },
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: (ESSLREQUIRED) "
      "SSL connection is required\n",
      DAL_ERROR_TLS_REQUIRED, FALSE, "XX000", "sslmode=require" },
    { "connection to server at \"3.1.2.3\", port 6543 failed: FATAL:  XX000: Tenant or user "
      "not found\n",
      DAL_ERROR_POOLER_TENANT_NOT_FOUND, FALSE, "XX000", "postgres.<project-ref>" },
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: (ENOTFOUND) "
      "tenant/user postgres.abc not found\n",
      DAL_ERROR_POOLER_TENANT_NOT_FOUND, FALSE, "XX000", "postgres.<project-ref>" },
    { "connection to server at \"3.1.2.3\", port 6543 failed: FATAL:  XX000: Max client "
      "connections reached\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "XX000", "transaction" },
    { "connection to server at \"3.1.2.3\", port 6543 failed: FATAL:  XX000: (EMAXCONN) Max "
      "client connections reached\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "XX000", "fewer connections at once" },
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: (EMAXCONNSESSION) "
      "max clients reached in session mode - max clients are limited to pool_size: 15\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "XX000", "pool size" },
    { "connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  08P01: no more "
      "connections allowed (max_client_conn)\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "08P01", "max_client_conn" },
    /* Supavisor's codes, as it sends them (FATAL, XX000, "(CODE) text"). */
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: (ECIRCUITBREAKER) "
      "Too many authentication errors\n",
      DAL_ERROR_CONNECT_FAILED, TRUE, "XX000", "wait about ten minutes" },
    { "connection to server at \"3.1.2.3\", port 6543 failed: FATAL:  XX000: (ECIRCUITBREAKER) "
      "Unable to establish connection to upstream database\n",
      DAL_ERROR_CONNECT_FAILED, TRUE, "XX000", "fix the user name and password" },
    { "connection to server at \"3.1.2.3\", port 6543 failed: FATAL:  XX000: (ENOIDENTIFIER) "
      "no tenant identifier provided (external_id or sni_hostname required)\n",
      DAL_ERROR_POOLER_TENANT_NOT_FOUND, FALSE, "XX000", "postgres.<project-ref>" },
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: (ECHECKOUTTIMEOUT) "
      "Pool checkout timeout. Request was dropped after 15000ms in Session mode. This means "
      "requests are coming in and your connection pool cannot serve them fast enough. You can "
      "address this by:\n\n  1. Ensuring your database is available\n  2. Increasing the "
      "pool_size\n\nReview the performance tuning guide\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "XX000", "raise the pool size" },
    { "connection to server at \"3.1.2.3\", port 6543 failed: FATAL:  XX000: (EDBHANDLEREXITED) "
      "DbHandler exited. Check logs for more information\n",
      DAL_ERROR_CONNECT_FAILED, TRUE, "XX000", "database is up" },
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: (EMAXCLIENTSESSION) "
      "max clients reached in session mode - max clients are limited to pool_size: 15\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "XX000", "port 6543" },
    { "connection to server at \"3.1.2.3\", port 5432 failed: FATAL:  XX000: "
      "MaxClientsInSessionMode: max clients reached - in Session mode max clients are limited "
      "to pool_size\n",
      DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "XX000", "port 6543" },
    /* PgBouncer while its own logins to the server fail. */
    { "connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  08P01: server login "
      "has been failing, try again later (server_login_retry)\n",
      DAL_ERROR_CONNECT_FAILED, TRUE, "08P01", "server_login_retry" },
    { "connection to server at \"127.0.0.1\", port 6432 failed: server does not support SSL, "
      "but SSL was required\n",
      DAL_ERROR_TLS_UNAVAILABLE, FALSE, NULL, "TLS" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: SSL error: certificate verify "
      "failed\n",
      DAL_ERROR_TLS_VERIFY_FAILED, FALSE, NULL, "sslrootcert" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: server certificate for "
      "\"localhost\" (and 2 other names) does not match host name \"wrong.example\"\n",
      DAL_ERROR_TLS_VERIFY_FAILED, FALSE, NULL, "verify-ca" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  57P03: the database "
      "system is starting up\n",
      DAL_ERROR_CONNECT_FAILED, TRUE, "57P03", "retry" },
    { "connection to server at \"127.0.0.1\", port 5432 failed: something nobody has seen\n",
      DAL_ERROR_CONNECT_FAILED, FALSE, NULL, "Check host, port" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %u: %s", i, cases[i].text);
      g_autoptr (GError) e = dal_pg_error_from_connect (cases[i].text, "127.0.0.1:5432");
      assert_catalogued (e, cases[i].code, cases[i].retryable, cases[i].sqlstate, NULL,
                         cases[i].hint_needle);
      g_assert_null (strstr (e->message, "LOCATION"));
      g_assert_null (strstr (e->message, "\t"));
      /* A pooler's own advice is replaced by the hint, not run on. */
      g_assert_null (strstr (e->message, "address this by"));
      g_assert_null (strstr (e->message, "1. Ensuring"));
    }
}

/* db.<ref>.supabase.co is IPv6-only: the advice names the session pooler. */
static void
test_classify_supabase_ipv6 (void)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("postgresql+asyncpg://postgres:s3cret@" SB_HOST
                                          ":5432/postgres", &parse_error);
  g_assert_no_error (parse_error);
  GError *e = dal_pg_error_from_connect (
    "connection to server at \"2600:1f18:2e13:9d01::1\", port 5432 failed: Network is "
    "unreachable\n\tIs the server running on that host and accepting TCP/IP connections?\n",
    "[2600:1f18:2e13:9d01::1]:5432");
  e = dal_pg_error_add_host_advice (e, dal_url_get_host (url, 0));
  assert_catalogued (e, DAL_ERROR_NETWORK_UNREACHABLE, FALSE, NULL,
                     "Network is unreachable", "aws-N-<region>.pooler.supabase.com");
  const char *hint = dal_error_get_hint (e);
  g_assert_nonnull (strstr (hint, "port 5432"));
  g_assert_nonnull (strstr (hint, "user postgres." REF));
  g_assert_nonnull (strstr (hint, "IPv4 add-on"));
  g_assert_nonnull (strstr (hint, SB_HOST));
  g_assert_nonnull (strstr (e->message, "2600:1f18:2e13:9d01::1"));
  g_error_free (e);

  /* Where IPv6 is missing altogether the name does not even resolve. */
  e = dal_error_new_hint (DAL_ERROR_HOST_NOT_FOUND, "Check the host name",
                          "could not resolve host name \"%s\": Name or service not known",
                          SB_HOST);
  e = dal_pg_error_add_host_advice (e, "DB." REF ".SUPABASE.CO");
  assert_catalogued (e, DAL_ERROR_HOST_NOT_FOUND, FALSE, NULL, SB_HOST,
                     "session pooler");
  g_assert_nonnull (strstr (dal_error_get_hint (e), "project ref"));
  g_error_free (e);

  /* Other hosts, other failures: untouched. */
  static const char * const others[] = {
    "db.example.com", "aws-0-us-east-1.pooler.supabase.com", "db.supabase.co",
    "db.a.b.supabase.co", NULL
  };
  for (guint i = 0; others[i] != NULL; i++)
    {
      GError *orig = dal_error_new_hint (DAL_ERROR_NETWORK_UNREACHABLE, "h", "unreachable");
      GError *same = dal_pg_error_add_host_advice (orig, others[i]);
      g_assert_true (same == orig);
      g_error_free (same);
    }
  GError *auth = dal_error_new_hint (DAL_ERROR_AUTH_FAILED, "h", "auth");
  g_assert_true (dal_pg_error_add_host_advice (auth, SB_HOST) == auth);
  g_error_free (auth);
}

/* The same through the connect engine, with a resolver that knows no
 * address for the name (as on an IPv4-only machine): no traffic at all. */
static void
test_supabase_unresolvable (gconstpointer data)
{
  const char *scheme = data;
  g_autofree char *url = g_strdup_printf ("%s://postgres:s3cret@" SB_HOST ":5432/postgres", scheme);
  guint before = dal_test_resolver_lookups (SB_HOST);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_catalogued (error, DAL_ERROR_HOST_NOT_FOUND, FALSE, NULL,
                     "could not resolve host name \"" SB_HOST "\"", "postgres." REF);
  g_assert_cmpuint (dal_test_resolver_lookups (SB_HOST), ==, before + 1);
  g_assert_null (strstr (error->message, "s3cret"));
}

static void
test_dns_failure (gconstpointer data)
{
  const char *scheme = data;
  g_autofree char *url = g_strdup_printf ("%s://u@no-such-host.invalid:5432/d?sslmode=require",
                                          scheme);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_catalogued (error, DAL_ERROR_HOST_NOT_FOUND, FALSE, NULL,
                     "\"no-such-host.invalid\"", "host name");
}

/* -- a pooler's refusals, from a fake server on 127.0.0.1 -- */

static void
expect_refusal (const char *scheme, const char *sslmode, const char *sqlstate,
                const char *message, DalErrorCode code, gboolean retryable,
                const char *hint_needle)
{
  DalTestFakeServer *server = dal_test_fake_server_new (sqlstate, message);
  g_autofree char *url = g_strdup_printf ("%s://postgres." REF ":s3cret@127.0.0.1:%u/postgres"
                                          "?sslmode=%s", scheme,
                                          dal_test_fake_server_get_port (server), sslmode);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  g_test_message ("%s", error->message);
  assert_catalogued (error, code, retryable, sqlstate, message, hint_needle);
  g_assert_nonnull (strstr (error->message, "127.0.0.1"));
  g_assert_null (strstr (error->message, "s3cret"));
  g_assert_cmpuint (dal_test_fake_server_get_served (server), >=, 1);
  dal_test_fake_server_free (server);
}

static void
test_pooler_tenant_not_found (gconstpointer data)
{
  const char *scheme = data;
  expect_refusal (scheme, "prefer", "XX000", "Tenant or user not found",
                  DAL_ERROR_POOLER_TENANT_NOT_FOUND, FALSE, "postgres.<project-ref>");
  expect_refusal (scheme, "disable", "XX000", "(ENOTFOUND) tenant/user postgres." REF " not found",
                  DAL_ERROR_POOLER_TENANT_NOT_FOUND, FALSE, "dashboard");
}

static void
test_pooler_max_clients (gconstpointer data)
{
  const char *scheme = data;
  expect_refusal (scheme, "prefer", "XX000", "Max client connections reached",
                  DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "transaction-mode pooler");
  expect_refusal (scheme, "disable", "XX000", "(EMAXCONN) Max client connections reached",
                  DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "fewer connections at once");
  expect_refusal (scheme, "prefer", "XX000",
                  "(EMAXCONNSESSION) max clients reached in session mode - max clients are "
                  "limited to pool_size: 15",
                  DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "pool size");
  expect_refusal (scheme, "disable", "08P01", "no more connections allowed (max_client_conn)",
                  DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "max_client_conn");
  expect_refusal (scheme, "prefer", "XX000",
                  "MaxClientsInSessionMode: max clients reached - in Session mode max clients "
                  "are limited to pool_size",
                  DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "port 6543");
}

/* Supavisor's circuit breaker and lost handler, and PgBouncer while its
 * logins to the server fail: retryable, after a pause or a fix. */
static void
test_pooler_retry_later (gconstpointer data)
{
  const char *scheme = data;
  expect_refusal (scheme, "disable", "XX000", "(ECIRCUITBREAKER) Too many authentication errors",
                  DAL_ERROR_CONNECT_FAILED, TRUE, "wait about ten minutes");
  expect_refusal (scheme, "prefer", "XX000",
                  "(EDBHANDLEREXITED) DbHandler exited. Check logs for more information",
                  DAL_ERROR_CONNECT_FAILED, TRUE, "database is up");
  expect_refusal (scheme, "disable", "XX000",
                  "(ECHECKOUTTIMEOUT) Pool checkout timeout. Request was dropped after 15000ms "
                  "in Transaction mode",
                  DAL_ERROR_POOLER_MAX_CLIENTS, TRUE, "raise the pool size");
  expect_refusal (scheme, "disable", "08P01",
                  "server login has been failing, try again later (server_login_retry)",
                  DAL_ERROR_CONNECT_FAILED, TRUE, "server_login_retry");
  /* Not retryable: the user name lacks the project ref. */
  expect_refusal (scheme, "disable", "XX000",
                  "(ENOIDENTIFIER) no tenant identifier provided (external_id or sni_hostname "
                  "required)",
                  DAL_ERROR_POOLER_TENANT_NOT_FOUND, FALSE, "postgres.<project-ref>");
}

static void
test_pooler_tls_required (gconstpointer data)
{
  const char *scheme = data;
  expect_refusal (scheme, "disable", "XX000", "(ESSLREQUIRED) SSL connection is required",
                  DAL_ERROR_TLS_REQUIRED, FALSE, "sslmode=require");
}

/* -- failures to connect a real server produces -- */

static char *
harness_url (const char *scheme, const char *user, const char *password, const char *port,
             const char *database, const char *query)
{
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", port);
  return dal_test_url_full (scheme, user, password, hostport, database, query);
}

static char *
verify_full (void)
{
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  return g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
}

static void
test_auth_failed (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *q = verify_full ();
  g_autofree char *url = harness_url (scheme, dal_test_env ("DAL_TEST_PG_USER"), "wrong-password",
                                      dal_test_env ("DAL_TEST_PG_PORT"), "dal", q);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_catalogued (error, DAL_ERROR_AUTH_FAILED, FALSE, "28P01",
                     "password authentication failed for user \"dal\"", "percent-encode");
  g_assert_null (strstr (error->message, "wrong-password"));
}

static void
test_unknown_database (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *q = verify_full ();
  g_autofree char *url = harness_url (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                      dal_test_env ("DAL_TEST_PG_PASSWORD"),
                                      dal_test_env ("DAL_TEST_PG_PORT"), "no_such_db", q);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_catalogued (error, DAL_ERROR_UNKNOWN_DATABASE, FALSE, "3D000",
                     "database \"no_such_db\" does not exist", "create the database");
}

/* Over TCP the server hides whether a role exists (SCRAM answers 28P01);
 * the trusted Unix socket says it. */
static void
test_unknown_role (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *dir = dal_test_encode (dal_test_env ("DAL_TEST_PG_SOCKET_DIR"));
  g_autofree char *url = g_strdup_printf ("%s://no_such_role@/dal?host=%s&port=%s", scheme, dir,
                                          dal_test_env ("DAL_TEST_PG_PORT"));
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_catalogued (error, DAL_ERROR_UNKNOWN_ROLE, FALSE, "28000",
                     "role \"no_such_role\" does not exist", "create the role");
}

static void
test_too_many_connections (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *role = g_strdup_printf ("dal_limited_%s", driver_of (scheme));
  g_autofree char *drop_old = g_strdup_printf ("DROP ROLE IF EXISTS %s", role);
  g_free (dal_test_admin_query (drop_old));
  g_autofree char *setup = g_strdup_printf ("CREATE ROLE %s LOGIN CONNECTION LIMIT 1", role);
  g_free (dal_test_admin_query (setup));

  g_autofree char *dir = dal_test_encode (dal_test_env ("DAL_TEST_PG_SOCKET_DIR"));
  g_autofree char *url = g_strdup_printf ("%s://%s@/dal?host=%s&port=%s", scheme, role, dir,
                                          dal_test_env ("DAL_TEST_PG_PORT"));
  g_autoptr (GError) error = NULL;
  DalConnection *first = open_url (scheme, url, &error);
  g_assert_no_error (error);
  DalConnection *second = open_url (scheme, url, &error);
  g_assert_null (second);
  assert_catalogued (error, DAL_ERROR_TOO_MANY_CONNECTIONS, TRUE, "53300",
                     "too many connections for role", "CONNECTION LIMIT");
  g_object_unref (first);

  g_autofree char *drop = g_strdup_printf ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE usename = '%s'", role);
  g_free (dal_test_admin_query (drop));
  g_autofree char *drop2 = g_strdup_printf ("DROP ROLE %s", role);
  g_free (dal_test_admin_query (drop2));
}

static void
test_tls_required (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = harness_url (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                      dal_test_env ("DAL_TEST_PG_PASSWORD"),
                                      dal_test_env ("DAL_TEST_PG_PORT"), "dal", "sslmode=disable");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  assert_catalogued (error, DAL_ERROR_TLS_REQUIRED, FALSE, "28000",
                     "no encryption", "sslmode=require");
}

static void
test_connection_refused (gconstpointer data)
{
  const char *scheme = data;
  g_autofree char *port = g_strdup_printf ("%u", dal_test_unused_port ());
  g_autofree char *url = harness_url (scheme, "u", "s3cret", port, "d", "sslmode=require");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  g_assert_null (conn);
  g_autofree char *where = g_strdup_printf ("\"127.0.0.1\", port %s", port);
  assert_catalogued (error, DAL_ERROR_CONNECTION_REFUSED, TRUE, NULL, where, "port");
  g_assert_nonnull (strstr (error->message, "Connection refused"));
}

/* A connect that hangs says where it hung. */
static void
expect_timeout (const char *scheme, DalTestListener *listener, const char *sslmode,
                const char *phase)
{
  g_autofree char *port = g_strdup_printf ("%u", dal_test_listener_get_port (listener));
  g_autofree char *query = g_strdup_printf ("sslmode=%s&connect_timeout=0.4", sslmode);
  g_autofree char *url = harness_url (scheme, "u", "s3cret", port, "d", query);
  g_autoptr (GError) error = NULL;
  gint64 started = g_get_monotonic_time ();
  g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
  gint64 elapsed_ms = (g_get_monotonic_time () - started) / 1000;
  g_assert_null (conn);
  g_test_message ("%s", error->message);
  g_autofree char *needle = g_strdup_printf ("(phase: %s;", phase);
  assert_catalogued (error, DAL_ERROR_CONNECT_TIMEOUT, TRUE, NULL, needle, "connect_timeout");
  g_assert_nonnull (strstr (error->message, port));
  g_assert_cmpint (elapsed_ms, >=, 350);
  g_assert_cmpint (elapsed_ms, <, dal_test_scaled_ms (3000));
}

static void
test_connect_timeout_phases (gconstpointer data)
{
  const char *scheme = data;

  /* Connected, the SSLRequest unanswered: the TLS phase. */
  DalTestListener *silent = dal_test_listener_new (16, FALSE);
  expect_timeout (scheme, silent, "require", "TLS handshake");
  /* Without TLS the startup message goes unanswered: authentication. */
  expect_timeout (scheme, silent, "disable", "authentication");
  dal_test_listener_free (silent);

  /* A full backlog drops the SYN: the TCP connect itself hangs. */
  DalTestListener *full = dal_test_listener_new (0, TRUE);
  expect_timeout (scheme, full, "require", "TCP connect");
  dal_test_listener_free (full);
}

/* -- statements -- */

static DalConnection *
harness_connection (const char *scheme)
{
  g_autofree char *url = dal_test_url (scheme, NULL);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = open_url (scheme, url, &error);
  g_assert_no_error (error);
  return conn;
}

static GError *
query_error (DalConnection *conn, const char *sql)
{
  GError *error = NULL;
  DalResult *r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_nonnull (error);
  return error;
}

static void
test_prepared_statements (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  /* 26000 through the transaction pooler, as a statement cache meets it. */
  g_autofree char *url = harness_url (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                      dal_test_env ("DAL_TEST_PG_PASSWORD"),
                                      dal_test_env ("DAL_TEST_PGBOUNCER_PORT"), "dal",
                                      "sslmode=disable");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) pooled = open_url (scheme, url, &error);
  g_assert_no_error (error);
  g_autoptr (GError) e1 = query_error (pooled, "EXECUTE dal_no_such_statement");
  assert_catalogued (e1, DAL_ERROR_PREPARED_STATEMENT, FALSE, "26000",
                     "prepared statement \"dal_no_such_statement\" does not exist",
                     "statement_cache_size=0");
  g_assert_nonnull (strstr (dal_error_get_hint (e1), "transaction pooler"));

  /* 26000 and 42P05 straight from the server. */
  g_autoptr (DalConnection) conn = harness_connection (scheme);
  g_autoptr (GError) e2 = query_error (conn, "EXECUTE nope");
  assert_catalogued (e2, DAL_ERROR_PREPARED_STATEMENT, FALSE, "26000", "\"nope\"", "pooler");
  g_autoptr (DalResult) ok = dal_connection_query (conn, "PREPARE dal_twice AS SELECT 1", NULL,
                                                   NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GError) e3 = query_error (conn, "PREPARE dal_twice AS SELECT 1");
  assert_catalogued (e3, DAL_ERROR_PREPARED_STATEMENT, FALSE, "42P05",
                     "prepared statement \"dal_twice\" already exists", "pooler_mode=transaction");
}

static void
test_query_fields (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = harness_connection (scheme);
  g_autofree char *table = g_strdup_printf ("dal_errors_%s", driver_of (scheme));
  g_autofree char *drop_old = g_strdup_printf ("DROP TABLE IF EXISTS %s", table);
  g_autofree char *create = g_strdup_printf (
    "CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL "
    "CONSTRAINT %s_v_positive CHECK (v > 0))", table, table);
  g_autoptr (GError) error = NULL;
  dal_connection_execute (conn, drop_old, NULL, NULL, &error);
  g_assert_no_error (error);
  dal_connection_execute (conn, create, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *insert = g_strdup_printf ("INSERT INTO %s VALUES ($1, $2)", table);
  g_assert_cmpint (dal_connection_execute (conn, insert, g_variant_new ("(ii)", 1, 1), NULL,
                                           &error), ==, 1);
  g_assert_no_error (error);

  /* Unique violation: schema, table, constraint, detail. */
  GError *e = NULL;
  g_assert_cmpint (dal_connection_execute (conn, insert, g_variant_new ("(ii)", 1, 2), NULL, &e),
                   ==, -1);
  g_autofree char *pkey = g_strdup_printf ("%s_pkey", table);
  assert_catalogued (e, DAL_ERROR_QUERY_FAILED, FALSE, "23505", "duplicate key value", "constraint");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_SCHEMA), ==, "public");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_TABLE), ==, table);
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_CONSTRAINT), ==, pkey);
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_DETAIL), ==, "Key (id)=(1) already exists.");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_SEVERITY), ==, "ERROR");
  g_assert_nonnull (strstr (e->message, "Key (id)=(1) already exists"));
  g_clear_error (&e);

  /* NOT NULL: the column. */
  g_autofree char *insert_null = g_strdup_printf ("INSERT INTO %s VALUES (2, NULL)", table);
  e = query_error (conn, insert_null);
  assert_catalogued (e, DAL_ERROR_QUERY_FAILED, FALSE, "23502", "null value", NULL);
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_COLUMN), ==, "v");
  g_clear_error (&e);

  /* CHECK: the constraint's name. */
  g_autofree char *insert_neg = g_strdup_printf ("INSERT INTO %s VALUES (3, -1)", table);
  g_autofree char *check = g_strdup_printf ("%s_v_positive", table);
  e = query_error (conn, insert_neg);
  assert_catalogued (e, DAL_ERROR_QUERY_FAILED, FALSE, "23514", NULL, NULL);
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_CONSTRAINT), ==, check);
  g_clear_error (&e);

  /* A syntax error: the position. */
  e = query_error (conn, "SELECT 1 FROM WHERE");
  assert_catalogued (e, DAL_ERROR_QUERY_FAILED, FALSE, "42601", "syntax error", "position");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_POSITION), ==, "15");
  g_clear_error (&e);

  /* An unknown table: position, and libdal's sentence. */
  e = query_error (conn, "SELECT * FROM dal_no_such_table");
  assert_catalogued (e, DAL_ERROR_QUERY_FAILED, FALSE, "42P01", "dal_no_such_table", "migrations");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_POSITION), ==, "15");
  g_clear_error (&e);

  /* The server's own hint is passed on as the hint. */
  e = query_error (conn, "SELECT dal_no_such_function(1)");
  g_assert_error (e, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  assert_well_formed (e);
  g_assert_cmpstr (dal_error_get_sqlstate (e), ==, "42883");
  g_assert_nonnull (dal_error_get_field (e, DAL_ERROR_FIELD_HINT));
  g_assert_cmpstr (dal_error_get_hint (e), ==, dal_error_get_field (e, DAL_ERROR_FIELD_HINT));
  g_clear_error (&e);

  g_autofree char *drop = g_strdup_printf ("DROP TABLE %s", table);
  g_autoptr (DalResult) r2 = dal_connection_query (conn, drop, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* The server ends an idle session: the next statement says why in one
 * sentence, with the server's SQLSTATE, not libpq's lines run together. */
static void
test_connection_lost (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = harness_connection (scheme);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT pg_backend_pid()::text", NULL,
                                                  NULL, &error);
  g_assert_no_error (error);
  /* pg_terminate_backend with a timeout returns once the backend is gone
   * (the bound is generous: only a failure waits for it). */
  const char *scale_env = g_getenv ("DAL_TEST_TIME_SCALE");
  double scale = scale_env != NULL ? MAX (g_ascii_strtod (scale_env, NULL), 1.0) : 1.0;
  g_autofree char *kill = g_strdup_printf ("SELECT pg_terminate_backend(%s, %d)::text",
                                           dal_result_get_string (r, 0, 0, NULL),
                                           (int) (30000 * scale));
  g_autofree char *killed = dal_test_admin_query (kill);
  g_assert_cmpstr (killed, ==, "true");

  GError *e = query_error (conn, "SELECT 1");
  g_test_message ("%s", e->message);
  assert_catalogued (e, DAL_ERROR_CONNECTION_LOST, TRUE, "57P01",
                     "terminating connection due to administrator command", "new connection");
  g_assert_null (strstr (e->message, "; "));
  g_assert_null (strstr (e->message, "unexpectedly"));
  g_assert_null (strstr (e->message, "\n"));
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_SEVERITY), ==, "FATAL");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_MESSAGE), ==,
                   "terminating connection due to administrator command");
  g_error_free (e);
}

/* -- the password never shows -- */

static void
assert_clean (const GError *error, const char *password)
{
  g_assert_nonnull (error);
  g_assert_null (strstr (error->message, password));
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    if (dal_error_get_field (error, i) != NULL)
      g_assert_null (strstr (dal_error_get_field (error, i), password));
  if (dal_error_get_hint (error) != NULL)
    g_assert_null (strstr (dal_error_get_hint (error), password));
}

/* Runs `dal` with @argv; returns stdout + stderr. */
static char *
run_tool (const char * const *argv, int *status)
{
  const char *tool = g_getenv ("DAL_TEST_TOOL");
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) tool);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) args->pdata, NULL, 0, NULL, NULL, &out, &err, status, &error);
  g_assert_no_error (error);
  return g_strconcat (out, err, NULL);
}

static void
test_password_never_leaks (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *pw = dal_test_env ("DAL_TEST_PG_PASSWORD");
  const char *user = dal_test_env ("DAL_TEST_PG_USER");
  const char *port = dal_test_env ("DAL_TEST_PG_PORT");
  g_autofree char *vf = verify_full ();
  g_autofree char *other_ca = dal_test_encode (dal_test_env ("DAL_TEST_OTHER_CA_FILE"));
  g_autofree char *wrong_ca = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", other_ca);
  g_autofree char *expired_port = g_strdup (dal_test_env ("DAL_TEST_EXPIRED_PORT"));
  g_autofree char *bouncer_port = g_strdup (dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
  g_autofree char *refused_port = g_strdup_printf ("%u", dal_test_unused_port ());
  DalTestFakeServer *tenant = dal_test_fake_server_new ("XX000", "Tenant or user not found");
  g_autofree char *tenant_port = g_strdup_printf ("%u", dal_test_fake_server_get_port (tenant));

  dal_test_log_clear ();
  _dal_tls_reset_warnings ();
  g_autoptr (GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; schemes[i] != NULL; i++)
    {
      const char *s = schemes[i];
      g_ptr_array_add (urls, harness_url (s, user, pw, port, "no_such_db", vf));
      g_ptr_array_add (urls, harness_url (s, "no_such_user", pw, port, "dal", vf));
      g_ptr_array_add (urls, harness_url (s, user, pw, port, "dal", wrong_ca));
      g_ptr_array_add (urls, harness_url (s, user, pw, port, "dal", "sslmode=disable"));
      g_ptr_array_add (urls, harness_url (s, user, pw, expired_port, "dal", vf));
      g_ptr_array_add (urls, harness_url (s, user, pw, bouncer_port, "dal", "sslmode=require"));
      g_ptr_array_add (urls, harness_url (s, user, pw, refused_port, "dal", "sslmode=require"));
      g_ptr_array_add (urls, harness_url (s, user, pw, tenant_port, "dal", "sslmode=prefer"));
      g_ptr_array_add (urls, harness_url (s, user, pw, port, "dal",
                                          "sslmode=verify-full&sslrootcert=%2Fnonexistent"));
      g_ptr_array_add (urls, harness_url (s, user, pw, port, "dal",
                                          "sslmode=verify-full&sslrootcert=system"));
      g_autofree char *sb = g_strdup_printf ("%s://postgres:%s@" SB_HOST "/postgres?sslmode=prefer",
                                             s, pw);
      g_ptr_array_add (urls, g_steal_pointer (&sb));
      g_autofree char *sb2 = g_strdup_printf ("%s://postgres:%s@" SB_HOST "/postgres", s, pw);
      g_ptr_array_add (urls, g_steal_pointer (&sb2));
      g_autofree char *remote = g_strdup_printf ("%s://postgres:%s@db.example.com/postgres", s, pw);
      g_ptr_array_add (urls, g_steal_pointer (&remote));
    }
  for (guint i = 0; i < urls->len; i++)
    {
      const char *url = urls->pdata[i];
      const char *scheme = g_str_has_prefix (url, "postgresql+asyncpg") ? schemes[1] : schemes[0];
      g_autoptr (GError) error = NULL;
      g_autoptr (DalConnection) conn = open_url (scheme, url, &error);
      g_assert_null (conn);
      g_test_message ("%s", error->message);
      assert_clean (error, pw);
    }

  /* A statement whose error quotes the password. */
  for (guint i = 0; schemes[i] != NULL; i++)
    {
      g_autoptr (DalConnection) conn = harness_connection (schemes[i]);
      g_autofree char *sql = g_strdup_printf ("SELECT '%s'::int", pw);
      g_autoptr (GError) e = query_error (conn, sql);
      assert_clean (e, pw);
      g_assert_nonnull (strstr (e->message, "****"));
    }

  /* Nothing logged it. */
  g_autofree char *log = dal_test_log_dump ();
  g_assert_null (strstr (log, pw));
  g_assert_cmpuint (dal_test_log_count ("db.example.com"), ==, 1);

  /* Nor does the dal command, whatever it reports. */
  if (g_getenv ("DAL_TEST_TOOL") != NULL
      && g_file_test (g_getenv ("DAL_TEST_TOOL"), G_FILE_TEST_IS_EXECUTABLE))
    {
      for (guint i = 0; i < urls->len; i += 2)
        {
          /* Another process, with the system's resolver: loopback only. */
          if (strstr (urls->pdata[i], "@127.0.0.1:") == NULL)
            continue;
          const char *argv[] = { "query", urls->pdata[i], "SELECT 1", NULL };
          int status = 0;
          g_autofree char *out = run_tool (argv, &status);
          g_assert_false (g_spawn_check_wait_status (status, NULL));
          g_assert_null (strstr (out, pw));
          g_assert_nonnull (strstr (out, "dal: "));
        }
      const char *argv[] = { "url", urls->pdata[0], NULL };
      int status = 0;
      g_autofree char *out = run_tool (argv, &status);
      g_assert_null (strstr (out, pw));
    }
  dal_test_fake_server_free (tenant);
}

int
main (int argc, char **argv)
{
  dal_test_log_install ();
  g_test_init (&argc, &argv, NULL);
  dal_test_resolver_install ();

  g_test_add_func ("/errors-live/classify/connect", test_classify_connect);
  g_test_add_func ("/errors-live/classify/supabase-ipv6", test_classify_supabase_ipv6);
  for (guint i = 0; schemes[i] != NULL; i++)
    {
      const char *s = schemes[i];
      const char *d = driver_of (s);
#define ADD(name, func) \
      G_STMT_START { \
        g_autofree char *path = g_strdup_printf ("/errors-live/%s/" name, d); \
        g_test_add_data_func (path, s, func); \
      } G_STMT_END
      ADD ("supabase-unresolvable", test_supabase_unresolvable);
      ADD ("dns-failure", test_dns_failure);
      ADD ("connection-refused", test_connection_refused);
      ADD ("connect-timeout-phases", test_connect_timeout_phases);
      ADD ("pooler/tenant-not-found", test_pooler_tenant_not_found);
      ADD ("pooler/max-clients", test_pooler_max_clients);
      ADD ("pooler/retry-later", test_pooler_retry_later);
      ADD ("pooler/tls-required", test_pooler_tls_required);
      ADD ("auth-failed", test_auth_failed);
      ADD ("unknown-database", test_unknown_database);
      ADD ("unknown-role", test_unknown_role);
      ADD ("too-many-connections", test_too_many_connections);
      ADD ("tls-required", test_tls_required);
      ADD ("prepared-statements", test_prepared_statements);
      ADD ("query-fields", test_query_fields);
      ADD ("connection-lost", test_connection_lost);
#undef ADD
    }
  g_test_add_func ("/errors-live/password-never-leaks", test_password_never_leaks);
  return g_test_run ();
}
