/* dal-url.h: database URLs (DalUrl). */
#ifndef DAL_URL_H
#define DAL_URL_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib-object.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/**
 * DalUrl:
 *
 * A parsed database URL.
 *
 * |[
 * postgresql+asyncpg://app:s%40cret@db1:5432,db2:5433/app?sslmode=verify-full
 * └─dialect─┘└driver┘ └──────── libpq's URI rules after the scheme ────────┘
 * ]|
 *
 * The scheme is "dialect" or "dialect+driver", case-insensitive; "postgres"
 * is the same dialect as "postgresql".  Everything after "://" follows
 * libpq's URI rules (user, percent-encoded password, hosts with ports,
 * IPv6 in brackets, database, query options; a query option overrides the
 * part of the URL it names, so "?host=/run/postgresql" selects a Unix
 * socket), with one addition from SQLAlchemy for "postgresql": several
 * host= options make the host list and "host=name:port" carries its port
 * ("?host=h1:5432&host=h2:5433"; docs/url.md, "URLs from SQLAlchemy").
 *
 * Query options are checked when the URL is parsed, before any network
 * activity: an option nobody knows is an error naming it.  Options fall in
 * two groups:
 *
 *   - the dialect's connection keywords (for PostgreSQL, libpq's: sslmode,
 *     sslrootcert, application_name, ...), handed to the driver;
 *   - libdal's own options, consumed by libdal and its plugins and never
 *     handed to the database client library:
 *       - command_timeout=SECONDS: per-statement timeout (fractional);
 *       - statement_cache_size=N: named prepared statements to keep
 *         (0: none);
 *       - pooler_mode=session|transaction: what sits between client and
 *         server;
 *       - pool_min_size, pool_max_size, pool_depth, … (and asyncpg's
 *         min_size, max_size, …): #DalPool's settings (#DalPoolSettings);
 *         dal_connection_open() refuses them;
 *       - allow_insecure_tls=BOOL: permits what the TLS policy refuses
 *         (docs/tls.md).
 *
 * asyncpg's spelling "ssl=" is accepted as a synonym of "sslmode="
 * (ssl=true means require, ssl=false means disable).
 *
 * A DalUrl is immutable and reference counted; it may be shared between
 * threads.
 *
 * Make one with dal_url_parse(); derive others with dal_url_with_driver(),
 * dal_url_with_options() and dal_url_without_pool_options().  A boxed
 * type (%DAL_TYPE_URL) whose copy is dal_url_ref().
 *
 * Since: 0.1
 */
typedef struct _DalUrl DalUrl;

/**
 * DAL_TYPE_URL:
 *
 * The #GType of #DalUrl, a boxed type copied with dal_url_ref() and freed
 * with dal_url_unref().
 *
 * Since: 0.1
 */
#define DAL_TYPE_URL (dal_url_get_type ())

/**
 * dal_url_get_type:
 *
 * The #GType of #DalUrl; use %DAL_TYPE_URL.
 *
 * Returns: the type.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_url_get_type (void) G_GNUC_CONST;

/**
 * dal_url_parse:
 * @url: a database URL
 * @error: return location for a DAL_ERROR_URL_* error, or %NULL
 *
 * Parses and validates @url, without any network activity.  The first
 * URL of a dialect loads that dialect's plugin through the default
 * registry (see #DalRegistry) to learn its options.  Thread-safe.
 * Fails with %DAL_ERROR_URL_MALFORMED (the message gives the 1-based
 * position of the problem), %DAL_ERROR_URL_UNKNOWN_OPTION (naming the
 * option) or %DAL_ERROR_URL_INVALID_VALUE.  No message ever quotes the
 * password.
 *
 * Returns: (transfer full) (nullable): the parsed URL, or %NULL with
 *   @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_url_parse (const char *url, GError **error);

/**
 * dal_url_ref:
 * @url: a #DalUrl
 *
 * Takes a reference; thread-safe.
 *
 * Returns: (transfer full): @url
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_url_ref (DalUrl *url);

/**
 * dal_url_unref:
 * @url: (transfer full): a #DalUrl (not %NULL)
 *
 * Drops a reference; thread-safe.  The last one frees @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_url_unref (DalUrl *url);

/**
 * dal_url_get_scheme:
 * @url: a #DalUrl
 *
 * The scheme as canonical text: lower case, "postgres" spelt
 * "postgresql".
 *
 * Returns: (transfer none): "postgresql+asyncpg", "postgresql", ...;
 *   owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_scheme (const DalUrl *url);

/**
 * dal_url_get_dialect:
 * @url: a #DalUrl
 *
 * The dialect: the scheme's part before "+", canonical.
 *
 * Returns: (transfer none): "postgresql" (also for "postgres"); owned by
 *   @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_dialect (const DalUrl *url);

/**
 * dal_url_get_driver:
 * @url: a #DalUrl
 *
 * The driver: the scheme's part after "+", in lower case.
 *
 * Returns: (transfer none) (nullable): "asyncpg", or %NULL for a bare
 *   dialect ("postgresql://"); owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_driver (const DalUrl *url);

/**
 * dal_url_get_user:
 * @url: a #DalUrl
 *
 * The user name: the effective value (a "user" query option overrides
 * the URL's user part), decoded.
 *
 * Returns: (transfer none) (nullable): the user, or %NULL when absent
 *   (the client library's default applies); owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_user (const DalUrl *url);

/**
 * dal_url_get_password:
 * @url: a #DalUrl
 *
 * The password: the effective value (a "password" query option
 * overrides the URL's password part), decoded.  Never show it: use
 * dal_url_to_string_redacted() for messages.
 *
 * Returns: (transfer none) (nullable): the password, or %NULL when
 *   absent; owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_password (const DalUrl *url);

/**
 * dal_url_get_database:
 * @url: a #DalUrl
 *
 * The database name: the effective value (a "dbname" query option
 * overrides the URL's path), decoded.
 *
 * Returns: (transfer none) (nullable): the database, or %NULL when
 *   absent (the client library's default applies); owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_database (const DalUrl *url);

/**
 * dal_url_get_n_hosts:
 * @url: a #DalUrl
 *
 * The servers the client library would try, as libpq counts them: the
 * entries of hostaddr when it is set, else of host.  A URL with only a
 * port ("postgresql://:5433") has one entry, host "" with port 5433.
 *
 * Returns: the number of entries (0 when the URL sets no host, hostaddr or
 *   port: the client library's default applies).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_url_get_n_hosts (const DalUrl *url);

/**
 * dal_url_get_host:
 * @url: a #DalUrl
 * @i: an entry, below dal_url_get_n_hosts() (another is a programming
 *   error, and gives %NULL)
 *
 * Host @i of the "host" list.
 *
 * Returns: (transfer none): a name, an IP address (IPv6 without
 *   brackets), an absolute path (Unix socket directory) or "" (the
 *   default); owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_host (const DalUrl *url, guint i);

/**
 * dal_url_get_port:
 * @url: a #DalUrl
 * @i: an entry, below dal_url_get_n_hosts()
 *
 * The port of host @i as written (a single port applies to every host).
 *
 * Returns: (transfer none) (nullable): the port text ("5432"), or %NULL
 *   when none was given (the default port); owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_port (const DalUrl *url, guint i);

/**
 * dal_url_get_option:
 * @url: a #DalUrl
 * @name: a query option name (after synonyms: "sslmode", not "ssl",
 *   which returns %NULL)
 *
 * The effective value of a connection keyword (whether the URL's parts or
 * its query set it) or of one of libdal's own options.
 *
 * Returns: (nullable) (transfer none): the decoded value, or %NULL when
 *   the URL does not set it; owned by @url.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_url_get_option (const DalUrl *url, const char *name);

/**
 * dal_url_option_is_secret:
 * @name: an option or keyword name
 *
 * Whether a keyword is one whose value must never be shown (in logs,
 * errors or output): "password", or an option that a dialect the process
 * knows (whose plugin was loaded) marks secret.  Thread-safe; needs no
 * URL.
 *
 * Returns: whether the option holds a secret ("password", "sslpassword",
 *   "oauth_client_secret"), never to be shown.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_url_option_is_secret (const char *name);

/**
 * dal_url_get_duration_ms:
 * @url: a #DalUrl
 * @name: an option whose value is in seconds ("connect_timeout",
 *   "command_timeout", ...); a name the URL's dialect does not know is a
 *   programming error (a critical warning, and @default_ms)
 * @default_ms: returned when the option is absent
 *
 * A duration option, converted: "2.5" seconds gives 2500.
 *
 * Returns: the option in milliseconds (validated by dal_url_parse();
 *   rounded up to the millisecond), or @default_ms.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_url_get_duration_ms (const DalUrl *url, const char *name,
                                gint64 default_ms);

/**
 * dal_url_get_uint:
 * @url: a #DalUrl
 * @name: an option whose value is a non-negative integer
 *   ("statement_cache_size", "pool_max_size", ...); a name the URL's
 *   dialect does not know is a programming error
 * @default_value: returned when the option is absent or empty
 *
 * An integer option, converted.
 *
 * Returns: the option's value (validated by dal_url_parse()), or
 *   @default_value (also when the value is not a whole number that fits a
 *   guint).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_url_get_uint (const DalUrl *url, const char *name,
                        guint default_value);

/**
 * dal_url_get_keywords:
 * @url: a #DalUrl
 * @keywords: (out) (optional) (transfer none) (array zero-terminated=1):
 *   %NULL-terminated keyword names
 * @values: (out) (optional) (transfer none) (array zero-terminated=1):
 *   the matching values, one per keyword
 *
 * The connection keywords the URL yields for the dialect's client library
 * (libpq for PostgreSQL), in that library's order, with raw values and no
 * defaults added.  libdal's own options are not among them.  The password
 * is ("password"), so do not print these blindly.  Durations such as
 * connect_timeout are raw and may be fractional, which libpq itself
 * refuses.  Hand them to libpq with expand_dbname=0, or a dbname holding
 * "=" or a URI would be expanded.  The arrays belong to @url.
 *
 * Returns: the number of keywords.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_url_get_keywords (const DalUrl *url,
                            const char * const **keywords,
                            const char * const **values);

/**
 * dal_url_to_string:
 * @url: a #DalUrl
 *
 * The URL as text that dal_url_parse() reads back to an equal URL.  It
 * holds the password: show dal_url_to_string_redacted() instead.
 *
 * Returns: (transfer full): the URL in canonical form, password included.
 *   Equivalent to what was parsed, not necessarily byte for byte.  Free
 *   it with g_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char *dal_url_to_string (const DalUrl *url);

/**
 * dal_url_to_string_redacted:
 * @url: a #DalUrl
 *
 * The URL as text, safe to show.
 *
 * Returns: (transfer full): the canonical URL with the password (and the
 *   other secrets: sslpassword, oauth_client_secret) replaced by "****":
 *   the form to show in logs, errors and output.  Free it with g_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char *dal_url_to_string_redacted (const DalUrl *url);

/**
 * dal_url_with_driver:
 * @url: a #DalUrl
 * @driver: (nullable): a driver name such as "psycopg2", or %NULL for the
 *   bare dialect
 * @error: return location for a %DAL_ERROR_URL_MALFORMED error (an
 *   invalid driver name), or %NULL
 *
 * The same URL (credentials, hosts, TLS and every other option) with
 * another driver: how a program derives its migration URL
 * (postgresql+psycopg2://) from its application URL
 * (postgresql+asyncpg://).
 *
 * Returns: (transfer full) (nullable): a new #DalUrl, or %NULL with
 *   @error set (@url is unchanged either way).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_url_with_driver (const DalUrl *url, const char *driver,
                             GError **error);

/**
 * dal_url_with_options:
 * @url: a #DalUrl
 * @names: (array zero-terminated=1): option names as a URL's query writes
 *   them: connection keywords ("sslmode", "options"), libdal's options
 *   ("pool_max_size"), asyncpg's "ssl"
 * @values: (array): one value per name, undecoded text; a %NULL value
 *   removes the option
 * @error: return location for a %DAL_ERROR_URL_UNKNOWN_OPTION or
 *   %DAL_ERROR_URL_INVALID_VALUE error, or %NULL
 *
 * The same URL with those options set, replaced or removed, checked
 * exactly as dal_url_parse() checks a URL's query.  How DalConfig merges
 * a key file's settings into a URL.
 *
 * Returns: (transfer full) (nullable): a new #DalUrl, or %NULL with
 *   @error set (@url is unchanged either way).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_url_with_options (const DalUrl *url, const char * const *names,
                              const char * const *values, GError **error);

/**
 * dal_url_without_pool_options:
 * @url: a #DalUrl
 *
 * @url without its pool options (pool_*, and asyncpg's min_size,
 * max_size, max_queries, max_inactive_connection_lifetime), which
 * dal_connection_open() refuses: how a program opens a single connection
 * with the URL its pool uses (dal_config_open_connection() does).
 *
 * Returns: (transfer full): a new reference (to @url itself when it has
 *   no pool option).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalUrl *dal_url_without_pool_options (const DalUrl *url);

/**
 * dal_hostname_has_suffix:
 * @host: (nullable): a host name, e.g. "DB.abc.Supabase.CO."
 * @suffix: a domain, e.g. "supabase.co" (a leading dot is ignored)
 *
 * Whether @host is @suffix or a name under it ("x.supabase.co" but not
 * "xsupabase.co"), compared without regard to ASCII case, a final dot on
 * either ignored.  The one way libdal and its plugins compare host names.
 *
 * Returns: %TRUE when @host equals @suffix or ends with "." @suffix;
 *   %FALSE for a %NULL or empty @host or @suffix.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_hostname_has_suffix (const char *host, const char *suffix);

/**
 * dal_url_is_transaction_pooler:
 * @url: a parsed URL
 *
 * Whether @url leads to a pooler in transaction mode, where each
 * transaction may run on another server connection: session state
 * (settings, named prepared statements, LISTEN, advisory locks) does not
 * survive from one transaction to the next.  That is the case when the
 * URL says pooler_mode=transaction, or when one of its hosts is under
 * pooler.supabase.com with port 6543 (Supabase's transaction pooler).
 * Nothing is resolved or contacted.
 *
 * Returns: %TRUE for a transaction pooler.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_url_is_transaction_pooler (const DalUrl *url);

/**
 * dal_startup_options_parse:
 * @options: (nullable): PostgreSQL's "options" text, e.g.
 *   "-c statement_timeout=5s -csearch_path=app,public --work-mem=64MB"
 * @other: (out) (optional) (transfer full) (nullable): the startup options
 *   that are not settings ("-B 100", a lone "-c" ...), escaped as the
 *   option wants them, or %NULL when there are none
 *
 * Splits @options as the PostgreSQL server does (on white space not
 * escaped by a backslash; a backslash takes the next character literally)
 * and picks out the session settings: "-c name=value", "-cname=value" and
 * "--name=value".  A '-' in a setting's name becomes '_', as the server
 * spells it.  The reader is the postgresql dialect's (its plugin's
 * DalDialect.session_settings, learnt as dal_url_parse() learns it);
 * without a PostgreSQL plugin, %NULL and *@other %NULL.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   settings as a %NULL-terminated array of pairs { name, value, name,
 *   value, ..., %NULL } in the order written (free with g_strfreev()),
 *   or %NULL when there is none.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char **dal_startup_options_parse (const char *options, char **other);

/**
 * dal_url_get_session_settings:
 * @url: a parsed URL
 * @other: (out) (optional) (transfer full) (nullable): what the dialect's
 *   session option says that is not a setting, or %NULL
 *
 * The session settings @url sets, as its dialect reads them from its
 * session option (DalDialect.session_option; for postgresql, the
 * "-c name=value" of "options", see dal_startup_options_parse()).
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   settings as a %NULL-terminated array of pairs { name, value, ...,
 *   %NULL } in the order written (free with g_strfreev()), or %NULL when
 *   there is none (also for a dialect without session settings).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char **dal_url_get_session_settings (const DalUrl *url, char **other);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalUrl, dal_url_unref)

G_END_DECLS

#endif /* DAL_URL_H */
