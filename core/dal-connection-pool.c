/* dal-connection-pool.c: what the pool needs of a connection
 * (core/dal-private.h, "the connection facade, as the pool uses it"):
 * none of it does network I/O or a round trip. */
#include "config.h"

#include "dal-connection-private.h"


gboolean
_dal_connection_is_context_bound (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);
  return !uses_worker (self);
}

/* Worker path: waits until nothing runs or is queued on the connection
 * (a blocking wait on the facade's condition variable; no I/O). */
void
_dal_connection_wait_idle (DalConnection *self)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  if (!uses_worker (self))
    return;
  g_mutex_lock (&self->lock);
  while (self->busy || !g_queue_is_empty (&self->pending))
    conn_wait_idle_locked (self);
  g_mutex_unlock (&self->lock);
}

gboolean
_dal_connection_pipelines (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);
  const DalPluginDescriptor *d = _dal_plugin_get_descriptor (self->plugin);
  return !uses_worker (self) && d != NULL
         && (d->caps & DAL_PLUGIN_CAP_PIPELINE) != 0;
}

gboolean
_dal_connection_set_context (DalConnection *self, GMainContext *context)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (context != NULL, FALSE);

  if (self->funcs->set_context == NULL || self->closed
      || self->handle == NULL || self->async_pending > 0)
    return FALSE;
  if (!self->funcs->set_context (self->handle, context))
    return FALSE;
  _dal_notify_set_context (self, context);
  return TRUE;
}

gboolean
_dal_connection_check_idle (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), FALSE);

  if (dal_connection_is_closed (self))
    return FALSE;
  if (self->funcs->check_idle == NULL)
    return TRUE;
  gboolean alive;
  if (uses_worker (self))
    {
      /* Never beside a statement the worker runs. */
      if (!conn_claim (self))
        return FALSE;
      alive = self->funcs->check_idle (self->handle);
      conn_release (self);
    }
  else
    alive = self->funcs->check_idle (self->handle);
  if (!alive)
    g_atomic_int_set (&self->lost, TRUE);
  return alive;
}

DalTxStatus
_dal_connection_get_tx_status (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), DAL_TX_UNKNOWN);

  if (self->funcs->get_info == NULL)
    return DAL_TX_UNKNOWN;
  if (uses_worker (self))
    {
      /* Without waiting: as the last statement left it, unless another
       * is queued. */
      g_mutex_lock (&self->lock);
      gboolean queued = !g_queue_is_empty (&self->pending) || self->handle == NULL;
      g_mutex_unlock (&self->lock);
      return queued ? DAL_TX_UNKNOWN : g_atomic_int_get (&self->worker_tx);
    }
  if (self->closed || self->handle == NULL)
    return DAL_TX_UNKNOWN;
  return conn_parse_tx_status (self->funcs->get_info (self->handle, "transaction_status"));
}

guint64
_dal_connection_get_n_statements (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), 0);
  return __atomic_load_n (&self->n_statements, __ATOMIC_RELAXED);
}

void
_dal_connection_track_session (DalConnection *self, gboolean on)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_atomic_int_set (&self->track_session, on ? 1 : 0);
}

/* The largest effect in a session_effects value. */
static DalSessionEffect
effect_of (guint seen)
{
  if (seen & (1u << DAL_SESSION_REPLACE))
    return DAL_SESSION_REPLACE;
  if (seen & (1u << DAL_SESSION_RESETTABLE))
    return DAL_SESSION_RESETTABLE;
  return DAL_SESSION_CLEAN;
}

DalSessionEffect
_dal_connection_take_session_effect (DalConnection *self)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), DAL_SESSION_REPLACE);
  return effect_of (g_atomic_int_and (&self->session_effects, 0));
}

void
_dal_connection_lend (DalConnection *self, GMainContext *context, gboolean blocking)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_atomic_int_set (&self->session_effects, 0);
  /* (Its handlers went when it was given back; notifications that
   * arrived since are the last borrower's.) */
  _dal_notify_reset (self, FALSE);
  _dal_notify_set_context (self, context);
  g_atomic_int_set (&self->track_session, 1);
  g_atomic_int_set (&self->blocking_only, blocking && !uses_worker (self));
}

DalSessionEffect
_dal_connection_give_back (DalConnection *self, gboolean *may_be_in_tx)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), DAL_SESSION_REPLACE);
  g_atomic_int_set (&self->track_session, 0);
  g_atomic_int_set (&self->blocking_only, 0);
  _dal_notify_reset (self, TRUE);
  guint seen = g_atomic_int_and (&self->session_effects, 0);
  *may_be_in_tx = (seen & SEEN_OPENS_TX) != 0;
  return effect_of (seen);
}
