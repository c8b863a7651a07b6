/* dal-pool.h: a pool of connections to one database, for every plugin
 * (DalPool, DalPoolSettings, DalPoolStats). */
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
 *   connection before it fails with %DAL_ERROR_POOL_TIMEOUT
 *   (pool_acquire_timeout, seconds; default 30 s; 0: wait without limit)
 * @max_idle_ms: an idle connection above @min_size is closed after this
 *   long (pool_max_idle, max_inactive_connection_lifetime; default 300 s;
 *   0: never)
 * @max_lifetime_ms: a connection is closed once this old, or up to 10 %
 *   earlier at random so that connections do not all expire together,
 *   when it is next idle (pool_max_lifetime; default 3600 s; 0: never)
 * @max_queries: a connection is closed after serving this many statements
 *   (pool_max_queries, max_queries; default 50000; 0: never)
 * @check_idle_ms: a connection idle longer than this is checked with a
 *   round trip before it is handed out (pool_check_idle; default 1 s;
 *   0: always)
 * @leak_warning_ms: a borrowed connection held longer than this is
 *   logged once, with the label it was acquired with
 *   (pool_leak_warning; default 0: never)
 *
 * A pool's settings.  Durations are in milliseconds; a negative one is
 * an error, and so is one over 100 years (3153600000000 ms).  Fields are
 * only ever appended (the struct keeps room for them): start from
 * dal_pool_settings_init() rather than from zeros, then
 * change the fields you mean to set, and check the whole with
 * dal_pool_settings_check() (dal_pool_open_url() checks them too).
 *
 * Since: 0.1
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

/**
 * dal_pool_settings_init:
 * @settings: (out caller-allocates): the settings to fill
 *
 * Fills @settings with the defaults listed in #DalPoolSettings (and zeroes
 * its reserved part).  The usual start before dal_pool_settings_from_url()
 * or before setting fields by hand.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_settings_init (DalPoolSettings *settings);

/**
 * DAL_TYPE_POOL_SETTINGS:
 *
 * The #GType of #DalPoolSettings, a boxed type (dal_pool_settings_get_type()).
 *
 * Since: 0.1
 */
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
 * @settings: (inout): settings to update (start from
 *   dal_pool_settings_init())
 * @url: a parsed URL
 * @error: return location for a #GError, or %NULL
 *
 * Overwrites the fields whose options @url sets (pool_* or asyncpg's
 * synonyms; the values were validated by dal_url_parse()), then checks
 * the whole as dal_pool_settings_check() does, naming each option as the
 * URL spells it.  Fields whose options @url does not set keep their
 * values.  Reads @url only; thread-safe.
 *
 * Fails with %DAL_ERROR_URL_INVALID_VALUE when the URL gives both
 * spellings of one setting ("pool_max_size" and "max_size") or when the
 * result does not hold together (see dal_pool_settings_check()).
 *
 * Returns: %TRUE on success; on failure %FALSE, @error set and @settings
 *   left as it was.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_pool_settings_from_url (DalPoolSettings *settings,
                                     const DalUrl *url, GError **error);

/**
 * dal_pool_settings_check:
 * @settings: the settings to check
 * @error: return location for a #GError, or %NULL
 *
 * Checks that @settings make sense together: max_size at least 1,
 * min_size not above max_size, depth at least 1, no negative duration.
 * The %DAL_ERROR_URL_INVALID_VALUE error names the URL option to change
 * (pool_max_size, pool_depth, ...) and says what to set it to.
 *
 * Returns: %TRUE when the settings can be used; %FALSE with @error set
 *   otherwise (@settings is not changed either way).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_pool_settings_check (const DalPoolSettings *settings,
                                  GError **error);

/**
 * DalPool:
 *
 * A pool of connections to one database, for every plugin.
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
 *
 * A pool is made with dal_pool_open() (or dal_pool_open_url(),
 * dal_config_open_pool()) and closed with dal_pool_close() or by dropping
 * its last reference.
 *
 * Since: 0.1
 */

/**
 * DAL_TYPE_POOL:
 *
 * The #GType of #DalPool.
 *
 * Since: 0.1
 */
#define DAL_TYPE_POOL (dal_pool_get_type ())
DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (DalPool, dal_pool, DAL, POOL, GObject)

/* -- opening -- */

/**
 * dal_pool_open:
 * @url: (nullable): a database URL; its pool_* options are the pool's
 *   settings.  %NULL (an unset environment variable) fails with
 *   %DAL_ERROR_URL_MALFORMED ("no URL given")
 * @cancellable: (nullable): a #GCancellable that stops the opening, or
 *   %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Parses @url, resolves its plugin through the default registry, makes a
 * pool and opens its min_size connections (at the same time, not one
 * after the other), blocking the calling thread until they are open.
 * Fails with the first connection's error when one of them cannot be
 * opened, so that a wrong password or a dead server shows at once; the
 * connections already open are closed then.  Other failures: a
 * DAL_ERROR_URL_* error for a URL that does not parse or pool settings
 * that do not hold together, the registry's errors
 * (%DAL_ERROR_UNKNOWN_SCHEME, ...), %G_IO_ERROR_CANCELLED when
 * @cancellable is cancelled.  No error quotes the password.  Callable
 * from any thread.
 *
 * Returns: (transfer full) (nullable): the pool, or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open (const char *url, GCancellable *cancellable,
                        GError **error);

/**
 * dal_pool_open_async:
 * @url: (nullable): a database URL; its pool_* options are the pool's
 *   settings.  %NULL completes with %DAL_ERROR_URL_MALFORMED ("no URL
 *   given")
 * @cancellable: (nullable): a #GCancellable that stops the opening, or
 *   %NULL
 * @callback: (scope async): called once when the pool is open or the
 *   opening failed
 * @user_data: (closure): data for @callback
 *
 * Starts what dal_pool_open() does without blocking.  @callback runs
 * exactly once, on the thread-default main context of the thread that
 * called this, never from inside this call (also when @url does not
 * parse); call dal_pool_open_finish() from it.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_open_async (const char *url, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);

/**
 * dal_pool_open_finish:
 * @result: the #GAsyncResult given to the callback of
 *   dal_pool_open_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_pool_open_async().  A result of any other call
 * (dal_pool_open_url_async()'s included: finish it with
 * dal_pool_open_url_finish()) is a programming error: a critical, and
 * %NULL.
 *
 * Returns: (transfer full) (nullable): the pool, or %NULL with @error set
 *   (the errors of dal_pool_open()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open_finish (GAsyncResult *result, GError **error);

/**
 * dal_pool_open_url:
 * @registry: (nullable): the registry to resolve with, %NULL for the default
 * @url: a parsed URL
 * @settings: (nullable): the settings (copied), or %NULL to take them from
 *   @url's options
 * @cancellable: (nullable): a #GCancellable that stops the opening, or
 *   %NULL
 * @error: return location for a #GError, or %NULL
 *
 * As dal_pool_open(), with a URL parsed already and the registry of your
 * choice.  With @settings, @url's pool options are not read (but they are
 * still checked, and @settings is checked with dal_pool_settings_check()).
 * The pool keeps references on @url and @registry.
 *
 * Returns: (transfer full) (nullable): the pool, or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open_url (DalRegistry *registry, DalUrl *url,
                            const DalPoolSettings *settings,
                            GCancellable *cancellable, GError **error);

/**
 * dal_pool_open_url_async:
 * @registry: (nullable): the registry to resolve with, %NULL for the default
 * @url: a parsed URL
 * @settings: (nullable): the settings (copied), or %NULL to take them from
 *   @url's options
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called once when the pool is open or the
 *   opening failed
 * @user_data: (closure): data for @callback
 *
 * Starts what dal_pool_open_url() does without blocking.  @callback runs
 * exactly once, on the thread-default main context of the thread that
 * called this, never from inside this call; call
 * dal_pool_open_url_finish() from it.  With a min_size of 0 the pool is ready at once (but
 * @callback still runs from the main loop).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_open_url_async (DalRegistry *registry, DalUrl *url,
                              const DalPoolSettings *settings,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);

/**
 * dal_pool_open_url_finish:
 * @result: the #GAsyncResult given to the callback of
 *   dal_pool_open_url_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_pool_open_url_async().  A result of any other call
 * (dal_pool_open_async()'s included) is a programming error: a critical,
 * and %NULL.
 *
 * Returns: (transfer full) (nullable): the pool, or %NULL with @error set
 *   (the URL's password never appears in it).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_pool_open_url_finish (GAsyncResult *result, GError **error);

/* -- one-shot statements -- */

/**
 * dal_pool_query:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters: a #GVariant tuple with one member
 *   per parameter (a single value that is not a tuple is one parameter),
 *   or %NULL for none; a floating reference is consumed
 * @cancellable: (nullable): cancels the statement (on the server too), or
 *   %NULL
 * @error: return location for a #GError, or %NULL
 *
 * As dal_connection_query(), on some connection of the pool: blocks the
 * calling thread until the statement has run.  Callable from any thread.
 * Waits for a connection at most acquire_timeout
 * (%DAL_ERROR_POOL_TIMEOUT, whose message gives the pool's counts); fails
 * with %DAL_ERROR_CLOSED once the pool is closed, with a connect error
 * as dal_pool_acquire() says, and otherwise with the errors of
 * dal_connection_query() (%DAL_ERROR_QUERY_FAILED with the
 * server's fields, %DAL_ERROR_QUERY_TIMEOUT, %G_IO_ERROR_CANCELLED, ...).
 *
 * A statement that failed because of another caller's cancel request
 * (PostgreSQL's cancel hits whatever runs when it arrives), and that
 * therefore ran in its own implicit transaction and was rolled back, is
 * run again once, on the same or another connection: the caller never
 * sees another caller's cancel.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query (DalPool *pool, const char *sql, GVariant *params,
                           GCancellable *cancellable, GError **error);

/**
 * dal_pool_query_async:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters, a #GVariant tuple, or %NULL (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement (on the server too), or
 *   %NULL
 * @callback: (scope async): called once when the statement has run or
 *   failed
 * @user_data: (closure): data for @callback
 *
 * Starts dal_pool_query() without blocking.  Thread-safe.  @callback runs
 * exactly once, on the thread-default main context of the thread that
 * called this, never from inside this call; call dal_pool_query_finish()
 * from it.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_query_async (DalPool *pool, const char *sql, GVariant *params,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);

/**
 * dal_pool_query_finish:
 * @pool: the pool the statement ran on
 * @result: the #GAsyncResult given to the callback of
 *   dal_pool_query_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_pool_query_async() (a result of any other call is a
 * programming error: a critical, and %NULL).
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set (the errors of dal_pool_query()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query_finish (DalPool *pool, GAsyncResult *result,
                                  GError **error);

/**
 * dal_pool_query_texts:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @n_params: how many parameters
 * @values: (array length=n_params) (nullable): each parameter as text,
 *   %NULL for SQL NULL; copied
 * @cancellable: (nullable): cancels the statement (on the server too), or
 *   %NULL
 * @error: return location for a #GError, or %NULL
 *
 * As dal_connection_query_texts() (parameters as text, their types
 * inferred by the server), on some connection of the pool, with what
 * dal_pool_query() says about waiting, retries and errors.  Finish the
 * async form with dal_pool_query_texts_finish().
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query_texts (DalPool *pool, const char *sql,
                                 guint n_params, const char * const *values,
                                 GCancellable *cancellable, GError **error);

/**
 * dal_pool_query_texts_async:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @n_params: how many parameters
 * @values: (array length=n_params) (nullable): each parameter as text,
 *   %NULL for SQL NULL; copied, so they may be freed when this returns
 * @cancellable: (nullable): cancels the statement (on the server too), or
 *   %NULL
 * @callback: (scope async): called once when the statement has run or
 *   failed
 * @user_data: (closure): data for @callback
 *
 * Starts dal_pool_query_texts() without blocking.  @callback runs exactly
 * once, on the thread-default main context of the thread that called
 * this, never from inside this call; finish with
 * dal_pool_query_texts_finish().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_query_texts_async (DalPool *pool, const char *sql,
                                 guint n_params, const char * const *values,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);

/**
 * dal_pool_query_texts_finish:
 * @pool: the pool
 * @result: the #GAsyncResult given to the callback of
 *   dal_pool_query_texts_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_pool_query_texts_async().  A result of any other call is
 * a programming error: a critical, and %NULL.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_pool_query_texts_finish (DalPool *pool, GAsyncResult *result,
                                        GError **error);

/**
 * dal_pool_execute:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters, a #GVariant tuple, or %NULL (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement (on the server too), or
 *   %NULL
 * @error: return location for a #GError, or %NULL
 *
 * As dal_connection_execute(), for statements whose rows do not matter,
 * on some connection of the pool, with what dal_pool_query() says about
 * waiting, retries and errors.
 *
 * Returns: the affected-row count (0 when the statement reports none), or
 *   -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_pool_execute (DalPool *pool, const char *sql, GVariant *params,
                         GCancellable *cancellable, GError **error);

/**
 * dal_pool_execute_async:
 * @pool: a pool
 * @sql: one SQL statement, with $1, $2, … for parameters
 * @params: (nullable): the parameters, a #GVariant tuple, or %NULL (a
 *   floating reference is consumed)
 * @cancellable: (nullable): cancels the statement (on the server too), or
 *   %NULL
 * @callback: (scope async): called once when the statement has run or
 *   failed
 * @user_data: (closure): data for @callback
 *
 * Starts dal_pool_execute() without blocking.  @callback runs exactly
 * once, on the thread-default main context of the thread that called
 * this, never from inside this call; call dal_pool_execute_finish() from
 * it.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_execute_async (DalPool *pool, const char *sql, GVariant *params,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);

/**
 * dal_pool_execute_finish:
 * @pool: the pool the statement ran on
 * @result: the #GAsyncResult given to the callback of
 *   dal_pool_execute_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_pool_execute_async().
 *
 * Returns: the affected-row count (0 when the statement reports none), or
 *   -1 with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_pool_execute_finish (DalPool *pool, GAsyncResult *result,
                                GError **error);

/* -- borrowing -- */

/**
 * dal_pool_acquire:
 * @pool: a pool
 * @label: (nullable): where it is acquired, for the leak warning
 *   ("checkout.c:88"); copied
 * @timeout_ms: how long to wait for a connection, in milliseconds; -1 (or
 *   any negative value): the pool's acquire_timeout; 0: do not wait
 * @cancellable: (nullable): stops waiting, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Borrows a connection for exclusive use, blocking the calling thread
 * until one is free.  Callable from any thread.  Waiters are served first
 * come, first served.  One that waited @timeout_ms gets
 * %DAL_ERROR_POOL_TIMEOUT, whose message gives the pool's size, in use,
 * idle and waiting counts; a closed pool gives %DAL_ERROR_CLOSED, a
 * cancelled wait %G_IO_ERROR_CANCELLED.  When the pool has no connection
 * left and the last attempt to open one failed, the waiters fail at once
 * with that connect error (%DAL_ERROR_CONNECTION_REFUSED, ...) rather
 * than wait for the timeout; the pool keeps retrying, with a growing
 * delay.
 *
 * The connection goes back to the pool with dal_pool_release(), or when
 * its last reference other than the pool's is dropped (a pending _async
 * call holds one): then it is reset (see #DalPool).  Do not close it: a
 * closed connection is replaced.
 *
 * The connection serves blocking calls, from one thread at a time.  On a
 * plugin whose connections live on a main context (pgasync) its async
 * calls fail at once with %DAL_ERROR_BUSY: borrow it with
 * dal_pool_acquire_async() to make async calls on it (that one lives on
 * the caller's thread-default main context).
 *
 * Returns: (transfer full) (nullable): the connection, or %NULL with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_pool_acquire (DalPool *pool, const char *label,
                                 gint64 timeout_ms, GCancellable *cancellable,
                                 GError **error);

/**
 * dal_pool_acquire_async:
 * @pool: a pool
 * @label: (nullable): where it is acquired, for the leak warning; copied
 * @timeout_ms: how long to wait for a connection, in milliseconds; -1:
 *   the pool's acquire_timeout; 0: do not wait
 * @cancellable: (nullable): stops waiting, or %NULL
 * @callback: (scope async): called once with the connection or the error
 * @user_data: (closure): data for @callback
 *
 * Borrows a connection without blocking, as dal_pool_acquire() does.  The
 * connection lives on the thread-default main context of the calling
 * thread, so its async calls work there.  @callback runs exactly once, on
 * that main context, never from inside this call (also when a connection
 * is free at once); call dal_pool_acquire_finish() from it.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_acquire_async (DalPool *pool, const char *label,
                             gint64 timeout_ms, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);

/**
 * dal_pool_acquire_finish:
 * @pool: the pool
 * @result: the #GAsyncResult given to the callback of
 *   dal_pool_acquire_async()
 * @error: return location for a #GError, or %NULL
 *
 * Finishes dal_pool_acquire_async().  Give the connection back with
 * dal_pool_release() (or drop its last reference).
 *
 * Returns: (transfer full) (nullable): the connection, or %NULL with
 *   @error set (the errors of dal_pool_acquire()).
 *
 * Since: 0.1
 */
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
 * on their main context or on a worker thread.  A connection that was not
 * borrowed from @pool is a programming error (a critical warning, and
 * nothing is released).  Thread-safe.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_release (DalPool *pool, DalConnection *connection);

/* -- closing -- */

/**
 * dal_pool_close:
 * @pool: a pool
 *
 * Closes the pool: waiters fail with %DAL_ERROR_CLOSED, idle connections
 * are closed at once, one-shots in flight finish, and borrowed
 * connections are closed when they come back.  New calls fail with
 * %DAL_ERROR_CLOSED.  Closing twice is harmless; dropping the last
 * reference closes too.  Returns once the connections being opened are
 * cancelled and the resets running on GLib's worker threads are done:
 * the program may end right after.  Thread-safe; the caller still owns
 * its reference.
 *
 * Since: 0.1
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
 * A snapshot of a pool's counters, filled by dal_pool_get_stats(): the
 * first six fields are the state now, the others count since the pool
 * was opened.  Fields are only ever appended.
 *
 * Since: 0.1
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

/**
 * DAL_TYPE_POOL_STATS:
 *
 * The #GType of #DalPoolStats, a boxed type (dal_pool_stats_get_type()).
 *
 * Since: 0.1
 */
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

/**
 * dal_pool_get_stats:
 * @pool: a pool
 * @stats: (out caller-allocates): where to write the counters
 *
 * Fills @stats with the pool's counters now, taken together under the
 * pool's lock.  Thread-safe.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_pool_get_stats (DalPool *pool, DalPoolStats *stats);

/**
 * dal_pool_get_url:
 * @pool: a pool
 *
 * The URL the pool was opened with, pool options included (its
 * connections are opened with the same URL minus the pool options).
 * Thread-safe.
 *
 * Returns: (transfer none): the URL, owned by @pool.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_pool_get_url (DalPool *pool);

/**
 * dal_pool_get_settings:
 * @pool: a pool
 *
 * The settings in force, fixed when the pool was opened.  Thread-safe.
 *
 * Returns: (transfer none): the settings, owned by @pool and valid as
 *   long as it lives.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const DalPoolSettings *dal_pool_get_settings (DalPool *pool);

G_END_DECLS

#endif /* DAL_POOL_H */
