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
 * dal_connection_copy_from_rows(), from inside that call.
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
 * dal_connection_copy_to_rows(), from inside that call.
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
 * What holds for all four: they are blocking (there is no async form)
 * and cancellable (@cancellable, and the URL's command_timeout, which
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

G_END_DECLS

#endif /* DAL_COPY_H */
