/* dal-pool.h: a pool of connections to one database, for every plugin.
 *
 * A DalPool keeps between min_size and max_size open DalConnections to
 * one URL and serves two kinds of callers:
 *
 *   - one-shot statements (dal_pool_query(), dal_pool_execute() and their
 *     _async pairs): one statement on some pooled connection, which goes
 *     back to the pool the moment the statement is sent.  On a plugin that
 *     pipelines (pgasync), one-shots from many callers share connections:
 *     each goes to the least loaded connection, up to `depth` statements
 *     in flight per connection, instead of waiting for one of its own.
 *     A one-shot is its own implicit transaction.  One whose text changes
 *     session state (SET, LISTEN, PREPARE, pg_advisory_lock(), …) runs on
 *     a connection of its own, which is reset afterwards;
 *   - borrowers (dal_pool_acquire() and _async): a real DalConnection for
 *     exclusive use, for transactions and session state, until it is
 *     released with dal_pool_release() or its last reference is dropped.
 *     It goes back to the pool reset: ROLLBACK when a transaction is
 *     open, and the session state it changed (settings, LISTEN, advisory
 *     locks, cursors) undone; a connection that is clean costs no round
 *     trip.  Through a transaction pooler only ROLLBACK is ever sent.
 *
 * Threads and main contexts: a DalPool is thread-safe.  Blocking calls
 * work from any thread; async calls complete on the thread-default main
 * context of the thread that started them, as everywhere in libdal.  A
 * connection that lives on a main context (pgasync) serves one context
 * at a time: one-shots from different contexts never share a connection,
 * and an idle connection moves to the context that needs it next.  No
 * thread carries another thread's traffic.
 *
 * Every async call completes exactly once; no network I/O happens while
 * the pool's lock is held, and nothing polls: an idle pool costs no
 * wake-ups except the timers it needs (idle timeout, lifetime, refill).
 *
 * Settings come from the URL's pool options (docs/url.md) or from a
 * DalPoolSettings.  asyncpg's names are accepted as synonyms: min_size,
 * max_size, max_queries, max_inactive_connection_lifetime.
 */
#ifndef DAL_POOL_H
#define DAL_POOL_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <gio/gio.h>
#include <dal/dal-version.h>
#include <dal/dal-url.h>
#include <dal/dal-result.h>
#include <dal/dal-registry.h>
#include <dal/dal-connection.h>

G_BEGIN_DECLS

/**
 * DalPoolSettings:
 * @min_size: connections opened up front and kept open (URL:
 *   pool_min_size or min_size; default 1)
 * @max_size: connections never exceeded (pool_max_size, max_size;
 *   default 10); at least 1 and at least @min_size
 * @depth: one-shot statements in flight per connection on a plugin that
 *   pipelines (pool_depth; default 8; at least 1); plugins that do not
 *   pipeline run one at a time whatever it says
 * @acquire_timeout_ms: how long an acquire or a one-shot waits for a
 *   connection before it fails with DAL_ERROR_POOL_TIMEOUT
 *   (pool_acquire_timeout, seconds; default 30 s; 0: wait without limit)
 * @max_idle_ms: an idle connection above @min_size is closed after this
 *   long (pool_max_idle, max_inactive_connection_lifetime; default 300 s;
 *   0: never)
 * @max_lifetime_ms: a connection is closed once this old, give or take a
 *   random 10 % so that connections do not all expire together, when it
 *   is next idle (pool_max_lifetime; default 3600 s; 0: never)
 * @max_queries: a connection is closed after serving this many statements
 *   (pool_max_queries, max_queries; default 50000; 0: never)
 * @check_idle_ms: a connection idle longer than this is checked with a
 *   round trip before it is handed out (pool_check_idle; default 1 s;
 *   0: always)
 * @leak_warning_ms: a borrowed connection held longer than this is
 *   logged once, with the label it was acquired with
 *   (pool_leak_warning; default 0: never)
 *
 * Durations are in milliseconds; a negative one is an error.  Fields are
 * only ever appended; start from dal_pool_settings_init().
 */
typedef struct
{
  guint min_size;
  guint max_size;
  guint depth;
  gint64 acquire_timeout_ms;
  gint64 max_idle_ms;
  gint64 max_lifetime_ms;
  guint64 max_queries;
  gint64 check_idle_ms;
  gint64 leak_warning_ms;
  /*< private >*/
  gpointer reserved[8];
} DalPoolSettings;

/* Fills @settings with the defaults. */
DAL_AVAILABLE_IN_ALL
void dal_pool_settings_init (DalPoolSettings *settings);

#define DAL_TYPE_POOL_SETTINGS (dal_pool_settings_get_type ())
/**
 * dal_pool_settings_get_type:
 *
 * Returns: the #GType of #DalPoolSettings, a boxed type copied whole
 *   (g_memdup2()) and freed with g_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_pool_settings_get_type (void) G_GNUC_CONST;

/**
 * dal_pool_settings_from_url:
 * @settings: settings to update (start from dal_pool_settings_init())
 * @url: a parsed URL
 * @error: return location for a GError
 *
 * Overwrites the fields whose options @url sets (pool_* or asyncpg's
 * synonyms; giving both spellings of one is an error), then checks the
 * whole (dal_pool_settings_check()).
 *
 * Returns: %TRUE on success; on failure @settings is left as it was.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_pool_settings_from_url (DalPoolSettings *settings,
                                     const DalUrl *url, GError **error);

/**
 * dal_pool_settings_check:
 *
 * Checks that @settings make sense together: max_size at least 1,
 * min_size not above max_size, depth at least 1, no negative duration.
 * The DAL_ERROR_URL_INVALID_VALUE error names the URL option to change.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_pool_settings_check (const DalPoolSettings *settings,
                                  GError **error);

#define DAL_TYPE_POOL (dal_pool_get_type ())
DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (DalPool, dal_pool, DAL, POOL, GObject)

/* -- opening -- */

/**
 * dal_pool_open:
 * @url: a database URL; its pool_* options are the pool's settings
 * @cancellable: (nullable): a GCancellable
 * @error: return location for a GError
 *
 * Makes a pool and opens its min_size connections (at the same time, not
 * one after the other).  Fails with the first connection's error when
 * one of them cannot be opened, so that a wrong password or a dead
 * server shows at once.
 *
 * Returns: (transfer full) (nullable): the pool.
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open (const char *url, GCancellable *cancellable,
                        GError **error);
DAL_AVAILABLE_IN_ALL
void dal_pool_open_async (const char *url, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open_finish (GAsyncResult *result, GError **error);

/**
 * dal_pool_open_url:
 * @registry: (nullable): the registry to resolve with, %NULL for the default
 * @url: a parsed URL
 * @settings: (nullable): the settings; %NULL: from @url's options
 *
 * As dal_pool_open().  With @settings, @url's pool options are not read
 * (but they are still checked).
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open_url (DalRegistry *registry, DalUrl *url,
                            const DalPoolSettings *settings,
                            GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_pool_open_url_async (DalRegistry *registry, DalUrl *url,
                              const DalPoolSettings *settings,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);

/* -- one-shot statements -- */

/**
 * dal_pool_query:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters (a floating reference is consumed)
 * @cancellable: (nullable): cancels the statement (on the server too)
 * @error: return location for a GError
 *
 * As dal_connection_query(), on some connection of the pool.  Waits for a
 * connection at most acquire_timeout (DAL_ERROR_POOL_TIMEOUT).
 *
 * A statement that failed because of another caller's cancel request
 * (PostgreSQL's cancel hits whatever runs when it arrives), and that
 * therefore ran in its own implicit transaction and was rolled back, is
 * run again once, on the same or another connection: the caller never
 * sees another caller's cancel.
 *
 * Returns: (transfer full) (nullable): the result.
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query (DalPool *pool, const char *sql, GVariant *params,
                           GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_pool_query_async (DalPool *pool, const char *sql, GVariant *params,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query_finish (DalPool *pool, GAsyncResult *result,
                                  GError **error);

/* As dal_connection_query_texts(); finish with dal_pool_query_finish(). */
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query_texts (DalPool *pool, const char *sql,
                                 guint n_params, const char * const *values,
                                 GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_pool_query_texts_async (DalPool *pool, const char *sql,
                                 guint n_params, const char * const *values,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);

/* As dal_connection_execute(): the affected-row count, or -1. */
DAL_AVAILABLE_IN_ALL
gint64 dal_pool_execute (DalPool *pool, const char *sql, GVariant *params,
                         GCancellable *cancellable, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_pool_execute_async (DalPool *pool, const char *sql, GVariant *params,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
DAL_AVAILABLE_IN_ALL
gint64 dal_pool_execute_finish (DalPool *pool, GAsyncResult *result,
                                GError **error);

/* -- borrowing -- */

/**
 * dal_pool_acquire:
 * @pool: a pool
 * @label: (nullable): where it is acquired, for the leak warning
 *   ("checkout.c:88"); copied
 * @timeout_ms: how long to wait for a connection; -1: the pool's
 *   acquire_timeout; 0: do not wait
 * @cancellable: (nullable): stops waiting
 * @error: return location for a GError
 *
 * Borrows a connection for exclusive use.  Waiters are served first come,
 * first served.  One that waited @timeout_ms gets DAL_ERROR_POOL_TIMEOUT,
 * whose message gives the pool's size, in use, idle and waiting counts.
 *
 * The connection goes back to the pool with dal_pool_release(), or when
 * its last reference other than the pool's is dropped (a pending _async
 * call holds one): then it is reset (see above).  Do not close it: a
 * closed connection is replaced.
 *
 * The connection serves blocking calls, from one thread at a time.  On a
 * plugin whose connections live on a main context (pgasync) its async
 * calls fail at once with DAL_ERROR_BUSY: borrow it with
 * dal_pool_acquire_async() to make async calls on it (that one lives on
 * the caller's thread-default main context).
 *
 * Returns: (transfer full) (nullable): the connection.
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_pool_acquire (DalPool *pool, const char *label,
                                 gint64 timeout_ms, GCancellable *cancellable,
                                 GError **error);
DAL_AVAILABLE_IN_ALL
void dal_pool_acquire_async (DalPool *pool, const char *label,
                             gint64 timeout_ms, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
DAL_AVAILABLE_IN_ALL
DalConnection *dal_pool_acquire_finish (DalPool *pool, GAsyncResult *result,
                                        GError **error);

/**
 * dal_pool_release:
 * @pool: the pool @connection came from
 * @connection: (transfer full): a connection from dal_pool_acquire()
 *
 * Gives the connection back: drops the caller's reference, which must be
 * its last one (pending _async calls on it excepted: it goes back once
 * they completed).  A connection from the blocking dal_pool_acquire() is
 * reset (ROLLBACK, session state) before this returns; others are reset
 * on their main context or on a worker thread.
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_release (DalPool *pool, DalConnection *connection);

/* -- closing -- */

/**
 * dal_pool_close:
 *
 * Closes the pool: waiters fail with DAL_ERROR_CLOSED, idle connections
 * are closed at once, one-shots in flight finish, and borrowed
 * connections are closed when they come back.  New calls fail with
 * DAL_ERROR_CLOSED.  Closing twice is harmless; dropping the last
 * reference closes too.  Returns once the connections being opened are
 * cancelled and the resets running on GLib's worker threads are done:
 * the program may end right after.
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_close (DalPool *pool);

/* -- what it is -- */

/**
 * DalPoolStats:
 * @size: open connections (idle, in use or being checked)
 * @idle: open connections nobody uses
 * @in_use: borrowed, or running one-shots
 * @waiting: acquires and one-shots waiting for a connection
 * @opening: connections being opened
 * @one_shots_in_flight: one-shot statements sent and not yet answered
 * @created: connections opened so far
 * @closed: connections closed so far (for any reason)
 * @acquire_timeouts: acquires and one-shots that gave up waiting
 * @failed_health_checks: idle connections whose check failed
 * @resets: connections reset on release (ROLLBACK or session reset)
 * @replaced_after_faults: connections found lost (killed, or a reset or
 *   check failed) and replaced
 * @connect_failures: failed attempts to open a connection
 * @acquired: successful acquires
 * @one_shots: one-shot statements completed
 * @retried: one-shots run again after another caller's cancel hit them
 *
 * A snapshot.  Fields are only ever appended.
 */
typedef struct
{
  guint size;
  guint idle;
  guint in_use;
  guint waiting;
  guint opening;
  guint one_shots_in_flight;
  guint64 created;
  guint64 closed;
  guint64 acquire_timeouts;
  guint64 failed_health_checks;
  guint64 resets;
  guint64 replaced_after_faults;
  guint64 connect_failures;
  guint64 acquired;
  guint64 one_shots;
  guint64 retried;
  /*< private >*/
  guint64 reserved[8];
} DalPoolStats;

#define DAL_TYPE_POOL_STATS (dal_pool_stats_get_type ())
/**
 * dal_pool_stats_get_type:
 *
 * Returns: the #GType of #DalPoolStats, a boxed type copied whole
 *   (g_memdup2()) and freed with g_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_pool_stats_get_type (void) G_GNUC_CONST;

/* Fills @stats with the pool's counters now.  Thread-safe. */
DAL_AVAILABLE_IN_ALL
void dal_pool_get_stats (DalPool *pool, DalPoolStats *stats);

/* Returns: (transfer none): the URL the pool opens connections with. */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_pool_get_url (DalPool *pool);
/* Returns: (transfer none): the settings in force. */
DAL_AVAILABLE_IN_ALL
const DalPoolSettings *dal_pool_get_settings (DalPool *pool);

G_END_DECLS

#endif /* DAL_POOL_H */
