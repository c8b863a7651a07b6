/* dal-call.c: DalCall, the GAsyncResult of an async statement that a
 * plugin's query_call slot completes (see dal-plugin.h), and of the
 * pool's async acquire (the same promise, kept by the pool: see
 * _dal_call_take()).
 *
 * GTask does much that a statement on a pipelining plugin does not need:
 * it looks up and references the thread-default main context, notifies a
 * "completed" property, may defer the callback to an idle source, and
 * carries task data, a name, a priority and a thread pool.  The plugin
 * that takes a DalCall promises what GTask would otherwise check: it
 * completes the call exactly once, on the caller's main context, from a
 * dispatch of its own (never inside another call), so the callback can
 * run directly.  What remains is a small GObject: the source, the
 * callback, the source tag, the cancellable, the statement (text and
 * parameters, kept until completion) and its outcome.
 *
 * The _finish functions of the connection facade accept both a DalCall
 * and a GTask (plugins without query_call, the worker path), and check
 * either's source tag with g_async_result_is_tagged() (call_is_tagged()
 * here): a result of another call is a critical, never taken for theirs.
 *
 * Recycling.  Making and finalizing a GObject costs more than the rest of
 * a DalCall's life (type instance, qdata, notify queue, weak-reference
 * bookkeeping).  So each connection keeps a few finished calls for the
 * next statements (DalCallCache).  A cached call's one reference is the
 * cache's; taking it out hands that reference to the plugin (no
 * reference is added).  When the plugin drops its reference after the
 * callback (_dal_call_return_value()) and it is the last one, the call
 * goes back, emptied, instead of being finalized; when the caller kept
 * the result (another reference), it is simply unreferenced and dies as
 * any GObject, later.  Only the holder of the sole reference can see the
 * count at 1, so that test has no race.  A call in use holds its
 * connection (as a GTask holds its source object); a cached one holds
 * only the cache, so a connection is never kept alive by its cache.  The
 * cached calls form a list through the calls themselves (nothing is
 * allocated to cache one).
 *
 * After the callback.  Work that must not run inside the caller's code
 * but need not wait for another main loop iteration (the pool handing a
 * connection released in a statement's callback to the next waiter) may
 * be left to run right after the callback returns: _dal_call_run_after().
 */
#include "config.h"

#include <string.h>

#include "dal-connection-private.h"

struct _DalCallCache
{
  gint ref_count;             /* atomic: the connection, each call */
  guint max;                  /* how many finished calls it keeps */
  GMutex lock;
  DalCall *idle;              /* cached calls (through call->next), each
                               * held by its one reference */
  guint n_idle;
  gboolean closed;            /* the connection went: cache nothing more */
};

struct _DalCall
{
  GObject parent_instance;

  DalCallCache *cache;        /* a reference */
  DalCall *next;              /* in the cache's list while cached */

  GObject *source;            /* a DalConnection, or the DalPool */
  GCancellable *cancellable;
  GAsyncReadyCallback callback;
  gpointer user_data;
  gpointer tag;
  char *sql;                  /* the statement's text; a buffer kept */
  gsize sql_room;             /* across reuses: sql_room bytes */
  DalParamsOwned *params;
  char *arena;                /* the parameters' block when the call */
  gsize arena_room;           /* made them (texts): kept across reuses */
  gpointer value;             /* the outcome, until propagated: a */
  GDestroyNotify value_free;  /* DalResult, or the pool's connection */
  GError *error;
  gboolean returned;
};

/* Callbacks of DalCalls running on a thread, and work left to run once
 * the innermost returned (_dal_call_run_after()).  Tracked only once
 * something asked for it (a pool): other programs pay one load per
 * completion. */
#define AFTER_MAX 4

typedef struct
{
  guint depth;                /* DalCall callbacks running on the thread */
  gboolean in_after;          /* running what one left: what that leaves
                               * goes the usual way (a chain of hand-offs
                               * never grows the stack nor starves the
                               * main loop) */
  guint n_after;
  struct
  {
    void (*func) (gpointer data);
    gpointer data;
  } after[AFTER_MAX];
} CallFrame;

static gint frames_on;
static GPrivate frame_key = G_PRIVATE_INIT (g_free);

static CallFrame *
frame_get (void)
{
  CallFrame *f = g_private_get (&frame_key);
  if (G_UNLIKELY (f == NULL))
    {
      f = g_new0 (CallFrame, 1);
      g_private_set (&frame_key, f);
    }
  return f;
}

static void dal_call_async_result_iface_init (GAsyncResultIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DalCall, _dal_call, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_RESULT,
                                                      dal_call_async_result_iface_init))

static gpointer
call_get_user_data (GAsyncResult *result)
{
  return ((DalCall *) result)->user_data;
}

static GObject *
call_get_source_object (GAsyncResult *result)
{
  return g_object_ref (DAL_CALL (result)->source);
}

static gboolean
call_is_tagged (GAsyncResult *result, gpointer tag)
{
  return ((DalCall *) result)->tag == tag;
}

static void
dal_call_async_result_iface_init (GAsyncResultIface *iface)
{
  iface->get_user_data = call_get_user_data;
  iface->get_source_object = call_get_source_object;
  iface->is_tagged = call_is_tagged;
}

static DalCallCache *
cache_ref (DalCallCache *cache)
{
  g_atomic_int_inc (&cache->ref_count);
  return cache;
}

static void
cache_unref (DalCallCache *cache)
{
  if (!g_atomic_int_dec_and_test (&cache->ref_count))
    return;
  g_assert (cache->idle == NULL);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

/* Empties a finished call (what it holds of the statement and its
 * outcome); returns the source it held. */
static GObject *
call_clear (DalCall *call)
{
  g_clear_object (&call->cancellable);
  g_clear_pointer (&call->params, _dal_params_free);
  if (call->sql_room > 4096)
    {
      /* A cached call keeps no large text. */
      g_clear_pointer (&call->sql, g_free);
      call->sql_room = 0;
    }
  if (call->arena_room > 4096)
    {
      g_clear_pointer (&call->arena, g_free);
      call->arena_room = 0;
    }
  if (call->value != NULL && call->value_free != NULL)
    call->value_free (call->value);
  call->value = NULL;
  call->value_free = NULL;
  g_clear_error (&call->error);
  call->callback = NULL;
  call->user_data = NULL;
  call->tag = NULL;
  return g_steal_pointer (&call->source);
}

static void
dal_call_finalize (GObject *object)
{
  DalCall *call = DAL_CALL (object);
  g_clear_object (&call->source);
  call_clear (call);
  g_free (call->sql);
  g_free (call->arena);
  g_clear_pointer (&call->cache, cache_unref);
  G_OBJECT_CLASS (_dal_call_parent_class)->finalize (object);
}

/* The plugin drops its reference to a completed @call: back into its
 * cache, emptied, when that was the last one and the cache has room;
 * else an ordinary unreference. */
static void
call_release (DalCall *call)
{
  DalCallCache *cache = call->cache;
  if (g_atomic_int_get (&((GObject *) call)->ref_count) != 1)
    {
      g_object_unref (call);  /* the caller kept it: it dies later */
      return;
    }
  g_autoptr (GObject) source = call_clear (call);
  g_mutex_lock (&cache->lock);
  gboolean keep = !cache->closed && cache->n_idle < cache->max;
  if (keep)
    {
      call->next = cache->idle;
      cache->idle = call;
      cache->n_idle++;
    }
  g_mutex_unlock (&cache->lock);
  if (!keep)
    g_object_unref (call);
  /* (Last: dropping the source may close the cache.) */
}

DalCallCache *
_dal_call_cache_new (guint max)
{
  DalCallCache *cache = g_new0 (DalCallCache, 1);
  cache->ref_count = 1;
  cache->max = max;
  g_mutex_init (&cache->lock);
  return cache;
}

void
_dal_call_cache_close (DalCallCache *cache)
{
  g_mutex_lock (&cache->lock);
  cache->closed = TRUE;
  DalCall *idle = g_steal_pointer (&cache->idle);
  cache->n_idle = 0;
  g_mutex_unlock (&cache->lock);
  while (idle != NULL)
    {
      DalCall *call = idle;
      idle = call->next;
      call->next = NULL;
      g_object_unref (call);
    }
  cache_unref (cache);
}

static void
_dal_call_class_init (DalCallClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dal_call_finalize;
}

static void
_dal_call_init (DalCall *call)
{
}

DalCall *
_dal_call_take (DalCallCache *cache, gpointer source, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  g_mutex_lock (&cache->lock);
  DalCall *call = cache->idle;
  if (call != NULL)
    {
      cache->idle = call->next;
      cache->n_idle--;
    }
  g_mutex_unlock (&cache->lock);
  if (call != NULL)
    call->next = NULL;  /* the cache's reference is now the plugin's */
  else
    {
      call = g_object_new (DAL_TYPE_CALL, NULL);
      call->cache = cache_ref (cache);
      /* (g_object_new's reference is the plugin's.) */
    }
  call->returned = FALSE;
  call->source = g_object_ref (source);
  call->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  call->callback = callback;
  call->user_data = user_data;
  call->tag = tag;
  return call;
}

DalCall *
_dal_call_new (DalConnection *source, GCancellable *cancellable,
               GAsyncReadyCallback callback, gpointer user_data, gpointer tag,
               const char *sql, DalParamsOwned *params)
{
  DalCall *call = _dal_call_take (source->call_cache, source, cancellable,
                                  callback, user_data, tag);
  /* The text goes into the buffer a reused call kept, if it fits (no
   * allocation per statement). */
  gsize size = strlen (sql) + 1;
  if (size > call->sql_room)
    {
      g_free (call->sql);
      call->sql_room = MAX (size, 256);
      call->sql = g_malloc (call->sql_room);
    }
  memcpy (call->sql, sql, size);
  call->params = params;
  return call;
}

/* The parameters' block, in the call's own arena. */
static gpointer
arena_alloc0 (gsize size, gpointer data)
{
  DalCall *call = data;
  if (size > call->arena_room)
    {
      g_free (call->arena);
      call->arena_room = MAX (size, 256);
      call->arena = g_malloc (call->arena_room);
    }
  memset (call->arena, 0, size);
  return call->arena;
}

void
_dal_call_set_texts (DalCall *call, guint n_params, const char * const *values)
{
  g_clear_pointer (&call->params, _dal_params_free);
  call->params = _dal_params_new_texts_with (n_params, values, arena_alloc0, call);
}

void
_dal_call_drop (DalCall *call)
{
  call_release (call);
}

const char *
_dal_call_get_sql (DalCall *call)
{
  return call->sql;
}

const DalParams *
_dal_call_get_params (DalCall *call)
{
  return _dal_params_get (call->params);
}

DalParamsOwned *
_dal_call_steal_params (DalCall *call)
{
  return g_steal_pointer (&call->params);
}

GCancellable *
dal_call_get_cancellable (DalCall *call)
{
  g_return_val_if_fail (DAL_IS_CALL (call), NULL);
  return call->cancellable;
}

void
_dal_call_return_value (DalCall *call, gpointer value, GDestroyNotify value_free,
                        GError *error)
{
  g_return_if_fail ((value == NULL) != (error == NULL));
  g_return_if_fail (!call->returned);

  call->returned = TRUE;
  call->value = value;
  call->value_free = value_free;
  call->error = error;
  /* The plugin is done with the statement (its text stays in the
   * buffer, for the call's next use). */
  g_clear_pointer (&call->params, _dal_params_free);
  CallFrame *f = G_UNLIKELY (g_atomic_int_get (&frames_on)) ? frame_get () : NULL;
  if (f != NULL)
    f->depth++;
  if (call->callback != NULL)
    call->callback (call->source, (GAsyncResult *) call, call->user_data);
  call_release (call);
  if (f == NULL)
    return;
  f->depth--;
  if (f->n_after == 0 || f->in_after)
    return;
  /* What the callback left, in order. */
  f->in_after = TRUE;
  for (guint i = 0; i < f->n_after; i++)
    f->after[i].func (f->after[i].data);
  f->n_after = 0;
  f->in_after = FALSE;
}

void
_dal_call_track_callbacks (void)
{
  g_atomic_int_set (&frames_on, 1);
}

gboolean
_dal_call_run_after (GMainContext *context, void (*func) (gpointer data),
                     gpointer data)
{
  if (!g_atomic_int_get (&frames_on))
    return FALSE;
  CallFrame *f = frame_get ();
  if (f->depth == 0 || f->in_after || f->n_after == AFTER_MAX)
    return FALSE;
  /* The innermost dispatch on this thread must be one of @context's: a
   * callback that iterates another context (a blocking call's private
   * one, say) is still running code of the caller's on @context. */
  GSource *current = g_main_current_source ();
  if (current == NULL || g_source_get_context (current) != context)
    return FALSE;
  f->after[f->n_after].func = func;
  f->after[f->n_after].data = data;
  f->n_after++;
  return TRUE;
}

void
dal_call_return (DalCall *call, DalResult *result, GError *error)
{
  g_return_if_fail (DAL_IS_CALL (call));
  _dal_call_return_value (call, result, (GDestroyNotify) dal_result_unref, error);
}

typedef struct
{
  DalCall *call;
  gpointer value;
  GDestroyNotify value_free;
  GError *error;
} Later;

static gboolean
return_later_cb (gpointer data)
{
  Later *l = data;
  _dal_call_return_value (l->call, l->value, l->value_free, l->error);
  g_free (l);
  return G_SOURCE_REMOVE;
}

void
_dal_call_return_later (DalCall *call, GMainContext *context, gpointer value,
                        GDestroyNotify value_free, GError *error)
{
  Later *l = g_new (Later, 1);
  *l = (Later) { call, value, value_free, error };
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, return_later_cb, l, NULL);
  g_source_set_static_name (idle, "dal call completion");
  g_source_attach (idle, context);
  g_source_unref (idle);
}

gboolean
_dal_call_is_valid (GAsyncResult *result, gpointer source, gpointer tag)
{
  return DAL_IS_CALL (result) && (gpointer) ((DalCall *) result)->source == source
         && ((DalCall *) result)->tag == tag;
}

gpointer
_dal_call_propagate (DalCall *call, GError **error)
{
  g_return_val_if_fail (call->returned, NULL);
  /* As GTask does (its check-cancellable default): cancelled before the
   * _finish, the call reports so even when a result had arrived. */
  if (call->error == NULL && g_cancellable_is_cancelled (call->cancellable))
    {
      if (call->value_free != NULL)
        call->value_free (call->value);
      call->value = NULL;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           DAL_IS_CONNECTION (call->source)
                           ? "the statement was cancelled"
                           : "the call was cancelled");
      return NULL;
    }
  if (call->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&call->error));
      return NULL;
    }
  call->value_free = NULL;
  return g_steal_pointer (&call->value);
}
