/* dal-connection.h: one connection to a database, through some plugin
 * (see the doc comment of DalConnection below). */
#ifndef DAL_CONNECTION_H
#define DAL_CONNECTION_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <gio/gio.h>
#include <dal/dal-version.h>
#include <dal/dal-url.h>
#include <dal/dal-result.h>
#include <dal/dal-registry.h>

G_BEGIN_DECLS

/**
 * DalConnection:
 *
 * One connection to a database, through the plugin its URL's scheme
 * names (`postgresql+asyncpg://` is pgasync, `postgresql+psycopg2://` and
 * `postgresql://` are pgsync).
 *
 * Every operation has a blocking form and a GIO-style async pair
 * (`_async` with a #GCancellable and a callback, `_finish` with a
 * #GError).  The same code runs on every plugin: a plugin that only
 * blocks serves the async calls from a worker thread (one operation at a
 * time, in the order they were started); a non-blocking plugin serves the
 * blocking calls too.  Batches (dal_connection_run_batch()), COPY
 * (dal_connection_copy_from_stream()) and LISTEN/NOTIFY
 * (dal_connection_listen(), #DalConnection::notification) are methods of
 * the connection too.
 *
 * ## The async contract
 *
 * - the callback runs on the thread-default #GMainContext of the thread
 *   that called `_async`, never from inside the `_async` call itself, nor
 *   from inside a blocking call, another `_async` call or a close; that
 *   context must be iterated (a #GMainLoop);
 * - every call completes exactly once: a result, a %DAL_ERROR, or
 *   %G_IO_ERROR_CANCELLED when its #GCancellable fired first (the server
 *   is asked to cancel the statement too).  %G_IO_ERROR_CANCELLED does
 *   not prove the statement did not run;
 * - calls on one connection complete in the order they were started,
 *   except that a cancelled call on pgasync completes as soon as it is
 *   cancelled;
 * - a pending call holds a reference on the connection;
 * - closing a connection completes every call still pending on it, with
 *   %DAL_ERROR_CLOSED.
 *
 * The URL's `command_timeout` (seconds) bounds each statement: at the
 * deadline the server is asked to cancel it (%DAL_ERROR_QUERY_TIMEOUT),
 * and a server that does not answer within `cancel_timeout` more costs
 * the connection (it is then lost, see dal_connection_is_closed()).
 *
 * ## Parameters
 *
 * Query parameters always travel apart from the SQL text: "$1", "$2" in
 * the SQL, and a #GVariant tuple of values (`("(is)", 42, "x")`).
 * Supported GVariant types: b, y, n, q, i, u, x, t, d, s, o, g, ay
 * (bytes), v (unwrapped), and maybe types (m…) whose Nothing is SQL
 * NULL; any other type fails with %DAL_ERROR_INVALID_PARAMETER.  A tuple
 * is needed for several parameters; a single non-tuple value is one
 * parameter.  A floating @params reference is consumed (also when the
 * call fails); a non-floating one stays the caller's.
 *
 * ## Threads
 *
 * A connection is used by one thread at a time, like a libpq `PGconn`
 * (dal_connection_is_closed() is the exception: any thread, any time).
 * Open several connections, or a #DalPool, for parallel work.  A pgasync
 * connection watches its socket on the thread-default main context of the
 * thread that opened it: use it from the thread that iterates that
 * context.
 *
 * Since: 0.1
 */

/**
 * DAL_TYPE_CONNECTION:
 *
 * The #GType of #DalConnection.
 *
 * Since: 0.1
 */
#define DAL_TYPE_CONNECTION (dal_connection_get_type ())
DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (DalConnection, dal_connection, DAL, CONNECTION, GObject)

/* -- opening -- */

/**
 * dal_connection_open:
 * @url: (nullable): a database URL, e.g. "postgresql+asyncpg://app@db/app";
 *   %NULL (an unset environment variable) fails with
 *   %DAL_ERROR_URL_MALFORMED ("no URL given")
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Parses @url, resolves its scheme with the default registry (which may
 * load the plugin), applies the TLS policy, and connects, blocking until
 * connected or failed.  The URL's `connect_timeout` bounds the connect.
 * A pgasync connection opened here watches its socket on the calling
 * thread's thread-default main context.
 *
 * Fails with a URL error (%DAL_ERROR_URL_MALFORMED,
 * %DAL_ERROR_URL_UNKNOWN_OPTION, %DAL_ERROR_URL_INVALID_VALUE), a
 * resolution error (%DAL_ERROR_UNKNOWN_SCHEME, %DAL_ERROR_RETIRED_DRIVER,
 * %DAL_ERROR_PLUGIN_NOT_FOUND, %DAL_ERROR_PLUGIN_LOAD_FAILED, …), a TLS
 * configuration error, a connect error (%DAL_ERROR_CONNECTION_REFUSED,
 * %DAL_ERROR_AUTH_FAILED, %DAL_ERROR_CONNECT_TIMEOUT, …),
 * %DAL_ERROR_UNSUPPORTED for a URL with pool options (open a #DalPool
 * instead), or %G_IO_ERROR_CANCELLED.  The URL's password never appears
 * in the error.
 *
 * Thread-safe: it may be called from any thread.
 *
 * Returns: (transfer full) (nullable): the open connection, or %NULL with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open (const char *url, GCancellable *cancellable,
                                    GError **error);

/**
 * dal_connection_open_async:
 * @url: (nullable): a database URL, e.g. "postgresql+asyncpg://app@db/app";
 *   %NULL completes with %DAL_ERROR_URL_MALFORMED ("no URL given")
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called once the connection is open
 *   or failed
 * @user_data: data for @callback
 *
 * Opens a connection as dal_connection_open() does, without blocking the
 * calling thread: loading the plugin and reading TLS files happen in a
 * worker thread.  @callback runs exactly once, on the thread-default main
 * context of the calling thread, never from inside this call; call
 * dal_connection_open_finish() there.  A malformed @url completes with
 * its error the same way.  The new connection's home context (where
 * pgasync watches its socket and notifications are emitted) is that
 * context.
 *
 * Thread-safe: it may be called from any thread.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_open_async (const char *url, GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);

/**
 * dal_connection_open_finish:
 * @result: the #GAsyncResult given to the callback of
 *   dal_connection_open_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_open_async(), from the callback (on the thread
 * that started it).  Fails as dal_connection_open() does.  A result of
 * any other call (dal_connection_open_url_async()'s included: finish it
 * with dal_connection_open_url_finish()) is a programming error: a
 * critical, and %NULL.
 *
 * Returns: (transfer full) (nullable): the open connection, or %NULL with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open_finish (GAsyncResult *result, GError **error);

/**
 * dal_connection_open_url:
 * @registry: (nullable): the registry to resolve with, %NULL for the default
 * @url: a parsed URL; the connection keeps a reference
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * As dal_connection_open(), from a parsed URL and a chosen registry.  The
 * connection holds a reference on the registry its plugin came from, so
 * the caller may drop @registry at once.
 *
 * Thread-safe: it may be called from any thread.
 *
 * Returns: (transfer full) (nullable): the open connection, or %NULL with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open_url (DalRegistry *registry, DalUrl *url,
                                        GCancellable *cancellable,
                                        GError **error);

/**
 * dal_connection_open_url_async:
 * @registry: (nullable): the registry to resolve with, %NULL for the default
 * @url: a parsed URL; the connection keeps a reference
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called once the connection is open
 *   or failed
 * @user_data: data for @callback
 *
 * As dal_connection_open_async(), from a parsed URL and a chosen
 * registry (the call holds references on both until it completes).
 * Finish it with dal_connection_open_url_finish().
 *
 * Thread-safe: it may be called from any thread.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_open_url_async (DalRegistry *registry, DalUrl *url,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);

/**
 * dal_connection_open_url_finish:
 * @result: the #GAsyncResult given to the callback of
 *   dal_connection_open_url_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_open_url_async().  A result of any other call
 * (dal_connection_open_async()'s included) is a programming error: a
 * critical, and %NULL.
 *
 * Returns: (transfer full) (nullable): the open connection, or %NULL
 *   with @error set (the URL's password never appears in it).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open_url_finish (GAsyncResult *result,
                                               GError **error);

/* -- statements -- */

/**
 * dal_connection_query:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters: a tuple of the #GVariant types
 *   listed under #DalConnection, or one such value, or %NULL for none (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement, on the server too
 * @error: return location for a #GError, or %NULL
 *
 * Runs one statement and returns what it returned, blocking.  Several
 * statements in @sql fail (SQLSTATE 42601): see
 * dal_connection_execute_script().  On pgsync it waits for the async
 * calls queued before it; on pgasync it joins the pipeline.
 *
 * Fails with %DAL_ERROR_QUERY_FAILED (the server refused it: see
 * dal_error_get_sqlstate()), %DAL_ERROR_QUERY_TIMEOUT,
 * %DAL_ERROR_INVALID_PARAMETER (a parameter of a type libdal cannot
 * send; nothing was sent), %DAL_ERROR_CONNECTION_LOST,
 * %DAL_ERROR_CLOSED, %DAL_ERROR_BUSY, %DAL_ERROR_UNSUPPORTED (LISTEN
 * through a transaction pooler), or %G_IO_ERROR_CANCELLED (the server
 * was asked to cancel the statement and did; a statement that had
 * finished first gives its own result).  After a statement's failure the
 * connection stays usable, unless it was lost.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query (DalConnection *connection, const char *sql,
                                 GVariant *params, GCancellable *cancellable,
                                 GError **error);

/**
 * dal_connection_query_async:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters, as for dal_connection_query() (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement, on the server too
 * @callback: (scope async) (nullable): called when the statement has run
 * @user_data: data for @callback
 *
 * Starts one statement.  @callback runs exactly once, on the
 * thread-default main context of the calling thread, never from inside
 * this call, in the order the connection's calls were started; call
 * dal_connection_query_finish() there.  Errors, including a parameter
 * libdal cannot send, arrive there too.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_query_async (DalConnection *connection, const char *sql,
                                 GVariant *params, GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);

/**
 * dal_connection_query_finish:
 * @connection: the connection the statement ran on
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_query_async() (a result of any other call is a
 * programming error: a critical, and %NULL).  Fails as
 * dal_connection_query() does; if the #GCancellable was cancelled before this call, the error is
 * %G_IO_ERROR_CANCELLED even when a result had arrived.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query_finish (DalConnection *connection,
                                        GAsyncResult *result, GError **error);

/**
 * dal_connection_query_texts:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for the parameters
 * @n_params: how many parameters
 * @values: (array length=n_params) (nullable): each parameter as text,
 *   %NULL for SQL NULL; copied, so they may be freed when this returns.
 *   %NULL only when @n_params is 0
 * @cancellable: (nullable): cancels the statement, on the server too
 * @error: return location for a #GError, or %NULL
 *
 * As dal_connection_query(), with the parameters as text, the way libpq
 * takes them: the server infers each one's type from the statement, as it
 * does for a quoted literal.  Cheaper than building a GVariant when the
 * values are text already (or a statement runs many times a second).
 * Fails as dal_connection_query() does (never with
 * %DAL_ERROR_INVALID_PARAMETER).
 * Finish the async form with dal_connection_query_texts_finish().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query_texts (DalConnection *connection,
                                       const char *sql, guint n_params,
                                       const char * const *values,
                                       GCancellable *cancellable,
                                       GError **error);

/**
 * dal_connection_query_texts_async:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for the parameters
 * @n_params: how many parameters
 * @values: (array length=n_params) (nullable): each parameter as text,
 *   %NULL for SQL NULL; copied before this returns.  %NULL only when
 *   @n_params is 0
 * @cancellable: (nullable): cancels the statement, on the server too
 * @callback: (scope async) (nullable): called when the statement has run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_query_texts(), with the contract of
 * dal_connection_query_async(): @callback runs exactly once, on the
 * calling thread's thread-default main context, never from inside this
 * call.  Finish it with dal_connection_query_texts_finish().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_query_texts_async (DalConnection *connection,
                                       const char *sql, guint n_params,
                                       const char * const *values,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);

/**
 * dal_connection_query_texts_finish:
 * @connection: the connection the statement ran on
 * @result: the #GAsyncResult given to the callback of
 *   dal_connection_query_texts_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_query_texts_async().  A result of any other
 * call is a programming error: a critical, and %NULL.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query_texts_finish (DalConnection *connection,
                                              GAsyncResult *result,
                                              GError **error);

/**
 * dal_connection_execute:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters, as for dal_connection_query() (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement, on the server too
 * @error: return location for a #GError, or %NULL
 *
 * As dal_connection_query(), for statements whose rows do not matter.
 * Fails as dal_connection_query() does.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: the affected-row count (0 when the statement reports none),
 *   or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute (DalConnection *connection, const char *sql,
                               GVariant *params, GCancellable *cancellable,
                               GError **error);

/**
 * dal_connection_execute_async:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters, as for dal_connection_query() (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement, on the server too
 * @callback: (scope async) (nullable): called when the statement has run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_execute(), with the contract of
 * dal_connection_query_async(): @callback runs exactly once, on the
 * calling thread's thread-default main context, never from inside this
 * call.  Finish it with dal_connection_execute_finish().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_execute_async (DalConnection *connection, const char *sql,
                                   GVariant *params, GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);

/**
 * dal_connection_execute_finish:
 * @connection: the connection the statement ran on
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_execute_async().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: the affected-row count (0 when the statement reports none),
 *   or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute_finish (DalConnection *connection,
                                      GAsyncResult *result, GError **error);

/**
 * dal_connection_execute_script:
 * @connection: an open connection
 * @sql: any number of SQL statements separated by semicolons, without
 *   parameters (a migration file, a schema dump)
 * @cancellable: (nullable): cancels the script, on the server too
 * @error: return location for a #GError, or %NULL
 *
 * Runs @sql as one request (PostgreSQL's simple query protocol), blocking,
 * and stops at the first statement that fails; rows are dropped.  Outside
 * a transaction the server commits each statement that succeeded; inside
 * one (dal_connection_begin()) nothing is kept after a failure until the
 * caller rolls back.  A failure's %DAL_ERROR_FIELD_POSITION counts
 * characters (not bytes) from the start of @sql.  Needs a plugin with the
 * execute_script slot (pgsync, postgresql+psycopg2://); others fail with
 * %DAL_ERROR_UNSUPPORTED.  Also fails with %DAL_ERROR_BUSY while async
 * calls are pending on an async-only plugin's connection, and as
 * dal_connection_query() does.  There is no async form.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE when every statement succeeded; %FALSE with @error set
 *   otherwise.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_execute_script (DalConnection *connection,
                                        const char *sql,
                                        GCancellable *cancellable,
                                        GError **error);

/* -- transactions --
 * begin/commit/rollback are statements like any other: started in order
 * after what was started before them, on this connection. */

/**
 * dal_connection_begin:
 * @connection: an open connection
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs BEGIN, a statement like any other: started in order after what
 * was started before it on this connection.  Fails as
 * dal_connection_query() does (a BEGIN inside a transaction only draws a
 * server warning, and succeeds).
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE once the transaction is open; %FALSE with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_begin (DalConnection *connection,
                               GCancellable *cancellable, GError **error);

/**
 * dal_connection_commit:
 * @connection: an open connection
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs COMMIT.  When a statement in the transaction had failed, the
 * server rolls back instead; that is reported as a failure,
 * %DAL_ERROR_QUERY_FAILED with SQLSTATE 25P02, and the transaction is
 * over either way.  Also fails as dal_connection_query() does.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE when the transaction was committed; %FALSE with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_commit (DalConnection *connection,
                                GCancellable *cancellable, GError **error);

/**
 * dal_connection_rollback:
 * @connection: an open connection
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs ROLLBACK.  Outside a transaction it only draws a server warning,
 * and succeeds.  Fails as dal_connection_query() does.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_rollback (DalConnection *connection,
                                  GCancellable *cancellable, GError **error);

/**
 * dal_connection_begin_async:
 * @connection: an open connection
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called when BEGIN has run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_begin(), with the contract of
 * dal_connection_query_async(): @callback runs exactly once, on the
 * calling thread's thread-default main context, never from inside this
 * call.  Finish it with dal_connection_begin_finish().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_begin_async (DalConnection *connection,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);

/**
 * dal_connection_commit_async:
 * @connection: an open connection
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called when COMMIT has run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_commit(), with the contract of
 * dal_connection_query_async(): @callback runs exactly once, on the
 * calling thread's thread-default main context, never from inside this
 * call.  Finish it with dal_connection_commit_finish().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_commit_async (DalConnection *connection,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

/**
 * dal_connection_rollback_async:
 * @connection: an open connection
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called when ROLLBACK has run
 * @user_data: data for @callback
 *
 * The async form of dal_connection_rollback(), with the contract of
 * dal_connection_query_async(): @callback runs exactly once, on the
 * calling thread's thread-default main context, never from inside this
 * call.  Finish it with dal_connection_rollback_finish().
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_rollback_async (DalConnection *connection,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);

/**
 * dal_connection_begin_finish:
 * @connection: the connection
 * @result: the #GAsyncResult given to the callback of
 *   dal_connection_begin_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_begin_async().  A result of any other call is
 * a programming error: a critical, and %FALSE.
 *
 * Returns: %TRUE when the transaction began; %FALSE with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_begin_finish (DalConnection *connection,
                                      GAsyncResult *result, GError **error);

/**
 * dal_connection_commit_finish:
 * @connection: the connection
 * @result: the #GAsyncResult given to the callback of
 *   dal_connection_commit_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_commit_async().  A COMMIT that the server
 * answered with a rollback (a statement in the transaction had failed)
 * fails with %DAL_ERROR_QUERY_FAILED, SQLSTATE 25P02.  A result of any
 * other call is a programming error: a critical, and %FALSE.
 *
 * Returns: %TRUE when the transaction was committed; %FALSE with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_commit_finish (DalConnection *connection,
                                       GAsyncResult *result, GError **error);

/**
 * dal_connection_rollback_finish:
 * @connection: the connection
 * @result: the #GAsyncResult given to the callback of
 *   dal_connection_rollback_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_rollback_async().  A result of any other call
 * is a programming error: a critical, and %FALSE.
 *
 * Returns: %TRUE when the transaction was rolled back; %FALSE with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_rollback_finish (DalConnection *connection,
                                         GAsyncResult *result, GError **error);

/* -- closing -- */

/**
 * dal_connection_close:
 * @connection: a connection
 * @cancellable: (nullable): ignored: closing always completes
 * @error: return location for a #GError, or %NULL
 *
 * Closes the connection.  Calls still pending complete with
 * %DAL_ERROR_CLOSED (%G_IO_ERROR_CANCELLED if their #GCancellable fired),
 * and later calls fail with it.  Their callbacks run after this returns,
 * each exactly once, on its own main context, also when this is called
 * from inside a callback.  On pgsync a statement
 * the worker thread is running finishes first (this call waits for it);
 * on pgasync statements in flight fail at once and the socket is closed
 * (the server is not asked to cancel them, so they may have run).
 * Closing twice is harmless.  Dropping the last reference closes too.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE (closing cannot fail).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_close (DalConnection *connection,
                               GCancellable *cancellable, GError **error);

/**
 * dal_connection_close_async:
 * @connection: a connection
 * @cancellable: (nullable): a #GCancellable, or %NULL: once it fired,
 *   dal_connection_close_finish() reports %G_IO_ERROR_CANCELLED, but the
 *   connection is closed all the same
 * @callback: (scope async) (nullable): called once the connection is
 *   closed
 * @user_data: data for @callback
 *
 * Closes the connection as dal_connection_close() does, without waiting
 * for a statement a pgsync worker thread is running: @callback runs once
 * it finished.  Calls still pending complete with %DAL_ERROR_CLOSED, as
 * for dal_connection_close(): their callbacks run after this returns.
 * @callback runs exactly once, on the calling thread's thread-default
 * main context, never from inside this call; call
 * dal_connection_close_finish() there.  The connection is closed even
 * when @cancellable fires first (the close is never undone).
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_close_async (DalConnection *connection,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);

/**
 * dal_connection_close_finish:
 * @connection: the connection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_close_async().  The connection is closed
 * whatever this returns.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE, or %FALSE with %G_IO_ERROR_CANCELLED when the
 *   #GCancellable given to dal_connection_close_async() fired.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_close_finish (DalConnection *connection,
                                      GAsyncResult *result, GError **error);

/**
 * dal_connection_is_closed:
 * @connection: a connection
 *
 * Whether the connection can serve no statement any more: %TRUE once it
 * was closed, or once it is known to be lost (the server went away, or
 * the plugin gave up on it after a cancel request that was never
 * answered).  A lost connection is noticed either because the plugin
 * says so (plugins of ABI 1.1 and later that fill the is_lost slot: at
 * once, even before any call failed), or because a call on it completed
 * with %DAL_ERROR_CONNECTION_LOST (for any plugin; blocking calls at once,
 * _async calls once they are finished).
 *
 * What a caller may rely on: it never blocks and may be called from any
 * thread, also while a call runs on another; once it returned %TRUE it
 * stays %TRUE; when it returns %TRUE every further call fails (with
 * %DAL_ERROR_CLOSED or %DAL_ERROR_CONNECTION_LOST), so a pool drops such a
 * connection (dal_connection_close() is still fine to call).  %FALSE is
 * no promise that the next statement succeeds: a connection can be lost
 * at any moment without anyone having noticed yet.
 *
 * Returns: %TRUE when the connection is closed or lost.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_is_closed (DalConnection *connection);

/* -- what it is -- */

/**
 * dal_connection_get_url:
 * @connection: a connection
 *
 * Gets the URL the connection was opened with.  Thread-safe: the URL
 * never changes.
 *
 * Returns: (transfer none): the URL it was opened with (the caller's,
 *   before the TLS policy applied its defaults), valid as long as
 *   @connection is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_connection_get_url (DalConnection *connection);

/**
 * dal_connection_get_plugin_name:
 * @connection: a connection
 *
 * Gets the name of the plugin serving the connection.  Thread-safe: it
 * never changes.
 *
 * Returns: (transfer none): the name of the plugin serving it ("pgsync",
 *   "pgasync"), valid as long as @connection is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_connection_get_plugin_name (DalConnection *connection);

/**
 * dal_connection_get_info:
 * @connection: an open connection
 * @key: what to ask
 *
 * Facts the plugin knows about the open connection.  Keys the PostgreSQL
 * plugins answer: "server_version" ("150018"), "backend_pid", "host",
 * "hostaddr", "port", "tls" ("on"/"off"), "tls_protocol" ("TLSv1.3"),
 * "tls_cipher", "tls_verified", "tls_cert_not_after",
 * "tls_cert_days_left", "transaction_status" ("idle", "active",
 * "intrans", "inerror", "unknown"), "libpq_version" ("150018"), the
 * connect timings "connect_ms_dns", "connect_ms_tcp", "connect_ms_tls",
 * "connect_ms_auth", "connect_ms_total"; pgasync also
 * "statement_cache_size" (0 when off), "in_flight" (statements sent
 * and not yet answered) and "tls_read_ahead" ("on" over TLS: OpenSSL
 * reads all the socket holds at once; "off" without TLS).  On pgsync it
 * waits for a statement a worker thread is running.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: (nullable) (transfer full): the value, to free with g_free(),
 *   or %NULL when the plugin does not know @key (or has no value for it,
 *   as for the TLS keys without TLS) or the connection is closed.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char *dal_connection_get_info (DalConnection *connection, const char *key);

G_END_DECLS

#endif /* DAL_CONNECTION_H */
