/* dal-config.h: where a program finds its database (docs/config.md).
 *
 * A DalConfig gathers what an application needs to reach its database
 * from configuration rather than code: the URL, the migration URL, pool,
 * TLS and session settings, and driver aliases.  Switching driver or
 * database is then an edit of dal.conf or of DATABASE_URL.
 *
 *   g_autoptr (DalConfig) config = dal_config_load (NULL, &error);
 *   g_autoptr (DalPool) pool = dal_config_open_pool (config, NULL, &error);
 *
 * Sources, highest precedence first:
 *   1. dal_config_set_url() (what a command line gives);
 *   2. DAL_DATABASE_URL, then DATABASE_URL (dal_config_add_environment());
 *   3. a key file's [database] url (dal_config_add_file(),
 *      dal_config_add_data());
 *   4. none: "postgresql://", so that libpq's PG* variables (PGHOST,
 *      PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ...) apply as
 *      in psql.  libpq also fills from PG* whatever keyword the URL leaves
 *      out, whichever source the URL came from.
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
 */
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

#define DAL_TYPE_CONFIG (dal_config_get_type ())
DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (DalConfig, dal_config, DAL, CONFIG, GObject)

/* An empty configuration: dal_config_get_url() gives "postgresql://". */
DAL_AVAILABLE_IN_ALL
DalConfig *dal_config_new (void);

/**
 * dal_config_load:
 * @path: (nullable): a key file to read, or %NULL for the search
 * @error: return location for a DAL_ERROR_CONFIG_INVALID or DAL_ERROR_URL_*
 *   error
 *
 * The documented default: the key file (@path when not %NULL, else
 * $DAL_CONFIG when set, else the first that exists of
 * $XDG_CONFIG_HOME/dal/dal.conf (~/.config/dal/dal.conf when
 * XDG_CONFIG_HOME is unset) and /etc/dal/dal.conf; finding none is fine),
 * then the process environment.  An explicit @path or $DAL_CONFIG that
 * does not exist is an error.
 *
 * Returns: (transfer full) (nullable): the configuration.
 */
DAL_AVAILABLE_IN_ALL
DalConfig *dal_config_load (const char *path, GError **error);

/* Reads the key file @path (docs/config.md); its settings replace those of
 * the same name read before.  Unknown sections and keys, values of the
 * wrong type and URLs that do not parse are errors naming the file and
 * line.  Warns (once per file and process) when the file holds a password
 * and its mode lets group or others read it. */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_add_file (DalConfig *config, const char *path,
                              GError **error);

/* The same from memory; @origin names it in messages ("dal.conf"). */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_add_data (DalConfig *config, const char *data, gssize len,
                              const char *origin, GError **error);

/* Reads DAL_DATABASE_URL, DATABASE_URL and DAL_MIGRATION_URL (unset or
 * empty: ignored) from @envp (%NULL: the process environment). */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_add_environment (DalConfig *config,
                                     const char * const *envp,
                                     GError **error);

/* The URL a command line gives (highest precedence); @origin (nullable,
 * default "command line") names it in messages. */
DAL_AVAILABLE_IN_ALL
gboolean dal_config_set_url (DalConfig *config, const char *url,
                             const char *origin, GError **error);

/**
 * dal_config_get_url:
 * @config: a DalConfig
 * @error: return location for an error
 *
 * The application's URL: the source of highest precedence, its scheme
 * rewritten by [drivers], the key file's settings merged in.  Fails for a
 * retired driver name that [drivers] does not map
 * (DAL_ERROR_RETIRED_DRIVER) and for a setting the URL gives another value
 * (DAL_ERROR_CONFIG_INVALID).
 *
 * Returns: (transfer full) (nullable): the URL.
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_config_get_url (DalConfig *config, GError **error);

/**
 * dal_config_get_migration_url:
 * @config: a DalConfig
 * @error: return location for an error
 *
 * The URL schema migrations use (explicit, or derived from the
 * application's: see above).  A transaction pooler (see
 * dal_url_is_transaction_pooler()) is refused with DAL_ERROR_UNSUPPORTED:
 * DDL and the migration runner's session advisory lock need a session.
 *
 * Returns: (transfer full) (nullable): the URL.
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_config_get_migration_url (DalConfig *config, GError **error);

/**
 * dal_config_get_origin:
 * @config: a DalConfig
 * @what: "url" or "migration_url"
 *
 * Returns: (transfer none): where that URL comes from: "command line",
 *   "DATABASE_URL", "/etc/dal/dal.conf line 3", "the default
 *   (postgresql:// and libpq's PG* variables)", "derived from the URL
 *   (DATABASE_URL)".
 */
DAL_AVAILABLE_IN_ALL
const char *dal_config_get_origin (DalConfig *config, const char *what);

/* dal_connection_open_url() / dal_pool_open_url() with the default
 * registry and dal_config_get_url(). */
DAL_AVAILABLE_IN_ALL
DalConnection *dal_config_open_connection (DalConfig *config,
                                           GCancellable *cancellable,
                                           GError **error);
DAL_AVAILABLE_IN_ALL
DalPool *dal_config_open_pool (DalConfig *config, GCancellable *cancellable,
                               GError **error);

G_END_DECLS

#endif /* DAL_CONFIG_H */
