/* dal-pg-sync.c: the blocking connect of both PostgreSQL plugins: the
 * connect engine (dal_pg_connect_async) driven to completion on a private
 * main context (DalSyncCall, from the core). */
#include "config.h"

#include "dal-pg.h"

PGconn *
dal_pg_connect_sync (DalUrl *url, GCancellable *cancellable,
                     DalPgTimings *timings, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The engine's task is made here, with the private context pushed: its
   * sources (socket watch, deadline, resolver) are attached to that
   * context, which nothing else of the caller's runs on. */
  DalSyncCall *call = dal_sync_call_new ();
  dal_pg_connect_async (url, g_task_new (NULL, cancellable, dal_sync_call_done, call));
  DalPgConnected *done = g_task_propagate_pointer (G_TASK (dal_sync_call_wait (call)),
                                                   error);
  dal_sync_call_free (call);
  if (done == NULL)
    return NULL;
  *timings = done->timings;
  PGconn *conn = g_steal_pointer (&done->conn);
  dal_pg_connected_free (done);
  return conn;
}
