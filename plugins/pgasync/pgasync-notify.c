/* pgasync-notify.c: notifications (LISTEN/NOTIFY), natively.
 *
 * The socket is watched for input always, idle or not (update_watch),
 * so a notification wakes the home context when it arrives and costs
 * nothing before.  Every read (pg_io: the source's dispatch and the
 * blocking calls' pump alike, and check_idle) ends with
 * dal_pg_notify_drain(), after the results it brought were taken: the
 * core gets every notification in the order the server sent it, on the
 * home context's thread, also those that came with query results. */
#include "config.h"

#include "pgasync-private.h"

gboolean
pgasync_set_notify (gpointer handle, DalNotifyFunc func, gpointer user_data)
{
  PgAsync *pg = handle;
  return dal_pg_notify_set (&pg->notify, func, user_data);
}

/* Notices: libpq hands them to dal-pg-notify.c's receiver as it parses
 * what pg_io read, on the home context's thread (or a blocking call's). */
gboolean
pgasync_set_notice (gpointer handle, DalNoticeFunc func, gpointer user_data)
{
  PgAsync *pg = handle;
  return dal_pg_notice_set (pg->conn, &pg->notify, func, user_data);
}
