/* dal-connection-private.h: what the files of the connection facade share
 * (dal-connection.c, dal-connection-pool.c).  Never installed; nothing
 * here is exported. */
#ifndef DAL_CONNECTION_PRIVATE_H
#define DAL_CONNECTION_PRIVATE_H

#include "dal-private.h"

G_BEGIN_DECLS

typedef struct _DalCallCache DalCallCache;

struct _DalConnection
{
  GObject parent_instance;

  DalCallCache *call_cache;   /* finished DalCalls, for reuse (dal-call.c) */

  DalUrl *url;
  DalRegistry *registry;      /* a reference: keeps plugin valid */
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
  guint session_effects;      /* 1 << DalSessionEffect of each one seen,
                               * and SEEN_OPENS_TX */

  /* Worker path (plugins without async slots). */
  GMutex lock;
  GCond idle_cond;
  GQueue pending;             /* GTask *, waiting for the worker */
  gboolean busy;              /* a blocking slot runs (worker or caller) */
  guint idle_waiters;         /* threads waiting on idle_cond */

  gpointer pool_slot;         /* the pool's Slot while a pool holds it
                               * (dal-pool.c) */

  /* LISTEN/NOTIFY (dal-notify.c). */
  struct _DalNotify *notify;  /* NULL: the plugin delivers none */
  gboolean tx_pooler;         /* LISTEN is refused */

  /* An async COPY runs (dal-copy-async.c; set and cleared on the
   * caller's thread): no other call starts meanwhile. */
  struct _DalCopyJob *copy_job;
};

typedef struct _DalNotify DalNotify;

/* In session_effects: a statement seen may have left a transaction block
 * open (_dal_sql_statement_effects()). */
#define SEEN_OPENS_TX (1u << 8)

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
/* A connection over the plugin's @handle (dal-connection-open.c makes
 * them). */
G_GNUC_INTERNAL DalConnection *connection_new (DalUrl *url, DalPlugin *plugin,
                                               gpointer handle);
/* "idle", "intrans", "inerror" (taken) as a DalTxStatus. */
G_GNUC_INTERNAL DalTxStatus conn_parse_tx_status (char *status);

/* The kind of a worker operation: every task data the worker runs
 * begins with one. */
typedef enum
{
  OP_QUERY,
  OP_CLOSE,
  OP_BATCH,   /* dal-connection-batch.c */
  OP_COPY,    /* dal-copy-async.c */
} OpKind;

/* -- async COPY (dal-copy-async.c) -- */

/* Worker path: runs the COPY of @task (its blocking slot) and completes
 * it. */
G_GNUC_INTERNAL void _dal_copy_work (DalConnection *self, GTask *task);
/* The error of a call made while an async COPY runs (DAL_ERROR_BUSY). */
G_GNUC_INTERNAL GError *_dal_copy_busy_error (void);
/* The connection is being closed: an async COPY running is cancelled
 * (the close then waits for it, as for a worker's statement). */
G_GNUC_INTERNAL void _dal_copy_close (DalConnection *self);

/* Helpers of dal-connection.c that the batch calls share (see there). */
G_GNUC_INTERNAL gboolean is_async_only (DalConnection *self);
G_GNUC_INTERNAL void note_error (DalConnection *self, const GError *error);
G_GNUC_INTERNAL void note_statement (DalConnection *self, const char *sql);
G_GNUC_INTERNAL void note_tx (DalConnection *self);
G_GNUC_INTERNAL GError *closed_error (void);
G_GNUC_INTERNAL void redact (DalConnection *self, GError *error);
G_GNUC_INTERNAL void enqueue (DalConnection *self, GTask *task);
G_GNUC_INTERNAL GTask *new_task (DalConnection *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data, gpointer tag);
G_GNUC_INTERNAL void query_async (DalConnection *self, const char *sql,
                                  GVariant *params, GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data, gpointer tag);
G_GNUC_INTERNAL DalResult *query_finish (DalConnection *self,
                                         GAsyncResult *result, gpointer tag,
                                         GError **error);
G_GNUC_INTERNAL gboolean start_refused (DalConnection *self, GTask *task);
G_GNUC_INTERNAL gboolean blocking_refused (DalConnection *self, GError **error);
G_GNUC_INTERNAL gboolean blocking_begin (DalConnection *self, const char *sql,
                                         GCancellable *cancellable,
                                         gboolean *claimed, GError **local);
G_GNUC_INTERNAL void blocking_end (DalConnection *self, gboolean claimed,
                                   GError *local, GError **error);

/* -- batches (dal-batch.c, dal-connection-batch.c) -- */

/* Appends @sql with its converted parameters (@owned, taken). */
G_GNUC_INTERNAL void _dal_batch_add_owned (DalBatch *batch, const char *sql,
                                           DalParamsOwned *owned);
/* The statements as plugins get them (free the array with g_free; the
 * texts stay @batch's, which must outlive it). */
G_GNUC_INTERNAL DalBatchItem *_dal_batch_items_new (DalBatch *batch, guint *n_items);
/* dal_batch_result_check() with "@what N of M: " before the message. */
G_GNUC_INTERNAL gboolean _dal_batch_result_check_as (const DalBatchResult *br,
                                                     const char *what,
                                                     GError **error);
/* Scrubs @secret out of every statement's error. */
G_GNUC_INTERNAL void _dal_batch_result_redact (DalBatchResult *br,
                                               const char *secret);
/* executemany: one statement of @sql per row of @rows (an array of
 * tuples; a floating reference consumed), or per row of @n_params texts;
 * an error names the row.  The rows' total of affected rows from a
 * batch's result (taken; NULL: -1), or -1 and the failing row's error. */
G_GNUC_INTERNAL DalBatch *_dal_batch_new_rows (const char *sql, GVariant *rows,
                                               GError **error);
G_GNUC_INTERNAL DalBatch *_dal_batch_new_text_rows (const char *sql, guint n_rows,
                                                    guint n_params,
                                                    const char * const *values,
                                                    GError **error);
G_GNUC_INTERNAL gint64 _dal_batch_result_total (DalBatchResult *br, GError **error);
/* The largest _dal_sql_session_effect() of the batch's statements. */
G_GNUC_INTERNAL DalSessionEffect _dal_batch_session_effect (DalBatch *batch);
/* Worker path: runs the batch operation of @task (blocking slot) and
 * completes it. */
G_GNUC_INTERNAL void conn_batch_work (DalConnection *self, GTask *task);
/* -- DalCall (dal-call.c): an async statement on a plugin's query_call
 * slot; its GAsyncResult -- */

/* A connection's finished calls, kept for its next statements. */
G_GNUC_INTERNAL DalCallCache *_dal_call_cache_new (guint max);
/* The connection goes: drops what is cached, and caches nothing more. */
G_GNUC_INTERNAL void _dal_call_cache_close (DalCallCache *cache);

#define DAL_TYPE_CALL (_dal_call_get_type ())
G_GNUC_INTERNAL GType _dal_call_get_type (void) G_GNUC_CONST;
#define DAL_CALL(o) (G_TYPE_CHECK_INSTANCE_CAST ((o), DAL_TYPE_CALL, DalCall))
#define DAL_IS_CALL(o) (G_TYPE_CHECK_INSTANCE_TYPE ((o), DAL_TYPE_CALL))
typedef GObjectClass DalCallClass;

/* A call from @cache (a cached one, or a new one), holding @source (a
 * GObject) until it completes.  Whoever takes it completes it exactly
 * once with _dal_call_return_value(), on the caller's main context, from
 * a dispatch of its own (never inside a call of the caller's: else
 * _dal_call_return_later()). */
G_GNUC_INTERNAL DalCall *_dal_call_take (DalCallCache *cache, gpointer source,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data, gpointer tag);
/* Completes @call (taken) with @value (freed with @value_free if nobody
 * propagates it) or @error: runs the callback now. */
G_GNUC_INTERNAL void _dal_call_return_value (DalCall *call, gpointer value,
                                             GDestroyNotify value_free,
                                             GError *error);
/* While the callback of a DalCall runs on this thread, from a dispatch
 * on @context: queues @func (@data) to run once that callback returned
 * (still from the same dispatch, never inside code of the caller's), and
 * returns TRUE.  FALSE otherwise, or before _dal_call_track_callbacks(). */
G_GNUC_INTERNAL gboolean _dal_call_run_after (GMainContext *context,
                                              void (*func) (gpointer data),
                                              gpointer data);
/* From now on, DalCall completions note their callbacks (for
 * _dal_call_run_after()). */
G_GNUC_INTERNAL void _dal_call_track_callbacks (void);
/* The same from an idle source on @context. */
G_GNUC_INTERNAL void _dal_call_return_later (DalCall *call, GMainContext *context,
                                             gpointer value,
                                             GDestroyNotify value_free,
                                             GError *error);
/* Takes @params; copies @sql. */
G_GNUC_INTERNAL DalCall *_dal_call_new (DalConnection *source,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data, gpointer tag,
                                        const char *sql,
                                        DalParamsOwned *params);
/* Sets the call's parameters to copies of @values (@n_params texts, NULL
 * for SQL NULL), in a block the call keeps across reuses. */
G_GNUC_INTERNAL void _dal_call_set_texts (DalCall *call, guint n_params,
                                          const char * const *values);
/* Drops a call nobody completed (a plugin declined it): back into its
 * cache. */
G_GNUC_INTERNAL void _dal_call_drop (DalCall *call);
G_GNUC_INTERNAL const char *_dal_call_get_sql (DalCall *call);
G_GNUC_INTERNAL const DalParams *_dal_call_get_params (DalCall *call);
/* Takes the parameters back (a plugin declined the call). */
G_GNUC_INTERNAL DalParamsOwned *_dal_call_steal_params (DalCall *call);
/* Whether @result is a DalCall whose source is @source and whose source
 * tag is @tag. */
G_GNUC_INTERNAL gboolean _dal_call_is_valid (GAsyncResult *result, gpointer source,
                                             gpointer tag);
/* The outcome (once): the value, or NULL with *@error set. */
G_GNUC_INTERNAL gpointer _dal_call_propagate (DalCall *call, GError **error);
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
