/* dal-pg-dialect.c: the postgresql dialect, as the PostgreSQL plugins
 * declare it to the core (DalDialect, plugin ABI 1.5).
 *
 * The options are libpq's connection keywords in libpq's own order
 * (PQconninfoOptions of libpq 15), so that the keywords a DalUrl yields
 * come out in the order PQconninfoParse() would give them.  Keywords that
 * appeared after libpq 15 follow, each with the libpq version that
 * brought it (min_client_version): dal_url_check_client_version() refuses
 * what the running libpq cannot do.
 */
#include "config.h"

#include <string.h>

#include "dal-pg.h"

static const char * const sslmode_choices[] = {
  "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL
};
static const char * const gssencmode_choices[] = {
  "disable", "prefer", "require", NULL
};
static const char * const channel_binding_choices[] = {
  "disable", "prefer", "require", NULL
};
static const char * const target_session_attrs_choices[] = {
  "any", "read-write", "read-only", "primary", "standby", "prefer-standby",
  NULL
};
/* libpq's booleans are "0" and "1" only. */
static const char * const zero_one_choices[] = { "0", "1", NULL };
static const char * const tls_version_choices[] = {
  "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL
};

#define OPT(name, type) { name, DAL_URL_OPTION_##type, 0, NULL, 0 }
#define OPT_SECRET(name) { name, DAL_URL_OPTION_STRING, DAL_URL_OPTION_SECRET, NULL, 0 }
#define OPT_ENUM(name, choices) { name, DAL_URL_OPTION_ENUM, 0, choices, 0 }
#define OPT_SINCE(name, version, flags) \
  { name, DAL_URL_OPTION_STRING, flags, NULL, version }

static const DalUrlOption pg_options[] = {
  /* libpq 15, in PQconninfoOptions order */
  OPT ("service", STRING),
  OPT ("user", STRING),
  OPT_SECRET ("password"),
  OPT ("passfile", STRING),
  OPT_ENUM ("channel_binding", channel_binding_choices),
  OPT ("connect_timeout", DURATION),  /* libdal takes fractions of seconds */
  OPT ("dbname", STRING),
  OPT ("host", STRING),
  OPT ("hostaddr", STRING),
  OPT ("port", PORT),
  OPT ("client_encoding", STRING),
  OPT ("options", STRING),
  OPT ("application_name", STRING),
  OPT ("fallback_application_name", STRING),
  OPT_ENUM ("keepalives", zero_one_choices),
  OPT ("keepalives_idle", UINT),
  OPT ("keepalives_interval", UINT),
  OPT ("keepalives_count", UINT),
  OPT ("tcp_user_timeout", UINT),
  OPT_ENUM ("sslmode", sslmode_choices),
  OPT_ENUM ("sslcompression", zero_one_choices),
  OPT ("sslcert", STRING),
  OPT ("sslkey", STRING),
  OPT_SECRET ("sslpassword"),
  OPT ("sslrootcert", STRING),
  OPT ("sslcrl", STRING),
  OPT ("sslcrldir", STRING),
  OPT_ENUM ("sslsni", zero_one_choices),
  OPT ("requirepeer", STRING),
  OPT_ENUM ("ssl_min_protocol_version", tls_version_choices),
  OPT_ENUM ("ssl_max_protocol_version", tls_version_choices),
  OPT_ENUM ("gssencmode", gssencmode_choices),
  OPT ("krbsrvname", STRING),
  OPT ("gsslib", STRING),
  OPT ("replication", STRING),
  OPT_ENUM ("target_session_attrs", target_session_attrs_choices),
  /* newer libpq: values are left for that libpq to check */
  OPT_SINCE ("require_auth", 160000, 0),
  OPT_SINCE ("sslcertmode", 160000, 0),
  OPT_SINCE ("load_balance_hosts", 160000, 0),
  OPT_SINCE ("gssdelegation", 160000, 0),
  OPT_SINCE ("sslnegotiation", 170000, 0),
  OPT_SINCE ("min_protocol_version", 180000, 0),
  OPT_SINCE ("max_protocol_version", 180000, 0),
  OPT_SINCE ("sslkeylogfile", 180000, 0),
  OPT_SINCE ("oauth_issuer", 180000, 0),
  OPT_SINCE ("oauth_client_id", 180000, 0),
  OPT_SINCE ("oauth_client_secret", 180000, DAL_URL_OPTION_SECRET),
  OPT_SINCE ("oauth_scope", 180000, 0),
};

static const char * const pg_aliases[] = { "postgres", NULL };
static const char * const pg_synonyms[] = { "ssl", "requiressl", NULL };

/* asyncpg's ssl= (true, false or an sslmode) and libpq's old
 * requiressl= ("1..." means require, anything else prefer); both stand
 * for sslmode. */
static const char *
pg_map_option (const char *name, const char *value, const char **mapped_value,
               GError **error)
{
  if (value == NULL)
    return strcmp (name, "requiressl") == 0 || strcmp (name, "ssl") == 0
           ? "sslmode" : NULL;
  if (strcmp (name, "requiressl") == 0)
    {
      *mapped_value = value[0] == '1' ? "require" : "prefer";
      return "sslmode";
    }
  if (strcmp (name, "ssl") != 0)
    return NULL;

  if (strcmp (value, "true") == 0)
    *mapped_value = "require";
  else if (strcmp (value, "false") == 0)
    *mapped_value = "disable";
  else
    {
      *mapped_value = NULL;
      for (guint i = 0; sslmode_choices[i] != NULL; i++)
        if (strcmp (value, sslmode_choices[i]) == 0)
          *mapped_value = sslmode_choices[i];
    }
  if (*mapped_value != NULL)
    return "sslmode";

  g_autofree char *shown = g_strescape (value, NULL);
  g_propagate_error (error,
                     dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                         "Write ssl=true (sslmode=require), "
                                         "ssl=false (sslmode=disable) or "
                                         "ssl= followed by one of disable, "
                                         "allow, prefer, require, verify-ca, "
                                         "verify-full",
                                         "ssl=%s is not one of the values "
                                         "it takes", shown));
  return NULL;
}

static const char * const pg_more_tls_options[] = { "sslsni", NULL };

/* What libpq reads for the TLS policy's inputs. */
static const DalDialectTls pg_tls = {
  .mode = { "sslmode", "PGSSLMODE" },
  .root_cert = { "sslrootcert", "PGSSLROOTCERT" },
  .cert = { "sslcert", "PGSSLCERT" },
  .key = { "sslkey", "PGSSLKEY" },
  .key_password = { "sslpassword", NULL },
  .crl = { "sslcrl", "PGSSLCRL" },
  .crl_dir = { "sslcrldir", "PGSSLCRLDIR" },
  .min_protocol = { "ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION" },
  .max_protocol = { "ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION" },
  .host = { "host", "PGHOST" },
  .host_address = { "hostaddr", "PGHOSTADDR" },
  .default_mode = "prefer",
  .default_dir = ".postgresql",
  .default_root_cert = "root.crt",
  .default_cert = "postgresql.crt",
  .default_key = "postgresql.key",
  .more_options = pg_more_tls_options,
};

static const DalUrlNewerValue pg_newer_values[] = {
  { "sslrootcert", "system", 160000,
    "sslrootcert=system (the operating system's CA store)",
    "Point sslrootcert at a CA file instead (for the system store, e.g. "
    "/etc/ssl/certs/ca-certificates.crt), or run the program with libpq 16 "
    "or later" },
};

const DalDialect dal_pg_dialect = {
  .name = "postgresql",
  .aliases = pg_aliases,
  .flags = DAL_DIALECT_HOST_LIST,
  .options = pg_options,
  .n_options = G_N_ELEMENTS (pg_options),
  .user_option = "user",
  .password_option = "password",
  .host_option = "host",
  .port_option = "port",
  .path_option = "dbname",
  .client_library = "libpq",
  .docs_hint = "See the libpq connection parameters",
  .host_address_option = "hostaddr",
  .synonyms = pg_synonyms,
  .map_option = pg_map_option,
  .tls = &pg_tls,
  .newer_values = pg_newer_values,
  .n_newer_values = G_N_ELEMENTS (pg_newer_values),
  .query_hosts = dal_pg_query_hosts,
  .session_option = "options",
  .session_settings = dal_pg_startup_options_parse,
  .session_append = dal_pg_session_append,
};
