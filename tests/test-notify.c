/* test-notify.c: LISTEN/NOTIFY (dal-notify.h) against the harness's
 * PostgreSQL and PgBouncer: 10,000 notifications from another
 * connection, all in order with the sender's pid; channel names that
 * need quoting; UNLISTEN; a connection notifying itself; the refusal
 * through a transaction pooler; pgsync's delivery with its statements
 * and while idle (its socket watched on the main context: 10,000
 * notifications without a statement, no wake-up while nothing comes, a
 * backend terminated while idle);
 * a pool's borrower never seeing the previous one's notifications;
 * notices (the "notice" signal) in order with notifications.  The
 * signal must never fire inside a libdal call: every call of this program
 * is made with in_call set, and the handler checks it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dal-test.h"
#include "dal-private.h"

#define ASYNCPG "postgresql+asyncpg"
#define PSYCOPG2 "postgresql+psycopg2"

static gboolean in_call;

typedef struct
{
  GPtrArray *channels;   /* char * */
  GPtrArray *payloads;   /* char * */
  GArray *pids;          /* gint */
  const char *until;     /* payload that sets done */
  guint want;            /* or a count that sets done */
  gboolean done;
} Got;

static void
got_init (Got *g)
{
  memset (g, 0, sizeof *g);
  g->channels = g_ptr_array_new_with_free_func (g_free);
  g->payloads = g_ptr_array_new_with_free_func (g_free);
  g->pids = g_array_new (FALSE, FALSE, sizeof (gint));
}

static void
got_clear (Got *g)
{
  g_ptr_array_unref (g->channels);
  g_ptr_array_unref (g->payloads);
  g_array_unref (g->pids);
}

static void
on_notification (DalConnection *conn, const char *channel, const char *payload,
                 gint pid, gpointer data)
{
  Got *g = data;
  g_assert_false (in_call);   /* never inside a libdal call */
  g_ptr_array_add (g->channels, g_strdup (channel));
  g_ptr_array_add (g->payloads, g_strdup (payload));
  g_array_append_val (g->pids, pid);
  if ((g->until != NULL && strcmp (payload, g->until) == 0)
      || (g->want > 0 && g->payloads->len >= g->want))
    g->done = TRUE;
}

static DalConnection *
open_conn (const char *scheme)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = dal_test_url (scheme, NULL);
  in_call = TRUE;
  DalConnection *c = dal_connection_open (url, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
  return c;
}

static void
run (DalConnection *c, const char *sql)
{
  g_autoptr (GError) error = NULL;
  in_call = TRUE;
  g_autoptr (DalResult) r = dal_connection_query (c, sql, NULL, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
}

static void
notify (DalConnection *c, const char *channel, const char *payload)
{
  g_autoptr (GError) error = NULL;
  const char *values[] = { channel, payload };
  in_call = TRUE;
  g_autoptr (DalResult) r = dal_connection_query_texts (c, "SELECT pg_notify($1, $2)",
                                                        2, values, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
}

static void
listen (DalConnection *c, const char *channel)
{
  g_autoptr (GError) error = NULL;
  in_call = TRUE;
  gboolean ok = dal_connection_listen (c, channel, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
  g_assert_true (ok);
}

static gint
backend_pid (DalConnection *c)
{
  in_call = TRUE;
  g_autofree char *pid = dal_connection_get_info (c, "backend_pid");
  in_call = FALSE;
  g_assert_nonnull (pid);
  return atoi (pid);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} AsyncOk;

static void
listen_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncOk *a = data;
  g_assert_false (in_call);
  a->ok = dal_connection_listen_finish (DAL_CONNECTION (source), result, &a->error);
  a->done = TRUE;
}

/* -- no server -- */

static void
test_classify (void)
{
  static const struct { const char *sql; gboolean listens; } cases[] = {
    { "LISTEN x", TRUE },
    { "  /* c */ listen \"My Chan\"", TRUE },
    { "select 1; Listen y", TRUE },
    { "DO $$ BEGIN LISTEN z; END $$", TRUE },
    { "UNLISTEN *", FALSE },
    { "SELECT 'listen x'", FALSE },
    { "SELECT pg_notify('listen', 'x')", FALSE },
    { "select \"listen\" from t", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].sql);
      g_assert_cmpint (_dal_sql_listens (cases[i].sql), ==, cases[i].listens);
    }
}

/* -- live -- */

#define N_NOTIFY 10000
#define PER_TX 1000

/* Sends N_NOTIFY notifications on "many" from @s, in transactions of
 * PER_TX; after each, @also (if not NULL) runs a blocking statement. */
static void
send_many (DalConnection *s, DalConnection *also)
{
  for (guint from = 1; from <= N_NOTIFY; from += PER_TX)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *sql = g_strdup_printf (
        "SELECT count(pg_notify('many', i::text)) FROM generate_series(%u, %u) i",
        from, from + PER_TX - 1);
      in_call = TRUE;
      g_autoptr (DalResult) r = dal_connection_query (s, sql, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (DalResult) r2 = also != NULL
                                   ? dal_connection_query (also, "SELECT 1", NULL, NULL, &error)
                                   : NULL;
      in_call = FALSE;
      g_assert_no_error (error);
    }
}

/* All N_NOTIFY came, in order, from @sender. */
static void
assert_many (Got *got, gint sender)
{
  dal_test_wait_for (&got->done, 30000);
  g_assert_cmpuint (got->payloads->len, ==, N_NOTIFY);
  for (guint i = 0; i < N_NOTIFY; i++)
    {
      char want[16];
      g_snprintf (want, sizeof want, "%u", i + 1);
      g_assert_cmpstr (got->payloads->pdata[i], ==, want);
      g_assert_cmpstr (got->channels->pdata[i], ==, "many");
      g_assert_cmpint (g_array_index (got->pids, gint, i), ==, sender);
    }
}

/* 10,000 notifications from another connection, in 10 transactions, while
 * the listener also runs blocking and async statements of its own. */
static void
test_many (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) l = open_conn (ASYNCPG);
  g_autoptr (DalConnection) s = open_conn (ASYNCPG);
  Got got;
  got_init (&got);
  got.want = N_NOTIFY;
  g_signal_connect (l, "notification", G_CALLBACK (on_notification), &got);
  listen (l, "many");
  gint sender = backend_pid (s);
  /* The listener reads in its own blocking calls' pump too. */
  send_many (s, l);
  assert_many (&got, sender);
  got_clear (&got);
}

/* A name that needs quoting, through the API and through plain LISTEN;
 * the async form. */
static void
test_quoting (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) l = open_conn (ASYNCPG);
  g_autoptr (DalConnection) s = open_conn (PSYCOPG2);
  const char *odd = "My \"odd\" channel; DROP TABLE x -- ü";
  Got got;
  got_init (&got);
  got.until = "end";
  g_signal_connect (l, "notification", G_CALLBACK (on_notification), &got);

  AsyncOk a = { FALSE, FALSE, NULL };
  in_call = TRUE;
  dal_connection_listen_async (l, odd, NULL, listen_done, &a);
  in_call = FALSE;
  g_assert_false (a.done);   /* never from inside the call */
  dal_test_wait_for (&a.done, 10000);
  g_assert_no_error (a.error);
  g_assert_true (a.ok);
  run (l, "LISTEN plain");
  /* Through the API once more: harmless. */
  listen (l, odd);

  notify (s, "Plain", "ignored");      /* "plain" was folded to lower case */
  notify (s, odd, "odd");
  notify (s, "plain", "end");
  dal_test_wait_for (&got.done, 10000);
  g_assert_cmpuint (got.payloads->len, ==, 2);
  g_assert_cmpstr (got.channels->pdata[0], ==, odd);
  g_assert_cmpstr (got.payloads->pdata[0], ==, "odd");
  g_assert_cmpstr (got.channels->pdata[1], ==, "plain");

  g_autoptr (GError) error = NULL;
  in_call = TRUE;
  g_assert_false (dal_connection_listen (l, "", NULL, &error));
  in_call = FALSE;
  g_assert_error (error, DAL_ERROR, DAL_ERROR_INVALID_PARAMETER);
  got_clear (&got);
}

/* UNLISTEN stops delivery: a notification after it never comes, one on
 * another channel sent later does. */
static void
test_unlisten (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) l = open_conn (ASYNCPG);
  g_autoptr (DalConnection) s = open_conn (ASYNCPG);
  Got got;
  got_init (&got);
  got.until = "first";
  g_signal_connect (l, "notification", G_CALLBACK (on_notification), &got);
  listen (l, "a");
  listen (l, "marker");
  notify (s, "a", "first");
  dal_test_wait_for (&got.done, 10000);

  g_autoptr (GError) error = NULL;
  in_call = TRUE;
  g_assert_true (dal_connection_unlisten (l, "a", NULL, &error));
  in_call = FALSE;
  g_assert_no_error (error);
  got.done = FALSE;
  got.until = "end";
  notify (s, "a", "after");
  notify (s, "marker", "end");
  dal_test_wait_for (&got.done, 10000);
  g_assert_cmpuint (got.payloads->len, ==, 2);
  g_assert_cmpstr (got.payloads->pdata[0], ==, "first");
  g_assert_cmpstr (got.payloads->pdata[1], ==, "end");

  /* UNLISTEN * (NULL): nothing more at all. */
  in_call = TRUE;
  g_assert_true (dal_connection_unlisten (l, NULL, NULL, &error));
  in_call = FALSE;
  g_assert_no_error (error);
  got_clear (&got);
}

/* A connection notifying itself: the notification comes with its own
 * statement's result, and is emitted only after the call returned. */
static void
test_self (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) l = open_conn (scheme);
  Got got;
  got_init (&got);
  got.want = 1;
  g_signal_connect (l, "notification", G_CALLBACK (on_notification), &got);
  listen (l, "self");
  notify (l, "self", "me");
  g_assert_false (got.done);
  dal_test_wait_for (&got.done, 10000);
  g_assert_cmpstr (got.payloads->pdata[0], ==, "me");
  g_assert_cmpint (g_array_index (got.pids, gint, 0), ==, backend_pid (l));
  got_clear (&got);
}

/* pgsync hands over what arrived by the end of its statements: blocking
 * ones on the caller's thread, async ones on the facade's worker (the
 * signal still comes on the caller's context). */
static void
test_pgsync (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) l = open_conn (PSYCOPG2);
  g_autoptr (DalConnection) s = open_conn (ASYNCPG);
  Got got;
  got_init (&got);
  got.want = 3;
  g_signal_connect (l, "notification", G_CALLBACK (on_notification), &got);
  listen (l, "sync");
  notify (s, "sync", "1");
  notify (s, "sync", "2");
  run (l, "SELECT 1");     /* reads them */
  notify (s, "sync", "3");
  AsyncOk a = { FALSE, FALSE, NULL };
  in_call = TRUE;
  dal_connection_listen_async (l, "sync", NULL, listen_done, &a);
  in_call = FALSE;
  dal_test_wait_for (&a.done, 10000);
  g_assert_no_error (a.error);
  dal_test_wait_for (&got.done, 10000);
  g_assert_cmpuint (got.payloads->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      char want[4];
      g_snprintf (want, sizeof want, "%u", i + 1);
      g_assert_cmpstr (got.payloads->pdata[i], ==, want);
    }
  got_clear (&got);
}

/* -- pgsync while idle: its socket watched on the main context -- */

/* A pgsync listener on @channel and a pgsync sender. */
typedef struct
{
  DalConnection *l;
  DalConnection *s;
  Got got;
} Idle;

static void
idle_setup (Idle *f, const char *channel)
{
  f->l = open_conn (PSYCOPG2);
  f->s = open_conn (PSYCOPG2);
  got_init (&f->got);
  g_signal_connect (f->l, "notification", G_CALLBACK (on_notification), &f->got);
  listen (f->l, channel);
}

static void
idle_teardown (Idle *f)
{
  g_clear_object (&f->l);
  g_clear_object (&f->s);
  got_clear (&f->got);
}

/* What comes is read by the watch, without any statement of the
 * listener's; after UNLISTEN * and LISTEN again too. */
static void
test_pgsync_idle (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Idle f;
  idle_setup (&f, "idle");
  f.got.until = "end";
  gint sender = backend_pid (f.s);
  notify (f.s, "idle", "one");
  notify (f.s, "idle", "end");
  dal_test_wait_for (&f.got.done, 10000);
  g_assert_cmpuint (f.got.payloads->len, ==, 2);
  g_assert_cmpstr (f.got.payloads->pdata[0], ==, "one");
  g_assert_cmpint (g_array_index (f.got.pids, gint, 1), ==, sender);

  /* UNLISTEN * ends the watch, LISTEN starts it again. */
  g_autoptr (GError) error = NULL;
  in_call = TRUE;
  g_assert_true (dal_connection_unlisten (f.l, NULL, NULL, &error));
  in_call = FALSE;
  g_assert_no_error (error);
  listen (f.l, "idle");
  f.got.done = FALSE;
  notify (f.s, "idle", "end");
  dal_test_wait_for (&f.got.done, 10000);
  g_assert_cmpuint (f.got.payloads->len, ==, 3);
  idle_teardown (&f);
}

/* 10,000 notifications to an idle pgsync listener, in 10 transactions of
 * another connection: all, in order, read by the watch alone. */
static void
test_pgsync_many (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Idle f;
  idle_setup (&f, "many");
  f.got.want = N_NOTIFY;
  gint sender = backend_pid (f.s);
  guint64 statements = _dal_connection_get_n_statements (f.l);
  send_many (f.s, NULL);
  assert_many (&f.got, sender);
  g_assert_cmpuint (_dal_connection_get_n_statements (f.l), ==, statements);
  idle_teardown (&f);
}

static GPollFunc real_poll;
static guint n_woken;

static gint
counting_poll (GPollFD *fds, guint n_fds, gint timeout)
{
  gint n = real_poll (fds, n_fds, timeout);
  if (n > 0)
    n_woken++;
  return n;
}

/* How often something other than a timer woke the default context while
 * it ran for @ms. */
static guint
wakeups_over (guint ms)
{
  GMainContext *ctx = g_main_context_default ();
  real_poll = g_main_context_get_poll_func (ctx);
  n_woken = 0;
  g_main_context_set_poll_func (ctx, counting_poll);
  dal_test_iterate_for (ms);
  g_main_context_set_poll_func (ctx, real_poll);
  return n_woken;
}

/* Dispatches what is ready, but never more than 100 times: a source
 * that stays ready (a socket at end of file still watched) must fail the
 * test, not hang it. */
static void
drain_context (void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* An idle pgsync listener costs nothing: over 2 s nothing wakes the
 * context, which has nothing ready after; it is still watched. */
static void
test_pgsync_quiet (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Idle f;
  idle_setup (&f, "quiet");
  f.got.until = "first";
  notify (f.s, "quiet", "first");
  dal_test_wait_for (&f.got.done, 10000);
  drain_context ();

  g_assert_cmpuint (wakeups_over (2000), ==, 0);
  g_assert_false (g_main_context_pending (NULL));

  f.got.done = FALSE;
  f.got.until = "second";
  notify (f.s, "quiet", "second");
  dal_test_wait_for (&f.got.done, 10000);
  g_assert_cmpuint (f.got.payloads->len, ==, 2);
  idle_teardown (&f);
}

static gboolean
is_closed (DalConnection *c)
{
  in_call = TRUE;
  gboolean closed = dal_connection_is_closed (c);
  in_call = FALSE;
  return closed;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The listener's backend terminated while it is idle: the watch reads the
 * server's FATAL message, the connection is lost, and the context does
 * not spin on the socket's end of file. */
static void
test_pgsync_terminated (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Idle f;
  idle_setup (&f, "gone");
  g_autofree char *pid = g_strdup_printf ("%d", backend_pid (f.l));
  const char *values[] = { pid };
  g_autoptr (GError) error = NULL;
  in_call = TRUE;
  g_autoptr (DalResult) r = dal_connection_query_texts (
    f.s, "SELECT pg_terminate_backend($1::int)", 1, values, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "t");

  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new ((guint) dal_test_scaled_ms (10000));
  g_source_set_callback (timer, set_flag, &timed_out, NULL);
  g_source_attach (timer, NULL);
  while (!is_closed (f.l) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_destroy (timer);
  g_source_unref (timer);
  drain_context ();
  /* Nothing ready: the socket's end of file is no longer watched. */
  g_assert_false (g_main_context_pending (NULL));
  g_assert_cmpuint (wakeups_over (200), ==, 0);

  in_call = TRUE;
  g_autoptr (DalResult) r2 = dal_connection_query (f.l, "SELECT 1", NULL, NULL, &error);
  in_call = FALSE;
  g_assert_null (r2);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST);
  g_assert_cmpuint (f.got.payloads->len, ==, 0);
  idle_teardown (&f);
}

/* A chain of async statements on one connection: each callback starts
 * the next, @sql_for giving the SQL of statement i. */
typedef struct
{
  DalConnection *conn;
  guint next, n;
  char *(*sql_for) (guint i);
  gboolean done;
} Chain;

static void chain_next (Chain *c);

static void
chain_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Chain *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), res, &error);
  g_assert_no_error (error);
  chain_next (c);
}

static void
chain_next (Chain *c)
{
  if (c->next == c->n)
    {
      c->done = TRUE;
      return;
    }
  g_autofree char *sql = c->sql_for (c->next++);
  in_call = TRUE;
  dal_connection_query_async (c->conn, sql, NULL, NULL, chain_done, c);
  in_call = FALSE;
}

static char *
select_one (G_GNUC_UNUSED guint i)
{
  return g_strdup ("SELECT 1");
}

static char *
notify_hundred (guint i)
{
  return g_strdup_printf ("SELECT count(pg_notify('busy', j::text)) "
                          "FROM generate_series(%u, %u) j", i * 100 + 1, i * 100 + 100);
}

/* A listening pgsync connection busy with async statements (on the
 * facade's worker) while notifications come: the watch and the worker
 * never read at the same time; all arrive, in order, nothing fails. */
static void
test_pgsync_busy (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Idle f;
  idle_setup (&f, "busy");
  f.got.want = 2000;
  Chain sender = { f.s, 0, 20, notify_hundred, FALSE };
  Chain busy = { f.l, 0, 300, select_one, FALSE };
  chain_next (&sender);
  chain_next (&busy);
  dal_test_wait_for (&sender.done, 30000);
  dal_test_wait_for (&busy.done, 30000);
  dal_test_wait_for (&f.got.done, 30000);
  g_assert_cmpuint (f.got.payloads->len, ==, 2000);
  for (guint i = 0; i < 2000; i++)
    {
      char want[16];
      g_snprintf (want, sizeof want, "%u", i + 1);
      g_assert_cmpstr (f.got.payloads->pdata[i], ==, want);
    }
  idle_teardown (&f);
}

typedef struct
{
  DalConnection *conn;
  gint closed;
} Closer;

static gpointer
close_in_thread (gpointer data)
{
  Closer *k = data;
  g_assert_true (dal_connection_close (k->conn, NULL, NULL));
  g_atomic_int_set (&k->closed, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

/* A listening pgsync connection closed from another thread while the
 * context dispatches the watch's reads of a stream of notifications:
 * the watch goes with it (valgrind and ASan see the rest). */
static void
test_pgsync_close_thread (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  Idle f;
  idle_setup (&f, "closing");
  f.got.want = 1;
  run (f.s, "SELECT count(pg_notify('closing', i::text)) FROM generate_series(1, 5000) i");
  dal_test_wait_for (&f.got.done, 10000);   /* the watch is reading */

  Closer k = { f.l, 0 };
  GThread *t = g_thread_new ("closer", close_in_thread, &k);
  while (!g_atomic_int_get (&k.closed))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (t);
  g_assert_true (is_closed (f.l));
  drain_context ();
  g_assert_false (g_main_context_pending (NULL));
  idle_teardown (&f);
}

/* Through PgBouncer in transaction mode: refused, with a message. */
static void
test_pooler (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  const char *port = g_getenv ("DAL_TEST_PGBOUNCER_PORT");
  if (port == NULL)
    {
      if (g_strcmp0 (g_getenv ("DAL_TEST_REQUIRE_SERVER"), "1") == 0)
        g_test_fail_printf ("DAL_TEST_PGBOUNCER_PORT is not set");
      else
        g_test_skip ("no PgBouncer");
      return;
    }
  g_autofree char *hp = g_strdup_printf ("127.0.0.1:%s", port);
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hp,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"),
                                            "sslmode=disable&pooler_mode=transaction");
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) c = dal_connection_open (url, NULL, &error);
  g_assert_no_error (error);

  in_call = TRUE;
  g_assert_false (dal_connection_listen (c, "ch", NULL, &error));
  in_call = FALSE;
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "transaction pooler"));
  g_assert_nonnull (strstr (error->message, "session pooler"));
  g_clear_error (&error);

  in_call = TRUE;
  DalResult *r = dal_connection_query (c, "/* x */ listen ch", NULL, NULL, &error);
  in_call = FALSE;
  g_assert_null (r);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "transaction pooler"));
  g_clear_error (&error);

  AsyncOk a = { FALSE, FALSE, NULL };
  in_call = TRUE;
  dal_connection_listen_async (c, "ch", NULL, listen_done, &a);
  in_call = FALSE;
  dal_test_wait_for (&a.done, 10000);
  g_assert_false (a.ok);
  g_assert_error (a.error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_clear_error (&a.error);

  /* The connection still serves, and UNLISTEN is harmless. */
  run (c, "SELECT 1");
  in_call = TRUE;
  g_assert_true (dal_connection_unlisten (c, NULL, NULL, &error));
  in_call = FALSE;
  g_assert_no_error (error);
}

/* A pool of one: the next borrower has no handler of the previous one's
 * and never sees its notifications. */
static void
test_pool (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (GError) error = NULL;
  g_autofree char *url = dal_test_url (scheme, "pool_min_size=1&pool_max_size=1");
  g_autoptr (DalConnection) s = open_conn (ASYNCPG);
  in_call = TRUE;
  DalPool *pool = dal_pool_open (url, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);

  Got first;
  got_init (&first);
  in_call = TRUE;
  DalConnection *c = dal_pool_acquire (pool, "first", -1, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
  g_signal_connect (c, "notification", G_CALLBACK (on_notification), &first);
  listen (c, "old");
  notify (s, "old", "old");     /* arrives while it is borrowed, or later */
  DalConnection *was = c;
  in_call = TRUE;
  dal_pool_release (pool, c);
  in_call = FALSE;

  Got second;
  got_init (&second);
  second.until = "end";
  in_call = TRUE;
  c = dal_pool_acquire (pool, "second", -1, NULL, &error);
  in_call = FALSE;
  g_assert_no_error (error);
  g_assert_true (c == was);
  g_assert_false (g_signal_has_handler_pending (c, g_signal_lookup ("notification",
                                                                    DAL_TYPE_CONNECTION),
                                                0, FALSE));
  g_signal_connect (c, "notification", G_CALLBACK (on_notification), &second);
  listen (c, "new");
  notify (s, "old", "old again");   /* UNLISTEN * ran on release */
  notify (s, "new", "end");
  run (c, "SELECT 1");
  dal_test_wait_for (&second.done, 10000);
  g_assert_cmpuint (second.payloads->len, ==, 1);
  g_assert_cmpuint (first.payloads->len, ==, 0);
  in_call = TRUE;
  dal_pool_release (pool, c);
  dal_pool_close (pool);
  in_call = FALSE;
  g_object_unref (pool);
  got_clear (&first);
  got_clear (&second);
}

/* -- notices (the "notice" signal) -- */

typedef struct
{
  GPtrArray *lines;   /* "SEVERITY|sqlstate|message|detail|hint" or "notify:payload" */
  guint want;
  gboolean done;
} Notices;

static void
on_notice (DalConnection *c, const char *severity, const char *sqlstate,
           const char *message, const char *detail, const char *hint, gpointer data)
{
  Notices *n = data;
  g_assert_false (in_call);
  g_ptr_array_add (n->lines, g_strdup_printf ("%s|%s|%s|%s|%s", severity, sqlstate, message,
                                              detail != NULL ? detail : "(null)",
                                              hint != NULL ? hint : "(null)"));
  n->done = n->lines->len >= n->want;
}

static void
on_notification_line (DalConnection *c, const char *channel, const char *payload, gint pid,
                      gpointer data)
{
  Notices *n = data;
  g_assert_false (in_call);
  g_ptr_array_add (n->lines, g_strdup_printf ("notify:%s", payload));
  n->done = n->lines->len >= n->want;
}

/* RAISE NOTICE / WARNING with DETAIL and HINT, and a notification between
 * them: emitted on the connection's context, outside libdal calls, in
 * the order the server sent them. */
static void
test_notice (gconstpointer data)
{
  const char *scheme = data;
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (DalConnection) c = open_conn (scheme);
  Notices n = { g_ptr_array_new_with_free_func (g_free), 4, FALSE };
  g_signal_connect (c, "notice", G_CALLBACK (on_notice), &n);
  g_signal_connect (c, "notification", G_CALLBACK (on_notification_line), &n);
  listen (c, "notice_test");
  run (c, "DO $$ BEGIN RAISE NOTICE 'one %', 1; PERFORM pg_notify('notice_test', 'two'); "
          "RAISE WARNING 'three' USING DETAIL = 'd3', HINT = 'h3'; "
          "RAISE NOTICE 'four' USING ERRCODE = '01P42'; END $$");
  dal_test_wait_for (&n.done, 10000);
  g_assert_cmpuint (n.lines->len, ==, 4);
  /* the notification comes with the transaction's commit, after the
   * notices raised inside it */
  g_assert_cmpstr (n.lines->pdata[0], ==, "NOTICE|00000|one 1|(null)|(null)");
  g_assert_cmpstr (n.lines->pdata[1], ==, "WARNING|01000|three|d3|h3");
  g_assert_cmpstr (n.lines->pdata[2], ==, "NOTICE|01P42|four|(null)|(null)");
  g_assert_cmpstr (n.lines->pdata[3], ==, "notify:two");
  g_ptr_array_unref (n.lines);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify/classify", test_classify);
  g_test_add_func ("/notify/many", test_many);
  g_test_add_func ("/notify/quoting", test_quoting);
  g_test_add_func ("/notify/unlisten", test_unlisten);
  g_test_add_data_func ("/notify/self/asyncpg", ASYNCPG, test_self);
  g_test_add_data_func ("/notify/self/psycopg2", PSYCOPG2, test_self);
  g_test_add_func ("/notify/pgsync", test_pgsync);
  g_test_add_func ("/notify/pgsync/idle", test_pgsync_idle);
  g_test_add_func ("/notify/pgsync/many", test_pgsync_many);
  g_test_add_func ("/notify/pgsync/quiet", test_pgsync_quiet);
  g_test_add_func ("/notify/pgsync/terminated", test_pgsync_terminated);
  g_test_add_func ("/notify/pgsync/close-thread", test_pgsync_close_thread);
  g_test_add_func ("/notify/pgsync/busy", test_pgsync_busy);
  g_test_add_data_func ("/notify/pooler/asyncpg", ASYNCPG, test_pooler);
  g_test_add_data_func ("/notify/pooler/psycopg2", PSYCOPG2, test_pooler);
  g_test_add_data_func ("/notify/pool/asyncpg", ASYNCPG, test_pool);
  g_test_add_data_func ("/notify/pool/psycopg2", PSYCOPG2, test_pool);
  g_test_add_data_func ("/notify/notice/asyncpg", ASYNCPG, test_notice);
  g_test_add_data_func ("/notify/notice/psycopg2", PSYCOPG2, test_notice);
  return g_test_run ();
}
