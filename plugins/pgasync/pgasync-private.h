/* pgasync-private.h: what the files of pgasync share (pgasync.c, the
 * engine; pgasync-cache.c, the statement cache). */
#ifndef PGASYNC_PRIVATE_H
#define PGASYNC_PRIVATE_H

#include "dal-pg.h"
#include "pgasync-deliver.h"

G_BEGIN_DECLS

typedef struct _PgAsync PgAsync;

typedef struct _CacheEntry CacheEntry;

typedef struct _PgOp
{
  PgAsync *pg;
  GList link;               /* its place in pg->ops, pg->unsent or a
                             * queue of finished ops (data: the op) */
  GTask *task;              /* the caller's task, or */
  DalCall *call;            /* its call (query_call); both NULL once
                             * returned, and for blocking and internal
                             * operations */
  gboolean blocking;        /* a blocking call pumps until done */
  gboolean alone;           /* sent outside pipeline mode, with libpq's own
                             * Sync: done when its results end (a NULL
                             * from PQgetResult), no PGRES_PIPELINE_SYNC */
  gboolean exclusive;       /* a COPY: nothing in flight before or behind
                             * it (COPY FROM STDIN would take the next
                             * statement's messages for its data) */
  gboolean leaving_copy;    /* the server answered with COPY TO STDOUT:
                             * its data is read and dropped */
  gboolean held;            /* in pg->unsent, not sent yet */
  const char *sql;          /* what to send (again), both valid until */
  const DalParams *params;  /* the operation completes */
  gboolean done;            /* its sync point arrived (or the connection ended) */
  guint groups_left;        /* result groups before the sync point: 1, or 2
                             * when a Prepare goes first */
  gboolean in_sync_phase;
  PGresult *result;
  GError *error;
  CacheEntry *cache_entry;  /* the statement-cache entry this op uses
                             * (a reference) */
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
  struct _PgOp *subs;       /* a batch (pgasync-batch.c): its statements
                             * (one block),
                             * each an op that is never queued itself */
  guint n_subs;
  guint subs_room;          /* statements the block has room for */
  guint sub_at;             /* the one whose results arrive now */
  guint batch_failed;       /* the first that failed; n_subs: none */
} PgOp;

struct _CacheEntry
{
  gint refs;                /* the cache's, and each op's that uses it */
  char *key;                /* the parameters' kinds ('t'/'b'), '\x1f',
                             * the SQL: the cache's key */
  const char *sql;          /* in @key */
  int n_params;
  char *name;               /* its statement's */
  GList *lru_link;          /* in pg->cache_lru (data: the entry) */
};

/* Recently used entries by the address of their caller's SQL, so that a
 * statement run again finds its entry with one string comparison instead
 * of hashing its text (any hit is checked against the entry's key). */
#define PGASYNC_CACHE_MEMO 8


struct _PgAsync
{
  gint ref_count;           /* the handle, a dispatch, a pump */
  PGconn *conn;             /* NULL once closed or given up */
  DalPgTimings timings;     /* of the connect, for get_info */
  gboolean closed;          /* by the caller */
  DalUrl *url;
  GMainContext *context;    /* home: where the socket is watched */
  PgHub *source;            /* its context's hub while the socket, cancel
                             * requests and head deadline are watched
                             * there (pg->watch); else NULL.  Shared:
                             * detach_source(), never destroy it */
  PgHubWatch watch;
  GIOCondition watching;
  gint64 ready_time;        /* the watch's, as last set */
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
  GQueue cache_lru;         /* entries, least recently used first */
  CacheEntry *cache_memo[PGASYNC_CACHE_MEMO];  /* not references */
  GString *cache_key_buf;   /* a lookup's key */
  PgSpares spare_ops;       /* finished PgOps kept for the next ones */
  PgOp *spare_subs;         /* a finished batch's statement block, kept */
  guint spare_subs_room;    /* for the next batch (pgasync-batch.c) */
  GQueue deallocate;        /* names of statements to deallocate (char *) */

  DalPgSession *session;    /* settings sent with each transaction (a
                             * transaction pooler), or NULL */
  guint depth_peak;         /* the most statements queued (sent or held)
                             * at once since the queue was last empty */
  guint last_peak;          /* the same for the last busy spell: 1 (or
                             * 0), and a lone statement goes out alone */
  gboolean queued_in_tx;    /* a transaction block is open once the
                             * statements sent so far have run */
  DalPgNotify notify;       /* the core's (set_notify): handed every
                             * notification after each read */
  gpointer tls;             /* the OpenSSL session, which reads ahead
                             * (check_input() before waiting); NULL
                             * without TLS */
  gboolean input_due;       /* TLS holds input: the watch is due now */
};

/* The operation at the head of pg->ops (the one the server runs now), or
 * NULL (inline: the engine asks for each result). */
static inline PgOp *
ops_head (PgAsync *pg)
{
  return pg->ops.head != NULL ? pg->ops.head->data : NULL;
}

/* -- the statement cache (pgasync-cache.c) -- */

G_GNUC_INTERNAL void cache_entry_unref (CacheEntry *e);
G_GNUC_INTERNAL void cache_forget (PgAsync *pg, CacheEntry *e);
/* The entry for @sql with parameters @pp, or NULL. */
G_GNUC_INTERNAL CacheEntry *cache_lookup (PgAsync *pg, const char *sql,
                                          const DalPgParams *pp);
/* A new entry for them (its statement not prepared yet), most recently
 * used. */
G_GNUC_INTERNAL CacheEntry *cache_insert (PgAsync *pg, const char *sql,
                                          const DalPgParams *pp);
G_GNUC_INTERNAL char *statement_name_new (void);
G_GNUC_INTERNAL void cache_note_failure (PgAsync *pg, PgOp *op, const PGresult *r);

/* -- shared with pgasync-copy.c (pgasync.c) -- */

/* Puts the connection's socket on its home context's hub, and takes it
 * off (pg->source: NULL). */
G_GNUC_INTERNAL void attach_source (PgAsync *pg);
G_GNUC_INTERNAL void detach_source (PgAsync *pg);
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
G_GNUC_INTERNAL gboolean pgasync_set_notice (gpointer handle, DalNoticeFunc func,
                                             gpointer user_data);

/* -- the engine (pgasync.c), as batches use it -- */

G_GNUC_INTERNAL PgOp *op_new (PgAsync *pg);
/* Queues of ops use the ops' own links: an op is in one at a time. */
static inline void
op_queue_push (GQueue *queue, PgOp *op)
{
  pg_queue_push_tail_link (queue, &op->link);
}

static inline PgOp *
op_queue_pop (GQueue *queue)
{
  GList *l = pg_queue_pop_head_link (queue);
  return l != NULL ? l->data : NULL;
}
G_GNUC_INTERNAL void op_free (PgOp *op);
G_GNUC_INTERNAL void op_clear (PgOp *op);
G_GNUC_INTERNAL GError *op_final_error (PgAsync *pg, PgOp *op);
G_GNUC_INTERNAL void take_result (PgAsync *pg, PgOp *op, PGresult *r);
G_GNUC_INTERNAL void take_session_result (PgAsync *pg, PgOp *op, PGresult *r);
G_GNUC_INTERNAL gboolean send_deallocations (PgAsync *pg);
/* pg->queued_in_tx from the server's word when nothing is in flight. */
G_GNUC_INTERNAL void update_queued_in_tx (PgAsync *pg);
G_GNUC_INTERNAL gboolean send_parts (PgAsync *pg, PgOp *op, gboolean whole);
/* Puts libpq in pipeline mode (@on) or takes it out; FALSE if libpq
 * refused (something is in flight). */
G_GNUC_INTERNAL gboolean set_pipeline (PgAsync *pg, gboolean on);
/* Notes the queue's depth after a statement joined it, and its end. */
G_GNUC_INTERNAL void note_depth (PgAsync *pg);
G_GNUC_INTERNAL gboolean start_op (PgAsync *pg, PgOp *op, const char *sql,
                                   const DalParams *params, GError **error);
/* Starts @op (taken) for an async caller waiting on @task or @call
 * (taken), completing it through the FIFO. */
G_GNUC_INTERNAL void start_async (PgAsync *pg, PgOp *op, const char *sql,
                                  const DalParams *params, GTask *task,
                                  DalCall *call, GCancellable *cancellable);
/* Starts @op (a blocking one) and pumps the engine until it is done;
 * FALSE (and @error) if it could not start or the connection went.  The
 * caller frees @op and holds a reference on @pg meanwhile. */
G_GNUC_INTERNAL gboolean run_blocking (PgAsync *pg, PgOp *op, const char *sql,
                                       const DalParams *params,
                                       GCancellable *cancellable, GError **error);
G_GNUC_INTERNAL PgAsync *pg_ref (PgAsync *pg);
G_GNUC_INTERNAL void pg_unref (PgAsync *pg);
G_GNUC_INTERNAL void update_deadline (PgAsync *pg);
G_GNUC_INTERNAL void update_watch (PgAsync *pg);
G_GNUC_INTERNAL void note_head (PgAsync *pg);
G_GNUC_INTERNAL void mark_lost (PgAsync *pg, GQueue *done);
/* pgasync-send.c */
G_GNUC_INTERNAL gboolean send_op (PgAsync *pg, PgOp *op, GError **error);
G_GNUC_INTERNAL void flush_unsent (PgAsync *pg, GQueue *done);

/* -- batches (pgasync-batch.c) -- */

/* Queues a batch op's statements and its one sync point. */
G_GNUC_INTERNAL gboolean pgasync_batch_send (PgAsync *pg, PgOp *op);
/* A result (or the end of a result group, @r NULL) for a batch op that
 * has not reached its sync point. */
G_GNUC_INTERNAL void pgasync_batch_take (PgAsync *pg, PgOp *op, PGresult *r);
/* Completes @task (taken) with what the batch op gave, through the FIFO. */
G_GNUC_INTERNAL void pgasync_batch_deliver (PgAsync *pg, PgOp *op, GTask *task);
G_GNUC_INTERNAL void pgasync_batch_free_subs (PgOp *op);
G_GNUC_INTERNAL DalBatchResult *pgasync_batch (gpointer handle,
                                               const DalBatchItem *items,
                                               guint n_items,
                                               GCancellable *cancellable,
                                               GError **error);
G_GNUC_INTERNAL void pgasync_batch_async (gpointer handle,
                                          const DalBatchItem *items,
                                          guint n_items, GTask *task);

G_END_DECLS

#endif /* PGASYNC_PRIVATE_H */
