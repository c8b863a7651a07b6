/* test-pool.c: DalPool against the harness's PostgreSQL and PgBouncer
 * (live; skips without the harness).  Every test runs for both plugins
 * (pgasync: postgresql+asyncpg, pgsync: postgresql+psycopg2) unless it
 * cannot apply.
 *
 *   - min_size connections are open when dal_pool_open (or _async)
 *     returns: counted on the server by the pool's application_name;
 *   - an acquire that finds everything borrowed gives up after its
 *     timeout with DAL_ERROR_POOL_TIMEOUT and the counts; async waiters
 *     are served in order and can be cancelled;
 *   - what a borrower leaves (settings, LISTEN, advisory locks, a held
 *     cursor, an open transaction) never reaches the next one on a direct
 *     connection; a clean connection costs no statement; through
 *     PgBouncer in transaction mode only ROLLBACK is ever sent;
 *   - max_queries, the idle timeout, the maximum lifetime, a killed
 *     connection (idle or busy) and a server restart under load;
 *   - health: a connection idle past pool_check_idle is checked with a
 *     round trip, and replaced when the check fails; one whose reset
 *     fails is replaced; min_size is refilled, with backoff, while the
 *     server is away and at once when it is back;
 *   - one-shots go to the least loaded connection, up to pool_depth;
 *     async callers on several threads' own contexts share one pool;
 *   - one one-shot among 8 pipelined ones ended by its GCancellable or
 *     its command_timeout never fails another;
 *   - a live connection taken out of the pool while its park is queued
 *     is closed by that park;
 *   - 10,000 one-shots and 1,000 transactions through PgBouncer, and 16
 *     threads making blocking calls on one pool;
 *   - the leak warning, the Supabase session pooler warning, and pool_*
 *     options refused by dal_connection_open().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dal-test.h"
#include "dal-test-net.h"

#define ASYNCPG "postgresql+asyncpg"
#define PSYCOPG2 "postgresql+psycopg2"

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static gboolean
is_async_plugin (const char *scheme)
{
  return strcmp (scheme, ASYNCPG) == 0;
}

/* A unique application_name for one test's pool. */
static char *
app_name (const char *tag, const char *scheme)
{
  static guint seq;
  return g_strdup_printf ("dalpool_%s_%s_%d_%u", tag, is_async_plugin (scheme) ? "a" : "s",
                          (int) getpid (), ++seq);
}

/* The harness's server, directly, with the pool's application_name. */
static char *
pool_url (const char *scheme, const char *app, const char *extra)
{
  g_autofree char *q = g_strdup_printf ("application_name=%s%s%s", app,
                                        extra != NULL ? "&" : "", extra != NULL ? extra : "");
  return dal_test_url (scheme, q);
}

static gboolean
bouncer_or_skip (void)
{
  if (g_getenv ("DAL_TEST_PGBOUNCER_PORT") != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
    g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set (harness run with --no-pgbouncer?)");
  else
    g_test_skip ("no PgBouncer (harness run with --no-pgbouncer)");
  return FALSE;
}

/* Through the harness's transaction-mode PgBouncer, to the shared test
 * database, or (@database non-NULL) to another of its database names. */
static char *
bouncer_url_to (const char *scheme, const char *database, const char *app,
                const char *extra)
{
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PGBOUNCER_PORT"));
  g_autofree char *q = g_strdup_printf ("sslmode=disable&pooler_mode=transaction%s%s%s%s",
                                        app != NULL ? "&application_name=" : "",
                                        app != NULL ? app : "",
                                        extra != NULL ? "&" : "", extra != NULL ? extra : "");
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                            database != NULL ? database
                                             : dal_test_env ("DAL_TEST_PG_DATABASE"),
                            q);
}

static char *
bouncer_url (const char *scheme, const char *app, const char *extra)
{
  return bouncer_url_to (scheme, NULL, app, extra);
}

static DalPool *
open_pool (const char *url)
{
  g_autoptr (GError) error = NULL;
  DalPool *pool = dal_pool_open (url, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pool);
  return pool;
}

static void
stats (DalPool *pool, DalPoolStats *s)
{
  memset (s, 0, sizeof *s);
  dal_pool_get_stats (pool, s);
}

/* -- waiting -- */

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context for @ms (a real timer: used only
 * where waiting for time to pass is what is tested, or between polls). */
static void
iterate_for (guint ms)
{
  GMainContext *ctx = g_main_context_get_thread_default ();
  gboolean over = FALSE;
  GSource *t = g_timeout_source_new (ms);
  g_source_set_callback (t, set_flag, &over, NULL);
  g_source_attach (t, ctx);
  while (!over)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (t);
  g_source_unref (t);
}

typedef gboolean (*Cond) (gpointer data);

/* Checks @cond every 50 ms (iterating the thread-default context in
 * between) for at most @timeout_ms (not scaled here); TRUE once it holds. */
static gboolean
poll_until (Cond cond, gpointer data, gint64 timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  for (;;)
    {
      if (cond (data))
        return TRUE;
      if (g_get_monotonic_time () >= end)
        return FALSE;
      iterate_for (50);
    }
}

/* -- calls -- */

typedef struct
{
  DalPool *pool;
  guint calls;
  guint seq;
  gboolean done;
  double at;
  DalResult *result;
  DalConnection *conn;
  GError *error;
} Call;

static guint completion_seq;

static void
call_finished (Call *c)
{
  c->calls++;
  c->seq = ++completion_seq;
  c->at = now_s ();
  c->done = TRUE;
}

static void
query_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *c = user_data;
  (void) source;
  c->result = dal_pool_query_finish (c->pool, res, &c->error);
  call_finished (c);
}

static void
acquire_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *c = user_data;
  (void) source;
  c->conn = dal_pool_acquire_finish (c->pool, res, &c->error);
  call_finished (c);
}

static void
call_clear (Call *c)
{
  g_clear_pointer (&c->result, dal_result_unref);
  g_clear_error (&c->error);
  if (c->conn != NULL)
    dal_pool_release (c->pool, g_steal_pointer (&c->conn));
}

static void
wait_call (Call *c, guint timeout_ms)
{
  dal_test_wait_for (&c->done, timeout_ms);
  g_assert_cmpuint (c->calls, ==, 1);
}

/* Borrows a connection the async way (a blocking acquire on a thread
 * whose context must run for the connection to come back would wait for
 * nothing). */
static DalConnection *
acquire_wait (DalPool *pool, const char *label)
{
  Call c = { .pool = pool };
  dal_pool_acquire_async (pool, label, -1, NULL, acquire_done, &c);
  wait_call (&c, 10000);
  g_assert_no_error (c.error);
  g_assert_nonnull (c.conn);
  return g_steal_pointer (&c.conn);
}

static char *
pool_value (DalPool *pool, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_pool_query (pool, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), >=, 1);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static char *
conn_value (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (r), >=, 1);
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

static void
conn_exec (DalConnection *conn, const char *sql)
{
  g_autoptr (GError) error = NULL;
  dal_connection_execute (conn, sql, NULL, NULL, &error);
  g_assert_no_error (error);
}

static char *
backend_pid (DalConnection *conn)
{
  char *pid = dal_connection_get_info (conn, "backend_pid");
  g_assert_nonnull (pid);
  return pid;
}

/* The number written right before or after @word in @message ("size 2",
 * "2 in use", "idle=0"), or -1. */
static gint64
number_near (const char *message, const char *word)
{
  g_autofree char *m = g_ascii_strdown (message, -1);
  const char *w = strstr (m, word);
  if (w == NULL)
    return -1;
  const char *p = w + strlen (word);
  while (*p == ' ' || *p == ':' || *p == '=')
    p++;
  if (g_ascii_isdigit (*p))
    return g_ascii_strtoll (p, NULL, 10);
  p = w;
  while (p > m && (p[-1] == ' ' || p[-1] == ':' || p[-1] == '='))
    p--;
  if (p == m || !g_ascii_isdigit (p[-1]))
    return -1;
  while (p > m && g_ascii_isdigit (p[-1]))
    p--;
  return g_ascii_strtoll (p, NULL, 10);
}

static gint64
in_use_in (const char *message)
{
  gint64 n = number_near (message, "in use");
  return n >= 0 ? n : number_near (message, "in_use");
}

/* -- messages the pool logs -- */

/* The warnings tested below are recorded (dal-test-net's log writer) and
 * must not abort the program: g_test_init() makes every warning fatal,
 * so these tests make warnings (not criticals) non-fatal while they run. */
static GLogLevelFlags
warnings_not_fatal (void)
{
  return g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
}

/* ===================================================================
 * Opening
 * =================================================================== */

static void
test_open_min_size (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("open", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=3&pool_max_size=6");
  g_autoptr (DalPool) pool = open_pool (url);
  g_assert_cmpuint (dal_test_count_backends (app), ==, 3);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.size, ==, 3);
  g_assert_cmpuint (s.idle, ==, 3);
  g_assert_cmpuint (s.created, ==, 3);
  g_assert_cmpuint (dal_pool_get_settings (pool)->min_size, ==, 3);
  g_assert_cmpuint (dal_pool_get_settings (pool)->max_size, ==, 6);
  dal_pool_close (pool);
}

static void
pool_opened (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *c = user_data;
  (void) source;
  DalPool *pool = dal_pool_open_finish (res, &c->error);
  c->pool = pool;
  call_finished (c);
}

static void
test_open_min_size_async (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("open_async", scheme);
  /* asyncpg's spellings. */
  g_autofree char *url = pool_url (scheme, app, "min_size=3&max_size=6");
  Call c = { 0 };
  dal_pool_open_async (url, NULL, pool_opened, &c);
  g_assert_cmpuint (c.calls, ==, 0);
  wait_call (&c, 10000);
  g_assert_no_error (c.error);
  g_assert_nonnull (c.pool);
  g_assert_cmpuint (dal_test_count_backends (app), ==, 3);
  DalPoolStats s;
  stats (c.pool, &s);
  g_assert_cmpuint (s.size, ==, 3);
  g_object_unref (c.pool);
}

/* pool_* options are the pool's: dal_connection_open() refuses them and
 * says why, naming the option. */
static void
test_pool_option_on_connection (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (ASYNCPG, "pool_max_size=3");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
  g_assert_null (conn);
  g_assert_nonnull (error);
  g_assert_true (error->domain == DAL_ERROR);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "pool_max_size"));
  g_assert_null (strstr (error->message, dal_test_env ("DAL_TEST_PG_PASSWORD")));
}

/* ===================================================================
 * Acquire: timeouts, cancel, order
 * =================================================================== */

static void
assert_timeout_message (const GError *error, guint waiting_min)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_POOL_TIMEOUT);
  g_test_message ("%s", error->message);
  g_assert_cmpint (number_near (error->message, "size"), ==, 2);
  g_assert_cmpint (in_use_in (error->message), ==, 2);
  g_assert_cmpint (number_near (error->message, "idle"), ==, 0);
  gint64 waiting = number_near (error->message, "waiting");
  g_assert_cmpint (waiting, >=, waiting_min);
  g_assert_cmpint (waiting, <=, waiting_min + 1);
  g_assert_true (dal_error_is_retryable (error));
}

static void
assert_took_half_a_second (double took)
{
  g_test_message ("gave up after %.3f s", took);
  g_assert_cmpfloat (took, >=, 0.45);
  g_assert_cmpfloat (took, <=, dal_test_scaled_ms (550) / 1000.0);
}

static void
test_acquire_timeout (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("timeout", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=2&pool_max_size=2");
  g_autoptr (DalPool) pool = open_pool (url);
  DalConnection *a = acquire_wait (pool, "a");
  DalConnection *b = acquire_wait (pool, "b");

  /* Blocking. */
  {
    g_autoptr (GError) error = NULL;
    double t0 = now_s ();
    DalConnection *c = dal_pool_acquire (pool, "c", 500, NULL, &error);
    double took = now_s () - t0;
    g_assert_null (c);
    assert_timeout_message (error, 0);
    assert_took_half_a_second (took);
  }

  /* Async: one waiter times out while another still waits (so waiting
   * counts at least that one). */
  {
    Call first = { .pool = pool }, second = { .pool = pool };
    g_autoptr (GCancellable) cancel_second = g_cancellable_new ();
    double t0 = now_s ();
    dal_pool_acquire_async (pool, "first", 500, NULL, acquire_done, &first);
    dal_pool_acquire_async (pool, "second", 60000, cancel_second, acquire_done, &second);
    DalPoolStats s;
    stats (pool, &s);
    g_assert_cmpuint (s.waiting, ==, 2);
    g_assert_cmpuint (s.in_use, ==, 2);
    wait_call (&first, 5000);
    assert_took_half_a_second (first.at - t0);
    g_assert_null (first.conn);
    assert_timeout_message (first.error, 1);
    g_assert_false (second.done);
    g_cancellable_cancel (cancel_second);
    wait_call (&second, 5000);
    g_assert_error (second.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    call_clear (&first);
    call_clear (&second);
  }

  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.acquire_timeouts, ==, 2);
  g_assert_cmpuint (s.waiting, ==, 0);
  dal_pool_release (pool, a);
  dal_pool_release (pool, b);
}

/* A cancelled waiter hears at once and leaves the queue: the connection
 * released afterwards goes to the waiter behind it. */
static void
test_acquire_cancel_waiter (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("cancel_waiter", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  DalConnection *held = acquire_wait (pool, "held");

  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Call cancelled = { .pool = pool }, behind = { .pool = pool };
  dal_pool_acquire_async (pool, "cancelled", -1, cancellable, acquire_done, &cancelled);
  dal_pool_acquire_async (pool, "behind", -1, NULL, acquire_done, &behind);
  double t0 = now_s ();
  g_cancellable_cancel (cancellable);
  wait_call (&cancelled, 2000);
  g_assert_cmpfloat (cancelled.at - t0, <, dal_test_scaled_ms (200) / 1000.0);
  g_assert_null (cancelled.conn);
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.waiting, ==, 1);
  g_assert_false (behind.done);

  dal_pool_release (pool, held);
  wait_call (&behind, 5000);
  g_assert_no_error (behind.error);
  g_assert_nonnull (behind.conn);
  g_assert_cmpuint (cancelled.calls, ==, 1);
  call_clear (&behind);
  call_clear (&cancelled);
}

/* Async waiters are served first come, first served. */
#define FIFO_WAITERS 6

typedef struct
{
  Call call;
  guint *order;
  guint *n_served;
  guint id;
} FifoWaiter;

static void
fifo_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  FifoWaiter *w = user_data;
  acquire_done (source, res, &w->call);
  w->order[(*w->n_served)++] = w->id;
  /* Hand it on at once. */
  if (w->call.conn != NULL)
    dal_pool_release (w->call.pool, g_steal_pointer (&w->call.conn));
}

static void
test_acquire_fifo (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("fifo", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  DalConnection *held = acquire_wait (pool, "held");
  FifoWaiter w[FIFO_WAITERS];
  guint order[FIFO_WAITERS] = { 0 }, n_served = 0;
  for (guint i = 0; i < FIFO_WAITERS; i++)
    {
      w[i] = (FifoWaiter) { .call = { .pool = pool }, .order = order, .n_served = &n_served,
                            .id = i };
      dal_pool_acquire_async (pool, "fifo", 10000, NULL, fifo_done, &w[i]);
    }
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.waiting, ==, FIFO_WAITERS);
  dal_pool_release (pool, held);
  dal_test_wait_for (&w[FIFO_WAITERS - 1].call.done, 10000);
  g_assert_cmpuint (n_served, ==, FIFO_WAITERS);
  for (guint i = 0; i < FIFO_WAITERS; i++)
    {
      g_assert_no_error (w[i].call.error);
      g_assert_cmpuint (w[i].call.calls, ==, 1);
      g_assert_cmpuint (order[i], ==, i);
    }
}

/* A borrower that releases its connection inside a statement's callback:
 * the waiter gets it after that callback returned (never inside
 * dal_pool_release()), exactly once; on a plugin whose statements
 * complete on DalCalls (pgasync) right after it, from the same dispatch
 * (before a high-priority idle added meanwhile). */
typedef struct
{
  DalPool *pool;
  DalConnection *conn;
  gboolean releasing;
  gboolean idle_ran;
  gboolean statement_done;
  Call waiter;
  gboolean waiter_before_idle;
} Handoff;

static gboolean
handoff_idle (gpointer data)
{
  Handoff *h = data;
  h->idle_ran = TRUE;
  return G_SOURCE_REMOVE;
}

static void
handoff_waiter_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Handoff *h = user_data;
  g_assert_false (h->releasing);
  h->waiter_before_idle = !h->idle_ran;
  acquire_done (source, res, &h->waiter);
}

static void
handoff_statement_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Handoff *h = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), res,
                                                         &error);
  g_assert_no_error (error);
  g_idle_add_full (G_PRIORITY_HIGH, handoff_idle, h, NULL);
  h->releasing = TRUE;
  dal_pool_release (h->pool, g_steal_pointer (&h->conn));
  h->releasing = FALSE;
  g_assert_false (h->waiter.done);
  h->statement_done = TRUE;
}

static void
test_acquire_handoff_in_callback (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("handoff", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  Handoff h = { .pool = pool, .waiter = { .pool = pool } };
  h.conn = acquire_wait (pool, "held");
  dal_pool_acquire_async (pool, "waiter", 10000, NULL, handoff_waiter_done, &h);
  dal_connection_query_async (h.conn, "SELECT 1", NULL, NULL, handoff_statement_done, &h);
  wait_call (&h.waiter, 10000);
  g_assert_true (h.statement_done);
  g_assert_no_error (h.waiter.error);
  g_assert_nonnull (h.waiter.conn);
  if (is_async_plugin (scheme))
    g_assert_true (h.waiter_before_idle);
  dal_test_wait_for (&h.idle_ran, 5000);
  g_assert_cmpuint (h.waiter.calls, ==, 1);
  call_clear (&h.waiter);
}

/* Closing the pool from inside a callback: the waiters fail with
 * DAL_ERROR_CLOSED afterwards, each once, never inside dal_pool_close(). */
static gboolean pool_closing;

static void
waiter_not_inside_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_assert_false (pool_closing);
  acquire_done (source, res, user_data);
}

static void
close_pool_inside (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *c = user_data;
  c->result = dal_connection_query_finish (DAL_CONNECTION (source), res, &c->error);
  pool_closing = TRUE;
  dal_pool_close (c->pool);
  pool_closing = FALSE;
  c->calls++;
  c->done = TRUE;
}

static void
test_close_in_callback (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("close_cb", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  DalConnection *held = acquire_wait (pool, "held");
  Call w[3];
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    {
      w[i] = (Call) { .pool = pool };
      dal_pool_acquire_async (pool, "waiter", 10000, NULL, waiter_not_inside_done, &w[i]);
    }
  Call closer = { .pool = pool };
  dal_connection_query_async (held, "SELECT 1", NULL, NULL, close_pool_inside, &closer);
  wait_call (&closer, 10000);
  g_assert_no_error (closer.error);
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    {
      wait_call (&w[i], 10000);
      g_assert_null (w[i].conn);
      g_assert_error (w[i].error, DAL_ERROR, DAL_ERROR_CLOSED);
      call_clear (&w[i]);
    }
  call_clear (&closer);
  dal_pool_release (pool, held);
}

/* ===================================================================
 * Reset on release
 * =================================================================== */

static char *
admin_value (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static char *
admin_value (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *sql = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return dal_test_admin_query (sql);
}

/* The next borrower's connection: on backend @pid, in no transaction. */
static DalConnection *
acquire_idle_on (DalPool *pool, const char *pid)
{
  DalConnection *next = acquire_wait (pool, "next");
  g_autofree char *p = backend_pid (next);
  g_assert_cmpstr (p, ==, pid);
  g_autofree char *status = dal_connection_get_info (next, "transaction_status");
  g_assert_cmpstr (status, ==, "idle");
  return next;
}

static void
reset_direct (const char *scheme, gboolean by_unref)
{
  g_autofree char *app = app_name (by_unref ? "reset_unref" : "reset", scheme);
  /* No health check in between: what the server saw last is the reset. */
  g_autofree char *url = pool_url (scheme, app,
                                   "pool_min_size=1&pool_max_size=1&pool_check_idle=60");
  g_autofree char *table = g_strdup_printf ("%s_t", app);
  {
    g_autofree char *plain = dal_test_url (scheme, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DalConnection) c = dal_connection_open (plain, NULL, &error);
    g_assert_no_error (error);
    g_autofree char *sql = g_strdup_printf ("CREATE TABLE %s (a int)", table);
    conn_exec (c, sql);
  }
  g_autoptr (DalPool) pool = open_pool (url);
  DalPoolStats before;
  stats (pool, &before);

  DalConnection *conn = acquire_wait (pool, "dirty");
  g_autofree char *pid = backend_pid (conn);
  g_autofree char *default_path = conn_value (conn, "SHOW search_path");
  conn_exec (conn, "SET search_path = pg_catalog");
  conn_exec (conn, "LISTEN dal_pool_chan");
  g_autofree char *locked = conn_value (conn, "SELECT pg_advisory_lock(42)::text");
  conn_exec (conn, "DECLARE dal_pool_cursor CURSOR WITH HOLD FOR SELECT 1");
  g_autofree char *cursors = conn_value (conn, "SELECT count(*) FROM pg_cursors "
                                         "WHERE name = 'dal_pool_cursor'");
  g_assert_cmpstr (cursors, ==, "1");
  g_assert_true (dal_connection_begin (conn, NULL, NULL));
  g_autofree char *insert = g_strdup_printf ("INSERT INTO public.%s VALUES (1)", table);
  conn_exec (conn, insert);
  g_autofree char *status = dal_connection_get_info (conn, "transaction_status");
  g_assert_cmpstr (status, ==, "intrans");
  g_autofree char *locks = admin_value ("SELECT count(*) FROM pg_locks WHERE locktype = "
                                        "'advisory' AND pid = %s", pid);
  g_assert_cmpstr (locks, ==, "1");
  if (by_unref)
    g_object_unref (conn);
  else
    dal_pool_release (pool, conn);

  DalConnection *next = acquire_idle_on (pool, pid);
  g_autofree char *path = conn_value (next, "SHOW search_path");
  g_assert_cmpstr (path, ==, default_path);
  g_assert_cmpstr (path, !=, "pg_catalog");
  g_autofree char *channels = conn_value (next, "SELECT count(*) FROM pg_listening_channels()");
  g_assert_cmpstr (channels, ==, "0");
  g_autofree char *cursors2 = conn_value (next, "SELECT count(*) FROM pg_cursors "
                                          "WHERE name = 'dal_pool_cursor'");
  g_assert_cmpstr (cursors2, ==, "0");
  g_autofree char *locks2 = admin_value ("SELECT count(*) FROM pg_locks WHERE locktype = "
                                         "'advisory' AND pid = %s", pid);
  g_assert_cmpstr (locks2, ==, "0");
  g_autofree char *count_sql = g_strdup_printf ("SELECT count(*) FROM public.%s", table);
  g_autofree char *rows = conn_value (next, count_sql);
  g_assert_cmpstr (rows, ==, "0");
  DalPoolStats after;
  stats (pool, &after);
  g_assert_cmpuint (after.resets, >=, before.resets + 1);

  /* A clean borrower: its release costs no statement.  The server's last
   * statement on that backend stays the borrower's own. */
  conn_exec (next, "SELECT 'clean-marker'");
  dal_pool_release (pool, next);
  DalConnection *third = acquire_wait (pool, "third");
  g_autofree char *pid3 = backend_pid (third);
  g_assert_cmpstr (pid3, ==, pid);
  g_autofree char *last = admin_value ("SELECT query FROM pg_stat_activity WHERE pid = %s", pid);
  g_assert_cmpstr (last, ==, "SELECT 'clean-marker'");
  DalPoolStats clean;
  stats (pool, &clean);
  g_assert_cmpuint (clean.resets, ==, after.resets);
  dal_pool_release (pool, third);
  dal_pool_close (pool);

  g_autofree char *drop = g_strdup_printf ("DROP TABLE public.%s", table);
  g_free (dal_test_admin_query (drop));
}

static void
test_reset_direct (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  reset_direct (data, FALSE);
}

static void
test_reset_direct_unref (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  reset_direct (data, TRUE);
}

/* A borrower that opened a transaction by any text (or inside a blocking
 * borrow) gives back a connection that the next borrower finds idle, on
 * the same backend, at the cost of a reset; one whose statements could
 * not open one costs none. */
static void
test_reset_transaction_texts (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("reset_tx", scheme);
  g_autofree char *url = pool_url (scheme, app,
                                   "pool_min_size=1&pool_max_size=1&pool_check_idle=60");
  g_autoptr (DalPool) pool = open_pool (url);
  const char *texts[] = {
    "BEGIN",
    "/* opens */ begin isolation level repeatable read",
    "-- opens\nSTART TRANSACTION READ WRITE",
  };
  g_autofree char *pid = NULL;
  for (guint i = 0; i < 2 * G_N_ELEMENTS (texts); i++)
    {
      gboolean blocking = i >= G_N_ELEMENTS (texts);
      const char *text = texts[i % G_N_ELEMENTS (texts)];
      DalPoolStats before, after;
      stats (pool, &before);
      g_autoptr (GError) error = NULL;
      DalConnection *conn = blocking ? dal_pool_acquire (pool, "tx", -1, NULL, &error)
                                     : acquire_wait (pool, "tx");
      g_assert_no_error (error);
      g_autofree char *p = backend_pid (conn);
      if (pid == NULL)
        pid = g_strdup (p);
      g_assert_cmpstr (p, ==, pid);
      conn_exec (conn, "SELECT 1");
      conn_exec (conn, text);
      conn_exec (conn, "SELECT 2");
      g_autofree char *status = dal_connection_get_info (conn, "transaction_status");
      g_assert_cmpstr (status, ==, "intrans");
      dal_pool_release (pool, conn);

      DalConnection *next = acquire_idle_on (pool, pid);
      stats (pool, &after);
      g_assert_cmpuint (after.resets, ==, before.resets + 1);
      /* This one ran nothing that opens a transaction: no reset. */
      conn_exec (next, "SELECT 'no transaction'");
      dal_pool_release (pool, next);
      DalConnection *third = acquire_wait (pool, "third");
      DalPoolStats clean;
      stats (pool, &clean);
      g_assert_cmpuint (clean.resets, ==, after.resets);
      g_autofree char *last = admin_value ("SELECT query FROM pg_stat_activity WHERE pid = %s",
                                           pid);
      g_assert_cmpstr (last, ==, "SELECT 'no transaction'");
      dal_pool_release (pool, third);
    }
  dal_pool_close (pool);
}

/* Backends of @app whose last statement was a session reset of some kind. */
static guint
session_resets_seen (const char *app)
{
  g_autofree char *n = admin_value ("SELECT count(*) FROM pg_stat_activity WHERE "
                                    "application_name = '%s' AND query ~* "
                                    "'^\\s*(RESET|DISCARD|UNLISTEN|CLOSE|DEALLOCATE|"
                                    "SELECT\\s+pg_advisory_unlock)'", app);
  return (guint) atoi (n);
}

/* Through PgBouncer in transaction mode: a borrower left in a transaction
 * costs exactly ROLLBACK (the last statement of its server connection);
 * one that did SET costs nothing. */
static void
test_reset_bouncer (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (!bouncer_or_skip ())
    return;
  const char *scheme = data;
  g_autofree char *app = app_name ("reset_bouncer", scheme);
  /* PgBouncer's database name of its own: a server pool no other test
   * (they run in parallel) can take our server connection from before we
   * read what it ran last. */
  g_autofree char *url = bouncer_url_to (scheme,
                                         dal_test_env ("DAL_TEST_PGBOUNCER_PRIVATE_DATABASE"),
                                         app,
                                         "pool_min_size=1&pool_max_size=1&pool_check_idle=60");
  g_autoptr (DalPool) pool = open_pool (url);
  DalPoolStats s0, s1, s2;
  stats (pool, &s0);

  /* In a transaction: the server connection stays ours until it ends. */
  DalConnection *conn = acquire_wait (pool, "tx");
  g_assert_true (dal_connection_begin (conn, NULL, NULL));
  g_autofree char *server_pid = conn_value (conn, "SELECT pg_backend_pid()::text");
  dal_pool_release (pool, conn);
  conn = acquire_wait (pool, "after-tx");
  stats (pool, &s1);
  g_assert_cmpuint (s1.resets, ==, s0.resets + 1);
  g_autofree char *last = admin_value ("SELECT query FROM pg_stat_activity WHERE pid = %s",
                                       server_pid);
  g_test_message ("last statement of server connection %s: %s", server_pid, last);
  g_assert_cmpstr (last, ==, "ROLLBACK");
  g_autofree char *state = conn_value (conn, "SELECT 'clean'");
  g_assert_cmpstr (state, ==, "clean");

  /* A SET: session state on some server connection, which is not ours to
   * reset (RESET ALL would reach another client's session). */
  conn_exec (conn, "SET statement_timeout = '12345'");
  dal_pool_release (pool, conn);
  conn = acquire_wait (pool, "after-set");
  stats (pool, &s2);
  g_assert_cmpuint (s2.resets, ==, s1.resets);
  g_assert_cmpuint (session_resets_seen (app), ==, 0);
  dal_pool_release (pool, conn);

  /* Also for a borrower that did both. */
  conn = acquire_wait (pool, "both");
  g_assert_true (dal_connection_begin (conn, NULL, NULL));
  conn_exec (conn, "SET search_path = pg_catalog");
  g_autofree char *pid2 = conn_value (conn, "SELECT pg_backend_pid()::text");
  dal_pool_release (pool, conn);
  conn = acquire_wait (pool, "after-both");
  g_autofree char *last2 = admin_value ("SELECT query FROM pg_stat_activity WHERE pid = %s", pid2);
  g_assert_cmpstr (last2, ==, "ROLLBACK");
  g_assert_cmpuint (session_resets_seen (app), ==, 0);
  dal_pool_release (pool, conn);
}

/* ===================================================================
 * Limits: max_queries, idle timeout
 * =================================================================== */

static void
test_max_queries (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("max_queries", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1&"
                                   "max_queries=3&pool_check_idle=60");
  g_autoptr (DalPool) pool = open_pool (url);
  g_autofree char *p1 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_autofree char *p2 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_autofree char *p3 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_autofree char *p4 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_autofree char *p5 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_assert_cmpstr (p1, ==, p2);
  g_assert_cmpstr (p2, ==, p3);
  g_assert_cmpstr (p4, !=, p3);
  g_assert_cmpstr (p4, ==, p5);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.created, ==, 2);
  g_assert_cmpuint (s.closed, ==, 1);
  g_assert_cmpuint (s.size, ==, 1);
}

typedef struct
{
  const char *app;
  guint want;
} Backends;

static gboolean
backends_are (gpointer data)
{
  Backends *b = data;
  return dal_test_count_backends (b->app) == b->want;
}

static void
test_max_idle (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("max_idle", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=0&pool_max_size=2&pool_max_idle=1");
  g_autoptr (DalPool) pool = open_pool (url);
  g_assert_cmpuint (dal_test_count_backends (app), ==, 0);
  g_autofree char *v = pool_value (pool, "SELECT 'used once'");
  double idle_since = now_s ();
  g_assert_cmpuint (dal_test_count_backends (app), ==, 1);
  Backends b = { app, 0 };
  g_assert_true (poll_until (backends_are, &b, dal_test_scaled_ms (1500) + 100));
  double closed_after = now_s () - idle_since;
  g_test_message ("idle connection closed after %.3f s", closed_after);
  g_assert_cmpfloat (closed_after, >=, 0.95);
  g_assert_cmpfloat (closed_after, <=, dal_test_scaled_ms (1500) / 1000.0 + 0.1);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.size, ==, 0);
  g_assert_cmpuint (s.closed, ==, 1);
  /* And it opens again when needed. */
  g_autofree char *again = pool_value (pool, "SELECT 'again'");
  g_assert_cmpstr (again, ==, "again");
}

static gboolean
pool_closed_one (gpointer data)
{
  DalPoolStats s;
  stats (data, &s);
  return s.closed >= 1;
}

/* pool_max_lifetime=1: the connection (idle) is closed 0.9 to 1 s after
 * it was opened, and min_size brings a new one (another backend). */
static void
test_max_lifetime (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("max_lifetime", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1&"
                                   "pool_max_lifetime=1");
  double opened = now_s ();
  g_autoptr (DalPool) pool = open_pool (url);
  g_autofree char *pid1 = pool_value (pool, "SELECT pg_backend_pid()");
  g_assert_true (poll_until (pool_closed_one, pool, dal_test_scaled_ms (1500) + 100));
  double closed_after = now_s () - opened;
  g_test_message ("connection closed %.3f s after the pool opened", closed_after);
  /* (Up to 10 % early; the open itself took some of the time.) */
  g_assert_cmpfloat (closed_after, >=, 0.85);
  g_assert_cmpfloat (closed_after, <=, dal_test_scaled_ms (1500) / 1000.0 + 0.1);
  g_autofree char *pid2 = pool_value (pool, "SELECT pg_backend_pid()");
  g_assert_cmpstr (pid2, !=, pid1);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.size, ==, 1);
  g_assert_cmpuint (s.replaced_after_faults, ==, 0);
  Backends one = { app, 1 };
  g_assert_true (poll_until (backends_are, &one, dal_test_scaled_ms (2000)));
}

/* A lifetime of hours (its tenth, in microseconds, is beyond a 32-bit
 * random range) opens and serves as any other. */
static void
test_max_lifetime_hours (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("lifetime_8h", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=2&pool_max_lifetime=28800");
  g_autoptr (DalPool) pool = open_pool (url);
  g_autofree char *v = pool_value (pool, "SELECT 'eight hours'");
  g_assert_cmpstr (v, ==, "eight hours");
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.closed, ==, 0);
}

/* ===================================================================
 * Faults
 * =================================================================== */

static void
terminate (const char *pid)
{
  /* With a timeout: returns once the backend is gone (PostgreSQL 14+). */
  g_autofree char *ok = admin_value ("SELECT pg_terminate_backend(%s, 10000)", pid);
  g_assert_cmpstr (ok, ==, "t");
}

/* -- health checks, failed resets, refills -- */

/* The statement the pool checks an idle connection with (a round trip
 * that also works through transaction poolers: core/dal-pool-go.c). */
#define CHECK_STATEMENT "SELECT 1"

/* The harness's server, over verified TLS, through @proxy, with the
 * pool's application_name. */
static char *
proxy_pool_url (DalTestProxy *proxy, const char *scheme, const char *app,
                const char *extra)
{
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%u", dal_test_proxy_get_port (proxy));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *q = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s&"
                                        "application_name=%s&%s", ca, app, extra);
  return dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
}

static guint16
server_port (void)
{
  return (guint16) atoi (dal_test_env ("DAL_TEST_PG_PORT"));
}

/* Borrows a connection the blocking way (dal_pool_acquire(): whatever the
 * pool does before it hands the connection out, it does on this thread)
 * or the async way (on this thread's context). */
static DalConnection *
borrow (DalPool *pool, const char *label, gboolean blocking)
{
  if (!blocking)
    return acquire_wait (pool, label);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_pool_acquire (pool, label, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (conn);
  return conn;
}

/* The statement backend @pid ran last, as the server tells. */
static char *
last_statement (const char *pid)
{
  return admin_value ("SELECT query FROM pg_stat_activity WHERE pid = %s", pid);
}

/* A connection idle longer than pool_check_idle is checked with a round
 * trip before it is handed out: the last statement the server saw on it,
 * before the borrower ran anything, is the check, not the one before the
 * idle time.  One used a moment ago is handed out unchecked: the last
 * statement stays the previous borrower's.  Blocking (the check runs on
 * the caller's thread) and async (on its context). */
static void
test_check_round_trip (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("check", scheme);
  /* Scaled: "a moment ago" must stay below it under valgrind too. */
  gint64 check_ms = dal_test_scaled_ms (300);
  g_autofree char *extra = g_strdup_printf ("pool_min_size=1&pool_max_size=1&"
                                            "pool_check_idle=%.3f", check_ms / 1000.0);
  g_autofree char *url = pool_url (scheme, app, extra);
  g_autoptr (DalPool) pool = open_pool (url);
  g_autofree char *pid = pool_value (pool, "SELECT pg_backend_pid()::text");

  for (int blocking = 0; blocking < 2; blocking++)
    {
      g_autofree char *marker = pool_value (pool, "SELECT 'idle-marker'");
      g_assert_cmpstr (marker, ==, "idle-marker");
      g_autofree char *idle = last_statement (pid);
      g_assert_cmpstr (idle, ==, "SELECT 'idle-marker'");
      /* Time passing is what is tested here. */
      iterate_for (check_ms + 100);
      DalConnection *conn = borrow (pool, "checked", blocking);
      g_autofree char *p = backend_pid (conn);
      g_assert_cmpstr (p, ==, pid);
      g_autofree char *checked = last_statement (pid);
      g_assert_cmpstr (checked, ==, CHECK_STATEMENT);

      conn_exec (conn, "SELECT 'fresh-marker'");
      dal_pool_release (pool, conn);
      double released = now_s ();
      conn = borrow (pool, "fresh", blocking);
      double gap = now_s () - released;
      g_test_message ("%s: borrowed again %.3f s after the release (check after %.3f s)",
                      blocking ? "blocking" : "async", gap, check_ms / 1000.0);
      /* (Else the machine is too slow for this test to say anything.) */
      g_assert_cmpfloat (gap, <, check_ms / 1000.0);
      g_autofree char *p2 = backend_pid (conn);
      g_assert_cmpstr (p2, ==, pid);
      g_autofree char *fresh = last_statement (pid);
      g_assert_cmpstr (fresh, ==, "SELECT 'fresh-marker'");
      dal_pool_release (pool, conn);
    }
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.failed_health_checks, ==, 0);
  g_assert_cmpuint (s.created, ==, 1);
}

/* A blocking acquire on a thread of its own. */
typedef struct
{
  DalPool *pool;
  DalConnection *conn;
  GError *error;
  gint done;            /* atomic */
} Borrower;

static gpointer
borrower_thread (gpointer data)
{
  Borrower *b = data;
  b->conn = dal_pool_acquire (b->pool, "thread", -1, NULL, &b->error);
  g_atomic_int_set (&b->done, 1);
  return NULL;
}

static gboolean
borrower_done (gpointer data)
{
  return g_atomic_int_get (&((Borrower *) data)->done) != 0;
}

typedef struct
{
  DalPool *pool;
  guint64 want;
} Count;

/* The check failed, and the caller waits again (it is queued once the
 * failed slot was given up, a moment after the count). */
static gboolean
health_checks_failed (gpointer data)
{
  Count *c = data;
  DalPoolStats s;
  stats (c->pool, &s);
  return s.failed_health_checks >= c->want && s.waiting >= 1;
}

/* The network to the server goes silent while a connection idles: its
 * check before it is handed out fails (by command_timeout, then
 * cancel_timeout: the cancel request goes nowhere either), the connection
 * is closed and counted (failed_health_checks, replaced_after_faults),
 * and the caller, told nothing, waits for a new connection, which it gets
 * once the network is back.  Blocking (on a thread of its own) and async. */
#define SILENT_TIMEOUT 0.5

/* A pool (@settings) through a new proxy (*@proxy), whose statements end
 * by command_timeout, then cancel_timeout (SILENT_TIMEOUT each), when the
 * proxy is frozen. */
static DalPool *
open_silenceable_pool (const char *scheme, const char *app, const char *settings,
                       DalTestProxy **proxy)
{
  *proxy = dal_test_proxy_new (0, server_port (), 0, 0);
  g_autofree char *extra = g_strdup_printf ("%s&command_timeout=%g&cancel_timeout=%g",
                                            settings, SILENT_TIMEOUT, SILENT_TIMEOUT);
  g_autofree char *url = proxy_pool_url (*proxy, scheme, app, extra);
  return open_pool (url);
}

static void
test_check_fails_replaced (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("check_fails", scheme);
  DalTestProxy *proxy;
  DalPool *pool = open_silenceable_pool (scheme, app, "pool_min_size=1&pool_max_size=1&"
                                         "pool_check_idle=0.1", &proxy);

  for (int blocking = 0; blocking < 2; blocking++)
    {
      g_autofree char *old_pid = pool_value (pool, "SELECT pg_backend_pid()::text");
      iterate_for (200);  /* idle past pool_check_idle */
      DalPoolStats s0, s1, s2;
      stats (pool, &s0);
      g_assert_cmpuint (s0.size, ==, 1);

      dal_test_proxy_set_frozen (proxy, TRUE);
      double t0 = now_s ();
      Call c = { .pool = pool };
      Borrower b = { .pool = pool };
      GThread *t = NULL;
      if (blocking)
        t = g_thread_new ("borrower", borrower_thread, &b);
      else
        dal_pool_acquire_async (pool, "checked", -1, NULL, acquire_done, &c);
      Count failed = { pool, s0.failed_health_checks + 1 };
      gboolean seen = poll_until (health_checks_failed, &failed,
                                  dal_test_scaled_ms (2 * SILENT_TIMEOUT * 1000 + 2000));
      double took = now_s () - t0;
      g_test_message ("%s: the check failed after %.3f s", blocking ? "blocking" : "async",
                      took);
      stats (pool, &s1);
      g_assert_cmpuint (s1.failed_health_checks, ==, s0.failed_health_checks + 1);
      g_assert_cmpuint (s1.replaced_after_faults, ==, s0.replaced_after_faults + 1);
      g_assert_cmpuint (s1.closed, ==, s0.closed + 1);
      g_assert_cmpuint (s1.size, ==, 0);
      /* The caller heard nothing of it: it waits for the new connection
       * (being opened through the silent network). */
      g_assert_false (blocking ? borrower_done (&b) : c.done);
      g_assert_cmpuint (s1.waiting, ==, 1);
      g_assert_true (seen);
      /* Ended by its command_timeout, not by anything sooner. */
      g_assert_cmpfloat (took, >=, SILENT_TIMEOUT - 0.05);

      dal_test_proxy_set_frozen (proxy, FALSE);
      DalConnection *conn;
      if (blocking)
        {
          g_assert_true (poll_until (borrower_done, &b, dal_test_scaled_ms (5000)));
          g_thread_join (t);
          g_assert_no_error (b.error);
          conn = g_steal_pointer (&b.conn);
        }
      else
        {
          wait_call (&c, 5000);
          g_assert_no_error (c.error);
          conn = g_steal_pointer (&c.conn);
        }
      g_assert_nonnull (conn);
      g_autofree char *pid = backend_pid (conn);
      g_assert_cmpstr (pid, !=, old_pid);
      g_autofree char *v = conn_value (conn, "SELECT 'served'");
      g_assert_cmpstr (v, ==, "served");
      dal_pool_release (pool, conn);
      stats (pool, &s2);
      g_assert_cmpuint (s2.failed_health_checks, ==, s0.failed_health_checks + 1);
      g_assert_cmpuint (s2.created, ==, s0.created + 1);
      g_assert_cmpuint (s2.size, ==, 1);
      /* The old backend goes once the network passes the close on. */
      Backends one = { app, 1 };
      g_assert_true (poll_until (backends_are, &one, dal_test_scaled_ms (5000)));
    }
  dal_pool_close (pool);
  g_object_unref (pool);
  dal_test_proxy_free (proxy);
}

static gboolean
faults_replaced (gpointer data)
{
  Count *c = data;
  DalPoolStats s;
  stats (c->pool, &s);
  return s.replaced_after_faults >= c->want && s.size >= 1 && s.in_use == 0;
}

/* Gives @conn back from inside a dispatch of this thread's context (a
 * connection living there is then reset from that context, its reset
 * statements sent together). */
typedef struct
{
  DalPool *pool;
  DalConnection *conn;
  gboolean done;
} Releaser;

static gboolean
release_in_dispatch (gpointer data)
{
  Releaser *r = data;
  dal_pool_release (r->pool, g_steal_pointer (&r->conn));
  r->done = TRUE;
  return G_SOURCE_REMOVE;
}

/* Replaced after a fault, and nothing borrowed (the network may still be
 * away: the size is not asked). */
static gboolean
fault_counted (gpointer data)
{
  Count *c = data;
  DalPoolStats s;
  stats (c->pool, &s);
  return s.replaced_after_faults >= c->want && s.in_use == 0;
}

/* A borrower gives back a connection whose reset fails; it must go, not
 * to the next borrower: replaced at the release (replaced_after_faults,
 * before anyone borrows again), and the next borrower gets another
 * backend, which works, with no backend left behind.  The reset fails
 *   - because the server killed the backend while it was in a
 *     transaction (ROLLBACK cannot be sent);
 *   - on a live connection whose network went silent after the borrower
 *     changed a setting: the reset statements end by command_timeout,
 *     then cancel_timeout (the cancel request goes nowhere either).  (A
 *     borrower cannot make them fail otherwise: CLOSE ALL, UNLISTEN * and
 *     RESET ALL have no failure it can cause, and the advisory locks are
 *     released by pg_catalog's function whatever its search_path says.)
 * Blocking and async borrowers; an async one gives the connection back
 * from inside a dispatch (pgasync then sends the reset pipelined). */
static void
test_reset_fails_replaced (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("reset_fails", scheme);
  /* No check when borrowed: only the release can keep a broken
   * connection from the next borrower. */
  DalTestProxy *proxy;
  DalPool *pool = open_silenceable_pool (scheme, app, "pool_min_size=1&pool_max_size=2&"
                                         "pool_check_idle=60", &proxy);

  for (int round = 0; round < 4; round++)
    {
      gboolean blocking = round % 2 == 1;
      gboolean killed = round < 2;
      DalPoolStats s0, s1;
      stats (pool, &s0);
      DalConnection *conn = borrow (pool, "dirty", blocking);
      g_autofree char *pid = backend_pid (conn);
      if (killed)
        {
          g_assert_true (dal_connection_begin (conn, NULL, NULL));
          conn_exec (conn, "SELECT 'in a transaction'");
          terminate (pid);
        }
      else
        {
          conn_exec (conn, "SET search_path = pg_catalog");
          dal_test_proxy_set_frozen (proxy, TRUE);
        }
      if (blocking)
        dal_pool_release (pool, conn);
      else
        {
          Releaser r = { pool, conn, FALSE };
          g_idle_add (release_in_dispatch, &r);
          dal_test_wait_for (&r.done, 5000);
        }
      Count replaced = { pool, s0.replaced_after_faults + 1 };
      g_assert_true (poll_until (fault_counted, &replaced,
                                 dal_test_scaled_ms (2 * SILENT_TIMEOUT * 1000 + 3000)));
      if (!killed)
        dal_test_proxy_set_frozen (proxy, FALSE);
      g_assert_true (poll_until (faults_replaced, &replaced, dal_test_scaled_ms (5000)));
      stats (pool, &s1);
      g_test_message ("%s, %s: resets %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT,
                      killed ? "killed" : "network silent", blocking ? "blocking" : "async",
                      s0.resets, s1.resets);
      g_assert_cmpuint (s1.replaced_after_faults, ==, s0.replaced_after_faults + 1);
      g_assert_cmpuint (s1.closed, ==, s0.closed + 1);
      g_assert_cmpuint (s1.acquired, ==, s0.acquired + 1);
      if (!killed)
        g_assert_cmpuint (s1.resets, ==, s0.resets + 1);

      DalConnection *next = borrow (pool, "next", blocking);
      g_autofree char *pid2 = backend_pid (next);
      g_assert_cmpstr (pid2, !=, pid);
      g_autofree char *path = conn_value (next, "SHOW search_path");
      g_assert_cmpstr (path, !=, "pg_catalog");
      g_autofree char *status = dal_connection_get_info (next, "transaction_status");
      g_assert_cmpstr (status, ==, "idle");
      dal_pool_release (pool, next);
      g_assert_cmpuint (dal_test_count_backends (app), <=, 2);
      Backends one = { app, 1 };
      g_assert_true (poll_until (backends_are, &one, dal_test_scaled_ms (5000)));
    }
  dal_pool_close (pool);
  g_object_unref (pool);
  dal_test_proxy_free (proxy);
}

static gboolean
size_reached (gpointer data)
{
  Count *c = data;
  DalPoolStats s;
  stats (c->pool, &s);
  return s.size >= c->want;
}

/* min_size is kept while the server is down, with backoff: the pool, two
 * connections through a proxy, loses the server (the proxy goes: its
 * connections close, its port refuses); its next one-shot finds both
 * connections gone and fails with the connect error.  Then, with no
 * traffic, the pool goes on trying to open its two connections, each
 * round of two after a backoff of 50 ms doubling up to 250 ms, ±25 %
 * (core/dal-pool-open.c: open_done(), jitter_ms()); once the server is
 * back on the same port it is whole again (min_size) within a second,
 * still with no traffic, and serves. */
static void
test_refill_backoff (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("refill", scheme);
  /* On a port below Linux's ephemeral range (32768-60999 by default), so
   * that no outgoing connection of the other tests running meanwhile
   * takes it while the server is away. */
  DalTestProxy *proxy = NULL;
  for (guint i = 0; proxy == NULL && i < 200; i++)
    proxy = dal_test_proxy_new (g_random_int_range (20000, 32768), server_port (), 0, 0);
  g_assert_nonnull (proxy);
  guint16 port = dal_test_proxy_get_port (proxy);
  /* A short acquire timeout, though not the one that should end the
   * one-shot below: the failed connect should, at once. */
  g_autofree char *extra = g_strdup_printf ("pool_min_size=2&pool_max_size=2&"
                                            "pool_acquire_timeout=%.3f",
                                            dal_test_scaled_ms (2000) / 1000.0);
  g_autofree char *url = proxy_pool_url (proxy, scheme, app, extra);
  DalPool *pool = open_pool (url);
  g_assert_cmpuint (dal_test_count_backends (app), ==, 2);

  dal_test_proxy_free (proxy);
  g_autoptr (GError) error = NULL;
  double t = now_s ();
  g_autoptr (DalResult) r = dal_pool_query (pool, "SELECT 1", NULL, NULL, &error);
  g_assert_null (r);
  g_test_message ("one-shot while the server is away, after %.3f s: %s", now_s () - t,
                  error->message);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_REFUSED);

  DalPoolStats s0, s1, s2;
  stats (pool, &s0);
  g_assert_cmpuint (s0.size, ==, 0);
  g_assert_cmpuint (s0.connect_failures, >=, 1);
  double t0 = now_s ();
  iterate_for (1500);  /* time passing is what is tested */
  stats (pool, &s1);
  double window_ms = (now_s () - t0) * 1000;
  guint64 failures = s1.connect_failures - s0.connect_failures;
  /* Rounds of (at most) two opens: the first of the window at once at
   * worst, the next >= 0.75 * 200 ms later (the backoff after a round is
   * at least 200 ms), then every >= 0.75 * 250 ms. */
  guint64 rounds = 2 + (guint64) (window_ms / 187.5);
  g_test_message ("%" G_GUINT64_FORMAT " failed connects in %.0f ms (at most %" G_GUINT64_FORMAT
                  " expected)", failures, window_ms, 2 * rounds);
  g_assert_cmpuint (failures, >=, 2);
  g_assert_cmpuint (failures, <=, 2 * rounds + 2);
  g_assert_cmpuint (s1.size, ==, 0);

  proxy = dal_test_proxy_new (port, server_port (), 0, 0);
  g_assert_nonnull (proxy);
  double back = now_s ();
  Count whole = { pool, 2 };
  gboolean ok = poll_until (size_reached, &whole, dal_test_scaled_ms (1000));
  double took = now_s () - back;
  g_test_message ("whole again %.3f s after the server came back", took);
  g_assert_true (ok);
  stats (pool, &s2);
  g_assert_cmpuint (s2.created, ==, s0.created + 2);
  g_autofree char *v = pool_value (pool, "SELECT 'back'");
  g_assert_cmpstr (v, ==, "back");
  Backends two = { app, 2 };
  g_assert_true (poll_until (backends_are, &two, dal_test_scaled_ms (5000)));
  dal_pool_close (pool);
  g_object_unref (pool);
  dal_test_proxy_free (proxy);
}

static void
test_terminate_idle (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("kill_idle", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=2&pool_max_size=2");
  g_autoptr (DalPool) pool = open_pool (url);
  DalConnection *a = acquire_wait (pool, "a");
  DalConnection *b = acquire_wait (pool, "b");
  g_autofree char *pid_a = backend_pid (a);
  dal_pool_release (pool, a);
  dal_pool_release (pool, b);
  DalPoolStats s0;
  stats (pool, &s0);

  terminate (pid_a);
  for (int i = 0; i < 10; i++)
    {
      g_autofree char *v = pool_value (pool, "SELECT 'after the kill'");
      g_assert_cmpstr (v, ==, "after the kill");
    }
  a = acquire_wait (pool, "a2");
  b = acquire_wait (pool, "b2");
  g_autofree char *v1 = conn_value (a, "SELECT pg_backend_pid()::text");
  g_autofree char *v2 = conn_value (b, "SELECT pg_backend_pid()::text");
  g_assert_cmpstr (v1, !=, pid_a);
  g_assert_cmpstr (v2, !=, pid_a);
  dal_pool_release (pool, a);
  dal_pool_release (pool, b);
  DalPoolStats s1;
  stats (pool, &s1);
  g_assert_cmpuint (s1.replaced_after_faults, >, s0.replaced_after_faults);
  g_assert_cmpuint (s1.size, ==, 2);
  g_assert_cmpuint (dal_test_count_backends (app), ==, 2);
}

/* Concurrent callers looping one-shots until told to stop. */
typedef struct
{
  DalPool *pool;
  guint id;
  guint issued;
  guint completed;
  guint ok;
  guint errors;
  gboolean in_flight;
  gboolean twice;       /* a completion for nothing in flight */
  gboolean wrong;       /* a wrong value */
  const gboolean *stop;
  guint *n_idle;        /* callers with nothing in flight once stopped */
  gboolean quiet;       /* errors are expected (the server restarts) */
} Looper;

static void looper_next (Looper *l);

static void
looper_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Looper *l = user_data;
  g_autoptr (GError) error = NULL;
  (void) source;
  g_autoptr (DalResult) r = dal_pool_query_finish (l->pool, res, &error);
  if (!l->in_flight)
    l->twice = TRUE;
  l->in_flight = FALSE;
  l->completed++;
  if (r != NULL)
    {
      l->ok++;
      if (dal_result_get_int64 (r, 0, 0, NULL) != (gint64) l->id * 100000 + l->issued)
        l->wrong = TRUE;
    }
  else
    {
      l->errors++;
      if (!l->quiet)
        g_test_message ("caller %u: %s", l->id, error->message);
    }
  looper_next (l);
}

static void
looper_next (Looper *l)
{
  if (*l->stop)
    {
      (*l->n_idle)++;
      return;
    }
  l->issued++;
  l->in_flight = TRUE;
  dal_pool_query_async (l->pool, "SELECT $1::bigint", g_variant_new_int64 ((gint64) l->id * 100000 + l->issued),
                        NULL, looper_done, l);
}

static gboolean
looper_start (gpointer data)
{
  looper_next (data);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  DalPool *pool;
  guint want_size;
} Whole;

static gboolean
pool_is_whole (gpointer data)
{
  Whole *w = data;
  DalPoolStats s;
  stats (w->pool, &s);
  if (s.size < w->want_size)
    return FALSE;
  /* A one-shot succeeds (async, as the callers around it; it may wait
   * for a connection, not longer than the whole check may take). */
  Call c = { .pool = w->pool };
  dal_pool_query_async (w->pool, "SELECT 1", NULL, NULL, query_done, &c);
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (1000) * 1000;
  while (!c.done && g_get_monotonic_time () < end)
    iterate_for (10);
  if (!c.done)
    {
      /* Still waiting: the call completes later, into this frame no more. */
      dal_test_wait_for (&c.done, 30000);
      call_clear (&c);
      return FALSE;
    }
  gboolean ok = c.result != NULL;
  call_clear (&c);
  return ok;
}

/* A one-shot on a connection the server kills gets connection-lost;
 * callers on the other connections never notice. */
static void
test_terminate_busy (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("kill_busy", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=3&pool_max_size=3");
  g_autoptr (DalPool) pool = open_pool (url);
  DalPoolStats s0;
  stats (pool, &s0);

  Call sleeper = { .pool = pool };
  dal_pool_query_async (pool, "SELECT pg_sleep(5)", NULL, NULL, query_done, &sleeper);
  gboolean stop = FALSE;
  guint n_idle = 0;
  Looper loopers[2];
  for (guint i = 0; i < G_N_ELEMENTS (loopers); i++)
    {
      loopers[i] = (Looper) { .pool = pool, .id = i + 1, .stop = &stop, .n_idle = &n_idle };
      g_idle_add (looper_start, &loopers[i]);
    }
  /* Find the sleeping backend (bounded). */
  g_autofree char *pid = NULL;
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (5000) * 1000;
  while (pid == NULL && g_get_monotonic_time () < end)
    {
      pid = admin_value ("SELECT pid FROM pg_stat_activity WHERE application_name = '%s' "
                         "AND query = 'SELECT pg_sleep(5)' AND state = 'active'", app);
      if (pid == NULL)
        iterate_for (50);
    }
  g_assert_nonnull (pid);
  iterate_for (100);  /* let the loopers run alongside */
  terminate (pid);
  wait_call (&sleeper, 5000);
  g_assert_null (sleeper.result);
  g_assert_error (sleeper.error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  iterate_for (100);
  stop = TRUE;
  end = g_get_monotonic_time () + dal_test_scaled_ms (5000) * 1000;
  while (n_idle < G_N_ELEMENTS (loopers) && g_get_monotonic_time () < end)
    iterate_for (50);
  g_assert_cmpuint (n_idle, ==, G_N_ELEMENTS (loopers));
  for (guint i = 0; i < G_N_ELEMENTS (loopers); i++)
    {
      g_test_message ("caller %u: %u ok, %u errors", loopers[i].id, loopers[i].ok, loopers[i].errors);
      g_assert_cmpuint (loopers[i].errors, ==, 0);
      g_assert_cmpuint (loopers[i].ok, >, 0);
      g_assert_false (loopers[i].twice);
      g_assert_false (loopers[i].wrong);
      g_assert_cmpuint (loopers[i].completed, ==, loopers[i].issued);
    }
  call_clear (&sleeper);
  Whole w = { pool, 3 };
  g_assert_true (poll_until (pool_is_whole, &w, dal_test_scaled_ms (2000)));
  DalPoolStats s1;
  stats (pool, &s1);
  g_assert_cmpuint (s1.replaced_after_faults, >, s0.replaced_after_faults);
  g_assert_cmpuint (dal_test_count_backends (app), <=, 3);
}

/* A server restart under 50 callers looping one-shots. */
#define RESTART_CALLERS 50

typedef struct
{
  gboolean done;
  double at;
} Restart;

static gpointer
restart_thread (gpointer data)
{
  Restart *r = data;
  dal_test_server_restart ();
  r->at = now_s ();
  /* Set on the main context, which waits for it. */
  g_main_context_invoke (NULL, set_flag, &r->done);
  return NULL;
}

static void
test_server_restart (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("restart", scheme);
  enum { MIN = 4, MAX = 8 };
  /* On the harness's second cluster: restarting the first would break
   * the test programs that run beside this one. */
  const char *port = dal_test_env ("DAL_TEST_PG_RESTART_PORT");
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", port);
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *q = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s&application_name=%s&"
                                        "pool_min_size=4&pool_max_size=8&pool_acquire_timeout=20",
                                        ca, app);
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (DalPool) pool = open_pool (url);

  gboolean stop = FALSE;
  guint n_idle = 0;
  Looper *loopers = g_new0 (Looper, RESTART_CALLERS);
  for (guint i = 0; i < RESTART_CALLERS; i++)
    {
      loopers[i] = (Looper) { .pool = pool, .id = i + 1, .stop = &stop, .n_idle = &n_idle,
                              .quiet = TRUE };
      g_idle_add (looper_start, &loopers[i]);
    }
  iterate_for (200);
  Restart r = { 0 };
  GThread *t = g_thread_new ("restart", restart_thread, &r);
  dal_test_wait_for (&r.done, 90000);
  g_thread_join (t);

  /* Whole again within 1 s of the server accepting connections. */
  Whole w = { pool, MIN };
  gboolean whole = poll_until (pool_is_whole, &w, dal_test_scaled_ms (1000));
  double took = now_s () - r.at;
  g_test_message ("pool whole again %.3f s after the server came back", took);
  g_assert_true (whole);
  g_assert_cmpfloat (took, <=, dal_test_scaled_ms (1000) / 1000.0 + 0.1);

  /* The callers go on for a moment, then stop; every call completes
   * exactly once, none hangs. */
  guint ok_at_restart = 0;
  for (guint i = 0; i < RESTART_CALLERS; i++)
    ok_at_restart += loopers[i].ok;
  iterate_for (300);
  stop = TRUE;
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (30000) * 1000;
  while (n_idle < RESTART_CALLERS && g_get_monotonic_time () < end)
    iterate_for (50);
  g_assert_cmpuint (n_idle, ==, RESTART_CALLERS);
  guint ok = 0, errors = 0;
  for (guint i = 0; i < RESTART_CALLERS; i++)
    {
      g_assert_false (loopers[i].twice);
      g_assert_false (loopers[i].wrong);
      g_assert_cmpuint (loopers[i].completed, ==, loopers[i].issued);
      ok += loopers[i].ok;
      errors += loopers[i].errors;
    }
  g_test_message ("%u calls succeeded, %u failed", ok, errors);
  g_assert_cmpuint (ok, >, ok_at_restart);

  g_assert_cmpuint (dal_test_count_backends_port (port, app), <=, MAX);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.size, >=, MIN);
  g_assert_cmpuint (s.size, <=, MAX);
  g_assert_cmpuint (s.one_shots_in_flight, ==, 0);
  g_free (loopers);
}

static void
capture_result (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* A connection lent for blocking calls and given back with
 * dal_pool_release() is reset before that call returns: a program may
 * close its pool and end right after. */
static void
test_release_blocking_reset (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("rel_block", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_pool_acquire (pool, "rel", -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dal_connection_begin (conn, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *in_tx = conn_value (conn, "SELECT 'in a transaction'");
  DalPoolStats s0, s1;
  stats (pool, &s0);
  dal_pool_release (pool, conn);
  stats (pool, &s1);
  g_assert_cmpuint (s1.resets, ==, s0.resets + 1);
  g_assert_cmpuint (s1.in_use, ==, 0);
  g_assert_cmpuint (s1.idle, ==, 1);
  dal_pool_close (pool);
}

/* Threads of this process named "dal-pool" (the pools' own). */
static guint
pool_threads (void)
{
  guint n = 0;
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  g_assert_nonnull (dir);
  const char *tid;
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", tid, "comm", NULL);
      g_autofree char *comm = NULL;
      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "dal-pool"))
        n++;
    }
  return n;
}

/* A failed open (wrong password, several connections being opened at
 * once) and a dropped pool leave nothing behind: no connection still
 * being opened, no thread, once the call returns (a program that ends
 * next must not find OpenSSL mid-handshake on the pool's thread). */
static void
test_open_failure_cleanup (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  guint before = pool_threads ();
  g_autofree char *host = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *q = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s&pool_min_size=4", ca);
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            "not-the-password", host,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  for (int i = 0; i < 5; i++)
    {
      g_autoptr (GError) error = NULL;
      DalPool *pool = dal_pool_open (url, NULL, &error);
      g_assert_null (pool);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_AUTH_FAILED);
      g_assert_cmpuint (pool_threads (), ==, before);
    }
  g_autofree char *app = app_name ("cleanup", scheme);
  g_autofree char *good = pool_url (scheme, app, "pool_min_size=2");
  DalPool *pool = open_pool (good);
  g_assert_cmpuint (pool_threads (), ==, before + 1);
  g_object_unref (pool);
  g_assert_cmpuint (pool_threads (), ==, before);
}

/* A one-shot that changes the session runs on a connection of its own,
 * reset afterwards: the next one-shot, on the same backend, sees none of
 * it, and the reset is counted. */
static void
test_oneshot_session (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("oneshot_set", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  g_autofree char *pid0 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_autofree char *before = pool_value (pool, "SHOW search_path");
  DalPoolStats s0, s1;
  stats (pool, &s0);
  g_autofree char *set = pool_value (pool, "SELECT set_config('search_path', 'pg_catalog', false)");
  g_assert_cmpstr (set, ==, "pg_catalog");
  g_autofree char *after = pool_value (pool, "SHOW search_path");
  g_autofree char *pid1 = pool_value (pool, "SELECT pg_backend_pid()::text");
  stats (pool, &s1);
  g_assert_cmpstr (pid1, ==, pid0);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpuint (s1.resets, ==, s0.resets + 1);
}

/* A pgasync connection lent by the blocking dal_pool_acquire() has its
 * events on no live main context: an async call on it fails at once with
 * a message saying what to use, instead of never completing; blocking
 * calls work.  dal_pool_acquire_async() lends one for async calls. */
static void
test_blocking_lend (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *app = app_name ("lend", ASYNCPG);
  g_autofree char *url = pool_url (ASYNCPG, app, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalPool) pool = open_pool (url);
  g_autoptr (GError) error = NULL;
  DalConnection *conn = dal_pool_acquire (pool, NULL, -1, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 7", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "7");

  GAsyncResult *res = NULL;
  dal_connection_query_async (conn, "SELECT 8", NULL, NULL, capture_result, &res);
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (2000) * 1000;
  while (res == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (res);
  g_autoptr (DalResult) r2 = dal_connection_query_finish (conn, res, &error);
  g_assert_null (r2);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "dal_pool_acquire_async"));
  g_clear_object (&res);
  g_clear_error (&error);
  dal_pool_release (pool, conn);

  /* Borrowed async, it serves async calls. */
  GAsyncResult *acq = NULL;
  dal_pool_acquire_async (pool, NULL, -1, NULL, capture_result, &acq);
  while (acq == NULL)
    g_main_context_iteration (NULL, TRUE);
  conn = dal_pool_acquire_finish (pool, acq, &error);
  g_assert_no_error (error);
  g_clear_object (&acq);
  dal_connection_query_async (conn, "SELECT 9", NULL, NULL, capture_result, &res);
  end = g_get_monotonic_time () + dal_test_scaled_ms (5000) * 1000;
  while (res == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (res);
  g_autoptr (DalResult) r3 = dal_connection_query_finish (conn, res, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r3, 0, 0, NULL), ==, "9");
  g_clear_object (&res);
  dal_pool_release (pool, conn);
}

/* poll_until() without iterating any context: checks @cond every 5 ms,
 * for at most @timeout_ms (scaled). */
static gboolean
sleep_until (Cond cond, gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (timeout_ms) * 1000;
  while (!cond (data))
    {
      if (g_get_monotonic_time () >= end)
        return FALSE;
      g_usleep (5000);
    }
  return TRUE;
}

static gboolean
context_pending (gpointer context)
{
  return g_main_context_pending (context);
}

static gboolean
atomic_flag_set (gpointer flag)
{
  return g_atomic_int_get ((gint *) flag) != 0;
}

static gboolean
pool_is_empty (gpointer data)
{
  DalPoolStats s;
  stats (data, &s);
  return s.size == 0;
}

/* A live pgasync connection (its home: this thread's context) is wanted
 * by a blocking acquire on another thread, so the pool queues a park of it
 * on its home; before that context runs again, the housekeeping timer
 * takes the connection out of the pool (idle longer than pool_max_idle).
 * The removal leaves the closing to the queued park, which runs once the
 * context does; the blocking acquire gets a new connection meanwhile and
 * never waits for this context.  (Were the connection closed and its
 * record freed at the removal, the park would then read freed memory:
 * ASan and valgrind runs of this test fail on that.) */
static void
test_park_removed (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *app = app_name ("park_removed", ASYNCPG);
  g_autofree char *url = pool_url (ASYNCPG, app, "pool_min_size=0&pool_max_size=1&"
                                   "pool_max_idle=0.3&pool_acquire_timeout=30");
  g_autoptr (DalPool) pool = open_pool (url);
  GMainContext *ctx = g_main_context_default ();

  Call c = { .pool = pool };
  dal_pool_query_async (pool, "SELECT 1", NULL, NULL, query_done, &c);
  wait_call (&c, 10000);
  g_assert_no_error (c.error);
  call_clear (&c);

  /* Nobody iterates this context now; this thread owns it, so the park
   * the blocking call asks for is queued there, not run at once. */
  g_assert_true (g_main_context_acquire (ctx));
  Borrower b = { .pool = pool };
  GThread *t = g_thread_new ("borrower", borrower_thread, &b);
  g_assert_true (sleep_until (context_pending, ctx, 5000));
  g_main_context_release (ctx);

  /* pool_max_idle takes the connection out (it never became free for the
   * blocking acquire), and the pool opens another for that acquire. */
  g_assert_true (sleep_until (borrower_done, &b, 10000));
  g_thread_join (t);
  g_assert_no_error (b.error);
  g_autofree char *v = conn_value (b.conn, "SELECT 'from a thread'");
  g_assert_cmpstr (v, ==, "from a thread");
  dal_pool_release (pool, b.conn);
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.created, ==, 2);
  g_assert_cmpuint (s.closed, >=, 1);

  /* The park runs now and closes the connection; both go (idle), and no
   * backend is left behind. */
  g_assert_true (poll_until (pool_is_empty, pool, dal_test_scaled_ms (5000)));
  stats (pool, &s);
  g_assert_cmpuint (s.closed, ==, 2);
  Backends none = { app, 0 };
  g_assert_true (poll_until (backends_are, &none, dal_test_scaled_ms (5000)));
}

/* ===================================================================
 * Cancelling one of 8 pipelined one-shots (pgasync)
 * =================================================================== */

static void
test_cancel_pipelined (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *app = app_name ("cancel_pipe", ASYNCPG);
  g_autofree char *url = pool_url (ASYNCPG, app, "pool_min_size=1&pool_max_size=1&pool_depth=8");
  g_autoptr (DalPool) pool = open_pool (url);
  guint rounds = dal_test_under_valgrind () ? 100 : 1000;
  guint cancelled = 0, finished_first = 0;
  g_autofree char *pid0 = pool_value (pool, "SELECT pg_backend_pid()::text");

  for (guint round = 0; round < rounds; round++)
    {
      Call calls[8];
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      guint victim = round % 8;
      for (guint i = 0; i < 8; i++)
        {
          calls[i] = (Call) { .pool = pool };
          dal_pool_query_async (pool, "SELECT $1::int FROM pg_sleep(0.0005)",
                                g_variant_new_int32 ((gint32) (round * 8 + i)),
                                i == victim ? cancellable : NULL, query_done, &calls[i]);
        }
      /* Cancel at different moments: at once, or after some iterations. */
      for (guint k = 0; k < round % 5; k++)
        g_main_context_iteration (NULL, FALSE);
      g_cancellable_cancel (cancellable);
      for (guint i = 0; i < 8; i++)
        {
          wait_call (&calls[i], 10000);
          if (i == victim)
            {
              if (calls[i].error != NULL)
                {
                  g_assert_error (calls[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
                  cancelled++;
                }
              else
                {
                  g_assert_cmpint (dal_result_get_int64 (calls[i].result, 0, 0, NULL), ==,
                                   round * 8 + i);
                  finished_first++;
                }
            }
          else
            {
              if (calls[i].error != NULL)
                g_error ("round %u: statement %u (cancelled: %u) failed: %s", round, i, victim,
                         calls[i].error->message);
              g_assert_cmpint (dal_result_get_int64 (calls[i].result, 0, 0, NULL), ==,
                               round * 8 + i);
            }
          call_clear (&calls[i]);
        }
    }
  DalPoolStats s;
  stats (pool, &s);
  g_test_message ("%u rounds: %u cancelled, %u finished first; %" G_GUINT64_FORMAT
                  " retried, %" G_GUINT64_FORMAT " connections created",
                  rounds, cancelled, finished_first, s.retried, s.created);
  g_assert_cmpuint (cancelled + finished_first, ==, rounds);
  g_assert_cmpuint (cancelled, >, 0);
  g_assert_cmpuint (s.size, ==, 1);
  g_assert_cmpuint (s.one_shots_in_flight, ==, 0);
}

/* ===================================================================
 * Through PgBouncer in transaction mode, under load
 * =================================================================== */

typedef struct
{
  DalPool *pool;
  guint id;
  guint n_one, n_tx;
  guint one_done, tx_done;
  guint errors;
  DalConnection *conn;
  gboolean finished;
  guint *n_finished;
} Loader;

static void loader_next (Loader *l);

static void
loader_error (Loader *l, const char *what, GError *error)
{
  if (l->errors++ == 0)
    g_test_message ("caller %u, %s: %s", l->id, what, error->message);
}

static gint64
loader_value (Loader *l)
{
  return (gint64) l->id * 100000 + l->one_done * 100 + l->tx_done;
}

static void
loader_one_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Loader *l = user_data;
  g_autoptr (GError) error = NULL;
  (void) source;
  g_autoptr (DalResult) r = dal_pool_query_finish (l->pool, res, &error);
  if (r == NULL)
    loader_error (l, "one-shot", error);
  else if (dal_result_get_int64 (r, 0, 0, NULL) != loader_value (l))
    l->errors++;
  l->one_done++;
  loader_next (l);
}

static void
loader_committed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Loader *l = user_data;
  g_autoptr (GError) error = NULL;
  if (!dal_connection_commit_finish (DAL_CONNECTION (source), res, &error))
    loader_error (l, "COMMIT", error);
  dal_pool_release (l->pool, g_steal_pointer (&l->conn));
  l->tx_done++;
  loader_next (l);
}

static void
loader_queried (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Loader *l = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), res, &error);
  if (r == NULL)
    loader_error (l, "statement in a transaction", error);
  else if (dal_result_get_int64 (r, 0, 0, NULL) != loader_value (l))
    l->errors++;
  dal_connection_commit_async (l->conn, NULL, loader_committed, l);
}

static void
loader_begun (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Loader *l = user_data;
  g_autoptr (GError) error = NULL;
  if (!dal_connection_begin_finish (DAL_CONNECTION (source), res, &error))
    loader_error (l, "BEGIN", error);
  dal_connection_query_async (l->conn, "SELECT $1::bigint",
                              g_variant_new_int64 (loader_value (l)), NULL, loader_queried, l);
}

static void
loader_acquired (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Loader *l = user_data;
  g_autoptr (GError) error = NULL;
  (void) source;
  l->conn = dal_pool_acquire_finish (l->pool, res, &error);
  if (l->conn == NULL)
    {
      loader_error (l, "acquire", error);
      l->tx_done++;
      loader_next (l);
      return;
    }
  dal_connection_begin_async (l->conn, NULL, loader_begun, l);
}

static void
loader_next (Loader *l)
{
  if (l->one_done < l->n_one)
    dal_pool_query_async (l->pool, "SELECT $1::bigint", g_variant_new_int64 (loader_value (l)),
                          NULL, loader_one_done, l);
  else if (l->tx_done < l->n_tx)
    dal_pool_acquire_async (l->pool, "bouncer-load", -1, NULL, loader_acquired, l);
  else if (!l->finished)
    {
      l->finished = TRUE;
      (*l->n_finished)++;
    }
}

static gboolean
loader_start (gpointer data)
{
  loader_next (data);
  return G_SOURCE_REMOVE;
}

/* Holds every server connection of PgBouncer's pool at once (each client
 * in a transaction keeps its own) and looks at what is prepared there. */
static void
assert_no_prepared_statements_behind_bouncer (const char *scheme)
{
  enum { SERVERS = 5 };  /* the harness's default_pool_size */
  g_autofree char *url = bouncer_url (scheme, NULL, "command_timeout=60");
  DalConnection *conns[SERVERS];
  g_autoptr (GHashTable) pids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < SERVERS; i++)
    {
      g_autoptr (GError) error = NULL;
      conns[i] = dal_connection_open (url, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (dal_connection_begin (conns[i], NULL, &error));
      g_assert_no_error (error);
      g_autoptr (DalResult) r = dal_connection_query (conns[i],
                                                      "SELECT pg_backend_pid()::text, "
                                                      "(SELECT count(*) FROM pg_prepared_statements)",
                                                      NULL, NULL, &error);
      g_assert_no_error (error);
      g_hash_table_add (pids, g_strdup (dal_result_get_string (r, 0, 0, NULL)));
      g_assert_cmpint (dal_result_get_int64 (r, 0, 1, NULL), ==, 0);
    }
  g_assert_cmpuint (g_hash_table_size (pids), ==, SERVERS);
  for (guint i = 0; i < SERVERS; i++)
    {
      g_assert_true (dal_connection_rollback (conns[i], NULL, NULL));
      g_object_unref (conns[i]);
    }
}

#define LOAD_CALLERS 100

static void
test_bouncer_load (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (!bouncer_or_skip ())
    return;
  const char *scheme = data;
  gboolean small = dal_test_under_valgrind ();
  guint n_callers = small ? 20 : LOAD_CALLERS;
  g_autofree char *app = app_name ("bouncer_load", scheme);
  /* The statement cache asked for, and forced off behind the pooler. */
  g_autofree char *url = bouncer_url (scheme, app, "statement_cache_size=100&pool_min_size=2&"
                                      "pool_max_size=10&pool_acquire_timeout=60");
  g_autoptr (DalPool) pool = open_pool (url);
  {
    DalConnection *c = acquire_wait (pool, "look");
    g_autofree char *size = dal_connection_get_info (c, "statement_cache_size");
    if (is_async_plugin (scheme))
      g_assert_cmpstr (size, ==, "0");
    else
      g_assert_true (size == NULL || strcmp (size, "0") == 0);
    dal_pool_release (pool, c);
  }

  guint n_finished = 0;
  Loader *loaders = g_new0 (Loader, n_callers);
  double t0 = now_s ();
  for (guint i = 0; i < n_callers; i++)
    {
      loaders[i] = (Loader) { .pool = pool, .id = i + 1, .n_one = small ? 20 : 100,
                              .n_tx = small ? 5 : 10, .n_finished = &n_finished };
      g_idle_add (loader_start, &loaders[i]);
    }
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (120000) * 1000;
  while (n_finished < n_callers && g_get_monotonic_time () < end)
    iterate_for (50);
  g_assert_cmpuint (n_finished, ==, n_callers);
  guint errors = 0;
  for (guint i = 0; i < n_callers; i++)
    {
      errors += loaders[i].errors;
      g_assert_cmpuint (loaders[i].one_done, ==, loaders[i].n_one);
      g_assert_cmpuint (loaders[i].tx_done, ==, loaders[i].n_tx);
    }
  DalPoolStats s;
  stats (pool, &s);
  g_test_message ("%u callers in %.2f s: %u errors; %" G_GUINT64_FORMAT " one-shots, %"
                  G_GUINT64_FORMAT " acquired, %" G_GUINT64_FORMAT " created, size %u",
                  n_callers, now_s () - t0, errors, s.one_shots, s.acquired, s.created, s.size);
  g_assert_cmpuint (errors, ==, 0);
  g_assert_cmpuint (s.size, <=, 10);
  g_assert_cmpuint (s.in_use, ==, 0);
  g_free (loaders);
  dal_pool_close (pool);
  assert_no_prepared_statements_behind_bouncer (scheme);
}

/* ===================================================================
 * 16 threads, blocking calls
 * =================================================================== */

#define THREADS 16

typedef struct
{
  DalPool *pool;
  guint id;
  guint rounds;
  guint wrong;
  guint errors;
  char *first_problem;      /* what went wrong first, for the log */
} Worker;

/* Counts a failed call (@error) or a wrong answer (@error NULL) of @w's,
 * keeping the first for the log. */
static void
worker_problem (Worker *w, guint round, const char *what, const GError *error)
{
  if (error != NULL)
    w->errors++;
  else
    w->wrong++;
  if (w->first_problem == NULL)
    w->first_problem = g_strdup_printf ("round %u, %s: %s (at %.3f s)", round, what,
                                        error != NULL ? error->message : "wrong answer",
                                        g_get_monotonic_time () / 1e6);
}

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  for (guint i = 0; i < w->rounds; i++)
    {
      gint64 x = (gint64) w->id * 1000000 + i;
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (DalResult) r = dal_pool_query (w->pool, "SELECT $1::bigint * 3",
                                                  g_variant_new_int64 (x), NULL, &error);
        if (r == NULL)
          worker_problem (w, i, "one-shot", error);
        else if (dal_result_get_int64 (r, 0, 0, NULL) != x * 3)
          worker_problem (w, i, "one-shot", NULL);
      }
      if (i % 4 == 0)
        {
          g_autoptr (GError) error = NULL;
          DalConnection *c = dal_pool_acquire (w->pool, "worker", -1, NULL, &error);
          if (c == NULL)
            {
              worker_problem (w, i, "acquire", error);
              continue;
            }
          const char *values[] = { NULL };
          g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, x);
          values[0] = text;
          g_autoptr (DalResult) r = dal_connection_query_texts (c, "SELECT $1::bigint + 7", 1,
                                                                values, NULL, &error);
          if (r == NULL)
            worker_problem (w, i, "borrowed", error);
          else if (dal_result_get_int64 (r, 0, 0, NULL) != x + 7)
            worker_problem (w, i, "borrowed", NULL);
          dal_pool_release (w->pool, c);
        }
    }
  return NULL;
}

static void
test_threads (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("threads", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=2&pool_max_size=6&"
                                   "pool_acquire_timeout=60");
  g_autoptr (DalPool) pool = open_pool (url);
  Worker workers[THREADS];
  GThread *threads[THREADS];
  guint rounds = dal_test_under_valgrind () ? 10 : 100;
  for (guint i = 0; i < THREADS; i++)
    {
      workers[i] = (Worker) { .pool = pool, .id = i + 1, .rounds = rounds };
      threads[i] = g_thread_new ("pool-worker", worker_thread, &workers[i]);
    }
  guint errors = 0, wrong = 0;
  for (guint i = 0; i < THREADS; i++)
    {
      g_thread_join (threads[i]);
      errors += workers[i].errors;
      wrong += workers[i].wrong;
      if (workers[i].first_problem != NULL)
        g_test_message ("thread %u: %u errors, %u wrong; first: %s", workers[i].id,
                        workers[i].errors, workers[i].wrong, workers[i].first_problem);
      g_free (workers[i].first_problem);
    }
  DalPoolStats s;
  stats (pool, &s);
  if (errors + wrong > 0)
    g_test_message ("pool: size %u, in use %u, waiting %u, opening %u, created %"
                    G_GUINT64_FORMAT ", closed %" G_GUINT64_FORMAT ", acquire timeouts %"
                    G_GUINT64_FORMAT ", failed checks %" G_GUINT64_FORMAT ", replaced %"
                    G_GUINT64_FORMAT ", connect failures %" G_GUINT64_FORMAT,
                    s.size, s.in_use, s.waiting, s.opening, s.created, s.closed,
                    s.acquire_timeouts, s.failed_health_checks, s.replaced_after_faults,
                    s.connect_failures);
  g_assert_cmpuint (errors, ==, 0);
  g_assert_cmpuint (wrong, ==, 0);
  g_assert_cmpuint (s.size, <=, 6);
  g_assert_cmpuint (s.in_use, ==, 0);
  g_assert_cmpuint (s.one_shots, >=, THREADS * rounds);
  g_assert_cmpuint (dal_test_count_backends (app), <=, 6);
}

/* ===================================================================
 * One-shots spread over the connections
 * =================================================================== */

/* Waits for @n calls, iterating the thread-default context; after every
 * iteration the pool's counts are read, and the most one-shots ever in
 * flight at once is kept in *@max_in_flight. */
static void
wait_calls_watching (DalPool *pool, Call *calls, guint n, guint timeout_ms,
                     guint *max_in_flight)
{
  gint64 end = g_get_monotonic_time () + dal_test_scaled_ms (timeout_ms) * 1000;
  for (;;)
    {
      DalPoolStats s;
      stats (pool, &s);
      *max_in_flight = MAX (*max_in_flight, s.one_shots_in_flight);
      guint done = 0;
      for (guint i = 0; i < n; i++)
        done += calls[i].done;
      if (done == n)
        break;
      if (g_get_monotonic_time () >= end)
        g_error ("timed out: %u of %u one-shots completed", done, n);
      iterate_for (5);
    }
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (calls[i].calls, ==, 1);
}

typedef struct
{
  DalPool *pool;
  guint in_flight, waiting;           /* wanted */
  guint seen_in_flight, seen_waiting; /* last seen */
} SpreadWant;

static gboolean
spread_is (gpointer data)
{
  SpreadWant *want = data;
  DalPoolStats s;
  stats (want->pool, &s);
  want->seen_in_flight = s.one_shots_in_flight;
  want->seen_waiting = s.waiting;
  return s.one_shots_in_flight == want->in_flight && s.waiting == want->waiting;
}

/* Async one-shots that each take a while, all issued before the context
 * runs, on a pool of two connections opened up front with pool_depth=2.
 * pgasync (it pipelines): of 5, 4 run at once and 1 waits (depth holds);
 * the first two go to different connections and the 4 running are 2 per
 * backend (each goes to the least loaded connection; the 5th only once
 * one of them completed).  The first round finds both connections parked
 * (each is moved to this context by its first one-shot), the later ones
 * find them live here and idle.  pool_check_idle is long: a check (a
 * round trip, the connection busy meanwhile) would keep the second
 * one-shot off the first's connection whatever the pool chose.  pgsync
 * (no pipelining): of 3, 2 run, each on a connection of its own, and 1
 * waits.  Every result is right.  (A pool that ignored pool_depth, or
 * stacked one-shots on the first connection that fits, fails this:
 * checked.) */
static void
test_spread_least_loaded (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  gboolean pipelines = is_async_plugin (scheme);
  guint n = pipelines ? 5 : 3;
  guint running = pipelines ? 4 : 2;
  g_autofree char *app = app_name ("spread", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=2&pool_max_size=2&"
                                   "pool_depth=2&pool_check_idle=60");
  g_autoptr (DalPool) pool = open_pool (url);
  g_assert_cmpuint (dal_test_count_backends (app), ==, 2);

  for (guint round = 0; round < 3; round++)
    {
      Call calls[5];
      for (guint i = 0; i < n; i++)
        {
          calls[i] = (Call) { .pool = pool };
          dal_pool_query_async (pool, "SELECT pg_backend_pid()::text, $1::int "
                                "FROM pg_sleep(0.3)",
                                g_variant_new_int32 ((gint32) (round * 10 + i)), NULL,
                                query_done, &calls[i]);
        }
      /* While they run: @running in flight, the rest waiting. */
      SpreadWant want = { pool, running, n - running, 0, 0 };
      if (!poll_until (spread_is, &want, dal_test_scaled_ms (2000)))
        g_error ("round %u: %u one-shots in flight and %u waiting, not %u and %u",
                 round, want.seen_in_flight, want.seen_waiting, running, n - running);
      for (guint i = 0; i < n; i++)
        g_assert_false (calls[i].done);
      guint max_in_flight = 0;
      wait_calls_watching (pool, calls, n, 10000, &max_in_flight);
      g_assert_cmpuint (max_in_flight, ==, running);

      g_autoptr (GHashTable) per_pid = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < n; i++)
        {
          g_assert_no_error (calls[i].error);
          g_assert_cmpint (dal_result_get_int64 (calls[i].result, 0, 1, NULL), ==,
                           round * 10 + i);
          if (i < running)
            {
              const char *pid = dal_result_get_string (calls[i].result, 0, 0, NULL);
              guint k = GPOINTER_TO_UINT (g_hash_table_lookup (per_pid, pid));
              g_hash_table_insert (per_pid, (gpointer) pid, GUINT_TO_POINTER (k + 1));
              /* the last one started only once another was done */
              g_assert_cmpuint (calls[i].seq, <, calls[n - 1].seq);
            }
        }
      g_test_message ("round %u: first two on backends %s and %s", round,
                      dal_result_get_string (calls[0].result, 0, 0, NULL),
                      dal_result_get_string (calls[1].result, 0, 0, NULL));
      g_assert_cmpstr (dal_result_get_string (calls[0].result, 0, 0, NULL), !=,
                       dal_result_get_string (calls[1].result, 0, 0, NULL));
      g_assert_cmpuint (g_hash_table_size (per_pid), ==, 2);
      GHashTableIter it;
      gpointer count;
      g_hash_table_iter_init (&it, per_pid);
      while (g_hash_table_iter_next (&it, NULL, &count))
        g_assert_cmpuint (GPOINTER_TO_UINT (count), ==, running / 2);
      for (guint i = 0; i < n; i++)
        call_clear (&calls[i]);
    }
  DalPoolStats s;
  stats (pool, &s);
  g_assert_cmpuint (s.size, ==, 2);
  g_assert_cmpuint (s.created, ==, 2);
  g_assert_cmpuint (s.one_shots_in_flight, ==, 0);
  g_assert_cmpuint (s.one_shots, ==, 3 * n);
}

/* ===================================================================
 * Async calls from several threads' contexts on one pool
 * =================================================================== */

#define CTX_THREADS 3       /* besides the main thread */
#define CTX_ONE_SHOTS 3     /* per round, besides one acquire */

typedef struct CtxWorker CtxWorker;

/* One call of a worker's: a one-shot, or an acquire followed by a
 * statement on the borrowed connection. */
typedef struct
{
  CtxWorker *w;
  guint round;
  gboolean acquire;
  gint64 x;
  guint calls;              /* callbacks of the call: exactly 1 */
  guint statement_calls;    /* acquire: callbacks of the borrowed statement */
  DalConnection *conn;
} CtxCall;

struct CtxWorker
{
  DalPool *pool;
  guint id;
  guint rounds;
  GThread *thread;          /* where its callbacks must run */
  GMainContext *context;    /* its thread-default context */
  CtxCall *calls;           /* rounds * (CTX_ONE_SHOTS + 1) */
  guint pending;            /* calls of the current round still running */
  gint context_freed;       /* atomic: its context (a thread's) was freed */
  gboolean timed_out;
  guint problems;
  char *first_problem;      /* what went wrong first, for the log */
};

/* Counts a problem of @c's (@error: a failed call, else a wrong answer
 * or place), keeping the first for the log. */
static void
ctx_problem (CtxCall *c, const char *what, const GError *error)
{
  CtxWorker *w = c->w;
  if (w->problems++ == 0)
    w->first_problem = g_strdup_printf ("round %u, %s%s%s", c->round, what,
                                        error != NULL ? ": " : "",
                                        error != NULL ? error->message : "");
}

/* This thread's default context (the global default when none was
 * pushed). */
static GMainContext *
thread_default (void)
{
  GMainContext *context = g_main_context_get_thread_default ();
  return context != NULL ? context : g_main_context_default ();
}

/* Whether this callback runs where its call was made: on the worker's
 * thread, with its context the thread default. */
static void
ctx_check_where (CtxCall *c, const char *what)
{
  if (g_thread_self () != c->w->thread)
    ctx_problem (c, what, NULL);
  else if (thread_default () != c->w->context)
    ctx_problem (c, what, NULL);
}

static void
ctx_call_done (CtxCall *c)
{
  c->w->pending--;
}

static void
ctx_query_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CtxCall *c = user_data;
  g_autoptr (GError) error = NULL;
  (void) source;
  c->calls++;
  ctx_check_where (c, "one-shot callback on the wrong thread or context");
  g_autoptr (DalResult) r = dal_pool_query_finish (c->w->pool, res, &error);
  if (r == NULL)
    ctx_problem (c, "one-shot", error);
  else if (dal_result_get_int64 (r, 0, 0, NULL) != c->x * 2)
    ctx_problem (c, "one-shot: wrong value", NULL);
  ctx_call_done (c);
}

static void
ctx_statement_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CtxCall *c = user_data;
  g_autoptr (GError) error = NULL;
  c->statement_calls++;
  ctx_check_where (c, "borrowed statement callback on the wrong thread or context");
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), res,
                                                         &error);
  if (r == NULL)
    ctx_problem (c, "borrowed statement", error);
  else if (dal_result_get_int64 (r, 0, 0, NULL) != c->x + 7)
    ctx_problem (c, "borrowed statement: wrong value", NULL);
  dal_pool_release (c->w->pool, g_steal_pointer (&c->conn));
  ctx_call_done (c);
}

static void
ctx_acquired (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CtxCall *c = user_data;
  g_autoptr (GError) error = NULL;
  (void) source;
  c->calls++;
  ctx_check_where (c, "acquire callback on the wrong thread or context");
  c->conn = dal_pool_acquire_finish (c->w->pool, res, &error);
  if (c->conn == NULL)
    {
      ctx_problem (c, "acquire", error);
      ctx_call_done (c);
      return;
    }
  dal_connection_query_async (c->conn, "SELECT $1::bigint + 7", g_variant_new_int64 (c->x),
                              NULL, ctx_statement_done, c);
}

/* @w's rounds, on the calling thread, with @w->context its thread
 * default: each round, CTX_ONE_SHOTS one-shots and one acquire at once,
 * then the context runs until all of them completed. */
static void
ctx_worker_run (CtxWorker *w)
{
  w->thread = g_thread_self ();
  g_assert_true (thread_default () == w->context);
  GSource *timer = g_timeout_source_new ((guint) dal_test_scaled_ms (60000));
  g_source_set_callback (timer, set_flag, &w->timed_out, NULL);
  g_source_attach (timer, w->context);
  for (guint round = 0; round < w->rounds && !w->timed_out; round++)
    {
      CtxCall *calls = &w->calls[round * (CTX_ONE_SHOTS + 1)];
      w->pending = CTX_ONE_SHOTS + 1;
      for (guint i = 0; i <= CTX_ONE_SHOTS; i++)
        {
          CtxCall *c = &calls[i];
          *c = (CtxCall) { .w = w, .round = round, .acquire = i == CTX_ONE_SHOTS,
                           .x = (gint64) w->id * 1000000 + round * 10 + i };
          if (c->acquire)
            dal_pool_acquire_async (w->pool, "contexts", -1, NULL, ctx_acquired, c);
          else
            dal_pool_query_async (w->pool, "SELECT $1::bigint * 2",
                                  g_variant_new_int64 (c->x), NULL, ctx_query_done, c);
        }
      while (w->pending > 0 && !w->timed_out)
        g_main_context_iteration (w->context, TRUE);
    }
  /* Whatever is left to dispatch here (a second completion would show). */
  while (g_main_context_iteration (w->context, FALSE))
    ;
  g_source_destroy (timer);
  g_source_unref (timer);
}

static gboolean
never (gpointer data)
{
  (void) data;
  return G_SOURCE_CONTINUE;
}

static void
set_atomic (gpointer data)
{
  g_atomic_int_set ((gint *) data, 1);
}

static gpointer
ctx_worker_thread (gpointer data)
{
  CtxWorker *w = data;
  GMainContext *context = g_main_context_new ();
  /* A source that never fires: the context destroys it (and it tells)
   * when the context is freed. */
  GSource *sentinel = g_timeout_source_new_seconds (24 * 3600);
  g_source_set_callback (sentinel, never, &w->context_freed, set_atomic);
  g_source_attach (sentinel, context);
  g_source_unref (sentinel);
  g_main_context_push_thread_default (context);
  w->context = context;
  ctx_worker_run (w);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

/* CTX_THREADS threads, each with a main context of its own pushed as its
 * thread default and iterated by itself, and the main thread (the global
 * default context) make async one-shots and acquire → statement → release
 * on one pool at the same time, round after round, with fewer connections
 * than contexts (pgasync connections move between the contexts).  Every
 * callback runs on the thread (and with the context) whose call it ends,
 * exactly once; every result is right; afterwards nothing is in flight or
 * in use.  Each thread pops and drops its context when it ends; the pool
 * keeps it as long as it needs it, and once the pool is gone the context
 * is freed (a source attached to it is destroyed).  Nothing leaks under
 * valgrind. */
static gboolean
pool_is_idle (gpointer data)
{
  DalPoolStats s;
  stats (data, &s);
  return s.in_use == 0 && s.one_shots_in_flight == 0;
}

static void
test_contexts_threads (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("contexts", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=3&"
                                   "pool_acquire_timeout=60");
  g_autoptr (DalPool) pool = open_pool (url);
  guint rounds = dal_test_under_valgrind () ? 8 : 40;
  CtxWorker workers[CTX_THREADS + 1];
  GThread *threads[CTX_THREADS];
  for (guint i = 0; i <= CTX_THREADS; i++)
    workers[i] = (CtxWorker) { .pool = pool, .id = i + 1, .rounds = rounds,
                               .calls = g_new0 (CtxCall, rounds * (CTX_ONE_SHOTS + 1)) };
  for (guint i = 0; i < CTX_THREADS; i++)
    threads[i] = g_thread_new ("pool-context", ctx_worker_thread, &workers[i]);
  CtxWorker *mine = &workers[CTX_THREADS];
  mine->context = g_main_context_default ();
  ctx_worker_run (mine);
  for (guint i = 0; i < CTX_THREADS; i++)
    g_thread_join (threads[i]);

  guint problems = 0;
  for (guint i = 0; i <= CTX_THREADS; i++)
    {
      CtxWorker *w = &workers[i];
      if (w->first_problem != NULL)
        g_test_message ("worker %u: %u problems; first: %s", w->id, w->problems,
                        w->first_problem);
      g_assert_false (w->timed_out);
      problems += w->problems;
      for (guint k = 0; k < rounds * (CTX_ONE_SHOTS + 1); k++)
        {
          CtxCall *c = &w->calls[k];
          g_assert_cmpuint (c->calls, ==, 1);
          g_assert_cmpuint (c->statement_calls, ==, c->acquire ? 1 : 0);
          g_assert_null (c->conn);
        }
      g_free (w->first_problem);
      g_free (w->calls);
    }
  g_assert_cmpuint (problems, ==, 0);

  DalPoolStats s;
  stats (pool, &s);
  g_test_message ("size %u, created %" G_GUINT64_FORMAT ", one-shots %" G_GUINT64_FORMAT
                  ", acquired %" G_GUINT64_FORMAT, s.size, s.created, s.one_shots,
                  s.acquired);
  g_assert_cmpuint (s.one_shots_in_flight, ==, 0);
  g_assert_cmpuint (s.one_shots, ==, (CTX_THREADS + 1) * rounds * CTX_ONE_SHOTS);
  g_assert_cmpuint (s.acquired, ==, (CTX_THREADS + 1) * rounds);
  g_assert_cmpuint (s.size, <=, 3);
  g_assert_true (poll_until (pool_is_idle, pool, dal_test_scaled_ms (5000)));

  /* Once the pool is gone, nothing holds the threads' contexts. */
  dal_pool_close (pool);
  g_clear_object (&pool);
  for (guint i = 0; i < CTX_THREADS; i++)
    g_assert_true (sleep_until (atomic_flag_set, &workers[i].context_freed, 5000));
}

/* ===================================================================
 * A pipelined one-shot ended by its command_timeout (pgasync)
 * =================================================================== */

/* Like /pool/cancel-pipelined/pgasync, but the statement that is
 * cancelled is ended by its own command_timeout: on one connection, a
 * slow one-shot (pg_sleep(5)) is pipelined among 7 quick ones (before,
 * after and around it, in turn).  It fails with DAL_ERROR_QUERY_TIMEOUT,
 * after its command_timeout and long before its sleep would end, and is
 * never run again (its own timeout is no foreign cancel: a sequence it
 * takes a number from counts its runs, which no rollback undoes).  The
 * other 7 always succeed with their own values: the cancel request can
 * also end the statement pipelined right after the slow one (it does, in
 * about one round of ten: PostgreSQL's postmaster sends the backend
 * SIGINT twice, to its pid and to its process group, and the second may
 * arrive once the slow one already failed), and the pool runs that one
 * again.  The server ends the slow statement in time, so the connection
 * stays: one backend all along.  As many rounds as fit in about 5 s. */
static void
test_cancel_pipelined_timeout (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  gboolean valgrind = dal_test_under_valgrind ();
  /* (Under valgrind the client is slow to read even a quick answer: a
   * longer timeout keeps the quick statements clear of theirs.) */
  double timeout_s = valgrind ? 1.0 : 0.2;
  g_autofree char *app = app_name ("timeout_pipe", ASYNCPG);
  g_autofree char *extra = g_strdup_printf ("pool_min_size=1&pool_max_size=1&pool_depth=8&"
                                            "command_timeout=%g", timeout_s);
  g_autofree char *url = pool_url (ASYNCPG, app, extra);
  g_autoptr (DalPool) pool = open_pool (url);
  g_autofree char *pid0 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_autofree char *seq = g_strdup_printf ("%s_runs", app);
  g_autofree char *create = g_strdup_printf ("CREATE SEQUENCE %s", seq);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (dal_pool_execute (pool, create, NULL, NULL, &error), >=, 0);
  g_assert_no_error (error);
  g_autofree char *slow = g_strdup_printf ("SELECT $1::int FROM (SELECT nextval('%s') AS n) s, "
                                           "LATERAL pg_sleep(5 + 0 * s.n)", seq);
  guint min_rounds = valgrind ? 4 : 8;
  double t_end = now_s () + 5.0;
  guint round;

  for (round = 0; round < min_rounds || now_s () < t_end; round++)
    {
      Call calls[8];
      guint victim = round % 8;
      double t0 = now_s ();
      for (guint i = 0; i < 8; i++)
        {
          calls[i] = (Call) { .pool = pool };
          dal_pool_query_async (pool, i == victim ? slow
                                                  : "SELECT $1::int FROM pg_sleep(0.0005)",
                                g_variant_new_int32 ((gint32) (round * 8 + i)), NULL,
                                query_done, &calls[i]);
        }
      for (guint i = 0; i < 8; i++)
        {
          wait_call (&calls[i], 10000);
          if (i == victim)
            {
              if (calls[i].error == NULL)
                g_error ("round %u: the slow statement (%u) did not time out", round, i);
              g_assert_error (calls[i].error, DAL_ERROR, DAL_ERROR_QUERY_TIMEOUT);
              double took = calls[i].at - t0;
              g_assert_cmpfloat (took, >=, timeout_s);
              g_assert_cmpfloat (took, <, timeout_s + dal_test_scaled_ms (2000) / 1000.0);
            }
          else
            {
              if (calls[i].error != NULL)
                g_error ("round %u: statement %u (slow: %u) failed: %s", round, i, victim,
                         calls[i].error->message);
              g_assert_cmpint (dal_result_get_int64 (calls[i].result, 0, 0, NULL), ==,
                               round * 8 + i);
            }
          call_clear (&calls[i]);
        }
    }
  DalPoolStats s;
  stats (pool, &s);
  g_test_message ("%u rounds; %" G_GUINT64_FORMAT " run again, %" G_GUINT64_FORMAT
                  " connections created", round, s.retried, s.created);
  g_assert_cmpuint (round, >=, min_rounds);
  g_assert_cmpuint (s.one_shots, ==, 2 + round * 8);
  g_assert_cmpuint (s.size, ==, 1);
  g_assert_cmpuint (s.created, ==, 1);
  g_assert_cmpuint (s.one_shots_in_flight, ==, 0);
  g_autofree char *pid1 = pool_value (pool, "SELECT pg_backend_pid()::text");
  g_assert_cmpstr (pid1, ==, pid0);
  /* Each slow statement ran once. */
  g_autofree char *count = g_strdup_printf ("SELECT last_value FROM %s", seq);
  g_autofree char *runs = pool_value (pool, count);
  g_assert_cmpint (g_ascii_strtoll (runs, NULL, 10), ==, round);
  g_autofree char *drop = g_strdup_printf ("DROP SEQUENCE %s", seq);
  g_assert_cmpint (dal_pool_execute (pool, drop, NULL, NULL, &error), >=, 0);
  g_assert_no_error (error);
}

/* ===================================================================
 * Warnings
 * =================================================================== */

static void
test_leak_warning (gconstpointer data)
{
  DAL_TEST_LIVE_OR_RETURN ();
  const char *scheme = data;
  g_autofree char *app = app_name ("leak", scheme);
  g_autofree char *url = pool_url (scheme, app, "pool_min_size=1&pool_max_size=2&"
                                   "pool_leak_warning=0.2");
  g_autoptr (DalPool) pool = open_pool (url);
  GLogLevelFlags fatal = warnings_not_fatal ();
  dal_test_log_clear ();
  DalConnection *c = acquire_wait (pool, "test-label");
  iterate_for (500);
  dal_pool_release (pool, c);
  iterate_for (50);
  g_autofree char *log = dal_test_log_dump ();
  g_test_message ("log:\n%s", log);
  g_assert_cmpuint (dal_test_log_count ("test-label"), ==, 1);
  /* A connection given back in time is not reported. */
  dal_test_log_clear ();
  c = acquire_wait (pool, "test-label-quick");
  dal_pool_release (pool, c);
  iterate_for (300);
  g_assert_cmpuint (dal_test_log_count ("test-label"), ==, 0);
  g_log_set_always_fatal (fatal);
}

/* Supabase's session pooler (port 5432 of a *.pooler.supabase.com host)
 * takes 15 clients by default: a larger max_size is warned about when the
 * pool opens, from the URL alone.  The name resolves (fake resolver) to
 * 127.0.0.1; min_size=0 opens nothing. */
#define SESSION_POOLER "aws-0-eu-west-1.pooler.supabase.com"

static void
supabase_open (const char *max_size)
{
  g_autofree char *q = g_strdup_printf ("sslmode=require&pool_min_size=0&pool_max_size=%s",
                                        max_size);
  g_autofree char *url = dal_test_url_full (ASYNCPG, "postgres.abcdefghijklmnop", "not-a-secret",
                                            SESSION_POOLER ":5432", "postgres", q);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalPool) pool = dal_pool_open (url, NULL, &error);
  if (error != NULL)
    g_test_message ("open: %s", error->message);
}

static void
test_supabase_session_warning (void)
{
  dal_test_resolver_add (SESSION_POOLER, "127.0.0.1");
  GLogLevelFlags fatal = warnings_not_fatal ();
  dal_test_log_clear ();
  supabase_open ("20");
  g_autofree char *log = dal_test_log_dump ();
  g_test_message ("log:\n%s", log);
  g_assert_cmpuint (dal_test_log_count ("15"), >=, 1);
  g_assert_cmpuint (dal_test_log_count ("max_size"), >=, 1);
  g_assert_cmpuint (dal_test_log_count ("not-a-secret"), ==, 0);
  dal_test_log_clear ();
  supabase_open ("15");
  g_assert_cmpuint (dal_test_log_count ("15"), ==, 0);
  g_log_set_always_fatal (fatal);
}

/* ===================================================================
 * main
 * =================================================================== */

static void
add_both (const char *path, GTestDataFunc func)
{
  g_autofree char *a = g_strdup_printf ("%s/pgasync", path);
  g_autofree char *s = g_strdup_printf ("%s/pgsync", path);
  g_test_add_data_func (a, ASYNCPG, func);
  g_test_add_data_func (s, PSYCOPG2, func);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dal_test_log_install ();
  dal_test_resolver_install ();

  add_both ("/pool/open/min-size", test_open_min_size);
  add_both ("/pool/open/min-size-async", test_open_min_size_async);
  g_test_add_func ("/pool/open/option-on-connection", test_pool_option_on_connection);
  add_both ("/pool/acquire/timeout", test_acquire_timeout);
  add_both ("/pool/acquire/cancel-waiter", test_acquire_cancel_waiter);
  add_both ("/pool/acquire/fifo", test_acquire_fifo);
  add_both ("/pool/acquire/handoff-in-callback", test_acquire_handoff_in_callback);
  add_both ("/pool/close/in-callback", test_close_in_callback);
  add_both ("/pool/reset/direct", test_reset_direct);
  add_both ("/pool/reset/direct-unref", test_reset_direct_unref);
  add_both ("/pool/reset/transaction-texts", test_reset_transaction_texts);
  add_both ("/pool/reset/bouncer", test_reset_bouncer);
  add_both ("/pool/limits/max-queries", test_max_queries);
  add_both ("/pool/limits/max-idle", test_max_idle);
  add_both ("/pool/limits/max-lifetime", test_max_lifetime);
  add_both ("/pool/limits/max-lifetime-hours", test_max_lifetime_hours);
  add_both ("/pool/faults/terminate-idle", test_terminate_idle);
  add_both ("/pool/faults/terminate-busy", test_terminate_busy);
  add_both ("/pool/health/check-round-trip", test_check_round_trip);
  add_both ("/pool/health/check-fails-replaced", test_check_fails_replaced);
  add_both ("/pool/reset/fails-replaced", test_reset_fails_replaced);
  add_both ("/pool/health/refill-backoff", test_refill_backoff);
  add_both ("/pool/faults/server-restart", test_server_restart);
  g_test_add_func ("/pool/cancel-pipelined/pgasync", test_cancel_pipelined);
  add_both ("/pool/spread/least-loaded", test_spread_least_loaded);
  add_both ("/pool/contexts/threads", test_contexts_threads);
  g_test_add_func ("/pool/cancel-pipelined/timeout", test_cancel_pipelined_timeout);
  add_both ("/pool/bouncer/load", test_bouncer_load);
  add_both ("/pool/threads", test_threads);
  g_test_add_func ("/pool/blocking-lend", test_blocking_lend);
  g_test_add_func ("/pool/park/removed-while-queued", test_park_removed);
  add_both ("/pool/oneshot-session", test_oneshot_session);
  add_both ("/pool/open/failure-cleanup", test_open_failure_cleanup);
  add_both ("/pool/reset/release-blocking", test_release_blocking_reset);
  add_both ("/pool/warnings/leak", test_leak_warning);
  g_test_add_func ("/pool/warnings/supabase-session-pooler", test_supabase_session_warning);
  return g_test_run ();
}
