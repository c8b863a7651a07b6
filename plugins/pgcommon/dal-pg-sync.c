/* TEMPORARY: replaced by the facade branch's version at merge. */
#include "config.h"
#include "dal-pg.h"

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

PGconn *
dal_pg_connect_sync (DalUrl *url, GCancellable *cancellable, GError **error)
{
  GMainContext *context = g_main_context_new ();
  GAsyncResult *result = NULL;
  g_main_context_push_thread_default (context);
  dal_pg_connect_async (url, g_task_new (NULL, cancellable, done_cb, &result));
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  PGconn *conn = g_task_propagate_pointer (G_TASK (result), error);
  g_object_unref (result);
  g_main_context_unref (context);
  return conn;
}
