/* dal-pg-notify.c: notifications (LISTEN/NOTIFY) and notices as both
 * PostgreSQL plugins hand them to the core (the set_notify slot, ABI 1.4,
 * and set_notice, ABI 1.6). */
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

/* libpq's notice receiver while the core wants notices: @arg is the
 * plugin's DalPgNotify. */
static void
notice_receive (void *arg, const PGresult *res)
{
  const DalPgNotify *notify = arg;
  const char *fields[DAL_ERROR_N_FIELDS];
  dal_pg_result_fields (res, fields);
  if (notify->notice_func != NULL && fields[DAL_ERROR_FIELD_MESSAGE] != NULL)
    notify->notice_func (fields, notify->notice_data);
}

gboolean
dal_pg_notice_set (PGconn *conn, DalPgNotify *notify, DalNoticeFunc func,
                   gpointer user_data)
{
  notify->notice_func = func;
  notify->notice_data = user_data;
  if (conn != NULL && func != NULL)
    PQsetNoticeReceiver (conn, notice_receive, notify);
  return TRUE;
}

void
dal_pg_notice_forward (const DalPgNotify *notify, const PGresult *res)
{
  if (notify != NULL && notify->notice_func != NULL)
    notice_receive ((void *) notify, res);
  else
    {
      g_autofree char *clean = dal_pg_clean_message (PQresultErrorMessage (res));
      g_debug ("server notice: %s", clean);
    }
}
