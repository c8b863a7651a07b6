/* dal-url-options.c: libdal's own URL options (valid in every dialect),
 * and how option values are checked.  The dialects' own options are the
 * plugins' (DalDialect, dal-dialect.c).
 */
#include "config.h"

#include <string.h>

#include "dal-url-private.h"

static const char * const pooler_mode_choices[] = {
  "session", "transaction", NULL
};

#define OPT_LIBDAL(name, kind, choices) \
  { name, DAL_URL_OPTION_##kind, 0, choices, 0 }

static const DalOptionInfo libdal_options[] = {
  OPT_LIBDAL ("command_timeout", DURATION, NULL),
  OPT_LIBDAL ("cancel_timeout", DURATION, NULL),
  OPT_LIBDAL ("statement_cache_size", UINT, NULL),
  OPT_LIBDAL ("pooler_mode", ENUM, pooler_mode_choices),
  /* DalPool's settings (dal-pool-settings.c), then asyncpg's spellings
   * of four of them; dal_connection_open() refuses all of these. */
  OPT_LIBDAL ("pool_min_size", UINT, NULL),
  OPT_LIBDAL ("pool_max_size", UINT, NULL),
  OPT_LIBDAL ("pool_depth", UINT, NULL),
  OPT_LIBDAL ("pool_acquire_timeout", DURATION, NULL),
  OPT_LIBDAL ("pool_max_idle", DURATION, NULL),
  OPT_LIBDAL ("pool_max_lifetime", DURATION, NULL),
  OPT_LIBDAL ("pool_max_queries", UINT, NULL),
  OPT_LIBDAL ("pool_check_idle", DURATION, NULL),
  OPT_LIBDAL ("pool_leak_warning", DURATION, NULL),
  OPT_LIBDAL ("min_size", UINT, NULL),
  OPT_LIBDAL ("max_size", UINT, NULL),
  OPT_LIBDAL ("max_queries", UINT, NULL),
  OPT_LIBDAL ("max_inactive_connection_lifetime", DURATION, NULL),
  /* TLS policy (dal-tls.c): permits the modes disable/allow/prefer towards
   * hosts that must use TLS (Supabase), a protocol floor below TLSv1.2,
   * and silences the plaintext-fallback warning of prefer/allow. */
  OPT_LIBDAL ("allow_insecure_tls", BOOLEAN, NULL),
};

/**
 * _dal_libdal_option_lookup:
 * @name: an option name (case-sensitive)
 *
 * Returns: (nullable): libdal's own option called @name, or %NULL.
 */
const DalOptionInfo *
_dal_libdal_option_lookup (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (libdal_options); i++)
    if (strcmp (libdal_options[i].name, name) == 0)
      return &libdal_options[i];
  return NULL;
}

/**
 * _dal_libdal_options_get:
 * @n_options: (out): the number of entries
 *
 * Returns: libdal's own options, in the order URLs are written out.
 */
const DalOptionInfo *
_dal_libdal_options_get (guint *n_options)
{
  *n_options = G_N_ELEMENTS (libdal_options);
  return libdal_options;
}

/**
 * _dal_parse_duration_ms:
 * @text: a number of seconds
 * @out_ms: (out): the duration in milliseconds
 *
 * Accepts plain non-negative decimal notation only: digits with an
 * optional fraction ("10", "2.5", ".25", "3."), at least one digit.  No
 * sign, no spaces, no exponent ("1e3" is refused: a timeout is written
 * the way people write seconds, and refusing it keeps "1e3" from meaning
 * something else to another parser), no "inf" or "nan".  A fraction finer
 * than a millisecond is rounded up, so that a non-zero timeout never turns
 * into 0 (which means "wait forever" to most client libraries).  Values
 * whose milliseconds do not fit a gint64 are refused.
 *
 * Returns: %TRUE if @text is such a number.
 */
gboolean
_dal_parse_duration_ms (const char *text, gint64 *out_ms)
{
  g_return_val_if_fail (out_ms != NULL, FALSE);
  if (text == NULL)
    return FALSE;

  const gint64 max_seconds = G_MAXINT64 / 1000 - 1;
  gint64 seconds = 0;
  gint64 ms = 0;
  gboolean round_up = FALSE;
  guint n_digits = 0;
  const char *p = text;

  for (; g_ascii_isdigit (*p); p++, n_digits++)
    {
      seconds = seconds * 10 + (*p - '0');
      if (seconds > max_seconds)
        return FALSE;
    }
  if (*p == '.')
    {
      guint n_fraction = 0;
      for (p++; g_ascii_isdigit (*p); p++, n_fraction++)
        {
          if (n_fraction < 3)
            ms = ms * 10 + (*p - '0');
          else if (*p != '0')
            round_up = TRUE;
        }
      for (guint i = n_fraction; i < 3; i++)
        ms *= 10;
      n_digits += n_fraction;
    }
  if (*p != '\0' || n_digits == 0)
    return FALSE;

  *out_ms = seconds * 1000 + ms + (round_up ? 1 : 0);
  return TRUE;
}

/* Parses a non-negative decimal integer that fits a guint. */
static gboolean
parse_uint (const char *text, guint *out, gboolean *overflow)
{
  guint64 v = 0;
  const char *p = text;

  *overflow = FALSE;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    {
      v = v * 10 + (guint64) (*p - '0');
      if (v > G_MAXUINT)
        *overflow = TRUE;
      if (*overflow)
        v = G_MAXUINT;  /* keep scanning: "99999999999x" is not a number */
    }
  if (*p != '\0')
    return FALSE;
  *out = (guint) v;
  return !*overflow;
}

/* One element of a port list: "" (the default) or 1..65535. */
static gboolean
port_element_is_valid (const char *text, gsize len)
{
  guint v = 0;

  if (len == 0)
    return TRUE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      v = v * 10 + (guint) (text[i] - '0');
      if (v > 65535)
        return FALSE;
    }
  return v >= 1;
}

/* Case-insensitive, as GKeyFile and most configuration parsers are. */
static gboolean
parse_boolean (const char *text)
{
  static const char * const words[] = {
    "true", "false", "1", "0", "yes", "no", "on", "off", NULL
  };
  for (guint i = 0; words[i] != NULL; i++)
    if (g_ascii_strcasecmp (words[i], text) == 0)
      return TRUE;
  return FALSE;
}

/* @text for a message: valid UTF-8 stays readable; control characters,
 * quotes, backslashes and bytes of invalid UTF-8 are escaped as \xNN. */
char *
dal_printable (const char *text)
{
  gboolean utf8 = g_utf8_validate (text, -1, NULL);
  GString *out = g_string_new (NULL);

  for (const guchar *p = (const guchar *) text; *p; p++)
    {
      if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\'
          || (*p >= 0x80 && !utf8))
        g_string_append_printf (out, "\\x%02X", (guint) *p);
      else
        g_string_append_c (out, (char) *p);
    }
  return g_string_free (out, FALSE);
}

/**
 * _dal_option_check_value:
 * @info: the option
 * @value: its decoded value
 * @error: return location for a DAL_ERROR_URL_INVALID_VALUE error
 *
 * Checks @value against @info's kind.  The message names the option and
 * the value (never a secret's value); the hint says what to write.
 *
 * Returns: %TRUE if @value is acceptable.
 */
gboolean
_dal_option_check_value (const DalOptionInfo *info, const char *value,
                         GError **error)
{
  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  const char *name = info->name;
  g_autofree char *hint = NULL;
  const char *problem = NULL;
  gboolean ok = TRUE;

  switch (info->type)
    {
    case DAL_URL_OPTION_STRING:
      return TRUE;

    case DAL_URL_OPTION_DURATION:
      {
        gint64 ms;
        ok = _dal_parse_duration_ms (value, &ms);
        problem = "is not a number of seconds";
        hint = g_strdup_printf ("Write a non-negative number of seconds, "
                                "e.g. %s=2.5", name);
      }
      break;

    case DAL_URL_OPTION_UINT:
      {
        guint v;
        gboolean overflow;
        ok = parse_uint (value, &v, &overflow);
        if (overflow)
          {
            problem = "is too large";
            hint = g_strdup_printf ("Write a whole number from 0 to %u", G_MAXUINT);
          }
        else
          {
            problem = "is not a non-negative whole number";
            hint = g_strdup_printf ("Write a whole number, e.g. %s=10", name);
          }
      }
      break;

    case DAL_URL_OPTION_BOOLEAN:
      ok = parse_boolean (value);
      problem = "is not a boolean";
      hint = g_strdup_printf ("Write %s= followed by one of true, false, 1, 0, "
                              "yes, no, on, off", name);
      break;

    case DAL_URL_OPTION_ENUM:
      {
        ok = info->choices != NULL && g_strv_contains (info->choices, value);
        g_autofree char *list = info->choices != NULL
                                  ? g_strjoinv (", ", (char **) info->choices)
                                  : g_strdup ("");
        problem = "is not one of the values it takes";
        hint = g_strdup_printf ("Write %s= followed by one of %s", name, list);
      }
      break;

    case DAL_URL_OPTION_PORT:
      {
        const char *elem = value;
        for (;;)
          {
            const char *comma = strchr (elem, ',');
            gsize len = comma != NULL ? (gsize) (comma - elem) : strlen (elem);
            if (!port_element_is_valid (elem, len))
              {
                ok = FALSE;
                break;
              }
            if (comma == NULL)
              break;
            elem = comma + 1;
          }
        problem = "is not a port number (or a comma-separated list of them)";
        hint = g_strdup ("Write a number from 1 to 65535, or one per host "
                         "separated by commas (an empty entry means the "
                         "default port)");
      }
      break;

    default:
      g_return_val_if_reached (FALSE);
    }

  if (ok)
    return TRUE;

  /* A secret's value never appears in a message, whatever happens. */
  if ((info->flags & DAL_URL_OPTION_SECRET) != 0
      || _dal_dialect_option_is_secret (NULL, name))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                             "the value of %s %s", name, problem));
    }
  else
    {
      g_autofree char *shown = _dal_printable (value);
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                             "%s=%s %s", name, shown, problem));
    }
  return FALSE;
}

/* -- session settings: the dialect reads them (DalDialect.session_settings) -- */

/* The session settings @value says in @dialect (none without a reader). */
static char **
session_settings (const DalDialect *dialect, const char *value, char **other)
{
  if (other != NULL)
    *other = NULL;
  if (dialect == NULL || dialect->session_settings == NULL)
    return NULL;
  return dialect->session_settings (value, other);
}

char **
dal_startup_options_parse (const char *options, char **other)
{
  return session_settings (_dal_dialect_lookup ("postgresql"), options, other);
}

char **
dal_url_get_session_settings (const DalUrl *url, char **other)
{
  g_return_val_if_fail (url != NULL, NULL);
  const DalDialect *dialect = url->info;
  const char *option = dialect != NULL ? dialect->session_option : NULL;
  return session_settings (dialect, option != NULL
                                      ? dal_url_get_option (url, option) : NULL,
                           other);
}
