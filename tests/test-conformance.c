/* test-conformance.c: one application, every PostgreSQL plugin.
 *
 * Every test here is written once, against the public API only, and runs
 * once per plugin with nothing but the URL's scheme changed
 * (postgresql+psycopg2 → pgsync, postgresql+asyncpg → pgasync; the bare
 * postgresql scheme gets a smoke test), and (most of them) once with the
 * blocking calls and once with the async calls on a GMainContext.  That
 * the same code passes on both plugins, both ways, is the point: an
 * application can switch drivers by changing its URL.
 *
 * Live tests: they need the servers of tests/harness/pg-harness and skip
 * without them (fail under DAL_TEST_REQUIRE_SERVER=1).  Only 127.0.0.1,
 * ::1 and the harness's Unix socket are ever contacted: a fake GResolver
 * answers every host-name lookup of this process (see FakeResolver), so
 * "unknown host" never reaches DNS.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <gio/gio.h>

#include "dal-test.h"

#define WAIT_MS 30000          /* an async call that takes longer has hung */
#define WRONG_PASSWORD "wrong-Pw-7qZ"
#define UNKNOWN_HOST "dal-conformance-no-such-host.invalid"

/* Upper timing bounds scale up on a loaded machine and under valgrind. */
static gint64
slack (gint64 ms)
{
  return dal_test_scaled_ms (ms);
}

static gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

/* ------------------------------------------------------------------ */
/* A resolver that never leaves the process.                           */

typedef struct
{
  GResolver parent_instance;
} FakeResolver;

typedef struct
{
  GResolverClass parent_class;
} FakeResolverClass;

static GType fake_resolver_get_type (void);
G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static gint unknown_host_lookups;  /* lookups of UNKNOWN_HOST answered */

static GList *
fake_lookup (const char *hostname, GError **error)
{
  if (g_ascii_strcasecmp (hostname, "localhost") == 0)
    return g_list_append (NULL, g_inet_address_new_from_string ("127.0.0.1"));
  if (g_ascii_strcasecmp (hostname, UNKNOWN_HOST) == 0)
    g_atomic_int_inc (&unknown_host_lookups);
  /* Every other name is unknown: nothing here ever asks real DNS. */
  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
               "Error resolving \"%s\": Name or service not known (fake resolver)",
               hostname);
  return NULL;
}

static GList *
fake_lookup_by_name (GResolver *resolver, const gchar *hostname,
                     GCancellable *cancellable, GError **error)
{
  return fake_lookup (hostname, error);
}

static GList *
fake_lookup_by_name_with_flags (GResolver *resolver, const gchar *hostname,
                                GResolverNameLookupFlags flags,
                                GCancellable *cancellable, GError **error)
{
  return fake_lookup (hostname, error);
}

static void
fake_lookup_async_common (GResolver *resolver, const gchar *hostname,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  GTask *task = g_task_new (resolver, cancellable, callback, user_data);
  GError *error = NULL;
  GList *addrs = fake_lookup (hostname, &error);
  if (addrs != NULL)
    g_task_return_pointer (task, addrs, (GDestroyNotify) g_resolver_free_addresses);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
fake_lookup_by_name_async (GResolver *resolver, const gchar *hostname,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  fake_lookup_async_common (resolver, hostname, cancellable, callback, user_data);
}

static void
fake_lookup_by_name_with_flags_async (GResolver *resolver, const gchar *hostname,
                                      GResolverNameLookupFlags flags,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  fake_lookup_async_common (resolver, hostname, cancellable, callback, user_data);
}

static GList *
fake_lookup_by_name_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *r = G_RESOLVER_CLASS (klass);
  r->lookup_by_name = fake_lookup_by_name;
  r->lookup_by_name_async = fake_lookup_by_name_async;
  r->lookup_by_name_finish = fake_lookup_by_name_finish;
  r->lookup_by_name_with_flags = fake_lookup_by_name_with_flags;
  r->lookup_by_name_with_flags_async = fake_lookup_by_name_with_flags_async;
  r->lookup_by_name_with_flags_finish = fake_lookup_by_name_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
}

/* ------------------------------------------------------------------ */
/* Variants and fixture.                                               */

typedef struct
{
  const char *scheme;   /* "postgresql+asyncpg", ... */
  const char *plugin;   /* the plugin that must serve it */
  gboolean async;       /* use the _async calls */
} Variant;

typedef struct
{
  GMainContext *context;  /* thread-default for the whole test */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->context = g_main_context_new ();
  g_main_context_push_thread_default (f->context);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  /* Run what is still queued (completions of cancel requests sent from a
   * worker thread); anything later is dropped with the context. */
  while (g_main_context_iteration (f->context, FALSE))
    ;
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
}

/* ------------------------------------------------------------------ */
/* Secrets never leak.                                                 */

static void
assert_no_text (const char *where, const char *text, const char *secret)
{
  if (text == NULL || secret == NULL || *secret == '\0')
    return;
  if (strstr (text, secret) != NULL)
    g_error ("the secret \"%s\" appears in the error's %s: %s", secret, where, text);
}

static void
assert_error_clean (const GError *error)
{
  static const char * const env_secrets[] = {
    "DAL_TEST_PG_PASSWORD", "DAL_TEST_PG_SPECIAL_PASSWORD", NULL
  };
  if (error == NULL)
    return;
  const char *secrets[8];
  guint n = 0;
  for (guint i = 0; env_secrets[i] != NULL; i++)
    if (g_getenv (env_secrets[i]) != NULL)
      {
        secrets[n++] = g_getenv (env_secrets[i]);
        /* the percent-encoded form must not appear either */
      }
  secrets[n++] = WRONG_PASSWORD;
  secrets[n] = NULL;

  for (guint s = 0; secrets[s] != NULL; s++)
    {
      g_autofree char *encoded = dal_test_encode (secrets[s]);
      const char *forms[] = { secrets[s], encoded };
      for (guint k = 0; k < G_N_ELEMENTS (forms); k++)
        {
          assert_no_text ("message", error->message, forms[k]);
          assert_no_text ("hint", dal_error_get_hint (error), forms[k]);
          for (guint fld = 0; fld < DAL_ERROR_N_FIELDS; fld++)
            assert_no_text ("field", dal_error_get_field (error, fld), forms[k]);
        }
    }
}

/* The error is @code, says @phrase, and ends with its hint. */
static void
assert_dal_error (const GError *error, DalErrorCode code, const char *phrase)
{
  g_assert_nonnull (error);
  if (!g_error_matches (error, DAL_ERROR, code))
    g_error ("expected DAL_ERROR %s, got %s %d (%s): %s",
             dal_error_code_to_string (code), g_quark_to_string (error->domain),
             error->code,
             error->domain == DAL_ERROR ? dal_error_code_to_string (error->code) : "?",
             error->message);
  if (phrase != NULL && strstr (error->message, phrase) == NULL)
    g_error ("the message does not say \"%s\": %s", phrase, error->message);
  const char *hint = dal_error_get_hint (error);
  if (hint != NULL)
    g_assert_true (g_str_has_suffix (error->message, hint));
  assert_error_clean (error);
}

/* ------------------------------------------------------------------ */
/* Calls, blocking or async, chosen by the variant.                    */

typedef struct
{
  GMainContext *context;
  GThread *thread;
  GAsyncResult *result;
  gboolean done;
  guint calls;
  gboolean inside_call;
} Waiter;

static void
waiter_init (Waiter *w)
{
  memset (w, 0, sizeof *w);
  w->context = g_main_context_ref_thread_default ();
  w->thread = g_thread_self ();
}

static void
waiter_clear (Waiter *w)
{
  g_clear_object (&w->result);
  g_main_context_unref (w->context);
}

static void
waiter_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *w = user_data;
  /* The async contract: never from inside the _async call, always on the
   * caller's thread-default context, exactly once. */
  g_assert_false (w->inside_call);
  g_assert_true (g_thread_self () == w->thread);
  g_assert_true (g_main_context_is_owner (w->context));
  g_assert_true (g_main_context_get_thread_default () == w->context);
  w->calls++;
  g_assert_cmpuint (w->calls, ==, 1);
  w->result = g_object_ref (result);
  w->done = TRUE;
}

static void
waiter_wait (Waiter *w)
{
  dal_test_wait_for (&w->done, WAIT_MS);
  while (g_main_context_iteration (w->context, FALSE))
    ;
  g_assert_cmpuint (w->calls, ==, 1);
}

static void
check_connection (const Variant *v, DalConnection *conn)
{
  g_assert_true (DAL_IS_CONNECTION (conn));
  g_assert_cmpstr (dal_connection_get_plugin_name (conn), ==, v->plugin);
  g_assert_false (dal_connection_is_closed (conn));
}

static DalConnection *
t_open (const Variant *v, const char *url, GCancellable *cancellable, GError **error)
{
  DalConnection *conn;
  if (!v->async)
    conn = dal_connection_open (url, cancellable, error);
  else
    {
      Waiter w;
      waiter_init (&w);
      w.inside_call = TRUE;
      dal_connection_open_async (url, cancellable, waiter_cb, &w);
      w.inside_call = FALSE;
      waiter_wait (&w);
      conn = dal_connection_open_finish (w.result, error);
      waiter_clear (&w);
    }
  if (conn != NULL)
    check_connection (v, conn);
  else
    assert_error_clean (*error);
  return conn;
}

static DalConnection *
t_open_url (const Variant *v, DalUrl *url, GError **error)
{
  DalConnection *conn;
  if (!v->async)
    conn = dal_connection_open_url (NULL, url, NULL, error);
  else
    {
      Waiter w;
      waiter_init (&w);
      w.inside_call = TRUE;
      dal_connection_open_url_async (NULL, url, NULL, waiter_cb, &w);
      w.inside_call = FALSE;
      waiter_wait (&w);
      conn = dal_connection_open_url_finish (w.result, error);
      waiter_clear (&w);
    }
  if (conn == NULL)
    assert_error_clean (*error);
  return conn;
}

static DalResult *
t_query (const Variant *v, DalConnection *conn, const char *sql, GVariant *params,
         GCancellable *cancellable, GError **error)
{
  DalResult *r;
  if (!v->async)
    r = dal_connection_query (conn, sql, params, cancellable, error);
  else
    {
      Waiter w;
      waiter_init (&w);
      w.inside_call = TRUE;
      dal_connection_query_async (conn, sql, params, cancellable, waiter_cb, &w);
      w.inside_call = FALSE;
      waiter_wait (&w);
      r = dal_connection_query_finish (conn, w.result, error);
      waiter_clear (&w);
    }
  if (r == NULL)
    assert_error_clean (*error);
  return r;
}

static gint64
t_execute (const Variant *v, DalConnection *conn, const char *sql, GVariant *params,
           GError **error)
{
  gint64 n;
  if (!v->async)
    n = dal_connection_execute (conn, sql, params, NULL, error);
  else
    {
      Waiter w;
      waiter_init (&w);
      w.inside_call = TRUE;
      dal_connection_execute_async (conn, sql, params, NULL, waiter_cb, &w);
      w.inside_call = FALSE;
      waiter_wait (&w);
      n = dal_connection_execute_finish (conn, w.result, error);
      waiter_clear (&w);
    }
  if (n < 0)
    assert_error_clean (*error);
  return n;
}

typedef enum { TX_BEGIN, TX_COMMIT, TX_ROLLBACK } TxOp;

static gboolean
t_tx (const Variant *v, DalConnection *conn, TxOp op, GError **error)
{
  gboolean ok;
  if (!v->async)
    ok = op == TX_BEGIN    ? dal_connection_begin (conn, NULL, error)
         : op == TX_COMMIT ? dal_connection_commit (conn, NULL, error)
                           : dal_connection_rollback (conn, NULL, error);
  else
    {
      Waiter w;
      waiter_init (&w);
      w.inside_call = TRUE;
      if (op == TX_BEGIN)
        dal_connection_begin_async (conn, NULL, waiter_cb, &w);
      else if (op == TX_COMMIT)
        dal_connection_commit_async (conn, NULL, waiter_cb, &w);
      else
        dal_connection_rollback_async (conn, NULL, waiter_cb, &w);
      w.inside_call = FALSE;
      waiter_wait (&w);
      ok = op == TX_BEGIN    ? dal_connection_begin_finish (conn, w.result, error)
           : op == TX_COMMIT ? dal_connection_commit_finish (conn, w.result, error)
                             : dal_connection_rollback_finish (conn, w.result, error);
      waiter_clear (&w);
    }
  if (!ok)
    assert_error_clean (*error);
  return ok;
}

static gboolean
t_close (const Variant *v, DalConnection *conn, GError **error)
{
  if (!v->async)
    return dal_connection_close (conn, NULL, error);
  Waiter w;
  waiter_init (&w);
  w.inside_call = TRUE;
  dal_connection_close_async (conn, NULL, waiter_cb, &w);
  w.inside_call = FALSE;
  waiter_wait (&w);
  gboolean ok = dal_connection_close_finish (conn, w.result, error);
  waiter_clear (&w);
  return ok;
}

/* -- conveniences that must succeed -- */

static DalConnection *
open_ok (const Variant *v, const char *extra_query)
{
  g_autofree char *url = dal_test_url (v->scheme, extra_query);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = t_open (v, url, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static DalResult *
query_ok (const Variant *v, DalConnection *conn, const char *sql, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  DalResult *r = t_query (v, conn, sql, params, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static gint64
execute_ok (const Variant *v, DalConnection *conn, const char *sql, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  gint64 n = t_execute (v, conn, sql, params, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, >=, 0);
  return n;
}

/* The first value of the first row, as text (NULL for SQL NULL). */
static char *
scalar (const Variant *v, DalConnection *conn, const char *sql, GVariant *params)
{
  g_autoptr (DalResult) r = query_ok (v, conn, sql, params);
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
  g_assert_cmpuint (dal_result_get_n_columns (r), >=, 1);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static void
assert_scalar (const Variant *v, DalConnection *conn, const char *sql,
               GVariant *params, const char *expected)
{
  g_autofree char *got = scalar (v, conn, sql, params);
  g_assert_cmpstr (got, ==, expected);
}

static DalErrorCode
query_fails (const Variant *v, DalConnection *conn, const char *sql, GVariant *params,
             GError **error)
{
  g_autoptr (DalResult) r = t_query (v, conn, sql, params, NULL, error);
  g_assert_null (r);
  g_assert_nonnull (*error);
  return (*error)->code;
}

/* A table name no other test (or test program) uses at the same time. */
static char *
unique_table (const Variant *v, const char *what)
{
  static gint counter;
  return g_strdup_printf ("conf_%s_%s_%s_%d_%d", what,
                          g_str_has_suffix (v->scheme, "asyncpg") ? "pa"
                          : g_str_has_suffix (v->scheme, "psycopg2") ? "ps" : "pb",
                          v->async ? "a" : "s", (int) getpid (),
                          g_atomic_int_add (&counter, 1));
}

static char *
tls_query (void)
{
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  return g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
}

static char *
loopback_hostport (void)
{
  return g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
}

/* ------------------------------------------------------------------ */
/* Opening and closing.                                                */

static void
test_open (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  g_assert_cmpstr (dal_url_get_scheme (dal_connection_get_url (conn)), ==, v->scheme);
  assert_scalar (v, conn, "SELECT current_user", NULL, dal_test_env ("DAL_TEST_PG_USER"));
  assert_scalar (v, conn, "SELECT current_database()", NULL,
                 dal_test_env ("DAL_TEST_PG_DATABASE"));
  /* verify-full: the session really is TLS. */
  assert_scalar (v, conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                 NULL, "t");

  g_autoptr (GError) error = NULL;
  g_assert_true (t_close (v, conn, &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_is_closed (conn));
  /* Closing twice is harmless. */
  g_assert_true (t_close (v, conn, &error));
  g_assert_no_error (error);
  /* A closed connection refuses statements with DAL_ERROR_CLOSED. */
  g_autoptr (DalResult) r = t_query (v, conn, "SELECT 1", NULL, NULL, &error);
  g_assert_null (r);
  assert_dal_error (error, DAL_ERROR_CLOSED, NULL);
  g_assert_null (dal_connection_get_info (conn, "backend_pid"));
}

/* The bare "postgresql" scheme: served by the dialect's default plugin. */
static void
test_bare_smoke (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  g_assert_null (dal_url_get_driver (dal_connection_get_url (conn)));
  g_autoptr (DalResult) r = query_ok (v, conn, "SELECT $1::int + $2::int AS sum, $3::text AS t",
                                      g_variant_new ("(iis)", 40, 2, "bare"));
  g_assert_cmpint (dal_result_get_int (r, 0, 0, NULL), ==, 42);
  g_assert_cmpstr (dal_result_get_string (r, 0, 1, NULL), ==, "bare");
  g_autoptr (GError) error = NULL;
  g_assert_true (t_close (v, conn, &error));
  g_assert_no_error (error);
}

/* ------------------------------------------------------------------ */
/* Parameters.                                                         */

/* dal_connection_query_texts: the server infers each parameter's type from
 * the statement (an int4 comparison, a date, arithmetic), NULL is SQL NULL,
 * and text that looks like SQL stays data. */
static void
test_params_texts (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  g_autoptr (GError) error = NULL;
  const char *values[] = { "41", "2026-11-27", NULL, "x' OR '1'='1" };
  const char *sql = "SELECT $1 + 1 AS n, $2::date + 1 AS d, $3::text IS NULL AS is_null, "
                    "$4 AS t, pg_typeof ($1)::text AS type";
  g_autoptr (DalResult) r = NULL;
  if (!v->async)
    r = dal_connection_query_texts (conn, sql, G_N_ELEMENTS (values), values, NULL, &error);
  else
    {
      Waiter w;
      waiter_init (&w);
      w.inside_call = TRUE;
      dal_connection_query_texts_async (conn, sql, G_N_ELEMENTS (values), values,
                                        NULL, waiter_cb, &w);
      w.inside_call = FALSE;
      waiter_wait (&w);
      r = dal_connection_query_texts_finish (conn, w.result, &error);
      waiter_clear (&w);
    }
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_int (r, 0, 0, &error), ==, 42);
  g_assert_cmpstr (dal_result_get_string (r, 0, 1, NULL), ==, "2026-11-28");
  g_assert_true (dal_result_get_boolean (r, 0, 2, &error));
  g_assert_cmpstr (dal_result_get_string (r, 0, 3, NULL), ==, "x' OR '1'='1");
  g_assert_cmpstr (dal_result_get_string (r, 0, 4, NULL), ==, "integer");
  g_assert_no_error (error);
}

static void
test_params_injection (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  execute_ok (v, conn, "CREATE TEMP TABLE conf_inj (name text)", NULL);

  /* Looks like SQL; must be data.  If it were pasted into the statement,
   * the table would be gone or the statement a syntax error. */
  static const char *evil = "x'); DROP TABLE conf_inj; -- \\ \" $2 ' OR '1'='1";
  assert_scalar (v, conn, "SELECT $1::text", g_variant_new ("(s)", evil), evil);
  g_assert_cmpint (execute_ok (v, conn, "INSERT INTO conf_inj (name) VALUES ($1)",
                               g_variant_new ("(s)", evil)), ==, 1);
  assert_scalar (v, conn, "SELECT count(*) FROM conf_inj WHERE name = $1",
                 g_variant_new ("(s)", evil), "1");
  assert_scalar (v, conn, "SELECT name FROM conf_inj", NULL, evil);
  /* The classic: a WHERE that would match everything if spliced in. */
  assert_scalar (v, conn, "SELECT count(*) FROM conf_inj WHERE name = $1",
                 g_variant_new ("(s)", "' OR '1'='1"), "0");

  /* Non-ASCII text round-trips byte for byte. */
  static const char *utf8 = "grüße, 日本語, 🐘, ‘quotes’";
  assert_scalar (v, conn, "SELECT $1::text", g_variant_new_string (utf8), utf8);

  /* A single value that is not a tuple is one parameter. */
  assert_scalar (v, conn, "SELECT $1::int4 * 2", g_variant_new_int32 (21), "42");

  /* More parameters than fit inline (past 16). */
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_TUPLE);
  GString *sql = g_string_new ("SELECT 0");
  for (int i = 1; i <= 40; i++)
    {
      g_variant_builder_add (&b, "i", i);
      g_string_append_printf (sql, " + $%d::int", i);
    }
  assert_scalar (v, conn, sql->str, g_variant_builder_end (&b), "820");
  g_string_free (sql, TRUE);

  /* A parameter count the statement does not match is the server's error. */
  g_autoptr (GError) error = NULL;
  query_fails (v, conn, "SELECT $1::int, $2::int", g_variant_new ("(i)", 1), &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, NULL);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "08P01");
  g_clear_error (&error);

  /* A GVariant type libdal cannot send is refused before anything is sent. */
  query_fails (v, conn, "SELECT $1",
               g_variant_new_parsed ("({'a': <1>},)"), &error);
  assert_dal_error (error, DAL_ERROR_INVALID_PARAMETER, "$1");
  g_clear_error (&error);

  /* And the connection is fine after all of that. */
  assert_scalar (v, conn, "SELECT count(*) FROM conf_inj", NULL, "1");
}

static void
test_param_types (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  static const guint8 blob[] = { 0x00, 'a', 0x00, 0xff, 0x00, '\\', 'x', 0x00 };
  const double third = 1.0 / 3.0;

  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_TUPLE);
  g_variant_builder_add (&b, "b", TRUE);                          /* $1 */
  g_variant_builder_add (&b, "y", (guchar) 255);                  /* $2 */
  g_variant_builder_add (&b, "n", (gint16) G_MININT16);           /* $3 */
  g_variant_builder_add (&b, "q", (guint16) G_MAXUINT16);         /* $4 */
  g_variant_builder_add (&b, "i", (gint32) G_MININT32);           /* $5 */
  g_variant_builder_add (&b, "u", (guint32) G_MAXUINT32);         /* $6 */
  g_variant_builder_add (&b, "x", (gint64) G_MININT64);           /* $7 */
  g_variant_builder_add (&b, "t", (guint64) G_MAXUINT64);         /* $8 */
  g_variant_builder_add (&b, "t", (guint64) G_MAXINT64 + 1);      /* $9 */
  g_variant_builder_add (&b, "t", (guint64) 12345);               /* $10 */
  g_variant_builder_add (&b, "d", 0.1);                           /* $11 */
  g_variant_builder_add (&b, "d", third);                         /* $12 */
  g_variant_builder_add (&b, "d", NAN);                           /* $13 */
  g_variant_builder_add (&b, "d", INFINITY);                      /* $14 */
  g_variant_builder_add (&b, "d", -INFINITY);                     /* $15 */
  g_variant_builder_add (&b, "s", "text 'with' \"quotes\"");      /* $16 */
  g_variant_builder_add_value (&b, g_variant_new_fixed_array (   /* $17 */
                                 G_VARIANT_TYPE_BYTE, blob, sizeof blob, 1));
  g_variant_builder_add (&b, "mi", FALSE, 0);                     /* $18 NULL */
  g_variant_builder_add (&b, "ms", NULL);                         /* $19 NULL */
  g_variant_builder_add (&b, "mi", TRUE, 42);                     /* $20 */
  g_variant_builder_add (&b, "b", FALSE);                         /* $21 */
  g_variant_builder_add (&b, "x", (gint64) G_MAXINT64);           /* $22 */
  g_variant_builder_add (&b, "v", g_variant_new_int64 (-5));      /* $23 */
  g_variant_builder_add (&b, "o", "/org/example/dal");            /* $24 */
  g_variant_builder_add (&b, "d", 1e300);                         /* $25 */
  g_variant_builder_add (&b, "may", FALSE, NULL);                 /* $26 NULL */

  g_autoptr (DalResult) r = query_ok (
    v, conn,
    "SELECT $1::bool AS b, $2::int2 AS y, $3::int2 AS n, $4::int4 AS q, "
    "$5::int4 AS i, $6::int8 AS u, $7::int8 AS x, $8::numeric AS t_max, "
    "$9::numeric AS t_big, $10::int8 AS t_small, $11::float8 AS d1, "
    "$12::float8 AS d3, $13::float8 AS dnan, $14::float8 AS dinf, "
    "$15::float8 AS dninf, $16::text AS s, $17::bytea AS ay, "
    "$18::int4 IS NULL AS null_i, $19::text IS NULL AS null_s, $20::int4 AS just, "
    "$21::bool AS f, $22::int8 AS x_max, $23::int8 AS var, $24::text AS o, "
    "$25::float8 AS dbig, $26::bytea IS NULL AS null_ay, octet_length($17) AS ay_len",
    g_variant_builder_end (&b));

  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
  g_assert_cmpuint (dal_result_get_n_columns (r), ==, 27);
  g_assert_true (dal_result_get_boolean (r, 0, 0, &error));
  g_assert_cmpint (dal_result_get_int (r, 0, 1, &error), ==, 255);
  g_assert_cmpint (dal_result_get_int (r, 0, 2, &error), ==, G_MININT16);
  g_assert_cmpint (dal_result_get_int (r, 0, 3, &error), ==, G_MAXUINT16);
  g_assert_cmpint (dal_result_get_int (r, 0, 4, &error), ==, G_MININT32);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 5, &error), ==, (gint64) G_MAXUINT32);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 6, &error), ==, G_MININT64);
  g_assert_cmpstr (dal_result_get_string (r, 0, 7, NULL), ==, "18446744073709551615");
  g_assert_cmpstr (dal_result_get_string (r, 0, 8, NULL), ==, "9223372036854775808");
  g_assert_cmpint (dal_result_get_int64 (r, 0, 9, &error), ==, 12345);
  g_assert_true (dal_result_get_double (r, 0, 10, &error) == 0.1);
  g_assert_true (dal_result_get_double (r, 0, 11, &error) == third);
  g_assert_true (isnan (dal_result_get_double (r, 0, 12, &error)));
  double inf = dal_result_get_double (r, 0, 13, &error);
  g_assert_true (isinf (inf) && inf > 0);
  double ninf = dal_result_get_double (r, 0, 14, &error);
  g_assert_true (isinf (ninf) && ninf < 0);
  g_assert_cmpstr (dal_result_get_string (r, 0, 15, NULL), ==, "text 'with' \"quotes\"");
  g_autoptr (GBytes) got = dal_result_get_bytes (r, 0, 16, &error);
  g_assert_nonnull (got);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), blob, sizeof blob);
  g_assert_true (dal_result_get_boolean (r, 0, 17, &error));
  g_assert_true (dal_result_get_boolean (r, 0, 18, &error));
  g_assert_cmpint (dal_result_get_int (r, 0, 19, &error), ==, 42);
  g_assert_false (dal_result_get_boolean (r, 0, 20, &error));
  g_assert_false (dal_result_is_null (r, 0, 20));
  g_assert_cmpint (dal_result_get_int64 (r, 0, 21, &error), ==, G_MAXINT64);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 22, &error), ==, -5);
  g_assert_cmpstr (dal_result_get_string (r, 0, 23, NULL), ==, "/org/example/dal");
  g_assert_true (dal_result_get_double (r, 0, 24, &error) == 1e300);
  g_assert_true (dal_result_get_boolean (r, 0, 25, &error));
  g_assert_cmpint (dal_result_get_int (r, 0, 26, &error), ==, sizeof blob);
  g_assert_no_error (error);

  /* The columns are what the casts made them. */
  g_assert_cmpint (dal_result_get_column_type (r, 0), ==, DAL_COLUMN_BOOLEAN);
  g_assert_cmpint (dal_result_get_column_type (r, 1), ==, DAL_COLUMN_INT16);
  g_assert_cmpint (dal_result_get_column_type (r, 3), ==, DAL_COLUMN_INT32);
  g_assert_cmpint (dal_result_get_column_type (r, 5), ==, DAL_COLUMN_INT64);
  g_assert_cmpint (dal_result_get_column_type (r, 7), ==, DAL_COLUMN_NUMERIC);
  g_assert_cmpint (dal_result_get_column_type (r, 10), ==, DAL_COLUMN_FLOAT64);
  g_assert_cmpint (dal_result_get_column_type (r, 15), ==, DAL_COLUMN_TEXT);
  g_assert_cmpint (dal_result_get_column_type (r, 16), ==, DAL_COLUMN_BYTES);

  /* Without a cast the server infers the parameter's type from the
   * statement: text of unknown type, as for a quoted literal. */
  assert_scalar (v, conn, "SELECT $1::int8 + 1", g_variant_new ("(s)", "41"), "42");
  assert_scalar (v, conn, "SELECT upper($1)", g_variant_new ("(s)", "x"), "X");
  assert_scalar (v, conn, "SELECT $1 = 42", g_variant_new ("(i)", 42), "t");

  /* Bytes with NULs in and out of a bytea column; also empty, and every
   * byte value. */
  execute_ok (v, conn, "CREATE TEMP TABLE conf_bytes (id int, data bytea)", NULL);
  guint8 all[256];
  for (guint i = 0; i < 256; i++)
    all[i] = (guint8) i;
  g_assert_cmpint (
    execute_ok (v, conn, "INSERT INTO conf_bytes VALUES (1, $1), (2, $2), (3, $3), (4, NULL)",
                g_variant_new ("(@ay@ay@ay)",
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, blob,
                                                          sizeof blob, 1),
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1),
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, all,
                                                          sizeof all, 1))),
    ==, 4);
  g_autoptr (DalResult) rb = query_ok (v, conn,
                                       "SELECT data, octet_length(data) FROM conf_bytes ORDER BY id",
                                       NULL);
  g_assert_cmpuint (dal_result_get_n_rows (rb), ==, 4);
  g_assert_cmpint (dal_result_get_column_type (rb, 0), ==, DAL_COLUMN_BYTES);
  g_assert_cmpstr (dal_result_get_column_type_name (rb, 0), ==, "bytea");
  const guint8 *want[] = { blob, (const guint8 *) "", all };
  gsize want_len[] = { sizeof blob, 0, sizeof all };
  for (guint row = 0; row < 3; row++)
    {
      g_autoptr (GBytes) bytes = dal_result_get_bytes (rb, row, 0, &error);
      g_assert_no_error (error);
      g_assert_nonnull (bytes);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       want[row], want_len[row]);
      g_assert_cmpint (dal_result_get_int64 (rb, row, 1, &error), ==, want_len[row]);
    }
  g_assert_null (dal_result_get_bytes (rb, 3, 0, &error));
  g_assert_no_error (error);
  g_assert_true (dal_result_is_null (rb, 3, 0));
}

/* ------------------------------------------------------------------ */
/* Typed getters on real columns.                                      */

static void
test_getters (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  execute_ok (v, conn, "SET TIME ZONE 'UTC'", NULL);
  execute_ok (v, conn,
              "CREATE TEMP TABLE conf_types ("
              " c_int2 int2, c_int4 int4, c_int8 int8, c_float4 float4,"
              " c_float8 float8, c_numeric numeric, c_bool bool, c_text text,"
              " c_bytea bytea, c_date date, c_timestamptz timestamptz,"
              " c_uuid uuid, c_json json, c_jsonb jsonb, c_varchar varchar(20),"
              " c_interval interval)", NULL);
  static const guint8 blob[] = { 1, 0, 2 };
  g_assert_cmpint (
    execute_ok (v, conn,
                "INSERT INTO conf_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                " $10, $11, $12, $13, $14, $15, $16)",
                g_variant_new ("(nixddsbs@aysssssss)", (gint16) -12, G_MAXINT32,
                               G_MAXINT64, 1.5, -2.25e10,
                               "12345.678901234567890123", TRUE, "abc",
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, blob,
                                                          sizeof blob, 1),
                               "2024-02-29", "2024-02-29 12:34:56.789+00",
                               "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                               "{\"k\": [1, 2]}", "{\"k\": [1, 2]}", "vc",
                               "1 day 02:03:04")),
    ==, 1);
  g_assert_cmpint (execute_ok (v, conn, "INSERT INTO conf_types DEFAULT VALUES", NULL), ==, 1);

  g_autoptr (DalResult) r = query_ok (v, conn,
                                      "SELECT * FROM conf_types ORDER BY c_int4 NULLS LAST",
                                      NULL);
  static const struct
  {
    const char *name;
    DalColumnType type;
    const char *type_name;
  } cols[] = {
    { "c_int2", DAL_COLUMN_INT16, "int2" },
    { "c_int4", DAL_COLUMN_INT32, "int4" },
    { "c_int8", DAL_COLUMN_INT64, "int8" },
    { "c_float4", DAL_COLUMN_FLOAT32, "float4" },
    { "c_float8", DAL_COLUMN_FLOAT64, "float8" },
    { "c_numeric", DAL_COLUMN_NUMERIC, "numeric" },
    { "c_bool", DAL_COLUMN_BOOLEAN, "bool" },
    { "c_text", DAL_COLUMN_TEXT, "text" },
    { "c_bytea", DAL_COLUMN_BYTES, "bytea" },
    { "c_date", DAL_COLUMN_DATE, "date" },
    { "c_timestamptz", DAL_COLUMN_TIMESTAMPTZ, "timestamptz" },
    { "c_uuid", DAL_COLUMN_UUID, "uuid" },
    { "c_json", DAL_COLUMN_JSON, "json" },
    { "c_jsonb", DAL_COLUMN_JSON, "jsonb" },
    { "c_varchar", DAL_COLUMN_TEXT, "varchar" },
    { "c_interval", DAL_COLUMN_INTERVAL, "interval" },
  };
  g_assert_cmpuint (dal_result_get_n_rows (r), ==, 2);
  g_assert_cmpuint (dal_result_get_n_columns (r), ==, G_N_ELEMENTS (cols));
  for (guint c = 0; c < G_N_ELEMENTS (cols); c++)
    {
      g_assert_cmpstr (dal_result_get_column_name (r, c), ==, cols[c].name);
      g_assert_cmpint (dal_result_get_column_index (r, cols[c].name), ==, (int) c);
      g_assert_cmpint (dal_result_get_column_type (r, c), ==, cols[c].type);
      g_assert_cmpstr (dal_result_get_column_type_name (r, c), ==, cols[c].type_name);
    }
  g_assert_cmpint (dal_result_get_column_index (r, "no_such_column"), ==, -1);
  g_assert_cmpint (dal_result_get_affected_rows (r), ==, 2);

  g_autoptr (GError) error = NULL;
  gsize len = 0;
  /* Row 0: values. */
  g_assert_cmpint (dal_result_get_int (r, 0, 0, &error), ==, -12);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 0, &error), ==, -12);
  g_assert_cmpint (dal_result_get_int (r, 0, 1, &error), ==, G_MAXINT32);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 2, &error), ==, G_MAXINT64);
  g_assert_cmpfloat (dal_result_get_double (r, 0, 1, &error), ==, (double) G_MAXINT32);
  g_assert_cmpfloat (dal_result_get_double (r, 0, 3, &error), ==, 1.5);
  g_assert_cmpfloat (dal_result_get_double (r, 0, 4, &error), ==, -2.25e10);
  g_assert_cmpstr (dal_result_get_string (r, 0, 5, NULL), ==, "12345.678901234567890123");
  g_assert_cmpfloat_with_epsilon (dal_result_get_double (r, 0, 5, &error),
                                  12345.678901234567, 1e-9);
  g_assert_true (dal_result_get_boolean (r, 0, 6, &error));
  g_assert_cmpstr (dal_result_get_string (r, 0, 7, &len), ==, "abc");
  g_assert_cmpuint (len, ==, 3);
  g_autoptr (GBytes) bytes = dal_result_get_bytes (r, 0, 8, &error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), blob, sizeof blob);
  g_assert_cmpstr (dal_result_get_string (r, 0, 8, NULL), ==, "\\x010002");
  g_assert_cmpstr (dal_result_get_string (r, 0, 9, NULL), ==, "2024-02-29");
  g_assert_cmpstr (dal_result_get_string (r, 0, 10, NULL), ==, "2024-02-29 12:34:56.789+00");
  g_assert_cmpstr (dal_result_get_string (r, 0, 11, NULL), ==,
                   "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  g_assert_cmpstr (dal_result_get_string (r, 0, 12, NULL), ==, "{\"k\": [1, 2]}");
  g_assert_cmpstr (dal_result_get_string (r, 0, 13, NULL), ==, "{\"k\": [1, 2]}");
  g_assert_cmpstr (dal_result_get_string (r, 0, 14, NULL), ==, "vc");
  g_assert_cmpstr (dal_result_get_string (r, 0, 15, NULL), ==, "1 day 02:03:04");
  /* Bytes of a column that is not bytea are its text. */
  g_autoptr (GBytes) text_bytes = dal_result_get_bytes (r, 0, 7, &error);
  g_assert_cmpmem (g_bytes_get_data (text_bytes, NULL), g_bytes_get_size (text_bytes), "abc", 3);
  g_assert_no_error (error);
  for (guint c = 0; c < G_N_ELEMENTS (cols); c++)
    g_assert_false (dal_result_is_null (r, 0, c));

  /* Row 1: every column NULL: 0 / FALSE / NULL, and no error. */
  for (guint c = 0; c < G_N_ELEMENTS (cols); c++)
    {
      g_assert_true (dal_result_is_null (r, 1, c));
      len = 99;
      g_assert_null (dal_result_get_string (r, 1, c, &len));
      g_assert_cmpuint (len, ==, 0);
      g_assert_cmpint (dal_result_get_int (r, 1, c, &error), ==, 0);
      g_assert_cmpint (dal_result_get_int64 (r, 1, c, &error), ==, 0);
      g_assert_cmpfloat (dal_result_get_double (r, 1, c, &error), ==, 0.0);
      g_assert_false (dal_result_get_boolean (r, 1, c, &error));
      g_assert_null (dal_result_get_bytes (r, 1, c, &error));
      g_assert_no_error (error);
    }

  /* Values that do not convert: DAL_ERROR_TYPE_MISMATCH naming the column. */
  static const struct
  {
    guint column;
    const char *getter;
  } bad[] = {
    { 7, "int" },       /* 'abc' */
    { 7, "int64" },
    { 7, "double" },
    { 7, "boolean" },
    { 2, "int" },       /* INT64_MAX does not fit 32 bits */
    { 1, "boolean" },   /* 2147483647 */
    { 9, "double" },    /* a date */
    { 5, "int64" },     /* 12345.678… */
    { 11, "int64" },    /* a uuid */
    { 12, "boolean" },  /* json */
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      guint c = bad[i].column;
      if (strcmp (bad[i].getter, "int") == 0)
        g_assert_cmpint (dal_result_get_int (r, 0, c, &error), ==, 0);
      else if (strcmp (bad[i].getter, "int64") == 0)
        g_assert_cmpint (dal_result_get_int64 (r, 0, c, &error), ==, 0);
      else if (strcmp (bad[i].getter, "double") == 0)
        g_assert_cmpfloat (dal_result_get_double (r, 0, c, &error), ==, 0.0);
      else
        g_assert_false (dal_result_get_boolean (r, 0, c, &error));
      assert_dal_error (error, DAL_ERROR_TYPE_MISMATCH, cols[c].name);
      g_clear_error (&error);
    }
}

/* ------------------------------------------------------------------ */
/* Affected rows and command tags.                                     */

static void
test_affected_rows (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  {
    g_autoptr (DalResult) r = query_ok (v, conn, "CREATE TEMP TABLE conf_rows (id int, v text)", NULL);
    g_assert_cmpint (dal_result_get_affected_rows (r), ==, -1);
    g_assert_cmpstr (dal_result_get_command_tag (r), ==, "CREATE TABLE");
    g_assert_cmpuint (dal_result_get_n_columns (r), ==, 0);
    g_assert_cmpuint (dal_result_get_n_rows (r), ==, 0);
  }
  /* DDL through execute: -1 is reported as 0. */
  g_assert_cmpint (execute_ok (v, conn, "CREATE TEMP TABLE conf_rows2 (id int)", NULL), ==, 0);
  g_assert_cmpint (execute_ok (v, conn, "DROP TABLE conf_rows2", NULL), ==, 0);
  {
    g_autoptr (DalResult) r = query_ok (v, conn,
                                        "INSERT INTO conf_rows SELECT g, 'v' || g FROM generate_series(1, 3) g",
                                        NULL);
    g_assert_cmpint (dal_result_get_affected_rows (r), ==, 3);
    g_assert_cmpstr (dal_result_get_command_tag (r), ==, "INSERT 0 3");
  }
  g_assert_cmpint (execute_ok (v, conn, "INSERT INTO conf_rows VALUES ($1, $2), ($3, $4)",
                               g_variant_new ("(isis)", 4, "v4", 5, "v5")), ==, 2);
  {
    g_autoptr (DalResult) r = query_ok (v, conn, "UPDATE conf_rows SET v = $1 WHERE id > $2",
                                        g_variant_new ("(si)", "big", 3));
    g_assert_cmpint (dal_result_get_affected_rows (r), ==, 2);
    g_assert_cmpstr (dal_result_get_command_tag (r), ==, "UPDATE 2");
  }
  g_assert_cmpint (execute_ok (v, conn, "UPDATE conf_rows SET v = v WHERE id < 0", NULL), ==, 0);
  {
    g_autoptr (DalResult) r = query_ok (v, conn, "DELETE FROM conf_rows WHERE id = $1",
                                        g_variant_new ("(i)", 1));
    g_assert_cmpint (dal_result_get_affected_rows (r), ==, 1);
    g_assert_cmpstr (dal_result_get_command_tag (r), ==, "DELETE 1");
  }
  {
    g_autoptr (DalResult) r = query_ok (v, conn, "SELECT id, v FROM conf_rows ORDER BY id", NULL);
    g_assert_cmpuint (dal_result_get_n_rows (r), ==, 4);
    g_assert_cmpint (dal_result_get_affected_rows (r), ==, 4);
    g_assert_cmpstr (dal_result_get_command_tag (r), ==, "SELECT 4");
    g_assert_cmpint (dal_result_get_int (r, 0, 0, NULL), ==, 2);
    g_assert_cmpstr (dal_result_get_string (r, 3, 1, NULL), ==, "big");
  }
  {
    g_autoptr (DalResult) r = query_ok (v, conn, "SELECT id FROM conf_rows WHERE false", NULL);
    g_assert_cmpuint (dal_result_get_n_rows (r), ==, 0);
    g_assert_cmpuint (dal_result_get_n_columns (r), ==, 1);
    g_assert_cmpint (dal_result_get_affected_rows (r), ==, 0);
  }
  g_assert_cmpint (execute_ok (v, conn, "SELECT * FROM conf_rows", NULL), ==, 4);
  g_assert_cmpint (execute_ok (v, conn, "DELETE FROM conf_rows", NULL), ==, 4);
  g_assert_cmpint (execute_ok (v, conn, "SET application_name = 'conformance'", NULL), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Transactions.                                                       */

static void
assert_tx_status (DalConnection *conn, const char *expected)
{
  g_autofree char *s = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (s, ==, expected);
}

static void
test_transactions (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) a = open_ok (v, NULL);
  g_autoptr (DalConnection) b = open_ok (v, NULL);  /* looks from outside */
  g_autofree char *table = unique_table (v, "tx");
  g_autofree char *create = g_strdup_printf ("CREATE TABLE %s (id int)", table);
  g_autofree char *insert = g_strdup_printf ("INSERT INTO %s VALUES ($1)", table);
  g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", table);
  g_autofree char *drop = g_strdup_printf ("DROP TABLE %s", table);
  g_autoptr (GError) error = NULL;

  execute_ok (v, a, create, NULL);
  assert_tx_status (a, "idle");

  /* Rollback really discards. */
  g_assert_true (t_tx (v, a, TX_BEGIN, &error));
  g_assert_no_error (error);
  assert_tx_status (a, "intrans");
  g_assert_cmpint (execute_ok (v, a, insert, g_variant_new ("(i)", 1)), ==, 1);
  assert_scalar (v, a, count, NULL, "1");
  assert_scalar (v, b, count, NULL, "0");  /* not visible before commit */
  g_assert_true (t_tx (v, a, TX_ROLLBACK, &error));
  g_assert_no_error (error);
  assert_tx_status (a, "idle");
  assert_scalar (v, a, count, NULL, "0");
  assert_scalar (v, b, count, NULL, "0");

  /* Commit keeps. */
  g_assert_true (t_tx (v, a, TX_BEGIN, &error));
  execute_ok (v, a, insert, g_variant_new ("(i)", 2));
  execute_ok (v, a, insert, g_variant_new ("(i)", 3));
  assert_scalar (v, b, count, NULL, "0");
  g_assert_true (t_tx (v, a, TX_COMMIT, &error));
  g_assert_no_error (error);
  assert_scalar (v, a, count, NULL, "2");
  assert_scalar (v, b, count, NULL, "2");

  /* A failed statement poisons the transaction: COMMIT is an error
   * (25P02), and nothing of it is committed. */
  g_assert_true (t_tx (v, a, TX_BEGIN, &error));
  g_assert_no_error (error);
  execute_ok (v, a, insert, g_variant_new ("(i)", 10));
  query_fails (v, a, "SELECT 1 / $1::int", g_variant_new ("(i)", 0), &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "division by zero");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22012");
  g_clear_error (&error);
  assert_tx_status (a, "inerror");
  query_fails (v, a, "SELECT 1", NULL, &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, NULL);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "25P02");
  g_clear_error (&error);
  g_assert_false (t_tx (v, a, TX_COMMIT, &error));
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "rolled the transaction back");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "25P02");
  g_assert_false (dal_error_is_retryable (error));
  g_clear_error (&error);
  assert_tx_status (a, "idle");
  assert_scalar (v, a, count, NULL, "2");
  assert_scalar (v, b, count, NULL, "2");
  assert_scalar (v, a, "SELECT 1", NULL, "1");

  execute_ok (v, a, drop, NULL);
}

/* ------------------------------------------------------------------ */
/* Server errors and their fields.                                     */

static void
test_server_errors (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  g_autoptr (GError) error = NULL;
  execute_ok (v, conn,
              "CREATE TEMP TABLE conf_uniq (id int CONSTRAINT conf_uniq_key UNIQUE,"
              " name text NOT NULL)", NULL);
  execute_ok (v, conn, "INSERT INTO conf_uniq VALUES (1, 'one')", NULL);

  /* Unique violation: 23505 with detail, constraint, table, schema. */
  query_fails (v, conn, "INSERT INTO conf_uniq VALUES ($1, $2)",
               g_variant_new ("(is)", 1, "again"), &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "23505");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "23505");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_SEVERITY), ==, "ERROR");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_MESSAGE), ==,
                   "duplicate key value violates unique constraint \"conf_uniq_key\"");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), ==,
                   "Key (id)=(1) already exists.");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_CONSTRAINT), ==, "conf_uniq_key");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_TABLE), ==, "conf_uniq");
  g_assert_true (g_str_has_prefix (dal_error_get_field (error, DAL_ERROR_FIELD_SCHEMA),
                                   "pg_temp"));
  g_assert_nonnull (strstr (error->message, "Key (id)=(1) already exists"));
  g_assert_false (dal_error_is_retryable (error));
  g_clear_error (&error);

  /* Not-null violation: the column. */
  query_fails (v, conn, "INSERT INTO conf_uniq VALUES (2, NULL)", NULL, &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, NULL);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "23502");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_COLUMN), ==, "name");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_TABLE), ==, "conf_uniq");
  g_clear_error (&error);

  /* Syntax error: the position of the offending token (1-based). */
  static const char *bad_sql = "SELECT id, FROM conf_uniq";
  query_fails (v, conn, bad_sql, NULL, &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "syntax error");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42601");
  g_autofree char *pos = g_strdup_printf ("%d", (int) (strstr (bad_sql, "FROM") - bad_sql) + 1);
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_POSITION), ==, pos);
  g_clear_error (&error);

  /* An unknown table, also with a position. */
  query_fails (v, conn, "SELECT * FROM conf_no_such_table", NULL, &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "conf_no_such_table");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42P01");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_POSITION), ==, "15");
  g_clear_error (&error);

  /* A bad parameter value is the server's error too. */
  query_fails (v, conn, "SELECT $1::int", g_variant_new ("(s)", "abc"), &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "invalid input syntax");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22P02");
  g_clear_error (&error);

  /* RAISE from a DO block, with every field it can set. */
  query_fails (v, conn,
               "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = 'conformance failure',"
               " DETAIL = 'the detail', HINT = 'the hint from the server',"
               " ERRCODE = 'P0001', COLUMN = 'some_col', CONSTRAINT = 'some_con',"
               " DATATYPE = 'some_type', TABLE = 'some_table', SCHEMA = 'some_schema';"
               " END $$", NULL, &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "conformance failure");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "P0001");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_MESSAGE), ==, "conformance failure");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL), ==, "the detail");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_HINT), ==, "the hint from the server");
  g_assert_cmpstr (dal_error_get_hint (error), ==, "the hint from the server");
  g_assert_true (g_str_has_suffix (error->message, "the hint from the server"));
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_COLUMN), ==, "some_col");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_CONSTRAINT), ==, "some_con");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_DATATYPE), ==, "some_type");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_TABLE), ==, "some_table");
  g_assert_cmpstr (dal_error_get_field (error, DAL_ERROR_FIELD_SCHEMA), ==, "some_schema");
  g_clear_error (&error);

  /* RAISE from a function, with a parameter in the message. */
  execute_ok (v, conn,
              "CREATE FUNCTION pg_temp.conf_check(x int) RETURNS int LANGUAGE plpgsql AS $$"
              " BEGIN IF x < 0 THEN RAISE EXCEPTION 'bad value %', x"
              " USING HINT = 'Pass a positive value', ERRCODE = '22023'; END IF;"
              " RETURN x; END $$", NULL);
  assert_scalar (v, conn, "SELECT pg_temp.conf_check($1)", g_variant_new ("(i)", 7), "7");
  query_fails (v, conn, "SELECT pg_temp.conf_check($1)", g_variant_new ("(i)", -5), &error);
  assert_dal_error (error, DAL_ERROR_QUERY_FAILED, "bad value -5");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22023");
  g_assert_cmpstr (dal_error_get_hint (error), ==, "Pass a positive value");
  g_clear_error (&error);

  /* Errors do not break the connection. */
  assert_scalar (v, conn, "SELECT count(*) FROM conf_uniq", NULL, "1");
}

/* ------------------------------------------------------------------ */
/* Connection failures.                                                */

static GError *
open_fails (const Variant *v, const char *url)
{
  GError *error = NULL;
  g_autoptr (DalConnection) conn = t_open (v, url, NULL, &error);
  g_assert_null (conn);
  g_assert_nonnull (error);
  return error;
}

static void
test_fail_wrong_password (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *hostport = loopback_hostport ();
  g_autofree char *q = tls_query ();
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            WRONG_PASSWORD, hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (GError) error = open_fails (v, url);
  assert_dal_error (error, DAL_ERROR_AUTH_FAILED, "password authentication failed");
  g_assert_nonnull (strstr (error->message, "Check the user name and password"));
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "28P01");
  g_assert_false (dal_error_is_retryable (error));
}

static void
test_fail_unknown_database (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *hostport = loopback_hostport ();
  g_autofree char *q = tls_query ();
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            "conf_no_such_db", q);
  g_autoptr (GError) error = open_fails (v, url);
  assert_dal_error (error, DAL_ERROR_UNKNOWN_DATABASE, "conf_no_such_db");
  g_assert_nonnull (strstr (error->message, "Check the database name"));
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "3D000");
  g_assert_false (dal_error_is_retryable (error));
}

/* A loopback port where nothing listens (a moment ago, anyway). */
static guint16
free_port (void)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  socklen_t len = sizeof sa;
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  close (fd);
  return ntohs (sa.sin_port);
}

static void
test_fail_connection_refused (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  guint16 port = free_port ();
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *q = tls_query ();
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  gint64 start = now_ms ();
  g_autoptr (GError) error = open_fails (v, url);
  g_assert_cmpint (now_ms () - start, <, slack (3000));
  assert_dal_error (error, DAL_ERROR_CONNECTION_REFUSED, "127.0.0.1");
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_assert_nonnull (strstr (error->message, port_text));
  g_assert_nonnull (strstr (error->message, "Check host and port"));
}

static void
test_fail_unknown_host (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *hostport = g_strdup_printf ("%s:%s", UNKNOWN_HOST,
                                               dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *q = tls_query ();
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  gint before = g_atomic_int_get (&unknown_host_lookups);
  g_autoptr (GError) error = open_fails (v, url);
  assert_dal_error (error, DAL_ERROR_HOST_NOT_FOUND, UNKNOWN_HOST);
  g_assert_nonnull (strstr (error->message, "Check the host name"));
  /* It was the process's GResolver (ours) that was asked. */
  g_assert_cmpint (g_atomic_int_get (&unknown_host_lookups), >, before);
  g_assert_false (dal_error_is_retryable (error));
}

static void
test_fail_unknown_role (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  /* Over the trusted Unix socket the server says that the role does not
   * exist (over TCP, SCRAM hides it behind "password authentication"). */
  g_autofree char *dir = dal_test_encode (dal_test_env ("DAL_TEST_PG_SOCKET_DIR"));
  g_autofree char *q = g_strdup_printf ("host=%s&port=%s", dir, dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *url = dal_test_url_full (v->scheme, "conf_no_such_role", NULL, NULL,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (GError) error = open_fails (v, url);
  assert_dal_error (error, DAL_ERROR_UNKNOWN_ROLE, "conf_no_such_role");
  g_assert_nonnull (strstr (error->message, "Check the user name"));
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "28000");
  g_assert_false (dal_error_is_retryable (error));
}

static void
test_fail_tls_required (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *hostport = loopback_hostport ();
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"),
                                            "sslmode=disable");
  g_autoptr (GError) error = open_fails (v, url);
  assert_dal_error (error, DAL_ERROR_TLS_REQUIRED, "sslmode=require");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "28000");
  g_assert_false (dal_error_is_retryable (error));

  /* The user that may log in without TLS does, with the same URL form. */
  g_autofree char *ok_url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_NOSSL_USER"),
                                               dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                               dal_test_env ("DAL_TEST_PG_DATABASE"),
                                               "sslmode=disable");
  g_autoptr (GError) error2 = NULL;
  g_autoptr (DalConnection) conn = t_open (v, ok_url, NULL, &error2);
  g_assert_no_error (error2);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "off");
  assert_scalar (v, conn, "SELECT current_user", NULL, dal_test_env ("DAL_TEST_PG_NOSSL_USER"));
}

/* ------------------------------------------------------------------ */
/* Ways to reach the server.                                           */

static void
test_special_password (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  const char *user = dal_test_env ("DAL_TEST_PG_SPECIAL_USER");
  const char *password = dal_test_env ("DAL_TEST_PG_SPECIAL_PASSWORD");
  g_assert_cmpstr (password, ==, "p@ss:w/rd%?&=#");
  g_autofree char *hostport = loopback_hostport ();
  g_autofree char *q = tls_query ();
  /* dal_test_url_full percent-encodes the password. */
  g_autofree char *url = dal_test_url_full (v->scheme, user, password, hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_assert_null (strstr (url, password));
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = t_open (v, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_password (dal_connection_get_url (conn)), ==, password);
  assert_scalar (v, conn, "SELECT current_user", NULL, user);

  /* The redacted form shows neither the password nor its encoding. */
  g_autofree char *redacted = dal_url_to_string_redacted (dal_connection_get_url (conn));
  g_autofree char *encoded = dal_test_encode (password);
  g_assert_null (strstr (redacted, password));
  g_assert_null (strstr (redacted, encoded));
  g_assert_nonnull (strstr (redacted, "****"));
}

static void
test_unix_socket (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  const char *dir = dal_test_env ("DAL_TEST_PG_SOCKET_DIR");
  g_autofree char *enc = dal_test_encode (dir);
  g_autofree char *q = g_strdup_printf ("host=%s&port=%s", enc, dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_SUPERUSER"),
                                            NULL, NULL, dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = t_open (v, url, NULL, &error);
  g_assert_no_error (error);
  assert_scalar (v, conn, "SELECT current_user", NULL, dal_test_env ("DAL_TEST_PG_SUPERUSER"));
  /* A Unix-socket session has no client address. */
  assert_scalar (v, conn, "SELECT inet_client_addr() IS NULL", NULL, "t");
  g_autofree char *host = dal_connection_get_info (conn, "host");
  g_assert_cmpstr (host, ==, dir);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "off");
}

static void
test_ipv6 (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();
  if (g_strcmp0 (g_getenv ("DAL_TEST_PG_IPV6"), "1") != 0)
    {
      g_test_skip ("the harness's server does not listen on ::1 here");
      return;
    }

  g_autofree char *hostport = g_strdup_printf ("[::1]:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *q = tls_query ();  /* verify-full: the certificate names ::1 */
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = t_open (v, url, NULL, &error);
  g_assert_no_error (error);
  assert_scalar (v, conn, "SELECT host(inet_client_addr())", NULL, "::1");
  g_autofree char *host = dal_connection_get_info (conn, "host");
  g_assert_cmpstr (host, ==, "::1");
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "on");
}

/* A host name (not an address) resolved through the process's GResolver,
 * with the certificate checked against the name. */
static void
test_host_name (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *hostport = g_strdup_printf ("localhost:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *q = tls_query ();
  g_autofree char *url = dal_test_url_full (v->scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = t_open (v, url, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *host = dal_connection_get_info (conn, "host");
  g_assert_cmpstr (host, ==, "localhost");
  assert_scalar (v, conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", NULL, "t");
}

/* ------------------------------------------------------------------ */
/* Cancellation and timeouts.                                          */

typedef struct
{
  GCancellable *cancellable;
  guint delay_ms;
  gint64 fired_at;   /* ms */
} CancelLater;

static gpointer
cancel_thread (gpointer data)
{
  CancelLater *c = data;
  g_usleep (c->delay_ms * 1000);
  c->fired_at = now_ms ();
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

static gboolean
cancel_source_cb (gpointer data)
{
  CancelLater *c = data;
  c->fired_at = now_ms ();
  g_cancellable_cancel (c->cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  CancelLater c = { .cancellable = cancellable, .delay_ms = 200 };
  GThread *thread = NULL;
  GSource *timer = NULL;

  if (v->async)
    {
      /* From the main context the async call completes on. */
      timer = g_timeout_source_new (c.delay_ms);
      g_source_set_callback (timer, cancel_source_cb, &c, NULL);
      g_source_attach (timer, f->context);
    }
  else
    /* From another thread, while this one blocks in the call. */
    thread = g_thread_new ("canceller", cancel_thread, &c);

  gint64 start = now_ms ();
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = t_query (v, conn, "SELECT pg_sleep(5)", NULL, cancellable, &error);
  gint64 end = now_ms ();
  if (thread != NULL)
    g_thread_join (thread);
  if (timer != NULL)
    {
      g_source_destroy (timer);
      g_source_unref (timer);
    }
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (c.fired_at, >, 0);
  g_assert_cmpint (end - c.fired_at, <, slack (1000));
  g_assert_cmpint (end - start, >=, 150);
  g_clear_error (&error);

  /* The connection still works, promptly: the server stopped sleeping. */
  start = now_ms ();
  assert_scalar (v, conn, "SELECT 41 + 1", NULL, "42");
  g_assert_cmpint (now_ms () - start, <, slack (1500));
  assert_tx_status (conn, "idle");

  /* A cancellable cancelled before the call: cancelled, nothing run. */
  g_autoptr (GCancellable) early = g_cancellable_new ();
  g_cancellable_cancel (early);
  g_autoptr (DalResult) r2 = t_query (v, conn, "SELECT 1", NULL, early, &error);
  g_assert_null (r2);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  assert_scalar (v, conn, "SELECT 'still fine'", NULL, "still fine");
}

static void
test_command_timeout (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, "command_timeout=0.3");
  g_autoptr (GError) error = NULL;
  gint64 start = now_ms ();
  query_fails (v, conn, "SELECT pg_sleep(5)", NULL, &error);
  gint64 took = now_ms () - start;
  assert_dal_error (error, DAL_ERROR_QUERY_TIMEOUT, "command_timeout");
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "57014");
  g_assert_cmpint (took, >=, 250);
  g_assert_cmpint (took, <, slack (1500));
  g_clear_error (&error);

  /* Usable afterwards, and statements under the timeout run. */
  assert_scalar (v, conn, "SELECT 'after timeout'", NULL, "after timeout");
  assert_scalar (v, conn, "SELECT pg_sleep(0.05)::text", NULL, "");
  assert_tx_status (conn, "idle");
}

/* ------------------------------------------------------------------ */
/* get_info.                                                           */

static void
test_get_info (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  g_autofree char *version = dal_connection_get_info (conn, "server_version");
  g_assert_nonnull (version);
  g_assert_true (g_str_has_prefix (version, "15"));
  g_assert_cmpuint (strlen (version), ==, 6);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "on");
  g_autofree char *proto = dal_connection_get_info (conn, "tls_protocol");
  g_assert_true (g_strcmp0 (proto, "TLSv1.3") == 0 || g_strcmp0 (proto, "TLSv1.2") == 0);
  g_autofree char *cipher = dal_connection_get_info (conn, "tls_cipher");
  g_assert_nonnull (cipher);
  g_assert_cmpstr (cipher, !=, "");
  g_autofree char *host = dal_connection_get_info (conn, "host");
  g_assert_cmpstr (host, ==, "127.0.0.1");
  g_autofree char *port = dal_connection_get_info (conn, "port");
  g_assert_cmpstr (port, ==, dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *pid = dal_connection_get_info (conn, "backend_pid");
  g_assert_nonnull (pid);
  assert_scalar (v, conn, "SELECT pg_backend_pid()", NULL, pid);
  g_autofree char *server_version_num = scalar (v, conn, "SHOW server_version_num", NULL);
  g_assert_cmpstr (version, ==, server_version_num);
  assert_tx_status (conn, "idle");
  g_assert_null (dal_connection_get_info (conn, "no_such_key"));

  /* What `dal check` shows: the address used, the certificate, the
   * connect's phases (an IP literal needs no lookup). */
  g_autofree char *hostaddr = dal_connection_get_info (conn, "hostaddr");
  g_assert_cmpstr (hostaddr, ==, "127.0.0.1");
  g_autofree char *verified = dal_connection_get_info (conn, "tls_verified");
  g_assert_cmpstr (verified, ==, "yes");
  g_autofree char *days = dal_connection_get_info (conn, "tls_cert_days_left");
  g_assert_nonnull (days);
  g_assert_cmpint (g_ascii_strtoll (days, NULL, 10), >, 0);
  g_autofree char *not_after = dal_connection_get_info (conn, "tls_cert_not_after");
  g_assert_true (g_str_has_suffix (not_after, " UTC"));
  g_autofree char *ms_dns = dal_connection_get_info (conn, "connect_ms_dns");
  g_assert_cmpstr (ms_dns, ==, "0.00");
  double ms[4];
  const char *phases[] = { "connect_ms_tcp", "connect_ms_tls", "connect_ms_auth", "connect_ms_total" };
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      g_autofree char *text = dal_connection_get_info (conn, phases[i]);
      g_assert_nonnull (text);
      ms[i] = g_ascii_strtod (text, NULL);
    }
  g_assert_cmpfloat (ms[1], >, 0);
  g_assert_cmpfloat (ms[0] + ms[1] + ms[2], <=, ms[3] + 0.01);

  g_autoptr (GError) error = NULL;
  g_assert_true (t_close (v, conn, &error));
  g_assert_null (dal_connection_get_info (conn, "backend_pid"));
  g_assert_null (dal_connection_get_info (conn, "connect_ms_total"));
}

/* ------------------------------------------------------------------ */
/* Async only: ordering and closing with calls pending.                */

typedef struct
{
  guint calls;
  guint order;         /* when it completed, 1-based */
  DalResult *result;
  gboolean executed;   /* a dal_connection_execute_async() that succeeded */
  GError *error;
} Slot;

typedef struct
{
  DalConnection *conn;
  guint completed;
  Slot slots[32];
  gboolean close_done;
  guint close_calls;
} Many;

static void
many_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Slot *slot = user_data;
  Many *m = g_object_get_data (source, "conf-many");
  g_assert_nonnull (m);
  slot->calls++;
  g_assert_cmpuint (slot->calls, ==, 1);
  slot->order = ++m->completed;
  /* Each _async has its own _finish. */
  if (g_async_result_is_tagged (result, dal_connection_execute_async))
    slot->executed = dal_connection_execute_finish (DAL_CONNECTION (source), result,
                                                    &slot->error) >= 0;
  else
    slot->result = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                &slot->error);
  assert_error_clean (slot->error);
}

static void
many_clear (Many *m)
{
  for (guint i = 0; i < G_N_ELEMENTS (m->slots); i++)
    {
      g_clear_pointer (&m->slots[i].result, dal_result_unref);
      g_clear_error (&m->slots[i].error);
    }
}

static void
wait_completed (Many *m, guint n)
{
  gint64 until = now_ms () + slack (WAIT_MS);
  while (m->completed < n && now_ms () < until)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_assert_cmpuint (m->completed, ==, n);
}

/* Statements started back to back complete in order, each with its own
 * result; one that fails fails alone. */
static void
test_async_order (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  Many m = { .conn = conn };
  g_object_set_data (G_OBJECT (conn), "conf-many", &m);

  const guint n = 20, bad = 7;
  for (guint i = 0; i < n; i++)
    {
      if (i == bad)
        dal_connection_query_async (conn, "SELECT 1 / $1::int", g_variant_new ("(i)", 0),
                                    NULL, many_cb, &m.slots[i]);
      else
        dal_connection_query_async (conn, "SELECT $1::int * 10, pg_sleep(0.001)",
                                    g_variant_new ("(i)", (gint32) i), NULL, many_cb,
                                    &m.slots[i]);
      g_assert_cmpuint (m.completed, ==, 0);  /* never from inside the call */
    }
  wait_completed (&m, n);
  for (guint i = 0; i < n; i++)
    {
      Slot *s = &m.slots[i];
      g_assert_cmpuint (s->calls, ==, 1);
      g_assert_cmpuint (s->order, ==, i + 1);
      if (i == bad)
        {
          g_assert_null (s->result);
          assert_dal_error (s->error, DAL_ERROR_QUERY_FAILED, NULL);
          g_assert_cmpstr (dal_error_get_sqlstate (s->error), ==, "22012");
        }
      else
        {
          g_assert_no_error (s->error);
          g_assert_cmpint (dal_result_get_int (s->result, 0, 0, NULL), ==, (gint) i * 10);
        }
    }
  many_clear (&m);

  /* A transaction started and ended without waiting in between. */
  memset (&m, 0, sizeof m);
  m.conn = conn;
  execute_ok (v, conn, "CREATE TEMP TABLE conf_order (id int)", NULL);
  Waiter wb, wr;
  waiter_init (&wb);
  waiter_init (&wr);
  dal_connection_begin_async (conn, NULL, waiter_cb, &wb);
  dal_connection_query_async (conn, "INSERT INTO conf_order VALUES (1), (2)", NULL, NULL,
                              many_cb, &m.slots[0]);
  dal_connection_query_async (conn, "SELECT count(*) FROM conf_order", NULL, NULL,
                              many_cb, &m.slots[1]);
  dal_connection_rollback_async (conn, NULL, waiter_cb, &wr);
  dal_connection_query_async (conn, "SELECT count(*) FROM conf_order", NULL, NULL,
                              many_cb, &m.slots[2]);
  wait_completed (&m, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpuint (m.slots[i].calls, ==, 1);
      g_assert_cmpuint (m.slots[i].order, ==, i + 1);
    }
  g_assert_true (wb.done && wr.done);
  g_autoptr (GError) error = NULL;
  g_assert_true (dal_connection_begin_finish (conn, wb.result, &error));
  g_assert_true (dal_connection_rollback_finish (conn, wr.result, &error));
  g_assert_no_error (error);
  g_assert_no_error (m.slots[0].error);
  g_assert_cmpint (dal_result_get_affected_rows (m.slots[0].result), ==, 2);
  g_assert_cmpstr (dal_result_get_string (m.slots[1].result, 0, 0, NULL), ==, "2");
  g_assert_cmpstr (dal_result_get_string (m.slots[2].result, 0, 0, NULL), ==, "0");
  waiter_clear (&wb);
  waiter_clear (&wr);
  many_clear (&m);
  g_object_set_data (G_OBJECT (conn), "conf-many", NULL);
}

static void
close_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Many *m = user_data;
  g_autoptr (GError) error = NULL;
  m->close_calls++;
  g_assert_true (dal_connection_close_finish (DAL_CONNECTION (source), result, &error));
  g_assert_no_error (error);
  m->close_done = TRUE;
}

/* Lets anything that would complete twice do so (before counting). */
static void
settle (void)
{
  gint64 until = now_ms () + 300;
  while (now_ms () < until)
    if (!g_main_context_iteration (g_main_context_get_thread_default (), FALSE))
      g_usleep (5000);
}

static void
run_close_pending (const Variant *v, gboolean close_async)
{
  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  Many m = { .conn = conn };
  g_object_set_data (G_OBJECT (conn), "conf-many", &m);

  const guint n = 4;
  dal_connection_query_async (conn, "SELECT pg_sleep(0.3)", NULL, NULL, many_cb, &m.slots[0]);
  dal_connection_query_async (conn, "SELECT 2", NULL, NULL, many_cb, &m.slots[1]);
  dal_connection_execute_async (conn, "SELECT 3", NULL, NULL, many_cb, &m.slots[2]);
  dal_connection_query_async (conn, "SELECT 4", NULL, NULL, many_cb, &m.slots[3]);

  if (close_async)
    {
      dal_connection_close_async (conn, NULL, close_cb, &m);
      g_assert_false (m.close_done);
      dal_test_wait_for (&m.close_done, WAIT_MS);
    }
  else
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (dal_connection_close (conn, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (dal_connection_is_closed (conn));
  wait_completed (&m, n);

  settle ();
  g_assert_cmpuint (m.completed, ==, n);
  if (close_async)
    g_assert_cmpuint (m.close_calls, ==, 1);
  for (guint i = 0; i < n; i++)
    {
      Slot *s = &m.slots[i];
      g_assert_cmpuint (s->calls, ==, 1);
      /* A statement may have finished before the close; the others
       * are told the connection was closed. */
      if (s->result == NULL && !s->executed)
        assert_dal_error (s->error, DAL_ERROR_CLOSED, NULL);
      else
        g_assert_no_error (s->error);
    }
  /* The last one was certainly still waiting. */
  g_assert_null (m.slots[n - 1].result);
  many_clear (&m);

  /* After the close: refused, still asynchronously. */
  memset (&m, 0, sizeof m);
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, many_cb, &m.slots[0]);
  g_assert_cmpuint (m.completed, ==, 0);
  wait_completed (&m, 1);
  assert_dal_error (m.slots[0].error, DAL_ERROR_CLOSED, NULL);
  many_clear (&m);
  g_object_set_data (G_OBJECT (conn), "conf-many", NULL);
}

static void
test_close_pending (Fixture *f, gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  run_close_pending (data, FALSE);
  run_close_pending (data, TRUE);
}

/* Closing from inside a statement's callback, with more statements
 * pending: none of their callbacks runs before the close returns; each
 * runs once afterwards (the running one may have its result, the others
 * fail with DAL_ERROR_CLOSED). */
static struct
{
  gboolean inside;      /* set around the close */
  gboolean use_async;   /* close with dal_connection_close_async() */
} closing;

static void
pending_not_inside_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_assert_false (closing.inside);
  many_cb (source, result, user_data);
}

static void
close_inside_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  many_cb (source, result, user_data);
  Many *m = g_object_get_data (source, "conf-many");
  g_autoptr (GError) error = NULL;
  closing.inside = TRUE;
  if (closing.use_async)
    dal_connection_close_async (m->conn, NULL, close_cb, m);
  else
    g_assert_true (dal_connection_close (m->conn, NULL, &error));
  closing.inside = FALSE;
  g_assert_no_error (error);
  g_assert_false (m->close_done);
  g_assert_cmpuint (m->completed, ==, 1);  /* only this one, so far */
}

static void
run_close_in_callback (const Variant *v, gboolean close_async)
{
  g_autoptr (DalConnection) conn = open_ok (v, NULL);
  Many m = { .conn = conn };
  g_object_set_data (G_OBJECT (conn), "conf-many", &m);
  closing.use_async = close_async;

  const guint n = 4;
  dal_connection_query_async (conn, "SELECT 1", NULL, NULL, close_inside_cb, &m.slots[0]);
  dal_connection_query_async (conn, "SELECT pg_sleep(0.3)", NULL, NULL,
                              pending_not_inside_cb, &m.slots[1]);
  dal_connection_query_async (conn, "SELECT 2", NULL, NULL, pending_not_inside_cb,
                              &m.slots[2]);
  dal_connection_query_async (conn, "SELECT 3", NULL, NULL, pending_not_inside_cb,
                              &m.slots[3]);
  wait_completed (&m, n);
  if (close_async)
    dal_test_wait_for (&m.close_done, WAIT_MS);
  g_assert_true (dal_connection_is_closed (conn));

  settle ();
  g_assert_cmpuint (m.completed, ==, n);
  g_assert_cmpuint (m.close_calls, ==, close_async ? 1 : 0);
  g_assert_no_error (m.slots[0].error);
  for (guint i = 1; i < n; i++)
    {
      Slot *s = &m.slots[i];
      g_assert_cmpuint (s->calls, ==, 1);
      g_assert_cmpuint (s->order, ==, i + 1);
      if (i == 1 && s->result != NULL)
        continue;   /* pgsync: it was running, the close waited for it */
      g_assert_null (s->result);
      assert_dal_error (s->error, DAL_ERROR_CLOSED, NULL);
    }
  many_clear (&m);
  g_object_set_data (G_OBJECT (conn), "conf-many", NULL);
}

static void
test_close_in_callback (Fixture *f, gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  for (guint close_async = 0; close_async < 2; close_async++)
    run_close_in_callback (data, close_async);
}

/* ------------------------------------------------------------------ */
/* One URL, another driver.                                            */

static void
test_with_driver (Fixture *f, gconstpointer data)
{
  const Variant *v = data;
  DAL_TEST_LIVE_OR_RETURN ();

  gboolean is_async_plugin = g_str_has_suffix (v->scheme, "+asyncpg");
  const char *other_driver = is_async_plugin ? "psycopg2" : "asyncpg";
  const char *other_plugin = is_async_plugin ? "pgsync" : "pgasync";

  g_autoptr (DalConnection) a = open_ok (v, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) derived = dal_url_with_driver (dal_connection_get_url (a), other_driver,
                                                    &error);
  g_assert_no_error (error);
  g_autofree char *other_scheme = g_strdup_printf ("postgresql+%s", other_driver);
  g_assert_cmpstr (dal_url_get_scheme (derived), ==, other_scheme);
  g_assert_cmpstr (dal_url_get_password (derived), ==, dal_test_env ("DAL_TEST_PG_PASSWORD"));
  g_assert_cmpstr (dal_url_get_option (derived, "sslmode"), ==, "verify-full");

  g_autoptr (DalConnection) b = t_open_url (v, derived, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_connection_get_plugin_name (b), ==, other_plugin);

  static const char *who = "SELECT current_database() || '/' || current_user || '/' || inet_server_port()";
  g_autofree char *wa = scalar (v, a, who, NULL);
  g_autofree char *wb = scalar (v, b, who, NULL);
  g_assert_cmpstr (wa, ==, wb);

  /* Same database: what one commits, the other sees. */
  g_autofree char *table = unique_table (v, "drv");
  g_autofree char *create = g_strdup_printf ("CREATE TABLE %s (v text)", table);
  g_autofree char *insert = g_strdup_printf ("INSERT INTO %s VALUES ($1)", table);
  g_autofree char *select = g_strdup_printf ("SELECT v FROM %s", table);
  g_autofree char *drop = g_strdup_printf ("DROP TABLE %s", table);
  execute_ok (v, b, create, NULL);  /* like a migration */
  execute_ok (v, a, insert, g_variant_new ("(s)", "from the application"));
  assert_scalar (v, b, select, NULL, "from the application");
  execute_ok (v, b, drop, NULL);
}

/* ------------------------------------------------------------------ */

static GPtrArray *variants;

static void
add_test (const char *name, const char *scheme, const char *plugin, gboolean async,
          void (*fn) (Fixture *, gconstpointer))
{
  Variant *v = g_new0 (Variant, 1);
  v->scheme = scheme;
  v->plugin = plugin;
  v->async = async;
  g_ptr_array_add (variants, v);
  g_autofree char *path = g_strdup_printf ("/conformance/%s/%s/%s", scheme,
                                           async ? "async" : "sync", name);
  g_test_add (path, Fixture, v, fixture_setup, fn, fixture_teardown);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* Before anything resolves a name: no lookup leaves this process. */
  g_autoptr (GResolver) resolver = g_object_new (fake_resolver_get_type (), NULL);
  g_resolver_set_default (resolver);

  variants = g_ptr_array_new_with_free_func (g_free);

  static const struct
  {
    const char *name;
    void (*fn) (Fixture *, gconstpointer);
    gboolean sync, async;
  } tests[] = {
    { "open", test_open, TRUE, TRUE },
    { "params/injection", test_params_injection, TRUE, TRUE },
    { "params/texts", test_params_texts, TRUE, TRUE },
    { "params/types", test_param_types, TRUE, TRUE },
    { "getters", test_getters, TRUE, TRUE },
    { "affected-rows", test_affected_rows, TRUE, TRUE },
    { "transactions", test_transactions, TRUE, TRUE },
    { "server-errors", test_server_errors, TRUE, TRUE },
    { "fail/wrong-password", test_fail_wrong_password, TRUE, TRUE },
    { "fail/unknown-database", test_fail_unknown_database, TRUE, TRUE },
    { "fail/connection-refused", test_fail_connection_refused, TRUE, TRUE },
    { "fail/unknown-host", test_fail_unknown_host, TRUE, TRUE },
    { "fail/unknown-role", test_fail_unknown_role, TRUE, TRUE },
    { "fail/tls-required", test_fail_tls_required, TRUE, TRUE },
    { "special-password", test_special_password, TRUE, TRUE },
    { "unix-socket", test_unix_socket, TRUE, TRUE },
    { "ipv6", test_ipv6, TRUE, TRUE },
    { "host-name", test_host_name, TRUE, TRUE },
    { "cancel", test_cancel, TRUE, TRUE },
    { "command-timeout", test_command_timeout, TRUE, TRUE },
    { "get-info", test_get_info, TRUE, FALSE },
    { "order", test_async_order, FALSE, TRUE },
    { "close-pending", test_close_pending, FALSE, TRUE },
    { "close-in-callback", test_close_in_callback, FALSE, TRUE },
    { "with-driver", test_with_driver, TRUE, TRUE },
  };
  static const struct
  {
    const char *scheme;
    const char *plugin;
  } schemes[] = {
    { "postgresql+psycopg2", "pgsync" },
    { "postgresql+asyncpg", "pgasync" },
  };

  for (guint s = 0; s < G_N_ELEMENTS (schemes); s++)
    for (guint t = 0; t < G_N_ELEMENTS (tests); t++)
      {
        if (tests[t].sync)
          add_test (tests[t].name, schemes[s].scheme, schemes[s].plugin, FALSE, tests[t].fn);
        if (tests[t].async)
          add_test (tests[t].name, schemes[s].scheme, schemes[s].plugin, TRUE, tests[t].fn);
      }
  /* The bare dialect: its default plugin. */
  add_test ("smoke", "postgresql", "pgsync", FALSE, test_bare_smoke);
  add_test ("smoke", "postgresql", "pgsync", TRUE, test_bare_smoke);

  int status = g_test_run ();
  g_ptr_array_unref (variants);
  return status;
}
