/* pgasync-deliver.h: the FIFO through which pgasync completes its callers'
 * tasks, in the order they were started and never inside another call. */
#ifndef PGASYNC_DELIVER_H
#define PGASYNC_DELIVER_H

#include <dal/dal-plugin.h>

#include "pgasync-hub.h"
#include "pgasync-spares.h"

G_BEGIN_DECLS

typedef struct _PgDeliverer PgDeliverer;

/* A FIFO on the hub of @home (the connection's home context). */
PgDeliverer *pg_deliverer_new (GMainContext *home);
/* Queues the completion of the caller's @task or @call (one of them;
 * taking it, @result and @error). */
void pg_deliverer_push (PgDeliverer *dl, GTask *task, DalCall *call,
                        DalResult *result, GError *error);
/* The same for a batch's @task (a batch has no DalCall). */
void pg_deliverer_push_batch (PgDeliverer *dl, GTask *task,
                              DalBatchResult *result, GError *error);
/* After pushing: wakes @home if another thread may be waiting in it (the
 * thread iterating it sees the completions at its next iteration). */
void pg_deliverer_kick (PgDeliverer *dl);
/* Hands out what can go now, in order.  Only from a dispatch on the home
 * context, outside any call of the application's. */
void pg_deliverer_drain (PgDeliverer *dl);
/* Whether it holds nothing (no completion queued, none handed to GTask
 * whose callback has not run yet). */
gboolean pg_deliverer_is_empty (PgDeliverer *dl);
/* The connection is gone (or moves to another context): the FIFO delivers what it still holds, then
 * goes away by itself. */
void pg_deliverer_release (PgDeliverer *dl);
/* Its home context's hub (the FIFO holds a reference). */
PgHub *pg_deliverer_get_hub (PgDeliverer *dl);
/* For the hub: the FIFO's link in its list of ready ones, and the hub
 * going away with its context. */
GList *pg_deliverer_get_ready_link (PgDeliverer *dl);
void pg_deliverer_hub_gone (PgDeliverer *dl);

G_END_DECLS

#endif /* PGASYNC_DELIVER_H */
