/* dal-config.h: where a program finds its database (DalConfig;
 * docs/config.md). */
#ifndef DAL_CONFIG_H
#define DAL_CONFIG_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <gio/gio.h>
#include <dal/dal-version.h>
#include <dal/dal-url.h>
#include <dal/dal-connection.h>
#include <dal/dal-pool.h>

G_BEGIN_DECLS

/**
 * DalConfig:
 *
 * Where a program finds its database (docs/config.md).
 *
 * A DalConfig gathers what an application needs to reach its database
 * from configuration rather than code: the URL, the migration URL, pool,
 * TLS and session settings, and driver aliases.  Switching driver or
 * database is then an edit of dal.conf or of DATABASE_URL.
 *
 * |[<!-- language="C" -->
 * g_autoptr (DalConfig) config = dal_config_load (NULL, &error);
 * g_autoptr (DalPool) pool = dal_config_open_pool (config, NULL, &error);
 * ]|
 *
 * Sources, highest precedence first:
 *
 *   1. dal_config_set_url() (what a command line gives);
 *   2. DAL_DATABASE_URL, then DATABASE_URL (dal_config_add_environment());
 *   3. a key file's [database] url (dal_config_add_file(),
 *      dal_config_add_data());
 *   4. none: "postgresql://", so that libpq's PG* variables (PGHOST,
 *      PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ...) apply as
 *      in psql.  libpq also fills from PG* whatever keyword the URL leaves
 *      out, whichever source the URL came from.
 *
 * The key file's [pool], [tls] and [session] settings and [database]
 * password are merged into the URL as its options; an option the URL sets
 * to another value is an error naming both places.
 *
 * The migration URL: DAL_MIGRATION_URL, else [database] migration_url,
 * else derived from the URL (driver asyncpg or none becomes psycopg2; the
 * pool options and statement_cache_size are dropped).
 *
 * A DalConfig is filled by one thread; once filled it is read-only and may
 * be read from any thread.
 *
 * Since: 0.1
 */

/**
 * DAL_TYPE_CONFIG:
 *
 * The #GType of #DalConfig.
 *
 * Since: 0.1
 */
#define DAL_TYPE_CONFIG (dal_config_get_type ())
DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (DalConfig, dal_config, DAL, CONFIG, GObject)

/**
 * dal_config_new:
 *
 * An empty configuration: no source yet, so dal_config_get_url() gives
 * "postgresql://" (libpq's PG* variables then apply).  Fill it with
 * dal_config_add_file(), dal_config_add_data(),
 * dal_config_add_environment() and dal_config_set_url(), in any order
 * (which source wins does not depend on the order of the calls; of two
 * key files, the one read last wins), or use dal_config_load() for the
 * documented default.  Fill it from one thread.
 *
 * Returns: (transfer full): a new #DalConfig.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConfig *dal_config_new (void);

/**
 * dal_config_load:
 * @path: (nullable) (type filename): a key file to read, or %NULL for the
 *   search
 * @error: return location for a %DAL_ERROR_CONFIG_INVALID or
 *   DAL_ERROR_URL_* error, or %NULL
 *
 * The documented default: the key file (@path when not %NULL, else
 * $DAL_CONFIG when set, else the first that exists of
 * $XDG_CONFIG_HOME/dal/dal.conf (~/.config/dal/dal.conf when
 * XDG_CONFIG_HOME is unset or not absolute) and /etc/dal/dal.conf;
 * finding none is fine),
 * then the process environment (dal_config_add_environment()).  An
 * explicit @path or $DAL_CONFIG that does not exist is an error.  The
 * environment is read with secure_getenv() where it exists, so a
 * setuid/setgid program ignores it.
 *
 * Returns: (transfer full) (nullable): the configuration, or %NULL with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConfig *dal_config_load (const char *path, GError **error);

/**
 * dal_config_add_file:
 * @config: a #DalConfig
 * @path: (type filename): the key file to read
 * @error: return location for a #GError, or %NULL
 *
 * Reads the key file @path (docs/config.md); its settings replace those of
 * the same name read before.  Unknown sections and keys, values of the
 * wrong type and URLs that do not parse are errors naming the file and
 * line (%DAL_ERROR_CONFIG_INVALID, or a DAL_ERROR_URL_* error for a URL);
 * so is a file that cannot be read.  Warns (once per file and process)
 * when the file holds a password and its mode lets group or others read
 * it.
 *
 * Returns: %TRUE when the file was read; %FALSE with @error set
 *   otherwise.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_add_file (DalConfig *config, const char *path,
                              GError **error);

/**
 * dal_config_add_data:
 * @config: a #DalConfig
 * @data: the key file's text
 * @len: the length of @data in bytes, or -1 when it is nul-terminated
 * @origin: (nullable): what names @data in messages and in
 *   dal_config_get_origin() ("dal.conf"), or %NULL for "configuration
 *   data"
 * @error: return location for a #GError, or %NULL
 *
 * As dal_config_add_file(), from memory (no mode warning).
 *
 * Returns: %TRUE when the data was read; %FALSE with @error set
 *   otherwise.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_add_data (DalConfig *config, const char *data, gssize len,
                              const char *origin, GError **error);

/**
 * dal_config_add_environment:
 * @config: a #DalConfig
 * @envp: (nullable) (array zero-terminated=1): an environment as
 *   g_get_environ() gives it, or %NULL for the process environment (read
 *   with secure_getenv() where it exists)
 * @error: return location for a #GError, or %NULL
 *
 * Reads DAL_DATABASE_URL, DATABASE_URL and DAL_MIGRATION_URL (unset or
 * empty: ignored) from @envp.  A URL that does not parse is a
 * DAL_ERROR_URL_* error whose message starts with the variable's name;
 * then nothing of @envp is kept.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_add_environment (DalConfig *config,
                                     const char * const *envp,
                                     GError **error);

/**
 * dal_config_set_url:
 * @config: a #DalConfig
 * @url: a database URL
 * @origin: (nullable): what names it in messages and in
 *   dal_config_get_origin(), or %NULL for "command line"
 * @error: return location for a #GError, or %NULL
 *
 * Sets the URL a command line gives: the source of highest precedence.
 * It replaces one set before.  A URL that does not parse is a
 * DAL_ERROR_URL_* error whose message starts with @origin; @config is
 * unchanged then.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_set_url (DalConfig *config, const char *url,
                             const char *origin, GError **error);

/**
 * dal_config_get_url:
 * @config: a #DalConfig
 * @error: return location for a #GError, or %NULL
 *
 * The application's URL: the source of highest precedence, its scheme
 * rewritten by [drivers], the key file's settings merged in.  Fails for a
 * retired driver name that [drivers] does not map
 * (%DAL_ERROR_RETIRED_DRIVER) and for a setting the URL gives another value
 * (%DAL_ERROR_CONFIG_INVALID).  Computed at each call.
 *
 * Returns: (transfer full) (nullable): the URL, or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_config_get_url (DalConfig *config, GError **error);

/**
 * dal_config_get_migration_url:
 * @config: a #DalConfig
 * @error: return location for a #GError, or %NULL
 *
 * The URL schema migrations use (explicit, or derived from the
 * application's: see #DalConfig).  A transaction pooler (see
 * dal_url_is_transaction_pooler()) is refused with %DAL_ERROR_UNSUPPORTED:
 * DDL and the migration runner's session advisory lock need a session.
 * The errors of dal_config_get_url() apply too.
 *
 * Returns: (transfer full) (nullable): the URL, or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_config_get_migration_url (DalConfig *config, GError **error);

/**
 * dal_config_get_origin:
 * @config: a #DalConfig
 * @what: "url" or "migration_url" (anything else is a programming error)
 *
 * Where the URL dal_config_get_url() or dal_config_get_migration_url()
 * gives comes from, for messages such as `dal`'s.
 *
 * Returns: (transfer none): where that URL comes from: "command line",
 *   "DATABASE_URL", "/etc/dal/dal.conf line 3", "the default
 *   (postgresql:// and libpq's PG* variables)", "derived from the URL
 *   (DATABASE_URL)".  Owned by @config; valid until @config changes.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_config_get_origin (DalConfig *config, const char *what);

/**
 * dal_config_open_connection:
 * @config: a #DalConfig
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * dal_connection_open_url() with the default registry and
 * dal_config_get_url() minus its pool options
 * (dal_url_without_pool_options()).  Blocks.
 *
 * Returns: (transfer full) (nullable): an open connection, or %NULL with
 *   @error set (the errors of dal_config_get_url() and of
 *   dal_connection_open_url()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_config_open_connection (DalConfig *config,
                                           GCancellable *cancellable,
                                           GError **error);

/**
 * dal_config_open_pool:
 * @config: a #DalConfig
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * dal_pool_open_url() with the default registry and dal_config_get_url()
 * (its pool options, from the URL or [pool], are the pool's settings).
 * Blocks until the pool's min_size connections are open.
 *
 * Returns: (transfer full) (nullable): the pool, or %NULL with @error set
 *   (the errors of dal_config_get_url() and of dal_pool_open_url()).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalPool *dal_config_open_pool (DalConfig *config, GCancellable *cancellable,
                               GError **error);

G_END_DECLS

#endif /* DAL_CONFIG_H */
