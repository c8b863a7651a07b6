/* dal-notify.c: LISTEN/NOTIFY on a DalConnection (dal-notify.h).
 *
 * The plugin hands every notification to notify_push() (its set_notify
 * slot, ABI 1.4, installed when the connection is made), from whatever
 * thread read it: pgasync's home context, pgsync's worker or the caller
 * of a blocking statement.  notify_push() only queues it; a GSource of
 * ours on the connection's context, made at the first notification,
 * emits the signal.  Its prepare is a look at an atomic flag, so a
 * connection that gets nothing costs no wake-up and no timer; the
 * context is woken (g_main_context_wakeup) only when the notification was
 * pushed by a thread that does not own that context (an owner prepares
 * the source before it polls again anyway).
 *
 * The source holds a weak reference to the connection: it never keeps it
 * alive, and a notification still queued when the connection goes is
 * dropped with it.
 *
 * A plugin that reads an idle connection from a source of its own (pgsync)
 * is told where that context is (set_notify_context, ABI 1.7), at first
 * and whenever it changes.
 */
#include "config.h"

#include <string.h>

#include "dal-connection-private.h"

/* LISTEN and pg_notify() know names up to NAMEDATALEN - 1 bytes: LISTEN
 * truncates a longer one (with a NOTICE), pg_notify() refuses it. */
#define CHANNEL_MAX 63

/* A notification, or a notice (NOTICE, WARNING...: @notice is set). */
typedef struct
{
  char *channel;
  char *payload;
  gint pid;
  char **notice;       /* DAL_ERROR_N_FIELDS strings (NULL ones too) */
} Note;

typedef struct
{
  GSource source;
  gint pending;        /* atomic: the queue is not empty */
  GWeakRef conn;
} NotifySource;

struct _DalNotify
{
  GMutex lock;           /* everything below */
  GMainContext *context; /* where the signal is emitted (a reference) */
  NotifySource *source;  /* on @context; NULL until a notification came */
  GQueue queue;          /* Note *, in the order the server sent them */
  DalConnection *conn;   /* not a reference (the connection owns us) */
  gboolean notifications; /* the plugin delivers notifications */
};

static guint notification_signal;
static guint notice_signal;

static void
note_free (Note *n)
{
  g_free (n->channel);
  g_free (n->payload);
  if (n->notice != NULL)
    for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
      g_free (n->notice[i]);
  g_free (n->notice);
  g_free (n);
}

/* -- the source that emits -- */

static gboolean
notify_source_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((NotifySource *) source)->pending) != 0;
}

static gboolean
notify_source_check (GSource *source)
{
  return g_atomic_int_get (&((NotifySource *) source)->pending) != 0;
}

static gboolean
notify_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  NotifySource *ns = (NotifySource *) source;
  g_autoptr (DalConnection) conn = g_weak_ref_get (&ns->conn);
  if (conn == NULL)
    return G_SOURCE_REMOVE;

  DalNotify *n = conn->notify;
  g_mutex_lock (&n->lock);
  GQueue batch = n->queue;
  g_queue_init (&n->queue);
  g_atomic_int_set (&ns->pending, 0);
  g_mutex_unlock (&n->lock);

  Note *note;
  while ((note = g_queue_pop_head (&batch)) != NULL)
    {
      if (note->notice != NULL)
        g_signal_emit (conn, notice_signal, 0,
                       note->notice[DAL_ERROR_FIELD_SEVERITY],
                       note->notice[DAL_ERROR_FIELD_SQLSTATE],
                       note->notice[DAL_ERROR_FIELD_MESSAGE],
                       note->notice[DAL_ERROR_FIELD_DETAIL],
                       note->notice[DAL_ERROR_FIELD_HINT]);
      else
        g_signal_emit (conn, notification_signal, 0, note->channel, note->payload,
                       note->pid);
      note_free (note);
    }
  return G_SOURCE_CONTINUE;
}

static void
notify_source_finalize (GSource *source)
{
  g_weak_ref_clear (&((NotifySource *) source)->conn);
}

static GSourceFuncs notify_source_funcs = {
  .prepare = notify_source_prepare,
  .check = notify_source_check,
  .dispatch = notify_source_dispatch,
  .finalize = notify_source_finalize,
};

static void
source_clear_locked (DalNotify *n)
{
  if (n->source != NULL)
    {
      g_source_destroy ((GSource *) n->source);
      g_source_unref ((GSource *) n->source);
      n->source = NULL;
    }
}

/* Makes the source on n->context, ready when the queue is not empty. */
static void
source_attach_locked (DalNotify *n)
{
  NotifySource *ns = (NotifySource *) g_source_new (&notify_source_funcs,
                                                     sizeof (NotifySource));
  g_weak_ref_init (&ns->conn, n->conn);
  g_atomic_int_set (&ns->pending, !g_queue_is_empty (&n->queue));
  g_source_set_name ((GSource *) ns, "dal notifications");
  g_source_attach ((GSource *) ns, n->context);
  n->source = ns;
}

/* Queues @note for the source on n->context: any thread. */
static void
note_push (DalNotify *n, Note *note)
{
  g_mutex_lock (&n->lock);
  g_queue_push_tail (&n->queue, note);
  if (n->source == NULL)
    source_attach_locked (n);   /* wakes the context's owner itself */
  else
    g_atomic_int_set (&n->source->pending, 1);
  GMainContext *context = g_main_context_ref (n->context);
  g_mutex_unlock (&n->lock);

  if (!g_main_context_is_owner (context))
    g_main_context_wakeup (context);
  g_main_context_unref (context);
}

/* The plugin's DalNotifyFunc: any thread. */
static void
notify_push (const char *channel, const char *payload, gint pid, gpointer user_data)
{
  Note *note = g_new0 (Note, 1);
  note->channel = g_strdup (channel);
  note->payload = g_strdup (payload != NULL ? payload : "");
  note->pid = pid;
  note_push (user_data, note);
}

/* The plugin's DalNoticeFunc: any thread. */
static void
notice_push (const char * const *fields, gpointer user_data)
{
  Note *note = g_new0 (Note, 1);
  note->notice = g_new0 (char *, DAL_ERROR_N_FIELDS);
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    note->notice[i] = g_strdup (fields[i]);
  note_push (user_data, note);
}

/* -- the connection's side (dal-connection-private.h) -- */

void
_dal_notify_class_init (GObjectClass *klass)
{
  /* DalConnection::notification: documented in dal-notify.h, where
   * g-ir-scanner reads it. */
  notification_signal = g_signal_new ("notification", G_TYPE_FROM_CLASS (klass),
                                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 3, G_TYPE_STRING,
                                      G_TYPE_STRING, G_TYPE_INT);
  /* DalConnection::notice: documented in dal-notify.h too. */
  notice_signal = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass),
                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_STRING,
                                G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

void
_dal_notify_init (DalConnection *self)
{
  self->tx_pooler = dal_url_is_transaction_pooler (self->url);
  if (self->funcs->set_notify == NULL && self->funcs->set_notice == NULL)
    return;
  DalNotify *n = g_new0 (DalNotify, 1);
  g_mutex_init (&n->lock);
  g_queue_init (&n->queue);
  n->context = g_main_context_ref_thread_default ();
  n->conn = self;
  n->notifications = self->funcs->set_notify != NULL
                     && self->funcs->set_notify (self->handle, notify_push, n);
  gboolean notices = self->funcs->set_notice != NULL
                     && self->funcs->set_notice (self->handle, notice_push, n);
  if (n->notifications && self->funcs->set_notify_context != NULL)
    self->funcs->set_notify_context (self->handle, n->context);
  if (n->notifications || notices)
    self->notify = n;
  else
    {
      g_main_context_unref (n->context);
      g_mutex_clear (&n->lock);
      g_free (n);
    }
}

/* After the plugin's connection is closed: nothing pushes any more. */
void
_dal_notify_free (DalConnection *self)
{
  DalNotify *n = g_steal_pointer (&self->notify);
  if (n == NULL)
    return;
  source_clear_locked (n);
  g_queue_clear_full (&n->queue, (GDestroyNotify) note_free);
  g_main_context_unref (n->context);
  g_mutex_clear (&n->lock);
  g_free (n);
}

void
_dal_notify_set_context (DalConnection *self, GMainContext *context)
{
  DalNotify *n = self->notify;
  if (n == NULL)
    return;
  if (context == NULL)
    context = g_main_context_get_thread_default ();
  if (context == NULL)
    context = g_main_context_default ();
  g_mutex_lock (&n->lock);
  gboolean moved = context != n->context;
  if (moved)
    {
      gboolean had_source = n->source != NULL;
      source_clear_locked (n);
      g_main_context_unref (n->context);
      n->context = g_main_context_ref (context);
      if (had_source)
        source_attach_locked (n);
    }
  g_mutex_unlock (&n->lock);
  /* (Outside our lock: the plugin's watch takes its own, then ours.) */
  if (moved && n->notifications && self->funcs->set_notify_context != NULL)
    self->funcs->set_notify_context (self->handle, context);
}

void
_dal_notify_reset (DalConnection *self, gboolean handlers)
{
  DalNotify *n = self->notify;
  if (n == NULL)
    return;
  /* (g_signal_handlers_disconnect_matched() wants a closure, function
   * or data to match: every handler is found one by one.  First one look
   * for a handler of any signal without a detail, as ours are: a
   * connection usually has none.) */
  gulong id;
  handlers = handlers
             && g_signal_handler_find (self, G_SIGNAL_MATCH_DETAIL, 0, 0, NULL,
                                       NULL, NULL) != 0;
  while (handlers
         && (id = g_signal_handler_find (self, G_SIGNAL_MATCH_ID, notification_signal,
                                         0, NULL, NULL, NULL)) != 0)
    g_signal_handler_disconnect (self, id);
  while (handlers
         && (id = g_signal_handler_find (self, G_SIGNAL_MATCH_ID, notice_signal,
                                         0, NULL, NULL, NULL)) != 0)
    g_signal_handler_disconnect (self, id);
  g_mutex_lock (&n->lock);
  if (!g_queue_is_empty (&n->queue))
    {
      g_queue_clear_full (&n->queue, (GDestroyNotify) note_free);
      if (n->source != NULL)
        g_atomic_int_set (&n->source->pending, 0);
    }
  g_mutex_unlock (&n->lock);
}

static GError *
tx_pooler_error (void)
{
  return dal_error_new_hint (
    DAL_ERROR_UNSUPPORTED,
    "Listen on a connection of its own to the database directly, or through "
    "a session pooler (Supabase: port 5432 instead of 6543), without "
    "pooler_mode=transaction",
    "LISTEN cannot work through a transaction pooler: each transaction may "
    "run on another server connection, so the notifications would go to "
    "whichever client holds that server connection, or to nobody");
}

gboolean
_dal_notify_refuse_listen (DalConnection *self, const char *sql, GError **error)
{
  if (!_dal_sql_listens (sql))
    return TRUE;
  g_propagate_error (error, tx_pooler_error ());
  return FALSE;
}

/* -- dal_connection_listen() and dal_connection_unlisten() -- */

/* The statement for @channel (NULL: UNLISTEN *), or NULL and @error. */
static char *
listen_sql (DalConnection *self, const char *verb, const char *channel,
            GError **error)
{
  if (self->notify == NULL || !self->notify->notifications)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Use a postgresql+asyncpg:// URL (the pgasync plugin), which "
        "delivers notifications",
        "the %s plugin cannot deliver notifications (LISTEN/NOTIFY)",
        dal_connection_get_plugin_name (self)));
      return NULL;
    }
  if (self->tx_pooler && strcmp (verb, "LISTEN") == 0)
    {
      g_propagate_error (error, tx_pooler_error ());
      return NULL;
    }
  if (channel == NULL)
    return g_strdup ("UNLISTEN *");
  gsize len = strlen (channel);
  if (len == 0 || len > CHANNEL_MAX || !g_utf8_validate (channel, len, NULL))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_INVALID_PARAMETER,
        "Give a channel name of 1 to 63 bytes of UTF-8 text",
        "the channel name is %s (%" G_GSIZE_FORMAT " bytes)",
        len == 0 ? "empty" : len > CHANNEL_MAX ? "too long" : "not UTF-8",
        len));
      return NULL;
    }
  /* A quoted identifier: any text, its quotes doubled. */
  GString *sql = g_string_new (verb);
  g_string_append (sql, " \"");
  for (const char *p = channel; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (sql, '"');
      g_string_append_c (sql, *p);
    }
  g_string_append_c (sql, '"');
  return g_string_free (sql, FALSE);
}

static gboolean
run_sync (DalConnection *self, const char *verb, const char *channel,
          GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_autofree char *sql = listen_sql (self, verb, channel, error);
  if (sql == NULL)
    return FALSE;
  g_autoptr (DalResult) r = dal_connection_query (self, sql, NULL, cancellable, error);
  return r != NULL;
}

/* The statement, on a call tagged @tag (the _async function): its
 * _finish (run_finish()) checks the tag. */
static void
run_async (DalConnection *self, const char *verb, const char *channel,
           GCancellable *cancellable, GAsyncReadyCallback callback,
           gpointer user_data, gpointer tag)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  GError *error = NULL;
  g_autofree char *sql = listen_sql (self, verb, channel, &error);
  if (sql == NULL)
    {
      g_task_report_error (self, callback, user_data, tag, error);
      return;
    }
  query_async (self, sql, NULL, cancellable, callback, user_data, tag);
}

static gboolean
run_finish (DalConnection *self, GAsyncResult *result, gpointer tag, GError **error)
{
  /* (query_finish() takes the error of g_task_report_error() as well.) */
  g_autoptr (DalResult) r = query_finish (self, result, tag, error);
  return r != NULL;
}

gboolean
dal_connection_listen (DalConnection *self, const char *channel,
                       GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (channel != NULL, FALSE);
  return run_sync (self, "LISTEN", channel, cancellable, error);
}

void
dal_connection_listen_async (DalConnection *self, const char *channel,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (channel != NULL);
  run_async (self, "LISTEN", channel, cancellable, callback, user_data,
             dal_connection_listen_async);
}

gboolean
dal_connection_unlisten (DalConnection *self, const char *channel,
                         GCancellable *cancellable, GError **error)
{
  return run_sync (self, "UNLISTEN", channel, cancellable, error);
}

void
dal_connection_unlisten_async (DalConnection *self, const char *channel,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  run_async (self, "UNLISTEN", channel, cancellable, callback, user_data,
             dal_connection_unlisten_async);
}

gboolean
dal_connection_listen_finish (DalConnection *self, GAsyncResult *result,
                              GError **error)
{
  return run_finish (self, result, dal_connection_listen_async, error);
}

gboolean
dal_connection_unlisten_finish (DalConnection *self, GAsyncResult *result,
                                GError **error)
{
  return run_finish (self, result, dal_connection_unlisten_async, error);
}
