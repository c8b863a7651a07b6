/* pgasync-deliver.c: the FIFO of completions of a pgasync connection.
 *
 * A GSource on the connection's home context, ready (through its prepare:
 * no timer, no wake-up from the home thread) whenever it holds a
 * completion it can hand out.  pgasync drains it at the end of its socket
 * source's dispatch; the FIFO's own dispatch drains it otherwise (after a
 * blocking call, an _async call or a close that completed operations, or
 * in a main loop a callback runs itself: the source may recurse).
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
  GSource source;
  GQueue queue;             /* Delivery *, by their own links */
  GList *spare;             /* handed out, kept for the next ones */
  guint n_spare;
  GMainContext *home;       /* not a reference */
  GTask *waiting;           /* handed to GTask, callback not run yet */
  gboolean orphan;          /* the connection is gone: go once empty */
};

/* How many handed-out deliveries the FIFO keeps for the next ones. */
#define SPARE_MAX 16

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
  if (dl->n_spare < SPARE_MAX)
    {
      d->link.next = dl->spare;
      dl->spare = &d->link;
      dl->n_spare++;
    }
  else
    g_free (d);
}

static void
on_task_completed (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  PgDeliverer *dl = user_data;
  if (dl->waiting != (GTask *) object)
    return;
  g_signal_handlers_disconnect_by_func (object, on_task_completed, dl);
  g_clear_object (&dl->waiting);
  pg_deliverer_kick (dl);
  g_source_unref (&dl->source);
}

/* Hands out what can go now, in order.  Called only from a dispatch on the
 * home context, outside any call of the application's. */
void
pg_deliverer_drain (PgDeliverer *dl)
{
  g_source_ref (&dl->source);
  GList *l;
  while (dl->waiting == NULL && (l = g_queue_pop_head_link (&dl->queue)) != NULL)
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
          g_source_ref (&dl->source);
          g_signal_connect (task, "notify::completed", G_CALLBACK (on_task_completed), dl);
        }
      else
        g_object_unref (task);
    }
  pg_deliverer_kick (dl);
  g_source_unref (&dl->source);
}

/* Whether it holds a completion it can hand out now. */
static gboolean
deliverer_ready (PgDeliverer *dl)
{
  return dl->waiting == NULL && !g_queue_is_empty (&dl->queue);
}

/* The deliverer is ready whenever it has something to hand out: the
 * context asks at every iteration (no syscall, no timer), nested
 * iterations in a callback included. */
static gboolean
deliverer_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return deliverer_ready ((PgDeliverer *) source);
}

static gboolean
deliverer_check (GSource *source)
{
  return deliverer_ready ((PgDeliverer *) source);
}

/* After completions were queued: an orphan left with nothing goes away,
 * and a home context that another thread may be waiting in is woken up
 * (the thread iterating it sees them at its next prepare anyway). */
void
pg_deliverer_kick (PgDeliverer *dl)
{
  if (g_source_is_destroyed (&dl->source))
    return;
  if (dl->orphan && dl->waiting == NULL && g_queue_is_empty (&dl->queue))
    g_source_destroy (&dl->source);
  else if (deliverer_ready (dl) && !g_main_context_is_owner (dl->home))
    g_main_context_wakeup (dl->home);
}

static gboolean
deliverer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  pg_deliverer_drain ((PgDeliverer *) source);  /* destroys an orphan once empty */
  return G_SOURCE_CONTINUE;
}

static void
deliverer_finalize (GSource *source)
{
  /* Completions are still queued only when its context went away with
   * some in it. */
  PgDeliverer *dl = (PgDeliverer *) source;
  GList *l;
  while ((l = g_queue_pop_head_link (&dl->queue)) != NULL)
    {
      delivery_clear (l->data);
      g_free (l->data);
    }
  while (dl->spare != NULL)
    {
      l = dl->spare;
      dl->spare = l->next;
      g_free (l->data);
    }
}

static GSourceFuncs deliverer_funcs = {
  .prepare = deliverer_prepare,
  .check = deliverer_check,
  .dispatch = deliverer_dispatch,
  .finalize = deliverer_finalize,
};

PgDeliverer *
pg_deliverer_new (GMainContext *home)
{
  PgDeliverer *dl = (PgDeliverer *) g_source_new (&deliverer_funcs, sizeof (PgDeliverer));
  g_queue_init (&dl->queue);
  dl->home = home;
  g_source_set_name (&dl->source, "dal pgasync completions");
  /* A nested main loop in a callback delivers what follows (in order). */
  g_source_set_can_recurse (&dl->source, TRUE);
  g_source_attach (&dl->source, home);
  return dl;
}

void
pg_deliverer_push (PgDeliverer *dl, GTask *task, DalCall *call, DalResult *result,
                   GError *error)
{
  Delivery *d;
  if (dl->spare != NULL)
    {
      d = dl->spare->data;
      dl->spare = dl->spare->next;
      dl->n_spare--;
    }
  else
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
  g_queue_push_tail_link (&dl->queue, &d->link);
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
  return dl->waiting == NULL && g_queue_is_empty (&dl->queue);
}

void
pg_deliverer_release (PgDeliverer *dl)
{
  dl->orphan = TRUE;
  pg_deliverer_kick (dl);
  g_source_unref (&dl->source);
}
