/* async.c: several statements in flight on one connection, results
 * printed as they arrive, and whatever is still running after a deadline
 * cancelled.
 *
 *   examples/async [URL] [SECONDS]   (URL default: $DATABASE_URL;
 *                                     SECONDS default: 1.5)
 *
 * On postgresql+asyncpg:// the statements are pipelined on the one
 * connection; on postgresql+psycopg2:// a worker thread runs them one
 * after the other.  The code is the same.
 */
#include <stdio.h>
#include <stdlib.h>

#include <dal/dal.h>

#define N_QUERIES 6

typedef struct
{
  GMainLoop *loop;
  GCancellable *cancellable;  /* cancels everything still pending */
  DalConnection *conn;
  guint pending;              /* calls started and not yet completed */
  gint64 start_us;
} App;

typedef struct
{
  App *app;
  guint id;
} Call;

static double
elapsed (App *app)
{
  return (g_get_monotonic_time () - app->start_us) / 1e6;
}

static void
call_done (App *app)
{
  if (--app->pending == 0)
    g_main_loop_quit (app->loop);
}

static void
on_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *call = user_data;
  App *app = call->app;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) result =
    dal_connection_query_finish (DAL_CONNECTION (source), res, &error);

  if (result != NULL)
    printf ("%5.2f s  query %u: %s\n", elapsed (app), call->id,
            dal_result_get_string (result, 0, 0, NULL));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    printf ("%5.2f s  query %u: cancelled\n", elapsed (app), call->id);
  else
    printf ("%5.2f s  query %u failed: %s\n", elapsed (app), call->id,
            error->message);

  g_free (call);
  call_done (app);
}

static void
on_open (GObject *source, GAsyncResult *res, gpointer user_data)
{
  App *app = user_data;
  g_autoptr (GError) error = NULL;

  app->conn = dal_connection_open_finish (res, &error);
  if (app->conn == NULL)
    {
      fprintf (stderr, "connect failed: %s\n", error->message);
      call_done (app);
      return;
    }
  printf ("%5.2f s  connected through %s\n", elapsed (app),
          dal_connection_get_plugin_name (app->conn));

  /* Start them all at once; each completes exactly once, on this
   * thread's main context, in its own callback. */
  for (guint i = 1; i <= N_QUERIES; i++)
    {
      Call *call = g_new0 (Call, 1);
      call->app = app;
      call->id = i;
      app->pending++;
      dal_connection_query_async (
        app->conn,
        "SELECT format('slept %s ms on the server', $1::int) "
        "FROM pg_sleep($1::int / 1000.0)",
        g_variant_new ("(i)", 400), app->cancellable, on_result, call);
    }
  call_done (app);  /* the open itself */
}

static gboolean
on_deadline (gpointer user_data)
{
  App *app = user_data;
  printf ("%5.2f s  deadline: cancelling what is still pending\n", elapsed (app));
  g_cancellable_cancel (app->cancellable);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  const char *url = argc > 1 ? argv[1] : g_getenv ("DATABASE_URL");
  double seconds = argc > 2 ? g_ascii_strtod (argv[2], NULL) : 1.5;
  if (url == NULL || seconds <= 0)
    {
      fprintf (stderr, "usage: %s URL [SECONDS]   (or set DATABASE_URL)\n", argv[0]);
      return 2;
    }

  App app = { 0 };
  app.loop = g_main_loop_new (NULL, FALSE);
  app.cancellable = g_cancellable_new ();
  app.start_us = g_get_monotonic_time ();
  app.pending = 1;  /* the open */

  /* The deadline covers the connect too: the same GCancellable is passed
   * to every call.  (command_timeout=SECONDS in the URL is the other way
   * to bound each statement: it fails with DAL_ERROR_QUERY_TIMEOUT.) */
  guint deadline = g_timeout_add ((guint) (seconds * 1000), on_deadline, &app);
  dal_connection_open_async (url, app.cancellable, on_open, &app);
  g_main_loop_run (app.loop);

  if (!g_cancellable_is_cancelled (app.cancellable))
    g_source_remove (deadline);
  int status = app.conn != NULL ? 0 : 1;
  if (app.conn != NULL)
    {
      dal_connection_close (app.conn, NULL, NULL);
      g_object_unref (app.conn);
    }
  g_object_unref (app.cancellable);
  g_main_loop_unref (app.loop);
  return status;
}
