/* pgasync-hub.c: one GSource per main context for every pgasync
 * connection at home there.
 *
 * A main context iteration prepares and checks each of its sources; a
 * source per connection (and one per FIFO of completions) made that cost
 * grow with the connections on the context.  The hub carries them all:
 * each connection's socket, and its cancel eventfd while a cancel request
 * is on its way (g_source_add_poll, so that a dispatch reads their revents
 * without looking their tags up), the
 * earliest of their deadlines (its ready time), and the FIFOs of
 * completions that have something to hand out (it is ready, through its
 * prepare, while one has: no timer, no wake-up from the home thread).
 *
 * A dispatch first hands each connection whose socket, cancel eventfd or
 * deadline fired to its watch function (which reads and completes into
 * its FIFO, and never runs a callback), then drains the ready FIFOs:
 * callbacks run only there, outside any call of the application's.  The
 * hub may recurse (a nested main loop in a callback reads and delivers
 * what follows).
 *
 * Lifetime: a hub exists while a FIFO of one of its connections does (a
 * FIFO outlives its connection while it holds completions).  A context
 * with no pgasync connection has no hub; a parked connection's context
 * (the pool's, which nobody iterates) has its own, which keeps no other
 * context busy.  Hubs are found by their context in a table of their own;
 * the watches, FIFOs and ready FIFOs of a hub are guarded by its mutex
 * (a parked connection may be used or moved by any thread).
 */
#include "config.h"

#include "pgasync-hub.h"
#include "pgasync-deliver.h"

struct _PgHub
{
  GSource source;
  GMainContext *context;    /* not a reference */
  guint users;              /* references (pg_hub_ref_for), under hubs_lock */
  GMutex lock;              /* guards what follows */
  GQueue watches;           /* PgHubWatch, by their links */
  GQueue deliverers;        /* by their links (data: PgDeliverer) */
  GQueue ready;             /* deliverers with something to hand out */
  gint n_ready;             /* atomic mirror of ready.length */
  gint64 ready_time;        /* the earliest of the watches' */
  PgHubWatch **fired;       /* a dispatch's watches to run (reused) */
  guint fired_size;
};

G_LOCK_DEFINE_STATIC (hubs);
static GHashTable *hubs;    /* GMainContext * -> PgHub * */

/* Whether @ready_link is in hub->ready.  Under the lock. */
static gboolean
on_ready_list (PgHub *hub, GList *ready_link)
{
  return ready_link->prev != NULL || ready_link->next != NULL
         || hub->ready.head == ready_link;
}

static gboolean
hub_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((PgHub *) source)->n_ready) > 0;
}

static gboolean
watch_fired (PgHubWatch *w, gint64 now)
{
  return w->sock.revents != 0 || w->cancel.revents != 0
         || (w->ready_time >= 0 && now >= w->ready_time);
}

/* Ready with a FIFO to drain or a watch whose descriptors fired (GLib
 * looks at the ready time itself). */
static gboolean
hub_check (GSource *source)
{
  PgHub *hub = (PgHub *) source;
  if (g_atomic_int_get (&hub->n_ready) > 0)
    return TRUE;
  gboolean fired = FALSE;
  g_mutex_lock (&hub->lock);
  for (GList *l = hub->watches.head; l != NULL && !fired; l = l->next)
    fired = watch_fired (l->data, -1);
  g_mutex_unlock (&hub->lock);
  return fired;
}

static gboolean
hub_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  PgHub *hub = (PgHub *) source;
  gint64 ready_time = g_source_get_ready_time (source);
  gint64 now = ready_time >= 0 ? g_get_monotonic_time () : -1;

  /* The connections whose socket, cancel eventfd or deadline fired (a
   * connection moved here meanwhile by another thread waits for the next
   * dispatch). */
  guint n_fired = 0;
  g_mutex_lock (&hub->lock);
  if (hub->fired_size < hub->watches.length)
    {
      hub->fired_size = MAX (hub->watches.length, 2 * hub->fired_size);
      hub->fired = g_renew (PgHubWatch *, hub->fired, hub->fired_size);
    }
  for (GList *l = hub->watches.head; l != NULL; l = l->next)
    if (watch_fired (l->data, now))
      hub->fired[n_fired++] = l->data;
  g_mutex_unlock (&hub->lock);

  /* Only this thread removes a watch of a context it iterates, and a
   * watch function removes no other connection's. */
  for (guint i = 0; i < n_fired; i++)
    {
      PgHubWatch *w = hub->fired[i];
      GIOCondition revents = w->sock.revents;
      gboolean cancel_ready = w->cancel.revents != 0;
      gboolean due = w->ready_time >= 0 && now >= w->ready_time;
      /* (Seen: a nested iteration must not take them again.) */
      w->sock.revents = w->cancel.revents = 0;
      w->func (w->data, revents, cancel_ready, due);
    }

  /* Callbacks: the FIFOs, each in its order (one another thread makes
   * ready meanwhile may wait for the next iteration: it wakes the
   * context up). */
  while (g_atomic_int_get (&hub->n_ready) > 0)
    {
      g_mutex_lock (&hub->lock);
      GList *l = pg_queue_pop_head_link (&hub->ready);
      if (l != NULL)
        g_atomic_int_add (&hub->n_ready, -1);
      g_mutex_unlock (&hub->lock);
      if (l == NULL)
        break;
      pg_deliverer_drain (l->data);
    }
  return G_SOURCE_CONTINUE;
}

static void
hub_finalize (GSource *source)
{
  PgHub *hub = (PgHub *) source;
  G_LOCK (hubs);
  if (hubs != NULL && g_hash_table_lookup (hubs, hub->context) == hub)
    {
      g_hash_table_remove (hubs, hub->context);
      if (g_hash_table_size (hubs) == 0)
        g_clear_pointer (&hubs, g_hash_table_unref);
    }
  G_UNLOCK (hubs);
  /* Only when the context went away with completions still queued: they
   * cannot be delivered any more. */
  GList *l;
  while ((l = g_queue_pop_head_link (&hub->deliverers)) != NULL)
    {
      GList *ready_link = pg_deliverer_get_ready_link (l->data);
      if (on_ready_list (hub, ready_link))
        g_queue_unlink (&hub->ready, ready_link);
      pg_deliverer_hub_gone (l->data);
    }
  g_free (hub->fired);
  g_mutex_clear (&hub->lock);
}

static GSourceFuncs hub_funcs = {
  .prepare = hub_prepare,
  .check = hub_check,
  .dispatch = hub_dispatch,
  .finalize = hub_finalize,
};

PgHub *
pg_hub_ref_for (GMainContext *context)
{
  G_LOCK (hubs);
  if (hubs == NULL)
    hubs = g_hash_table_new (NULL, NULL);
  PgHub *hub = g_hash_table_lookup (hubs, context);
  if (hub == NULL || g_source_is_destroyed (&hub->source))
    {
      /* (A destroyed one is a context's that went away, its address
       * reused.) */
      hub = (PgHub *) g_source_new (&hub_funcs, sizeof (PgHub));
      hub->context = context;
      g_mutex_init (&hub->lock);
      g_queue_init (&hub->watches);
      g_queue_init (&hub->deliverers);
      g_queue_init (&hub->ready);
      hub->ready_time = -1;
      g_source_set_name (&hub->source, "dal pgasync");
      /* A nested main loop in a callback reads results and delivers what
       * follows (in order).  Not blocking the source around its dispatch
       * also spares GLib taking its file descriptors out of the poll set
       * and back, with a wake-up each time. */
      g_source_set_can_recurse (&hub->source, TRUE);
      g_source_attach (&hub->source, context);
      g_hash_table_replace (hubs, context, hub);
    }
  hub->users++;
  G_UNLOCK (hubs);
  return hub;
}

void
pg_hub_unref (PgHub *hub)
{
  G_LOCK (hubs);
  gboolean last = --hub->users == 0;
  if (last && g_hash_table_lookup (hubs, hub->context) == hub)
    g_hash_table_remove (hubs, hub->context);
  if (g_hash_table_size (hubs) == 0)
    g_clear_pointer (&hubs, g_hash_table_unref);
  G_UNLOCK (hubs);
  if (last)
    {
      g_source_destroy (&hub->source);
      g_source_unref (&hub->source);
    }
}

/* The hub's ready time: the earliest of its watches'.  Under the lock. */
static void
update_ready_time (PgHub *hub)
{
  gint64 t = -1;
  for (GList *l = hub->watches.head; l != NULL; l = l->next)
    {
      gint64 wt = ((PgHubWatch *) l->data)->ready_time;
      if (wt >= 0 && (t < 0 || wt < t))
        t = wt;
    }
  if (t != hub->ready_time)
    {
      hub->ready_time = t;
      g_source_set_ready_time (&hub->source, t);
    }
}

void
pg_hub_add_watch (PgHub *hub, PgHubWatch *w, int fd, GIOCondition condition,
                  int cancel_fd)
{
  w->link.data = w;
  w->link.prev = w->link.next = NULL;
  w->sock = (GPollFD) { .fd = fd, .events = condition };
  w->cancel = (GPollFD) { .fd = cancel_fd, .events = G_IO_IN };
  w->cancel_polled = FALSE;
  g_source_add_poll (&hub->source, &w->sock);
  g_mutex_lock (&hub->lock);
  g_queue_push_tail_link (&hub->watches, &w->link);
  if (w->ready_time >= 0)
    update_ready_time (hub);
  g_mutex_unlock (&hub->lock);
}

void
pg_hub_remove_watch (PgHub *hub, PgHubWatch *w)
{
  g_mutex_lock (&hub->lock);
  g_queue_unlink (&hub->watches, &w->link);
  if (w->ready_time >= 0)
    update_ready_time (hub);
  g_mutex_unlock (&hub->lock);
  g_source_remove_poll (&hub->source, &w->sock);
  pg_hub_watch_cancel (hub, w, FALSE);
}

void
pg_hub_watch_cancel (PgHub *hub, PgHubWatch *w, gboolean on)
{
  if (on == w->cancel_polled)
    return;
  w->cancel_polled = on;
  w->cancel.revents = 0;
  /* (GLib wakes a context polling in another thread to take it.) */
  if (on)
    g_source_add_poll (&hub->source, &w->cancel);
  else
    g_source_remove_poll (&hub->source, &w->cancel);
}

void
pg_hub_set_condition (PgHub *hub, PgHubWatch *w, GIOCondition condition)
{
  /* GLib reads the events at each iteration's query; a context polling
   * in another thread meanwhile is woken up to take them. */
  w->sock.events = condition;
  if (!g_main_context_is_owner (hub->context))
    g_main_context_wakeup (hub->context);
}

void
pg_hub_set_ready_time (PgHub *hub, PgHubWatch *w, gint64 ready_time)
{
  g_mutex_lock (&hub->lock);
  w->ready_time = ready_time;
  if (ready_time >= 0 && (hub->ready_time < 0 || ready_time < hub->ready_time))
    {
      hub->ready_time = ready_time;
      g_source_set_ready_time (&hub->source, ready_time);
    }
  else
    update_ready_time (hub);
  g_mutex_unlock (&hub->lock);
}

void
pg_hub_add_deliverer (PgHub *hub, GList *link)
{
  g_mutex_lock (&hub->lock);
  g_queue_push_tail_link (&hub->deliverers, link);
  g_mutex_unlock (&hub->lock);
}

void
pg_hub_remove_deliverer (PgHub *hub, GList *link, GList *ready_link)
{
  g_mutex_lock (&hub->lock);
  g_queue_unlink (&hub->deliverers, link);
  if (on_ready_list (hub, ready_link))
    {
      g_queue_unlink (&hub->ready, ready_link);
      g_atomic_int_add (&hub->n_ready, -1);
    }
  g_mutex_unlock (&hub->lock);
}

void
pg_hub_mark_ready (PgHub *hub, GList *ready_link)
{
  g_mutex_lock (&hub->lock);
  if (!on_ready_list (hub, ready_link))
    {
      pg_queue_push_tail_link (&hub->ready, ready_link);
      g_atomic_int_add (&hub->n_ready, 1);
    }
  g_mutex_unlock (&hub->lock);
}
