/* dal-pool-release.c: a borrowed connection (or one that ran an exclusive
 * one-shot) goes back to its pool: ROLLBACK when a transaction is open,
 * the session reset when its session state changed, nothing when it is
 * clean (see dal-pool.c for the whole). */
#include "config.h"

#include <string.h>

#include "dal-pool-private.h"

/* -- giving a slot back -- */

/* The statements that undo session state a borrower may have left
 * (direct and session-pooled connections only).  The function by its
 * schema: the borrower's search_path (undone by the last) must not pick
 * another. */
static const char * const session_reset[] = {
  "CLOSE ALL",
  "UNLISTEN *",
  "SELECT pg_catalog.pg_advisory_unlock_all()",
  "RESET ALL",
};

typedef enum
{
  RETURN_OK,
  RETURN_RETIRE,            /* close it: its state cannot be reset */
  RETURN_FAULT,             /* close it: it is lost, or the reset failed */
} ReturnOutcome;

typedef struct
{
  Slot *slot;
  gboolean rollback;
  gboolean session;
  guint pending;
  gboolean failed;
} Reset;

/* The slot's borrower or exclusive one-shot is done and its reset too. */
static void
finish_return (Slot *s, ReturnOutcome outcome)
{
  DalPool *pool = s->pool;
  Work w = WORK_INIT;
  gboolean borrowed;

  g_mutex_lock (&pool->lock);
  borrowed = s->borrowed;
  s->borrowed = s->returning = s->exclusive = FALSE;
  s->dirty = DAL_SESSION_CLEAN;
  /* (The label stays for the next borrower: read only while borrowed.) */
  if (outcome != RETURN_OK)
    s->retiring = TRUE;
  if (outcome == RETURN_FAULT)
    s->faulted = TRUE;
  pool_slot_done_locked (pool, s, &w);
  pool_serve_slot_locked (pool, s, &w);
  g_mutex_unlock (&pool->lock);

  pool_work_run (pool, &w);
  if (borrowed)
    g_object_unref (pool);
}

static void
reset_blocking (Reset *r)
{
  Slot *s = r->slot;
  GError *error = NULL;
  if (r->rollback)
    {
      s->internal++;
      if (!dal_connection_rollback (s->conn, NULL, &error))
        r->failed = TRUE;
    }
  for (guint i = 0; r->session && !r->failed && i < G_N_ELEMENTS (session_reset); i++)
    {
      s->internal++;
      DalResult *res = dal_connection_query (s->conn, session_reset[i], NULL,
                                             NULL, &error);
      if (res == NULL)
        r->failed = TRUE;
      else
        dal_result_unref (res);
    }
  if (error != NULL)
    g_debug ("resetting a pooled connection failed, it is replaced: %s",
             error->message);
  g_clear_error (&error);
  finish_return (s, r->failed ? RETURN_FAULT : RETURN_OK);
  g_free (r);
}

/* Work of a return that runs on a thread of GLib's pool (it may block on
 * the network).  dal_pool_close() waits for such threads, so that none
 * is mid-statement when the program ends. */
static GPrivate in_return_thread;

typedef struct
{
  DalPool *pool;            /* a reference */
  void (*run) (gpointer data);
  gpointer data;
} ThreadWork;

static void
thread_work_run (GTask *task, gpointer source, gpointer data,
                 GCancellable *cancellable)
{
  ThreadWork *tw = data;
  DalPool *pool = tw->pool;
  g_private_set (&in_return_thread, GINT_TO_POINTER (1));
  tw->run (tw->data);
  g_mutex_lock (&pool->lock);
  pool->return_threads--;
  g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
  g_private_set (&in_return_thread, NULL);
  g_object_unref (pool);
  g_free (tw);
  g_task_return_boolean (task, TRUE);
}

static void
run_in_thread (DalPool *pool, void (*run) (gpointer data), gpointer data)
{
  ThreadWork *tw = g_new (ThreadWork, 1);
  tw->pool = g_object_ref (pool);
  tw->run = run;
  tw->data = data;
  g_mutex_lock (&pool->lock);
  pool->return_threads++;
  g_mutex_unlock (&pool->lock);
  GTask *t = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (t, tw, NULL);
  g_task_run_in_thread (t, thread_work_run);
  g_object_unref (t);
}

/* Whether this thread is one of those (it must not wait for itself). */
gboolean
pool_in_return_thread (void)
{
  return g_private_get (&in_return_thread) != NULL;
}

/* dal_pool_release() on this thread, for a connection lent for blocking
 * calls: its reset may block right there, as every call on it does. */
static GPrivate releasing;

void
pool_release_begin (DalConnection *connection)
{
  g_private_set (&releasing, connection);
}

void
pool_release_end (void)
{
  g_private_set (&releasing, NULL);
}

static void
reset_step_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Reset *r = data;
  GError *error = NULL;
  DalResult *res = dal_connection_query_finish (DAL_CONNECTION (source), result,
                                                &error);
  if (res == NULL)
    {
      g_debug ("resetting a pooled connection failed, it is replaced: %s",
               error->message);
      g_error_free (error);
      r->failed = TRUE;
    }
  else
    dal_result_unref (res);
  if (--r->pending > 0)
    return;
  finish_return (r->slot, r->failed ? RETURN_FAULT : RETURN_OK);
  g_free (r);
}

/* On the connection's home: every reset statement at once (a plugin
 * that pipelines sends them together), done when the last answered. */
static gboolean
reset_async (gpointer data)
{
  Reset *r = data;
  Slot *s = r->slot;
  if (r->rollback)
    {
      r->pending++;
      s->internal++;
      dal_connection_query_async (s->conn, "ROLLBACK", NULL, NULL,
                                  reset_step_done, r);
    }
  for (guint i = 0; r->session && i < G_N_ELEMENTS (session_reset); i++)
    {
      r->pending++;
      s->internal++;
      dal_connection_query_async (s->conn, session_reset[i], NULL, NULL,
                                  reset_step_done, r);
    }
  return G_SOURCE_REMOVE;
}

typedef struct
{
  Slot *slot;
  DalSessionEffect effect;
} Released;

static void
release_in_thread (gpointer data)
{
  Released *rel = data;
  _dal_connection_wait_idle (rel->slot->conn);
  pool_slot_release (rel->slot, rel->effect, FALSE, TRUE);
  g_free (rel);
}

/* A borrowed connection came back, or an exclusive one-shot is done:
 * ROLLBACK when a transaction is open; the session reset when its state
 * changed (never through a transaction pooler, where session commands
 * reach another client's server connection); nothing at all when it is
 * clean.  @no_tx: none of its statements could have opened a transaction
 * block (tracked while it was lent).  @may_block: the caller is a
 * blocking call of the caller's own, which may wait for the reset. */
void
pool_slot_release (Slot *s, DalSessionEffect effect, gboolean no_tx,
                   gboolean may_block)
{
  DalPool *pool = s->pool;
  /* A connection with a home has nothing running once it is given back
   * (every call holds a reference): when none of the borrower's
   * statements could have opened a transaction block, none is open, and
   * the plugin need not be asked; when none changed the session either,
   * there is nothing to undo (pool_slot_done_locked() still sees whether
   * the server ended it). */
  gboolean no_tx_open = no_tx && s->bound;
  if (no_tx_open && effect == DAL_SESSION_CLEAN)
    {
      finish_return (s, RETURN_OK);
      return;
    }
  if (pool_slot_dead (s))
    {
      finish_return (s, RETURN_FAULT);
      return;
    }
  DalTxStatus tx = no_tx_open ? DAL_TX_IDLE : _dal_connection_get_tx_status (s->conn);
  if (tx == DAL_TX_UNKNOWN && !s->bound && !may_block)
    {
      /* The facade's worker has not let go of it yet (the borrower's last
       * reference may even be dropped on that worker): look again from a
       * thread of GLib's pool, once the worker is done. */
      Released *rel = g_new (Released, 1);
      rel->slot = s;
      rel->effect = effect;
      run_in_thread (pool, release_in_thread, rel);
      return;
    }
  gboolean rollback = tx != DAL_TX_IDLE;
  gboolean session = !pool->tx_pooler && effect == DAL_SESSION_RESETTABLE;
  if (!pool->tx_pooler && effect == DAL_SESSION_REPLACE)
    {
      g_mutex_lock (&pool->lock);
      pool->stats.resets++;
      g_mutex_unlock (&pool->lock);
      finish_return (s, RETURN_RETIRE);
      return;
    }
  if (!rollback && !session)
    {
      finish_return (s, RETURN_OK);
      return;
    }

  g_mutex_lock (&pool->lock);
  pool->stats.resets++;
  g_mutex_unlock (&pool->lock);

  Reset *r = g_new0 (Reset, 1);
  r->slot = s;
  r->rollback = rollback;
  r->session = session;
  if (s->bound && !s->parked)
    {
      /* On its context, pipelined; when nobody iterates that context
       * (nobody would ever see the answers), blocking, owning it. */
      if (!g_main_context_is_owner (s->home) && g_main_context_acquire (s->home))
        {
          reset_blocking (r);
          g_main_context_release (s->home);
        }
      else
        {
          GSource *idle = g_idle_source_new ();
          g_source_set_callback (idle, reset_async, r, NULL);
          g_source_set_name (idle, "dal pool reset");
          g_source_attach (idle, s->home);
          g_source_unref (idle);
        }
    }
  else if (may_block)
    reset_blocking (r);
  else
    {
      /* Perhaps on the facade's worker thread, or inside a plugin: the
       * blocking reset runs on a thread of GLib's pool. */
      run_in_thread (pool, (void (*) (gpointer)) reset_blocking, r);
    }
}

/* The pool's toggle reference: @is_last_ref when every other reference
 * went.  That happens only while the connection is lent (the pool's spare
 * reference is the borrower's then: pool_slot_new()), once the borrower
 * and every call it started let go: the connection goes back (once: the
 * lent flag says whether this notification ends a borrow), and the pool
 * takes its spare back at once, so that the references of the calls that
 * reset it notify nothing. */
void
pool_toggle_notify (gpointer data, GObject *object, gboolean is_last_ref)
{
  Slot *s = data;
  DalPool *pool = s->pool;
  if (!is_last_ref || !g_atomic_int_compare_and_exchange (&s->lent, TRUE, FALSE))
    return;
  /* (This notifies again: not the last reference, ignored.) */
  g_object_ref (object);
  g_mutex_lock (&pool->lock);
  gboolean go = s->borrowed && !s->returning;
  if (go)
    s->returning = TRUE;
  g_mutex_unlock (&pool->lock);
  if (!go)
    return;
  gboolean may_be_in_tx;
  DalSessionEffect effect = _dal_connection_give_back (s->conn, &may_be_in_tx);
  gboolean may_block = s->lent_blocking && g_private_get (&releasing) == object;
  pool_slot_release (s, effect, !may_be_in_tx, may_block);
}
