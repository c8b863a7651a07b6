/* pgasync-hub.h: the one GSource of pgasync on a main context, shared by
 * every connection whose home that context is (pgasync-hub.c). */
#ifndef PGASYNC_HUB_H
#define PGASYNC_HUB_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PgHub PgHub;

/* What a connection's watch is told in a dispatch: its socket's
 * conditions, whether its cancel eventfd is readable, whether its
 * deadline has passed. */
typedef void (*PgHubWatchFunc) (gpointer data, GIOCondition revents,
                                gboolean cancel_ready, gboolean due);

/* A connection's socket, cancel eventfd and deadline on the hub (the
 * connection's own memory; the hub does not own it). */
typedef struct
{
  GList link;               /* in the hub's watches (data: the watch) */
  PgHubWatchFunc func;
  gpointer data;
  GPollFD sock;             /* polled through the hub (g_source_add_poll:
                             * its revents are read directly) */
  GPollFD cancel;           /* polled only while cancel requests are on
                             * their way (pg_hub_watch_cancel) */
  gboolean cancel_polled;
  gint64 ready_time;        /* -1: none */
} PgHubWatch;

/* The hub of @context (made and attached if it has none): a reference,
 * which a deliverer holds as long as it lives. */
PgHub *pg_hub_ref_for (GMainContext *context);
void pg_hub_unref (PgHub *hub);

/* Watches @fd (for @condition) until pg_hub_remove_watch(), and
 * @cancel_fd (readable) while pg_hub_watch_cancel() says so; @w->func,
 * @w->data and @w->ready_time are set by the caller. */
void pg_hub_add_watch (PgHub *hub, PgHubWatch *w, int fd, GIOCondition condition,
                       int cancel_fd);
/* Polls @w's cancel eventfd (@on) or stops: a descriptor polled costs
 * every poll() of the context, and cancel requests are rare. */
void pg_hub_watch_cancel (PgHub *hub, PgHubWatch *w, gboolean on);
void pg_hub_remove_watch (PgHub *hub, PgHubWatch *w);
/* What @w's socket is watched for, from now on. */
void pg_hub_set_condition (PgHub *hub, PgHubWatch *w, GIOCondition condition);
/* @w's deadline (monotonic µs; -1: none). */
void pg_hub_set_ready_time (PgHub *hub, PgHubWatch *w, gint64 ready_time);

/* The FIFOs of completions (pgasync-deliver.c) on the hub: @link's data
 * is the deliverer. */
void pg_hub_add_deliverer (PgHub *hub, GList *link);
void pg_hub_remove_deliverer (PgHub *hub, GList *link, GList *ready_link);
/* @ready_link (data: the deliverer) has completions it can hand out: the
 * hub drains it at its next dispatch. */
void pg_hub_mark_ready (PgHub *hub, GList *ready_link);

G_END_DECLS

#endif /* PGASYNC_HUB_H */
