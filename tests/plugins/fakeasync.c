/* fakeasync.c: an async-only plugin over the fake database (fake-db.c).
 *
 * It behaves like a pipelining client of a server that runs one statement
 * at a time, in order: a statement runs as soon as the ones before it have
 * run (at once, inside query_async, when the connection is idle), and its
 * result is delivered from an idle source attached to
 * g_task_get_context (task).  "sleep MS" holds the connection for MS
 * milliseconds (a timeout source); statements started meanwhile wait in
 * line.  A cancel watch (below) completes an operation with
 * G_IO_ERROR_CANCELLED as soon as the caller's cancellable fires (one that
 * waits in line never runs).  Closing completes every pending operation
 * with DAL_ERROR_CLOSED. */
#include "config.h"

#include "fake-db.h"

typedef struct _AsyncConn AsyncConn;

/* An operation waits in line (conn->waiting), holds the connection (a
 * "sleep": conn->sleeping, until its timeout), or has run and waits for
 * the idle source that delivers its outcome. */
typedef struct
{
  AsyncConn *conn;
  GTask *task;             /* owned */
  const char *sql;         /* the core's, valid until the task completes */
  const DalParams *params;
  DalResult *result;       /* outcome, once it ran */
  GError *error;
  GSource *source;         /* timeout (sleeping) or idle (delivering) */
  struct _CancelWatch *cancel_watch;
} Op;

struct _AsyncConn
{
  FakeConn *db;
  GQueue ops;              /* every pending Op *, in order */
  GQueue waiting;          /* those in line */
  Op *sleeping;            /* the one holding the connection */
};

static GSource *
attach (GTask *task, GSource *source, GSourceFunc func, gpointer data)
{
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, g_task_get_context (task));
  return source;
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* -- watching the caller's cancellable --
 *
 * Not with a GCancellableSource: GLib 2.74 loses one (a leak) when it is
 * disposed on this thread while a cancel from another thread is still
 * running the cancellable's handlers, which the tests that cancel a
 * blocking call from a second thread do.  The handler, on whatever thread
 * cancels, attaches an idle to the task's context, which calls @func
 * there unless the watch was stopped meanwhile (both on that context). */

typedef struct _CancelWatch
{
  gint ref_count;
  gboolean active;          /* the task's context only */
  GSourceFunc func;
  gpointer data;
  GMainContext *context;
  GCancellable *cancellable;
  gulong handler;
} CancelWatch;

static CancelWatch *
watch_ref (CancelWatch *w)
{
  g_atomic_int_inc (&w->ref_count);
  return w;
}

static void
watch_unref (gpointer data)
{
  CancelWatch *w = data;
  if (!g_atomic_int_dec_and_test (&w->ref_count))
    return;
  g_main_context_unref (w->context);
  g_object_unref (w->cancellable);
  g_free (w);
}

static gboolean
watch_fire (gpointer data)
{
  CancelWatch *w = data;
  if (w->active)
    {
      w->active = FALSE;
      w->func (w->data);
    }
  return G_SOURCE_REMOVE;
}

/* Any thread. */
static void
watch_cancelled (GCancellable *cancellable, gpointer data)
{
  CancelWatch *w = data;
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, watch_fire, watch_ref (w), watch_unref);
  g_source_attach (idle, w->context);
  g_source_unref (idle);
}

static CancelWatch *
watch_new (GTask *task, GSourceFunc func, gpointer data)
{
  CancelWatch *w = g_new0 (CancelWatch, 1);
  w->ref_count = 1;
  w->active = TRUE;
  w->func = func;
  w->data = data;
  w->context = g_main_context_ref (g_task_get_context (task));
  w->cancellable = g_object_ref (g_task_get_cancellable (task));
  w->handler = g_cancellable_connect (w->cancellable, G_CALLBACK (watch_cancelled),
                                      watch_ref (w), watch_unref);
  return w;
}

/* On the task's context: @func will not be called. */
static void
watch_stop (CancelWatch **watch)
{
  CancelWatch *w = g_steal_pointer (watch);
  if (w == NULL)
    return;
  w->active = FALSE;
  /* (Waits for a handler running on another thread: it only attaches.) */
  g_cancellable_disconnect (w->cancellable, w->handler);
  watch_unref (w);
}

/* Takes @op off its connection (queues, timer, cancel watch). */
static void
op_detach (Op *op)
{
  AsyncConn *conn = op->conn;
  g_queue_remove (&conn->ops, op);
  g_queue_remove (&conn->waiting, op);
  if (conn->sleeping == op)
    {
      conn->sleeping = NULL;
      fake_conn_end (conn->db);
    }
  clear_source (&op->source);
  watch_stop (&op->cancel_watch);
}

/* Completes @op: with @error if set, else with its outcome. */
static void
op_complete (Op *op, GError *error)
{
  op_detach (op);
  if (error != NULL)
    {
      g_clear_pointer (&op->result, dal_result_unref);
      g_clear_error (&op->error);
      g_task_return_error (op->task, error);
    }
  else if (op->result != NULL)
    g_task_return_pointer (op->task, g_steal_pointer (&op->result),
                           (GDestroyNotify) dal_result_unref);
  else
    g_task_return_error (op->task, g_steal_pointer (&op->error));
  g_object_unref (op->task);
  g_free (op);
}

static gboolean
op_deliver (gpointer data)
{
  op_complete (data, NULL);
  return G_SOURCE_REMOVE;
}

static void pump (AsyncConn *conn);

static gboolean
op_sleep_done (gpointer data)
{
  Op *op = data;
  AsyncConn *conn = op->conn;
  op_complete (op, NULL);  /* releases the connection */
  pump (conn);
  return G_SOURCE_REMOVE;
}

static gboolean
op_cancelled (gpointer data)
{
  Op *op = data;
  AsyncConn *conn = op->conn;
  GError *error = NULL;
  g_cancellable_set_error_if_cancelled (g_task_get_cancellable (op->task), &error);
  op_complete (op, error);
  pump (conn);
  return G_SOURCE_REMOVE;
}

/* Runs @op (the connection is free). */
static void
op_run (Op *op)
{
  AsyncConn *conn = op->conn;
  guint sleep_ms = 0;
  g_queue_remove (&conn->waiting, op);
  op->result = fake_conn_run (conn->db, op->sql, op->params, &sleep_ms, &op->error);
  if (op->result != NULL && sleep_ms > 0)
    {
      conn->sleeping = op;
      op->source = attach (op->task, g_timeout_source_new (sleep_ms), op_sleep_done, op);
      return;
    }
  fake_conn_end (conn->db);
  op->source = attach (op->task, g_idle_source_new (), op_deliver, op);
}

/* Runs what waits in line, until a "sleep" holds the connection. */
static void
pump (AsyncConn *conn)
{
  Op *op;
  while (conn->sleeping == NULL && (op = g_queue_peek_head (&conn->waiting)) != NULL)
    op_run (op);
}

static void
fake_query_async (gpointer data, const char *sql, const DalParams *params,
                  GTask *task)
{
  AsyncConn *conn = data;
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  Op *op = g_new0 (Op, 1);
  op->conn = conn;
  op->task = task;
  op->sql = sql;
  op->params = params;
  g_queue_push_tail (&conn->ops, op);
  g_queue_push_tail (&conn->waiting, op);
  GCancellable *cancellable = g_task_get_cancellable (task);
  if (cancellable != NULL)
    op->cancel_watch = watch_new (task, op_cancelled, op);
  pump (conn);
}

/* A detached @op, failed from an idle on its task's context. */
static gboolean
op_fail_closed (gpointer data)
{
  Op *op = data;
  g_clear_pointer (&op->result, dal_result_unref);
  g_clear_error (&op->error);
  g_task_return_new_error (op->task, DAL_ERROR, DAL_ERROR_CLOSED,
                           "fake: the connection was closed");
  g_object_unref (op->task);
  g_free (op);
  return G_SOURCE_REMOVE;
}

/* The application may close from inside a callback, and no callback may
 * run inside its close (docs/plugins.md): the pending calls fail from an
 * idle on their own context, in the order they were started. */
static void
fake_close (gpointer data)
{
  AsyncConn *conn = data;
  Op *op;
  while ((op = g_queue_peek_head (&conn->ops)) != NULL)
    {
      op_detach (op);
      GSource *idle = g_idle_source_new ();
      g_source_set_priority (idle, g_task_get_priority (op->task));
      g_source_set_callback (idle, op_fail_closed, op, NULL);
      g_source_attach (idle, g_task_get_context (op->task));
      g_source_unref (idle);
    }
  fake_conn_close (conn->db);
  g_free (conn);
}

static char *
fake_get_info (gpointer conn, const char *key)
{
  return fake_conn_get_info (((AsyncConn *) conn)->db, key);
}

/* -- connecting -- */

typedef struct
{
  GTask *task;
  DalUrl *url;
  GSource *source;
  CancelWatch *cancel_watch;
} Connect;

static void
connect_complete (Connect *c, AsyncConn *conn, GError *error)
{
  g_source_destroy (c->source);
  g_source_unref (c->source);
  watch_stop (&c->cancel_watch);
  if (conn != NULL)
    g_task_return_pointer (c->task, conn, fake_close);
  else
    g_task_return_error (c->task, error);
  g_object_unref (c->task);
  dal_url_unref (c->url);
  g_free (c);
}

static gboolean
connect_cancelled (gpointer data)
{
  Connect *c = data;
  GError *error = NULL;
  g_cancellable_set_error_if_cancelled (g_task_get_cancellable (c->task), &error);
  connect_complete (c, NULL, error);
  return G_SOURCE_REMOVE;
}

static gboolean
connect_ready (gpointer data)
{
  Connect *c = data;
  GError *error = NULL;
  FakeConn *db = fake_conn_open (c->url, &error);
  AsyncConn *conn = NULL;
  if (db != NULL)
    {
      conn = g_new0 (AsyncConn, 1);
      conn->db = db;
      g_queue_init (&conn->ops);
      g_queue_init (&conn->waiting);
    }
  connect_complete (c, conn, error);
  return G_SOURCE_REMOVE;
}

static void
fake_connect_async (DalUrl *url, GTask *task)
{
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  Connect *c = g_new0 (Connect, 1);
  c->task = task;
  c->url = dal_url_ref (url);
  guint delay = fake_connect_delay_ms (url);
  c->source = attach (task, delay > 0 ? g_timeout_source_new (delay) : g_idle_source_new (),
                      connect_ready, c);
  GCancellable *cancellable = g_task_get_cancellable (task);
  if (cancellable != NULL)
    c->cancel_watch = watch_new (task, connect_cancelled, c);
}

static gboolean
fake_is_lost (gpointer conn)
{
  return fake_conn_is_lost (((AsyncConn *) conn)->db);
}

static const DalPluginFuncs funcs = {
  .connect_async = fake_connect_async,
  .query_async = fake_query_async,
  .close = fake_close,
  .get_info = fake_get_info,
  .is_lost = fake_is_lost,
};

static const char * const drivers[] = { "async", NULL };

DAL_PLUGIN_EXPORT const DalPluginDescriptor DAL_PLUGIN_DESCRIPTOR_SYMBOL (fakeasync) = {
  DAL_PLUGIN_ABI_INIT,
  .name = "fakeasync",
  .dialect = "test",
  .drivers = drivers,
  .caps = DAL_PLUGIN_CAP_ASYNC | DAL_PLUGIN_CAP_CANCEL,
  .funcs = &funcs,
  .description = "Fake async-only plugin for the unit tests",
};
