/* test-session.c: session settings (libpq's options=-c name=value) on
 * every connection kind: the parser, the transaction classifier, and,
 * live, SHOW through PgBouncer in transaction mode (both plugins, one-shot,
 * explicit transactions with SET LOCAL, pipelined, a DalPool), the
 * refusals, and a direct DalPool's reset keeping the startup values. */
#include "config.h"

#include <string.h>

#include "dal-test.h"
#include <dal/dal-plugin.h>

#define TIMEOUT "4321ms"
#define SETTINGS "-c%20statement_timeout%3D" TIMEOUT "%20--search-path%3Dpg_catalog%2Cpublic"

/* -- no server -- */

static void
test_parse (void)
{
  g_autofree char *other = NULL;
  g_auto (GStrv) s = dal_startup_options_parse (
    "-c statement_timeout=5s  -csearch_path=a\\ b,public --work-mem=64MB -B 100 -c", &other);
  g_assert_nonnull (s);
  g_assert_cmpuint (g_strv_length (s), ==, 6);
  g_assert_cmpstr (s[0], ==, "statement_timeout");
  g_assert_cmpstr (s[1], ==, "5s");
  g_assert_cmpstr (s[2], ==, "search_path");
  g_assert_cmpstr (s[3], ==, "a b,public");
  g_assert_cmpstr (s[4], ==, "work_mem");
  g_assert_cmpstr (s[5], ==, "64MB");
  g_assert_cmpstr (other, ==, "-B 100 -c");

  g_autofree char *none = NULL;
  g_auto (GStrv) t = dal_startup_options_parse ("-c x=a\\\\b", &none);
  g_assert_cmpstr (t[1], ==, "a\\b");
  g_assert_null (none);
  g_assert_null (dal_startup_options_parse (NULL, NULL));
  g_assert_null (dal_startup_options_parse ("  ", NULL));
}

static void
test_tx_control (void)
{
  static const struct { const char *sql; DalSqlTxControl tc; } cases[] = {
    { "begin", DAL_SQL_TX_BEGIN },
    { " /* x /* y */ */ -- c\n BEGIN ISOLATION LEVEL SERIALIZABLE", DAL_SQL_TX_BEGIN },
    { "START TRANSACTION READ ONLY", DAL_SQL_TX_BEGIN },
    { "commit and chain", DAL_SQL_TX_BEGIN },
    { "COMMIT", DAL_SQL_TX_END },
    { "rollback and no chain", DAL_SQL_TX_END },
    { "end", DAL_SQL_TX_END },
    { "PREPARE TRANSACTION 'x'", DAL_SQL_TX_END },
    { "COMMIT PREPARED 'x'", DAL_SQL_TX_END },
    { "ROLLBACK TO SAVEPOINT a", DAL_SQL_TX_SAVEPOINT },
    { "rollback work to a", DAL_SQL_TX_SAVEPOINT },
    { "SAVEPOINT a", DAL_SQL_TX_SAVEPOINT },
    { "release a", DAL_SQL_TX_SAVEPOINT },
    { "VACUUM t", DAL_SQL_TX_OUTSIDE },
    { "create unique index concurrently i on t (a)", DAL_SQL_TX_OUTSIDE },
    { "CREATE DATABASE x", DAL_SQL_TX_OUTSIDE },
    { "alter system set work_mem = '1MB'", DAL_SQL_TX_OUTSIDE },
    { "SELECT 'begin'", DAL_SQL_TX_NONE },
    { "beginx", DAL_SQL_TX_NONE },
    { "create index i on t (a)", DAL_SQL_TX_NONE },
    { "", DAL_SQL_TX_NONE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].sql);
      g_assert_cmpint (dal_sql_transaction_control (cases[i].sql), ==, cases[i].tc);
    }
}

/* -- live -- */

static const char *
bouncer_port_or_skip (void)
{
  const char *port = g_getenv ("DAL_TEST_PGBOUNCER_PORT");
  if (port == NULL)
    {
      if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
        g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set");
      else
        g_test_skip ("no PgBouncer (harness run with --no-pgbouncer)");
    }
  return port;
}

static char *
bouncer_url (const char *scheme, const char *options)
{
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
  g_autofree char *q = g_strdup_printf ("sslmode=disable&pooler_mode=transaction&options=%s",
                                        options);
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
}

static char *
show (DalConnection *c, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sql = g_strdup_printf ("SHOW %s", name);
  g_autoptr (DalResult) r = dal_connection_query (c, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static void
run (DalConnection *c, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (c, sql, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
assert_show (DalConnection *c, const char *name, const char *want)
{
  g_autofree char *v = show (c, name);
  g_assert_cmpstr (v, ==, want);
}

#define N_CONNS 7   /* more than PgBouncer's default_pool_size (5) */

static void
test_bouncer (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  g_autofree char *url = bouncer_url (scheme, SETTINGS);
  DalConnection *c[N_CONNS];
  for (guint i = 0; i < N_CONNS; i++)
    {
      g_autoptr (GError) error = NULL;
      c[i] = dal_connection_open (url, NULL, &error);
      g_assert_no_error (error);
    }
  /* Every connection holds a transaction open on a server connection of
   * its own while the others run one-shots: the pooler has to switch. */
  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < N_CONNS; i++)
      {
        assert_show (c[i], "statement_timeout", TIMEOUT);
        assert_show (c[i], "search_path", "pg_catalog,public");
        run (c[i], "BEGIN");
        assert_show (c[i], "statement_timeout", TIMEOUT);
        run (c[i], "SET LOCAL statement_timeout = '1234ms'");
        assert_show (c[i], "statement_timeout", "1234ms");
        run (c[i], "SAVEPOINT a");
        assert_show (c[i], "statement_timeout", "1234ms");
        run (c[i], "ROLLBACK TO SAVEPOINT a");
        assert_show (c[i], "search_path", "pg_catalog,public");
        if (i % 2 == 0)
          run (c[i], "COMMIT");
        else
          {
            run (c[(i + 1) % N_CONNS], "SELECT 1");  /* another one meanwhile */
            run (c[i], "ROLLBACK");
          }
        assert_show (c[i], "statement_timeout", TIMEOUT);
      }
  for (guint i = 0; i < N_CONNS; i++)
    g_object_unref (c[i]);
}

typedef struct
{
  guint pending;
  guint ok;
  gboolean done;
} Pipelined;

static void
pipelined_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Pipelined *p = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), res, &error);
  g_assert_no_error (error);
  const char *v = dal_result_get_string (r, 0, 0, NULL);
  if (g_strcmp0 (v, TIMEOUT) == 0 || g_strcmp0 (v, "777ms") == 0)
    p->ok++;
  else
    g_test_fail_printf ("SHOW gave %s", v);
  p->done = --p->pending == 0;
}

/* Statements in flight on one pgasync connection, one-shots and an
 * explicit transaction among them, on several connections at once. */
static void
test_bouncer_pipelined (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  g_autofree char *url = bouncer_url ("postgresql+asyncpg", SETTINGS);
  DalConnection *c[N_CONNS];
  Pipelined p = { 0 };
  for (guint i = 0; i < N_CONNS; i++)
    {
      g_autoptr (GError) error = NULL;
      c[i] = dal_connection_open (url, NULL, &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < N_CONNS; i++)
    {
      for (guint k = 0; k < 4; k++)
        {
          p.pending++;
          dal_connection_query_async (c[i], "SHOW statement_timeout", NULL, NULL,
                                      pipelined_done, &p);
        }
      dal_connection_query_async (c[i], "BEGIN", NULL, NULL, NULL, NULL);
      p.pending++;
      dal_connection_query_async (c[i], "SHOW statement_timeout", NULL, NULL,
                                  pipelined_done, &p);
      dal_connection_query_async (c[i], "SET LOCAL statement_timeout = '777ms'", NULL, NULL,
                                  NULL, NULL);
      p.pending++;
      dal_connection_query_async (c[i], "SHOW statement_timeout", NULL, NULL,
                                  pipelined_done, &p);
      dal_connection_query_async (c[i], "COMMIT", NULL, NULL, NULL, NULL);
      p.pending++;
      dal_connection_query_async (c[i], "SHOW statement_timeout", NULL, NULL,
                                  pipelined_done, &p);
    }
  guint want = p.pending;
  dal_test_wait_for (&p.done, 10000);
  g_assert_cmpuint (p.ok, ==, want);
  for (guint i = 0; i < N_CONNS; i++)
    g_object_unref (c[i]);
}

static void
test_bouncer_pool (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  g_autofree char *base = bouncer_url (scheme, SETTINGS);
  g_autofree char *url = g_strdup_printf ("%s&pool_max_size=4", base);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalPool) pool = dal_pool_open (url, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr (DalResult) r = dal_pool_query (pool, "SHOW statement_timeout", NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, TIMEOUT);
      DalConnection *c = dal_pool_acquire (pool, "test", -1, NULL, &error);
      g_assert_no_error (error);
      assert_show (c, "search_path", "pg_catalog,public");
      dal_pool_release (pool, c);
    }
  dal_pool_close (pool);
}

static void
test_bouncer_refusals (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  static const char *const bad[] = {
    "-c%20no_such_setting%3D1", "no_such_setting",
    "-c%20statement_timeout%3Dsoon", "statement_timeout",
    "-c%20statement_timeout%3D1s%20-c%20log_connections%3Don", "log_connections",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i += 2)
    {
      g_autofree char *url = bouncer_url (scheme, bad[i]);
      g_autoptr (GError) error = NULL;
      g_autoptr (DalConnection) c = dal_connection_open (url, NULL, &error);
      g_assert_null (c);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECT_FAILED);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, bad[i + 1]));
      g_assert_nonnull (strstr (error->message, "transaction pooler"));
      g_assert_nonnull (strstr (error->message, "ALTER ROLE"));
      g_assert_null (strstr (error->message, dal_test_env ("DAL_TEST_PG_PASSWORD")));
    }
  /* Other startup options: refused before connecting. */
  g_autofree char *url = bouncer_url (scheme, "-c%20work_mem%3D1MB%20-B%20100");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) c = dal_connection_open (url, NULL, &error);
  g_assert_null (c);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "-B 100"));
}

/* Direct: the settings are the session's defaults, which the pool's
 * reset (RESET ALL) goes back to. */
static void
test_direct_pool_reset (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, "pool_max_size=1&options=" SETTINGS);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalPool) pool = dal_pool_open (url, NULL, &error);
  g_assert_no_error (error);
  DalConnection *c = dal_pool_acquire (pool, "test", -1, NULL, &error);
  g_assert_no_error (error);
  assert_show (c, "statement_timeout", TIMEOUT);
  run (c, "SET statement_timeout = '2s'");
  assert_show (c, "statement_timeout", "2s");
  dal_pool_release (pool, c);
  c = dal_pool_acquire (pool, "test", -1, NULL, &error);
  g_assert_no_error (error);
  assert_show (c, "statement_timeout", TIMEOUT);
  assert_show (c, "search_path", "pg_catalog,public");
  dal_pool_release (pool, c);
  dal_pool_close (pool);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session/parse", test_parse);
  g_test_add_func ("/session/tx-control", test_tx_control);
  static const char *const schemes[] = { "postgresql+asyncpg", "postgresql+psycopg2" };
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      const char *d = schemes[i] + strlen ("postgresql+");
      g_autofree char *a = g_strdup_printf ("/session/bouncer/%s", d);
      g_autofree char *b = g_strdup_printf ("/session/bouncer-pool/%s", d);
      g_autofree char *c = g_strdup_printf ("/session/bouncer-refusals/%s", d);
      g_autofree char *e = g_strdup_printf ("/session/direct-pool-reset/%s", d);
      g_test_add_data_func (a, schemes[i], test_bouncer);
      g_test_add_data_func (b, schemes[i], test_bouncer_pool);
      g_test_add_data_func (c, schemes[i], test_bouncer_refusals);
      g_test_add_data_func (e, schemes[i], test_direct_pool_reset);
    }
  g_test_add_func ("/session/bouncer-pipelined", test_bouncer_pipelined);
  return g_test_run ();
}
