/* pgasync-deliver.c: the FIFO of completions of a pgasync connection.
 *
 * It lives on the hub of the connection's home context (pgasync-hub.c),
 * which is ready (through its prepare: no timer, no wake-up from the home
 * thread) whenever a FIFO holds a completion it can hand out, and drains
 * the FIFOs at the end of each dispatch, after reading the sockets that
 * fired: completions of a read are delivered in that read's dispatch;
 * those of a blocking call, an _async call or a close at the next one
 * (or in a main loop a callback runs itself: the hub may recurse).
 *
 * Order.  When GTask defers a callback to an idle of its own (it does for
 * a task returned in the iteration that created it), the FIFO waits for
 * that task's public "completed" notification before it hands out the
 * next: it never second-guesses when GTask calls back.  A task of another
 * context is left to GTask, which takes it there.
 *
 * The FIFO outlives its connection while it still holds completions.
 */
#include "config.h"

#include "pgasync-deliver.h"
#include "pgasync-hub.h"

/* A completion on its way to the caller. */
typedef struct
{
  GList link;               /* in the queue (data: the delivery) */
  GTask *task;              /* the caller's, or */
  DalCall *call;
  gpointer result;          /* and its outcome (a DalResult, or for a
                             * batch's task a DalBatchResult), or */
  GError *error;
  GDestroyNotify result_free;
} Delivery;

struct _PgDeliverer
{
  PgHub *hub;               /* a reference; NULL once the context went */
  GList hub_link;           /* in the hub's FIFOs (data: the FIFO) */
  GList ready_link;         /* in its ready ones, while there */
  guint holds;              /* a drain under way, a task waited for */
  GQueue queue;             /* Delivery *, by their own links */
  PgSpares spare;           /* handed out, kept for the next ones */
  GMainContext *home;       /* not a reference */
  GTask *waiting;           /* handed to GTask, callback not run yet */
  gboolean orphan;          /* the connection is gone: go once empty */
};

static void
delivery_clear (Delivery *d)
{
  if (d->result != NULL)
    d->result_free (d->result);
  g_clear_error (&d->error);
  g_clear_object (&d->task);
  g_clear_object (&d->call);
}

/* Done with @d: kept for the next completion, or freed. */
static void
delivery_recycle (PgDeliverer *dl, Delivery *d)
{
  delivery_clear (d);
  pg_spares_put (&dl->spare, &d->link);
}

static void
on_task_completed (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  PgDeliverer *dl = user_data;
  if (dl->waiting != (GTask *) object)
    return;
  g_signal_handlers_disconnect_by_func (object, on_task_completed, dl);
  g_clear_object (&dl->waiting);
  dl->holds--;
  pg_deliverer_kick (dl);
}

/* Hands out what can go now, in order.  Called only from a dispatch on the
 * home context, outside any call of the application's. */
void
pg_deliverer_drain (PgDeliverer *dl)
{
  dl->holds++;
  GList *l;
  while (dl->waiting == NULL && (l = pg_queue_pop_head_link (&dl->queue)) != NULL)
    {
      Delivery *d = l->data;
      if (d->call != NULL)
        {
          /* Its callback runs now: we are in a dispatch of our own. */
          dal_call_return (g_steal_pointer (&d->call), g_steal_pointer (&d->result),
                           g_steal_pointer (&d->error));
          delivery_recycle (dl, d);
          continue;
        }
      GTask *task = g_steal_pointer (&d->task);
      if (d->error != NULL)
        g_task_return_error (task, g_steal_pointer (&d->error));
      else
        g_task_return_pointer (task, g_steal_pointer (&d->result), d->result_free);
      delivery_recycle (dl, d);
      /* GTask deferred the callback to an idle of its own: the next one
       * waits until it has run. */
      if (!g_task_get_completed (task) && g_task_get_context (task) == dl->home)
        {
          dl->waiting = task;
          dl->holds++;
          g_signal_connect (task, "notify::completed", G_CALLBACK (on_task_completed), dl);
        }
      else
        g_object_unref (task);
    }
  dl->holds--;
  pg_deliverer_kick (dl);
}

/* Whether it holds a completion it can hand out now. */
static gboolean
deliverer_ready (PgDeliverer *dl)
{
  return dl->waiting == NULL && dl->queue.head != NULL;
}

/* Drops the completions still queued (they cannot be delivered). */
static void
drop_queued (PgDeliverer *dl)
{
  GList *l;
  while ((l = g_queue_pop_head_link (&dl->queue)) != NULL)
    {
      delivery_clear (l->data);
      g_free (l->data);
    }
}

static void
deliverer_free (PgDeliverer *dl)
{
  if (dl->hub != NULL)
    {
      pg_hub_remove_deliverer (dl->hub, &dl->hub_link, &dl->ready_link);
      pg_hub_unref (dl->hub);
    }
  drop_queued (dl);
  pg_spares_clear (&dl->spare);
  g_free (dl);
}

/* After completions were queued: an orphan left with nothing goes away,
 * and one that can hand something out is put on the hub's ready list (a
 * home context that another thread may be waiting in is woken up; the
 * thread iterating it sees it at its next prepare anyway). */
void
pg_deliverer_kick (PgDeliverer *dl)
{
  if (dl->orphan && dl->holds == 0 && dl->waiting == NULL
      && (dl->queue.head == NULL || dl->hub == NULL))
    deliverer_free (dl);
  else if (dl->hub != NULL && deliverer_ready (dl))
    {
      pg_hub_mark_ready (dl->hub, &dl->ready_link);
      if (!g_main_context_is_owner (dl->home))
        g_main_context_wakeup (dl->home);
    }
}

GList *
pg_deliverer_get_ready_link (PgDeliverer *dl)
{
  return &dl->ready_link;
}

PgHub *
pg_deliverer_get_hub (PgDeliverer *dl)
{
  return dl->hub;
}

/* The home context went away (its hub with it) while the FIFO held
 * completions: they cannot be delivered any more. */
void
pg_deliverer_hub_gone (PgDeliverer *dl)
{
  dl->hub = NULL;
  drop_queued (dl);
  pg_deliverer_kick (dl);  /* an orphan goes */
}

PgDeliverer *
pg_deliverer_new (GMainContext *home)
{
  PgDeliverer *dl = g_new0 (PgDeliverer, 1);
  g_queue_init (&dl->queue);
  dl->home = home;
  dl->hub_link.data = dl->ready_link.data = dl;
  dl->hub = pg_hub_ref_for (home);
  pg_hub_add_deliverer (dl->hub, &dl->hub_link);
  return dl;
}

void
pg_deliverer_push (PgDeliverer *dl, GTask *task, DalCall *call, DalResult *result,
                   GError *error)
{
  Delivery *d = pg_spares_take (&dl->spare);
  if (d == NULL)
    {
      d = g_new (Delivery, 1);
      d->link.data = d;
    }
  d->link.next = d->link.prev = NULL;
  d->task = task;
  d->call = call;
  d->result = result;
  d->error = error;
  d->result_free = (GDestroyNotify) dal_result_unref;
  pg_queue_push_tail_link (&dl->queue, &d->link);
}

void
pg_deliverer_push_batch (PgDeliverer *dl, GTask *task, DalBatchResult *result,
                         GError *error)
{
  pg_deliverer_push (dl, task, NULL, NULL, error);
  Delivery *d = g_queue_peek_tail (&dl->queue);
  d->result = result;
  d->result_free = (GDestroyNotify) dal_batch_result_unref;
}

gboolean
pg_deliverer_is_empty (PgDeliverer *dl)
{
  return dl->waiting == NULL && dl->queue.head == NULL;
}

void
pg_deliverer_release (PgDeliverer *dl)
{
  dl->orphan = TRUE;
  pg_deliverer_kick (dl);
}
