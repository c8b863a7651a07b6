/* pgasync: the non-blocking PostgreSQL driver (driver name "asyncpg").
 *
 * libpq in non-blocking pipeline mode.  Every statement is sent at once,
 * followed by its own sync point, so many are in flight on one connection
 * and one statement's error fails only that statement (the rest of its
 * sync segment is just itself).  Results come back in order and go to the
 * operation at the head of the queue.
 *
 * The socket is watched by a GSource on the main context the connection
 * was opened in (its "home" context).  Blocking calls pump the same engine
 * with poll() instead, completing any other operation whose result
 * arrives meanwhile.
 *
 * Completion is never done while the queue is being walked: finished
 * operations are moved to a local list first, so a callback may start a
 * statement, run a blocking one, or close the connection.  Callbacks run
 * in the order the statements were started (a call cancelled through its
 * GCancellable excepted: it completes at once): completions go through
 * one FIFO per connection, and one is handed to GTask only when GTask will
 * run its callback there and then; the others wait for the FIFO's own
 * source on the home context.  (Left to GTask, a completion made outside
 * a dispatch, by a blocking call, waits for an idle of its own, which a
 * later statement's completion from the socket's source overtakes.)
 *
 * Cancellation (GCancellable) completes the caller's task at once and asks
 * the server to cancel the statement when it is the one running (PQcancel
 * blocks on libpq 15, so it runs in a worker thread).  A command timeout
 * also cancels on the server, and the statement fails with the server's
 * SQLSTATE 57014; the connection stays usable.  The timeout counts from
 * when the statement reaches the head of the queue (when the server starts
 * it), not from when it was sent: time spent waiting behind other
 * statements in the pipeline is not the statement's own.
 *
 * In a pipeline, a cancel request that reaches the server just after its
 * statement finished hits the next one: that statement then fails with
 * 57014 and a message saying so (retryable).  This is PostgreSQL's cancel
 * protocol, not a libdal choice.  What pgasync does avoid is the same
 * accident on statements started after the request: while one is on its
 * way (until PQcancel returns, i.e. the server has acted on it), new
 * statements are held back (pg->unsent) and sent once it has returned,
 * which is what libpq's own blocking PQcancel() guarantees for the next
 * statement.  (The server's postmaster signals the backend twice, to the
 * process and to its group; the second signal can land on a statement
 * sent right after the first one took effect.)
 */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "dal-pg.h"

typedef struct _PgAsync PgAsync;

typedef enum
{
  CANCEL_NONE,
  CANCEL_BY_CALLER,
  CANCEL_BY_TIMEOUT,
} CancelReason;

typedef struct
{
  PgAsync *pg;
  GTask *task;              /* the caller's task; NULL once returned, or for
                             * blocking and internal operations */
  gint64 created_at;        /* when the caller started it */
  gboolean blocking;        /* a blocking call pumps until done */
  gboolean held;            /* in pg->unsent, not sent yet */
  const char *sql;          /* while held: what to send, both valid until */
  const DalParams *params;  /* the operation completes */
  gboolean done;            /* its sync point arrived (or the connection ended) */
  guint groups_left;        /* result groups before the sync point: 1, or 2
                             * when a Prepare goes first */
  gboolean in_sync_phase;
  PGresult *result;
  GError *error;
  char *cache_key;          /* the statement-cache entry this op uses */
  char *cache_name;         /* that entry's statement name */
  gboolean prepares;        /* it sends the Prepare too */
  CancelReason cancel_reason;
  gboolean cancel_sent;
  gboolean cancel_exposed;  /* sent while a cancel request for an earlier
                             * statement was on its way: it may hit this one */
  gint64 head_since;        /* when it reached the head of the queue (the
                             * server runs it from then on); 0: not yet */
  GSource *timer;           /* command timeout, armed at the head */
  GSource *cancel_source;   /* the caller's GCancellable */
} PgOp;

typedef struct
{
  char *name;
  GList *lru_link;
} CacheEntry;

/* A completion on its way to the caller. */
typedef struct
{
  GTask *task;
  DalResult *result;        /* or */
  GError *error;
  gint64 created_at;        /* when the call was started (>= the task's own
                             * creation time) */
} Delivery;

/* The FIFO of completions: a GSource on the home context, ready while it
 * holds any.  It outlives its connection when it still has some. */
typedef struct
{
  GSource source;
  GQueue queue;             /* Delivery * */
  GMainContext *home;       /* not a reference */
  gboolean orphan;          /* the connection is gone: go once empty */
  gboolean armed;           /* its ready time is set (it holds some) */
} Deliverer;

struct _PgAsync
{
  gint ref_count;           /* the handle, a dispatch, a pump */
  PGconn *conn;             /* NULL once closed */
  DalUrl *url;
  GMainContext *context;    /* home: where the socket is watched */
  GSource *source;
  Deliverer *deliverer;
  gpointer fd_tag;
  GIOCondition watching;
  GQueue ops;               /* PgOp *, sent, awaiting their sync point */
  GQueue unsent;            /* PgOp *, held back while a cancel request is
                             * on its way (after every op in @ops) */
  gint cancels_running;     /* atomic: cancel requests not yet answered */
  GError *lost;             /* why the connection ended, once it did */
  gint64 command_timeout_ms;

  guint cache_size;         /* 0: unnamed statements only */
  GHashTable *cache;        /* key -> CacheEntry */
  GQueue cache_lru;         /* keys, least recently used first */
  guint next_statement;
};

static void pg_io (PgAsync *pg, GIOCondition revents);
static void update_watch (PgAsync *pg);

/* -- lifetime -- */

static PgAsync *
pg_ref (PgAsync *pg)
{
  pg->ref_count++;
  return pg;
}

static void
cache_entry_free (CacheEntry *e)
{
  g_free (e->name);
  g_free (e);
}

static void
pg_unref (PgAsync *pg)
{
  if (--pg->ref_count > 0)
    return;
  g_assert (pg->conn == NULL && g_queue_is_empty (&pg->ops)
            && g_queue_is_empty (&pg->unsent));
  g_clear_error (&pg->lost);
  if (g_queue_is_empty (&pg->deliverer->queue))
    g_source_destroy (&pg->deliverer->source);
  else
    pg->deliverer->orphan = TRUE;
  g_source_unref (&pg->deliverer->source);
  g_hash_table_unref (pg->cache);
  g_queue_clear (&pg->cache_lru);
  dal_url_unref (pg->url);
  g_main_context_unref (pg->context);
  g_free (pg);
}


static void
op_free (PgOp *op)
{
  dal_pg_source_clear (&op->timer);
  dal_pg_source_clear (&op->cancel_source);
  g_clear_pointer (&op->result, PQclear);
  g_clear_error (&op->error);
  g_free (op->cache_key);
  g_free (op->cache_name);
  g_free (op);
}

/* -- the socket's GSource -- */

typedef struct
{
  GSource source;
  PgAsync *pg;
  gboolean dispatching;     /* in pg_io() from this source */
} PgSource;

/* The source may recurse (see pgasync_new): GLib then does not take its
 * fd out of the poll set and put it back around each dispatch, which on
 * GLib 2.74 wakes the context up twice (two eventfd writes, and a read in
 * the next iteration: three syscalls per statement).  What blocking did
 * still holds: a main loop nested in a callback reads no results while
 * the outer dispatch completes its own (completions stay in order).  The
 * nested dispatch stops watching the socket; the outer one, ending,
 * watches it again. */
static gboolean
pg_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  PgSource *ps = (PgSource *) source;
  PgAsync *pg = ps->pg;
  if (ps->dispatching)
    {
      g_source_modify_unix_fd (source, pg->fd_tag, 0);
      pg->watching = 0;
      return G_SOURCE_CONTINUE;
    }
  pg_ref (pg);
  ps->dispatching = TRUE;
  pg_io (pg, g_source_query_unix_fd (source, pg->fd_tag));
  ps->dispatching = FALSE;
  update_watch (pg);  /* again, if a nested dispatch stopped it */
  pg_unref (pg);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs pg_source_funcs = {
  .dispatch = pg_source_dispatch,
};

/* Watches for input always, for output while libpq has unsent data. */
static void
update_watch (PgAsync *pg)
{
  if (pg->source == NULL || pg->conn == NULL)
    return;
  GIOCondition want = G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (PQflush (pg->conn) > 0)
    want |= G_IO_OUT;
  if (want != pg->watching)
    {
      g_source_modify_unix_fd (pg->source, pg->fd_tag, want);
      pg->watching = want;
    }
}

/* -- cancelling on the server -- */

typedef struct
{
  PgAsync *pg;              /* a reference, dropped on the home context */
  PGcancel *cancel;
} CancelJob;

static void flush_unsent (PgAsync *pg, GQueue *done);
static void complete_all (PgAsync *pg, GQueue *done);
static void pg_unref (PgAsync *pg);

/* On the home context, once PQcancel has returned: what was held back for
 * it goes out now (a blocking call may have done that already). */
static gboolean
cancel_returned (gpointer user_data)
{
  PgAsync *pg = user_data;
  GQueue done = G_QUEUE_INIT;
  flush_unsent (pg, &done);
  complete_all (pg, &done);
  pg_unref (pg);
  return G_SOURCE_REMOVE;
}

/* PQcancel blocks until the server has acted on the request (libpq 15). */
static void
cancel_thread (GTask *task, gpointer source, gpointer task_data,
               GCancellable *cancellable)
{
  CancelJob *job = task_data;
  PgAsync *pg = job->pg;
  char errbuf[256];
  if (!PQcancel (job->cancel, errbuf, sizeof errbuf))
    g_debug ("cancel request failed: %s", errbuf);
  PQfreeCancel (job->cancel);
  g_free (job);
  g_atomic_int_dec_and_test (&pg->cancels_running);
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, cancel_returned, pg, NULL);
  g_source_attach (idle, pg->context);
  g_source_unref (idle);
}

/* If the operation running on the server (the head) should be cancelled,
 * send the request, off this thread. */
static void
maybe_send_cancel (PgAsync *pg)
{
  PgOp *head = g_queue_peek_head (&pg->ops);
  if (head == NULL || head->cancel_reason == CANCEL_NONE || head->cancel_sent
      || pg->conn == NULL)
    return;
  PGcancel *cancel = PQgetCancel (pg->conn);
  if (cancel == NULL)
    return;
  head->cancel_sent = TRUE;
  /* The statements already sent behind it can be hit by the request if
   * the head finishes before it arrives; later ones are held back. */
  for (GList *l = pg->ops.head->next; l != NULL; l = l->next)
    ((PgOp *) l->data)->cancel_exposed = TRUE;
  g_atomic_int_inc (&pg->cancels_running);
  CancelJob *job = g_new (CancelJob, 1);
  job->pg = pg_ref (pg);
  job->cancel = cancel;
  GTask *t = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (t, job, NULL);
  g_task_run_in_thread (t, cancel_thread);
  g_object_unref (t);
}

static gboolean op_on_timeout (gpointer user_data);

/* The head of the queue is the statement the server runs now: note when
 * it got there and start its command timeout (async statements; a
 * blocking call keeps its own deadline from head_since). */
static void
note_head (PgAsync *pg)
{
  PgOp *head = g_queue_peek_head (&pg->ops);
  if (head == NULL || head->head_since != 0)
    return;
  head->head_since = g_get_monotonic_time ();
  if (pg->command_timeout_ms > 0 && !head->blocking && !head->done
      && head->cancel_reason == CANCEL_NONE && head->timer == NULL)
    {
      head->timer = g_timeout_source_new ((guint) pg->command_timeout_ms);
      g_source_set_callback (head->timer, op_on_timeout, head, NULL);
      g_source_attach (head->timer, pg->context);
    }
}

/* -- completing operations -- */

static GError *
final_error (PgAsync *pg, PgOp *op)
{
  GError *e = g_steal_pointer (&op->error);
  if (e == NULL || g_strcmp0 (dal_error_get_sqlstate (e), "57014") != 0)
    return e;

  GError *out = NULL;
  if (op->cancel_reason == CANCEL_BY_TIMEOUT)
    out = dal_error_new_hint (
      DAL_ERROR_QUERY_TIMEOUT,
      "Make the statement faster, or raise command_timeout in the URL",
      "the statement ran longer than command_timeout=%g s and was cancelled "
      "on the server (SQLSTATE 57014)",
      pg->command_timeout_ms / 1000.0);
  else if (op->cancel_reason == CANCEL_NONE && op->cancel_exposed)
    out = dal_error_new_hint (
      DAL_ERROR_QUERY_FAILED,
      "It did not complete; run it again",
      "the statement was cancelled by a cancel request meant for the "
      "statement before it on this connection, which finished just before "
      "the request arrived (SQLSTATE 57014)");
  if (out == NULL)
    return e;
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    dal_error_set_field (out, i, dal_error_get_field (e, i));
  if (op->cancel_reason == CANCEL_NONE)
    dal_error_set_retryable (out, TRUE);
  g_error_free (e);
  return out;
}

/* -- delivering completions, in order -- */

static void
delivery_return (Delivery *d)
{
  if (d->error != NULL)
    g_task_return_error (d->task, d->error);
  else
    g_task_return_pointer (d->task, d->result, (GDestroyNotify) dal_result_unref);
  g_object_unref (d->task);
  g_free (d);
}

/* Whether GTask runs @d's callback at once when it is returned now (it
 * does in a dispatch on the task's context, from a later iteration than
 * the one that created the task); else it would wait for an idle. */
static gboolean
delivery_is_direct (const Delivery *d)
{
  GSource *current = g_main_current_source ();
  return current != NULL && g_source_get_context (current) == g_task_get_context (d->task)
         && g_source_get_time (current) > d->created_at;
}

/* Hands out what can be handed out now, in order; a callback may start
 * statements, close the connection, or drain again (nested). */
static void
deliverer_drain (Deliverer *dl)
{
  g_source_ref (&dl->source);
  Delivery *d;
  while ((d = g_queue_peek_head (&dl->queue)) != NULL)
    {
      /* A task of another context: GTask takes it there, in its order. */
      if (!delivery_is_direct (d) && g_task_get_context (d->task) == dl->home)
        break;
      g_queue_pop_head (&dl->queue);
      delivery_return (d);
    }
  /* Touch the source (which locks its context) only when that changes:
   * usually the queue is empty before and after. */
  gboolean arm = !g_queue_is_empty (&dl->queue);
  if (arm != dl->armed && !g_source_is_destroyed (&dl->source))
    {
      g_source_set_ready_time (&dl->source, arm ? 0 : -1);
      dl->armed = arm;
    }
  g_source_unref (&dl->source);
}

static gboolean
deliverer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  Deliverer *dl = (Deliverer *) source;
  deliverer_drain (dl);
  return dl->orphan && g_queue_is_empty (&dl->queue) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
deliverer_finalize (GSource *source)
{
  /* Only when its context went away with completions in it. */
  Deliverer *dl = (Deliverer *) source;
  Delivery *d;
  while ((d = g_queue_pop_head (&dl->queue)) != NULL)
    {
      g_clear_pointer (&d->result, dal_result_unref);
      g_clear_error (&d->error);
      g_object_unref (d->task);
      g_free (d);
    }
}

static GSourceFuncs deliverer_funcs = {
  .dispatch = deliverer_dispatch,
  .finalize = deliverer_finalize,
};

/* Queues @task's completion (taking it, @result and @error). */
static void
deliver (PgAsync *pg, GTask *task, gint64 created_at, DalResult *result, GError *error)
{
  Delivery *d = g_new (Delivery, 1);
  d->task = task;
  d->result = result;
  d->error = error;
  d->created_at = created_at;
  g_queue_push_tail (&pg->deliverer->queue, d);
}

/* Hands an operation whose sync point arrived to whoever waits for it. */
static void
op_complete (PgOp *op)
{
  PgAsync *pg = op->pg;
  op->done = TRUE;
  dal_pg_source_clear (&op->timer);
  dal_pg_source_clear (&op->cancel_source);
  if (op->blocking)
    return;  /* the pump reads it and frees it */

  GTask *task = g_steal_pointer (&op->task);
  if (task != NULL)
    {
      GError *error = final_error (pg, op);
      if (error == NULL && op->result == NULL)
        error = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                    "the server sent no result for the statement");
      if (error != NULL)
        {
          dal_error_redact (error, dal_url_get_password (pg->url));
          deliver (pg, task, op->created_at, NULL, error);
        }
      else
        deliver (pg, task, op->created_at,
                 dal_pg_result_new (g_steal_pointer (&op->result)), NULL);
    }
  op_free (op);
}

/* Completes what is in @done, in order (the callbacks run after the
 * queue walk that filled @done is over). */
static void
complete_all (PgAsync *pg, GQueue *done)
{
  PgOp *op;
  while ((op = g_queue_pop_head (done)) != NULL)
    op_complete (op);
  deliverer_drain (pg->deliverer);
}

static void
cache_forget (PgAsync *pg, const char *key)
{
  CacheEntry *e = g_hash_table_lookup (pg->cache, key);
  if (e == NULL)
    return;
  g_queue_delete_link (&pg->cache_lru, e->lru_link);
  g_hash_table_remove (pg->cache, key);
}

/* Whether a failure of @op means its cache entry names no statement on
 * the server: its own Prepare failed, or the statement is gone (26000,
 * e.g. after DEALLOCATE ALL or DISCARD ALL).  A statement that was
 * prepared and then failed when executed stays prepared, and cached: forgetting
 * it would leave it on the server, beyond the cache's count. */
static gboolean
cache_entry_broken (PgOp *op, const PGresult *r)
{
  if (op->cache_key == NULL)
    return FALSE;
  if (op->prepares && op->groups_left == 2)
    return TRUE;  /* the error belongs to the Prepare's result group */
  return g_strcmp0 (PQresultErrorField (r, PG_DIAG_SQLSTATE), "26000") == 0;
}

static void
take_result (PgAsync *pg, PgOp *op, PGresult *r)
{
  switch (PQresultStatus (r))
    {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      /* With a Prepare first, the statement's own result comes last. */
      g_clear_pointer (&op->result, PQclear);
      op->result = r;
      return;
    case PGRES_PIPELINE_ABORTED:
      if (op->error == NULL)
        op->error = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                        "the statement was not run because an "
                                        "earlier part of it failed");
      break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      if (op->error == NULL)
        op->error = dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                                        "Use COPY … TO/FROM a server-side file, "
                                        "or INSERT with parameters",
                                        "COPY to or from the client is not "
                                        "supported by dal_connection_query()");
      break;
    default:
      if (op->error == NULL)
        op->error = dal_pg_error_from_result (pg->conn, r);
      if (cache_entry_broken (op, r))
        {
          /* Only if the entry is still the one this op used. */
          CacheEntry *e = g_hash_table_lookup (pg->cache, op->cache_key);
          if (e != NULL && g_strcmp0 (e->name, op->cache_name) == 0)
            cache_forget (pg, op->cache_key);
        }
      break;
    }
  PQclear (r);
}

/* The connection is gone: every operation still queued gets an error. */
static void
fail_all (PgAsync *pg, GQueue *done, const GError *why)
{
  PgOp *op;
  while ((op = g_queue_pop_head (&pg->ops)) != NULL
         || (op = g_queue_pop_head (&pg->unsent)) != NULL)
    {
      if (op->error == NULL)
        op->error = g_error_copy (why);
      g_queue_push_tail (done, op);
    }
}

static void
mark_lost (PgAsync *pg, GQueue *done)
{
  if (pg->lost == NULL)
    pg->lost = dal_pg_error_from_result (pg->conn, NULL);
  if (pg->lost->code != DAL_ERROR_CONNECTION_LOST)
    {
      GError *e = dal_error_new_hint (
        DAL_ERROR_CONNECTION_LOST,
        "Open a new connection and retry",
        "connection to the server was lost: %s", pg->lost->message);
      g_error_free (pg->lost);
      pg->lost = e;
    }
  fail_all (pg, done, pg->lost);
  dal_pg_source_clear (&pg->source);
}

/* Reads every result libpq has whole; finished operations go to @done. */
static void
process_results (PgAsync *pg, GQueue *done)
{
  while (!g_queue_is_empty (&pg->ops))
    {
      note_head (pg);
      maybe_send_cancel (pg);
      if (PQisBusy (pg->conn))
        break;

      PGresult *r = PQgetResult (pg->conn);
      PgOp *op = g_queue_peek_head (&pg->ops);
      if (!op->in_sync_phase)
        {
          if (r == NULL)
            op->in_sync_phase = --op->groups_left == 0;
          else
            take_result (pg, op, r);
          continue;
        }
      if (r == NULL)
        break;  /* nothing more now (the connection may have ended) */
      if (PQresultStatus (r) == PGRES_PIPELINE_SYNC)
        {
          PQclear (r);
          g_queue_push_tail (done, g_queue_pop_head (&pg->ops));
          continue;
        }
      take_result (pg, op, r);
    }

  if (PQstatus (pg->conn) == CONNECTION_BAD && pg->lost == NULL)
    mark_lost (pg, done);
}

static void
pg_io (PgAsync *pg, GIOCondition revents)
{
  if (pg->conn == NULL || pg->lost != NULL)
    return;

  GQueue done = G_QUEUE_INIT;
  if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    {
      if (!PQconsumeInput (pg->conn) && PQstatus (pg->conn) == CONNECTION_BAD)
        {
          /* Results already received still belong to their operations. */
          process_results (pg, &done);
          if (pg->lost == NULL)
            mark_lost (pg, &done);
        }
    }
  if (pg->lost == NULL)
    {
      process_results (pg, &done);
      flush_unsent (pg, &done);
      update_watch (pg);
    }
  complete_all (pg, &done);
}

/* -- sending -- */

static char *
cache_key_for (const char *sql, const DalPgParams *pp)
{
  GString *key = g_string_sized_new (strlen (sql) + pp->n + 2);
  for (int i = 0; i < pp->n; i++)
    g_string_append_c (key, pp->types[i] != 0 ? 'b' : 't');
  g_string_append_c (key, '\x1f');
  g_string_append (key, sql);
  return g_string_free (key, FALSE);
}

/* Sends a statement of the cache's own (DEALLOCATE) nobody waits for. */
static gboolean
send_internal (PgAsync *pg, const char *sql)
{
  if (!PQsendQueryParams (pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0)
      || !PQpipelineSync (pg->conn))
    return FALSE;
  PgOp *op = g_new0 (PgOp, 1);
  op->pg = pg;
  op->groups_left = 1;
  g_queue_push_tail (&pg->ops, op);
  return TRUE;
}

/* Queues the Parse/Bind/Execute (or Prepare + Execute) and its sync point.
 * The statement cache names statements only when it is on. */
static gboolean
send_statement (PgAsync *pg, PgOp *op, const char *sql, const DalParams *params)
{
  DalPgParams pp;
  dal_pg_params_init (&pp, params);
  const char * const *values = params != NULL ? params->values : NULL;
  const int *lengths = params != NULL ? params->lengths : NULL;
  gboolean ok;

  op->groups_left = 1;
  if (pg->cache_size == 0)
    ok = PQsendQueryParams (pg->conn, sql, pp.n, pp.types, values, lengths,
                            pp.formats, 0);
  else
    {
      char *key = cache_key_for (sql, &pp);
      CacheEntry *e = g_hash_table_lookup (pg->cache, key);
      ok = TRUE;
      if (e != NULL)
        {
          g_queue_unlink (&pg->cache_lru, e->lru_link);
          g_queue_push_tail_link (&pg->cache_lru, e->lru_link);
          op->cache_key = key;
        }
      else
        {
          if (g_hash_table_size (pg->cache) >= pg->cache_size)
            {
              const char *old = g_queue_peek_head (&pg->cache_lru);
              CacheEntry *victim = g_hash_table_lookup (pg->cache, old);
              g_autofree char *dealloc = g_strdup_printf ("DEALLOCATE %s", victim->name);
              ok = send_internal (pg, dealloc);
              cache_forget (pg, old);
            }
          e = g_new0 (CacheEntry, 1);
          e->name = g_strdup_printf ("dal_s%u", ++pg->next_statement);
          g_queue_push_tail (&pg->cache_lru, key);
          e->lru_link = pg->cache_lru.tail;
          g_hash_table_insert (pg->cache, key, e);
          op->cache_key = g_strdup (key);
          op->prepares = TRUE;
          ok = ok && PQsendPrepare (pg->conn, e->name, sql, pp.n, pp.types);
          op->groups_left = 2;
        }
      op->cache_name = g_strdup (e->name);
      ok = ok && PQsendQueryPrepared (pg->conn, e->name, pp.n, values, lengths,
                                      pp.formats, 0);
    }
  dal_pg_params_clear (&pp);
  return ok && PQpipelineSync (pg->conn);
}

/* Sends @op and queues it for its results; FALSE (and @error) if libpq
 * refused it. */
static gboolean
send_op (PgAsync *pg, PgOp *op, const char *sql, const DalParams *params,
         GError **error)
{
  if (!send_statement (pg, op, sql, params))
    {
      g_autofree char *why = dal_pg_clean_message (PQerrorMessage (pg->conn));
      *error = PQstatus (pg->conn) == CONNECTION_BAD
                 ? dal_error_new_hint (DAL_ERROR_CONNECTION_LOST,
                                       "Open a new connection and retry",
                                       "connection to the server was lost: %s", why)
                 : dal_error_new_hint (DAL_ERROR_BUSY,
                                       "Wait for the operation in progress to end",
                                       "the connection cannot take a statement "
                                       "now: %s", why);
      return FALSE;
    }
  g_queue_push_tail (&pg->ops, op);
  note_head (pg);
  return TRUE;
}

/* Sends what was held back for cancel requests, once none is on its way
 * any more.  Ops libpq refuses go to @done. */
static void
flush_unsent (PgAsync *pg, GQueue *done)
{
  if (pg->conn == NULL || pg->lost != NULL || g_queue_is_empty (&pg->unsent)
      || g_atomic_int_get (&pg->cancels_running) > 0)
    return;
  PgOp *op;
  while ((op = g_queue_pop_head (&pg->unsent)) != NULL)
    {
      GError *error = NULL;
      op->held = FALSE;
      if (send_op (pg, op, op->sql, op->params, &error))
        continue;
      if (PQstatus (pg->conn) == CONNECTION_BAD)
        {
          /* Everything fails, in order. */
          g_error_free (error);
          g_queue_push_head (&pg->unsent, op);
          op->held = TRUE;
          mark_lost (pg, done);
          return;
        }
      op->error = error;
      g_queue_push_tail (done, op);
    }
  update_watch (pg);
}

/* Refuses work the connection cannot take; otherwise sends it, or holds
 * it back while a cancel request is on its way (so that the request
 * cannot hit it). */
static gboolean
start_op (PgAsync *pg, PgOp *op, const char *sql, const DalParams *params,
          GError **error)
{
  if (pg->conn == NULL)
    {
      *error = dal_error_new_hint (DAL_ERROR_CLOSED, "Open a new connection",
                                   "the connection is closed");
      return FALSE;
    }
  if (pg->lost != NULL)
    {
      *error = dal_error_new_hint (DAL_ERROR_CONNECTION_LOST,
                                   "Open a new connection and retry",
                                   "the connection cannot take statements any "
                                   "more: %s", pg->lost->message);
      return FALSE;
    }
  if (!g_queue_is_empty (&pg->unsent) || g_atomic_int_get (&pg->cancels_running) > 0)
    {
      op->held = TRUE;
      op->sql = sql;
      op->params = params;
      g_queue_push_tail (&pg->unsent, op);
      return TRUE;
    }
  if (!send_op (pg, op, sql, params, error))
    return FALSE;
  update_watch (pg);
  return TRUE;
}

static PgOp *
op_new (PgAsync *pg)
{
  PgOp *op = g_new0 (PgOp, 1);
  op->pg = pg;
  return op;
}

/* -- async statements -- */

static gboolean
op_on_timeout (gpointer user_data)
{
  PgOp *op = user_data;
  if (op->cancel_reason == CANCEL_NONE)
    op->cancel_reason = CANCEL_BY_TIMEOUT;
  g_clear_pointer (&op->timer, g_source_unref);
  maybe_send_cancel (op->pg);
  return G_SOURCE_REMOVE;
}

static gboolean
op_on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  PgOp *op = user_data;
  if (op->cancel_reason == CANCEL_NONE)
    op->cancel_reason = CANCEL_BY_CALLER;
  /* The caller hears now; the server's answer is dropped when it comes. */
  GTask *task = g_steal_pointer (&op->task);
  if (task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "the statement was cancelled");
      g_object_unref (task);
    }
  g_clear_pointer (&op->cancel_source, g_source_unref);
  if (op->held)
    {
      /* Never sent: nothing to cancel on the server. */
      g_queue_remove (&op->pg->unsent, op);
      op_free (op);
      return G_SOURCE_REMOVE;
    }
  maybe_send_cancel (op->pg);
  return G_SOURCE_REMOVE;
}

static void
watch_op (PgAsync *pg, PgOp *op, GCancellable *cancellable)
{
  /* The command timeout starts at the head of the queue: note_head(). */
  if (cancellable != NULL)
    {
      op->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (op->cancel_source, G_SOURCE_FUNC (op_on_cancelled), op, NULL);
      g_source_attach (op->cancel_source, pg->context);
    }
}

static void
pgasync_query_async (gpointer handle, const char *sql, const DalParams *params,
                     GTask *task)
{
  PgAsync *pg = handle;
  PgOp *op = op_new (pg);
  GError *error = NULL;

  op->created_at = g_get_monotonic_time ();
  if (!start_op (pg, op, sql, params, &error))
    {
      /* In its turn, after what completes before it (never from here:
       * the task is of this very iteration). */
      deliver (pg, task, op->created_at, NULL, error);
      deliverer_drain (pg->deliverer);
      op_free (op);
      return;
    }
  op->task = task;
  watch_op (pg, op, g_task_get_cancellable (task));
}

/* -- blocking statements: pump the engine with poll() -- */

static DalResult *
pgasync_query (gpointer handle, const char *sql, const DalParams *params,
               GCancellable *cancellable, GError **error)
{
  PgAsync *pg = handle;
  PgOp *op = op_new (pg);
  op->blocking = TRUE;

  if (!start_op (pg, op, sql, params, error))
    {
      op_free (op);
      return NULL;
    }

  pg_ref (pg);
  int cancel_fd = cancellable != NULL ? g_cancellable_get_fd (cancellable) : -1;

  while (!op->done && pg->conn != NULL)
    {
      if (op->held)
        {
          GQueue done = G_QUEUE_INIT;
          flush_unsent (pg, &done);
          complete_all (pg, &done);
          if (op->done || pg->conn == NULL)
            break;
        }
      struct pollfd fds[2] = {
        { .fd = PQsocket (pg->conn), .events = POLLIN },
        { .fd = op->cancel_reason == CANCEL_NONE ? cancel_fd : -1, .events = POLLIN },
      };
      if (PQflush (pg->conn) > 0)
        fds[0].events |= POLLOUT;
      /* The command timeout counts from the head of the queue. */
      int timeout = -1;
      if (op->cancel_reason == CANCEL_NONE && pg->command_timeout_ms > 0
          && op->head_since != 0)
        {
          gint64 deadline = op->head_since + pg->command_timeout_ms * 1000;
          timeout = (int) MAX ((deadline - g_get_monotonic_time () + 999) / 1000, 0);
        }
      /* Held back: look again soon whether the cancel request returned. */
      if (op->held)
        timeout = 2;

      int n = poll (fds, 2, timeout);
      if (n < 0)
        continue;  /* EINTR */
      if (n == 0 && op->cancel_reason == CANCEL_NONE && !op->held)
        op->cancel_reason = CANCEL_BY_TIMEOUT;
      if (fds[1].revents != 0 && op->cancel_reason == CANCEL_NONE)
        {
          op->cancel_reason = CANCEL_BY_CALLER;
          if (op->held)
            {
              /* Never sent: nothing to cancel on the server. */
              g_queue_remove (&pg->unsent, op);
              op->held = FALSE;
              op->done = TRUE;
              op->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "the statement was cancelled");
              break;
            }
        }
      maybe_send_cancel (pg);

      GIOCondition rev = 0;
      if (fds[0].revents & POLLIN)
        rev |= G_IO_IN;
      if (fds[0].revents & POLLOUT)
        rev |= G_IO_OUT;
      if (fds[0].revents & (POLLHUP | POLLERR))
        rev |= G_IO_HUP;
      if (rev != 0)
        pg_io (pg, rev);
    }
  if (cancel_fd >= 0)
    g_cancellable_release_fd (cancellable);

  DalResult *result = NULL;
  if (!op->done)
    {
      /* Closed from a callback while we waited. */
      g_queue_remove (&pg->ops, op);
      g_queue_remove (&pg->unsent, op);
      g_set_error_literal (error, DAL_ERROR, DAL_ERROR_CLOSED, "the connection was closed");
    }
  else if (op->cancel_reason == CANCEL_BY_CALLER && op->error != NULL
           && g_strcmp0 (dal_error_get_sqlstate (op->error), "57014") == 0)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         "the statement was cancelled");
  else
    {
      GError *e = final_error (pg, op);
      if (e == NULL && op->result == NULL)
        e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                "the server sent no result for the statement");
      if (e != NULL)
        g_propagate_error (error, e);
      else
        result = dal_pg_result_new (g_steal_pointer (&op->result));
    }
  op_free (op);
  pg_unref (pg);
  return result;
}

/* -- connecting and closing -- */

static gboolean
looks_like_transaction_pooler (DalUrl *url)
{
  if (g_strcmp0 (dal_url_get_option (url, "pooler_mode"), "transaction") == 0)
    return TRUE;
  for (guint i = 0; i < dal_url_get_n_hosts (url); i++)
    if (g_str_has_suffix (dal_url_get_host (url, i), ".pooler.supabase.com")
        && g_strcmp0 (dal_url_get_port (url, i), "6543") == 0)
      return TRUE;
  return FALSE;
}

static PgAsync *
pgasync_new (PGconn *conn, DalUrl *url, GMainContext *context, GError **error)
{
  if (!PQenterPipelineMode (conn))
    {
      g_autofree char *why = dal_pg_clean_message (PQerrorMessage (conn));
      *error = dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                                   "pgasync needs libpq 14 or newer",
                                   "could not enter pipeline mode: %s", why);
      PQfinish (conn);
      return NULL;
    }

  PgAsync *pg = g_new0 (PgAsync, 1);
  pg->ref_count = 1;
  pg->conn = conn;
  pg->url = dal_url_ref (url);
  pg->context = g_main_context_ref (context);
  pg->command_timeout_ms = dal_pg_command_timeout_ms (url);
  pg->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) cache_entry_free);
  g_queue_init (&pg->cache_lru);
  pg->cache_size = dal_url_get_uint (url, "statement_cache_size", 0);
  if (pg->cache_size > 0 && looks_like_transaction_pooler (url))
    {
      g_info ("statement_cache_size=%u ignored: the host looks like a "
              "transaction pooler, where named statements are unsafe",
              pg->cache_size);
      pg->cache_size = 0;
    }

  pg->deliverer = (Deliverer *) g_source_new (&deliverer_funcs, sizeof (Deliverer));
  g_queue_init (&pg->deliverer->queue);
  pg->deliverer->home = context;
  g_source_set_name (&pg->deliverer->source, "dal pgasync completions");
  g_source_attach (&pg->deliverer->source, context);

  pg->source = g_source_new (&pg_source_funcs, sizeof (PgSource));
  ((PgSource *) pg->source)->pg = pg;
  g_source_set_can_recurse (pg->source, TRUE);  /* see pg_source_dispatch */
  g_source_set_name (pg->source, "dal pgasync socket");
  pg->watching = G_IO_IN | G_IO_HUP | G_IO_ERR;
  pg->fd_tag = g_source_add_unix_fd (pg->source, PQsocket (conn), pg->watching);
  g_source_attach (pg->source, context);
  return pg;
}

static void
pgasync_close (gpointer handle)
{
  PgAsync *pg = handle;
  GQueue done = G_QUEUE_INIT;
  GError *closed = dal_error_new_hint (DAL_ERROR_CLOSED,
                                       "Do not close a connection while it is "
                                       "still in use",
                                       "the connection was closed before the "
                                       "statement completed");
  fail_all (pg, &done, closed);
  g_error_free (closed);
  dal_pg_source_clear (&pg->source);
  g_clear_pointer (&pg->conn, PQfinish);
  complete_all (pg, &done);
  pg_unref (pg);
}

static void
connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;  /* the core's */
  GError *error = NULL;
  PGconn *conn = g_task_propagate_pointer (G_TASK (result), &error);
  PgAsync *pg = conn != NULL
                  ? pgasync_new (conn, g_task_get_task_data (task),
                                 g_task_get_context (task), &error)
                  : NULL;
  if (pg != NULL)
    g_task_return_pointer (task, pg, pgasync_close);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
pgasync_connect_async (DalUrl *url, GTask *task)
{
  g_task_set_task_data (task, dal_url_ref (url), (GDestroyNotify) dal_url_unref);
  dal_pg_connect_async (url, g_task_new (NULL, g_task_get_cancellable (task),
                                         connected, task));
}

static void
connect_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gpointer
pgasync_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  /* The socket will be watched on the caller's context; connecting runs
   * on a private one so that nothing else is dispatched meanwhile. */
  GMainContext *home = g_main_context_ref_thread_default ();
  GMainContext *context = g_main_context_new ();
  GAsyncResult *result = NULL;

  g_main_context_push_thread_default (context);
  dal_pg_connect_async (url, g_task_new (NULL, cancellable, connect_done, &result));
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  PGconn *conn = g_task_propagate_pointer (G_TASK (result), error);
  g_object_unref (result);
  g_main_context_unref (context);
  PgAsync *pg = conn != NULL ? pgasync_new (conn, url, home, error) : NULL;
  g_main_context_unref (home);
  return pg;
}

static char *
pgasync_get_info (gpointer handle, const char *key)
{
  PgAsync *pg = handle;
  if (strcmp (key, "statement_cache_size") == 0)
    return g_strdup_printf ("%u", pg->cache_size);
  if (strcmp (key, "in_flight") == 0)
    return g_strdup_printf ("%u", g_queue_get_length (&pg->ops)
                                  + g_queue_get_length (&pg->unsent));
  return dal_pg_get_info (pg->conn, key);
}

static const DalPluginFuncs pgasync_funcs = {
  .connect = pgasync_connect,
  .connect_async = pgasync_connect_async,
  .query = pgasync_query,
  .query_async = pgasync_query_async,
  .close = pgasync_close,
  .get_info = pgasync_get_info,
};

static const char *const pgasync_drivers[] = { "asyncpg", NULL };

DAL_PLUGIN_EXPORT const DalPluginDescriptor DAL_PLUGIN_DESCRIPTOR_SYMBOL (pgasync) = {
  DAL_PLUGIN_ABI_INIT,
  .name = "pgasync",
  .dialect = "postgresql",
  .drivers = pgasync_drivers,
  .caps = DAL_PLUGIN_CAP_ASYNC | DAL_PLUGIN_CAP_PIPELINE | DAL_PLUGIN_CAP_CANCEL
          | DAL_PLUGIN_CAP_TLS,
  .funcs = &pgasync_funcs,
  .description = "non-blocking libpq driver: pipelined, cancellable, for "
                 "application queries",
};
