/* pgasync-private.h: what the files of pgasync share (pgasync.c, the
 * engine; pgasync-cache.c, the statement cache). */
#ifndef PGASYNC_PRIVATE_H
#define PGASYNC_PRIVATE_H

#include "dal-pg.h"
#include "pgasync-deliver.h"

G_BEGIN_DECLS

typedef struct _PgAsync PgAsync;

typedef struct
{
  PgAsync *pg;
  GTask *task;              /* the caller's task, or */
  DalCall *call;            /* its call (query_call); both NULL once
                             * returned, and for blocking and internal
                             * operations */
  gboolean blocking;        /* a blocking call pumps until done */
  gboolean held;            /* in pg->unsent, not sent yet */
  const char *sql;          /* what to send (again), both valid until */
  const DalParams *params;  /* the operation completes */
  gboolean done;            /* its sync point arrived (or the connection ended) */
  guint groups_left;        /* result groups before the sync point: 1, or 2
                             * when a Prepare goes first */
  gboolean in_sync_phase;
  PGresult *result;
  GError *error;
  char *cache_key;          /* the statement-cache entry this op uses */
  char *cache_name;         /* that entry's statement name */
  gboolean prepares;        /* it sends the Prepare too */
  gboolean stale_plan;      /* failed with "cached plan must not change
                             * result type" */
  gboolean retried;
  char *deallocates;        /* internal: the statement it deallocates */
  DalPgCancelReason cancel_reason;
  gboolean cancel_sent;
  gboolean cancel_exposed;  /* sent while a cancel request for an earlier
                             * statement was on its way: it may hit this one */
  gint64 head_since;        /* when it reached the head of the queue (the
                             * server runs it from then on); 0: not yet */
  gint64 give_up_at;        /* once its cancel request is out */
  GSource *cancel_source;   /* the caller's GCancellable */
  guint8 session_at;        /* the session settings' set_config() goes in
                             * result group 1 (before the statement) or 2
                             * (after a BEGIN); 0: not sent */
  GError *session_error;    /* the server refused it */
} PgOp;

typedef struct
{
  char *name;
  GList *lru_link;
} CacheEntry;


struct _PgAsync
{
  gint ref_count;           /* the handle, a dispatch, a pump */
  PGconn *conn;             /* NULL once closed or given up */
  DalPgTimings timings;     /* of the connect, for get_info */
  gboolean closed;          /* by the caller */
  DalUrl *url;
  GMainContext *context;    /* home: where the socket is watched */
  GSource *source;          /* socket, cancel requests, head deadline */
  gpointer fd_tag;
  GIOCondition watching;
  gpointer cancel_tag;
  gint64 ready_time;        /* the source's, as last set */
  guint pumping;            /* blocking calls on the stack */
  PgDeliverer *deliverer;    /* the completion FIFO (pgasync-deliver.c) */
  GQueue ops;               /* PgOp *, sent, awaiting their sync point */
  GQueue unsent;            /* PgOp *, held back while a cancel request is
                             * on its way (after every op in @ops) */
  DalPgCanceller *canceller;
  GError *lost;             /* why the connection ended, once it did */
  gint lost_flag;           /* atomic mirror of lost != NULL */
  gint64 command_timeout_ms;
  gint64 cancel_timeout_ms;

  guint cache_size;         /* 0: unnamed statements only */
  GHashTable *cache;        /* key -> CacheEntry */
  GQueue cache_lru;         /* keys, least recently used first */
  GQueue deallocate;        /* names of statements to deallocate (char *) */

  DalPgSession *session;    /* settings sent with each transaction (a
                             * transaction pooler), or NULL */
  gboolean queued_in_tx;    /* a transaction block is open once the
                             * statements sent so far have run */
  DalPgNotify notify;       /* the core's (set_notify): handed every
                             * notification after each read */
};

/* -- the statement cache (pgasync-cache.c) -- */

G_GNUC_INTERNAL void cache_entry_free (CacheEntry *e);
G_GNUC_INTERNAL void cache_forget (PgAsync *pg, const char *key);
G_GNUC_INTERNAL char *statement_name_new (void);
G_GNUC_INTERNAL void cache_note_failure (PgAsync *pg, PgOp *op, const PGresult *r);

/* -- shared with pgasync-copy.c (pgasync.c) -- */

/* Makes the connection's socket source on its home context. */
G_GNUC_INTERNAL void attach_source (PgAsync *pg);
/* FALSE (and @error) when the connection was closed or lost. */
G_GNUC_INTERNAL gboolean pg_check_usable (PgAsync *pg, GError **error);

/* -- COPY (pgasync-copy.c) -- */

G_GNUC_INTERNAL gint64 pgasync_copy_in (gpointer handle, const char *sql,
                                        DalCopyReadFunc read, gpointer source,
                                        GCancellable *cancellable, GError **error);
G_GNUC_INTERNAL gint64 pgasync_copy_out (gpointer handle, const char *sql,
                                         DalCopyWriteFunc write, gpointer sink,
                                         GCancellable *cancellable, GError **error);
/* -- notifications (pgasync-notify.c) -- */

G_GNUC_INTERNAL gboolean pgasync_set_notify (gpointer handle, DalNotifyFunc func,
                                             gpointer user_data);

G_END_DECLS

#endif /* PGASYNC_PRIVATE_H */
