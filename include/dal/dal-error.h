/* dal-error.h: the one error domain of libdal (see the doc comment of
 * DalErrorCode below). */
#ifndef DAL_ERROR_H
#define DAL_ERROR_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib-object.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/**
 * DAL_ERROR:
 *
 * The error domain of libdal: every failure a caller can act on is a
 * #GError in this domain, with a code from #DalErrorCode.  See
 * #DalErrorCode for what such an error carries.
 *
 * Since: 0.1
 */
#define DAL_ERROR (dal_error_quark ())

/**
 * dal_error_quark:
 *
 * Gets the error domain of libdal, %DAL_ERROR.
 *
 * Returns: the #GQuark of the %DAL_ERROR domain.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GQuark dal_error_quark (void);

/**
 * DalErrorCode:
 * @DAL_ERROR_FAILED: nothing more specific applies
 * @DAL_ERROR_URL_MALFORMED: the URL has a syntax error; the message gives
 *   the position.  (This and the next two: the URL or the configuration
 *   is wrong, no network activity happened.)
 * @DAL_ERROR_URL_UNKNOWN_OPTION: a query option nobody knows
 * @DAL_ERROR_URL_INVALID_VALUE: a known option with a value it cannot take
 * @DAL_ERROR_UNKNOWN_SCHEME: resolving the scheme: no plugin serves
 *   dialect+driver
 * @DAL_ERROR_RETIRED_DRIVER: the driver is retired, e.g.
 *   postgresql+psycopg: the message names the replacement
 * @DAL_ERROR_PLUGIN_NOT_FOUND: a descriptor names a module file that is
 *   not there
 * @DAL_ERROR_PLUGIN_LOAD_FAILED: the loader failed, or the module is not a
 *   libdal plugin (or is refused for its file permissions)
 * @DAL_ERROR_PLUGIN_ABI_MISMATCH: the plugin was built for another plugin
 *   ABI
 * @DAL_ERROR_PLUGIN_CONFLICT: two plugins in one directory claim one driver
 * @DAL_ERROR_UNSUPPORTED: the plugin or its client library cannot do what
 *   was asked
 * @DAL_ERROR_HOST_NOT_FOUND: connecting: DNS, the host name does not
 *   resolve
 * @DAL_ERROR_CONNECTION_REFUSED: nothing listens on that host and port
 * @DAL_ERROR_NETWORK_UNREACHABLE: no route (typically IPv6 without IPv6
 *   connectivity)
 * @DAL_ERROR_CONNECT_TIMEOUT: the connect deadline passed
 * @DAL_ERROR_AUTH_FAILED: wrong password (SQLSTATE 28P01) or similar
 * @DAL_ERROR_UNKNOWN_DATABASE: the database does not exist (SQLSTATE 3D000)
 * @DAL_ERROR_UNKNOWN_ROLE: the user does not exist
 * @DAL_ERROR_TOO_MANY_CONNECTIONS: the server has no connection slot left
 *   (SQLSTATE 53300), retryable
 * @DAL_ERROR_TLS_REQUIRED: the server only accepts TLS connections
 * @DAL_ERROR_TLS_UNAVAILABLE: TLS was required but the server does not
 *   offer it
 * @DAL_ERROR_TLS_VERIFY_FAILED: the server certificate did not verify
 * @DAL_ERROR_TLS_CONFIG: a CA, certificate or key file is unusable
 * @DAL_ERROR_POOLER_TENANT_NOT_FOUND: Supabase pooler: tenant or user not
 *   found
 * @DAL_ERROR_POOLER_MAX_CLIENTS: a pooler's client limit was reached,
 *   retryable
 * @DAL_ERROR_CONNECT_FAILED: any other failure to connect
 * @DAL_ERROR_CONNECTION_LOST: using a connection: the server went away
 *   mid-operation; the connection is lost (dal_connection_is_closed())
 * @DAL_ERROR_QUERY_FAILED: the server refused a statement; see the
 *   SQLSTATE (dal_error_get_sqlstate()) and the other fields
 * @DAL_ERROR_QUERY_TIMEOUT: the command timeout expired; SQLSTATE 57014
 * @DAL_ERROR_PREPARED_STATEMENT: SQLSTATE 26000 / 42P05: typically a
 *   transaction pooler
 * @DAL_ERROR_BUSY: the connection cannot take that operation now
 * @DAL_ERROR_CLOSED: the connection was closed
 * @DAL_ERROR_INVALID_PARAMETER: a query parameter libdal cannot send
 * @DAL_ERROR_TYPE_MISMATCH: a result value is not of the type asked for
 * @DAL_ERROR_POOL_TIMEOUT: pools: no pooled connection became free in
 *   time; retryable
 * @DAL_ERROR_CONFIG_INVALID: a configuration file or variable libdal
 *   cannot use
 * @DAL_ERROR_BATCH_ABORTED: batches: the statement did not run because an
 *   earlier statement of its batch failed
 *
 * The codes of the %DAL_ERROR domain.  The list only grows at the end: a
 * code's number never changes.  Its #GType is DAL_TYPE_ERROR
 * (dal_error_get_type()), named after the domain's quark so that
 * g-ir-scanner ties the enum to the domain.
 *
 * Every failure a caller can act on is a #GError in the %DAL_ERROR domain
 * (cancellation is %G_IO_ERROR_CANCELLED, as everywhere in GIO).  The
 * message says what happened and what to change; the structured parts (the
 * SQLSTATE and the other fields a PostgreSQL server sends, whether a retry
 * can help, the "what to change" sentence on its own) are read with
 * dal_error_get_sqlstate(), dal_error_get_field(),
 * dal_error_is_retryable(), dal_error_get_hint() and dal_error_dup_what().
 * They survive g_error_copy().  A password never appears in any of them.
 *
 * Programming errors (%NULL where an object is required, a row index out
 * of range) are g_return_if_fail() criticals, not errors in a #GError.
 *
 * Since: 0.1
 */
typedef enum /*< underscore_name=dal_error >*/
{
  DAL_ERROR_FAILED = 0,

  /* The URL or the configuration (no network activity happened). */
  DAL_ERROR_URL_MALFORMED,
  DAL_ERROR_URL_UNKNOWN_OPTION,
  DAL_ERROR_URL_INVALID_VALUE,

  /* Resolving the scheme to a plugin. */
  DAL_ERROR_UNKNOWN_SCHEME,
  DAL_ERROR_RETIRED_DRIVER,
  DAL_ERROR_PLUGIN_NOT_FOUND,
  DAL_ERROR_PLUGIN_LOAD_FAILED,
  DAL_ERROR_PLUGIN_ABI_MISMATCH,
  DAL_ERROR_PLUGIN_CONFLICT,
  DAL_ERROR_UNSUPPORTED,

  /* Connecting. */
  DAL_ERROR_HOST_NOT_FOUND,
  DAL_ERROR_CONNECTION_REFUSED,
  DAL_ERROR_NETWORK_UNREACHABLE,
  DAL_ERROR_CONNECT_TIMEOUT,
  DAL_ERROR_AUTH_FAILED,
  DAL_ERROR_UNKNOWN_DATABASE,
  DAL_ERROR_UNKNOWN_ROLE,
  DAL_ERROR_TOO_MANY_CONNECTIONS,
  DAL_ERROR_TLS_REQUIRED,
  DAL_ERROR_TLS_UNAVAILABLE,
  DAL_ERROR_TLS_VERIFY_FAILED,
  DAL_ERROR_TLS_CONFIG,
  DAL_ERROR_POOLER_TENANT_NOT_FOUND,
  DAL_ERROR_POOLER_MAX_CLIENTS,
  DAL_ERROR_CONNECT_FAILED,

  /* Using a connection. */
  DAL_ERROR_CONNECTION_LOST,
  DAL_ERROR_QUERY_FAILED,
  DAL_ERROR_QUERY_TIMEOUT,
  DAL_ERROR_PREPARED_STATEMENT,
  DAL_ERROR_BUSY,
  DAL_ERROR_CLOSED,
  DAL_ERROR_INVALID_PARAMETER,
  DAL_ERROR_TYPE_MISMATCH,

  /* Pools (appended: codes never change). */
  DAL_ERROR_POOL_TIMEOUT,

  /* Configuration (appended: codes never change). */
  DAL_ERROR_CONFIG_INVALID,

  /* Batches (appended: codes never change). */
  DAL_ERROR_BATCH_ABORTED,
} DalErrorCode;

/**
 * DalErrorField:
 * @DAL_ERROR_FIELD_SEVERITY: the severity, e.g. ERROR or FATAL
 * @DAL_ERROR_FIELD_SQLSTATE: the five-character SQLSTATE
 * @DAL_ERROR_FIELD_MESSAGE: the server's primary message
 * @DAL_ERROR_FIELD_DETAIL: the server's detail message
 * @DAL_ERROR_FIELD_HINT: the server's own hint (dal_error_get_hint() may
 *   give libdal's instead)
 * @DAL_ERROR_FIELD_POSITION: 1-based character position in the statement,
 *   as decimal text
 * @DAL_ERROR_FIELD_SCHEMA: the schema of the object the error is about
 * @DAL_ERROR_FIELD_TABLE: the table the error is about
 * @DAL_ERROR_FIELD_COLUMN: the column the error is about
 * @DAL_ERROR_FIELD_DATATYPE: the data type the error is about
 * @DAL_ERROR_FIELD_CONSTRAINT: the constraint the error is about
 * @DAL_ERROR_FIELD_CONTEXT: where it happened, e.g. "PL/pgSQL function
 *   f() line 3 at RAISE": a call stack, one line each, innermost first
 * @DAL_ERROR_FIELD_INTERNAL_QUERY: the statement a function ran that
 *   failed (a PL/pgSQL function's query)
 * @DAL_ERROR_FIELD_INTERNAL_POSITION: 1-based character position in
 *   that statement, as decimal text
 * @DAL_ERROR_N_FIELDS: the number of fields; not a field itself
 *
 * The fields a server error may carry (PostgreSQL's ErrorResponse
 * fields), read with dal_error_get_field().  Each is there only when the
 * server sent it.
 *
 * Since: 0.1
 */
typedef enum
{
  DAL_ERROR_FIELD_SEVERITY = 0,
  DAL_ERROR_FIELD_SQLSTATE,
  DAL_ERROR_FIELD_MESSAGE,
  DAL_ERROR_FIELD_DETAIL,
  DAL_ERROR_FIELD_HINT,
  DAL_ERROR_FIELD_POSITION,
  DAL_ERROR_FIELD_SCHEMA,
  DAL_ERROR_FIELD_TABLE,
  DAL_ERROR_FIELD_COLUMN,
  DAL_ERROR_FIELD_DATATYPE,
  DAL_ERROR_FIELD_CONSTRAINT,
  DAL_ERROR_FIELD_CONTEXT,
  DAL_ERROR_FIELD_INTERNAL_QUERY,
  DAL_ERROR_FIELD_INTERNAL_POSITION,
  DAL_ERROR_N_FIELDS /*< skip >*/
} DalErrorField;

/**
 * dal_error_get_sqlstate:
 * @error: (nullable): a #GError
 *
 * Gets the SQLSTATE of an error (%DAL_ERROR_FIELD_SQLSTATE): the
 * server's, or one libdal set on an error of its own (such as 25P02 for a
 * COMMIT that rolled back).  Thread-safe (it only reads @error).
 *
 * Returns: (nullable) (transfer none): the five-character SQLSTATE of a
 *   %DAL_ERROR, or %NULL when there is none (or @error is %NULL or not a
 *   %DAL_ERROR).  Valid as long as @error is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_get_sqlstate (const GError *error);

/**
 * dal_error_get_hint:
 * @error: (nullable): a #GError
 *
 * Gets the hint of an error: what to change so that it does not happen
 * again.
 *
 * Thread-safe.
 *
 * Returns: (nullable) (transfer none): one sentence saying what to change,
 *   from libdal where it knows better, else the server's own hint; %NULL
 *   when there is none (or @error is %NULL or not a %DAL_ERROR).  The
 *   message already ends with it; this is the sentence alone.  Valid as
 *   long as @error is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_get_hint (const GError *error);

/**
 * dal_error_dup_what:
 * @error: a #GError
 *
 * Gets an error's message without its hint.
 *
 * Thread-safe.
 *
 * Returns: (transfer full): what happened: @error's message without the
 *   hint sentence it ends with (dal_error_get_hint()), for showing the
 *   two apart.  The whole message when it has no hint or @error is not a
 *   %DAL_ERROR.  Free it with g_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char *dal_error_dup_what (const GError *error);

/**
 * dal_error_get_field:
 * @error: (nullable): a #GError
 * @field: which field (not %DAL_ERROR_N_FIELDS)
 *
 * Gets one of the fields a server error carries.
 *
 * Thread-safe.
 *
 * Returns: (nullable) (transfer none): that field as the server sent it,
 *   %NULL when it sent none (or @error is %NULL or not a %DAL_ERROR).
 *   Valid as long as @error is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_error_get_field (const GError *error, DalErrorField field);

/**
 * dal_error_is_retryable:
 * @error: (nullable): a #GError
 *
 * Tells whether retrying can help.
 *
 * Thread-safe.
 *
 * Returns: %TRUE when trying the same thing again later can succeed,
 *   %FALSE when something must change first (a wrong password, an unknown
 *   database, a malformed URL), and for %NULL or an error of another
 *   domain (%G_IO_ERROR_CANCELLED included).  Retryable: too many
 *   connections, a pooler's client limit, a lost connection, a connect
 *   timeout, a refused connection (a server restarting), a query timeout,
 *   a pool timeout, and server errors of SQLSTATE class 08 (connection),
 *   53 (resources), 57P (shutdown, restart), 40001 (serialization
 *   failure) and 40P01 (deadlock).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_error_is_retryable (const GError *error);

/**
 * dal_error_code_to_string:
 * @code: a #DalErrorCode
 *
 * Gives a code's name, for logs and messages.
 *
 * Thread-safe.
 *
 * Returns: (transfer none): the code's name without the prefix, in
 *   lower case with dashes, e.g. "auth-failed"; "unknown" for a number
 *   that is not a code.  A static string.
 *
 * Since: 0.1
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
 * |[
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

/**
 * DAL_TYPE_ERROR_DETAILS:
 *
 * The #GType of #DalErrorDetails, a boxed type (dal_error_details_get_type()).
 *
 * Since: 0.1
 */
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
 * The code of the error in the %DAL_ERROR domain.  Thread-safe.
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
 * The error's whole message: what happened, then what to change.  Thread-safe.
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
 * The SQLSTATE the server (or libdal) gave the error.  Thread-safe.
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
 * The sentence saying what to change, alone.  Thread-safe.
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
 * What happened: the message without its hint sentence.  Thread-safe.
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
 * One of the fields the server sent with the error.  Thread-safe.
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
 * Whether the same thing can succeed when tried again later.  Thread-safe.
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
