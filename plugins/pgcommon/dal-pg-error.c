/* dal-pg-error.c: from what libpq (or the server, or a pooler in between)
 * said to a DAL_ERROR code and one sentence saying what to change.
 *
 * A failed connect has no PGresult: its SQLSTATE comes from libpq's
 * verbose text ("FATAL:  28P01: password authentication failed …").
 * Poolers speak in words only (PgBouncer, Supabase's Supavisor), so the
 * catalogue matches on SQLSTATE and on text.  The first matching row wins.
 */
#include "config.h"

#include <string.h>

#include "dal-pg.h"

#define HINT_PASSWORD \
  "Check the user name and password in the URL; percent-encode reserved " \
  "characters in the password (@ as %40, : as %3A, / as %2F, ? as %3F, " \
  "# as %23, % as %25)"
#define HINT_POOLER_STATEMENTS \
  "Behind a transaction pooler (PgBouncer in transaction mode, Supabase's " \
  "port 6543) consecutive statements may run on different server " \
  "connections: keep statement_cache_size=0 (the default) or add " \
  "pooler_mode=transaction to the URL"

#define HINT_TLS_ONLY \
  "The server accepts this user only over TLS: set sslmode=require, or " \
  "better sslmode=verify-full with sslrootcert=<CA file>, in the URL"
#define HINT_TENANT \
  "The Supabase pooler wants the user as postgres.<project-ref> and the " \
  "host exactly as shown in the dashboard (Connect > Connection string)"
#define HINT_MAX_CLIENTS \
  "Retry later; use fewer connections at once, or the transaction-mode " \
  "pooler (port 6543), which shares server connections"

#define HINT_SESSION_MAX_CLIENTS \
  "Retry later; in session mode the pooler takes only as many clients as " \
  "its pool size: open fewer connections at once, raise " \
  "the pool size in the dashboard, or use the transaction-mode pooler " \
  "(port 6543) with pooler_mode=transaction"
#define HINT_CIRCUIT_BREAKER \
  "The pooler stopped taking connections for this project after too many " \
  "failed attempts (usually a wrong password, or a database it could not " \
  "reach): fix the user name and password in the URL, then wait about ten " \
  "minutes before retrying; every failed attempt meanwhile can extend the block"
#define HINT_CHECKOUT_TIMEOUT \
  "The pooler found no free server connection in time: retry later; make " \
  "slow queries faster and transactions shorter, open fewer connections at " \
  "once, or raise the pool size in the dashboard"
#define HINT_DB_HANDLER_EXITED \
  "The pooler lost its own connection to the database (restart, failover, " \
  "overload): open a new connection and retry; if it keeps happening, check " \
  "that the database is up and not out of resources"

#define HINT_CONNECT_OTHER \
  "Check host, port, user, database and the TLS settings in the URL " \
  "against the server's (or pooler's) configuration and its log"

typedef enum
{
  RETRY_BY_CODE = 0,      /* the code's and the SQLSTATE's default */
  RETRY_YES,
  RETRY_NO,
} Retry;

typedef struct
{
  const char *sqlstate;   /* exact SQLSTATE, or NULL */
  const char *text;       /* substring of libpq's message, or NULL */
  const char *text2;      /* a second substring that must also appear */
  DalErrorCode code;
  const char *hint;
  Retry retry;
  gboolean first_line;    /* keep the first line of the text only: the
                           * rest is advice that the hint replaces */
} Rule;

/* Supavisor prefixes its messages with a code in parentheses, e.g.
 * "(ECHECKOUTTIMEOUT) Pool checkout timeout. …" (SQLSTATE XX000); its
 * older releases sent "MaxClientsInSessionMode: max clients reached …".
 * PgBouncer says "server login has been failing, try again later
 * (server_login_retry)" (08P01) while its logins to the server fail. */

/* Connect failures.  Order matters: specific before general. */
static const Rule connect_rules[] = {
  { NULL, "no pg_hba.conf entry", "no encryption", DAL_ERROR_TLS_REQUIRED,
    HINT_TLS_ONLY },
  { NULL, "no pg_hba.conf entry", "SSL off", DAL_ERROR_TLS_REQUIRED,
    HINT_TLS_ONLY },
  { NULL, "(ESSLREQUIRED)", NULL, DAL_ERROR_TLS_REQUIRED,
    "The pooler only accepts TLS connections: set sslmode=require (or "
    "verify-full with the Supabase CA as sslrootcert) in the URL" },
  { NULL, "SSL connection is required", NULL, DAL_ERROR_TLS_REQUIRED,
    "The server only accepts TLS connections: set sslmode=require (or "
    "verify-full with sslrootcert=<CA file>) in the URL" },
  { NULL, "no pg_hba.conf entry", NULL, DAL_ERROR_AUTH_FAILED,
    "The server's pg_hba.conf does not let this user connect to this "
    "database from this address: check user, database and sslmode in the "
    "URL, or ask the administrator to allow it" },
  { "28P01", NULL, NULL, DAL_ERROR_AUTH_FAILED, HINT_PASSWORD },
  { NULL, "password authentication failed", NULL, DAL_ERROR_AUTH_FAILED, HINT_PASSWORD },
  { NULL, "SASL authentication failed", NULL, DAL_ERROR_AUTH_FAILED, HINT_PASSWORD },
  { NULL, "no password supplied", NULL, DAL_ERROR_AUTH_FAILED,
    "The server asks for a password: put it in the URL "
    "(postgresql+driver://user:password@host/db, percent-encoded) or in "
    "~/.pgpass" },
  { NULL, "Tenant or user not found", NULL, DAL_ERROR_POOLER_TENANT_NOT_FOUND,
    HINT_TENANT },
  { NULL, "(ENOTFOUND)", NULL, DAL_ERROR_POOLER_TENANT_NOT_FOUND,
    HINT_TENANT },
  { NULL, "Max client connections reached", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_MAX_CLIENTS },
  { NULL, "(ENOIDENTIFIER)", NULL, DAL_ERROR_POOLER_TENANT_NOT_FOUND,
    "The pooler cannot tell which project to connect to: write the user as "
    "postgres.<project-ref> (Connect > Connection string in the dashboard "
    "shows it)", RETRY_NO },
  { NULL, "(ECIRCUITBREAKER)", NULL, DAL_ERROR_CONNECT_FAILED,
    HINT_CIRCUIT_BREAKER, RETRY_YES },
  { NULL, "(EMAXCONNSESSION)", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_SESSION_MAX_CLIENTS },
  { NULL, "(EMAXCLIENTSESSION)", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_SESSION_MAX_CLIENTS },
  { NULL, "MaxClientsInSessionMode", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_SESSION_MAX_CLIENTS },
  { NULL, "(ECHECKOUTTIMEOUT)", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_CHECKOUT_TIMEOUT, RETRY_YES, TRUE },
  { NULL, "(EDBHANDLEREXITED)", NULL, DAL_ERROR_CONNECT_FAILED,
    HINT_DB_HANDLER_EXITED, RETRY_YES },
  { NULL, "(server_login_retry)", NULL, DAL_ERROR_CONNECT_FAILED,
    "PgBouncer's own logins to the server have been failing, so it refuses "
    "clients for server_login_retry seconds: retry later; if it lasts, check "
    "the server credentials in PgBouncer's configuration (auth_file, "
    "auth_query) and that the server is up", RETRY_YES },
  { NULL, "(EMAXCONN", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_MAX_CLIENTS },
  { NULL, "no more connections allowed", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    "Retry later, open fewer connections, or raise the pooler's max_client_conn" },
  { "3D000", NULL, NULL, DAL_ERROR_UNKNOWN_DATABASE,
    "Check the database name after the host in the URL (\"/dbname\"), or "
    "create the database" },
  { NULL, "no such database", NULL, DAL_ERROR_UNKNOWN_DATABASE,
    "The pooler has no database by that name: check the database name in "
    "the URL against the pooler's [databases] section" },
  { NULL, "role \"", "does not exist", DAL_ERROR_UNKNOWN_ROLE,
    "Check the user name in the URL (on Supabase's pooler it is "
    "postgres.<project-ref>), or create the role" },
  { "53300", "for role", NULL, DAL_ERROR_TOO_MANY_CONNECTIONS,
    "The role's CONNECTION LIMIT is reached: retry later, close idle "
    "connections (or open fewer at once), or raise the limit (ALTER ROLE … "
    "CONNECTION LIMIT)" },
  { "53300", "for database", NULL, DAL_ERROR_TOO_MANY_CONNECTIONS,
    "The database's CONNECTION LIMIT is reached: retry later, close idle "
    "connections (or open fewer at once), or raise the limit (ALTER DATABASE "
    "… CONNECTION LIMIT)" },
  { "53300", NULL, NULL, DAL_ERROR_TOO_MANY_CONNECTIONS,
    "The server is at max_connections: retry later, use fewer connections "
    "(a pool), or connect through a pooler" },
  { "57P03", NULL, NULL, DAL_ERROR_CONNECT_FAILED,
    "The server is starting up or shutting down: retry in a moment" },
  { NULL, "server does not support SSL, but SSL was required", NULL,
    DAL_ERROR_TLS_UNAVAILABLE,
    "The server (or a pooler in front of it) does not offer TLS: enable TLS "
    "there, or, only on a network you trust, lower sslmode" },
  { NULL, "certificate has expired", NULL, DAL_ERROR_TLS_VERIFY_FAILED,
    "The server's certificate has expired: the server needs a new one (do "
    "not work around it by lowering sslmode)" },
  { NULL, "does not match host name", NULL, DAL_ERROR_TLS_VERIFY_FAILED,
    "The certificate does not name the host in the URL: connect with the "
    "name the certificate was issued for, or use sslmode=verify-ca to check "
    "the CA only" },
  { NULL, "certificate verify failed", NULL, DAL_ERROR_TLS_VERIFY_FAILED,
    "The server's certificate is not signed by the CA in sslrootcert: point "
    "sslrootcert at the CA that issued it (for Supabase, the CA downloaded "
    "from the dashboard)" },
  { NULL, "root certificate file", NULL, DAL_ERROR_TLS_CONFIG,
    "Point sslrootcert at a readable PEM file with the server's CA" },
  { NULL, "could not load private key", NULL, DAL_ERROR_TLS_CONFIG,
    "Check sslkey: it must be the PEM private key of sslcert" },
  { NULL, "private key file", NULL, DAL_ERROR_TLS_CONFIG,
    "Check sslkey: the file must exist and be readable by its owner only "
    "(chmod 600)" },
  { NULL, "certificate present, but not private key", NULL, DAL_ERROR_TLS_CONFIG,
    "Give sslkey with sslcert" },
  { NULL, "could not read certificate", NULL, DAL_ERROR_TLS_CONFIG,
    "Check sslcert: it must be a readable PEM certificate" },
  { NULL, "Connection refused", NULL, DAL_ERROR_CONNECTION_REFUSED,
    "Is the server running on that host and accepting TCP/IP connections on "
    "that port? Check host and port in the URL" },
  { NULL, "No such file or directory", ".s.PGSQL.", DAL_ERROR_CONNECTION_REFUSED,
    "Is the server running locally with its socket in that directory? Check "
    "host (the socket directory) and port in the URL" },
  { NULL, "could not translate host name", NULL, DAL_ERROR_HOST_NOT_FOUND,
    DAL_PG_HINT_HOST_NOT_FOUND },
  { NULL, "Network is unreachable", NULL, DAL_ERROR_NETWORK_UNREACHABLE,
    "This machine has no route to that address; an IPv6-only host needs "
    "IPv6 connectivity here, or use an IPv4 endpoint" },
  { NULL, "No route to host", NULL, DAL_ERROR_NETWORK_UNREACHABLE,
    "This machine has no route to that address: check the host, the network "
    "and firewalls" },
  { NULL, "Cannot assign requested address", NULL, DAL_ERROR_NETWORK_UNREACHABLE,
    "This machine cannot reach that address family (often IPv6): use an "
    "endpoint with an address this machine can reach" },
  { NULL, "timeout expired", NULL, DAL_ERROR_CONNECT_TIMEOUT,
    "Check that the server is reachable and healthy, or raise connect_timeout" },
};

/* Statement failures, by SQLSTATE (and the class "08"). */
static const Rule result_rules[] = {
  { "57014", NULL, NULL, DAL_ERROR_QUERY_TIMEOUT,
    "The statement ran longer than its timeout: make it faster, or raise "
    "command_timeout (or the server's statement_timeout)" },
  { "26000", NULL, NULL, DAL_ERROR_PREPARED_STATEMENT, HINT_POOLER_STATEMENTS },
  { "42P05", NULL, NULL, DAL_ERROR_PREPARED_STATEMENT, HINT_POOLER_STATEMENTS },
  /* A pooler's words in the middle of a session (Supavisor's transaction
   * mode checks a server connection out for every transaction). */
  { NULL, "(ECHECKOUTTIMEOUT)", NULL, DAL_ERROR_POOLER_MAX_CLIENTS,
    HINT_CHECKOUT_TIMEOUT, RETRY_YES, TRUE },
  { NULL, "(EDBHANDLEREXITED)", NULL, DAL_ERROR_CONNECTION_LOST,
    HINT_DB_HANDLER_EXITED, RETRY_YES },
  { NULL, "(ECIRCUITBREAKER)", NULL, DAL_ERROR_CONNECTION_LOST,
    HINT_CIRCUIT_BREAKER, RETRY_YES },
  { "57P01", NULL, NULL, DAL_ERROR_CONNECTION_LOST,
    "The server ended this session (administrator command or shutdown): "
    "open a new connection and retry" },
  { "57P02", NULL, NULL, DAL_ERROR_CONNECTION_LOST,
    "The server crashed and is restarting: open a new connection and retry" },
  { "57P03", NULL, NULL, DAL_ERROR_CONNECTION_LOST,
    "The server is not accepting connections now: retry in a moment" },
  { "57P05", NULL, NULL, DAL_ERROR_CONNECTION_LOST,
    "The server closed this session after it sat idle longer than "
    "idle_session_timeout: open a new connection (and close idle ones "
    "yourself, or raise that setting)" },
  { "25P03", NULL, NULL, DAL_ERROR_CONNECTION_LOST,
    "The server ended the session because a transaction stayed idle longer "
    "than idle_in_transaction_session_timeout: keep transactions short (or "
    "raise that setting), then run the whole transaction again on a new "
    "connection" },
};

/* Statement failures without a rule: a sentence per SQLSTATE class. */
static const struct
{
  const char *prefix;
  const char *hint;
} class_hints[] = {
  { "40001", "Another transaction changed the same rows: run the whole "
             "transaction again" },
  { "40P01", "Two transactions waited on each other: run the whole "
             "transaction again (and take locks in the same order everywhere)" },
  { "42P01", "Check the table name (and the schema, or search_path), or "
             "create the table (are the migrations applied?)" },
  { "42703", "Check the column name against the table's definition" },
  { "42", "Fix the statement: see the position and the server's message" },
  { "23", "The data breaks a constraint (see the constraint, table and "
          "detail fields): change the data or the statement" },
  { "22", "A value does not fit its column or type: check the parameters "
          "and the data" },
  { "25", "The statement does not fit the transaction's state: after an "
          "error, ROLLBACK before going on" },
  { "53", "The server ran out of a resource: retry later" },
  { "", "See the server's message and SQLSTATE; the PostgreSQL manual "
        "lists every SQLSTATE (Appendix A)" },
};

static const char *
class_hint (const char *sqlstate)
{
  for (gsize i = 0; i < G_N_ELEMENTS (class_hints); i++)
    if (g_str_has_prefix (sqlstate != NULL ? sqlstate : "", class_hints[i].prefix))
      return class_hints[i].hint;
  return NULL;
}

/* The regexes below run on error paths only: no G_REGEX_OPTIMIZE (PCRE's
 * JIT buys nothing there and its generated code reads past buffers in a
 * way valgrind reports). */
static const char *
extract_sqlstate (const char *message, char out[6])
{
  static GRegex *re;
  if (g_once_init_enter (&re))
    g_once_init_leave (&re, g_regex_new ("(?:FATAL|ERROR|PANIC):\\s+([0-9A-Z]{5}):",
                                         0, 0, NULL));
  g_autoptr (GMatchInfo) mi = NULL;
  if (!g_regex_match (re, message, 0, &mi))
    return NULL;
  g_autofree char *s = g_match_info_fetch (mi, 1);
  memcpy (out, s, 6);
  return out;
}

static const Rule *
match_rule (const Rule *rules, gsize n, const char *sqlstate, const char *text)
{
  for (gsize i = 0; i < n; i++)
    {
      const Rule *r = &rules[i];
      if (r->sqlstate != NULL && g_strcmp0 (sqlstate, r->sqlstate) != 0)
        continue;
      if (r->text != NULL && (text == NULL || strstr (text, r->text) == NULL))
        continue;
      if (r->text2 != NULL && (text == NULL || strstr (text, r->text2) == NULL))
        continue;
      return r;
    }
  return NULL;
}

static void
apply_retry (GError *error, const Rule *r)
{
  if (r != NULL && r->retry != RETRY_BY_CODE)
    dal_error_set_retryable (error, r->retry == RETRY_YES);
}

/* The lines of libpq's text that say something, without severity and
 * SQLSTATE prefixes, each once.  *@server is the index of the first line
 * that came from the server (it had a severity), or -1. */
static GPtrArray *
message_lines (const char *libpq_message, int *server)
{
  static GRegex *prefix;
  if (g_once_init_enter (&prefix))
    g_once_init_leave (&prefix,
                       g_regex_new ("(?:FATAL|ERROR|PANIC|WARNING):\\s+(?:[0-9A-Z]{5}:\\s+)?",
                                    0, 0, NULL));

  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  *server = -1;
  g_auto (GStrv) lines = g_strsplit (libpq_message != NULL ? libpq_message : "", "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      /* libpq's indented advice is replaced by ours; the server's source
       * location is noise for a user. */
      if (**l == '\t' || **l == '\0' || g_str_has_prefix (*l, "LOCATION:"))
        continue;
      char *clean = g_regex_replace_literal (prefix, *l, -1, 0, "", 0, NULL);
      gboolean from_server = strcmp (clean, *l) != 0;
      g_strstrip (clean);
      gboolean seen = FALSE;
      for (guint i = 0; i < out->len && !seen; i++)
        seen = strcmp (out->pdata[i], clean) == 0;
      if (*clean == '\0' || seen)
        {
          g_free (clean);
          continue;
        }
      if (from_server && *server < 0)
        *server = (int) out->len;
      g_ptr_array_add (out, clean);
    }
  return out;
}

/* A line cut before the list it introduced ("… You can address this by:")
 * loses that introduction too. */
static void
drop_list_intro (char *line)
{
  gsize len = strlen (line);
  if (len == 0 || line[len - 1] != ':')
    return;
  char *dot = g_strrstr (line, ". ");
  if (dot != NULL)
    dot[1] = '\0';
}

char *
dal_pg_clean_message (const char *libpq_message)
{
  int server;
  g_autoptr (GPtrArray) lines = message_lines (libpq_message, &server);
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < lines->len; i++)
    {
      if (out->len > 0)
        g_string_append (out, "; ");
      g_string_append (out, lines->pdata[i]);
    }
  return g_string_free (out, FALSE);
}

GError *
dal_pg_error_from_connect (const char *libpq_message, const char *where)
{
  char buf[6];
  const char *sqlstate = extract_sqlstate (libpq_message, buf);
  const Rule *r = match_rule (connect_rules, G_N_ELEMENTS (connect_rules),
                              sqlstate, libpq_message);
  g_autofree char *clean = NULL;
  if (r != NULL && r->first_line)
    {
      int server;
      g_autoptr (GPtrArray) lines = message_lines (libpq_message, &server);
      clean = g_strdup (lines->len > 0 ? lines->pdata[0] : "");
      drop_list_intro (clean);
    }
  else
    clean = dal_pg_clean_message (libpq_message);

  /* libpq names the server in its own words when it got that far. */
  gboolean says_where = strstr (clean, "connection to server") != NULL
                        || strstr (clean, "host name") != NULL;
  g_autofree char *what = says_where
                             ? g_strdup (clean)
                             : g_strdup_printf ("connection to %s failed: %s", where, clean);
  GError *error = dal_error_new_hint (r != NULL ? r->code : DAL_ERROR_CONNECT_FAILED,
                                      r != NULL ? r->hint : HINT_CONNECT_OTHER,
                                      "%s", what);
  if (sqlstate != NULL)
    dal_error_set_field (error, DAL_ERROR_FIELD_SQLSTATE, sqlstate);
  apply_retry (error, r);
  return error;
}

/* What the server says when it ends a session, for the connection's
 * default verbosity, which leaves the SQLSTATE out of libpq's text. */
static const struct
{
  const char *text;
  const char *sqlstate;
} session_enders[] = {
  { "terminating connection due to administrator command", "57P01" },
  { "terminating connection because of crash of another server process", "57P02" },
  { "terminating connection due to idle-session timeout", "57P05" },
  { "terminating connection due to idle-in-transaction timeout", "25P03" },
};

/* The connection broke.  libpq's text is the server's FATAL message, if it
 * sent one, then its own lines ("server closed the connection
 * unexpectedly", "SSL connection has been closed unexpectedly", advice):
 * the message keeps the first that says why, with the server's SQLSTATE. */
static GError *
connection_lost (const char *libpq_message)
{
  int server;
  g_autoptr (GPtrArray) lines = message_lines (libpq_message, &server);
  const char *why = lines->len == 0 ? "server closed the connection"
                    : lines->pdata[server >= 0 ? server : 0];
  char buf[6];
  const char *sqlstate = server >= 0 ? extract_sqlstate (libpq_message, buf) : NULL;
  for (gsize i = 0; sqlstate == NULL && server >= 0 && i < G_N_ELEMENTS (session_enders); i++)
    if (strcmp (why, session_enders[i].text) == 0)
      sqlstate = session_enders[i].sqlstate;
  const Rule *r = sqlstate != NULL
                    ? match_rule (result_rules, G_N_ELEMENTS (result_rules), sqlstate, why)
                    : NULL;
  const char *hint = r != NULL && r->code == DAL_ERROR_CONNECTION_LOST
                       ? r->hint
                       : "The server or the network ended the connection (restart, "
                         "failover, idle timeout, pooler): open a new connection and retry";

  GError *error = dal_error_new_hint (DAL_ERROR_CONNECTION_LOST, hint,
                                      "connection to the server was lost: %s%s%s%s", why,
                                      sqlstate != NULL ? " (SQLSTATE " : "",
                                      sqlstate != NULL ? sqlstate : "",
                                      sqlstate != NULL ? ")" : "");
  if (server >= 0)
    {
      dal_error_set_field (error, DAL_ERROR_FIELD_SEVERITY, "FATAL");
      dal_error_set_field (error, DAL_ERROR_FIELD_MESSAGE, why);
      dal_error_set_field (error, DAL_ERROR_FIELD_SQLSTATE, sqlstate);
    }
  apply_retry (error, r);
  return error;
}

static const PGresult *
usable (const PGresult *result)
{
  return result != NULL && PQresultErrorField (result, PG_DIAG_SQLSTATE) != NULL
           ? result : NULL;
}

/* libpq's field codes for each DalErrorField. */
static const struct
{
  int pg;
  DalErrorField field;
} pg_fields[] = {
  { PG_DIAG_SEVERITY_NONLOCALIZED, DAL_ERROR_FIELD_SEVERITY },
  { PG_DIAG_SQLSTATE, DAL_ERROR_FIELD_SQLSTATE },
  { PG_DIAG_MESSAGE_PRIMARY, DAL_ERROR_FIELD_MESSAGE },
  { PG_DIAG_MESSAGE_DETAIL, DAL_ERROR_FIELD_DETAIL },
  { PG_DIAG_MESSAGE_HINT, DAL_ERROR_FIELD_HINT },
  { PG_DIAG_STATEMENT_POSITION, DAL_ERROR_FIELD_POSITION },
  { PG_DIAG_SCHEMA_NAME, DAL_ERROR_FIELD_SCHEMA },
  { PG_DIAG_TABLE_NAME, DAL_ERROR_FIELD_TABLE },
  { PG_DIAG_COLUMN_NAME, DAL_ERROR_FIELD_COLUMN },
  { PG_DIAG_DATATYPE_NAME, DAL_ERROR_FIELD_DATATYPE },
  { PG_DIAG_CONSTRAINT_NAME, DAL_ERROR_FIELD_CONSTRAINT },
  { PG_DIAG_CONTEXT, DAL_ERROR_FIELD_CONTEXT },
  { PG_DIAG_INTERNAL_QUERY, DAL_ERROR_FIELD_INTERNAL_QUERY },
  { PG_DIAG_INTERNAL_POSITION, DAL_ERROR_FIELD_INTERNAL_POSITION },
};

void
dal_pg_result_fields (const PGresult *result, const char **fields)
{
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    fields[i] = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (pg_fields); i++)
    fields[pg_fields[i].field] = PQresultErrorField (result, pg_fields[i].pg);
}

GError *
dal_pg_error_from_result (PGconn *conn, const PGresult *result)
{
  result = usable (result);
  if (result == NULL)
    {
      if (PQstatus (conn) == CONNECTION_BAD)
        return connection_lost (PQerrorMessage (conn));
      /* No server error, the connection still up: libpq refused locally. */
      g_autofree char *clean = dal_pg_clean_message (PQerrorMessage (conn));
      return dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL, "%s",
                                 *clean != '\0' ? clean : "the statement failed");
    }

  const char *sqlstate = PQresultErrorField (result, PG_DIAG_SQLSTATE);
  const char *primary = PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY);
  const char *detail = PQresultErrorField (result, PG_DIAG_MESSAGE_DETAIL);
  const char *server_hint = PQresultErrorField (result, PG_DIAG_MESSAGE_HINT);
  const Rule *r = match_rule (result_rules, G_N_ELEMENTS (result_rules), sqlstate, primary);
  /* Class 08 means the connection is gone only when the session ended: a
   * plain ERROR such as 08P01 (a Bind with the wrong number of parameters)
   * leaves it usable, and retrying the same statement cannot help. */
  const char *severity = PQresultErrorField (result, PG_DIAG_SEVERITY_NONLOCALIZED);
  gboolean session_over = PQstatus (conn) == CONNECTION_BAD
                          || g_strcmp0 (severity, "FATAL") == 0
                          || g_strcmp0 (severity, "PANIC") == 0;
  gboolean class_08 = g_str_has_prefix (sqlstate, "08");
  DalErrorCode code = r != NULL ? r->code
                      : class_08 && session_over ? DAL_ERROR_CONNECTION_LOST
                      : DAL_ERROR_QUERY_FAILED;
  const char *hint = r != NULL ? r->hint
                     : server_hint != NULL ? server_hint : class_hint (sqlstate);

  g_autofree char *what = g_strdup (primary != NULL ? primary : "error");
  if (r != NULL && r->first_line)
    {
      char *nl = strchr (what, '\n');
      if (nl != NULL)
        *nl = '\0';
      drop_list_intro (g_strchomp (what));
      gsize len = strlen (what);
      while (len > 0 && what[len - 1] == '.')
        what[--len] = '\0';
    }
  GError *error = dal_error_new_hint (code, hint, "%s (SQLSTATE %s)%s%s", what, sqlstate,
                                      detail != NULL ? ": " : "",
                                      detail != NULL ? detail : "");
  const char *values[DAL_ERROR_N_FIELDS];
  dal_pg_result_fields (result, values);
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    if (values[i] != NULL)
      dal_error_set_field (error, i, values[i]);
  if (class_08 && code == DAL_ERROR_QUERY_FAILED)
    dal_error_set_retryable (error, FALSE);
  apply_retry (error, r);
  return error;
}

/* -- advice that depends on the host -- */

/* The project ref of a Supabase direct-connection host,
 * "db.<ref>.supabase.co" in any case, in lower case. */
static char *
supabase_direct_ref (const char *host)
{
  if (!dal_hostname_has_suffix (host, "supabase.co")
      || g_ascii_strncasecmp (host, "db.", 3) != 0)
    return NULL;
  /* "db." <ref> ".supabase.co", nothing between (a final dot allowed) */
  const char *ref = host + 3;
  const char *end = strchr (ref, '.');
  if (end == NULL || end == ref
      || (g_ascii_strcasecmp (end + 1, "supabase.co") != 0
          && g_ascii_strcasecmp (end + 1, "supabase.co.") != 0))
    return NULL;
  return g_ascii_strdown (ref, end - ref);
}

/* @error's message without its hint sentence. */
char *
dal_pg_error_what_happened (const GError *error)
{
  const char *hint = dal_error_get_hint (error);
  gsize len = strlen (error->message);
  if (hint != NULL && *hint != '\0' && g_str_has_suffix (error->message, hint))
    {
      len -= strlen (hint);
      while (len > 0 && strchr (" .", error->message[len - 1]) != NULL)
        len--;
    }
  return g_strndup (error->message, len);
}

/* A copy of @error (taken) with another hint. */
static GError *
with_hint (GError *error, const char *hint)
{
  g_autofree char *what = dal_pg_error_what_happened (error);
  GError *e = dal_error_new_hint (error->code, hint, "%s", what);
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    dal_error_set_field (e, i, dal_error_get_field (error, i));
  dal_error_set_retryable (e, dal_error_is_retryable (error));
  g_error_free (error);
  return e;
}

GError *
dal_pg_error_add_host_advice (GError *error, const char *host)
{
  if (error == NULL || error->domain != DAL_ERROR)
    return error;
  if (error->code != DAL_ERROR_NETWORK_UNREACHABLE && error->code != DAL_ERROR_HOST_NOT_FOUND
      && error->code != DAL_ERROR_CONNECT_TIMEOUT)
    return error;
  g_autofree char *ref = supabase_direct_ref (host);
  if (ref == NULL)
    return error;

  g_autofree char *hint = g_strdup_printf (
    "%s%s has only an IPv6 address unless the project has the IPv4 add-on, "
    "so it cannot be reached from a network without IPv6: connect through "
    "Supabase's session pooler instead, host aws-N-<region>.pooler.supabase.com "
    "port 5432 with user postgres.%s (copy the exact string from the "
    "dashboard: Connect > Session pooler), or enable the IPv4 add-on",
    error->code == DAL_ERROR_HOST_NOT_FOUND
      ? "Check the project ref in the host name; also, " : "",
    host, ref);
  return with_hint (error, hint);
}

/* -- certificates that did not verify -- */

GError *
dal_pg_error_from_tls_probe (const DalPgTlsProbe *p)
{
  GError *base = dal_pg_error_from_connect (p->libpq_message, p->where);
  if (p->problem == DAL_PG_TLS_UNKNOWN || p->detail == NULL)
    return base;

  const char *hint;
  switch (p->problem)
    {
    case DAL_PG_TLS_EXPIRED:
      hint = p->depth == 0
               ? "The server's certificate has expired: its administrator must "
                 "install a renewed one (lowering sslmode would only hide the "
                 "problem)"
               : "A CA certificate in the server's chain has expired: the server "
                 "needs a chain with a current CA certificate (and sslrootcert "
                 "the current CA)";
      break;
    case DAL_PG_TLS_NOT_YET_VALID:
      hint = "Check this machine's clock; if it is right, the server's "
             "certificate is dated in the future and must be replaced";
      break;
    case DAL_PG_TLS_UNTRUSTED:
      hint = "Point sslrootcert at the CA that issued the server's certificate "
             "(for Supabase, the CA certificate downloaded from the dashboard)";
      break;
    case DAL_PG_TLS_REVOKED:
      hint = "The server's certificate was revoked: the server needs a new one "
             "(if the list in sslcrl is out of date, update it)";
      break;
    default:
      hint = dal_error_get_hint (base);
      break;
    }
  g_autofree char *what = dal_pg_error_what_happened (base);
  GError *e = dal_error_new_hint (DAL_ERROR_TLS_VERIFY_FAILED, hint, "%s: %s", what,
                                  p->detail);
  g_error_free (base);
  return e;
}
