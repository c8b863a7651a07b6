/* dal-notify.h: LISTEN/NOTIFY on a DalConnection.
 *
 * A connection delivers the notifications its session receives as the
 * GObject signal "notification":
 *
 *   void handler (DalConnection *connection, const char *channel,
 *                 const char *payload, gint pid, gpointer user_data);
 *
 * @channel is the channel's name as the server spells it, @payload the
 * payload ("" when the sender gave none), @pid the process ID of the
 * server session that sent it (its pg_backend_pid()).
 *
 * Where and when it is emitted:
 *   - on the connection's main context: the thread-default main context
 *     of the thread that opened it (for dal_connection_open_async(), the
 *     one its callback runs on); a pool that hands the connection to a
 *     borrower on another context moves it there;
 *   - in the order the server sent the notifications, none dropped while
 *     the connection is open;
 *   - from a source of its own on that context, never from inside a
 *     libdal call: a handler may call anything on the connection;
 *   - no polling: an idle connection that receives nothing costs no
 *     wake-up.  What a plugin can deliver and when is its business:
 *     pgasync (postgresql+asyncpg) reads them as they arrive, idle or
 *     not; pgsync (postgresql+psycopg2) only hands over the ones that
 *     arrived by the time one of its statements completes (see
 *     docs/api.md, "LISTEN/NOTIFY").
 *
 * Through a transaction pooler (dal_url_is_transaction_pooler()) LISTEN
 * cannot work and is refused with DAL_ERROR_UNSUPPORTED, from
 * dal_connection_listen() and from a LISTEN statement run with
 * dal_connection_query() alike.
 *
 * A pooled connection: when the borrower gives it back, every handler of
 * "notification" is disconnected and notifications not yet emitted are
 * dropped; the pool's reset (UNLISTEN *) ends the borrower's LISTENs.
 * The next borrower never sees the previous one's notifications.
 *
 * Notices (RAISE NOTICE, warnings: the server's messages that are no
 * error) come as the signal "notice", from the same queue, so in order
 * with the notifications and under the same rules (see
 * DalConnection::notice and docs/api.md, "Notices"):
 *
 *   void handler (DalConnection *connection, const char *severity,
 *                 const char *sqlstate, const char *message,
 *                 const char *detail, const char *hint, gpointer user_data);
 */
#ifndef DAL_NOTIFY_H
#define DAL_NOTIFY_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <dal/dal-connection.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/**
 * dal_connection_listen:
 * @connection: an open connection
 * @channel: the channel's name: any UTF-8 text of 1 to 63 bytes; it is
 *   sent as a quoted identifier, so case, spaces and quotes are kept as
 *   written (the NOTIFY side must spell it the same way, e.g.
 *   pg_notify('My "Channel"', ...))
 * @cancellable: (nullable): a GCancellable
 * @error: return location for a GError
 *
 * Runs LISTEN for @channel; from then on the "notification" signal
 * carries what is sent to it.  Listening twice is harmless.  A plain
 * "LISTEN name" through dal_connection_query() does the same.
 *
 * Fails with DAL_ERROR_UNSUPPORTED through a transaction pooler and on a
 * plugin that cannot deliver notifications (the message names it), with
 * DAL_ERROR_INVALID_PARAMETER for an empty or too long name, or with the
 * statement's own error.  On failure nothing changed.
 *
 * Returns: %TRUE once the server listens.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_listen (DalConnection *connection, const char *channel,
                                GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_listen_async (DalConnection *connection,
                                  const char *channel,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
/* Finishes dal_connection_listen_async() and dal_connection_unlisten_async(). */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_listen_finish (DalConnection *connection,
                                       GAsyncResult *result, GError **error);

/**
 * dal_connection_unlisten:
 * @connection: an open connection
 * @channel: (nullable): the channel, as given to dal_connection_listen();
 *   %NULL for every channel (UNLISTEN *)
 * @cancellable: (nullable): a GCancellable
 * @error: return location for a GError
 *
 * Runs UNLISTEN.  Notifications the server sent before it are still
 * emitted; none after.  Unlistening a channel one does not listen to is
 * harmless.  Finish the async form with dal_connection_listen_finish().
 *
 * Returns: %TRUE on success.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_connection_unlisten (DalConnection *connection, const char *channel,
                                  GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_connection_unlisten_async (DalConnection *connection,
                                    const char *channel,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);

G_END_DECLS

#endif /* DAL_NOTIFY_H */
