/* dal-copy-async.c: the _async forms of COPY (dal-copy.h).
 *
 * One engine: the plugin's blocking copy_in / copy_out slot, run by the
 * facade's worker thread (dal-connection.c, OP_COPY), with the sources
 * and sinks of dal-copy.c.  For a plugin with blocking slots only
 * (pgsync) that is its ordinary path.  A plugin with async slots
 * (pgasync) lives on its home main context: its idle connection is first
 * moved, on the caller's thread, to a private context nobody iterates
 * (set_context: this also says whether it is idle), so that none of its
 * sources runs while the worker uses it; the worker moves it to the
 * caller's context once the slot returned.  A native non-blocking COPY in
 * pgasync's engine would be a second COPY engine: the blocking one
 * already bounds memory, polls the caller's cancellable and keeps
 * command_timeout.
 *
 * The streams are read and written on the worker thread.  The rows
 * functions run on the caller's context instead, through a relay of
 * COPY_BUFFER chunks between the two threads (at most RELAY_DEPTH queued
 * one way): COPY FROM encodes rows on the caller's context into chunks
 * (the encoder of dal-copy.c) that the worker sends; COPY TO gathers the
 * server's rows on the worker into chunks that the caller's context
 * decodes and hands out row by row (the decoder of dal-copy.c).  A full
 * relay holds the producer back; the worker's waits also end when the
 * COPY is cancelled.
 *
 * While the COPY runs the connection takes no other call (they fail with
 * DAL_ERROR_BUSY, see copy_job in dal-connection-private.h); closing it
 * cancels the COPY.  The caller's task completes from its own context
 * once the job is done (the worker's task, then the caller's).
 */
#include "config.h"

#include <string.h>

#include "dal-copy-private.h"

/* Chunks queued one way, at most, before the producer waits. */
#define RELAY_DEPTH 2

typedef struct
{
  gsize len, used;
  char data[];
} Chunk;

typedef struct _DalCopyJob
{
  OpKind kind;                  /* OP_COPY: the worker's task data */
  char *sql;
  gboolean in, rows;
  GTask *task;                  /* the caller's */
  GMainContext *context;        /* the caller's */
  GMainContext *parking;        /* async slots: the connection's meanwhile */
  GCancellable *cancel;         /* the engine's: the caller's cancellable
                                 * or a close fires it */
  GCancellable *caller_cancellable;
  gulong caller_handler, cancel_handler;

  /* The streams (the worker's only). */
  GInputStream *input;
  StreamSink sink;

  /* The rows functions (the caller's context only). */
  RowSource source;
  RowSink row_sink;
  GDestroyNotify row_data_free;
  gpointer row_data;

  /* The relay (under lock). */
  GMutex lock;
  GCond cond;
  GQueue chunks;                /* Chunk *, for the consumer */
  Chunk *filling;               /* COPY TO: the worker's */
  GSource *dispatch;            /* the caller's side, attached, or NULL */
  gboolean consuming;           /* COPY TO: it hands out rows now */
  gboolean ended;               /* COPY FROM: the rows ended */
  GError *error;                /* the rows function's, for the worker */
} DalCopyJob;

GError *
_dal_copy_busy_error (void)
{
  return dal_error_new_hint (DAL_ERROR_BUSY,
                             "Wait for the COPY to complete before the next call "
                             "on this connection, or use another connection",
                             "an async COPY is running on this connection");
}

/* -- the relay -- */

static Chunk *
chunk_new (void)
{
  Chunk *c = g_malloc (sizeof (Chunk) + COPY_BUFFER);
  c->len = c->used = 0;
  return c;
}

static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  DalCopyJob *job = data;
  g_mutex_lock (&job->lock);
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);
}

static gboolean dispatch_cb (gpointer data);

/* Makes sure the caller's side runs soon (lock held). */
static void
schedule_locked (DalCopyJob *job)
{
  if (job->dispatch != NULL)
    return;
  job->dispatch = g_idle_source_new ();
  g_source_set_priority (job->dispatch, G_PRIORITY_DEFAULT);
  g_source_set_callback (job->dispatch, dispatch_cb, job, NULL);
  g_source_set_name (job->dispatch, "dal copy rows");
  g_source_attach (job->dispatch, job->context);
}

/* The worker waits (lock held) for the other side; FALSE (and @error)
 * once the COPY is cancelled. */
static gboolean
wait_locked (DalCopyJob *job, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (job->cancel, error))
    return FALSE;
  g_cond_wait (&job->cond, &job->lock);
  return TRUE;
}

/* COPY FROM, the caller's side: fills the relay with encoded rows (at
 * most RELAY_DEPTH chunks a dispatch: the worker sends meanwhile, and the
 * caller's context must run its other sources too). */
static void
produce (DalCopyJob *job)
{
  g_mutex_lock (&job->lock);
  for (guint made = 0;
       made < RELAY_DEPTH && job->chunks.length < RELAY_DEPTH && !job->ended
       && job->error == NULL;
       made++)
    {
      g_mutex_unlock (&job->lock);
      Chunk *c = chunk_new ();
      GError *local = NULL;
      gssize n = _dal_copy_rows_read (&job->source, c->data, COPY_BUFFER, job->cancel,
                                      &local);
      g_mutex_lock (&job->lock);
      if (n > 0)
        {
          c->len = n;
          g_queue_push_tail (&job->chunks, c);
          c = NULL;
        }
      else if (n == 0)
        job->ended = TRUE;
      else
        job->error = local;
      g_free (c);
      g_cond_broadcast (&job->cond);
    }
  g_mutex_unlock (&job->lock);
}

/* COPY FROM, the worker's side (a DalCopyReadFunc). */
static gssize
relay_read (gpointer data, char *buffer, gsize size, GCancellable *cancellable,
            GError **error)
{
  DalCopyJob *job = data;
  gssize n = -1;
  g_mutex_lock (&job->lock);
  for (;;)
    {
      Chunk *c = g_queue_peek_head (&job->chunks);
      if (c != NULL)
        {
          n = MIN (size, c->len - c->used);
          memcpy (buffer, c->data + c->used, n);
          c->used += n;
          if (c->used == c->len)
            g_free (g_queue_pop_head (&job->chunks));
          schedule_locked (job);  /* room for more */
          break;
        }
      if (job->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&job->error));
          break;
        }
      if (job->ended)
        {
          n = 0;
          break;
        }
      schedule_locked (job);
      if (!wait_locked (job, error))
        break;
    }
  g_mutex_unlock (&job->lock);
  return n;
}

/* COPY TO, the caller's side: hands out the rows of the queued chunks,
 * then those the worker is gathering (an idle consumer takes them at
 * once: rows reach the caller while the COPY runs, and a dispatch takes
 * all that arrived since the last one). */
static void
consume (DalCopyJob *job)
{
  g_mutex_lock (&job->lock);
  Chunk *c;
  for (guint taken = 0;
       taken < RELAY_DEPTH && job->error == NULL
       && ((c = g_queue_pop_head (&job->chunks)) != NULL
           || (c = g_steal_pointer (&job->filling)) != NULL);
       taken++)
    {
      job->consuming = TRUE;
      g_mutex_unlock (&job->lock);
      GError *local = NULL;
      const char *p = c->data, *end = c->data + c->len;
      while (p < end && local == NULL)
        {
          const char *nl = memchr (p, '\n', end - p);
          const char *row_end = nl != NULL ? nl + 1 : end;
          _dal_copy_rows_write (&job->row_sink, p, row_end - p, NULL, &local);
          p = row_end;
        }
      g_free (c);
      g_mutex_lock (&job->lock);
      job->consuming = FALSE;
      if (local != NULL)
        {
          job->error = local;
          g_queue_clear_full (&job->chunks, g_free);
        }
      g_cond_broadcast (&job->cond);
    }
  g_mutex_unlock (&job->lock);
}

/* Hands the worker's chunk to the consumer (lock held). */
static void
push_filling_locked (DalCopyJob *job)
{
  if (job->filling == NULL)
    return;
  if (job->filling->len == 0)
    {
      g_clear_pointer (&job->filling, g_free);
      return;
    }
  g_queue_push_tail (&job->chunks, g_steal_pointer (&job->filling));
  schedule_locked (job);
}

/* COPY TO, the worker's side (a DalCopyWriteFunc): one row. */
static gboolean
relay_write (gpointer data, const char *row, gsize size, GCancellable *cancellable,
             GError **error)
{
  DalCopyJob *job = data;
  gboolean ok = TRUE;
  g_mutex_lock (&job->lock);
  if (job->filling != NULL && job->filling->len + size > COPY_BUFFER)
    push_filling_locked (job);
  while (ok && job->error == NULL && job->chunks.length >= RELAY_DEPTH)
    ok = wait_locked (job, error);
  if (ok && job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      ok = FALSE;
    }
  if (ok)
    {
      if (size > COPY_BUFFER)
        {
          /* One row larger than a chunk: a chunk of its own. */
          Chunk *big = g_malloc (sizeof (Chunk) + size);
          big->len = size;
          big->used = 0;
          memcpy (big->data, row, size);
          g_queue_push_tail (&job->chunks, big);
          schedule_locked (job);
        }
      else
        {
          if (job->filling == NULL)
            job->filling = chunk_new ();
          memcpy (job->filling->data + job->filling->len, row, size);
          job->filling->len += size;
          /* An idle consumer takes them without waiting for a full chunk. */
          if (!job->consuming)
            schedule_locked (job);
        }
    }
  g_mutex_unlock (&job->lock);
  return ok;
}

/* COPY TO, the worker once the slot succeeded: the last rows reach the
 * caller before the COPY counts as done; FALSE (and @error) when the row
 * function failed on them, or the COPY was cancelled meanwhile. */
static gboolean
relay_drain (DalCopyJob *job, GError **error)
{
  gboolean ok = TRUE;
  g_mutex_lock (&job->lock);
  push_filling_locked (job);
  while (ok && job->error == NULL
         && (job->chunks.length > 0 || job->filling != NULL || job->dispatch != NULL
             || job->consuming))
    ok = wait_locked (job, error);
  if (ok && job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      ok = FALSE;
    }
  g_mutex_unlock (&job->lock);
  return ok;
}

/* The caller's side of the relay, on its context. */
static gboolean
dispatch_cb (gpointer data)
{
  DalCopyJob *job = data;
  g_mutex_lock (&job->lock);
  g_clear_pointer (&job->dispatch, g_source_unref);
  g_mutex_unlock (&job->lock);
  if (job->in)
    produce (job);
  else
    consume (job);
  /* The worker may wait for the end of this dispatch (relay_drain). */
  g_mutex_lock (&job->lock);
  if (!job->in && job->error == NULL && (job->chunks.length > 0 || job->filling != NULL))
    schedule_locked (job);
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);
  return G_SOURCE_REMOVE;
}

/* -- the job -- */

static void
job_free (DalCopyJob *job)
{
  g_free (job->sql);
  g_clear_object (&job->input);
  g_clear_object (&job->sink.output);
  g_free (job->sink.buffer);
  if (job->source.pending != NULL)
    g_string_free (job->source.pending, TRUE);
  if (job->row_sink.row != NULL)
    g_string_free (job->row_sink.row, TRUE);
  g_clear_pointer (&job->row_sink.values, g_ptr_array_unref);
  g_queue_clear_full (&job->chunks, g_free);
  g_free (job->filling);
  g_clear_error (&job->error);
  g_clear_pointer (&job->parking, g_main_context_unref);
  g_main_context_unref (job->context);
  g_object_unref (job->cancel);
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->cond);
  g_free (job);
}

static void
forward_cancel (GCancellable *caller, gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

/* The job's end on the caller's context (before its task completes):
 * nothing of the caller's is called after it. */
static void
job_end_on_caller (DalCopyJob *job)
{
  g_mutex_lock (&job->lock);
  if (job->dispatch != NULL)
    {
      g_source_destroy (job->dispatch);
      g_clear_pointer (&job->dispatch, g_source_unref);
    }
  g_mutex_unlock (&job->lock);
  if (job->caller_handler != 0)
    g_cancellable_disconnect (job->caller_cancellable, job->caller_handler);
  job->caller_handler = 0;
  if (job->cancel_handler != 0)
    g_cancellable_disconnect (job->cancel, job->cancel_handler);
  job->cancel_handler = 0;
  if (job->row_data_free != NULL)
    job->row_data_free (job->row_data);
  job->row_data_free = NULL;
}

void
_dal_copy_close (DalConnection *self)
{
  if (self->copy_job != NULL)
    g_cancellable_cancel (self->copy_job->cancel);
}

/* The worker: runs the slot, then completes the worker's task. */
void
_dal_copy_work (DalConnection *self, GTask *task)
{
  DalCopyJob *job = g_task_get_task_data (task);
  GError *error = NULL;
  gint64 n = -1;

  if (!g_cancellable_set_error_if_cancelled (job->cancel, &error))
    {
      gpointer func = job->rows ? (job->in ? (gpointer) relay_read : (gpointer) relay_write)
                      : job->in ? (gpointer) _dal_copy_stream_read
                                : (gpointer) _dal_copy_stream_write;
      gpointer data = job->rows ? (gpointer) job
                      : job->in ? (gpointer) job->input : (gpointer) &job->sink;
      n = _dal_copy_run_slot (self, job->sql, job->in, func, data, job->cancel, &error);
      if (error == NULL && n < 0)
        error = _dal_copy_failed_error ();
      gboolean ok = error == NULL;
      if (ok && job->rows && !job->in)
        ok = relay_drain (job, &error);
      else if (ok && !job->rows && !job->in)
        ok = _dal_copy_sink_flush (&job->sink, job->cancel, &error)
             && g_output_stream_flush (job->sink.output, job->cancel, &error);
      if (!ok)
        n = -1;
    }
  if (uses_worker (self))
    note_tx (self);
  /* Back to the caller's context: nobody iterates the private one. */
  if (job->parking != NULL)
    self->funcs->set_context (self->handle, job->context);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, n);
}

/* The worker's task completed, on the caller's context: the connection
 * takes calls again, and the caller's task completes. */
static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DalConnection *self = DAL_CONNECTION (source);
  DalCopyJob *job = g_task_get_task_data (G_TASK (result));
  GTask *task = job->task;
  GError *error = NULL;
  gssize n = g_task_propagate_int (G_TASK (result), &error);

  job_end_on_caller (job);
  g_assert (self->copy_job == job);
  self->copy_job = NULL;
  if (error != NULL && self->closed
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      && !g_cancellable_is_cancelled (job->caller_cancellable))
    {
      g_clear_error (&error);
      error = closed_error ();
    }
  if (error != NULL)
    {
      note_error (self, error);
      redact (self, error);
      g_task_return_error (task, error);
    }
  else
    g_task_return_int (task, n);
  g_object_unref (task);
}

/* Starts a COPY for @task (its reference taken): of the stream @object,
 * or of the rows function @func with @row_data (@row_data_free: when it
 * is done).  Refusals complete @task, never inside this call (GTask). */
static void
start_copy (DalConnection *self, GTask *task, const char *sql, gboolean in,
            gboolean rows, gpointer object, gpointer func, gpointer row_data,
            GDestroyNotify row_data_free)
{
  GError *error = NULL;
  if (_dal_copy_check (self, sql, in, rows, &error)
      && !uses_worker (self) && self->funcs->set_context == NULL)
    error = dal_error_new_hint (DAL_ERROR_UNSUPPORTED, "Use the blocking form of this call",
                                "the %s plugin cannot run an async COPY (it cannot "
                                "move its connections between main contexts)",
                                dal_connection_get_plugin_name (self));
  if (error != NULL)
    {
      if (row_data_free != NULL)
        row_data_free (row_data);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (start_refused (self, task))
    {
      if (row_data_free != NULL)
        row_data_free (row_data);
      return;
    }

  DalCopyJob *job = g_new0 (DalCopyJob, 1);
  job->kind = OP_COPY;
  job->sql = g_strdup (sql);
  job->in = in;
  job->rows = rows;
  job->task = task;
  job->context = g_main_context_ref_thread_default ();
  job->cancel = g_cancellable_new ();
  job->caller_cancellable = g_task_get_cancellable (task);
  job->row_data = row_data;
  job->row_data_free = row_data_free;
  g_mutex_init (&job->lock);
  g_cond_init (&job->cond);
  g_queue_init (&job->chunks);
  if (rows && in)
    {
      job->source.next_row = (DalCopyRowsFunc) func;
      job->source.user_data = row_data;
      job->source.pending = g_string_sized_new (COPY_BUFFER + 1024);
    }
  else if (rows)
    {
      job->row_sink.row_func = (DalCopyRowFunc) func;
      job->row_sink.user_data = row_data;
      job->row_sink.row = g_string_new (NULL);
      job->row_sink.values = g_ptr_array_new ();
    }
  else if (in)
    job->input = g_object_ref (object);
  else
    {
      job->sink.output = g_object_ref (object);
      job->sink.buffer = g_malloc (COPY_BUFFER);
    }

  /* A plugin with async slots: away from its sources while the worker
   * has it, if it is idle. */
  if (!uses_worker (self))
    {
      job->parking = g_main_context_new ();
      if (!self->funcs->set_context (self->handle, job->parking))
        {
          job_end_on_caller (job);
          job_free (job);
          g_task_return_error (task, dal_error_new_hint (
            DAL_ERROR_BUSY,
            "Wait for the statements in flight to complete before a COPY",
            "a COPY cannot run while statements are in flight on this "
            "connection"));
          g_object_unref (task);
          return;
        }
    }

  if (job->caller_cancellable != NULL)
    job->caller_handler = g_cancellable_connect (job->caller_cancellable,
                                                 G_CALLBACK (forward_cancel),
                                                 g_object_ref (job->cancel),
                                                 g_object_unref);
  job->cancel_handler = g_cancellable_connect (job->cancel, G_CALLBACK (on_cancelled),
                                               job, NULL);
  self->copy_job = job;
  note_statement (self, sql);
  GTask *work = g_task_new (self, NULL, job_done, NULL);
  g_task_set_name (work, "dal copy");
  g_task_set_task_data (work, job, (GDestroyNotify) job_free);
  enqueue (self, work);
}

/* The _finish of the COPY started with @tag. */
static gint64
copy_finish (DalConnection *self, GAsyncResult *result, gpointer tag, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (g_task_is_valid (result, self), -1);
  g_return_val_if_fail (g_async_result_is_tagged (result, tag), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);
  return g_task_propagate_int (G_TASK (result), error);
}

void
dal_connection_copy_from_stream_async (DalConnection *self, const char *sql,
                                       GInputStream *input, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (G_IS_INPUT_STREAM (input));
  start_copy (self, new_task (self, cancellable, callback, user_data,
                              dal_connection_copy_from_stream_async),
              sql, TRUE, FALSE, input, NULL, NULL, NULL);
}

gint64
dal_connection_copy_from_stream_finish (DalConnection *self, GAsyncResult *result,
                                        GError **error)
{
  return copy_finish (self, result, dal_connection_copy_from_stream_async, error);
}

void
dal_connection_copy_from_rows_async (DalConnection *self, const char *sql,
                                     DalCopyRowsFunc next_row, gpointer row_data,
                                     GDestroyNotify row_data_free,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (next_row != NULL);
  start_copy (self, new_task (self, cancellable, callback, user_data,
                              dal_connection_copy_from_rows_async),
              sql, TRUE, TRUE, NULL, (gpointer) next_row, row_data, row_data_free);
}

gint64
dal_connection_copy_from_rows_finish (DalConnection *self, GAsyncResult *result,
                                      GError **error)
{
  return copy_finish (self, result, dal_connection_copy_from_rows_async, error);
}

void
dal_connection_copy_to_stream_async (DalConnection *self, const char *sql,
                                     GOutputStream *output, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (G_IS_OUTPUT_STREAM (output));
  start_copy (self, new_task (self, cancellable, callback, user_data,
                              dal_connection_copy_to_stream_async),
              sql, FALSE, FALSE, output, NULL, NULL, NULL);
}

gint64
dal_connection_copy_to_stream_finish (DalConnection *self, GAsyncResult *result,
                                      GError **error)
{
  return copy_finish (self, result, dal_connection_copy_to_stream_async, error);
}

void
dal_connection_copy_to_rows_async (DalConnection *self, const char *sql,
                                   DalCopyRowFunc row_func, gpointer row_data,
                                   GDestroyNotify row_data_free,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DAL_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (row_func != NULL);
  start_copy (self, new_task (self, cancellable, callback, user_data,
                              dal_connection_copy_to_rows_async),
              sql, FALSE, TRUE, NULL, (gpointer) row_func, row_data, row_data_free);
}

gint64
dal_connection_copy_to_rows_finish (DalConnection *self, GAsyncResult *result,
                                    GError **error)
{
  return copy_finish (self, result, dal_connection_copy_to_rows_async, error);
}
