/* dal-copy.h: bulk data in and out of a table with COPY (see the doc
 * comment of dal_connection_copy_from_stream() below). */
#ifndef DAL_COPY_H
#define DAL_COPY_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <gio/gio.h>
#include <dal/dal-version.h>
#include <dal/dal-connection.h>

G_BEGIN_DECLS

/**
 * DalCopyRowsFunc:
 * @user_data: (closure): what the caller gave dal_connection_copy_from_rows()
 * @n_values: (out): the number of values in the row
 * @values: (out) (array length=n_values) (transfer none): the row's values
 *   as text, %NULL for SQL NULL; they stay the function's and must stay
 *   valid until its next call
 * @error: return location for the caller's own error
 *
 * Supplies the next row of a COPY FROM (dal_connection_copy_from_rows()).
 * Values are plain text: libdal escapes tabs, newlines, carriage returns
 * and backslashes itself.  Called on the thread that called
 * dal_connection_copy_from_rows(), from inside that call; for
 * dal_connection_copy_from_rows_async(), from the caller's thread-default
 * main context while the COPY runs.
 *
 * Returns: %TRUE with a row; %FALSE at the end of the data, or with
 *   @error set to stop the COPY (nothing is inserted).
 *
 * Since: 0.1
 */
typedef gboolean (*DalCopyRowsFunc) (gpointer user_data, guint *n_values,
                                     const char * const **values,
                                     GError **error);

/**
 * DalCopyRowFunc:
 * @user_data: (closure): what the caller gave dal_connection_copy_to_rows()
 * @n_values: the number of values in the row
 * @values: (array length=n_values): the row's values, decoded text, %NULL
 *   for SQL NULL; valid during the call only
 * @error: return location for the caller's own error
 *
 * Receives one row of a COPY TO (dal_connection_copy_to_rows()), as the
 * server sent it.  Called on the thread that called
 * dal_connection_copy_to_rows(), from inside that call; for
 * dal_connection_copy_to_rows_async(), from the caller's thread-default
 * main context while the COPY runs.
 *
 * Returns: %TRUE to go on; %FALSE with @error set to stop the COPY (a
 *   %FALSE without an error stops it with a %DAL_ERROR_FAILED error
 *   saying so).
 *
 * Since: 0.1
 */
typedef gboolean (*DalCopyRowFunc) (gpointer user_data, guint n_values,
                                    const char * const *values,
                                    GError **error);

/**
 * dal_connection_copy_from_stream:
 * @self: a connection
 * @sql: a COPY ... FROM STDIN statement
 * @input: the data, in the format @sql names, read to its end (any
 *   #GInputStream; not closed)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs @sql and sends it what @input holds, blocking.  When reading
 * @input fails, the COPY is aborted (nothing inserted) and that error is
 * returned.
 *
 * COPY moves rows between the client and a table far faster than INSERT
 * or SELECT, as one statement: `COPY items (id, name) FROM STDIN` (the
 * client sends the data), `COPY items TO STDOUT` or
 * `COPY (SELECT ...) TO STDOUT` (the server sends it).  The data travels
 * in the format the statement names: text (the default: one row per
 * line, values separated by tabs, `\N` for NULL), csv or binary.  The
 * _stream forms (this one and dal_connection_copy_to_stream()) pass the
 * bytes through as they are, in any format; the _rows forms
 * (dal_connection_copy_from_rows(), dal_connection_copy_to_rows()) encode
 * and decode text format for the caller, and refuse a statement that
 * names another format.
 *
 * What holds for all four (and their async forms, see
 * dal_connection_copy_from_stream_async()): they are cancellable
 * (@cancellable, and the URL's command_timeout, which
 * counts for the whole COPY): the server is asked to cancel, the COPY is
 * rolled back, and the connection stays usable.  Whatever the size of
 * the data, at most a bounded amount of it (about 64 KiB plus one row) is
 * held in memory at any time.  A COPY FROM that fails (bad data in row
 * 5000, the caller's source failing, a cancellation) inserts nothing.
 * Each call is one statement: inside a transaction block it is part of
 * it, otherwise it is a transaction of its own.  A statement that is not
 * a COPY in the call's direction is refused before it reaches the server
 * (%DAL_ERROR_UNSUPPORTED).  Plugins serve COPY through their copy_in /
 * copy_out slots (dal-plugin.h); a plugin without them fails with
 * %DAL_ERROR_UNSUPPORTED.  On pgasync the connection must be idle: COPY
 * cannot run while pipelined statements are in flight (%DAL_ERROR_BUSY).
 * The server's refusal is %DAL_ERROR_QUERY_FAILED with its SQLSTATE, as
 * for dal_connection_query().
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_from_stream (DalConnection *self, const char *sql,
                                        GInputStream *input,
                                        GCancellable *cancellable,
                                        GError **error);

/**
 * dal_connection_copy_from_rows:
 * @self: a connection
 * @sql: a COPY ... FROM STDIN statement in text format (the default; no
 *   FORMAT csv / binary)
 * @next_row: (scope call) (closure user_data): called for each row until
 *   it returns %FALSE
 * @user_data: for @next_row
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs @sql and sends it the rows @next_row supplies, encoded in COPY's
 * text format, blocking.  An error of @next_row aborts the COPY (nothing
 * inserted) and is returned as it is.  A statement naming csv or binary
 * is refused with %DAL_ERROR_UNSUPPORTED before it reaches the server.
 * See dal_connection_copy_from_stream() for what holds for every COPY.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_from_rows (DalConnection *self, const char *sql,
                                      DalCopyRowsFunc next_row,
                                      gpointer user_data,
                                      GCancellable *cancellable,
                                      GError **error);

/**
 * dal_connection_copy_to_stream:
 * @self: a connection
 * @sql: a COPY ... TO STDOUT statement
 * @output: where the data goes, in the format @sql names (any
 *   #GOutputStream; flushed, not closed)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs @sql and writes what the server sends to @output, blocking.  When
 * writing fails, the COPY is cancelled on the server and that error is
 * returned; what was written by then stays written.  See
 * dal_connection_copy_from_stream() for what holds for every COPY.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_to_stream (DalConnection *self, const char *sql,
                                      GOutputStream *output,
                                      GCancellable *cancellable,
                                      GError **error);

/**
 * dal_connection_copy_to_rows:
 * @self: a connection
 * @sql: a COPY ... TO STDOUT statement in text format (the default)
 * @row_func: (scope call) (closure user_data): called once per row, in
 *   the server's order
 * @user_data: for @row_func
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs @sql and hands every row to @row_func, decoded, blocking.  When
 * @row_func returns %FALSE, the COPY is cancelled on the server and its
 * error is returned; the rows handed over by then stay handed over.  A
 * statement naming csv or binary is refused with %DAL_ERROR_UNSUPPORTED
 * before it reaches the server.  See dal_connection_copy_from_stream()
 * for what holds for every COPY.
 *
 * Use @self from one thread at a time (see #DalConnection).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_to_rows (DalConnection *self, const char *sql,
                                    DalCopyRowFunc row_func,
                                    gpointer user_data,
                                    GCancellable *cancellable,
                                    GError **error);

/**
 * dal_connection_copy_from_stream_async:
 * @self: a connection
 * @sql: a COPY ... FROM STDIN statement
 * @input: the data, in the format @sql names, read to its end (any
 *   #GInputStream; not closed)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (closure user_data): called when the COPY
 *   has ended
 * @user_data: for @callback
 *
 * dal_connection_copy_from_stream() without blocking: the same COPY, the
 * same errors, the same bounded memory.  @input is read with blocking
 * reads on a libdal worker thread until the COPY has ended: do not touch
 * it meanwhile (any #GInputStream will do, as for
 * g_output_stream_splice_async() with a blocking stream).
 *
 * What holds for the four _async forms of COPY:
 *
 * - @callback runs exactly once, on the thread-default main context of
 *   the thread that called the _async function, never from inside it;
 *   get the row count with the matching _finish function;
 * - the rows functions of the _rows forms run on that same main context,
 *   in order, while the COPY runs: the context must be iterated for the
 *   COPY to advance.  They are handed over in chunks (about 64 KiB of
 *   text), and each direction holds at most a few such chunks, however
 *   large the data: a slow rows function holds the server back, a slow
 *   server the rows function;
 * - the COPY itself runs on a libdal worker thread, with the plugin's
 *   blocking COPY engine; @cancellable and the URL's command_timeout
 *   cancel it on the server, the connection stays usable, and the errors
 *   are those of the blocking forms (%G_IO_ERROR_CANCELLED,
 *   %DAL_ERROR_QUERY_TIMEOUT, the server's error with its SQLSTATE, the
 *   error of your source, sink or rows function);
 * - the connection is the COPY's until @callback runs: any other call on
 *   it meanwhile (blocking or async, another COPY included) fails with
 *   %DAL_ERROR_BUSY, and dal_connection_get_info() returns %NULL.  Calls
 *   started before it complete first (with the worker thread of
 *   postgresql+psycopg2:// the COPY waits for them; with
 *   postgresql+asyncpg:// the connection must be idle, or the COPY fails
 *   with %DAL_ERROR_BUSY).  Closing the connection cancels the COPY,
 *   which then fails with %DAL_ERROR_CLOSED;
 * - on a connection of a plugin with async functions
 *   (postgresql+asyncpg://), call it from the thread whose main context
 *   the connection's other async calls run on: the connection moves to
 *   the worker for the COPY and back to that context after it.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_copy_from_stream_async (DalConnection *self, const char *sql,
                                            GInputStream *input,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);

/**
 * dal_connection_copy_from_stream_finish:
 * @self: a connection
 * @result: the #GAsyncResult dal_connection_copy_from_stream_async() gave
 *   its callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_copy_from_stream_async().  A result of another
 * call is a programming error (a critical, -1).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_from_stream_finish (DalConnection *self,
                                               GAsyncResult *result,
                                               GError **error);

/**
 * dal_connection_copy_from_rows_async:
 * @self: a connection
 * @sql: a COPY ... FROM STDIN statement in text format (the default)
 * @next_row: (scope notified) (closure row_data) (destroy row_data_free):
 *   called for each row until it returns %FALSE, on the caller's main
 *   context
 * @row_data: for @next_row
 * @row_data_free: (nullable): frees @row_data once @next_row will not be
 *   called any more (on the caller's main context, before @callback;
 *   at once when the call is refused before it starts), or %NULL
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (closure user_data): called when the COPY
 *   has ended
 * @user_data: for @callback
 *
 * dal_connection_copy_from_rows() without blocking: @next_row runs on
 * the thread-default main context of the calling thread, which must be
 * iterated; its rows are encoded there, a chunk (about 64 KiB) at a time,
 * and sent by a libdal worker thread while the next chunk is encoded.
 * An error of @next_row aborts the COPY (nothing inserted) and is the
 * call's error, as it is.  See dal_connection_copy_from_stream_async()
 * for what holds for every async COPY.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_copy_from_rows_async (DalConnection *self, const char *sql,
                                          DalCopyRowsFunc next_row,
                                          gpointer row_data,
                                          GDestroyNotify row_data_free,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);

/**
 * dal_connection_copy_from_rows_finish:
 * @self: a connection
 * @result: the #GAsyncResult dal_connection_copy_from_rows_async() gave
 *   its callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_copy_from_rows_async().  A result of another
 * call is a programming error (a critical, -1).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_from_rows_finish (DalConnection *self,
                                             GAsyncResult *result,
                                             GError **error);

/**
 * dal_connection_copy_to_stream_async:
 * @self: a connection
 * @sql: a COPY ... TO STDOUT statement
 * @output: where the data goes, in the format @sql names (any
 *   #GOutputStream; flushed, not closed)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (closure user_data): called when the COPY
 *   has ended
 * @user_data: for @callback
 *
 * dal_connection_copy_to_stream() without blocking.  @output is written
 * (and flushed at the end) with blocking writes on a libdal worker
 * thread until the COPY has ended: do not touch it meanwhile.  See
 * dal_connection_copy_from_stream_async() for what holds for every
 * async COPY.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_copy_to_stream_async (DalConnection *self, const char *sql,
                                          GOutputStream *output,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);

/**
 * dal_connection_copy_to_stream_finish:
 * @self: a connection
 * @result: the #GAsyncResult dal_connection_copy_to_stream_async() gave
 *   its callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_copy_to_stream_async().  A result of another
 * call is a programming error (a critical, -1).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_to_stream_finish (DalConnection *self,
                                             GAsyncResult *result,
                                             GError **error);

/**
 * dal_connection_copy_to_rows_async:
 * @self: a connection
 * @sql: a COPY ... TO STDOUT statement in text format (the default)
 * @row_func: (scope notified) (closure row_data) (destroy row_data_free):
 *   called once per row, in the server's order, on the caller's main
 *   context
 * @row_data: for @row_func
 * @row_data_free: (nullable): frees @row_data once @row_func will not be
 *   called any more (on the caller's main context, before @callback;
 *   at once when the call is refused before it starts), or %NULL
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (closure user_data): called when the COPY
 *   has ended
 * @user_data: for @callback
 *
 * dal_connection_copy_to_rows() without blocking: a libdal worker thread
 * receives the rows and hands them, in chunks (at most about 64 KiB;
 * sooner when the caller's context is idle), to the thread-default main
 * context of the calling thread, which must be iterated; there they are
 * decoded and @row_func is called for each.  Every row the server sent
 * has been handed to @row_func before @callback runs with a count.  When
 * @row_func returns %FALSE, the COPY is cancelled on the server and its
 * error is the call's.  See dal_connection_copy_from_stream_async() for
 * what holds for every async COPY.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_copy_to_rows_async (DalConnection *self, const char *sql,
                                        DalCopyRowFunc row_func,
                                        gpointer row_data,
                                        GDestroyNotify row_data_free,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);

/**
 * dal_connection_copy_to_rows_finish:
 * @self: a connection
 * @result: the #GAsyncResult dal_connection_copy_to_rows_async() gave
 *   its callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_copy_to_rows_async().  A result of another
 * call is a programming error (a critical, -1).
 *
 * Returns: the number of rows copied, or -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_connection_copy_to_rows_finish (DalConnection *self,
                                           GAsyncResult *result,
                                           GError **error);

G_END_DECLS

#endif /* DAL_COPY_H */
