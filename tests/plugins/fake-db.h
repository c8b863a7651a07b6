/* fake-db.h: a tiny in-process "database" for the core's unit tests,
 * compiled into the fake plugins (fakesync, fakeasync, ...).
 *
 * The SQL language (one statement per call; words separated by spaces):
 *   echo             one row per parameter: type (the DalParamType name),
 *                    value (the text or raw bytes, NULL for NULL), length
 *   rows N           N rows of typed columns (see fake-db.c); every third
 *                    row (r % 3 == 2) is all NULL
 *   sleep MS         takes MS milliseconds (honours the cancellable);
 *                    command tag "SLEEP"
 *   fail [SQLSTATE]  DAL_ERROR_QUERY_FAILED with SQLSTATE (default 42P01),
 *                    DETAIL "detail of <sql>", server HINT "server hint of
 *                    <sql>"; inside a transaction it marks it failed
 *   leak             an error whose message, detail and hint contain the
 *                    URL's password (the core must redact it)
 *   BEGIN/COMMIT/ROLLBACK  those tags; COMMIT of a failed transaction
 *                    answers "ROLLBACK", as PostgreSQL does
 *   count            one row, column "count": statements run so far on this
 *                    connection, this one included
 *   state            one row: count (int8), max_concurrent (int4: the most
 *                    statements ever in flight at once on this connection),
 *                    thread (text: "%p" of g_thread_self() where it ran)
 *   thread           one row, column "thread" as above
 *   bytea TEXT       one row, column "bin" of type bytea whose text is TEXT
 *   closed [USER]    one row, column "closed": connections (of USER, if
 *                    given) this module has closed so far
 *   affected N       no rows, command tag "UPDATE N", affected rows N
 *   lose             the connection is lost: DAL_ERROR_CONNECTION_LOST,
 *                    now and for every later statement
 *   lose quietly     the same, except that this statement still succeeds
 *                    (command tag "LOSE"): only the plugin's is_lost slot
 *                    tells
 * Anything else is a DAL_ERROR_QUERY_FAILED with SQLSTATE 42601.
 *
 * Connecting: database "leak" fails (DAL_ERROR_AUTH_FAILED) with the
 * password in the message; database "slow" takes 2 s (honours the
 * cancellable); database "refuse" fails with DAL_ERROR_CONNECTION_REFUSED.
 */
#ifndef FAKE_DB_H
#define FAKE_DB_H

#include <dal/dal-plugin.h>

G_BEGIN_DECLS

typedef struct _FakeConn FakeConn;

/* How long connecting to @url takes, in milliseconds. */
guint fake_connect_delay_ms (DalUrl *url);
/* Connects (instantly): NULL and @error for the failing databases. */
FakeConn *fake_conn_open (DalUrl *url, GError **error);
void fake_conn_close (FakeConn *conn);
/* Whether "lose" ran on @conn (any thread, never blocks). */
gboolean fake_conn_is_lost (FakeConn *conn);
char *fake_conn_get_info (FakeConn *conn, const char *key);

/* Starts @sql: returns its result, or NULL and @error.  For "sleep MS"
 * *sleep_ms is set to MS (else 0): the caller waits that long before it
 * delivers the result.  Every started statement is ended with
 * fake_conn_end() once it completes (this tracks concurrency). */
DalResult *fake_conn_run (FakeConn *conn, const char *sql,
                          const DalParams *params, guint *sleep_ms,
                          GError **error);
void fake_conn_end (FakeConn *conn);

/* Waits @ms milliseconds in small steps; FALSE (and G_IO_ERROR_CANCELLED)
 * when @cancellable fires first. */
gboolean fake_sleep (guint ms, GCancellable *cancellable, GError **error);

G_END_DECLS

#endif /* FAKE_DB_H */
