/* test-pgasync.c: the non-blocking PostgreSQL driver (postgresql+asyncpg)
 * against the harness's real PostgreSQL 15 and PgBouncer.
 *
 * Covers: a long pipeline fed from many main-loop sources; an error in the
 * middle of a pipeline; cancellation (running and queued statements, async
 * and blocking), checked on the server; command timeouts; the connect
 * engine's deadlines (a hung host, a multi-host URL, slow name
 * resolution that must not stall the main loop); a backend terminated
 * under a pipeline; closing with statements in flight; blocking calls
 * among async ones; PgBouncer in transaction mode (no prepared statement
 * left on any server backend); the statement cache on a direct
 * connection.
 *
 * Network: only 127.0.0.1.  Host names are answered by a fake GResolver
 * installed with g_resolver_set_default(): nothing is ever looked up in
 * the system's resolver.  "A hung host" is a plain loopback TCP listener
 * that accepts connections and never says anything.
 *
 * Timing bounds are generous (CI, 2 vCPUs) but each would catch the bug it
 * is about; under valgrind (or with DAL_TEST_TIME_SCALE=N) the upper bounds
 * stretch.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <libpq-fe.h>

#include "dal-test.h"

/* Upper time bounds are multiplied by this: dal_test_time_scale(). */
static double time_scale = 1.0;

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* Lets the main loop run for @ms (late callbacks show up as double calls). */
static void
drain (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

/* -- a fake resolver: the only name service this program uses -- */

#define SLOW_NAME "slowdns.test"

G_DECLARE_FINAL_TYPE (FakeResolver, fake_resolver, FAKE, RESOLVER, GResolver)

struct _FakeResolver
{
  GResolver parent_instance;
  guint delay_ms;      /* how long SLOW_NAME takes */
  guint lookups;       /* SLOW_NAME lookups started */
  guint refused;       /* lookups of names it does not know */
  gint64 answered_at;  /* when it last answered SLOW_NAME (monotonic µs) */
};

G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static FakeResolver *fake_resolver;

static GList *
fake_answer (FakeResolver *self, const char *name, GError **error)
{
  if (g_ascii_strcasecmp (name, SLOW_NAME) == 0)
    return g_list_append (NULL, g_inet_address_new_from_string ("127.0.0.1"));
  self->refused++;
  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
               "the test resolver does not know \"%s\"", name);
  return NULL;
}

static GList *
fake_lookup_by_name (GResolver *resolver, const char *name,
                     GCancellable *cancellable, GError **error)
{
  FakeResolver *self = FAKE_RESOLVER (resolver);
  if (g_ascii_strcasecmp (name, SLOW_NAME) == 0)
    {
      self->lookups++;
      g_usleep (self->delay_ms * 1000);
    }
  return fake_answer (self, name, error);
}

typedef struct
{
  FakeResolver *self;
  char *name;
} FakeLookup;

static void
fake_lookup_free (FakeLookup *l)
{
  g_free (l->name);
  g_free (l);
}

static gboolean
fake_lookup_answer (gpointer user_data)
{
  GTask *task = user_data;
  FakeLookup *l = g_task_get_task_data (task);
  GError *error = NULL;
  if (!g_task_return_error_if_cancelled (task))
    {
      GList *addrs = fake_answer (l->self, l->name, &error);
      if (addrs != NULL)
        l->self->answered_at = g_get_monotonic_time ();
      if (addrs != NULL)
        g_task_return_pointer (task, addrs, (GDestroyNotify) g_resolver_free_addresses);
      else
        g_task_return_error (task, error);
    }
  return G_SOURCE_REMOVE;
}

static void
fake_lookup_by_name_async (GResolver *resolver, const char *name,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  FakeResolver *self = FAKE_RESOLVER (resolver);
  GTask *task = g_task_new (resolver, cancellable, callback, user_data);
  FakeLookup *l = g_new0 (FakeLookup, 1);
  l->self = self;
  l->name = g_strdup (name);
  g_task_set_task_data (task, l, (GDestroyNotify) fake_lookup_free);

  /* The answer comes later, from a timer on the caller's context: a slow
   * DNS server, without any thread. */
  guint delay = 0;
  if (g_ascii_strcasecmp (name, SLOW_NAME) == 0)
    {
      self->lookups++;
      delay = self->delay_ms;
    }
  GSource *s = g_timeout_source_new (delay);
  g_source_set_callback (s, fake_lookup_answer, task, g_object_unref);
  g_source_attach (s, g_task_get_context (task));
  g_source_unref (s);
}

static GList *
fake_lookup_by_name_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *rc = G_RESOLVER_CLASS (klass);
  rc->lookup_by_name = fake_lookup_by_name;
  rc->lookup_by_name_async = fake_lookup_by_name_async;
  rc->lookup_by_name_finish = fake_lookup_by_name_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
}

/* -- a hung host: accepts TCP connections on 127.0.0.1, never answers -- */

typedef struct
{
  int fd;
  guint16 port;
  guint watch;
  GArray *accepted;  /* int */
} HungHost;

static gboolean
hung_accept (gint fd, GIOCondition condition, gpointer user_data)
{
  HungHost *h = user_data;
  int c = accept (fd, NULL, NULL);
  if (c >= 0)
    g_array_append_val (h->accepted, c);
  return G_SOURCE_CONTINUE;
}

static HungHost *
hung_host_new (void)
{
  HungHost *h = g_new0 (HungHost, 1);
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  h->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (h->fd, >=, 0);
  g_assert_cmpint (bind (h->fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (h->fd, 64), ==, 0);
  g_assert_cmpint (getsockname (h->fd, (struct sockaddr *) &sa, &len), ==, 0);
  h->port = ntohs (sa.sin_port);
  h->accepted = g_array_new (FALSE, FALSE, sizeof (int));
  h->watch = g_unix_fd_add (h->fd, G_IO_IN, hung_accept, h);
  return h;
}

static void
hung_host_free (HungHost *h)
{
  g_source_remove (h->watch);
  for (guint i = 0; i < h->accepted->len; i++)
    close (g_array_index (h->accepted, int, i));
  g_array_unref (h->accepted);
  close (h->fd);
  g_free (h);
}

/* -- URLs and connections -- */

/* The harness's server at @hostport (NULL: 127.0.0.1:<port>) with @query. */
static char *
url_at (const char *hostport, const char *query)
{
  g_autofree char *hp = hostport != NULL
                          ? g_strdup (hostport)
                          : g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  return dal_test_url_full ("postgresql+asyncpg", dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
}

/* "sslmode=verify-full&sslrootcert=<CA>[&extra]" */
static char *
tls_query (const char *mode, const char *extra)
{
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  return g_strdup_printf ("sslmode=%s&sslrootcert=%s%s%s", mode, ca,
                          extra != NULL ? "&" : "", extra != NULL ? extra : "");
}

/* How long the last dal_connection_open_async() call itself took. */
static double open_call_s;

typedef struct
{
  gboolean done;
  DalConnection *conn;
  GError *error;
  double at;
} OpenWait;

static void
open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  OpenWait *w = user_data;
  g_assert_false (w->done);
  w->conn = dal_connection_open_finish (result, &w->error);
  w->at = now_s ();
  w->done = TRUE;
}

static DalConnection *
open_async_wait (const char *url, GError **error, double *elapsed)
{
  OpenWait w = { 0 };
  double t0 = now_s ();
  dal_connection_open_async (url, NULL, open_done, &w);
  open_call_s = now_s () - t0;
  g_assert_false (w.done);  /* never from inside the call */
  dal_test_wait_for (&w.done, 30000);
  if (elapsed != NULL)
    *elapsed = w.at - t0;
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.conn;
}

static DalConnection *
open_ok (const char *extra_query)
{
  g_autofree char *url = dal_test_url ("postgresql+asyncpg", extra_query);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = open_async_wait (url, &error, NULL);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  g_assert_cmpstr (dal_connection_get_plugin_name (conn), ==, "pgasync");
  return conn;
}

static int
backend_pid (DalConnection *conn)
{
  g_autofree char *pid = dal_connection_get_info (conn, "backend_pid");
  g_assert_nonnull (pid);
  return atoi (pid);
}

static guint
in_flight (DalConnection *conn)
{
  g_autofree char *n = dal_connection_get_info (conn, "in_flight");
  g_assert_nonnull (n);
  return (guint) atoi (n);
}

/* A blocking statement that must work; returns the first value as text. */
static char *
query_value (DalConnection *conn, const char *sql, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, params, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_assert_cmpuint (dal_result_get_n_rows (r), >=, 1);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

/* What the server says backend @pid is doing: "active:SELECT pg_sleep(10)",
 * "idle:…", or "gone". */
static char *
backend_activity (int pid)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT coalesce((SELECT state || ':' || query FROM pg_stat_activity "
    "WHERE pid = %d), 'gone')", pid);
  return dal_test_admin_query (sql);
}

static gboolean
is_sleeping (const char *activity)
{
  return g_str_has_prefix (activity, "active:") && strstr (activity, "pg_sleep") != NULL;
}

/* Polls the server until backend @pid is (or is no longer) in pg_sleep. */
static gboolean
wait_backend_sleeping (int pid, gboolean sleeping, double timeout_s)
{
  double end = now_s () + timeout_s;
  for (;;)
    {
      g_autofree char *a = backend_activity (pid);
      if (is_sleeping (a) == sleeping)
        return TRUE;
      if (now_s () > end)
        {
          g_test_message ("backend %d: %s", pid, a);
          return FALSE;
        }
      g_usleep (20000);
    }
}

/* -- one async call, recorded -- */

typedef struct
{
  guint calls;
  guint seq;            /* completion order (1-based) */
  DalResult *result;
  GError *error;
  double at;
} Call;

static guint completion_seq;

static void
call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *c = user_data;
  c->calls++;
  if (c->calls > 1)
    {
      g_test_fail_printf ("a callback ran %u times", c->calls);
      return;
    }
  c->seq = ++completion_seq;
  c->at = now_s ();
  c->result = dal_connection_query_finish (DAL_CONNECTION (source), result, &c->error);
  g_assert_true ((c->result == NULL) != (c->error == NULL));
}

static void
call_clear (Call *c)
{
  g_clear_pointer (&c->result, dal_result_unref);
  g_clear_error (&c->error);
}

static void
submit (DalConnection *conn, Call *c, const char *sql, GVariant *params,
        GCancellable *cancellable)
{
  dal_connection_query_async (conn, sql, params, cancellable, call_done, c);
  g_assert_cmpuint (c->calls, ==, 0);  /* never from inside the call */
}

/* Runs the main loop until every call completed (fails after @timeout_s). */
static void
wait_calls (Call *calls, guint n, double timeout_s)
{
  double end = now_s () + timeout_s;
  for (;;)
    {
      guint pending = 0;
      for (guint i = 0; i < n; i++)
        pending += calls[i].calls == 0;
      if (pending == 0)
        return;
      if (now_s () > end)
        g_error ("%u of %u calls still pending after %.1f s", pending, n, timeout_s);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
    }
}

static void
assert_call_int (Call *c, gint64 want)
{
  g_assert_cmpuint (c->calls, ==, 1);
  g_assert_no_error (c->error);
  g_assert_nonnull (c->result);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (dal_result_get_int64 (c->result, 0, 0, &error), ==, want);
  g_assert_no_error (error);
}

/* ===================================================================
 * 1. 1,000 statements from many sources on one connection
 * =================================================================== */

#define BURST_N 1000

typedef struct _Burst Burst;

typedef struct
{
  Burst *burst;
  guint index;
  guint calls;
} BurstOp;

struct _Burst
{
  DalConnection *conn;
  GRand *rand;
  BurstOp ops[BURST_N];
  guint submitted;
  guint completed;
  guint out_of_order;
  guint wrong;
  guint errors;
  guint max_in_flight;
  guint by_source[8];
};

static void burst_submit (Burst *b, guint source_id);

static void
burst_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BurstOp *op = user_data;
  Burst *b = op->burst;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);

  op->calls++;
  if (op->index != b->completed)
    b->out_of_order++;
  b->completed++;
  if (r == NULL)
    {
      b->errors++;
      g_test_message ("statement %u failed: %s", op->index, error->message);
      return;
    }
  if (dal_result_get_n_rows (r) != 1
      || dal_result_get_int64 (r, 0, 0, NULL) != (gint64) op->index * 7 + 3)
    b->wrong++;
  /* Callbacks start statements too. */
  if (op->index % 37 == 0)
    burst_submit (b, 7);
}

static void
burst_submit (Burst *b, guint source_id)
{
  if (b->submitted >= BURST_N)
    return;
  BurstOp *op = &b->ops[b->submitted];
  op->burst = b;
  op->index = b->submitted++;
  b->by_source[source_id]++;
  dal_connection_query_async (b->conn, "SELECT $1::int", g_variant_new_int32 (op->index * 7 + 3),
                              NULL, burst_done, op);
  if (op->index % 10 == 0)
    b->max_in_flight = MAX (b->max_in_flight, in_flight (b->conn));
}

typedef struct
{
  Burst *burst;
  guint id;
} BurstSource;

static gboolean
burst_source_cb (gpointer user_data)
{
  BurstSource *s = user_data;
  Burst *b = s->burst;
  /* The sources leave the last statements to the completion callback
   * until it has started one: on a fast machine they could otherwise
   * submit all of them before the first completion arrives. */
  if (b->by_source[7] == 0 && b->submitted >= BURST_N - 20)
    return G_SOURCE_CONTINUE;
  guint n = (guint) g_rand_int_range (b->rand, 1, 13);
  for (guint i = 0; i < n; i++)
    burst_submit (b, s->id);
  return b->submitted < BURST_N ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
test_pipeline_burst (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Burst *b = g_new0 (Burst, 1);
  b->conn = open_ok (NULL);
  b->rand = g_rand_new_with_seed (20240601);

  /* Seven sources: three idles and timers of 0-2 ms; the
   * eighth "source" is the completion callback itself. */
  BurstSource srcs[7];
  for (guint i = 0; i < 7; i++)
    {
      srcs[i] = (BurstSource) { b, i };
      GSource *s = i < 3 ? g_idle_source_new () : g_timeout_source_new (i % 3);
      /* One priority for all: a lower one would starve behind them. */
      g_source_set_priority (s, G_PRIORITY_DEFAULT);
      g_source_set_callback (s, burst_source_cb, &srcs[i], NULL);
      g_source_attach (s, NULL);
      g_source_unref (s);
    }

  double t0 = now_s ();
  double end = t0 + 60 * time_scale;
  while (b->completed < BURST_N && now_s () < end)
    g_main_context_iteration (NULL, TRUE);
  double took = now_s () - t0;
  drain (50);

  g_test_message ("1000 statements in %.3f s, at most %u in flight; per source "
                  "%u %u %u %u %u %u %u %u", took, b->max_in_flight,
                  b->by_source[0], b->by_source[1], b->by_source[2], b->by_source[3],
                  b->by_source[4], b->by_source[5], b->by_source[6], b->by_source[7]);
  g_assert_cmpuint (b->submitted, ==, BURST_N);
  g_assert_cmpuint (b->completed, ==, BURST_N);
  for (guint i = 0; i < BURST_N; i++)
    g_assert_cmpuint (b->ops[i].calls, ==, 1);
  g_assert_cmpuint (b->errors, ==, 0);
  g_assert_cmpuint (b->wrong, ==, 0);
  g_assert_cmpuint (b->out_of_order, ==, 0);
  /* It really was a pipeline, fed from every source. */
  g_assert_cmpuint (b->max_in_flight, >, 10);
  for (guint i = 0; i < 8; i++)
    g_assert_cmpuint (b->by_source[i], >, 0);
  g_assert_cmpuint (in_flight (b->conn), ==, 0);

  g_rand_free (b->rand);
  g_object_unref (b->conn);
  g_free (b);
}

/* ===================================================================
 * 2. an error mid-pipeline fails only its statement
 * =================================================================== */

static void
test_pipeline_error (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  Call calls[30] = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      if (i == 7 || i == 20)
        submit (conn, &calls[i], "SELECT 1/0", NULL, NULL);
      else if (i == 13)
        submit (conn, &calls[i], "SELEC 1", NULL, NULL);
      else if (i == 14)
        submit (conn, &calls[i], "SELECT $1::int / $2::int", g_variant_new ("(ii)", 1, 0), NULL);
      else
        submit (conn, &calls[i], "SELECT $1::int", g_variant_new_int32 ((gint32) i), NULL);
    }
  wait_calls (calls, G_N_ELEMENTS (calls), 10 * time_scale);
  drain (50);

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      Call *c = &calls[i];
      g_assert_cmpuint (c->calls, ==, 1);
      g_assert_cmpuint (c->seq, ==, calls[0].seq + i);  /* in order */
      if (i == 7 || i == 20 || i == 14)
        {
          g_assert_error (c->error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
          g_assert_cmpstr (dal_error_get_sqlstate (c->error), ==, "22012");
        }
      else if (i == 13)
        {
          g_assert_error (c->error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
          g_assert_cmpstr (dal_error_get_sqlstate (c->error), ==, "42601");
        }
      else
        assert_call_int (c, i);
      call_clear (c);
    }
  /* Each statement was its own implicit transaction: nothing is left open. */
  g_autofree char *ts = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (ts, ==, "idle");
  g_autofree char *v = query_value (conn, "SELECT 'still fine'", NULL);
  g_assert_cmpstr (v, ==, "still fine");
}

/* ===================================================================
 * 3. cancellation
 * =================================================================== */

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static gint polled_fds (GMainContext *ctx);

static void
test_cancel_running (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  int pid = backend_pid (conn);
  gint polled = polled_fds (g_main_context_default ());
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Call sleep_call = { 0 }, after = { 0 };

  /* 10 s, scaled like the bounds below so that they stay short of it. */
  g_autofree char *sleep_sql = g_strdup_printf ("SELECT pg_sleep(%g)", 10 * time_scale);
  double t0 = now_s ();
  submit (conn, &sleep_call, sleep_sql, NULL, cancellable);
  drain (20);  /* let it be sent */
  g_assert_true (wait_backend_sleeping (pid, TRUE, 5 * time_scale));

  double tc = now_s ();
  g_cancellable_cancel (cancellable);
  wait_calls (&sleep_call, 1, 5 * time_scale);
  g_test_message ("cancelled after %.3f s; callback %.3f s after the cancel",
                  tc - t0, sleep_call.at - tc);
  g_assert_error (sleep_call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (sleep_call.at - tc, <, 0.25 * time_scale);

  /* The cancel reached the server: the backend stops sleeping long before
   * its 10 s are up. */
  g_assert_true (wait_backend_sleeping (pid, FALSE, 3 * time_scale));
  g_assert_cmpfloat (now_s () - t0, <, 6 * time_scale);

  /* The same connection goes on. */
  submit (conn, &after, "SELECT $1::int", g_variant_new_int32 (42), NULL);
  wait_calls (&after, 1, 5 * time_scale);
  assert_call_int (&after, 42);
  g_assert_cmpint (backend_pid (conn), ==, pid);
  g_autofree char *v = query_value (conn, "SELECT 'after cancel'", NULL);
  g_assert_cmpstr (v, ==, "after cancel");

  /* Later on the same connection, the server's own statement_timeout is a
   * timeout, not "a cancel request meant for the statement before it". */
  g_autoptr (GError) error = NULL;
  dal_connection_execute (conn, "SET statement_timeout = '100ms'", NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT pg_sleep(2)", NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "57014");
  g_clear_error (&error);
  dal_connection_execute (conn, "RESET statement_timeout", NULL, NULL, &error);
  g_assert_no_error (error);
  drain (50);
  g_assert_cmpuint (sleep_call.calls, ==, 1);
  g_assert_cmpuint (in_flight (conn), ==, 0);
  /* The end of the cancel request was watched while it was on its way,
   * and is not any more. */
  g_assert_cmpint (polled_fds (g_main_context_default ()), ==, polled);
  call_clear (&sleep_call);
  call_clear (&after);
}

static void
test_cancel_queued (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  int pid = backend_pid (conn);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Call first = { 0 }, queued = { 0 }, last = { 0 }, after = { 0 };

  /* The second statement waits behind the first when the caller gives up
   * on it; once it runs, the server must be told to stop it. */
  double t0 = now_s ();
  submit (conn, &first, "SELECT pg_sleep(0.5)::text || 'first'", NULL, NULL);
  submit (conn, &queued, "SELECT pg_sleep(10)", NULL, cancellable);
  submit (conn, &last, "SELECT $1::int", g_variant_new_int32 (3), NULL);
  GSource *t = g_timeout_source_new (100);
  g_source_set_callback (t, cancel_cb, cancellable, NULL);
  g_source_attach (t, NULL);
  g_source_unref (t);

  wait_calls (&queued, 1, 5 * time_scale);
  g_assert_error (queued.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (queued.at - t0, <, 0.1 + 0.25 * time_scale);
  g_assert_cmpuint (first.calls, ==, 0);  /* it was still queued */

  wait_calls (&first, 1, 5 * time_scale);
  wait_calls (&last, 1, 5 * time_scale);
  g_assert_no_error (first.error);
  g_assert_cmpstr (dal_result_get_string (first.result, 0, 0, NULL), ==, "first");
  assert_call_int (&last, 3);
  g_test_message ("first after %.3f s, last after %.3f s", first.at - t0, last.at - t0);
  /* The cancelled statement did not hold the connection for 10 s. */
  g_assert_cmpfloat (last.at - t0, <, 3 * time_scale);
  g_assert_cmpuint (queued.seq, <, first.seq);
  g_assert_cmpuint (first.seq, <, last.seq);
  g_assert_true (wait_backend_sleeping (pid, FALSE, 1 * time_scale));

  submit (conn, &after, "SELECT $1::int", g_variant_new_int32 (4), NULL);
  wait_calls (&after, 1, 5 * time_scale);
  assert_call_int (&after, 4);
  drain (50);
  g_assert_cmpuint (queued.calls, ==, 1);
  call_clear (&first);
  call_clear (&queued);
  call_clear (&last);
  call_clear (&after);
}

static gpointer
cancel_later_thread (gpointer user_data)
{
  g_usleep (300000);
  g_cancellable_cancel (user_data);
  return NULL;
}

static void
test_cancel_blocking (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  int pid = backend_pid (conn);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  double t0 = now_s ();
  GThread *th = g_thread_new ("cancel", cancel_later_thread, cancellable);
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT pg_sleep(10)", NULL,
                                                  cancellable, &error);
  double took = now_s () - t0;
  g_thread_join (th);
  g_test_message ("blocking statement cancelled after %.3f s", took);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (took, >=, 0.29);
  g_assert_cmpfloat (took, <, 0.3 + 1.0 * time_scale);
  g_assert_true (wait_backend_sleeping (pid, FALSE, 1 * time_scale));
  g_autofree char *v = query_value (conn, "SELECT 'after blocking cancel'", NULL);
  g_assert_cmpstr (v, ==, "after blocking cancel");
}

/* A cancel request must not hit the statement the caller starts next:
 * libpq's blocking PQcancel() waits until the server has acted on the
 * request for exactly this reason, and pgasync, which sends it from a
 * thread, must hold the next statement back until then. */
typedef struct
{
  DalConnection *conn;
  Call sleep_call;
  Call next;
} CancelThenNext;

static void
cancelled_then_next (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CancelThenNext *ctn = user_data;
  call_done (source, result, &ctn->sleep_call);
  /* At once, from the callback. */
  submit (ctn->conn, &ctn->next, "SELECT 7 FROM pg_sleep(0.05)", NULL, NULL);
}

static void
test_cancel_next_statement_safe (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  g_autoptr (DalConnection) timed = open_ok ("command_timeout=0.2");

  for (guint round = 0; round < 10; round++)
    {
      /* Async, cancelled by the caller, the next one started from the
       * callback. */
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      CancelThenNext ctn = { .conn = conn };
      dal_connection_query_async (conn, "SELECT pg_sleep(10)", NULL, cancellable,
                                  cancelled_then_next, &ctn);
      GSource *t = g_timeout_source_new (150);
      g_source_set_callback (t, cancel_cb, cancellable, NULL);
      g_source_attach (t, NULL);
      g_source_unref (t);
      wait_calls (&ctn.sleep_call, 1, 5 * time_scale);
      wait_calls (&ctn.next, 1, 5 * time_scale);
      g_assert_error (ctn.sleep_call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      if (ctn.next.error != NULL)
        g_test_message ("round %u: %s", round, ctn.next.error->message);
      assert_call_int (&ctn.next, 7);
      call_clear (&ctn.sleep_call);
      call_clear (&ctn.next);

      /* Blocking, timed out, the next one right after. */
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) r = dal_connection_query (timed, "SELECT pg_sleep(5)", NULL,
                                                      NULL, &error);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
      g_autofree char *v = query_value (timed, "SELECT 8 FROM pg_sleep(0.05)", NULL);
      g_assert_cmpstr (v, ==, "8");
    }
  drain (50);
}

/* ===================================================================
 * 4. command timeout
 * =================================================================== */

static void
test_command_timeout (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok ("command_timeout=0.5");
  Call slow = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

  double t0 = now_s ();
  submit (conn, &slow, "SELECT pg_sleep(5)", NULL, NULL);
  submit (conn, &b, "SELECT $1::int", g_variant_new_int32 (2), NULL);
  submit (conn, &c, "SELECT $1::int", g_variant_new_int32 (3), NULL);
  wait_calls (&slow, 1, 5 * time_scale);
  g_test_message ("timed out after %.3f s: %s", slow.at - t0, slow.error->message);
  g_assert_error (slow.error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_assert_cmpstr (dal_error_get_sqlstate (slow.error), ==, "57014");
  g_assert_cmpfloat (slow.at - t0, >=, 0.45);
  g_assert_cmpfloat (slow.at - t0, <, 0.5 + 0.5 * time_scale);

  /* The statements pipelined behind it are not hurt. */
  wait_calls (&c, 1, 5 * time_scale);
  assert_call_int (&b, 2);
  assert_call_int (&c, 3);

  /* And the connection goes on. */
  submit (conn, &d, "SELECT $1::int", g_variant_new_int32 (4), NULL);
  wait_calls (&d, 1, 5 * time_scale);
  assert_call_int (&d, 4);
  call_clear (&slow);
  call_clear (&b);
  call_clear (&c);
  call_clear (&d);
}

/* The timeout is per statement: statements that each take less than it
 * pass, however long they waited behind each other in the pipeline. */
static void
test_command_timeout_per_statement (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok ("command_timeout=0.5");
  Call calls[4] = { 0 };

  double t0 = now_s ();
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    submit (conn, &calls[i], "SELECT pg_sleep(0.25)::text || 'ok'", NULL, NULL);
  wait_calls (calls, G_N_ELEMENTS (calls), 10 * time_scale);
  g_test_message ("4 x 0.25 s in %.3f s", calls[3].at - t0);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      if (calls[i].error != NULL)
        g_test_message ("statement %u: %s", i, calls[i].error->message);
      g_assert_no_error (calls[i].error);
      g_assert_cmpstr (dal_result_get_string (calls[i].result, 0, 0, NULL), ==, "ok");
      call_clear (&calls[i]);
    }
  g_assert_cmpfloat (calls[3].at - t0, >=, 0.95);

  /* Blocking calls: the same deadline, the same error; usable after. */
  g_autoptr (GError) error = NULL;
  t0 = now_s ();
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT pg_sleep(5)", NULL, NULL, &error);
  double took = now_s () - t0;
  g_assert_null (r);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "57014");
  g_assert_cmpfloat (took, >=, 0.45);
  g_assert_cmpfloat (took, <, 0.5 + 0.5 * time_scale);
  g_autofree char *v = query_value (conn, "SELECT pg_sleep(0.3)::text || 'blocking ok'", NULL);
  g_assert_cmpstr (v, ==, "blocking ok");
}

/* ===================================================================
 * 5. connecting: deadlines, multi-host, slow names
 * =================================================================== */

static void
test_connect_timeout (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  HungHost *hung = hung_host_new ();
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%u", hung->port);
  g_autofree char *where = g_strdup_printf ("127.0.0.1:%u", hung->port);

  /* Async, with TLS: the server never answers the TLS request. */
  {
    g_autofree char *q = tls_query ("verify-full", "connect_timeout=1.5");
    g_autofree char *url = url_at (hp, q);
    g_autoptr (GError) error = NULL;
    double took = 0;
    DalConnection *conn = open_async_wait (url, &error, &took);
    g_assert_null (conn);
    g_test_message ("async: %.3f s: %s", took, error->message);
    g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECT_TIMEOUT);
    g_assert_cmpfloat (took, >=, 1.35);
    g_assert_cmpfloat (took, <=, 1.5 + 0.15 * time_scale);
    g_assert_nonnull (strstr (error->message, where));
    g_assert_nonnull (strstr (error->message, "phase: TLS handshake"));
    g_assert_null (strstr (error->message, dal_test_env ("DAL_TEST_PG_PASSWORD")));
  }

  /* Blocking, without TLS: the startup packet gets no answer. */
  {
    g_autofree char *url = url_at (hp, "sslmode=disable&connect_timeout=1.5");
    g_autoptr (GError) error = NULL;
    double t0 = now_s ();
    DalConnection *conn = dal_connection_open (url, NULL, &error);
    double took = now_s () - t0;
    g_assert_null (conn);
    g_test_message ("blocking: %.3f s: %s", took, error->message);
    g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECT_TIMEOUT);
    g_assert_cmpfloat (took, >=, 1.35);
    g_assert_cmpfloat (took, <=, 1.5 + 0.15 * time_scale);
    g_assert_nonnull (strstr (error->message, where));
    /* The startup packet goes unanswered: documented as the
     * "authentication" phase (docs/troubleshooting.md). */
    g_assert_nonnull (strstr (error->message, "(phase: authentication;"));
  }
  g_assert_cmpuint (hung->accepted->len, >=, 1);
  hung_host_free (hung);
}

static void
test_connect_multi_host (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  HungHost *hung = hung_host_new ();
  const char *port = dal_test_env ("DAL_TEST_PG_PORT");
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%u,127.0.0.1:%s", hung->port, port);
  /* connect_timeout=2 (longer where everything is slower, e.g. valgrind,
   * so that the second host's share still covers its handshake). */
  double budget = 2.0 * time_scale, share = budget / 2;
  g_autofree char *timeout = g_strdup_printf ("connect_timeout=%g", budget);
  g_autofree char *q = tls_query ("verify-full", timeout);
  g_autofree char *url = url_at (hp, q);
  g_autoptr (GError) error = NULL;
  double took = 0;

  g_autoptr (DalConnection) conn = open_async_wait (url, &error, &took);
  g_test_message ("connected to the second host after %.3f s (connect_timeout=%g)",
                  took, budget);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  /* The hung host had its share (half) of the budget, not all of it.
   * (Under valgrind the second host's handshake alone takes seconds:
   * there, connecting at all within the budget is the proof.) */
  g_assert_cmpfloat (took, >=, share * 0.95);
  if (!dal_test_under_valgrind ())
    {
      g_assert_cmpfloat (took, <, share + 0.5 * time_scale);
      g_assert_cmpfloat (took, <, budget * 0.95);
    }
  g_autofree char *p = dal_connection_get_info (conn, "port");
  g_assert_cmpstr (p, ==, port);
  g_autofree char *v = query_value (conn, "SELECT 'second host'", NULL);
  g_assert_cmpstr (v, ==, "second host");
  g_assert_cmpuint (hung->accepted->len, >=, 1);
  hung_host_free (hung);
}

typedef struct
{
  GArray *at;       /* gint64: when each tick ran */
  gint64 worst;     /* the worst lateness of a tick */
} Ticker;

static gboolean
tick (gpointer user_data)
{
  Ticker *t = user_data;
  gint64 now = g_get_monotonic_time ();
  g_array_append_val (t->at, now);
  return G_SOURCE_CONTINUE;
}

/* The worst lateness (µs) of the ticks that ran before @until. */
static gint64
worst_lateness (Ticker *t, gint64 until)
{
  gint64 worst = 0;
  for (guint i = 1; i < t->at->len; i++)
    {
      gint64 a = g_array_index (t->at, gint64, i - 1), b = g_array_index (t->at, gint64, i);
      if (a >= until)
        break;
      worst = MAX (worst, b - a - 10000);
    }
  return worst;
}

static void
test_connect_slow_dns (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *port = dal_test_env ("DAL_TEST_PG_PORT");
  g_autofree char *hp = g_strdup_printf (SLOW_NAME ":%s", port);
  /* The certificate names localhost, not SLOW_NAME: verify the CA only. */
  g_autofree char *q = tls_query ("verify-ca", "connect_timeout=10");
  g_autofree char *url = url_at (hp, q);
  fake_resolver->delay_ms = 1000;
  guint lookups = fake_resolver->lookups;

  Ticker ticker = { g_array_new (FALSE, FALSE, sizeof (gint64)), 0 };
  guint id = g_timeout_add (10, tick, &ticker);
  g_autoptr (GError) error = NULL;
  double took = 0;
  g_autoptr (DalConnection) conn = open_async_wait (url, &error, &took);
  g_source_remove (id);

  gint64 worst = worst_lateness (&ticker, G_MAXINT64);
  gint64 worst_dns = worst_lateness (&ticker, fake_resolver->answered_at);
  g_test_message ("connected in %.3f s; %u ticks, worst lateness %.1f ms (while "
                  "resolving: %.1f ms; the open_async call itself: %.1f ms)",
                  took, ticker.at->len, worst / 1000.0, worst_dns / 1000.0,
                  open_call_s * 1000);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  g_assert_cmpuint (fake_resolver->lookups, ==, lookups + 1);
  g_assert_cmpfloat (took, >=, 0.99);           /* it did wait for the name */
  g_assert_cmpfloat (took, <, 1.0 + 2.0 * time_scale);
  g_assert_cmpuint (ticker.at->len, >=, 40);
  /* The loop went on while the name was being resolved... */
  g_assert_cmpint (worst_dns, <, 100000 * time_scale);
  /* ...and through the whole connect.  (Under valgrind, libpq's own CPU
   * work in a connect step, SCRAM's key derivation and the TLS handshake,
   * takes a second or more: there only the resolution is held to it.) */
  if (!dal_test_under_valgrind ())
    g_assert_cmpint (worst, <, 100000 * time_scale);
  g_array_unref (ticker.at);
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  g_assert_cmpstr (tls, ==, "on");
  g_autofree char *v = query_value (conn, "SELECT 'resolved'", NULL);
  g_assert_cmpstr (v, ==, "resolved");

  /* A name the resolver does not know fails at once, as not found. */
  g_autofree char *bad_url = url_at ("nosuchhost.test:5432", q);
  g_autoptr (GError) bad_error = NULL;
  g_autoptr (DalConnection) bad = open_async_wait (bad_url, &bad_error, &took);
  g_assert_null (bad);
  g_assert_error (bad_error, DAL_ERROR, DAL_ERROR_HOST_NOT_FOUND);
  g_assert_cmpfloat (took, <, 0.5 * time_scale);
}

/* ===================================================================
 * 6. the backend is terminated under a pipeline
 * =================================================================== */

static void
test_terminate_backend (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  int pid = backend_pid (conn);
  Call calls[6] = { 0 };

  submit (conn, &calls[0], "SELECT pg_sleep(5)", NULL, NULL);
  for (guint i = 1; i < G_N_ELEMENTS (calls); i++)
    submit (conn, &calls[i], "SELECT $1::int", g_variant_new_int32 ((gint32) i), NULL);
  drain (20);
  g_assert_true (wait_backend_sleeping (pid, TRUE, 5 * time_scale));

  g_autofree char *sql = g_strdup_printf ("SELECT pg_terminate_backend(%d)::text", pid);
  g_autofree char *ok = dal_test_admin_query (sql);
  g_assert_cmpstr (ok, ==, "true");
  double t0 = now_s ();
  wait_calls (calls, G_N_ELEMENTS (calls), 5 * time_scale);
  double took = now_s () - t0;
  drain (100);

  g_test_message ("all %u failed %.3f s after the terminate: %s",
                  (guint) G_N_ELEMENTS (calls), took, calls[0].error->message);
  g_assert_cmpfloat (took, <, 1.0 * time_scale);
  g_assert_error (calls[0].error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_assert_cmpstr (dal_error_get_sqlstate (calls[0].error), ==, "57P01");
  g_assert_true (dal_error_is_retryable (calls[0].error));
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_assert_cmpuint (calls[i].calls, ==, 1);
      g_assert_error (calls[i].error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
      g_assert_cmpuint (calls[i].seq, ==, calls[0].seq + i);
      call_clear (&calls[i]);
    }

  /* The connection takes no more statements, and says so at once. */
  Call late = { 0 };
  t0 = now_s ();
  submit (conn, &late, "SELECT 1", NULL, NULL);
  wait_calls (&late, 1, 5 * time_scale);
  g_assert_cmpfloat (late.at - t0, <, 0.1 * time_scale);
  g_assert_error (late.error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_assert_nonnull (strstr (late.error->message, "cannot take statements"));
  call_clear (&late);

  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_assert_cmpuint (in_flight (conn), ==, 0);
  g_assert_true (dal_connection_close (conn, NULL, NULL));
}

/* ===================================================================
 * 7. closing with statements in flight
 * =================================================================== */

static void
test_close_in_flight (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  Call calls[6] = { 0 };

  submit (conn, &calls[0], "SELECT pg_sleep(5)", NULL, NULL);
  for (guint i = 1; i < G_N_ELEMENTS (calls); i++)
    submit (conn, &calls[i], "SELECT $1::int", g_variant_new_int32 ((gint32) i), NULL);
  drain (50);

  double t0 = now_s ();
  g_assert_true (dal_connection_close (conn, NULL, NULL));
  g_assert_true (dal_connection_is_closed (conn));
  wait_calls (calls, G_N_ELEMENTS (calls), 2 * time_scale);
  g_assert_cmpfloat (now_s () - t0, <, 0.5 * time_scale);
  drain (100);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_assert_cmpuint (calls[i].calls, ==, 1);
      /* Nothing could finish behind pg_sleep(5). */
      g_assert_error (calls[i].error, DAL_ERROR, DAL_ERROR_CLOSED);
      call_clear (&calls[i]);
    }
  g_assert_true (dal_connection_close (conn, NULL, NULL));  /* harmless */
  Call late = { 0 };
  submit (conn, &late, "SELECT 1", NULL, NULL);
  wait_calls (&late, 1, 2);
  g_assert_error (late.error, DAL_ERROR, DAL_ERROR_CLOSED);
  call_clear (&late);
}

typedef struct
{
  DalConnection *conn;
  Call calls[12];
  guint close_at;
} CloseFromCallback;

static void
close_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CloseFromCallback *cc = user_data;
  call_done (source, result, &cc->calls[cc->close_at]);
  g_assert_true (dal_connection_close (cc->conn, NULL, NULL));
}

static void
test_close_from_callback (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  CloseFromCallback cc = { .conn = open_ok (NULL), .close_at = 3 };

  for (guint i = 0; i < G_N_ELEMENTS (cc.calls); i++)
    {
      const char *sql = i == 6 ? "SELECT 6 FROM pg_sleep(5)" : "SELECT $1::int";
      GVariant *p = i == 6 ? NULL : g_variant_new_int32 ((gint32) i);
      if (i == cc.close_at)
        dal_connection_query_async (cc.conn, sql, p, NULL, close_cb, &cc);
      else
        submit (cc.conn, &cc.calls[i], sql, p, NULL);
    }
  wait_calls (cc.calls, G_N_ELEMENTS (cc.calls), 3 * time_scale);
  drain (100);
  guint results = 0, closed = 0;
  for (guint i = 0; i < G_N_ELEMENTS (cc.calls); i++)
    {
      Call *c = &cc.calls[i];
      g_assert_cmpuint (c->calls, ==, 1);
      if (i <= cc.close_at)
        assert_call_int (c, i);
      else if (c->error != NULL)
        {
          g_assert_error (c->error, DAL_ERROR, DAL_ERROR_CLOSED);
          closed++;
        }
      else
        {
          assert_call_int (c, i);
          results++;
        }
      call_clear (c);
    }
  g_test_message ("after the close: %u results, %u closed", results, closed);
  /* Those behind pg_sleep(5) cannot have finished. */
  g_assert_cmpuint (closed, >=, G_N_ELEMENTS (cc.calls) - 6);
  g_object_unref (cc.conn);
}

static void
close_async_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (dal_connection_close_finish (DAL_CONNECTION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
test_close_async_in_flight (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  DalConnection *conn = open_ok (NULL);
  Call calls[4] = { 0 };
  submit (conn, &calls[0], "SELECT pg_sleep(5)", NULL, NULL);
  for (guint i = 1; i < G_N_ELEMENTS (calls); i++)
    submit (conn, &calls[i], "SELECT 1", NULL, NULL);
  gboolean closed = FALSE;
  dal_connection_close_async (conn, NULL, close_async_done, &closed);
  /* Dropping our reference now is fine: the pending calls keep it. */
  g_object_unref (conn);
  dal_test_wait_for (&closed, 2000);
  wait_calls (calls, G_N_ELEMENTS (calls), 2 * time_scale);
  drain (100);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_assert_cmpuint (calls[i].calls, ==, 1);
      g_assert_error (calls[i].error, DAL_ERROR, DAL_ERROR_CLOSED);
      call_clear (&calls[i]);
    }
}

/* ===================================================================
 * 8. blocking calls among async ones
 * =================================================================== */

typedef struct
{
  DalConnection *conn;
  Call call;
  char *nested;
} Nested;

static void
nested_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Nested *n = user_data;
  call_done (source, result, &n->call);
  /* A blocking statement from inside a callback. */
  n->nested = query_value (n->conn, "SELECT $1::text || '-nested'", g_variant_new_string ("in"));
}

static void
test_blocking_among_async (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  Call calls[40] = { 0 };

  for (guint i = 0; i < 20; i++)
    submit (conn, &calls[i], "SELECT $1::int, pg_sleep(0.005)", g_variant_new_int32 ((gint32) i), NULL);
  g_assert_cmpuint (in_flight (conn), ==, 20);
  g_autofree char *b1 = query_value (conn, "SELECT $1::text || 'x'", g_variant_new_string ("b"));
  g_assert_cmpstr (b1, ==, "bx");
  for (guint i = 20; i < 40; i++)
    submit (conn, &calls[i], "SELECT $1::int", g_variant_new_int32 ((gint32) i), NULL);
  g_autofree char *b2 = query_value (conn, "SELECT $1::int * 2", g_variant_new_int32 (21));
  g_assert_cmpstr (b2, ==, "42");

  /* Blocking from inside a callback, with more async behind it. */
  Nested n = { .conn = conn };
  dal_connection_query_async (conn, "SELECT $1::int", g_variant_new_int32 (99), NULL, nested_cb, &n);
  Call tail = { 0 };
  submit (conn, &tail, "SELECT $1::int", g_variant_new_int32 (100), NULL);

  wait_calls (calls, G_N_ELEMENTS (calls), 10 * time_scale);
  wait_calls (&tail, 1, 10 * time_scale);
  drain (50);
  /* Every call completed once, and the callbacks came exactly in start
   * order: calls[0..39], then the nesting one, then the tail. */
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      assert_call_int (&calls[i], i);
      g_assert_cmpuint (calls[i].seq, ==, calls[0].seq + i);
      call_clear (&calls[i]);
    }
  assert_call_int (&n.call, 99);
  g_assert_cmpuint (n.call.seq, ==, calls[0].seq + G_N_ELEMENTS (calls));
  g_assert_cmpstr (n.nested, ==, "in-nested");
  assert_call_int (&tail, 100);
  g_assert_cmpuint (tail.seq, ==, n.call.seq + 1);
  g_assert_cmpuint (in_flight (conn), ==, 0);
  call_clear (&n.call);
  call_clear (&tail);
  g_free (n.nested);
}

/* Polls the server until backend @pid's activity (backend_activity())
 * is exactly @expected. */
static gboolean
wait_backend_activity (int pid, const char *expected, double timeout_s)
{
  double end = now_s () + timeout_s;
  for (;;)
    {
      g_autofree char *a = backend_activity (pid);
      if (strcmp (a, expected) == 0)
        return TRUE;
      if (now_s () > end)
        {
          g_test_message ("backend %d: %s, expected %s", pid, a, expected);
          return FALSE;
        }
      g_usleep (20000);
    }
}

/* Completion order across a blocking call: the async statements the
 * blocking call read on its way are delivered before those started after
 * it, even when the later ones' results are already waiting on the
 * socket when the main loop next runs.  Nothing iterates the main loop
 * until every callback is due: the server tells when it has run the last
 * of the later statements, and each statement ends with a Sync whose
 * answer the server flushes before it reads the next one, so by then the
 * results of the others are on this side of the socket. */
#define ORDER_LAST_SQL "SELECT $1::int AS last_after"

static void
test_order_across_blocking (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  int pid = backend_pid (conn);
  Call before[5] = { 0 }, after[5] = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    submit (conn, &before[i], "SELECT $1::int", g_variant_new_int32 ((gint32) i), NULL);
  g_autofree char *v = query_value (conn, "SELECT 'blocking'", NULL);
  g_assert_cmpstr (v, ==, "blocking");
  for (guint i = 0; i < G_N_ELEMENTS (after); i++)
    submit (conn, &after[i], i + 1 < G_N_ELEMENTS (after) ? "SELECT $1::int" : ORDER_LAST_SQL,
            g_variant_new_int32 ((gint32) (10 + i)), NULL);
  g_assert_true (wait_backend_activity (pid, "idle:" ORDER_LAST_SQL, 5 * time_scale));
  /* No callback ran inside a call, nor without the main loop. */
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    {
      g_assert_cmpuint (before[i].calls, ==, 0);
      g_assert_cmpuint (after[i].calls, ==, 0);
    }

  wait_calls (before, G_N_ELEMENTS (before), 5 * time_scale);
  wait_calls (after, G_N_ELEMENTS (after), 5 * time_scale);
  drain (50);
  /* Every call completed once, and the ten callbacks came exactly in
   * start order: before[0..4], then after[0..4]. */
  g_test_message ("completion order: before %u..%u, after %u..%u", before[0].seq,
                  before[4].seq, after[0].seq, after[4].seq);
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    {
      assert_call_int (&before[i], i);
      assert_call_int (&after[i], 10 + i);
      g_assert_cmpuint (before[i].seq, ==, before[0].seq + i);
      g_assert_cmpuint (after[i].seq, ==, before[0].seq + G_N_ELEMENTS (before) + i);
    }
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    {
      call_clear (&before[i]);
      call_clear (&after[i]);
    }
}

/* ===================================================================
 * 9. PgBouncer in transaction mode
 * =================================================================== */

static const char *
bouncer_port_or_skip (void)
{
  const char *port = g_getenv ("DAL_TEST_PGBOUNCER_PORT");
  if (port == NULL)
    {
      if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
        g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set (harness run with --no-pgbouncer?)");
      else
        g_test_skip ("no PgBouncer (harness run with --no-pgbouncer)");
    }
  return port;
}

static char *
bouncer_url (const char *extra)
{
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
  g_autofree char *q = g_strdup_printf ("sslmode=disable%s%s", extra != NULL ? "&" : "",
                                        extra != NULL ? extra : "");
  return url_at (hp, q);
}

#define CALLERS 50
#define PER_CALLER 4

typedef struct _Bouncer Bouncer;

typedef struct
{
  Bouncer *b;
  guint id;
  DalConnection *conn;
  guint step;
} Caller;

struct _Bouncer
{
  Caller callers[CALLERS];
  guint opened;
  guint open_errors;
  guint queries;
  guint errors;
  guint wrong;
  guint finished;
  GHashTable *server_pids;
  char *url;
  guint next_open;          /* the next caller to connect */
};

static void caller_next (Caller *c);

static void
caller_query_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Caller *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  c->b->queries++;
  if (r == NULL)
    {
      c->b->errors++;
      g_test_message ("caller %u, statement %u: %s", c->id, c->step, error->message);
    }
  else
    {
      gint64 want = (gint64) c->id * 1000 + c->step;
      if (dal_result_get_int64 (r, 0, 0, NULL) != want)
        c->b->wrong++;
      g_hash_table_add (c->b->server_pids,
                        g_strdup (dal_result_get_string (r, 0, 1, NULL)));
    }
  c->step++;
  caller_next (c);
}

/* Four different statements, one after the other, each with parameters
 * (what a statement cache would prepare). */
static void
caller_next (Caller *c)
{
  static const char * const sql[PER_CALLER] = {
    "SELECT $1::int, pg_backend_pid()",
    "SELECT $1::bigint + $2::int, pg_backend_pid()",
    "SELECT count(*) + $1::int - 1, pg_backend_pid() FROM generate_series(1, 1)",
    "SELECT ($1::text)::int, pg_backend_pid()",
  };
  if (c->step == PER_CALLER)
    {
      c->b->finished++;
      return;
    }
  gint32 v = (gint32) (c->id * 1000 + c->step);
  GVariant *p = c->step == 1 ? g_variant_new ("(xi)", (gint64) v - 7, 7)
                : c->step == 3 ? g_variant_new_take_string (g_strdup_printf ("%d", v))
                : g_variant_new_int32 (v);
  dal_connection_query_async (c->conn, sql[c->step], p, NULL, caller_query_done, c);
}

static void caller_opened (GObject *source, GAsyncResult *result, gpointer user_data);

static void
caller_open_next (Bouncer *b)
{
  if (b->next_open < CALLERS)
    {
      Caller *c = &b->callers[b->next_open++];
      dal_connection_open_async (b->url, NULL, caller_opened, c);
    }
}

static void
caller_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Caller *c = user_data;
  g_autoptr (GError) error = NULL;
  c->conn = dal_connection_open_finish (result, &error);
  c->b->opened++;
  caller_open_next (c->b);
  if (c->conn == NULL)
    {
      c->b->open_errors++;
      c->b->finished++;
      g_test_message ("caller %u could not connect: %s", c->id, error->message);
      return;
    }
  caller_next (c);
}

/* The server backends behind PgBouncer's pool for user dal, by PID, from
 * its admin console (SHOW SERVERS; simple protocol only, so plain libpq). */
static GHashTable *
bouncer_server_pids (void)
{
  const char *kw[] = { "hostaddr", "port", "dbname", "user", "password", "sslmode", NULL };
  const char *val[] = { "127.0.0.1", dal_test_env ("DAL_TEST_PGBOUNCER_PORT"), "pgbouncer",
                        dal_test_env ("DAL_TEST_PG_USER"),
                        dal_test_env ("DAL_TEST_PG_PASSWORD"), "disable", NULL };
  PGconn *pc = PQconnectdbParams (kw, val, 0);
  if (PQstatus (pc) != CONNECTION_OK)
    g_error ("PgBouncer admin console: %s", PQerrorMessage (pc));
  PGresult *r = PQexec (pc, "SHOW SERVERS");
  g_assert_cmpint (PQresultStatus (r), ==, PGRES_TUPLES_OK);
  int c_db = PQfnumber (r, "database"), c_user = PQfnumber (r, "user");
  int c_pid = PQfnumber (r, "remote_pid");
  g_assert_cmpint (c_db, >=, 0);
  g_assert_cmpint (c_pid, >=, 0);
  GHashTable *pids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < PQntuples (r); i++)
    if (strcmp (PQgetvalue (r, i, c_db), dal_test_env ("DAL_TEST_PG_DATABASE")) == 0
        && strcmp (PQgetvalue (r, i, c_user), dal_test_env ("DAL_TEST_PG_USER")) == 0)
      g_hash_table_add (pids, g_strdup (PQgetvalue (r, i, c_pid)));
  PQclear (r);
  PQfinish (pc);
  return pids;
}

/* pg_prepared_statements is per session: hold one transaction open per
 * pooled server connection (pool size 5), so that each of these lands on
 * its own server backend, and look in each; then check against PgBouncer's
 * own list that no server backend was missed. */
static void
assert_no_prepared_statements_behind_bouncer (void)
{
  enum { POOL = 5 };
  g_autofree char *url = bouncer_url (NULL);
  DalConnection *conns[POOL];
  Call begin[POOL] = { 0 }, look[POOL] = { 0 }, end[POOL] = { 0 };

  for (guint i = 0; i < POOL; i++)
    {
      g_autoptr (GError) error = NULL;
      conns[i] = open_async_wait (url, &error, NULL);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < POOL; i++)
    {
      submit (conns[i], &begin[i], "BEGIN", NULL, NULL);
      submit (conns[i], &look[i],
              "SELECT pg_backend_pid()::text, "
              "(SELECT count(*) FROM pg_prepared_statements)::int, "
              "(SELECT string_agg(name, ',') FROM pg_prepared_statements)", NULL, NULL);
    }
  wait_calls (look, POOL, 60 * time_scale);

  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint total = 0;
  for (guint i = 0; i < POOL; i++)
    {
      g_assert_no_error (begin[i].error);
      g_assert_no_error (look[i].error);
      const char *pid = dal_result_get_string (look[i].result, 0, 0, NULL);
      gint64 n = dal_result_get_int64 (look[i].result, 0, 1, NULL);
      g_test_message ("server backend %s: %" G_GINT64_FORMAT " prepared statements (%s)",
                      pid, n, dal_result_get_string (look[i].result, 0, 2, NULL));
      total += (guint) n;
      g_hash_table_add (seen, (gpointer) pid);
    }
  /* Five open transactions: five distinct server backends... */
  g_assert_cmpuint (g_hash_table_size (seen), ==, POOL);
  /* ...which are all the backends PgBouncer has for this pool. */
  g_autoptr (GHashTable) servers = bouncer_server_pids ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, servers);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      if (!g_hash_table_contains (seen, key))
        g_test_fail_printf ("PgBouncer server backend %s was not inspected", (char *) key);
    }
  g_assert_cmpuint (g_hash_table_size (servers), >=, 1);
  g_assert_cmpuint (total, ==, 0);

  for (guint i = 0; i < POOL; i++)
    submit (conns[i], &end[i], "ROLLBACK", NULL, NULL);
  wait_calls (end, POOL, 30 * time_scale);
  for (guint i = 0; i < POOL; i++)
    {
      g_assert_no_error (end[i].error);
      call_clear (&begin[i]);
      call_clear (&look[i]);
      call_clear (&end[i]);
      g_object_unref (conns[i]);
    }
}

static void
run_bouncer_callers (const char *extra, const char *want_cache_size)
{
  /* 50 SCRAM handshakes share one main loop: the default connect budget
   * (10 s) is plenty natively.  Under valgrind each handshake costs about
   * a second of CPU on that loop: 50 at once would all finish after a
   * minute, past PgBouncer's client_login_timeout (60 s).  There they
   * connect 8 at a time, without a budget (the statements still run from
   * all 50 concurrently). */
  g_autofree char *timeout = g_strdup_printf ("connect_timeout=%g%s%s",
                                              dal_test_under_valgrind () ? 0 : 10 * time_scale,
                                              extra != NULL ? "&" : "",
                                              extra != NULL ? extra : "");
  Bouncer *b = g_new0 (Bouncer, 1);
  b->url = bouncer_url (timeout);
  b->server_pids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  double t0 = now_s ();
  for (guint i = 0; i < CALLERS; i++)
    b->callers[i] = (Caller) { .b = b, .id = i + 1 };
  for (guint i = 0; i < (dal_test_under_valgrind () ? 8 : CALLERS); i++)
    caller_open_next (b);
  double end = now_s () + (dal_test_under_valgrind () ? 600 : 120 * time_scale);
  while (b->finished < CALLERS && now_s () < end)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("%u callers, %u statements through PgBouncer in %.3f s, on %u "
                  "server backends; %u errors", CALLERS, b->queries, now_s () - t0,
                  g_hash_table_size (b->server_pids), b->errors);

  g_assert_cmpuint (b->finished, ==, CALLERS);
  g_assert_cmpuint (b->open_errors, ==, 0);
  g_assert_cmpuint (b->queries, ==, CALLERS * PER_CALLER);
  g_assert_cmpuint (b->errors, ==, 0);
  g_assert_cmpuint (b->wrong, ==, 0);
  g_assert_cmpuint (g_hash_table_size (b->server_pids), <=, 5);  /* pool size */
  for (guint i = 0; i < CALLERS; i++)
    {
      g_autofree char *size = dal_connection_get_info (b->callers[i].conn, "statement_cache_size");
      g_assert_cmpstr (size, ==, want_cache_size);
      g_object_unref (b->callers[i].conn);
    }
  g_hash_table_unref (b->server_pids);
  g_free (b->url);
  g_free (b);

  assert_no_prepared_statements_behind_bouncer ();
}

static void
test_bouncer_transaction_mode (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  run_bouncer_callers (NULL, "0");
}

static void
test_bouncer_cache_forced_off (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  run_bouncer_callers ("statement_cache_size=100&pooler_mode=transaction", "0");
}

/* The other reading of "50 concurrent callers": 50 main-loop sources over
 * five connections, each pipelining its four statements at once.  (A
 * transaction pooler must keep a client's pipelined statements on one
 * server connection until it has answered them all; PgBouncer does.) */
typedef struct
{
  DalConnection *conn;
  guint id;
  Call calls[PER_CALLER];
} PipeCaller;

static gboolean
pipe_caller_go (gpointer user_data)
{
  PipeCaller *pc = user_data;
  for (guint k = 0; k < PER_CALLER; k++)
    submit (pc->conn, &pc->calls[k], "SELECT $1::int, pg_backend_pid()",
            g_variant_new_int32 ((gint32) (pc->id * 1000 + k)), NULL);
  return G_SOURCE_REMOVE;
}

static void
test_bouncer_pipelined (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (bouncer_port_or_skip () == NULL)
    return;
  enum { CONNS = 5 };
  g_autofree char *url = bouncer_url ("statement_cache_size=100&pooler_mode=transaction");
  DalConnection *conns[CONNS];
  for (guint i = 0; i < CONNS; i++)
    {
      g_autoptr (GError) error = NULL;
      conns[i] = open_async_wait (url, &error, NULL);
      g_assert_no_error (error);
      g_autofree char *size = dal_connection_get_info (conns[i], "statement_cache_size");
      g_assert_cmpstr (size, ==, "0");
    }
  PipeCaller *callers = g_new0 (PipeCaller, CALLERS);
  for (guint i = 0; i < CALLERS; i++)
    {
      callers[i].conn = conns[i % CONNS];
      callers[i].id = i + 1;
      g_idle_add (pipe_caller_go, &callers[i]);
    }
  guint errors = 0;
  for (guint i = 0; i < CALLERS; i++)
    {
      wait_calls (callers[i].calls, PER_CALLER, 60 * time_scale);
      for (guint k = 0; k < PER_CALLER; k++)
        {
          Call *c = &callers[i].calls[k];
          if (c->error != NULL)
            {
              errors++;
              g_test_message ("caller %u, statement %u: %s", i + 1, k, c->error->message);
            }
          else
            assert_call_int (c, (gint64) (i + 1) * 1000 + k);
          call_clear (c);
        }
    }
  g_assert_cmpuint (errors, ==, 0);
  for (guint i = 0; i < CONNS; i++)
    g_object_unref (conns[i]);
  g_free (callers);
  assert_no_prepared_statements_behind_bouncer ();
}

/* ===================================================================
 * 10. the statement cache on a direct connection
 * =================================================================== */

/* How many statements this very session has prepared (with @statement's
 * text, or all).  After DEALLOCATE ALL, the first use of a cached
 * statement may fail once with 26000: then it is asked again. */
static gint64
prepared_count (DalConnection *conn, const char *statement)
{
  for (int attempt = 0;; attempt++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) r = NULL;
      if (statement == NULL)
        r = dal_connection_query (conn, "SELECT count(*) FROM pg_prepared_statements",
                                  NULL, NULL, &error);
      else
        r = dal_connection_query (conn, "SELECT count(*) FROM pg_prepared_statements "
                                  "WHERE statement = $1", g_variant_new_string (statement),
                                  NULL, &error);
      if (attempt == 0 && g_error_matches (error, DAL_ERROR, DAL_ERROR_PREPARED_STATEMENT))
        continue;
      g_assert_no_error (error);
      return dal_result_get_int64 (r, 0, 0, NULL);
    }
}

static void
test_statement_cache_direct (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok ("statement_cache_size=10");
  g_autofree char *size = dal_connection_get_info (conn, "statement_cache_size");
  g_assert_cmpstr (size, ==, "10");
  g_autoptr (GError) error = NULL;

  /* Prepared once, used three times. */
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *v = query_value (conn, "SELECT $1::int + 1", g_variant_new_int32 (i));
      g_assert_cmpint (atoi (v), ==, i + 1);
    }
  {
    g_autoptr (DalResult) r = dal_connection_query (
      conn, "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements "
      "WHERE statement = $1", g_variant_new_string ("SELECT $1::int + 1"), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (dal_result_get_n_rows (r), ==, 1);
    /* dal_<per-process prefix>_<per-process number> */
    g_assert_true (g_regex_match_simple ("^dal_[0-9a-f]{8}_[0-9]+$",
                                         dal_result_get_string (r, 0, 0, NULL), 0, 0));
    g_assert_cmpint (dal_result_get_int64 (r, 0, 1, NULL), ==, 3);
  }

  /* More distinct statements than the cache holds, all in one pipeline:
   * every result right, and never more than 10 prepared on the server. */
  Call calls[25] = { 0 };
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT $1::int + %u", i);
      submit (conn, &calls[i], sql, g_variant_new_int32 (1000), NULL);
    }
  wait_calls (calls, G_N_ELEMENTS (calls), 10 * time_scale);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      assert_call_int (&calls[i], 1000 + i);
      call_clear (&calls[i]);
    }
  gint64 n = prepared_count (conn, NULL);
  g_test_message ("%" G_GINT64_FORMAT " statements prepared after 27 distinct", n);
  g_assert_cmpint (n, <=, 10);
  g_assert_cmpint (n, >=, 5);

  /* A statement the server cannot prepare fails alone. */
  Call bad[3] = { 0 };
  submit (conn, &bad[0], "SELECT $1::int", g_variant_new_int32 (1), NULL);
  submit (conn, &bad[1], "SELEC $1", g_variant_new_int32 (2), NULL);
  submit (conn, &bad[2], "SELECT $1::int", g_variant_new_int32 (3), NULL);
  wait_calls (bad, 3, 10 * time_scale);
  assert_call_int (&bad[0], 1);
  g_assert_error (bad[1].error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (bad[1].error), ==, "42601");
  assert_call_int (&bad[2], 3);
  for (guint i = 0; i < 3; i++)
    call_clear (&bad[i]);
  /* ...and again: it is not in the cache under a name that does not exist. */
  g_autoptr (DalResult) r2 = dal_connection_query (conn, "SELEC $1", g_variant_new_int32 (2),
                                                   NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "42601");
  g_clear_error (&error);

  /* A statement that prepares but fails when run: the prepared statement
   * is still good and is reused, not prepared again. */
  const char *div = "SELECT 10 / $1::int";
  g_autoptr (DalResult) r3 = dal_connection_query (conn, div, g_variant_new_int32 (0), NULL, &error);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "22012");
  g_clear_error (&error);
  g_autofree char *q = query_value (conn, div, g_variant_new_int32 (2));
  g_assert_cmpstr (q, ==, "5");
  g_assert_cmpint (prepared_count (conn, div), ==, 1);

  /* Statements that vanish on the server (DEALLOCATE ALL): a use may fail
   * once (26000), and the connection goes on: the next one prepares again. */
  g_assert_cmpint (dal_connection_execute (conn, "DEALLOCATE ALL", NULL, NULL, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpint (prepared_count (conn, div), ==, 0);
  g_autoptr (DalResult) r4 = dal_connection_query (conn, div, g_variant_new_int32 (5), NULL, &error);
  if (r4 == NULL)
    {
      g_assert_error (error, DAL_ERROR, DAL_ERROR_PREPARED_STATEMENT);
      g_assert_cmpstr (dal_error_get_sqlstate (error), ==, "26000");
      g_clear_error (&error);
    }
  g_autofree char *q2 = query_value (conn, div, g_variant_new_int32 (5));
  g_assert_cmpstr (q2, ==, "2");
  g_assert_cmpint (prepared_count (conn, div), ==, 1);

  /* Through it all the server never held more than the cache. */
  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < 12; i++)
      {
        g_autofree char *sql = g_strdup_printf ("SELECT $1::int * %u", i + 2);
        g_autofree char *v = query_value (conn, sql, g_variant_new_int32 (3));
        g_assert_cmpint (atoi (v), ==, 3 * (i + 2));
      }
  n = prepared_count (conn, NULL);
  g_assert_cmpint (n, <=, 10);
  g_autofree char *ts = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (ts, ==, "idle");
}

/* =================================================================== */

/* ===================================================================
 * The GAsyncResult of a statement (a DalCall on pgasync's query_call,
 * a GTask elsewhere) behaves as GIO's contract says
 * =================================================================== */

typedef struct
{
  DalConnection *conn;
  GAsyncResult *kept;        /* a reference the callback took */
  GMainContext *ran_in;
  gboolean tagged, source_ok, user_data_ok;
  guint calls;
} KeptCall;

static void
kept_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KeptCall *k = user_data;
  k->calls++;
  k->ran_in = g_main_context_get_thread_default ();
  k->tagged = g_async_result_is_tagged (result, dal_connection_query_async);
  g_autoptr (GObject) src = g_async_result_get_source_object (result);
  k->source_ok = src == G_OBJECT (k->conn) && source == G_OBJECT (k->conn);
  k->user_data_ok = g_async_result_get_user_data (result) == k;
  /* Finished later, outside the callback. */
  k->kept = g_object_ref (result);
}

static void
test_result_contract (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);

  KeptCall k = { .conn = conn };
  dal_connection_query_async (conn, "SELECT 41 + 1", NULL, NULL, kept_done, &k);
  g_assert_cmpuint (k.calls, ==, 0);
  while (k.calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (k.tagged);
  g_assert_true (k.source_ok);
  g_assert_true (k.user_data_ok);
  g_assert_true (G_IS_ASYNC_RESULT (k.kept));
  g_assert_false (g_async_result_is_tagged (k.kept, dal_connection_execute_async));

  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (conn, k.kept, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 0, NULL), ==, 42);
  g_clear_object (&k.kept);

  /* execute_async / _finish and a transaction's _finish on the same kind
   * of result. */
  KeptCall e = { .conn = conn };
  dal_connection_execute_async (conn, "SELECT 1 FROM generate_series(1, 3)", NULL, NULL,
                                kept_done, &e);
  while (e.calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (e.tagged);
  g_assert_true (g_async_result_is_tagged (e.kept, dal_connection_execute_async));
  g_assert_cmpint (dal_connection_execute_finish (conn, e.kept, &error), ==, 3);
  g_assert_no_error (error);
  g_clear_object (&e.kept);

  /* As with GTask: cancelled after the result arrived but before the
   * _finish, the call reports CANCELLED. */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  KeptCall c = { .conn = conn };
  dal_connection_query_async (conn, "SELECT 1", NULL, cancellable, kept_done, &c);
  while (c.calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_cancel (cancellable);
  g_assert_null (dal_connection_query_finish (conn, c.kept, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&c.kept);
}

/* A caller whose thread-default context is not the connection's: the
 * call still completes, once, in the caller's context (GTask takes it
 * there). */
static gpointer
other_context_thread (gpointer data)
{
  KeptCall *k = data;
  GMainContext *ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  dal_connection_query_async (k->conn, "SELECT 5", NULL, NULL, kept_done, k);
  while (k->calls == 0)
    g_main_context_iteration (ctx, TRUE);
  g_assert_true (k->ran_in == ctx);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  return NULL;
}

static void
test_result_other_context (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) conn = open_ok (NULL);
  KeptCall k = { .conn = conn };
  /* The connection's own context runs here meanwhile (its socket). */
  GThread *th = g_thread_new ("other-context", other_context_thread, &k);
  while (!g_atomic_int_get (&k.calls))
    g_main_context_iteration (NULL, FALSE);
  g_thread_join (th);
  g_assert_cmpuint (k.calls, ==, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (conn, k.kept, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dal_result_get_int64 (r, 0, 0, NULL), ==, 5);
  g_clear_object (&k.kept);
}

/* ===================================================================
 * The hub: one source per main context for its connections
 * =================================================================== */

/* How many file descriptors an iteration of @ctx polls (it runs one,
 * dispatching what is ready). */
static gint
polled_fds (GMainContext *ctx)
{
  GPollFD fds[64];
  gint max_priority, timeout;
  g_assert_true (g_main_context_acquire (ctx));
  g_main_context_prepare (ctx, &max_priority);
  gint n = g_main_context_query (ctx, G_MAXINT, &timeout, fds, G_N_ELEMENTS (fds));
  g_assert_cmpint (n, <=, (gint) G_N_ELEMENTS (fds));
  if (g_main_context_check (ctx, G_MAXINT, fds, n))
    g_main_context_dispatch (ctx);
  g_main_context_release (ctx);
  return n;
}

#define HUB_CONNS 3
#define HUB_STATEMENTS 40

typedef struct
{
  guint index;
  GMainContext *ctx;
  guint calls[HUB_CONNS][HUB_STATEMENTS];
  guint wrong;
  guint elsewhere;          /* callbacks not on this thread's context */
  guint done;
} HubThread;

typedef struct
{
  HubThread *t;
  DalConnection *conn;
  guint statement;
} HubCall;

static void
hub_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  HubCall *c = user_data;
  HubThread *t = c->t;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_texts_finish (c->conn, result, &error);
  guint conn_index = c->statement / HUB_STATEMENTS;
  t->calls[conn_index][c->statement % HUB_STATEMENTS]++;
  if (r == NULL || dal_result_get_int64 (r, 0, 0, NULL) != (gint64) (t->index * 1000 + c->statement))
    t->wrong++;
  if (g_main_context_get_thread_default () != t->ctx)
    t->elsewhere++;
  t->done++;
  g_free (c);
}

/* A thread with a context of its own and connections at home there:
 * their sockets are polled on that context (one descriptor each: the
 * end of cancel requests is polled only while one is on its way) and
 * nowhere else, and they go from it with the last connection. */
static gpointer
hub_thread (gpointer data)
{
  HubThread *t = data;
  t->ctx = g_main_context_new ();
  g_main_context_push_thread_default (t->ctx);
  gint before = polled_fds (t->ctx);

  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);
  DalConnection *conns[HUB_CONNS];
  for (guint i = 0; i < HUB_CONNS; i++)
    {
      g_autoptr (GError) error = NULL;
      conns[i] = dal_connection_open (url, NULL, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpint (polled_fds (t->ctx), ==, before + HUB_CONNS);

  for (guint i = 0; i < HUB_CONNS * HUB_STATEMENTS; i++)
    {
      HubCall *c = g_new0 (HubCall, 1);
      c->t = t;
      c->conn = conns[i / HUB_STATEMENTS];
      c->statement = i;
      char text[16];
      g_snprintf (text, sizeof text, "%u", t->index * 1000 + i);
      const char *values[1] = { text };
      dal_connection_query_texts_async (c->conn, "SELECT $1::int", 1, values, NULL,
                                        hub_call_done, c);
    }
  double end = now_s () + 30 * time_scale;
  while (t->done < HUB_CONNS * HUB_STATEMENTS && now_s () < end)
    g_main_context_iteration (t->ctx, TRUE);

  for (guint i = 0; i < HUB_CONNS; i++)
    {
      /* Still watched until the last one goes. */
      g_assert_cmpint (polled_fds (t->ctx), ==, before + (HUB_CONNS - i));
      g_object_unref (conns[i]);
    }
  while (g_main_context_iteration (t->ctx, FALSE))
    ;
  g_assert_cmpint (polled_fds (t->ctx), ==, before);
  g_main_context_pop_thread_default (t->ctx);
  g_main_context_unref (t->ctx);
  return NULL;
}

static void
test_hub_per_context (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  HubThread threads[2] = { { .index = 1 }, { .index = 2 } };
  GThread *th[2];
  for (guint i = 0; i < 2; i++)
    th[i] = g_thread_new ("hub", hub_thread, &threads[i]);
  for (guint i = 0; i < 2; i++)
    g_thread_join (th[i]);
  for (guint i = 0; i < 2; i++)
    {
      HubThread *t = &threads[i];
      g_assert_cmpuint (t->done, ==, HUB_CONNS * HUB_STATEMENTS);
      for (guint c = 0; c < HUB_CONNS; c++)
        for (guint j = 0; j < HUB_STATEMENTS; j++)
          g_assert_cmpuint (t->calls[c][j], ==, 1);
      g_assert_cmpuint (t->wrong, ==, 0);
      g_assert_cmpuint (t->elsewhere, ==, 0);
    }
}

/* ===================================================================
 * TLS read-ahead: input the socket no longer shows
 * =================================================================== */

/* Starts @n statements, then waits without reading while their results
 * arrive: each is a TLS record of its own (the server flushes at every
 * sync point), so the next read takes them all at once, and libpq
 * decrypts one per read.  What is left stays in OpenSSL, where poll()
 * does not see it. */
static void
submit_unread (DalConnection *conn, Call *calls, guint n, gint32 base)
{
  for (guint i = 0; i < n; i++)
    submit (conn, &calls[i], "SELECT $1::int", g_variant_new_int32 (base + (gint32) i), NULL);
  g_usleep ((gulong) (300000 * time_scale));
}

static void
test_tls_read_ahead (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  enum { N = 40 };
  g_autoptr (DalConnection) conn = open_ok (NULL);
  g_autofree char *on = dal_connection_get_info (conn, "tls_read_ahead");
  g_assert_cmpstr (on, ==, "on");

  /* The hub reads from memory until nothing is pending. */
  Call calls[N] = { 0 };
  submit_unread (conn, calls, N, 0);
  wait_calls (calls, N, 5 * time_scale);
  for (guint i = 0; i < N; i++)
    {
      assert_call_int (&calls[i], i);
      call_clear (&calls[i]);
    }

  /* A blocking call behind them: the pump reads what OpenSSL holds. */
  memset (calls, 0, sizeof calls);
  submit_unread (conn, calls, N, 100);
  g_autofree char *v = query_value (conn, "SELECT 'after'", NULL);
  g_assert_cmpstr (v, ==, "after");
  wait_calls (calls, N, 5 * time_scale);
  for (guint i = 0; i < N; i++)
    {
      assert_call_int (&calls[i], 100 + i);
      call_clear (&calls[i]);
    }

  /* Results larger than a TLS record, many records per read. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) big = dal_connection_query (
    conn, "SELECT g, repeat('x', 40000 + g) FROM generate_series(1, 50) AS g", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (big), ==, 50);
  g_assert_cmpuint (strlen (dal_result_get_string (big, 49, 1, NULL)), ==, 40050);
  g_assert_cmpuint (in_flight (conn), ==, 0);

  /* Without TLS (the server's Unix socket) it is off. */
  g_autofree char *socket_dir = dal_test_encode (dal_test_env ("DAL_TEST_PG_SOCKET_DIR"));
  g_autofree char *plain_url = g_strdup_printf ("postgresql+asyncpg://%s@/%s?host=%s&port=%s",
                                                dal_test_env ("DAL_TEST_PG_SUPERUSER"),
                                                dal_test_env ("DAL_TEST_PG_DATABASE"),
                                                socket_dir, dal_test_env ("DAL_TEST_PG_PORT"));
  g_autoptr (DalConnection) plain = dal_connection_open (plain_url, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *off = dal_connection_get_info (plain, "tls_read_ahead");
  g_assert_cmpstr (off, ==, "off");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  time_scale = dal_test_time_scale ();

  /* Every name this program resolves goes to the fake resolver. */
  fake_resolver = g_object_new (fake_resolver_get_type (), NULL);
  g_resolver_set_default (G_RESOLVER (fake_resolver));

  g_test_add_func ("/pgasync/pipeline/1000-from-many-sources", test_pipeline_burst);
  g_test_add_func ("/pgasync/pipeline/error-mid-pipeline", test_pipeline_error);
  g_test_add_func ("/pgasync/cancel/running", test_cancel_running);
  g_test_add_func ("/pgasync/cancel/queued", test_cancel_queued);
  g_test_add_func ("/pgasync/cancel/blocking", test_cancel_blocking);
  g_test_add_func ("/pgasync/cancel/next-statement-safe", test_cancel_next_statement_safe);
  g_test_add_func ("/pgasync/command-timeout/pipeline", test_command_timeout);
  g_test_add_func ("/pgasync/command-timeout/per-statement", test_command_timeout_per_statement);
  g_test_add_func ("/pgasync/connect/timeout-hung-host", test_connect_timeout);
  g_test_add_func ("/pgasync/connect/multi-host-share", test_connect_multi_host);
  g_test_add_func ("/pgasync/connect/slow-dns-no-stall", test_connect_slow_dns);
  g_test_add_func ("/pgasync/terminate-backend", test_terminate_backend);
  g_test_add_func ("/pgasync/close/in-flight", test_close_in_flight);
  g_test_add_func ("/pgasync/close/from-callback", test_close_from_callback);
  g_test_add_func ("/pgasync/close/async-in-flight", test_close_async_in_flight);
  g_test_add_func ("/pgasync/blocking-among-async", test_blocking_among_async);
  g_test_add_func ("/pgasync/order/across-blocking", test_order_across_blocking);
  g_test_add_func ("/pgasync/pgbouncer/transaction-mode", test_bouncer_transaction_mode);
  g_test_add_func ("/pgasync/pgbouncer/cache-forced-off", test_bouncer_cache_forced_off);
  g_test_add_func ("/pgasync/pgbouncer/pipelined", test_bouncer_pipelined);
  g_test_add_func ("/pgasync/statement-cache/direct", test_statement_cache_direct);
  g_test_add_func ("/pgasync/result/contract", test_result_contract);
  g_test_add_func ("/pgasync/result/other-context", test_result_other_context);
  g_test_add_func ("/pgasync/hub/per-context", test_hub_per_context);
  g_test_add_func ("/pgasync/tls/read-ahead", test_tls_read_ahead);

  int status = g_test_run ();
  g_object_unref (fake_resolver);  /* the default resolver keeps its own */
  return status;
}
