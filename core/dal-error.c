/* dal-error.c: the DAL_ERROR domain, an extended GError carrying the
 * server's fields, the "what to change" sentence and a retryable flag. */
#include "config.h"

#include <string.h>

#include "dal-private.h"

typedef struct
{
  char *fields[DAL_ERROR_N_FIELDS];
  char *hint;         /* what to change (libdal's, or the server's hint) */
  gboolean retryable;
} DalErrorPrivate;

static void
dal_error_private_init (DalErrorPrivate *priv)
{
  (void) priv;  /* zero-filled by GLib */
}

static void
dal_error_private_copy (const DalErrorPrivate *src, DalErrorPrivate *dest)
{
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    dest->fields[i] = g_strdup (src->fields[i]);
  dest->hint = g_strdup (src->hint);
  dest->retryable = src->retryable;
}

static void
dal_error_private_clear (DalErrorPrivate *priv)
{
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    g_clear_pointer (&priv->fields[i], g_free);
  g_clear_pointer (&priv->hint, g_free);
}

/* G_DEFINE_EXTENDED_ERROR (DalError, dal_error) spelled out, for one
 * difference: the clear function sees the whole GError, so that freeing a
 * DAL_ERROR notes its details for the thread that frees it (this is how a
 * binding reads them: dal-error-details.c). */
static DalErrorPrivate *
dal_error_get_private (const GError *error)
{
  /* Where GLib keeps an extended error's private data: just before the
   * GError, its size rounded up to twice a gsize.  This is the computation
   * of G_DEFINE_EXTENDED_ERROR in gerror.h, a public macro that every
   * user of extended errors compiles into its own code, so GLib cannot
   * change it without breaking its ABI. */
  const gsize align = 2 * sizeof (gsize);
  const gsize size = (sizeof (DalErrorPrivate) + align - 1) & ~(align - 1);
  return (DalErrorPrivate *) ((guint8 *) error - size);
}

static void
dal_error_init (GError *error)
{
  dal_error_private_init (dal_error_get_private (error));
}

static void
dal_error_copy (const GError *src, GError *dest)
{
  dal_error_private_copy (dal_error_get_private (src),
                          dal_error_get_private (dest));
}

static void
dal_error_clear (GError *error)
{
  _dal_error_details_note (error);
  dal_error_private_clear (dal_error_get_private (error));
}

GQuark
dal_error_quark (void)
{
  static GQuark quark;
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      quark = g_error_domain_register_static ("DalError",
                                              sizeof (DalErrorPrivate),
                                              dal_error_init, dal_error_copy,
                                              dal_error_clear);
      g_once_init_leave (&once, 1);
    }
  return quark;
}

static DalErrorPrivate *
get_priv (const GError *error)
{
  if (error == NULL || error->domain != DAL_ERROR)
    return NULL;
  return dal_error_get_private (error);
}

static const char *const code_names[] = {
  [DAL_ERROR_FAILED] = "failed",
  [DAL_ERROR_URL_MALFORMED] = "url-malformed",
  [DAL_ERROR_URL_UNKNOWN_OPTION] = "url-unknown-option",
  [DAL_ERROR_URL_INVALID_VALUE] = "url-invalid-value",
  [DAL_ERROR_UNKNOWN_SCHEME] = "unknown-scheme",
  [DAL_ERROR_RETIRED_DRIVER] = "retired-driver",
  [DAL_ERROR_PLUGIN_NOT_FOUND] = "plugin-not-found",
  [DAL_ERROR_PLUGIN_LOAD_FAILED] = "plugin-load-failed",
  [DAL_ERROR_PLUGIN_ABI_MISMATCH] = "plugin-abi-mismatch",
  [DAL_ERROR_PLUGIN_CONFLICT] = "plugin-conflict",
  [DAL_ERROR_UNSUPPORTED] = "unsupported",
  [DAL_ERROR_HOST_NOT_FOUND] = "host-not-found",
  [DAL_ERROR_CONNECTION_REFUSED] = "connection-refused",
  [DAL_ERROR_NETWORK_UNREACHABLE] = "network-unreachable",
  [DAL_ERROR_CONNECT_TIMEOUT] = "connect-timeout",
  [DAL_ERROR_AUTH_FAILED] = "auth-failed",
  [DAL_ERROR_UNKNOWN_DATABASE] = "unknown-database",
  [DAL_ERROR_UNKNOWN_ROLE] = "unknown-role",
  [DAL_ERROR_TOO_MANY_CONNECTIONS] = "too-many-connections",
  [DAL_ERROR_TLS_REQUIRED] = "tls-required",
  [DAL_ERROR_TLS_UNAVAILABLE] = "tls-unavailable",
  [DAL_ERROR_TLS_VERIFY_FAILED] = "tls-verify-failed",
  [DAL_ERROR_TLS_CONFIG] = "tls-config",
  [DAL_ERROR_POOLER_TENANT_NOT_FOUND] = "pooler-tenant-not-found",
  [DAL_ERROR_POOLER_MAX_CLIENTS] = "pooler-max-clients",
  [DAL_ERROR_CONNECT_FAILED] = "connect-failed",
  [DAL_ERROR_CONNECTION_LOST] = "connection-lost",
  [DAL_ERROR_QUERY_FAILED] = "query-failed",
  [DAL_ERROR_QUERY_TIMEOUT] = "query-timeout",
  [DAL_ERROR_PREPARED_STATEMENT] = "prepared-statement",
  [DAL_ERROR_BUSY] = "busy",
  [DAL_ERROR_CLOSED] = "closed",
  [DAL_ERROR_INVALID_PARAMETER] = "invalid-parameter",
  [DAL_ERROR_TYPE_MISMATCH] = "type-mismatch",
  [DAL_ERROR_POOL_TIMEOUT] = "pool-timeout",
  [DAL_ERROR_CONFIG_INVALID] = "config-invalid",
  [DAL_ERROR_BATCH_ABORTED] = "batch-aborted",
};

const char *
dal_error_code_to_string (DalErrorCode code)
{
  if ((guint) code >= G_N_ELEMENTS (code_names) || code_names[code] == NULL)
    return "unknown";
  return code_names[code];
}

static gboolean
code_is_retryable (DalErrorCode code)
{
  switch (code)
    {
    case DAL_ERROR_TOO_MANY_CONNECTIONS:
    case DAL_ERROR_POOLER_MAX_CLIENTS:
    case DAL_ERROR_CONNECTION_LOST:
    case DAL_ERROR_CONNECT_TIMEOUT:
    case DAL_ERROR_CONNECTION_REFUSED:
    case DAL_ERROR_QUERY_TIMEOUT:
    case DAL_ERROR_POOL_TIMEOUT:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
sqlstate_is_retryable (const char *s)
{
  return g_str_has_prefix (s, "08")       /* connection exception */
         || g_str_has_prefix (s, "53")    /* insufficient resources */
         || g_str_has_prefix (s, "57P")   /* admin shutdown, crash, cannot connect now */
         || strcmp (s, "40001") == 0      /* serialization failure */
         || strcmp (s, "40P01") == 0;     /* deadlock */
}

/* "what happened" + ". " + "what to change": trailing dots, spaces and
 * newlines of @what are dropped so the two read as two sentences. */
static char *
compose_message (const char *what, const char *hint)
{
  gsize len = strlen (what);
  while (len > 0 && strchr (" .\n\t", what[len - 1]) != NULL)
    len--;
  if (hint == NULL || *hint == '\0')
    return g_strndup (what, len);
  if (len == 0)
    return g_strdup (hint);
  return g_strdup_printf ("%.*s. %s", (int) len, what, hint);
}

GError *
dal_error_new_hint (DalErrorCode code, const char *hint, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);

  g_autofree char *message = compose_message (what, hint);
  GError *error = g_error_new_literal (DAL_ERROR, code, message);
  DalErrorPrivate *priv = get_priv (error);
  priv->hint = hint != NULL && *hint != '\0' ? g_strdup (hint) : NULL;
  priv->retryable = code_is_retryable (code);
  return error;
}

void
_dal_error_set_hint (GError *error, const char *hint)
{
  DalErrorPrivate *priv = get_priv (error);
  g_return_if_fail (priv != NULL);
  g_free (priv->hint);
  priv->hint = g_strdup (hint);
}

void
dal_error_set_field (GError *error, DalErrorField field, const char *value)
{
  DalErrorPrivate *priv = get_priv (error);
  g_return_if_fail (priv != NULL);
  g_return_if_fail ((guint) field < DAL_ERROR_N_FIELDS);

  g_free (priv->fields[field]);
  priv->fields[field] = g_strdup (value);
  if (field == DAL_ERROR_FIELD_SQLSTATE && value != NULL
      && sqlstate_is_retryable (value))
    priv->retryable = TRUE;
}

void
dal_error_set_retryable (GError *error, gboolean retryable)
{
  DalErrorPrivate *priv = get_priv (error);
  g_return_if_fail (priv != NULL);
  priv->retryable = retryable;
}

const char *
dal_error_get_field (const GError *error, DalErrorField field)
{
  DalErrorPrivate *priv = get_priv (error);
  g_return_val_if_fail ((guint) field < DAL_ERROR_N_FIELDS, NULL);
  return priv != NULL ? priv->fields[field] : NULL;
}

const char *
dal_error_get_sqlstate (const GError *error)
{
  return dal_error_get_field (error, DAL_ERROR_FIELD_SQLSTATE);
}

const char *
dal_error_get_hint (const GError *error)
{
  DalErrorPrivate *priv = get_priv (error);
  if (priv == NULL)
    return NULL;
  return priv->hint != NULL ? priv->hint : priv->fields[DAL_ERROR_FIELD_HINT];
}

/* The inverse of compose_message (). */
char *
dal_error_dup_what (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);
  const char *hint = dal_error_get_hint (error);
  gsize len = strlen (error->message);
  if (hint != NULL && *hint != '\0' && g_str_has_suffix (error->message, hint))
    {
      len -= strlen (hint);
      while (len > 0 && strchr (" .\n\t", error->message[len - 1]) != NULL)
        len--;
    }
  return g_strndup (error->message, len);
}

gboolean
dal_error_is_retryable (const GError *error)
{
  DalErrorPrivate *priv = get_priv (error);
  return priv != NULL && priv->retryable;
}

/* -- redaction -- */

/* A secret this long is redacted wherever it occurs: a chance match of
 * that many characters inside another word is improbable, a password
 * glued to other text (a misparsed URL) is not. */
#define REDACT_ANYWHERE_CHARS 8

/* Bytes of UTF-8 sequences count as word characters, so letters of other
 * scripts are not boundaries. */
static gboolean
is_word_byte (char c)
{
  return g_ascii_isalnum (c) || (guchar) c >= 0x80;
}

/* @text with @secret replaced by "****" where it counts (see
 * dal_error_redact), or NULL when nothing was replaced.  Consecutive
 * repeats of @secret are one run, judged by the characters around the
 * whole run. */
static char *
redact_text (const char *text, const char *secret, gboolean anywhere)
{
  if (text == NULL || strstr (text, secret) == NULL)
    return NULL;

  gsize n = strlen (secret);
  gboolean word_start = is_word_byte (secret[0]);
  gboolean word_end = is_word_byte (secret[n - 1]);
  GString *out = g_string_new (NULL);
  gboolean changed = FALSE;
  const char *rest = text;
  const char *p;

  while ((p = strstr (rest, secret)) != NULL)
    {
      const char *end = p + n;
      guint repeats = 1;
      while (strncmp (end, secret, n) == 0)
        {
          end += n;
          repeats++;
        }
      gboolean bounded = (!word_start || p == text || !is_word_byte (p[-1]))
                         && (!word_end || !is_word_byte (*end));
      if (anywhere || bounded)
        {
          g_string_append_len (out, rest, p - rest);
          for (guint i = 0; i < repeats; i++)
            g_string_append (out, "****");
          rest = end;
          changed = TRUE;
        }
      else
        {
          /* Not a token here; a later occurrence inside the run may be. */
          g_string_append_len (out, rest, p - rest + 1);
          rest = p + 1;
        }
    }
  if (!changed)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  g_string_append (out, rest);
  return g_string_free (out, FALSE);
}

static void
redact_in_place (char **text, const char *secret, gboolean anywhere)
{
  char *r = redact_text (*text, secret, anywhere);
  if (r == NULL)
    return;
  g_free (*text);
  *text = r;
}

/* TRUE when @secret is a plain word: letters only. */
static gboolean
is_plain_word (const char *secret)
{
  for (const char *c = secret; *c != '\0'; c++)
    if (!g_ascii_isalpha (*c))
      return FALSE;
  return TRUE;
}

void
dal_error_redact (GError *error, const char *secret)
{
  if (error == NULL || secret == NULL || *secret == '\0')
    return;

  gboolean long_secret = g_utf8_strlen (secret, -1) >= REDACT_ANYWHERE_CHARS;
  DalErrorPrivate *priv = get_priv (error);
  if (priv == NULL)
    {
      redact_in_place (&error->message, secret, long_secret);
      return;
    }

  /* The hint is advice written by libdal (or a plugin), and the message
   * ends with it: it is redacted only where the secret cannot be one of
   * its words.  A hint that is the server's own is server text. */
  const char *hint = priv->hint;
  gboolean hint_from_server = hint != NULL
                              && g_strcmp0 (hint, priv->fields[DAL_ERROR_FIELD_HINT]) == 0;
  gboolean redact_hint = hint_from_server || (long_secret && !is_plain_word (secret));
  gboolean hint_anywhere = long_secret;

  gsize what_len = strlen (error->message);
  if (hint != NULL && *hint != '\0' && g_str_has_suffix (error->message, hint))
    what_len -= strlen (hint);
  g_autofree char *what = g_strndup (error->message, what_len);
  g_autofree char *tail = g_strdup (error->message + what_len);
  redact_in_place (&what, secret, long_secret);
  if (redact_hint)
    {
      redact_in_place (&tail, secret, hint_anywhere);
      redact_in_place (&priv->hint, secret, hint_anywhere);
    }
  g_free (error->message);
  error->message = g_strconcat (what, tail, NULL);

  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    redact_in_place (&priv->fields[i], secret, long_secret);
}
