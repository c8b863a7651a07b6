/* dal-pg-notify.c: notifications (LISTEN/NOTIFY) and notices as both
 * PostgreSQL plugins hand them to the core (the set_notify slot, ABI 1.4,
 * and set_notice, ABI 1.6); the idle watch with which a blocking plugin
 * reads them while no statement runs (set_notify_context, ABI 1.7). */
#include "config.h"

#include "dal-pg.h"

gboolean
dal_pg_notify_set (DalPgNotify *notify, DalNotifyFunc func, gpointer user_data)
{
  notify->func = func;
  notify->user_data = user_data;
  return TRUE;
}

guint
dal_pg_notify_drain (PGconn *conn, const DalPgNotify *notify)
{
  if (conn == NULL)
    return 0;
  PGnotify *n;
  guint count = 0;
  /* PQnotifies() parses what PQconsumeInput() read first. */
  while ((n = PQnotifies (conn)) != NULL)
    {
      if (notify->func != NULL)
        notify->func (n->relname, n->extra, n->be_pid, notify->user_data);
      PQfreemem (n);
      count++;
    }
  return count;
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

/* -- the idle watch (dal-pg.h) --
 *
 * A GSource of its own with the socket as its only poll fd (no prepare,
 * no check, no timeout: it is ready when, and only when, the socket is
 * readable).  A statement that runs on another thread must never meet a
 * read of ours: hold() takes the lock, which a running read keeps, and
 * takes the fd out of the poll set (g_source_remove_unix_fd() locks the
 * context), so a readable socket that the statement is about to read
 * cannot wake the context in a loop either.  A dispatch that was already
 * decided when hold() came finds held set and does nothing.
 *
 * The source holds a reference to the watch, so a dispatch that comes
 * after the watch was moved or freed (GLib may call it once more after
 * g_source_destroy() from another thread) finds the source is no longer
 * the watch's, and leaves. */

struct _DalPgIdleWatch
{
  gint ref;                /* atomic: the owner's and the source's */
  GMutex lock;             /* everything below; held by a running read */
  int fd;
  DalPgIdleRead read;      /* NULL once freed */
  gpointer data;
  GMainContext *context;   /* a reference */
  GSource *source;         /* on @context */
  gpointer tag;            /* the fd in @source's poll set, or NULL */
  guint held;              /* hold()s not released yet */
  gboolean stopped;        /* @read returned FALSE: the connection is gone */
};

typedef struct
{
  GSource source;
  DalPgIdleWatch *watch;
} IdleSource;

static void
idle_watch_unref (DalPgIdleWatch *w)
{
  if (!g_atomic_int_dec_and_test (&w->ref))
    return;
  g_main_context_unref (w->context);
  g_mutex_clear (&w->lock);
  g_free (w);
}

static gboolean
idle_source_dispatch (GSource *source, G_GNUC_UNUSED GSourceFunc callback,
                      G_GNUC_UNUSED gpointer user_data)
{
  DalPgIdleWatch *w = ((IdleSource *) source)->watch;
  g_mutex_lock (&w->lock);
  if (w->source != source || w->read == NULL)
    {
      g_mutex_unlock (&w->lock);
      return G_SOURCE_REMOVE;
    }
  if (w->held == 0 && !w->stopped && !w->read (w->data))
    {
      /* Gone (end of file, a FATAL message): never watched again. */
      w->stopped = TRUE;
      if (w->tag != NULL)
        g_source_remove_unix_fd (source, w->tag);
      w->tag = NULL;
    }
  g_mutex_unlock (&w->lock);
  return G_SOURCE_CONTINUE;
}

static void
idle_source_finalize (GSource *source)
{
  idle_watch_unref (((IdleSource *) source)->watch);
}

static GSourceFuncs idle_source_funcs = {
  .dispatch = idle_source_dispatch,
  .finalize = idle_source_finalize,
};

static void
idle_watch_attach_locked (DalPgIdleWatch *w)
{
  IdleSource *is = (IdleSource *) g_source_new (&idle_source_funcs, sizeof (IdleSource));
  g_atomic_int_inc (&w->ref);
  is->watch = w;
  g_source_set_name ((GSource *) is, "dal idle connection");
  w->source = (GSource *) is;
  if (w->held == 0 && !w->stopped)
    w->tag = g_source_add_unix_fd (w->source, w->fd, G_IO_IN);
  g_source_attach (w->source, w->context);
}

static void
idle_watch_detach_locked (DalPgIdleWatch *w)
{
  w->tag = NULL;   /* goes with the source */
  dal_pg_source_clear (&w->source);
}

DalPgIdleWatch *
dal_pg_idle_watch_new (int fd, GMainContext *context, DalPgIdleRead read,
                       gpointer data)
{
  DalPgIdleWatch *w = g_new0 (DalPgIdleWatch, 1);
  w->ref = 1;
  g_mutex_init (&w->lock);
  w->fd = fd;
  w->read = read;
  w->data = data;
  w->context = g_main_context_ref (context);
  g_mutex_lock (&w->lock);
  idle_watch_attach_locked (w);
  g_mutex_unlock (&w->lock);
  return w;
}

void
dal_pg_idle_watch_set_context (DalPgIdleWatch *w, GMainContext *context)
{
  g_mutex_lock (&w->lock);
  if (context != w->context)
    {
      idle_watch_detach_locked (w);
      g_main_context_unref (w->context);
      w->context = g_main_context_ref (context);
      idle_watch_attach_locked (w);
    }
  g_mutex_unlock (&w->lock);
}

void
dal_pg_idle_watch_hold (DalPgIdleWatch *w)
{
  g_mutex_lock (&w->lock);
  w->held++;
  if (w->tag != NULL)
    g_source_remove_unix_fd (w->source, w->tag);
  w->tag = NULL;
  g_mutex_unlock (&w->lock);
}

void
dal_pg_idle_watch_release (DalPgIdleWatch *w)
{
  g_mutex_lock (&w->lock);
  if (w->held > 0)
    w->held--;
  if (w->held == 0 && w->tag == NULL && !w->stopped && w->source != NULL)
    w->tag = g_source_add_unix_fd (w->source, w->fd, G_IO_IN);
  g_mutex_unlock (&w->lock);
}

void
dal_pg_idle_watch_free (DalPgIdleWatch *w)
{
  if (w == NULL)
    return;
  g_mutex_lock (&w->lock);
  w->read = NULL;
  idle_watch_detach_locked (w);
  g_mutex_unlock (&w->lock);
  idle_watch_unref (w);
}
