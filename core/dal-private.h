/* dal-private.h: what the parts of libdal's core share with each other
 * and with the test suite.  Never installed.  Names start with _dal_ and
 * are exported (so the tests can reach them) but are not API.
 */
#ifndef DAL_PRIVATE_H
#define DAL_PRIVATE_H

#include <dal/dal-plugin.h>

G_BEGIN_DECLS

/* -- URL option tables (dal-url-options.c) and dialects (dal-dialect.c) -- */

/* libdal's own options and the dialects' options share one description,
 * the plugin ABI's DalUrlOption. */
typedef DalUrlOption DalOptionInfo;

/* The dialect called @name (canonical or alias, lower case): one the
 * process already knows (a registry loaded a plugin that declares it),
 * else the one the default registry's plugin for @name declares (loading
 * that plugin, and no other).  NULL: no plugin declares it. */
const DalDialect *_dal_dialect_lookup (const char *name);
/* (dal-dialect.c) The keys of a configuration's [tls] section for @dialect (NULL: any);
 * the common prefix of its client library's TLS environment variables
 * ("PG"), or NULL. */
char **_dal_dialect_tls_keys (const DalDialect *dialect);
char *_dal_dialect_env_prefix (const DalDialect *dialect);
/* The same among the dialects already known; nothing is loaded. */
const DalDialect *_dal_dialect_find (const char *name);
/* Makes @dialect known to the process (a registry loaded a plugin that
 * declares it).  The first declaration of a name wins.  @dialect is a
 * plugin's static data: its module stays resident. */
void _dal_dialect_add (const DalDialect *dialect);
/* The option @name of @dialect, or NULL. */
const DalUrlOption *_dal_dialect_get_option (const DalDialect *dialect,
                                             const char *name);
/* Whether @dialect declares the option @name secret. */
gboolean _dal_dialect_option_is_secret (const DalDialect *dialect,
                                        const char *name);
/* libdal's own options (command_timeout, statement_cache_size, ...). */
const DalOptionInfo *_dal_libdal_option_lookup (const char *name);
/* All of them, in their canonical order. */
const DalOptionInfo *_dal_libdal_options_get (guint *n_options);
/* Checks @value against @info; on failure a DAL_ERROR_URL_INVALID_VALUE. */
gboolean _dal_option_check_value (const DalOptionInfo *info, const char *value,
                                  GError **error);
/* dal_printable() (dal-plugin.h), under the core's older name. */
#define _dal_printable(text) dal_printable (text)
/* Parses a duration in seconds ("1.5") into milliseconds. */
gboolean _dal_parse_duration_ms (const char *text, gint64 *out_ms);

/* -- pool options (dal-pool-settings.c) -- */

/* Whether @url sets any pool option (pool_* or asyncpg's synonyms);
 * *@first (nullable) gets the name of the first one found. */
gboolean _dal_url_has_pool_options (const DalUrl *url, const char **first);
/* @url minus every pool option: a new reference (@url itself when it
 * has none).  The pool opens its connections with it. */
DalUrl *_dal_url_without_pool_options (DalUrl *url);
/* A copy of @url without the libdal options named (dal-url-edit.c). */
DalUrl *_dal_url_copy_without (const DalUrl *url,
                               const char * const *libdal_names);

/* -- the parser's steps, for the URL edits (dal-url.c) -- */

/* An empty URL with the scheme dialect+@driver (canonical, lower case;
 * @driver nullable), to fill with _dal_url_store_option() and then
 * _dal_url_finish() (or unref). */
DalUrl *_dal_url_new (const char *dialect, const char *driver);
/* Stores one decoded query option as parsing does (taking @value):
 * synonyms mapped, an unknown name a DAL_ERROR_URL_UNKNOWN_OPTION.
 * Values are checked by _dal_url_finish(). */
gboolean _dal_url_store_option (DalUrl *url, const char *name, char *value,
                                GError **error);
/* Checks the values and host/port counts as dal_url_parse() does, then
 * computes what the getters return.  FALSE: unref @url. */
gboolean _dal_url_finish (DalUrl *url, GError **error);
/* Whether @driver is a valid driver name, else DAL_ERROR_URL_MALFORMED. */
gboolean _dal_url_check_driver_name (const char *driver, GError **error);
/* "Did you mean …?": the candidate closest to an unknown name, within an
 * edit distance of 2 (swaps count one, ASCII case folded) and shorter than
 * the name itself.  Start from DAL_SUGGESTION_INIT, consider each
 * candidate, then read .best (NULL: nothing close). */
typedef struct
{
  const char *best;
  guint distance;
} DalSuggestion;
#define DAL_SUGGESTION_INIT { NULL, 3 }
void _dal_suggestion_consider (DalSuggestion *suggestion, const char *unknown,
                               const char *candidate);

/* -- errors (dal-error.c) -- */

/* The "what to change" sentence alone, and the message without it. */
void _dal_error_set_hint (GError *error, const char *hint);
/* Notes @error (a DAL_ERROR being freed) as the thread's last error
 * (dal-error-details.c). */
void _dal_error_details_note (const GError *error);

/* -- parameters (dal-params.c) -- */

typedef struct _DalParamsOwned DalParamsOwned;
/* Converts a GVariant (tuple, or one value) into DalParams; consumes a
 * floating ref.  @params may be NULL (no parameters). */
DalParamsOwned *_dal_params_new (GVariant *params, GError **error);
/* Results held in a batch result's block (dal-result.c): their
 * references are the batch result's. */
void _dal_result_init (DalResult *result, const DalResultFuncs *funcs,
                       gpointer impl, DalBatchResult *owner);
/* Room for @n results side by side (a batch result's block, zeroed by
 * whoever allocates it). */
gsize _dal_result_block_bytes (guint n);
DalResult *_dal_result_block_at (DalResult *block, guint index);
/* Frees the plugin result one entry of a block holds. */
void _dal_result_block_clear (DalResult *result);

/* @n texts (NULL: SQL NULL), copied. */
DalParamsOwned *_dal_params_new_texts (guint n, const char * const *texts);
/* The same in memory from @alloc0 (zeroed, 8-byte aligned, never freed
 * one by one: _dal_params_free() leaves it to its owner). */
DalParamsOwned *_dal_params_new_texts_with (guint n, const char * const *texts,
                                            gpointer (*alloc0) (gsize size,
                                                                gpointer data),
                                            gpointer data);
const DalParams *_dal_params_get (const DalParamsOwned *owned);
void _dal_params_free (DalParamsOwned *owned);

/* -- registry (dal-registry.c) -- */

/* The descriptor of a loaded plugin (NULL until loaded), and its function
 * table copied to full size (slots the plugin was not built with are NULL). */
const DalPluginDescriptor *_dal_plugin_get_descriptor (const DalPlugin *plugin);
const DalPluginFuncs *_dal_plugin_get_funcs (const DalPlugin *plugin);
/* The registry @plugin belongs to (transfer none): what a connection
 * holds a reference on while it uses the plugin. */
DalRegistry *_dal_plugin_get_registry (const DalPlugin *plugin);

/* The dialect @name (canonical or alias, lower case) as @registry's
 * plugin for it declares it (NULL: the default registry): loads that
 * plugin (the dialect-default one first), and no plugin of another
 * dialect.  NULL when no plugin of @registry declares it. */
const DalDialect *_dal_registry_learn_dialect (DalRegistry *registry,
                                               const char *name);
/* Checks @url against @dialect (the one of the plugin that will serve it)
 * as dal_url_parse() does when it knows the dialect: every option known,
 * every value valid.  TRUE when @dialect is NULL (dal-url.c). */
gboolean _dal_url_check_dialect (const DalUrl *url, const DalDialect *dialect,
                                 GError **error);

/* Retired driver names: the DAL_ERROR_RETIRED_DRIVER naming the
 * replacement for @scheme (canonical), or NULL when it is not retired. */
GError *_dal_retired_driver_error (const char *scheme);
/* The scheme the default registry maps @scheme to (DAL_DRIVER_MAP,
 * dal_registry_map_driver()), or NULL.  Free it. */
char *_dal_registry_get_mapping (DalRegistry *registry, const char *scheme);
/* Warns that @from is used as @to because @where maps it: once per
 * mapping and process (DAL_DRIVER_MAP and DalConfig's [drivers]). */
void _dal_driver_mapping_warn (const char *from, const char *to,
                               const char *where);
/* Forgets which mapping warnings were given (tests). */
void _dal_driver_mapping_reset_warnings (void);

/* -- TLS policy (dal-tls.c) -- */

/* A certificate expiring within this many days is reported (once per
 * file and process). */
#define DAL_TLS_EXPIRY_WARNING_DAYS 30

/* Whether @host is supabase.co / supabase.com or under them; whether a
 * connection to @host (name, address, socket directory, ""/NULL for the
 * default socket) stays on this machine.  No name is resolved. */
gboolean _dal_tls_host_is_supabase (const char *host);
gboolean _dal_tls_host_is_local (const char *host);
/* The TLS mode the plugin will use for @url (the client library's default
 * when nothing says otherwise), after the Supabase rules; a
 * DAL_ERROR_TLS_CONFIG for an insecure choice without allow_insecure_tls.
 * NULL without an error for dialects without a DalDialectTls.  No I/O, no
 * logging. */
char *_dal_tls_effective_mode (const DalUrl *url, GError **error);
/* The OpenSSL checks of the CA, client certificate, key and CRL files
 * that TLS mode @mode will use; gives the expiry warnings.  No network. */
gboolean _dal_tls_preflight (const DalUrl *url, const char *mode,
                             GError **error);
/* All of it, as the core runs it before a plugin connects; returns the
 * URL to hand to the plugin (a new reference; @url when nothing changes). */
DalUrl *_dal_tls_apply (DalUrl *url, GError **error);
/* Forgets which warnings were given (tests). */
void _dal_tls_reset_warnings (void);
/* After a connection is made (@get_info, @handle: the plugin's): one
 * g_warning per target and process when it went without TLS (or below
 * TLSv1.2) because allow_insecure_tls=true let it. */
void _dal_tls_check_connection (const DalUrl *url,
                                char *(*get_info) (gpointer handle, const char *key),
                                gpointer handle);

/* -- what a statement does to the session (dal-sql.c) -- */

/* What running @sql may leave behind on the connection, after its own
 * transaction ended, by its text alone (comments, quoted literals and
 * identifiers, dollar quotes and letter case understood; several
 * statements separated by ';' all count):
 *   CLEAN: nothing outside the transaction (SELECT, INSERT, BEGIN,
 *     COMMIT, SET LOCAL, SET TRANSACTION, SHOW, ...);
 *   RESETTABLE: session state that the pool's reset undoes: SET / RESET
 *     of a setting, set_config(), LISTEN / UNLISTEN, DECLARE (cursors),
 *     pg_advisory_lock*() / pg_try_advisory_lock*() (not the _xact_
 *     ones);
 *   REPLACE: session state the reset does not undo, the connection is
 *     closed instead: PREPARE, DEALLOCATE, DISCARD, LOAD, CREATE
 *     TEMP/TEMPORARY, SET SESSION AUTHORIZATION, SET ROLE, anything
 *     that cannot be read (unterminated quote).
 * Values are ordered: a statement's effect is the largest of its parts. */
typedef enum
{
  DAL_SESSION_CLEAN = 0,
  DAL_SESSION_RESETTABLE = 1,
  DAL_SESSION_REPLACE = 2,
} DalSessionEffect;

DalSessionEffect _dal_sql_session_effect (const char *sql);
/* The same, and in *@opens_tx (unless NULL) whether @sql may leave a
 * transaction block open: BEGIN, START TRANSACTION, COMMIT / ROLLBACK
 * AND CHAIN, or any text with a ';' (several statements, or a ';' in a
 * literal: not read further).  Every other single statement leaves the
 * transaction state as it found it, or ends the block. */
DalSessionEffect _dal_sql_statement_effects (const char *sql, gboolean *opens_tx);
/* Whether @sql has a LISTEN statement (read as above; in a DO body too). */
gboolean _dal_sql_listens (const char *sql);

/* -- the connection facade, as the pool uses it (dal-connection.c) -- */

typedef enum
{
  DAL_TX_UNKNOWN = 0,   /* the plugin does not say, or a statement runs */
  DAL_TX_IDLE,          /* no transaction open */
  DAL_TX_INTRANS,       /* in a transaction block */
  DAL_TX_INERROR,       /* in a failed transaction block */
} DalTxStatus;

/* Whether the connection lives on a main context (the plugin serves
 * async calls natively): its async calls must all come from that one
 * context, and blocking calls from another thread are safe only when
 * nobody iterates that context. */
gboolean _dal_connection_is_context_bound (DalConnection *connection);
/* Whether several statements may be in flight on it at once (native
 * async slots and DAL_PLUGIN_CAP_PIPELINE). */
gboolean _dal_connection_pipelines (DalConnection *connection);
/* Moves an idle connection (nothing pending, no blocking call running,
 * its current context not being iterated by anyone else meanwhile) to
 * @context.  FALSE when the plugin cannot (no set_context slot, ABI
 * < 1.2) or the connection is closed. */
gboolean _dal_connection_set_context (DalConnection *connection,
                                      GMainContext *context);
/* On an idle connection: reads without blocking what the server sent
 * while it was idle; FALSE (and the connection counts as lost from
 * then on) when it is gone.  TRUE when the plugin has no check_idle
 * slot.  No round trip. */
gboolean _dal_connection_check_idle (DalConnection *connection);
/* Plugins served by the facade's worker: waits until the worker has
 * nothing running or queued on @connection (no I/O; others: returns at
 * once).  Never call it from the worker itself. */
void _dal_connection_wait_idle (DalConnection *connection);
/* The transaction status as the plugin last saw it (no I/O). */
DalTxStatus _dal_connection_get_tx_status (DalConnection *connection);
/* Statements started on the connection so far (any thread; atomic). */
guint64 _dal_connection_get_n_statements (DalConnection *connection);
/* From now on, records the largest _dal_sql_session_effect() of the
 * statements started on the connection (tracking costs a scan of each
 * statement's text, so it is off until turned on). */
void _dal_connection_track_session (DalConnection *connection, gboolean on);
/* The effect recorded since the last call, which clears it. */
DalSessionEffect _dal_connection_take_session_effect (DalConnection *connection);
/* A pool lends @connection to a borrower on @context: what was recorded
 * goes, notifications not emitted yet go, the signals go to @context,
 * tracking is on.  @blocking: lent for blocking calls only (its sources
 * are parked on a context nobody runs): async calls fail at once with
 * DAL_ERROR_BUSY and a message saying so (ignored for plugins served by
 * the facade's worker, whose async calls work anywhere) until it is
 * given back. */
void _dal_connection_lend (DalConnection *connection, GMainContext *context,
                           gboolean blocking);
/* The borrower gave it back: tracking off, its signal handlers
 * disconnected, and the effect recorded while it was lent; *@may_be_in_tx
 * is FALSE when none of the borrower's statements could have left a
 * transaction block open (_dal_sql_statement_effects()). */
DalSessionEffect _dal_connection_give_back (DalConnection *connection,
                                            gboolean *may_be_in_tx);

/* LISTEN/NOTIFY (dal-notify.c), for the pool: the signal goes to
 * @context (NULL: the calling thread's default) from now on; what was
 * not emitted yet is dropped, and with @handlers (a borrower gave the
 * connection back) its handlers are disconnected. */
void _dal_notify_set_context (DalConnection *connection, GMainContext *context);
void _dal_notify_reset (DalConnection *connection, gboolean handlers);

/* The _finish of an open (connection or pool) tagged @tag
 * (dal-connection-open.c). */
gpointer _dal_open_finish (GAsyncResult *result, gpointer tag, GError **error);

/* Parses @url for an _async call; on failure completes a task of its own
 * (source tag @tag) with the error and returns NULL (dal-connection.c). */
DalUrl *_dal_url_parse_for_async (const char *url, GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data, gpointer tag);

/* -- environment -- */

/* getenv(), except that it returns NULL in setuid/setgid programs. */
const char *_dal_secure_getenv (const char *name);

G_END_DECLS

#endif /* DAL_PRIVATE_H */
