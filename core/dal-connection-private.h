/* dal-connection-private.h: what the files of the connection facade share
 * (dal-connection.c, dal-connection-pool.c).  Never installed; nothing
 * here is exported. */
#ifndef DAL_CONNECTION_PRIVATE_H
#define DAL_CONNECTION_PRIVATE_H

#include "dal-private.h"

G_BEGIN_DECLS

struct _DalConnection
{
  GObject parent_instance;

  DalUrl *url;
  DalPlugin *plugin;
  const DalPluginFuncs *funcs;
  gpointer handle;            /* the plugin's connection; NULL once closed
                               * (cleared under lock: is_closed() reads it) */
  gboolean closed;            /* no new operations */
  gint lost;                  /* atomic: a call failed with CONNECTION_LOST */
  gint worker_tx;             /* atomic DalTxStatus: worker path, as the
                               * last statement left it (read before its
                               * task completes) */
  gint blocking_only;         /* atomic: lent by a pool for blocking calls
                               * (its sources are on no live context) */
  guint async_pending;        /* async-only plugins: async calls not yet
                               * completed (caller's thread) */

  /* What the pool reads (any thread; atomic). */
  guint64 n_statements;       /* statements handed to the plugin */
  gint track_session;         /* classify each statement's text */
  guint session_effects;      /* 1 << DalSessionEffect of each one seen */

  /* Worker path (plugins without async slots). */
  GMutex lock;
  GCond idle_cond;
  GQueue pending;             /* GTask *, waiting for the worker */
  gboolean busy;              /* a blocking slot runs (worker or caller) */
  guint idle_waiters;         /* threads waiting on idle_cond */

  /* LISTEN/NOTIFY (dal-notify.c). */
  struct _DalNotify *notify;  /* NULL: the plugin delivers none */
  gboolean tx_pooler;         /* LISTEN is refused */
};

typedef struct _DalNotify DalNotify;

/* Plugins without async slots: a worker thread serves the async calls. */
static inline gboolean
uses_worker (DalConnection *self)
{
  return self->funcs->query_async == NULL;
}

/* Worker path: claims the connection for a blocking slot on the calling
 * thread, after everything queued before (FALSE once it was closed), and
 * gives it back; waits (lock held) for a change. */
G_GNUC_INTERNAL gboolean conn_claim (DalConnection *self);
G_GNUC_INTERNAL void conn_release (DalConnection *self);
G_GNUC_INTERNAL void conn_wait_idle_locked (DalConnection *self);
/* A blocking slot on the caller's thread (dal-connection.c): claims the
 * connection and notes the statement (FALSE and *@local when it cannot
 * run); blocking_end() gives it back and hands @local (taken) to the
 * caller, redacted. */
G_GNUC_INTERNAL gboolean blocking_begin (DalConnection *self, const char *sql,
                                         GCancellable *cancellable,
                                         gboolean *claimed, GError **local);
G_GNUC_INTERNAL void blocking_end (DalConnection *self, gboolean claimed,
                                   GError *local, GError **error);
/* "idle", "intrans", "inerror" (taken) as a DalTxStatus. */
G_GNUC_INTERNAL DalTxStatus conn_parse_tx_status (char *status);

/* -- DalCall (dal-call.c): an async statement on a plugin's query_call
 * slot; its GAsyncResult -- */

#define DAL_TYPE_CALL (_dal_call_get_type ())
G_GNUC_INTERNAL GType _dal_call_get_type (void) G_GNUC_CONST;
#define DAL_CALL(o) (G_TYPE_CHECK_INSTANCE_CAST ((o), DAL_TYPE_CALL, DalCall))
#define DAL_IS_CALL(o) (G_TYPE_CHECK_INSTANCE_TYPE ((o), DAL_TYPE_CALL))
typedef GObjectClass DalCallClass;

/* Takes @params; copies @sql. */
G_GNUC_INTERNAL DalCall *_dal_call_new (DalConnection *source,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data, gpointer tag,
                                        const char *sql,
                                        DalParamsOwned *params);
G_GNUC_INTERNAL const char *_dal_call_get_sql (DalCall *call);
G_GNUC_INTERNAL const DalParams *_dal_call_get_params (DalCall *call);
/* Takes the parameters back (a plugin declined the call). */
G_GNUC_INTERNAL DalParamsOwned *_dal_call_steal_params (DalCall *call);
G_GNUC_INTERNAL gpointer _dal_call_get_tag (DalCall *call);
/* Whether @result is a DalCall whose source is @source. */
G_GNUC_INTERNAL gboolean _dal_call_is_valid (GAsyncResult *result, gpointer source);
/* The outcome (once): the result, or NULL with *@error set. */
G_GNUC_INTERNAL DalResult *_dal_call_propagate (DalCall *call, GError **error);
/* LISTEN/NOTIFY (dal-notify.c): the "notification" signal; at
 * connection_new() (the thread-default context is the one the signal is
 * emitted on) and finalize; the pool moves it and resets it. */
G_GNUC_INTERNAL void _dal_notify_class_init (GObjectClass *klass);
G_GNUC_INTERNAL void _dal_notify_init (DalConnection *self);
G_GNUC_INTERNAL void _dal_notify_free (DalConnection *self);
G_GNUC_INTERNAL gboolean _dal_notify_refuse_listen (DalConnection *self,
                                                    const char *sql,
                                                    GError **error);

/* Through a transaction pooler a LISTEN statement fails (@error). */
static inline gboolean
conn_check_listen (DalConnection *self, const char *sql, GError **error)
{
  return G_LIKELY (!self->tx_pooler) || _dal_notify_refuse_listen (self, sql, error);
}

G_END_DECLS

#endif /* DAL_CONNECTION_PRIVATE_H */
