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

#include <glib-object.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

#define DAL_ERROR (dal_error_quark ())
DAL_AVAILABLE_IN_ALL
GQuark dal_error_quark (void);

/**
 * DalErrorCode:
 *
 * The codes of the DAL_ERROR domain.  The list only grows at the end: a
 * code's number never changes.  Its #GType is DAL_TYPE_ERROR
 * (dal_error_get_type()), named after the domain's quark so that
 * g-ir-scanner ties the enum to the domain.
 */
typedef enum /*< underscore_name=dal_error >*/
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
  DAL_ERROR_N_FIELDS /*< skip >*/
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

/**
 * DalErrorDetails:
 *
 * What a DAL_ERROR carries beyond its domain, code and message (the
 * SQLSTATE and the other server fields, the "what to change" sentence,
 * whether a retry can help), as an immutable, reference-counted boxed
 * structure, the form in which language bindings read them.
 *
 * A binding (PyGObject, GJS, ...) turns the #GError of a failed call into
 * an exception holding the domain, code and message only, and frees the
 * #GError.  libdal notes every DAL_ERROR freed on a thread as that
 * thread's last error, so right after catching the exception,
 * dal_error_details_get_last() on the same thread returns its details:
 *
 * |[<!-- language="Python" -->
 * try:
 *     conn.query("SELECT * FROM nowhere", None, None)
 * except GLib.Error as e:
 *     details = Dal.ErrorDetails.get_last()
 *     if details and details.get_message() == e.message:
 *         print(details.get_sqlstate())   # "42P01"
 * ]|
 *
 * Compare the message (or the code) as above: the last error is simply
 * the last DAL_ERROR freed on the thread, and a later call that fails
 * (or that recovers from an error internally) replaces it.  C code has
 * the #GError itself and uses dal_error_get_sqlstate() and its siblings,
 * or dal_error_details_new().
 *
 * Thread safety: a #DalErrorDetails may be shared between threads; each
 * thread has its own last error.
 *
 * Since: 0.1
 */
typedef struct _DalErrorDetails DalErrorDetails;

#define DAL_TYPE_ERROR_DETAILS (dal_error_details_get_type ())
/**
 * dal_error_details_get_type:
 *
 * Returns: the #GType of #DalErrorDetails, a boxed type whose copy is
 *   dal_error_details_ref() and whose free is dal_error_details_unref().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_error_details_get_type (void) G_GNUC_CONST;

/**
 * dal_error_details_new:
 * @error: a #GError
 *
 * Reads @error's details into a #DalErrorDetails.
 *
 * Returns: (transfer full) (nullable): the details of @error, or %NULL
 *   when @error is not a DAL_ERROR.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalErrorDetails *dal_error_details_new (const GError *error);

/**
 * dal_error_details_get_last:
 *
 * The details of the last DAL_ERROR freed on the calling thread: in a
 * language binding, those of the exception the last failing libdal call
 * raised (see #DalErrorDetails).  Thread-safe: each thread has its own.
 *
 * Returns: (transfer full) (nullable): the details, or %NULL when no
 *   DAL_ERROR was freed on this thread yet.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalErrorDetails *dal_error_details_get_last (void);

/**
 * dal_error_details_ref:
 * @details: a #DalErrorDetails
 *
 * Takes a reference; thread-safe.
 *
 * Returns: (transfer full): @details
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalErrorDetails *dal_error_details_ref (DalErrorDetails *details);

/**
 * dal_error_details_unref:
 * @details: (nullable) (transfer full): a #DalErrorDetails
 *
 * Drops a reference; thread-safe.  The last one frees @details.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_error_details_unref (DalErrorDetails *details);

/**
 * dal_error_details_get_code:
 * @details: a #DalErrorDetails
 *
 * Returns: the error's code in the DAL_ERROR domain
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalErrorCode dal_error_details_get_code (const DalErrorDetails *details);

/**
 * dal_error_details_get_message:
 * @details: a #DalErrorDetails
 *
 * Returns: (transfer none): the error's whole message, as the #GError had
 *   it (the binding's exception has the same)
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_details_get_message (const DalErrorDetails *details);

/**
 * dal_error_details_get_sqlstate:
 * @details: a #DalErrorDetails
 *
 * Returns: (nullable) (transfer none): the five-character SQLSTATE, or
 *   %NULL when there is none (as dal_error_get_sqlstate())
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_details_get_sqlstate (const DalErrorDetails *details);

/**
 * dal_error_details_get_hint:
 * @details: a #DalErrorDetails
 *
 * Returns: (nullable) (transfer none): the sentence saying what to
 *   change, or %NULL (as dal_error_get_hint())
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_details_get_hint (const DalErrorDetails *details);

/**
 * dal_error_details_get_what:
 * @details: a #DalErrorDetails
 *
 * Returns: (transfer none): what happened: the message without its hint
 *   sentence (as dal_error_dup_what())
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_details_get_what (const DalErrorDetails *details);

/**
 * dal_error_details_get_field:
 * @details: a #DalErrorDetails
 * @field: which field
 *
 * Returns: (nullable) (transfer none): that field as the server sent it,
 *   or %NULL (as dal_error_get_field())
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_details_get_field (const DalErrorDetails *details,
                                         DalErrorField field);

/**
 * dal_error_details_is_retryable:
 * @details: a #DalErrorDetails
 *
 * Returns: whether trying the same thing again later can succeed (as
 *   dal_error_is_retryable())
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_error_details_is_retryable (const DalErrorDetails *details);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalErrorDetails, dal_error_details_unref)

G_END_DECLS

#endif /* DAL_ERROR_H */
