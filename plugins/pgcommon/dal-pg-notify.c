/* dal-pg-notify.c: notifications (LISTEN/NOTIFY) as both PostgreSQL
 * plugins hand them to the core (the set_notify slot, ABI 1.4). */
#include "config.h"

#include "dal-pg.h"

gboolean
dal_pg_notify_set (DalPgNotify *notify, DalNotifyFunc func, gpointer user_data)
{
  notify->func = func;
  notify->user_data = user_data;
  return TRUE;
}

void
dal_pg_notify_drain (PGconn *conn, const DalPgNotify *notify)
{
  if (conn == NULL)
    return;
  PGnotify *n;
  /* PQnotifies() parses what PQconsumeInput() read first. */
  while ((n = PQnotifies (conn)) != NULL)
    {
      if (notify->func != NULL)
        notify->func (n->relname, n->extra, n->be_pid, notify->user_data);
      PQfreemem (n);
    }
}
