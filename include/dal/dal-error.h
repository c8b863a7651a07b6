/* dal-error.h: the one error domain of libdal.
 *
 * Every failure a caller can act on is a GError in the DAL_ERROR domain
 * (cancellation is G_IO_ERROR_CANCELLED, as everywhere in GIO).  The
 * message says what happened and what to change; the structured parts (the
 * SQLSTATE and the other fields a PostgreSQL server sends, whether a retry
 * can help, the "what to change" sentence on its own) are read with the
 * accessors below.  A password never appears in any of them.
 *
 * Programming errors (NULL where an object is required, a row index out of
 * range) are g_return_if_fail() criticals, not GErrors.
 */
#ifndef DAL_ERROR_H
#define DAL_ERROR_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

#define DAL_ERROR (dal_error_quark ())
DAL_AVAILABLE_IN_ALL
GQuark dal_error_quark (void);

/**
 * DalErrorCode:
 *
 * The codes of the DAL_ERROR domain.  The list only grows at the end: a
 * code's number never changes.
 */
typedef enum
{
  DAL_ERROR_FAILED = 0,               /* nothing more specific applies */

  /* The URL or the configuration (no network activity happened). */
  DAL_ERROR_URL_MALFORMED,            /* syntax error; the message gives the position */
  DAL_ERROR_URL_UNKNOWN_OPTION,       /* a query option nobody knows */
  DAL_ERROR_URL_INVALID_VALUE,        /* a known option with a value it cannot take */

  /* Resolving the scheme to a plugin. */
  DAL_ERROR_UNKNOWN_SCHEME,           /* no plugin serves dialect+driver */
  DAL_ERROR_RETIRED_DRIVER,           /* e.g. postgresql+psycopg: names the replacement */
  DAL_ERROR_PLUGIN_NOT_FOUND,         /* a descriptor names a module file that is not there */
  DAL_ERROR_PLUGIN_LOAD_FAILED,       /* the loader failed, or the module is not a libdal plugin */
  DAL_ERROR_PLUGIN_ABI_MISMATCH,      /* built for another plugin ABI */
  DAL_ERROR_PLUGIN_CONFLICT,          /* two plugins in one directory claim one driver */
  DAL_ERROR_UNSUPPORTED,              /* the plugin or its client library cannot do what was asked */

  /* Connecting. */
  DAL_ERROR_HOST_NOT_FOUND,           /* DNS: the host name does not resolve */
  DAL_ERROR_CONNECTION_REFUSED,       /* nothing listens on that host and port */
  DAL_ERROR_NETWORK_UNREACHABLE,      /* no route (typically IPv6 without IPv6 connectivity) */
  DAL_ERROR_CONNECT_TIMEOUT,          /* the connect deadline passed */
  DAL_ERROR_AUTH_FAILED,              /* wrong password (SQLSTATE 28P01) or similar */
  DAL_ERROR_UNKNOWN_DATABASE,         /* 3D000 */
  DAL_ERROR_UNKNOWN_ROLE,             /* the user does not exist */
  DAL_ERROR_TOO_MANY_CONNECTIONS,     /* 53300, retryable */
  DAL_ERROR_TLS_REQUIRED,             /* the server only accepts TLS connections */
  DAL_ERROR_TLS_UNAVAILABLE,          /* TLS was required but the server does not offer it */
  DAL_ERROR_TLS_VERIFY_FAILED,        /* the server certificate did not verify */
  DAL_ERROR_TLS_CONFIG,               /* a CA, certificate or key file is unusable */
  DAL_ERROR_POOLER_TENANT_NOT_FOUND,  /* Supabase pooler: tenant or user not found */
  DAL_ERROR_POOLER_MAX_CLIENTS,       /* a pooler's client limit was reached, retryable */
  DAL_ERROR_CONNECT_FAILED,           /* any other failure to connect */

  /* Using a connection. */
  DAL_ERROR_CONNECTION_LOST,          /* the server went away mid-operation */
  DAL_ERROR_QUERY_FAILED,             /* the server refused a statement; see the SQLSTATE */
  DAL_ERROR_QUERY_TIMEOUT,            /* command timeout expired; SQLSTATE 57014 */
  DAL_ERROR_PREPARED_STATEMENT,       /* 26000 / 42P05: typically a transaction pooler */
  DAL_ERROR_BUSY,                     /* the connection cannot take that operation now */
  DAL_ERROR_CLOSED,                   /* the connection was closed */
  DAL_ERROR_INVALID_PARAMETER,        /* a query parameter libdal cannot send */
  DAL_ERROR_TYPE_MISMATCH,            /* a result value is not of the type asked for */

  /* Pools (appended: codes never change). */
  DAL_ERROR_POOL_TIMEOUT,             /* no pooled connection became free in time; retryable */

  /* Configuration (appended: codes never change). */
  DAL_ERROR_CONFIG_INVALID,           /* a configuration file or variable libdal cannot use */

  /* Batches (appended: codes never change). */
  DAL_ERROR_BATCH_ABORTED,            /* not run: an earlier statement of its batch failed */
} DalErrorCode;

/**
 * DalErrorField:
 *
 * The fields a server error may carry (PostgreSQL's ErrorResponse fields).
 */
typedef enum
{
  DAL_ERROR_FIELD_SEVERITY = 0,
  DAL_ERROR_FIELD_SQLSTATE,
  DAL_ERROR_FIELD_MESSAGE,            /* the server's primary message */
  DAL_ERROR_FIELD_DETAIL,
  DAL_ERROR_FIELD_HINT,               /* the server's own hint */
  DAL_ERROR_FIELD_POSITION,           /* 1-based character position in the statement */
  DAL_ERROR_FIELD_SCHEMA,
  DAL_ERROR_FIELD_TABLE,
  DAL_ERROR_FIELD_COLUMN,
  DAL_ERROR_FIELD_DATATYPE,
  DAL_ERROR_FIELD_CONSTRAINT,
  DAL_ERROR_FIELD_CONTEXT,            /* where it happened: a call stack, one line each */
  DAL_ERROR_FIELD_INTERNAL_QUERY,     /* the statement a function ran that failed */
  DAL_ERROR_FIELD_INTERNAL_POSITION,  /* 1-based character position in that one */
  DAL_ERROR_N_FIELDS
} DalErrorField;

/**
 * dal_error_get_sqlstate:
 * @error: a GError
 *
 * Returns: (nullable) (transfer none): the five-character SQLSTATE of a
 *   DAL_ERROR, or %NULL when there is none (or @error is not a DAL_ERROR).
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_get_sqlstate (const GError *error);

/**
 * dal_error_get_hint:
 * @error: a GError
 *
 * Returns: (nullable) (transfer none): one sentence saying what to change,
 *   from libdal where it knows better, else the server's own hint.
 *   The message already ends with it; this is the sentence alone.
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_get_hint (const GError *error);

/**
 * dal_error_dup_what:
 * @error: a GError
 *
 * Returns: (transfer full): what happened: @error's message without the
 *   hint sentence it ends with (dal_error_get_hint()), for showing the
 *   two apart.  The whole message when it has no hint or @error is not a
 *   DAL_ERROR.
 */
DAL_AVAILABLE_IN_ALL
char *dal_error_dup_what (const GError *error);

/**
 * dal_error_get_field:
 * @error: a GError
 * @field: which field
 *
 * Returns: (nullable) (transfer none): that field as the server sent it.
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_get_field (const GError *error, DalErrorField field);

/**
 * dal_error_is_retryable:
 * @error: a GError
 *
 * Returns: %TRUE when trying the same thing again later can succeed,
 *   %FALSE when something must change first (a wrong password, an unknown
 *   database, a malformed URL).  Retryable: too many connections, a
 *   pooler's client limit, a lost connection, a connect timeout, a refused
 *   connection (a server restarting), a query timeout, and server errors
 *   of SQLSTATE class 08 (connection), 53 (resources), 57P (shutdown,
 *   restart), 40001 (serialization failure) and 40P01 (deadlock).
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_error_is_retryable (const GError *error);

/**
 * dal_error_code_to_string:
 * @code: a DalErrorCode
 *
 * Returns: (transfer none): the code's name without the prefix, in
 *   lower case with dashes, e.g. "auth-failed"; "unknown" for a number
 *   that is not a code.
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_code_to_string (DalErrorCode code);

G_END_DECLS

#endif /* DAL_ERROR_H */
