/* dal-connection.h: one connection to a database, through some plugin.
 *
 * Every operation has a blocking form and a GIO-style async pair
 * (_async with a GCancellable and a callback, _finish with a GError).
 * The same code runs on every plugin: a plugin that only blocks serves
 * the async calls from a worker thread (one operation at a time, in the
 * order they were started); a non-blocking plugin serves the blocking
 * calls too.
 *
 * Async contract:
 *   - the callback runs on the thread-default GMainContext of the thread
 *     that called _async, never from inside the _async call itself;
 *   - every call completes exactly once: a result, a DAL_ERROR, or
 *     G_IO_ERROR_CANCELLED when its GCancellable fired first (the server
 *     is asked to cancel the statement too);
 *   - closing a connection completes every call still pending on it.
 *
 * Query parameters always travel apart from the SQL text: "$1", "$2" in
 * the SQL, and a GVariant tuple of values ("(is)", 42, "x").  Supported
 * GVariant types: b, y, n, q, i, u, x, t, d, s, o, g, ay (bytes), v
 * (unwrapped), and maybe types (m…) whose Nothing is SQL NULL.  A tuple
 * is needed for several parameters; a single non-tuple value is one
 * parameter.  A floating @params reference is consumed.
 */
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

#define DAL_TYPE_CONNECTION (dal_connection_get_type ())
DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (DalConnection, dal_connection, DAL, CONNECTION, GObject)

/* -- opening -- */

/**
 * dal_connection_open:
 * @url: a database URL, e.g. "postgresql+asyncpg://app@db/app"
 * @cancellable: (nullable): a GCancellable
 * @error: return location for a GError
 *
 * Parses @url, resolves its scheme with the default registry, and
 * connects.
 *
 * Returns: (transfer full) (nullable): the open connection.
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open (const char *url, GCancellable *cancellable,
                                    GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_open_async (const char *url, GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
/**
 * dal_connection_open_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a GError
 *
 * Returns: (transfer full) (nullable): the open connection, or %NULL
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open_finish (GAsyncResult *result, GError **error);

/**
 * dal_connection_open_url:
 * @registry: (nullable): the registry to resolve with, %NULL for the default
 * @url: a parsed URL
 *
 * As dal_connection_open(), from a parsed URL and a chosen registry.
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_connection_open_url (DalRegistry *registry, DalUrl *url,
                                        GCancellable *cancellable,
                                        GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_open_url_async (DalRegistry *registry, DalUrl *url,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);

/* -- statements -- */

/**
 * dal_connection_query:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters (a floating reference is consumed)
 * @cancellable: (nullable): cancels the statement, on the server too
 * @error: return location for a GError
 *
 * Runs one statement and returns what it returned.
 *
 * Returns: (transfer full) (nullable): the result.
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query (DalConnection *connection, const char *sql,
                                 GVariant *params, GCancellable *cancellable,
                                 GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_query_async (DalConnection *connection, const char *sql,
                                 GVariant *params, GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query_finish (DalConnection *connection,
                                        GAsyncResult *result, GError **error);

/**
 * dal_connection_query_texts:
 * @connection: an open connection
 * @sql: one SQL statement, with $1, $2, … for the parameters
 * @n_params: how many parameters
 * @values: (array length=n_params) (nullable): each parameter as text,
 *   %NULL for SQL NULL; copied, so they may be freed when this returns
 *
 * As dal_connection_query(), with the parameters as text, the way libpq
 * takes them: the server infers each one's type from the statement, as it
 * does for a quoted literal.  Cheaper than building a GVariant when the
 * values are text already (or a statement runs many times a second).
 * Finish the async form with dal_connection_query_finish().
 *
 * Returns: (transfer full) (nullable): the result.
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_connection_query_texts (DalConnection *connection,
                                       const char *sql, guint n_params,
                                       const char * const *values,
                                       GCancellable *cancellable,
                                       GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_query_texts_async (DalConnection *connection,
                                       const char *sql, guint n_params,
                                       const char * const *values,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);

/**
 * dal_connection_execute:
 *
 * As dal_connection_query(), for statements whose rows do not matter.
 *
 * Returns: the affected-row count (0 when the statement reports none),
 *   or -1 on error.
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute (DalConnection *connection, const char *sql,
                               GVariant *params, GCancellable *cancellable,
                               GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_execute_async (DalConnection *connection, const char *sql,
                                   GVariant *params, GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_execute_finish (DalConnection *connection,
                                      GAsyncResult *result, GError **error);

/**
 * dal_connection_execute_script:
 * @connection: an open connection
 * @sql: any number of SQL statements separated by semicolons, without
 *   parameters (a migration file, a schema dump)
 * @cancellable: (nullable): cancels the script, on the server too
 * @error: return location for a GError
 *
 * Runs @sql as one request (PostgreSQL's simple query protocol), blocking,
 * and stops at the first statement that fails; rows are dropped.  Outside
 * a transaction the server commits each statement that succeeded; inside
 * one (dal_connection_begin()) nothing is kept after a failure until the
 * caller rolls back.  A failure's DAL_ERROR_FIELD_POSITION counts
 * characters (not bytes) from the start of @sql.  Needs a plugin with the
 * execute_script slot (pgsync, postgresql+psycopg2://); others fail with
 * DAL_ERROR_UNSUPPORTED.
 *
 * Returns: %TRUE when every statement succeeded.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_execute_script (DalConnection *connection,
                                        const char *sql,
                                        GCancellable *cancellable,
                                        GError **error);

/* -- transactions --
 * begin/commit/rollback are statements like any other: started in order
 * after what was started before them, on this connection. */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_begin (DalConnection *connection,
                               GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_commit (DalConnection *connection,
                                GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_rollback (DalConnection *connection,
                                  GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_begin_async (DalConnection *connection,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
DAL_AVAILABLE_IN_ALL
void dal_connection_commit_async (DalConnection *connection,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
DAL_AVAILABLE_IN_ALL
void dal_connection_rollback_async (DalConnection *connection,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
/* Finishes begin, commit and rollback alike. */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_transaction_finish (DalConnection *connection,
                                            GAsyncResult *result,
                                            GError **error);

/* -- closing -- */

/**
 * dal_connection_close:
 *
 * Closes the connection.  Calls still pending complete with
 * DAL_ERROR_CLOSED.  Closing twice is harmless.  Dropping the last
 * reference closes too.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_close (DalConnection *connection,
                               GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_close_async (DalConnection *connection,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_close_finish (DalConnection *connection,
                                      GAsyncResult *result, GError **error);
/**
 * dal_connection_is_closed:
 *
 * Whether the connection can serve no statement any more: %TRUE once it
 * was closed, or once it is known to be lost (the server went away, or
 * the plugin gave up on it after a cancel request that was never
 * answered).  A lost connection is noticed either because the plugin
 * says so (plugins of ABI 1.1 and later that fill the is_lost slot: at
 * once, even before any call failed), or because a call on it completed
 * with DAL_ERROR_CONNECTION_LOST (for any plugin; blocking calls at once,
 * _async calls once they are finished).
 *
 * What a caller may rely on: it never blocks and may be called from any
 * thread, also while a call runs on another; once it returned %TRUE it
 * stays %TRUE; when it returns %TRUE every further call fails (with
 * DAL_ERROR_CLOSED or DAL_ERROR_CONNECTION_LOST), so a pool drops such a
 * connection (dal_connection_close() is still fine to call).  %FALSE is
 * no promise that the next statement succeeds: a connection can be lost
 * at any moment without anyone having noticed yet.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_is_closed (DalConnection *connection);

/* -- what it is -- */

/* Returns: (transfer none): the URL it was opened with. */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_connection_get_url (DalConnection *connection);
/* Returns: (transfer none): the name of the plugin serving it ("pgsync"). */
DAL_AVAILABLE_IN_ALL
const char *dal_connection_get_plugin_name (DalConnection *connection);

/**
 * dal_connection_get_info:
 * @connection: an open connection
 * @key: what to ask
 *
 * Facts the plugin knows about the open connection.  Keys the PostgreSQL
 * plugins answer: "server_version" ("150018"), "backend_pid", "host",
 * "port", "tls" ("on"/"off"), "tls_protocol" ("TLSv1.3"), "tls_cipher",
 * "transaction_status" ("idle", "active", "intrans", "inerror",
 * "unknown"), "libpq_version" ("150018"); pgasync also
 * "statement_cache_size" (0 when off) and "in_flight" (statements sent
 * and not yet answered).
 *
 * Returns: (nullable) (transfer full): the value, or %NULL when the plugin
 *   does not know @key.
 */
DAL_AVAILABLE_IN_ALL
char *dal_connection_get_info (DalConnection *connection, const char *key);

G_END_DECLS

#endif /* DAL_CONNECTION_H */
