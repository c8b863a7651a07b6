/* dal-plugin.h: everything a driver plugin includes.
 *
 * The overview of the plugin kit (the descriptor file, the exported
 * descriptor, the ABI rules) is the doc comment of DalPluginDescriptor
 * below.  The plugin kit is C only and not in Dal-1.0.gir, so the
 * generated reference does not show it: read it here.
 */
#ifndef DAL_PLUGIN_H
#define DAL_PLUGIN_H

#include <dal/dal.h>

#define DAL_H_INSIDE
#include <dal/dal-version.h>
#undef DAL_H_INSIDE

G_BEGIN_DECLS

/* -- query parameters, as the core hands them to a plugin -- */

/**
 * DalParamType:
 * @DAL_PARAM_NULL: SQL NULL; values[i] is %NULL
 * @DAL_PARAM_BOOLEAN: "t" / "f"
 * @DAL_PARAM_INT16: decimal text
 * @DAL_PARAM_INT32: decimal text
 * @DAL_PARAM_INT64: decimal text
 * @DAL_PARAM_NUMERIC: decimal text too large for int64 (GVariant 't')
 * @DAL_PARAM_DOUBLE: text that round-trips ("%.17g"), or NaN/Infinity/-Infinity
 * @DAL_PARAM_TEXT: UTF-8 text; its type is left for the server to infer
 * @DAL_PARAM_BYTES: raw bytes (binary format); lengths[i] counts them
 *
 * The type of one query parameter in #DalParams, as the core converted it
 * from the caller's GVariant tuple: every value but %DAL_PARAM_BYTES is
 * text a server's input function reads.
 *
 * Since: 0.1
 */
typedef enum
{
  DAL_PARAM_NULL = 0,
  DAL_PARAM_BOOLEAN,
  DAL_PARAM_INT16,
  DAL_PARAM_INT32,
  DAL_PARAM_INT64,
  DAL_PARAM_NUMERIC,
  DAL_PARAM_DOUBLE,
  DAL_PARAM_TEXT,
  DAL_PARAM_BYTES,
} DalParamType;

/**
 * DalParams:
 * @n: number of parameters ($1 … $n)
 * @types: (array length=n): the type of each
 * @values: (array length=n): each value as text (raw bytes for
 *   %DAL_PARAM_BYTES), %NULL for SQL NULL; not NUL-terminated for bytes
 * @lengths: (array length=n): the length in bytes of each value
 *
 * A statement's parameters, as the core hands them to a plugin's query,
 * query_async, query_call and batch slots.  Owned by the core and valid
 * until the operation completes; the plugin only reads them.
 *
 * Since: 0.1
 */
typedef struct
{
  guint n;
  const DalParamType *types;
  const char * const *values;
  const int *lengths;
} DalParams;

/* -- results -- */

/**
 * DalResultFuncs:
 * @free: frees the plugin's result (called once, when the last reference
 *   to the #DalResult is dropped, on whichever thread drops it)
 * @n_rows: the number of rows; read once, by dal_result_new()
 * @n_columns: the number of columns; read once, by dal_result_new()
 * @column_name: the name of a column (0-based), owned by the result
 * @column_type: the #DalColumnType of a column
 * @column_type_name: the server's name of a column's type ("int4",
 *   "text"), owned by the result
 * @get_value: the value at a row and column as NUL-terminated text owned
 *   by the result, or %NULL for SQL NULL; stores its length in bytes in
 *   the last argument unless that is %NULL
 * @affected_rows: the rows the statement inserted, updated, deleted,
 *   selected, moved, fetched or copied, or -1 when it reports none
 * @command_tag: the command tag ("INSERT 0 3"), owned by the result, or
 *   %NULL
 *
 * How the core reads a plugin's result without copying it: the slots
 * behind dal_result_get_n_rows(), dal_result_get_string() and the other
 * #DalResult getters.  Values are text; get_value returns %NULL for SQL
 * NULL.  All slots are required.
 *
 * The result is complete when it is handed to dal_result_new() and never
 * changes afterwards: a #DalResult may be read from several threads at
 * once, so every slot but @free must be safe to call concurrently (plain
 * reads of immutable data are).  The core checks row and column indexes
 * before it calls a slot.  The table is static data.
 *
 * Since: 0.1
 */
typedef struct
{
  void          (*free)             (gpointer impl);
  guint         (*n_rows)           (gpointer impl);
  guint         (*n_columns)        (gpointer impl);
  const char   *(*column_name)      (gpointer impl, guint column);
  DalColumnType (*column_type)      (gpointer impl, guint column);
  const char   *(*column_type_name) (gpointer impl, guint column);
  const char   *(*get_value)        (gpointer impl, guint row, guint column,
                                     gsize *length);
  gint64        (*affected_rows)    (gpointer impl);
  const char   *(*command_tag)      (gpointer impl);
} DalResultFuncs;

/**
 * dal_result_new:
 * @funcs: (transfer none): static accessors, valid for as long as the
 *   plugin is loaded
 * @impl: (transfer full): the plugin's result, complete; freed with
 *   @funcs->free when the last reference is dropped
 *
 * For plugins: wraps a result of the plugin's own, without copying it,
 * as what query and query_async give the core.  Calls @funcs->n_rows
 * and @funcs->n_columns once, now.  May be called from any thread.
 *
 * Returns: (transfer full): a new #DalResult wrapping @impl, with one
 *   reference (dal_result_unref()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_result_new (const DalResultFuncs *funcs, gpointer impl);

/* -- batches, COPY and notifications, as plugins see them (ABI 1.4) -- */

/**
 * DalBatchItem:
 * @sql: one statement
 * @params: its parameters
 *
 * One statement of a batch, as the core hands it to a plugin's batch and
 * batch_async slots; owned by the core and valid until the operation
 * completes.
 *
 * Since: 0.1
 */
typedef struct
{
  const char *sql;
  DalParams params;
} DalBatchItem;

/* DalBatchResult is documented where the application sees it, in
 * dal-batch.h; plugins fill one with the three functions below. */
typedef struct _DalBatchResult DalBatchResult;

/**
 * dal_batch_result_new:
 * @n_items: the number of statements in the batch
 *
 * For plugins: an empty result for a batch of @n_items statements, to be
 * filled with dal_batch_result_take() or dal_batch_result_take_impl(),
 * one call per statement, before the batch completes.  Only the plugin
 * holds it while it fills it: no locking.
 *
 * Returns: (transfer full): a new #DalBatchResult, every statement
 *   without a result or error yet (dal_batch_result_unref() frees it).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_batch_result_new (guint n_items);

/**
 * dal_batch_result_take:
 * @batch_result: a result from dal_batch_result_new()
 * @index: the statement's index in the batch
 * @result: (transfer full) (nullable): its result, or %NULL
 * @error: (transfer full) (nullable): its error, or %NULL (exactly one
 *   of @result and @error is set)
 *
 * For plugins: sets what statement @index gave, dropping what was set
 * for it before.  @index must be below the batch's n_items and exactly
 * one of @result and @error non-%NULL; otherwise this is a programming
 * error (a critical warning, and nothing changes).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_result_take (DalBatchResult *batch_result, guint index,
                            DalResult *result, GError *error);

/**
 * dal_batch_result_take_impl:
 * @batch_result: a result from dal_batch_result_new()
 * @index: the statement's index in the batch
 * @funcs: (transfer none): static accessors, as for dal_result_new()
 * @impl: (transfer full): the plugin's result, freed with @funcs->free
 *
 * For plugins: sets statement @index's result, as
 * dal_batch_result_take (batch_result, index, dal_result_new (funcs,
 * impl), NULL) would, without an allocation of its own: the statements'
 * DalResults live in one block of the batch result, and a reference
 * taken on one of them holds the batch result.  Calls @funcs->n_rows and
 * @funcs->n_columns once, now.  Bad arguments are programming errors, as
 * for dal_batch_result_take().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_result_take_impl (DalBatchResult *batch_result, guint index,
                                 const DalResultFuncs *funcs, gpointer impl);

/**
 * DalCopyReadFunc:
 * @source: the core's data source, as the core gave copy_in
 * @buffer: (out caller-allocates) (array length=size): where to put the
 *   data
 * @size: the room in @buffer, in bytes
 * @cancellable: (nullable): the caller's #GCancellable
 * @error: return location for an error
 *
 * What the core gives a plugin's copy_in slot: the plugin calls it, on
 * the thread running copy_in, for the next bytes of COPY data, in the
 * format the COPY statement names (the core encodes rows the caller
 * supplies).  Blocks at most as long as the caller's source does.
 *
 * Returns: the number of bytes put in @buffer, 0 at the end of the data,
 *   -1 on error (with @error set: the plugin ends the COPY, the server
 *   rolls it back, and copy_in returns that error).
 *
 * Since: 0.1
 */
typedef gssize (*DalCopyReadFunc) (gpointer source, char *buffer, gsize size,
                                   GCancellable *cancellable, GError **error);

/**
 * DalCopyWriteFunc:
 * @sink: the core's data sink
 * @data: one row of COPY data as the server sent it (a whole row of text
 *   or csv format, its newline included; in binary format a chunk)
 * @size: its length in bytes
 * @cancellable: (nullable): the caller's #GCancellable
 * @error: return location for an error
 *
 * What the core gives a plugin's copy_out slot: the plugin calls it, on
 * the thread running copy_out, for every row as it arrives.  @data is
 * the plugin's and valid only during the call.
 *
 * Returns: %TRUE to go on; %FALSE (with @error set) to stop the COPY:
 *   copy_out then returns that error.
 *
 * Since: 0.1
 */
typedef gboolean (*DalCopyWriteFunc) (gpointer sink, const char *data,
                                      gsize size, GCancellable *cancellable,
                                      GError **error);

/**
 * DalNotifyFunc:
 * @channel: the channel's name
 * @payload: the payload ("" when there is none)
 * @pid: the process ID of the server session that sent it
 * @user_data: (closure): what the core gave set_notify
 *
 * What the core gives a plugin's set_notify slot: the plugin calls it
 * for every notification the server sent (LISTEN/NOTIFY), in order, from
 * whichever thread read it; the core brings it to the listener's main
 * context.  @channel and @payload are the plugin's, valid during the
 * call only.
 *
 * Since: 0.1
 */
typedef void (*DalNotifyFunc) (const char *channel, const char *payload,
                               gint pid, gpointer user_data);

/**
 * DalNoticeFunc:
 * @fields: (array fixed-size=14): the notice's fields, indexed by
 *   #DalErrorField (%DAL_ERROR_N_FIELDS entries, %NULL where the server
 *   sent none): at least %DAL_ERROR_FIELD_SEVERITY and
 *   %DAL_ERROR_FIELD_MESSAGE
 * @user_data: what the core gave set_notice
 *
 * A notice the server sent (NOTICE, WARNING, INFO, ... for example from
 * RAISE NOTICE): a message that is no error and answers no request.
 * @fields and its strings belong to the plugin and are valid during the
 * call only.
 *
 * Since: 0.1
 */
typedef void (*DalNoticeFunc) (const char * const *fields, gpointer user_data);

/**
 * DalCall:
 *
 * The core's record of one async call handed to a plugin's query_call
 * slot: what GTask is to query_async, at a fraction of the cost.  The
 * plugin completes it with dal_call_return(), exactly once; it reads the
 * caller's #GCancellable with dal_call_get_cancellable().  Opaque.
 *
 * Since: 0.1
 */
typedef struct _DalCall DalCall;

/**
 * dal_call_get_cancellable:
 * @call: a call given to query_call, not yet returned
 *
 * The caller's #GCancellable: a plugin that can cancel on the server
 * connects to it and, once cancelled, completes @call with
 * %G_IO_ERROR_CANCELLED.  May be called from any thread.
 *
 * Returns: (transfer none) (nullable): the caller's #GCancellable, owned
 *   by @call, or %NULL when the caller gave none.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GCancellable *dal_call_get_cancellable (DalCall *call);

/**
 * dal_call_return:
 * @call: (transfer full): a call given to query_call
 * @result: (transfer full) (nullable): the statement's result, or %NULL
 * @error: (transfer full) (nullable): why it failed, or %NULL (exactly
 *   one of @result and @error is set)
 *
 * Completes @call: the caller's callback runs now, on this thread, before
 * this returns; then the plugin's reference to @call is dropped.  Call it
 * exactly once per call, on the connection's main context, from a
 * dispatch of the plugin's own source (never from inside a call of the
 * application's).  A cancelled call completes with G_IO_ERROR_CANCELLED
 * as with GTask.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_call_return (DalCall *call, DalResult *result, GError *error);

/* -- the function table -- */

/**
 * DalPluginFuncs:
 * @connect: ABI 1.0, blocking: opens a connection to what the URL names
 *   (the #DalUrl is the core's, valid during the call), within the URL's
 *   connect_timeout or %DAL_DEFAULT_CONNECT_TIMEOUT_MS, honouring the
 *   #GCancellable; returns the plugin's connection handle, or %NULL with
 *   the error set (%DAL_ERROR_CONNECT_FAILED, %DAL_ERROR_AUTH_FAILED,
 *   %DAL_ERROR_CONNECT_TIMEOUT and the like, or %G_IO_ERROR_CANCELLED)
 * @connect_async: ABI 1.0, the same without blocking: completes the
 *   #GTask with g_task_return_pointer(), the handle and @close as destroy
 *   notify (if the caller cancelled meanwhile, the core drops the handle
 *   through it), or with g_task_return_error()
 * @query: ABI 1.0, blocking: runs one statement with its #DalParams
 *   (%NULL: none) and returns its #DalResult (transfer full), or %NULL
 *   with the error set; honours the #GCancellable and the connection's
 *   statement deadlines
 * @query_async: ABI 1.0, the same without blocking: completes the
 *   #GTask with a #DalResult and dal_result_unref() as destroy notify, or
 *   with g_task_return_error()
 * @close: ABI 1.0, required: frees the connection.  Tasks still pending
 *   on it complete with %DAL_ERROR_CLOSED, each from a source on its own
 *   context (a #GTask's g_task_get_context(), a #DalCall's connection
 *   context), never inside @close: the application may close from inside
 *   a callback, and no callback may run inside its close.
 *   Never called while a blocking slot runs; may be called from another
 *   thread than the one that connected (the worker, or the thread
 *   dropping the last reference)
 * @get_info: ABI 1.0, optional: the value of a key of
 *   dal_connection_get_info(), newly allocated, or %NULL when the plugin
 *   does not know the key.  The core asks "transaction_status" too
 *   ("idle", "active", "intrans", "inerror", "unknown")
 * @is_lost: ABI 1.1, optional: %TRUE once the connection can serve no
 *   statement any more (the server went away, or the plugin gave up on
 *   it, e.g. after a cancel request that was never answered); it never
 *   becomes %FALSE again.  Must not block and may be called from any
 *   thread, also while a blocking slot runs on another thread: read an
 *   atomic flag.  Without this slot the core only learns of it from a
 *   %DAL_ERROR_CONNECTION_LOST error (see dal_connection_is_closed())
 * @set_context: ABI 1.2, optional, for plugins with async slots (which
 *   live on a main context: the pool moves idle connections between
 *   threads' contexts and checks them before handing them out): moves an
 *   idle connection (nothing pending, no blocking call running) to the
 *   given #GMainContext: from now on its sources are attached there and
 *   its async calls come from there.  May be called from any thread, but
 *   never while anyone iterates the old context on another thread nor
 *   while a call on the connection runs.  Returns %FALSE when it cannot
 *   (then nothing changed)
 * @check_idle: ABI 1.2, optional, on an idle connection: reads, without
 *   blocking, what the server sent while it was idle (a termination
 *   notice, end of file) and returns %FALSE when the connection is gone
 *   (is_lost is %TRUE from then on).  No round trip to the server.
 *   Called like @set_context
 * @execute_script: ABI 1.3, optional, blocking: runs its SQL, any number
 *   of statements separated by semicolons and no parameters, as one
 *   request (PostgreSQL's simple query protocol), stopping at the first
 *   statement that fails; results are dropped.  Honours the
 *   #GCancellable and the connection's statement deadlines as @query
 *   does.  A failure's %DAL_ERROR_FIELD_POSITION counts characters in the
 *   whole of the SQL.  Serves dal_connection_execute_script() (and so
 *   `dal migrate`).  Returns %FALSE with the error set on failure
 * @batch: ABI 1.4, optional, blocking: the given #DalBatchItem
 *   statements are sent together under one sync point (one implicit
 *   transaction) and the result holds one #DalResult or #GError per item
 *   (dal_batch_result_new() and dal_batch_result_take()); a batch-level
 *   failure (nothing could run, the connection was lost, cancelled) is a
 *   %NULL return with the error set instead.  See dal-batch.h for the
 *   semantics
 * @batch_async: ABI 1.4, optional: @batch without blocking; completes
 *   the #GTask like @query_async, with a #DalBatchResult and
 *   dal_batch_result_unref()
 * @copy_in: ABI 1.4, optional, blocking (see dal-copy.h): runs its SQL
 *   (COPY ... FROM STDIN) and feeds it what the #DalCopyReadFunc returns
 *   until it returns 0.  Holds no more than a bounded amount of data.
 *   Returns the number of rows the server reports, or -1 with the error
 *   set (an error of the read function ends the COPY: the server rolls
 *   it back)
 * @copy_out: ABI 1.4, optional, blocking: runs its SQL (COPY ... TO
 *   STDOUT) and hands every row to the #DalCopyWriteFunc as it arrives.
 *   Holds no more than a bounded amount of data.  Returns the number of
 *   rows the server reports, or -1 with the error set (an error of the
 *   write function ends the COPY).  For the async COPY calls libdal runs
 *   @copy_in and @copy_out on its worker thread, for a plugin with async
 *   slots after @set_context moved the idle connection to a context
 *   nobody iterates (and moves it back after); the read and write
 *   functions may then block while the caller's context handles rows
 * @set_notify: ABI 1.4, optional, notifications (LISTEN/NOTIFY): from
 *   now on the plugin calls the #DalNotifyFunc for every notification the
 *   server sends, in the order they arrive, with the given user data; a
 *   %NULL function stops it.  The plugin may call the function from any
 *   thread (the one that read the notification); the core brings it to
 *   the right main context.  Returns %FALSE if it cannot deliver
 *   notifications on this connection
 * @query_call: ABI 1.4, optional: @query_async without a #GTask, for
 *   plugins that complete many calls per main-context iteration (the
 *   core's #DalCall costs a fraction of a GTask).  Either returns %FALSE
 *   at once, having started nothing and kept nothing (e.g. the calling
 *   thread's default main context is not the one the connection lives
 *   on: the core then uses @query_async), or takes the #DalCall (its
 *   reference and the duty to complete it) and returns %TRUE.  The plugin
 *   completes the call exactly once with dal_call_return(), which runs
 *   the caller's callback before it returns: so only from a dispatch of
 *   a source of its own on the connection's main context, never from
 *   inside a call of the application's (not from query_call itself, a
 *   blocking call or @close).  The SQL and #DalParams stay valid until
 *   then
 * @set_notice: ABI 1.6, optional, notices (NOTICE, WARNING, INFO, ...:
 *   the server's messages that are not errors): from now on the plugin
 *   calls the #DalNoticeFunc for every notice the server sends, in the
 *   order they arrive, with the given user data; a %NULL function stops
 *   it.  Like @set_notify: any thread, the core brings them to the
 *   connection's main context, in one queue with the notifications
 *   (their relative order is kept).  Returns %FALSE if it cannot deliver
 *   notices on this connection
 * @set_notify_context: ABI 1.7, optional, for plugins that read an idle
 *   connection for its notifications from a source of their own (a
 *   blocking plugin, which has no main context otherwise): the main
 *   context where the core emits the connection's signals (%NULL: none
 *   any more).  Called after @set_notify when the connection is made and
 *   again whenever that context changes (dal_connection_open_async(), a
 *   pool's acquire), from any thread but never while a call on the
 *   connection runs; must not block.  The plugin attaches its watch of
 *   the idle socket there, takes the socket out of it while a slot of
 *   its own uses the connection, and hands what it reads to the
 *   #DalNotifyFunc as usual
 *
 * A plugin's function table: the slots the core calls for the
 * #DalConnection calls of dal-connection.h, dal-batch.h, dal-copy.h and
 * dal-notify.h.  The first argument of every slot but the connect slots
 * is the plugin's connection handle, which the core only passes back.
 * Static data.  The table only grows by appending (the ABI version each
 * slot came with is given above); the core never reads a slot beyond the
 * descriptor's funcs_size, and a slot the plugin left %NULL counts as
 * absent.  The ABI 1.4 slots are all optional: without them the core
 * refuses the call with %DAL_ERROR_UNSUPPORTED, naming the plugin.
 *
 * A plugin fills the blocking slots, the async slots, or both; the core
 * supplies the other half:
 *
 * - no async slots: the core runs the blocking slot in a worker thread,
 *   one operation at a time per connection, in order;
 * - no blocking slots: the core runs the async slot on a private main
 *   context and waits (so an async-only plugin must attach its sources
 *   to g_task_get_context(task), never to a context of its own).  Such
 *   a blocking call iterates only that private context: while async
 *   calls started on the connection are still pending (their sources
 *   are due on the caller's context), the core refuses it with
 *   %DAL_ERROR_BUSY instead of waiting forever.
 *
 * Async slots get a #GTask the core made (source object, cancellable and
 * callback are the caller's), and own that reference: the plugin
 * completes the task exactly once, on g_task_get_context(task), then
 * unrefs it.  It completes with
 * g_task_return_pointer() and the connection handle with the plugin's
 * close function as destroy notify (connect_async), or a #DalResult and
 * dal_result_unref (query_async), or g_task_return_error().
 * g_task_get_cancellable(task) gives the caller's #GCancellable: a plugin
 * that can cancel on the server does so, and completes the task with
 * %G_IO_ERROR_CANCELLED.
 *
 * Errors are %DAL_ERROR errors with the code of their failure class; the
 * message says what happened and what to change and never contains the
 * password (see dal_error_new_hint() and dal_error_redact()).
 *
 * Since: 0.1
 */
typedef struct
{
  /* ABI 1.0 */
  gpointer   (*connect)       (DalUrl *url, GCancellable *cancellable,
                               GError **error);
  void       (*connect_async) (DalUrl *url, GTask *task);
  DalResult *(*query)         (gpointer conn, const char *sql,
                               const DalParams *params,
                               GCancellable *cancellable, GError **error);
  void       (*query_async)   (gpointer conn, const char *sql,
                               const DalParams *params, GTask *task);
  void       (*close)         (gpointer conn);
  char      *(*get_info)      (gpointer conn, const char *key);

  /* ABI 1.1 */
  gboolean   (*is_lost)       (gpointer conn);

  /* ABI 1.2 */
  gboolean   (*set_context)   (gpointer conn, GMainContext *context);
  gboolean   (*check_idle)    (gpointer conn);

  /* ABI 1.3 */
  gboolean   (*execute_script) (gpointer conn, const char *sql,
                                GCancellable *cancellable, GError **error);

  /* ABI 1.4 */
  DalBatchResult *(*batch)    (gpointer conn, const DalBatchItem *items,
                               guint n_items, GCancellable *cancellable,
                               GError **error);
  void       (*batch_async)   (gpointer conn, const DalBatchItem *items,
                               guint n_items, GTask *task);
  gint64     (*copy_in)       (gpointer conn, const char *sql,
                               DalCopyReadFunc read, gpointer source,
                               GCancellable *cancellable, GError **error);
  gint64     (*copy_out)      (gpointer conn, const char *sql,
                               DalCopyWriteFunc write, gpointer sink,
                               GCancellable *cancellable, GError **error);
  gboolean   (*set_notify)    (gpointer conn, DalNotifyFunc func,
                               gpointer user_data);
  gboolean   (*query_call)    (gpointer conn, const char *sql,
                               const DalParams *params, DalCall *call);
  gboolean   (*set_notice)    (gpointer conn, DalNoticeFunc func,
                               gpointer user_data);

  /* ABI 1.7 */
  void       (*set_notify_context) (gpointer conn, GMainContext *context);
} DalPluginFuncs;

/* -- waiting for an async operation (for plugins) -- */

/**
 * DalSyncCall:
 *
 * Runs an async operation to completion from blocking code, on a private
 * GMainContext, so that nothing else of the calling thread's is
 * dispatched meanwhile.  The one implementation of "start the async call,
 * iterate until it is done" for the core and the plugins:
 *
 * ```c
 * DalSyncCall *call = dal_sync_call_new ();
 * start_something_async (…, dal_sync_call_done, call);
 * GAsyncResult *result = dal_sync_call_wait (call);
 * value = start_something_finish (result, error);
 * dal_sync_call_free (call);
 * ```
 *
 * dal_sync_call_new() makes a private context and pushes it as the
 * calling thread's default; the operation must attach every source it
 * needs to that context (g_task_get_context() of a GTask made now, or
 * g_main_context_get_thread_default()), never to a context of its own or
 * to the global default: those are not iterated while it waits.
 * dal_sync_call_wait() iterates the private context until the operation's
 * callback ran, pops the context and returns the result (owned by @call,
 * valid until dal_sync_call_free()).  Everything happens on the calling
 * thread: new, wait and free on the same thread, once each, in that
 * order (free without wait is allowed only if the operation was never
 * started: it pops the context).  Opaque.
 *
 * Since: 0.1
 */
typedef struct _DalSyncCall DalSyncCall;

/**
 * dal_sync_call_new:
 *
 * Makes a private #GMainContext and pushes it as the calling thread's
 * default (g_main_context_push_thread_default()), until
 * dal_sync_call_wait() or dal_sync_call_free() pops it.  Start the
 * operation next, on this thread, with dal_sync_call_done() as its
 * callback and the new call as its user data.
 *
 * Returns: (transfer full): a new #DalSyncCall, freed with
 *   dal_sync_call_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalSyncCall  *dal_sync_call_new  (void);
/**
 * dal_sync_call_done:
 * @source: (nullable): the operation's source object
 * @result: the operation's result
 * @call: the #DalSyncCall, as the user data
 *
 * The #GAsyncReadyCallback to start the operation with, with @call as
 * user data: keeps a reference to @result for dal_sync_call_wait().  Runs
 * on the private context while dal_sync_call_wait() iterates it; an
 * operation that completes twice is a programming error (a critical
 * warning).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void          dal_sync_call_done (GObject *source, GAsyncResult *result,
                                  gpointer call);
/**
 * dal_sync_call_wait:
 * @call: a #DalSyncCall whose operation was started, not yet waited for
 *
 * Iterates the private context until the operation's callback has run,
 * then pops the context.  Blocks the calling thread for as long as the
 * operation takes: the operation's own deadline and #GCancellable are
 * what bound it.  Call it once, on the thread that made @call.
 *
 * Returns: (transfer none): the operation's result, owned by @call and
 *   valid until dal_sync_call_free(); pass it to the operation's _finish
 *   function.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GAsyncResult *dal_sync_call_wait (DalSyncCall *call);
/**
 * dal_sync_call_free:
 * @call: (nullable) (transfer full): a #DalSyncCall, or %NULL
 *
 * Frees @call, its result and its context, on the thread that made it;
 * pops the context first if dal_sync_call_wait() did not (allowed only
 * when the operation was never started).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void          dal_sync_call_free (DalSyncCall *call);

/* -- dialects: what a URL of the plugin's dialect may say (ABI 1.5) -- */

/**
 * DalUrlOptionType:
 * @DAL_URL_OPTION_STRING: any text
 * @DAL_URL_OPTION_DURATION: seconds, fractions allowed ("2.5"), >= 0
 * @DAL_URL_OPTION_UINT: a non-negative integer
 * @DAL_URL_OPTION_BOOLEAN: true/false, 1/0, yes/no, on/off
 * @DAL_URL_OPTION_ENUM: one of the option's choices
 * @DAL_URL_OPTION_PORT: 1 to 65535 (a comma list of them where the
 *   dialect has DAL_DIALECT_HOST_LIST)
 *
 * How the core checks an option's value before any I/O.
 *
 * Since: 0.1
 */
typedef enum
{
  DAL_URL_OPTION_STRING = 0,
  DAL_URL_OPTION_DURATION,
  DAL_URL_OPTION_UINT,
  DAL_URL_OPTION_BOOLEAN,
  DAL_URL_OPTION_ENUM,
  DAL_URL_OPTION_PORT,
} DalUrlOptionType;

/**
 * DAL_URL_OPTION_SECRET:
 *
 * A #DalUrlOption flag: the option's value is a secret, redacted wherever
 * the URL is shown, like the password.
 *
 * Since: 0.1
 */
#define DAL_URL_OPTION_SECRET (1u << 0)

/**
 * DalUrlOption:
 * @name: the option's name in the URL's query (case-sensitive)
 * @type: how its value is checked
 * @flags: %DAL_URL_OPTION_SECRET or 0
 * @choices: (nullable): the %NULL-terminated values of an ENUM option
 * @min_client_version: the client library version that brought it
 *   (MAJOR * 10000 + MINOR), 0 for any
 *
 * One option of a dialect's URLs (#DalDialect's options).  Static data;
 * only ever appended to.
 *
 * Since: 0.1
 */
typedef struct
{
  const char *name;
  DalUrlOptionType type;
  guint flags;
  const char * const *choices;
  guint min_client_version;
} DalUrlOption;

/**
 * DAL_DIALECT_HOST_LIST:
 *
 * A #DalDialect flag: host and port may each list several servers
 * ("h1,h2", "5432,5433").
 *
 * Since: 0.1
 */
#define DAL_DIALECT_HOST_LIST  (1u << 0)
/**
 * DAL_DIALECT_NO_SERVER:
 *
 * A #DalDialect flag: the dialect's URLs name a file, not a server: a
 * user, password, host or port in the URL is an error
 * (%DAL_ERROR_URL_MALFORMED).
 *
 * Since: 0.1
 */
#define DAL_DIALECT_NO_SERVER  (1u << 1)

/**
 * DalDialectTlsInput:
 * @option: (nullable): the URL option that sets this input of the TLS
 *   policy ("sslmode"); %NULL: the dialect's URLs cannot set it
 * @env: (nullable): the environment variable the client library reads
 *   when the URL does not set it ("PGSSLMODE")
 *
 * Where one input of the core's TLS policy comes from, in a
 * #DalDialectTls.  Static data.
 *
 * Since: 0.1
 */
typedef struct
{
  const char *option;
  const char *env;
} DalDialectTlsInput;

/**
 * DalDialectTls:
 * @mode: the TLS mode; its values are the policy's words (disable,
 *   allow, prefer, require, verify-ca, verify-full)
 * @root_cert: the CA file
 * @cert: the client certificate
 * @key: the client certificate's key
 * @key_password: the key's password
 * @crl: the CRL file
 * @crl_dir: the CRL folder
 * @min_protocol: the lowest TLS protocol version ("TLSv1.2")
 * @max_protocol: the highest TLS protocol version
 * @host: the server names the policy judges (local, Supabase) when the
 *   URL's host part is empty
 * @host_address: the numeric server addresses the policy judges when
 *   the URL's host part is empty
 * @default_mode: (nullable): the client library's mode when nothing sets
 *   one ("prefer")
 * @default_dir: (nullable): the folder under the home directory where
 *   the client library looks for the files below (".postgresql")
 * @default_root_cert: (nullable): the CA file in @default_dir the
 *   client library uses when nothing names one ("root.crt")
 * @default_cert: (nullable): the client certificate in @default_dir it
 *   uses when nothing names one
 * @default_key: (nullable): the key in @default_dir it uses when nothing
 *   names one
 * @more_options: (nullable): the dialect's other TLS options, which the
 *   policy does not read, %NULL-terminated ("sslsni"): a configuration
 *   file's [tls] section takes them next to the inputs' options
 *
 * Where the core's TLS policy (docs/tls.md) finds its inputs in a URL of
 * the dialect and in the environment.  A dialect with a %NULL
 * DalDialect.tls is left alone by the policy.  Static data; fields are
 * only ever appended.
 *
 * Since: 0.1
 */
typedef struct
{
  DalDialectTlsInput mode;
  DalDialectTlsInput root_cert;
  DalDialectTlsInput cert;
  DalDialectTlsInput key;
  DalDialectTlsInput key_password;
  DalDialectTlsInput crl;
  DalDialectTlsInput crl_dir;
  DalDialectTlsInput min_protocol;
  DalDialectTlsInput max_protocol;
  DalDialectTlsInput host;
  DalDialectTlsInput host_address;
  const char *default_mode;
  const char *default_dir;
  const char *default_root_cert;
  const char *default_cert;
  const char *default_key;
  const char * const *more_options;
} DalDialectTls;

/**
 * DalUrlNewerValue:
 * @option: an option of the dialect
 * @value: a value of it that only newer client libraries understand
 * @min_client_version: the version that brought it (as in DalUrlOption)
 * @what: (nullable): how messages name it ("sslrootcert=system (the
 *   operating system's CA store)"); %NULL: option=value
 * @hint: (nullable): what to write instead, for the message
 *
 * A value dal_url_check_client_version() refuses below
 * @min_client_version (#DalDialect's newer_values).  Static data.
 *
 * Since: 0.1
 */
typedef struct
{
  const char *option;
  const char *value;
  guint min_client_version;
  const char *what;
  const char *hint;
} DalUrlNewerValue;

/**
 * DalDialectMapOption:
 * @name: a query option the dialect's options do not have
 * @value: (nullable): its decoded value; %NULL only asks which option
 *   @name stands for (an edit that removes it)
 * @mapped_value: (out): the value to store, static text (left alone when
 *   @value is %NULL)
 * @error: return location for a DAL_ERROR_URL_INVALID_VALUE
 *
 * Reads an older or foreign spelling of an option ("ssl=true" for
 * "sslmode=require").  Called while a URL is parsed or edited; must not
 * block.
 *
 * Returns: (nullable) (transfer none): the option @name stands for,
 *   static text, with *@mapped_value set; %NULL when @name is not such a
 *   spelling (no error), or when @value is not one it takes (@error set).
 *
 * Since: 0.1
 */
typedef const char *(*DalDialectMapOption) (const char *name,
                                            const char *value,
                                            const char **mapped_value,
                                            GError **error);

/**
 * DalDialectQueryHosts:
 * @values: the decoded values of the query's host= options, in order,
 *   %NULL-terminated (at least one)
 * @port_option: whether the query also has a port= option
 * @host: (out) (transfer full): the value for the dialect's host option
 * @port: (inout) (transfer full) (nullable): the value of its port option
 *   so far; the hook may free it and set another (or %NULL)
 * @error: return location for a DAL_ERROR_URL_INVALID_VALUE
 *
 * Reads a query that names servers with host= options (SQLAlchemy's
 * postgresql dialect takes several host= options and "host=name:port").
 * Called once the whole query is read; must not block.
 *
 * Returns: %TRUE with *@host (and *@port) set; %FALSE with @error set
 *   when the options cannot be read so.
 *
 * Since: 0.1
 */
typedef gboolean (*DalDialectQueryHosts) (const char * const *values,
                                          gboolean port_option,
                                          char **host, char **port,
                                          GError **error);

/**
 * DalDialectSessionSettings:
 * @value: (nullable): the value of the dialect's session option
 * @other: (out) (optional) (transfer full) (nullable): what @value says
 *   that is not a setting, written as the option takes it, or %NULL
 *
 * Reads the session settings a URL's session option carries (for
 * PostgreSQL, the "-c name=value" of libpq's "options").
 *
 * Must not block.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): { name,
 *   value, ..., %NULL } (g_strfreev()), or %NULL when there is none.
 *
 * Since: 0.1
 */
typedef char **(*DalDialectSessionSettings) (const char *value, char **other);

/**
 * DalDialectSessionAppend:
 * @value: the session option's text so far (may be empty)
 * @name: a setting's name
 * @setting: its value
 *
 * Appends one setting to the session option's text, as
 * DalDialectSessionSettings will read it back (a configuration file's
 * [session] section is written so).  Must not block.
 *
 * Since: 0.1
 */
typedef void (*DalDialectSessionAppend) (GString *value, const char *name,
                                         const char *setting);

/**
 * DalDialect:
 * @name: the canonical dialect ("postgresql"), as in the descriptor
 * @aliases: (nullable): other spellings of it, %NULL-terminated
 *   ("postgres")
 * @flags: %DAL_DIALECT_HOST_LIST and %DAL_DIALECT_NO_SERVER bits
 * @options: (array length=n_options): the options its URLs may set, in
 *   the client library's order
 * @n_options: how many
 * @user_option: (nullable): the option the URL's user sets ("user" for
 *   PostgreSQL); %NULL where the dialect's URLs have no user
 * @password_option: (nullable): the option the URL's password sets
 *   ("password"); %NULL where they have none
 * @host_option: (nullable): the option the URL's host sets ("host");
 *   %NULL where they have none
 * @port_option: (nullable): the option the URL's port sets ("port");
 *   %NULL where they have none
 * @path_option: (nullable): the option the URL's path (after its first
 *   "/") sets ("dbname"); %NULL where they have none
 * @client_library: (nullable): the client library's name, for messages
 *   ("libpq")
 * @docs_hint: (nullable): where an unknown option's message sends the
 *   user ("See the libpq connection parameters")
 * @host_address_option: (nullable): the option that gives numeric
 *   addresses parallel to the host list ("hostaddr"): when set, it
 *   decides how many servers the URL names
 * @synonyms: (nullable): the names @map_option reads, %NULL-terminated
 *   (for "did you mean" suggestions)
 * @map_option: (nullable): reads the spellings in @synonyms
 * @tls: (nullable): where the core's TLS policy finds its inputs
 * @newer_values: (array length=n_newer_values) (nullable): option values
 *   that need a newer client library than their option does
 * @n_newer_values: how many
 * @query_hosts: (nullable): reads the query's host= options (then they
 *   are not stored one by one; needs @host_option and @port_option);
 *   %NULL: host= is an option like any other
 * @session_option: (nullable): the option that carries session settings
 *   ("options"); %NULL: the dialect's URLs set none
 * @session_settings: (nullable): reads @session_option (set when it is)
 * @session_append: (nullable): writes @session_option (set when it is)
 *
 * What a URL of the dialect may say: the core checks a URL against the
 * dialect of the plugin that will serve it, before any I/O, and refuses
 * an option that is neither the dialect's nor libdal's own (see
 * docs/plugins.md).  A plugin points its descriptor's dialect_info at
 * it.  Static data; fields are only ever appended.
 *
 * Since: 0.1
 */
typedef struct
{
  const char *name;
  const char * const *aliases;
  guint flags;
  const DalUrlOption *options;
  guint n_options;
  const char *user_option;
  const char *password_option;
  const char *host_option;
  const char *port_option;
  const char *path_option;
  /* Appended (ABI 1.5): */
  const char *client_library;
  const char *docs_hint;
  const char *host_address_option;
  const char * const *synonyms;
  DalDialectMapOption map_option;
  const DalDialectTls *tls;
  const DalUrlNewerValue *newer_values;
  guint n_newer_values;
  DalDialectQueryHosts query_hosts;
  const char *session_option;
  DalDialectSessionSettings session_settings;
  DalDialectSessionAppend session_append;
} DalDialect;

/* Capability bits (#DalPluginDescriptor's caps): what `dal plugins`
 * shows; the core relies on the function slots, not on these. */
/**
 * DAL_PLUGIN_CAP_ASYNC:
 *
 * A capability bit: the plugin serves async calls without threads.  Only
 * shown by `dal plugins`; the core relies on the function slots.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_CAP_ASYNC     (1u << 0)
/**
 * DAL_PLUGIN_CAP_PIPELINE:
 *
 * A capability bit: many statements in flight per connection.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_CAP_PIPELINE  (1u << 1)
/**
 * DAL_PLUGIN_CAP_CANCEL:
 *
 * A capability bit: the plugin cancels statements on the server.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_CAP_CANCEL    (1u << 2)
/**
 * DAL_PLUGIN_CAP_TLS:
 *
 * A capability bit: the plugin honours the TLS policy (docs/tls.md).
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_CAP_TLS       (1u << 3)

/**
 * DAL_PLUGIN_DIALECT_DEFAULT:
 *
 * A #DalPluginDescriptor flag: the plugin serves the bare dialect://
 * too, as the descriptor file's DialectDefault=true says.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_DIALECT_DEFAULT (1u << 0)

/**
 * DalPluginDescriptor:
 * @abi_major: the ABI major version the plugin was built against
 *   (%DAL_PLUGIN_ABI_MAJOR, set by %DAL_PLUGIN_ABI_INIT)
 * @abi_minor: the ABI minor version it was built against
 *   (%DAL_PLUGIN_ABI_MINOR)
 * @funcs_size: sizeof (DalPluginFuncs) as the plugin was built
 * @flags: %DAL_PLUGIN_DIALECT_DEFAULT or 0
 * @name: the module name ("pgsync")
 * @dialect: the canonical dialect ("postgresql")
 * @drivers: (array zero-terminated=1): %NULL-terminated driver names
 * @caps: DAL_PLUGIN_CAP_* bits (%DAL_PLUGIN_CAP_ASYNC and the like)
 * @funcs: the function table
 * @description: one line for `dal plugins`
 * @dialect_info: (nullable): what the dialect's URLs may say (ABI 1.5);
 *   %NULL: the core accepts any option and leaves it to the plugin
 *
 * What a driver plugin exports: everything the core needs to know of it.
 * A plugin is a loadable module (libtool: -module -avoid-version) that
 * exports one symbol, a const DalPluginDescriptor, and ships a
 * descriptor file beside it so the registry knows what it serves
 * without loading it:
 *
 * ```ini
 * # myplugin.plugin
 * [libdal Plugin]
 * Module=myplugin              # module file name without extension
 * Dialect=postgresql
 * Drivers=mydriver;            # the "driver" in dialect+driver://
 * DialectDefault=false         # true: also serves the bare dialect://
 * Description=What it is, in one line
 * ```
 *
 * and in myplugin.c:
 *
 * ```c
 * static const DalPluginFuncs funcs = { .connect = …, .query = …, … };
 * static const char * const drivers[] = { "mydriver", NULL };
 * DAL_PLUGIN_EXPORT const DalPluginDescriptor
 * DAL_PLUGIN_DESCRIPTOR_SYMBOL (myplugin) = {
 *   DAL_PLUGIN_ABI_INIT,
 *   .name = "myplugin", .dialect = "postgresql", .drivers = drivers,
 *   .funcs = &funcs,
 * };
 * ```
 *
 * The symbol carries the module name (myplugin_LTX_dal_plugin_descriptor)
 * so that several plugins can be preloaded into one static program.
 *
 * ABI rules (as GStreamer's and SQLite's): the core refuses a plugin whose
 * ABI major differs from its own or whose minor is newer
 * (%DAL_ERROR_PLUGIN_ABI_MISMATCH); #DalPluginFuncs only grows by
 * appending, and the core never reads a slot beyond the @funcs_size the
 * plugin was built with (a missing slot counts as %NULL).  The
 * descriptor's own fields are only ever appended, with a minor ABI bump.
 *
 * The rest of this header is the plugin kit: the types the core hands
 * to the slots (#DalParams, #DalBatchItem, #DalCall), the ones a plugin
 * builds its answers with (#DalResultFuncs and dal_result_new(),
 * dal_batch_result_new(), dal_error_new_hint()), #DalDialect for what
 * its URLs may say, and helpers (#DalSyncCall, dal_error_redact(),
 * dal_url_check_client_version(), dal_sql_transaction_control()).
 * Plugins compile against the dal-plugin-1 pkg-config module.
 *
 * Since: 0.1
 */
typedef struct
{
  guint32 abi_major;
  guint32 abi_minor;
  guint32 funcs_size;
  guint32 flags;
  const char *name;
  const char *dialect;
  const char * const *drivers;
  guint64 caps;
  const DalPluginFuncs *funcs;
  const char *description;
  /* ABI 1.5 */
  const DalDialect *dialect_info;
} DalPluginDescriptor;

/**
 * DAL_PLUGIN_ABI_INIT:
 *
 * The designated initializers of a #DalPluginDescriptor's abi_major,
 * abi_minor and funcs_size, as the headers the plugin is compiled
 * against give them.  Put it first in the descriptor's initializer.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_ABI_INIT \
  .abi_major = DAL_PLUGIN_ABI_MAJOR, .abi_minor = DAL_PLUGIN_ABI_MINOR, \
  .funcs_size = sizeof (DalPluginFuncs)

/**
 * DAL_PLUGIN_DESCRIPTOR_SYMBOL:
 * @modname: the module name, as the descriptor file's Module= key gives
 *   it (a C identifier)
 *
 * The name of the descriptor a plugin exports,
 * modname_LTX_dal_plugin_descriptor: libltdl's rule, which lets several
 * plugins be preloaded into one program.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_DESCRIPTOR_SYMBOL(modname) \
  modname##_LTX_dal_plugin_descriptor

/**
 * DAL_PLUGIN_EXPORT:
 *
 * Exports the descriptor from the plugin's module (G_MODULE_EXPORT):
 * the one symbol a plugin exports.
 *
 * Since: 0.1
 */
#define DAL_PLUGIN_EXPORT G_MODULE_EXPORT

/* -- errors, for plugins -- */

/**
 * dal_error_new_hint:
 * @code: the failure class
 * @hint: (nullable): one sentence saying what to change, or %NULL
 * @format: what happened (printf format)
 * @...: the arguments of @format
 *
 * Makes a %DAL_ERROR whose message is what happened followed by @hint
 * ("what happened. hint"; trailing blanks and full stops of what
 * happened are dropped).  dal_error_get_hint() gives @hint back.  Its
 * retryable flag starts from @code (too many connections, a pooler's
 * client limit, a lost connection are retryable).  Never put a password
 * in either text.  Thread-safe.
 *
 * Returns: (transfer full): a new #GError (g_error_free()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GError *dal_error_new_hint (DalErrorCode code, const char *hint,
                            const char *format, ...) G_GNUC_PRINTF (3, 4);

/**
 * dal_printable:
 * @text: a user's text (an option's value, a host name)
 *
 * @text made safe to quote in a message: valid UTF-8 stays readable;
 * control characters, quotes, backslashes and bytes of invalid UTF-8
 * become \xNN.  The way libdal and its plugins quote values in errors.
 * Thread-safe.
 *
 * Returns: (transfer full): the text to show (g_free()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char *dal_printable (const char *text);

/**
 * dal_error_set_field:
 * @error: a %DAL_ERROR error
 * @field: which server field
 * @value: (nullable): its value, copied; %NULL unsets it
 *
 * For plugins: sets a server field of an error they build (what
 * dal_error_get_field() reads), replacing the one set before.  Setting
 * the SQLSTATE to one of a retryable class (40001, 40P01, 53xxx, 57P0x,
 * 08xxx) also sets the retryable flag; another SQLSTATE leaves the flag
 * as it was.  An error of another domain is a programming error (a
 * critical warning; nothing changes).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_error_set_field (GError *error, DalErrorField field,
                          const char *value);
/**
 * dal_error_set_retryable:
 * @error: a %DAL_ERROR error
 * @retryable: whether running the operation again may succeed
 *
 * For plugins: sets what dal_error_is_retryable() says, overriding what
 * the error's code and SQLSTATE gave.  An error of another domain is a
 * programming error (a critical warning; nothing changes).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_error_set_retryable (GError *error, gboolean retryable);

/**
 * dal_error_redact:
 * @error: (nullable): a DAL_ERROR (or any GError), or %NULL
 * @secret: (nullable): text that must not appear, e.g. the password
 *
 * Replaces @secret with "****" in the message and the server fields,
 * without mangling text that merely shares letters with it:
 *
 *  - an occurrence counts when it is a whole token: where @secret starts
 *    (ends) with a letter or digit, the character before (after) it is
 *    not one, the start and end of the text counting as boundaries.  So
 *    a password between ':' and '@', in quotes, after "password=" or as
 *    a word of its own is replaced, while with the password "a" the text
 *    "could not resolve host name" stays as it is.  Repeats written
 *    back to back ("pwpw") count as one token;
 *  - a secret of 8 or more characters is replaced wherever it occurs,
 *    even glued to other letters: a chance match that long is improbable;
 *  - the hint (dal_error_get_hint() and the end of the message that
 *    repeats it) is advice written by libdal or the plugin, never a place
 *    for a secret, and is left alone, except when it is the server's own
 *    hint (redacted like the fields) or when @secret has 8 or more
 *    characters and is not a plain word of letters only.
 *
 * Plugins call it on every error they build from text they did not write
 * themselves.  Only the message of an error of another domain is
 * redacted, by the same rules.  A %NULL or empty @secret changes nothing.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_error_redact (GError *error, const char *secret);

/* -- client library versions, for plugins -- */

/**
 * dal_url_check_client_version:
 * @url: the URL about to be connected
 * @version: the client library's version as MAJOR * 10000 + MINOR, the
 *   way libpq's PQlibVersion() gives it (150018 is 15.18)
 * @library: the library's name for the message ("libpq")
 * @error: return location for a DAL_ERROR_UNSUPPORTED error
 *
 * A plugin calls this before it connects.  Every option @url sets is
 * checked against the client library version that brought it (the
 * option table's min_client_version), and so are values only newer
 * versions understand (sslrootcert=system needs libpq 16).  The error
 * names the option, the version needed and the version found, instead of
 * the library's own "invalid connection option".
 *
 * Returns: %TRUE when the client library can do what @url asks; %FALSE
 *   with @error set (%DAL_ERROR_UNSUPPORTED) when it cannot.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_url_check_client_version (const DalUrl *url, guint version,
                                       const char *library, GError **error);

/**
 * DalSqlTxControl:
 * @DAL_SQL_TX_NONE: an ordinary statement: it runs in the transaction
 *   block that is open, or in a transaction of its own
 * @DAL_SQL_TX_BEGIN: a transaction block is open after it: BEGIN, START
 *   TRANSACTION, COMMIT / ROLLBACK ... AND CHAIN
 * @DAL_SQL_TX_END: no transaction block is open after it: COMMIT, END,
 *   ROLLBACK, ABORT, PREPARE TRANSACTION, COMMIT / ROLLBACK PREPARED
 * @DAL_SQL_TX_SAVEPOINT: SAVEPOINT, RELEASE, ROLLBACK TO
 * @DAL_SQL_TX_OUTSIDE: must run outside any transaction block, even an
 *   implicit one shared with another statement: VACUUM, CREATE / DROP
 *   DATABASE or TABLESPACE, ALTER SYSTEM, ... CONCURRENTLY
 *
 * What a statement does to the transaction, by its first words
 * (comments and letter case understood), as
 * dal_sql_transaction_control() tells it.
 *
 * Since: 0.1
 */
typedef enum
{
  DAL_SQL_TX_NONE = 0,
  DAL_SQL_TX_BEGIN,
  DAL_SQL_TX_END,
  DAL_SQL_TX_SAVEPOINT,
  DAL_SQL_TX_OUTSIDE,
} DalSqlTxControl;

/**
 * dal_sql_transaction_control:
 * @sql: one statement
 *
 * The statement classifier's view of @sql's transaction control: how a
 * plugin tracks the transaction state that the statements it has queued
 * will leave (e.g. to send session settings with each transaction on a
 * transaction pooler).  No allocation; reads the first words only.
 *
 * Thread-safe.
 *
 * Returns: what @sql does to the transaction.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalSqlTxControl dal_sql_transaction_control (const char *sql);

/**
 * dal_sql_is_copy:
 * @sql: one statement
 *
 * Whether @sql is a COPY statement, by its first word (comments and letter
 * case understood): how a plugin that pipelines statements finds one it
 * must run with nothing sent behind it (COPY FROM STDIN would read the
 * next statement's messages as its data).  No allocation.
 *
 * Thread-safe.
 *
 * Returns: %TRUE if @sql starts with COPY.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_sql_is_copy (const char *sql);

/**
 * dal_sql_split_statements:
 * @sql: SQL text: statements separated by semicolons
 * @offsets: (out) (optional) (array length=n_statements) (transfer full):
 *   where each statement starts in @sql, in bytes
 * @n_statements: (out) (optional): how many statements there are
 *
 * Splits a script into its statements with the statement classifier's
 * lexer: a semicolon ends a statement only outside string literals
 * ('...', E'...'), quoted identifiers, dollar quotes and comments (nested
 * block comments too).  Each statement is the text from just after the
 * previous semicolon (or the start) up to its own semicolon, excluded,
 * exactly as written: leading blanks and comments are kept, so that a
 * server's error position counts from where the statement starts in
 * @sql.  Pieces holding nothing but blanks and comments are left out.
 * An unterminated quote or comment makes the rest of @sql one statement
 * (the server then says what is wrong with it).  Never fails.
 *
 * Returns: (transfer full) (array zero-terminated=1): the statements, in
 *   order; free with g_strfreev()
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char **dal_sql_split_statements (const char *sql, gsize **offsets,
                                 guint *n_statements);

/**
 * DAL_DEFAULT_CONNECT_TIMEOUT_MS:
 *
 * The connect budget, in milliseconds, when the URL has no
 * connect_timeout: the whole connect (every host tried) must finish
 * within it.
 *
 * Since: 0.1
 */
#define DAL_DEFAULT_CONNECT_TIMEOUT_MS 10000

G_END_DECLS

#endif /* DAL_PLUGIN_H */
