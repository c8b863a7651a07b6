/* pgsync-private.h: what the files of pgsync share (pgsync.c, the
 * statements; pgsync-batch.c, batches). */
#ifndef PGSYNC_PRIVATE_H
#define PGSYNC_PRIVATE_H

#include "dal-pg.h"

G_BEGIN_DECLS

typedef struct
{
  PGconn *conn;               /* NULL once given up */
  DalPgTimings timings;       /* of the connect, for get_info */
  DalUrl *url;
  gint64 command_timeout_ms;  /* 0: none */
  gint64 cancel_timeout_ms;
  DalPgCanceller *canceller;
  gint64 cancel_deadline;     /* the last cancel request's cancel_timeout */
  gint lost;                  /* atomic: no statement can run any more */
  GError *lost_why;           /* why, once lost */
  DalPgSession *session;      /* settings to send with each transaction
                               * (a transaction pooler), or NULL */
  DalPgNotify notify;         /* the core's: handed the notifications that
                               * came with each statement's results */
  GMainContext *context;      /* the core's set_notify_context, or NULL */
  gboolean listening;         /* the session may have LISTENs */
  DalPgIdleWatch *watch;      /* while listening and idle: the socket is
                               * read on @context (pgsync.c) */
} PgSync;

/* pgsync.c (see there) */
/* FALSE (and @error) once the connection can take no statement. */
G_GNUC_INTERNAL gboolean check_not_lost (PgSync *s, GError **error);
G_GNUC_INTERNAL void mark_lost (PgSync *s, const GError *why);
/* When the command_timeout of what is sent now expires (G_MAXINT64:
 * never). */
G_GNUC_INTERNAL gint64 command_deadline (PgSync *s);
/* Waits for a whole result (watching the GCancellable and the
 * deadlines, sending the cancel request), and when the server left a cancel request
 * unanswered, closes the connection (lost) and sets *@failure.  FALSE:
 * stop reading (the connection failed, or was given up). */
G_GNUC_INTERNAL gboolean wait_or_give_up (PgSync *s, GCancellable *cancellable,
                                          gint64 *deadline,
                                          DalPgCancelReason *reason,
                                          GError **failure);
G_GNUC_INTERNAL gboolean settle_cancels (PgSync *s);
G_GNUC_INTERNAL void abandon_copy (PGconn *conn, ExecStatusType status);
G_GNUC_INTERNAL gboolean is_error_result (const PGresult *r);
G_GNUC_INTERNAL void keep_result (PGresult **kept, PGresult *r);
/* A statement's DalResult from the result that tells its outcome (@kept,
 * taken), or NULL and *@failure. */
G_GNUC_INTERNAL DalResult *statement_outcome (PgSync *s, PGresult *kept,
                                              DalPgCancelReason reason,
                                              gboolean exposed, GError **failure);

/* Around every slot that uses the connection: a statement owns it from
 * statement_begin() (after a read of the idle watch, if one runs, ended)
 * to statement_end(), which hands the notifications read over and
 * watches the socket again (or starts, or stops, watching it). */
G_GNUC_INTERNAL void statement_begin (PgSync *s);
G_GNUC_INTERNAL void statement_end (PgSync *s);
/* Whether the session listens, from a statement's result @r (its command
 * tag); @sql is the statement's, or NULL (a script). */
G_GNUC_INTERNAL void note_listen (PgSync *s, PGresult *r, const char *sql);

/* pgsync-batch.c: the batch slot. */
G_GNUC_INTERNAL DalBatchResult *pgsync_batch (gpointer handle,
                                              const DalBatchItem *items,
                                              guint n_items,
                                              GCancellable *cancellable,
                                              GError **error);

G_END_DECLS

#endif /* PGSYNC_PRIVATE_H */
