/* dal-batch.h: batches and executemany (see the doc comment of DalBatch
 * below). */
#ifndef DAL_BATCH_H
#define DAL_BATCH_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <gio/gio.h>
#include <dal/dal-version.h>
#include <dal/dal-result.h>
#include <dal/dal-connection.h>
#include <dal/dal-pool.h>

G_BEGIN_DECLS

/* -- the statements of a batch -- */

/**
 * DalBatch:
 *
 * A list of statements with their parameters, reference counted, sent to
 * the server together by dal_connection_run_batch() or
 * dal_pool_run_batch().
 *
 * A batch is many statements, each with its parameters, sent under one
 * sync point and answered with one result (or one error) per statement,
 * in a #DalBatchResult.  On PostgreSQL a batch is one implicit
 * transaction:
 *
 * - the statements run in order; the first one the server refuses fails
 *   with its own error (SQLSTATE and all), and the server skips every
 *   statement after it: those report %DAL_ERROR_BATCH_ABORTED;
 * - the implicit transaction is then rolled back, so the statements
 *   BEFORE the failing one did not persist either, although each has
 *   its #DalResult: a result says what the statement did when it ran,
 *   not what was kept.  Only a batch in which every statement succeeded
 *   commits (when the batch ends, at its sync point);
 * - a BEGIN inside a batch opens an explicit transaction block, which
 *   COMMIT / ROLLBACK in the same batch end, as in psql; a COMMIT in
 *   the batch makes the work before it persist even if a later
 *   statement fails.  A block left open at the end of the batch stays
 *   open on the connection.  Statements that cannot run in a
 *   transaction block (VACUUM, CREATE DATABASE, …) fail in a batch of
 *   more than one statement;
 * - command_timeout covers the batch as a whole: it counts from when
 *   the server starts the batch's first statement.
 *
 * A batch-level failure (nothing ran, or what ran cannot be told: the
 * connection was closed or lost, the call was cancelled, the batch is
 * empty, the plugin has no batches) is the call's error instead of a
 * #DalBatchResult.  dal_connection_execute_many() runs one statement for
 * many rows of parameters as one such batch.
 *
 * Threads: a batch is not thread-safe while being added to.  Once built,
 * it may be run any number of times, on any connection, also while it is
 * running elsewhere (adding to it while a run is in progress does not
 * change that run).  dal_batch_ref() and dal_batch_unref() are
 * thread-safe.
 *
 * Since: 0.1
 */
typedef struct _DalBatch DalBatch;

/**
 * DAL_TYPE_BATCH:
 *
 * The #GType of #DalBatch, a boxed type.
 *
 * Since: 0.1
 */
#define DAL_TYPE_BATCH (dal_batch_get_type ())

/**
 * dal_batch_get_type:
 *
 * Gets the #GType of #DalBatch.
 *
 * Returns: the #GType of #DalBatch, a boxed type copied by reference.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_batch_get_type (void) G_GNUC_CONST;

/**
 * dal_batch_new:
 *
 * Makes an empty batch, to fill with dal_batch_add().
 *
 * Returns: (transfer full): a new, empty batch; free it with
 *   dal_batch_unref().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatch *dal_batch_new (void);

/**
 * dal_batch_ref:
 * @batch: a #DalBatch
 *
 * Takes a reference on @batch.  Thread-safe.
 *
 * Returns: (transfer full): @batch
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatch *dal_batch_ref (DalBatch *batch);

/**
 * dal_batch_unref:
 * @batch: (nullable) (transfer full): a #DalBatch, or %NULL (nothing
 *   happens)
 *
 * Drops a reference on @batch; the last one frees it.  A run in progress
 * holds a reference of its own.  Thread-safe.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_unref (DalBatch *batch);

/**
 * dal_batch_add:
 * @batch: a batch
 * @sql: one statement, with $1, $2, … for its parameters
 * @params: (nullable): its parameters, a tuple (or one value) of the
 *   types dal_connection_query() takes, or %NULL for none; a floating
 *   reference is consumed (also on failure)
 * @error: return location for a %DAL_ERROR_INVALID_PARAMETER error
 *
 * Appends a statement.  The parameters are converted at once, so @params
 * may change or go when this returns.
 *
 * Not thread-safe while @batch is being added to (see #DalBatch).
 *
 * Returns: %TRUE, or %FALSE (and @batch unchanged) when a parameter has
 *   a type libdal cannot send.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_batch_add (DalBatch *batch, const char *sql, GVariant *params,
                        GError **error);

/**
 * dal_batch_add_texts:
 * @batch: a batch
 * @sql: one statement, with $1, $2, … for its parameters
 * @n_params: the number of parameters
 * @values: (array length=n_params) (nullable): each as text, %NULL for SQL
 *   NULL; copied.  %NULL only when @n_params is 0
 *
 * Appends a statement whose parameters are all text (the server infers
 * their types, as for dal_connection_query_texts()).  Cannot fail.
 *
 * Not thread-safe while @batch is being added to (see #DalBatch).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_add_texts (DalBatch *batch, const char *sql, guint n_params,
                          const char * const *values);

/**
 * dal_batch_get_size:
 * @batch: a batch
 *
 * Counts the statements of @batch.
 *
 * Not thread-safe while @batch is being added to (see #DalBatch).
 *
 * Returns: the number of statements in @batch.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_batch_get_size (const DalBatch *batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalBatch, dal_batch_unref)

/* -- what a batch gave -- */

/**
 * DalBatchResult:
 *
 * What a batch gave: for each of its statements, in order, either a
 * #DalResult or the statement's error (see #DalBatch for which).
 * Immutable and reference counted; it may be read from any thread.
 *
 * Since: 0.1
 */
typedef struct _DalBatchResult DalBatchResult;

/**
 * DAL_TYPE_BATCH_RESULT:
 *
 * The #GType of #DalBatchResult, a boxed type.
 *
 * Since: 0.1
 */
#define DAL_TYPE_BATCH_RESULT (dal_batch_result_get_type ())

/**
 * dal_batch_result_get_type:
 *
 * Gets the #GType of #DalBatchResult.
 *
 * Returns: the #GType of #DalBatchResult, a boxed type copied by
 *   reference.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_batch_result_get_type (void) G_GNUC_CONST;

/**
 * dal_batch_result_ref:
 * @batch_result: a #DalBatchResult
 *
 * Takes a reference on @batch_result.  Thread-safe.
 *
 * Returns: (transfer full): @batch_result
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_batch_result_ref (DalBatchResult *batch_result);

/**
 * dal_batch_result_unref:
 * @batch_result: (nullable) (transfer full): a #DalBatchResult, or %NULL
 *   (nothing happens)
 *
 * Drops a reference on @batch_result; the last one frees it, with the
 * results dal_batch_result_get() returned from it.  A reference taken on
 * one of those results (dal_result_ref()) keeps @batch_result alive.
 * Thread-safe.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_result_unref (DalBatchResult *batch_result);

/**
 * dal_batch_result_get_size:
 * @batch_result: a batch's result
 *
 * Counts the statements the batch had.
 *
 * Thread-safe.
 *
 * Returns: the number of statements, as in the batch.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_batch_result_get_size (const DalBatchResult *batch_result);

/**
 * dal_batch_result_get:
 * @batch_result: a batch's result
 * @index: a statement's index in the batch (from 0), less than
 *   dal_batch_result_get_size()
 * @error: return location for that statement's error, or %NULL
 *
 * Gets one statement's result, or its error.
 *
 * Thread-safe.
 *
 * Returns: (transfer none) (nullable): the statement's result, valid as
 *   long as @batch_result is; or %NULL with a copy of its error: the
 *   server's (%DAL_ERROR_QUERY_FAILED with its SQLSTATE, …), or
 *   %DAL_ERROR_BATCH_ABORTED for a statement the server skipped because
 *   an earlier one failed.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_batch_result_get (const DalBatchResult *batch_result,
                                 guint index, GError **error);

/**
 * dal_batch_result_check:
 * @batch_result: a batch's result
 * @error: return location for the first failing statement's error, or
 *   %NULL
 *
 * Checks that every statement of the batch succeeded.
 *
 * Thread-safe.
 *
 * Returns: %TRUE when every statement succeeded; otherwise %FALSE and
 *   the error of the first statement that failed, its message beginning
 *   "statement 3 of 5: " (counted from 1), its code and server fields as
 *   the statement's own.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_batch_result_check (const DalBatchResult *batch_result,
                                 GError **error);

/**
 * dal_batch_result_get_affected_rows:
 * @batch_result: a batch's result
 *
 * Sums up the statements' affected-row counts.
 *
 * Thread-safe.
 *
 * Returns: the sum of dal_result_get_affected_rows() over the statements
 *   that succeeded (those reporting none count 0).  What the statements
 *   did, not what persisted: see #DalBatch.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_batch_result_get_affected_rows (const DalBatchResult *batch_result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalBatchResult, dal_batch_result_unref)

/* -- running them on a connection -- */

/**
 * dal_connection_run_batch:
 * @self: a connection
 * @batch: the statements (at least one)
 * @cancellable: (nullable): cancels the whole batch (on the server too)
 * @error: return location for a batch-level error, or %NULL
 *
 * Sends every statement of @batch with one sync point and waits for their
 * results, blocking.  Statement failures are in the result (see
 * dal_batch_result_check()); the call itself fails only when the batch
 * as a whole did: @batch is empty (%DAL_ERROR_INVALID_PARAMETER), the
 * connection is closed or lost (%DAL_ERROR_CLOSED,
 * %DAL_ERROR_CONNECTION_LOST), the call was cancelled
 * (%G_IO_ERROR_CANCELLED: the batch was cancelled on the server, which
 * rolled back what of it ran; a batch that had already finished returns
 * its results instead), a statement is a LISTEN and the connection goes
 * through a transaction pooler, or the plugin has no batches
 * (%DAL_ERROR_UNSUPPORTED, naming the plugin).
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: (transfer full) (nullable): one result or error per statement,
 *   or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_connection_run_batch (DalConnection *self, DalBatch *batch,
                                          GCancellable *cancellable,
                                          GError **error);

/**
 * dal_connection_run_batch_async:
 * @self: a connection
 * @batch: the statements (at least one); the call holds a reference
 * @cancellable: (nullable): cancels the whole batch (on the server too)
 * @callback: (scope async) (nullable): called when the batch has run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_run_batch(), in order with the
 * connection's other async calls.  @callback runs exactly once, on the
 * thread-default main context of the calling thread, never from inside
 * this call; call dal_connection_run_batch_finish() there.  On pgasync
 * the call completes with %G_IO_ERROR_CANCELLED as soon as @cancellable
 * fires, as one statement does: the batch may then have run or not.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_run_batch_async (DalConnection *self, DalBatch *batch,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

/**
 * dal_connection_run_batch_finish:
 * @self: the connection the batch ran on
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a batch-level error, or %NULL
 *
 * Finishes dal_connection_run_batch_async().
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: (transfer full) (nullable): as dal_connection_run_batch().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_connection_run_batch_finish (DalConnection *self,
                                                 GAsyncResult *result,
                                                 GError **error);

/**
 * dal_connection_execute_many:
 * @self: a connection
 * @sql: one statement, with $1, $2, … for its parameters
 * @rows: an array of tuples (type "a(…)", e.g. "a(is)"): one set of
 *   parameters per row, at least one; a floating reference is consumed
 * @cancellable: (nullable): cancels the whole of it
 * @error: return location for an error, or %NULL
 *
 * Runs @sql once per row of @rows, as ONE batch (one sync point): either
 * every row's statement takes effect or none does.  A row the server
 * refuses fails the call with that row's error, its message beginning
 * "row 57 of 1000: " (counted from 1); a row whose parameters libdal
 * cannot send fails it before anything is sent, the same way
 * (%DAL_ERROR_INVALID_PARAMETER).  @rows of another type, or empty, fail
 * with %DAL_ERROR_INVALID_PARAMETER; otherwise it fails as
 * dal_connection_run_batch() does.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: the sum of the rows' affected-row counts, or -1 with @error.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute_many (DalConnection *self, const char *sql,
                                    GVariant *rows, GCancellable *cancellable,
                                    GError **error);

/**
 * dal_connection_execute_many_async:
 * @self: a connection
 * @sql: one statement, with $1, $2, … for its parameters
 * @rows: an array of tuples, as for dal_connection_execute_many(); a
 *   floating reference is consumed
 * @cancellable: (nullable): cancels the whole of it
 * @callback: (scope async) (nullable): called when the rows have run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_execute_many(), in order with the
 * connection's other async calls.  @callback runs exactly once, on the
 * thread-default main context of the calling thread, never from inside
 * this call; call dal_connection_execute_many_finish() there.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_execute_many_async (DalConnection *self, const char *sql,
                                        GVariant *rows,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);

/**
 * dal_connection_execute_many_finish:
 * @self: the connection the rows ran on
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error, or %NULL
 *
 * Finishes dal_connection_execute_many_async() and
 * dal_connection_execute_many_texts_async().
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: as dal_connection_execute_many(): the rows' total, or -1 with
 *   @error.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute_many_finish (DalConnection *self,
                                           GAsyncResult *result,
                                           GError **error);

/**
 * dal_connection_execute_many_texts:
 * @self: a connection
 * @sql: one statement, with $1, $2, … for its parameters
 * @n_rows: the number of rows (at least 1)
 * @n_params: parameters per row
 * @values: (array) (nullable): @n_rows * @n_params texts, row by row
 *   (%NULL entries are SQL NULL); copied.  %NULL only when @n_params is 0
 * @cancellable: (nullable): cancels the whole of it
 * @error: return location for an error, or %NULL
 *
 * dal_connection_execute_many() with text parameters, without GVariants.
 * No rows fail with %DAL_ERROR_INVALID_PARAMETER.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: the sum of the rows' affected-row counts, or -1 with @error.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute_many_texts (DalConnection *self, const char *sql,
                                          guint n_rows, guint n_params,
                                          const char * const *values,
                                          GCancellable *cancellable,
                                          GError **error);

/**
 * dal_connection_execute_many_texts_async:
 * @self: a connection
 * @sql: one statement, with $1, $2, … for its parameters
 * @n_rows: the number of rows (at least 1)
 * @n_params: parameters per row
 * @values: (array) (nullable): @n_rows * @n_params texts, row by row
 *   (%NULL entries are SQL NULL); copied before this returns.  %NULL only
 *   when @n_params is 0
 * @cancellable: (nullable): cancels the whole of it
 * @callback: (scope async) (nullable): called when the rows have run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_execute_many_texts().  @callback runs
 * exactly once, on the thread-default main context of the calling
 * thread, never from inside this call; call
 * dal_connection_execute_many_finish() there.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_execute_many_texts_async (DalConnection *self,
                                              const char *sql, guint n_rows,
                                              guint n_params,
                                              const char * const *values,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer user_data);

/* -- one-shots of a pool -- */

/**
 * dal_pool_run_batch:
 * @pool: a pool
 * @batch: the statements (at least one)
 * @cancellable: (nullable): cancels the wait for a connection, or the batch
 * @error: return location for a batch-level error, or %NULL
 *
 * dal_connection_run_batch() on one of @pool's connections, as a
 * one-shot, blocking: it waits for a connection like dal_pool_query()
 * (and fails with %DAL_ERROR_POOL_TIMEOUT like it).  A batch with a
 * statement that changes the session (SET, LISTEN, PREPARE, …) gets a
 * connection of its own, reset (or replaced) afterwards, as such a
 * one-shot does.  Thread-safe, as every call on a #DalPool.
 *
 * Returns: (transfer full) (nullable): as dal_connection_run_batch().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_pool_run_batch (DalPool *pool, DalBatch *batch,
                                    GCancellable *cancellable, GError **error);

/**
 * dal_pool_run_batch_async:
 * @pool: a pool
 * @batch: the statements (at least one); the call holds a reference
 * @cancellable: (nullable): cancels the wait for a connection, or the batch
 * @callback: (scope async) (nullable): called when the batch has run
 * @user_data: data for @callback
 *
 * The async form of dal_pool_run_batch().  @callback runs exactly once,
 * on the thread-default main context of the calling thread, never from
 * inside this call; call dal_pool_run_batch_finish() there.
 *
 * Thread-safe, as every call on a #DalPool.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_run_batch_async (DalPool *pool, DalBatch *batch,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);

/**
 * dal_pool_run_batch_finish:
 * @pool: the pool
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a batch-level error, or %NULL
 *
 * Finishes dal_pool_run_batch_async().
 *
 * Thread-safe, as every call on a #DalPool.
 *
 * Returns: (transfer full) (nullable): as dal_pool_run_batch().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_pool_run_batch_finish (DalPool *pool, GAsyncResult *result,
                                           GError **error);

/**
 * dal_pool_execute_many:
 * @pool: a pool
 * @sql: one statement, with $1, $2, … for its parameters
 * @rows: an array of tuples, as for dal_connection_execute_many(); a
 *   floating reference is consumed
 * @cancellable: (nullable): cancels the wait for a connection, or the rows
 * @error: return location for an error, or %NULL
 *
 * dal_connection_execute_many() as a one-shot of @pool (see
 * dal_pool_run_batch()), blocking.  Thread-safe.
 *
 * Returns: the rows' total, or -1 and an error naming the failing row.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_pool_execute_many (DalPool *pool, const char *sql, GVariant *rows,
                              GCancellable *cancellable, GError **error);

/**
 * dal_pool_execute_many_async:
 * @pool: a pool
 * @sql: one statement, with $1, $2, … for its parameters
 * @rows: an array of tuples, as for dal_connection_execute_many(); a
 *   floating reference is consumed
 * @cancellable: (nullable): cancels the wait for a connection, or the rows
 * @callback: (scope async) (nullable): called when the rows have run
 * @user_data: data for @callback
 *
 * The async form of dal_pool_execute_many().  @callback runs exactly
 * once, on the thread-default main context of the calling thread, never
 * from inside this call; call dal_pool_execute_many_finish() there.
 *
 * Thread-safe, as every call on a #DalPool.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_execute_many_async (DalPool *pool, const char *sql, GVariant *rows,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

/**
 * dal_pool_execute_many_finish:
 * @pool: the pool
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error, or %NULL
 *
 * Finishes dal_pool_execute_many_async().
 *
 * Thread-safe, as every call on a #DalPool.
 *
 * Returns: the rows' total, or -1 and an error naming the failing row.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_pool_execute_many_finish (DalPool *pool, GAsyncResult *result,
                                     GError **error);

G_END_DECLS

#endif /* DAL_BATCH_H */
