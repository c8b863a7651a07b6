/* dal-private.h: what the parts of libdal's core share with each other
 * and with the test suite.  Never installed.  Names start with _dal_ and
 * are exported (so the tests can reach them) but are not API.
 */
#ifndef DAL_PRIVATE_H
#define DAL_PRIVATE_H

#include <dal/dal-plugin.h>

G_BEGIN_DECLS

/* -- URL option tables (dal-url-options.c) -- */

typedef enum
{
  DAL_OPTION_STRING = 0,   /* any text */
  DAL_OPTION_DURATION,     /* seconds, fractional allowed, >= 0 */
  DAL_OPTION_UINT,         /* non-negative integer */
  DAL_OPTION_BOOLEAN,      /* true/false/1/0/yes/no/on/off */
  DAL_OPTION_ENUM,         /* one of a list */
  DAL_OPTION_PORT,         /* 1..65535 (lists allowed: "5432,5433") */
} DalOptionKind;

typedef struct
{
  const char *name;
  DalOptionKind kind;
  const char * const *choices;  /* DAL_OPTION_ENUM */
  guint min_client_version;     /* client library version that has it (libpq: 160000), 0 = any */
  gboolean libdal;              /* consumed by libdal, never handed to the client library */
} DalOptionInfo;

typedef struct
{
  const char *name;             /* canonical: "postgresql" */
  const char * const *aliases;  /* "postgres" */
  const DalOptionInfo *keywords;  /* the client library's keywords, in its order; NULL: any */
  guint n_keywords;
} DalDialectInfo;

/* The dialect called @name (canonical or alias, lower case), or NULL. */
const DalDialectInfo *_dal_dialect_lookup (const char *name);
/* libdal's own options (command_timeout, statement_cache_size, ...). */
const DalOptionInfo *_dal_libdal_option_lookup (const char *name);
/* All of them, in their canonical order. */
const DalOptionInfo *_dal_libdal_options_get (guint *n_options);
/* Checks @value against @info; on failure a DAL_ERROR_URL_INVALID_VALUE. */
gboolean _dal_option_check_value (const DalOptionInfo *info, const char *value,
                                  GError **error);
/* @text made safe to quote in a message: valid UTF-8 stays readable;
 * control characters, quotes, backslashes and invalid UTF-8 become \xNN. */
char *_dal_printable (const char *text);
/* Parses a duration in seconds ("1.5") into milliseconds. */
gboolean _dal_parse_duration_ms (const char *text, gint64 *out_ms);

/* -- errors (dal-error.c) -- */

/* The "what to change" sentence alone, and the message without it. */
void _dal_error_set_hint (GError *error, const char *hint);

/* -- parameters (dal-params.c) -- */

typedef struct _DalParamsOwned DalParamsOwned;
/* Converts a GVariant (tuple, or one value) into DalParams; consumes a
 * floating ref.  @params may be NULL (no parameters). */
DalParamsOwned *_dal_params_new (GVariant *params, GError **error);
/* @n texts (NULL: SQL NULL), copied. */
DalParamsOwned *_dal_params_new_texts (guint n, const char * const *texts);
const DalParams *_dal_params_get (const DalParamsOwned *owned);
void _dal_params_free (DalParamsOwned *owned);

/* -- registry (dal-registry.c) -- */

/* The descriptor of a loaded plugin (NULL until loaded), and its function
 * table copied to full size (slots the plugin was not built with are NULL). */
const DalPluginDescriptor *_dal_plugin_get_descriptor (const DalPlugin *plugin);
const DalPluginFuncs *_dal_plugin_get_funcs (const DalPlugin *plugin);

/* -- TLS policy (dal-tls.c) -- */

/* A certificate expiring within this many days is reported (once per
 * file and process). */
#define DAL_TLS_EXPIRY_WARNING_DAYS 30

/* Whether @host is supabase.co / supabase.com or under them; whether a
 * connection to @host (name, address, socket directory, ""/NULL for the
 * default socket) stays on this machine.  No name is resolved. */
gboolean _dal_tls_host_is_supabase (const char *host);
gboolean _dal_tls_host_is_local (const char *host);
/* The sslmode the plugin will use for @url (libpq's default "prefer" when
 * nothing says otherwise), after the Supabase rules; a DAL_ERROR_TLS_CONFIG
 * for an insecure choice without allow_insecure_tls.  NULL without an
 * error for dialects without libpq's TLS keywords.  No I/O, no logging. */
char *_dal_tls_effective_sslmode (const DalUrl *url, GError **error);
/* The OpenSSL checks of the CA, client certificate, key and CRL files
 * that @sslmode will use; gives the expiry warnings.  No network. */
gboolean _dal_tls_preflight (const DalUrl *url, const char *sslmode,
                             GError **error);
/* All of it, as the core runs it before a plugin connects; returns the
 * URL to hand to the plugin (a new reference; @url when nothing changes). */
DalUrl *_dal_tls_apply (DalUrl *url, GError **error);
/* Forgets which warnings were given (tests). */
void _dal_tls_reset_warnings (void);

/* -- environment -- */

/* getenv(), except that it returns NULL in setuid/setgid programs. */
const char *_dal_secure_getenv (const char *name);

G_END_DECLS

#endif /* DAL_PRIVATE_H */
