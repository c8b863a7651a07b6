/* dal-notify.h: LISTEN/NOTIFY on a DalConnection (see the doc comment of
 * the DalConnection::notification signal below). */
#ifndef DAL_NOTIFY_H
#define DAL_NOTIFY_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <dal/dal-connection.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/**
 * DalConnection::notification:
 * @connection: the connection
 * @channel: the channel's name as the server spells it
 * @payload: the payload ("" when the sender gave none)
 * @pid: the process ID of the server session that sent it (its
 *   pg_backend_pid(); the connection's own when it notified itself)
 *
 * A notification (LISTEN/NOTIFY) the connection's session received, on a
 * channel it listens to (dal_connection_listen(), or a LISTEN statement).
 *
 * Where and when it is emitted:
 *
 * - on the connection's main context: the thread-default main context
 *   of the thread that opened it (for dal_connection_open_async(), the
 *   one its callback runs on); a pool that hands the connection to a
 *   borrower on another context moves it there;
 * - in the order the server sent the notifications, none dropped while
 *   the connection is open;
 * - from a source of its own on that context, never from inside a
 *   libdal call: a handler may call anything on the connection (close
 *   it too);
 * - no polling: an idle connection that receives nothing costs no
 *   wake-up.  What a plugin can deliver and when is its business:
 *   pgasync (postgresql+asyncpg) reads them as they arrive, idle or
 *   not; pgsync (postgresql+psycopg2) only hands over the ones that
 *   arrived by the time one of its statements completes (run a
 *   statement to pick up what came meanwhile).
 *
 * Through a transaction pooler (dal_url_is_transaction_pooler()) LISTEN
 * cannot work and is refused with %DAL_ERROR_UNSUPPORTED, from
 * dal_connection_listen() and from a LISTEN statement run with
 * dal_connection_query() alike.
 *
 * A pooled connection: when the borrower gives it back, every handler of
 * "notification" is disconnected and notifications not yet emitted are
 * dropped; the pool's reset (UNLISTEN *) ends the borrower's LISTENs.
 * The next borrower never sees the previous one's notifications.
 *
 * Since: 0.1
 */

/**
 * dal_connection_listen:
 * @connection: an open connection
 * @channel: the channel's name: any UTF-8 text of 1 to 63 bytes; it is
 *   sent as a quoted identifier, so case, spaces and quotes are kept as
 *   written (the NOTIFY side must spell it the same way, e.g.
 *   pg_notify('My "Channel"', ...))
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs LISTEN for @channel, blocking; from then on the
 * #DalConnection::notification signal carries what is sent to it.
 * Listening twice is harmless.  A plain "LISTEN name" through
 * dal_connection_query() does the same (with the server's folding of
 * unquoted names to lower case).
 *
 * Fails with %DAL_ERROR_UNSUPPORTED through a transaction pooler and on a
 * plugin that cannot deliver notifications (the message names it), with
 * %DAL_ERROR_INVALID_PARAMETER for an empty, too long or invalid UTF-8
 * name, or with the statement's own error (as for
 * dal_connection_query()).  On failure nothing changed.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE once the server listens; %FALSE with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_listen (DalConnection *connection, const char *channel,
                                GCancellable *cancellable, GError **error);

/**
 * dal_connection_listen_async:
 * @connection: an open connection
 * @channel: the channel's name, as for dal_connection_listen()
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called once the server listens,
 *   or the call failed
 * @user_data: data for @callback
 *
 * The async form of dal_connection_listen(), in order with the
 * connection's other async calls.  @callback runs exactly once, on the
 * thread-default main context of the calling thread, never from inside
 * this call (a refused channel or plugin too); call
 * dal_connection_listen_finish() there.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_listen_async (DalConnection *connection,
                                  const char *channel,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

/**
 * dal_connection_listen_finish:
 * @connection: the connection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_connection_listen_async() and
 * dal_connection_unlisten_async(), with the errors of their blocking
 * forms.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_listen_finish (DalConnection *connection,
                                       GAsyncResult *result, GError **error);

/**
 * dal_connection_unlisten:
 * @connection: an open connection
 * @channel: (nullable): the channel, as given to dal_connection_listen();
 *   %NULL for every channel (UNLISTEN *)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Runs UNLISTEN, blocking.  Notifications the server sent before it are
 * still emitted; none after.  Unlistening a channel one does not listen
 * to is harmless.  Fails as dal_connection_listen() does (but is not
 * refused through a transaction pooler).
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_unlisten (DalConnection *connection, const char *channel,
                                  GCancellable *cancellable, GError **error);

/**
 * dal_connection_unlisten_async:
 * @connection: an open connection
 * @channel: (nullable): the channel, as given to dal_connection_listen();
 *   %NULL for every channel (UNLISTEN *)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async) (nullable): called once the server stopped
 *   listening, or the call failed
 * @user_data: data for @callback
 *
 * The async form of dal_connection_unlisten(), in order with the
 * connection's other async calls.  @callback runs exactly once, on the
 * thread-default main context of the calling thread, never from inside
 * this call; call dal_connection_listen_finish() there.
 *
 * Use @connection from one thread at a time (see #DalConnection).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_connection_unlisten_async (DalConnection *connection,
                                    const char *channel,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);

G_END_DECLS

#endif /* DAL_NOTIFY_H */
