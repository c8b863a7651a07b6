/* dal-url.c: parsing, checking and writing database URLs.
 *
 * After "dialect[+driver]://" the text follows libpq's URI rules (as
 * libpq 15's parser applies them, quirks included), so that the keywords
 * a DalUrl yields are the ones PQconninfoParse() would give for the same
 * URL without "+driver".  Where libdal is stricter (unknown options, bad
 * ports and option values fail here rather than at connect time) the
 * comments say so.  One difference on purpose: for postgresql, several
 * host= options and "host=name:port" are read the way SQLAlchemy reads
 * them (apply_query_hosts), where libpq would keep the last host=.
 *
 * Error messages give positions, option names and option values, but never
 * any part of the userinfo (user name and password), nor the password or
 * another secret however it was given.
 */
#include "config.h"

#include <string.h>

#include "dal-private.h"

#define URL_EXAMPLE "postgresql+asyncpg://user@host:5432/dbname"

struct _DalUrl
{
  gatomicrefcount ref_count;

  char *scheme;                 /* canonical: "postgresql+asyncpg" */
  char *dialect;                /* canonical: "postgresql" */
  char *driver;                 /* NULL for a bare dialect */
  const DalDialectInfo *info;   /* NULL: a dialect libdal knows nothing of */

  /* The connection keywords.  Known dialect: one slot per table entry, in
   * table order.  Other dialects: user, password, host, port, dbname, then
   * every other query option in order of first appearance.  A NULL value
   * is a keyword the URL does not set. */
  GPtrArray *slot_names;        /* char * */
  GPtrArray *slot_values;       /* char *, nullable */

  /* libdal's own options, parallel to _dal_libdal_options_get (). */
  char **libdal_values;
  guint n_libdal;

  /* Derived once parsing is done. */
  guint n_keywords;
  const char **keywords;        /* NULL-terminated; strings are the slots' */
  const char **values;
  guint n_hosts;
  char **hosts;                 /* n_hosts entries */
  char **ports;                 /* n_hosts entries, each nullable */
};

G_DEFINE_BOXED_TYPE (DalUrl, dal_url, dal_url_ref, dal_url_unref)

/* Keywords the URL's own parts (rather than its query) set. */
static const char * const url_part_names[] = {
  "user", "password", "host", "port", "dbname", NULL
};

static const DalOptionInfo port_info = { "port", DAL_OPTION_PORT, NULL, 0, FALSE };

/* -- construction -- */

/* Whether the dialect lists its keywords (else any option passes). */
static gboolean
has_table (const DalUrl *url)
{
  return url->info != NULL && url->info->keywords != NULL;
}

static DalUrl *
url_new (const char *dialect, const char *driver)
{
  DalUrl *url = g_new0 (DalUrl, 1);

  g_atomic_ref_count_init (&url->ref_count);
  url->dialect = g_strdup (dialect);
  url->driver = g_strdup (driver);
  url->scheme = driver != NULL ? g_strconcat (dialect, "+", driver, NULL)
                               : g_strdup (dialect);
  url->info = _dal_dialect_lookup (dialect);
  url->slot_names = g_ptr_array_new_with_free_func (g_free);
  url->slot_values = g_ptr_array_new_with_free_func (g_free);
  if (has_table (url))
    {
      for (guint i = 0; i < url->info->n_keywords; i++)
        {
          g_ptr_array_add (url->slot_names, g_strdup (url->info->keywords[i].name));
          g_ptr_array_add (url->slot_values, NULL);
        }
    }
  else
    {
      for (guint i = 0; url_part_names[i] != NULL; i++)
        {
          g_ptr_array_add (url->slot_names, g_strdup (url_part_names[i]));
          g_ptr_array_add (url->slot_values, NULL);
        }
    }
  _dal_libdal_options_get (&url->n_libdal);
  url->libdal_values = g_new0 (char *, url->n_libdal);
  return url;
}

static void
url_free (DalUrl *url)
{
  g_free (url->scheme);
  g_free (url->dialect);
  g_free (url->driver);
  g_ptr_array_unref (url->slot_names);
  g_ptr_array_unref (url->slot_values);
  for (guint i = 0; i < url->n_libdal; i++)
    g_free (url->libdal_values[i]);
  g_free (url->libdal_values);
  g_free (url->keywords);
  g_free (url->values);
  for (guint i = 0; i < url->n_hosts; i++)
    {
      g_free (url->hosts[i]);
      g_free (url->ports[i]);
    }
  g_free (url->hosts);
  g_free (url->ports);
  g_free (url);
}

static int
slot_find (const DalUrl *url, const char *name)
{
  for (guint i = 0; i < url->slot_names->len; i++)
    if (strcmp (g_ptr_array_index (url->slot_names, i), name) == 0)
      return (int) i;
  return -1;
}

static const char *
slot_get (const DalUrl *url, const char *name)
{
  int i = slot_find (url, name);
  return i >= 0 ? g_ptr_array_index (url->slot_values, i) : NULL;
}

/* Sets keyword @name (taking @value), adding a slot for it if the dialect
 * has no table.  Returns FALSE if a known dialect does not have @name. */
static gboolean
slot_set (DalUrl *url, const char *name, char *value)
{
  int i = slot_find (url, name);

  if (i < 0)
    {
      if (has_table (url))
        {
          g_free (value);
          return FALSE;
        }
      g_ptr_array_add (url->slot_names, g_strdup (name));
      g_ptr_array_add (url->slot_values, value);
      return TRUE;
    }
  g_free (g_ptr_array_index (url->slot_values, i));
  g_ptr_array_index (url->slot_values, i) = value;
  return TRUE;
}

/* The index of libdal's option @name, or -1. */
static int
libdal_index (const char *name)
{
  guint n;
  const DalOptionInfo *all = _dal_libdal_options_get (&n);
  const DalOptionInfo *info = _dal_libdal_option_lookup (name);

  return info != NULL ? (int) (info - all) : -1;
}

/* Number of entries in a comma-separated list, as libpq counts them. */
static guint
count_elements (const char *list)
{
  guint n = 1;
  for (const char *p = list; *p; p++)
    if (*p == ',')
      n++;
  return n;
}

static gboolean
is_empty (const char *s)
{
  return s == NULL || *s == '\0';
}

/* Fills the derived fields from the slots. */
static void
url_finish (DalUrl *url)
{
  guint n = 0;

  url->keywords = g_new0 (const char *, url->slot_names->len + 1);
  url->values = g_new0 (const char *, url->slot_names->len + 1);
  for (guint i = 0; i < url->slot_names->len; i++)
    {
      const char *value = g_ptr_array_index (url->slot_values, i);
      if (value == NULL)
        continue;
      url->keywords[n] = g_ptr_array_index (url->slot_names, i);
      url->values[n] = value;
      n++;
    }
  url->n_keywords = n;

  /* The host list, as libpq builds it: hostaddr (when given) sets the
   * number of entries, else host; a single port applies to every host. */
  const char *host = slot_get (url, "host");
  const char *hostaddr = has_table (url) ? slot_get (url, "hostaddr") : NULL;
  const char *port = slot_get (url, "port");

  if (is_empty (host) && is_empty (hostaddr) && is_empty (port))
    return;

  guint n_hosts = !is_empty (hostaddr) ? count_elements (hostaddr)
                  : !is_empty (host) ? count_elements (host) : 1;
  g_auto (GStrv) host_list = !is_empty (host) ? g_strsplit (host, ",", -1) : NULL;
  g_auto (GStrv) port_list = !is_empty (port) ? g_strsplit (port, ",", -1) : NULL;
  guint n_names = host_list != NULL ? g_strv_length (host_list) : 0;
  guint n_ports = port_list != NULL ? g_strv_length (port_list) : 0;

  url->n_hosts = n_hosts;
  url->hosts = g_new0 (char *, n_hosts);
  url->ports = g_new0 (char *, n_hosts);
  for (guint i = 0; i < n_hosts; i++)
    {
      const char *p = n_ports == 1 ? port_list[0]
                      : i < n_ports ? port_list[i] : NULL;
      url->hosts[i] = g_strdup (i < n_names ? host_list[i] : "");
      url->ports[i] = is_empty (p) ? NULL : g_strdup (p);
    }
}

/* -- errors -- */

static GError *
malformed (gsize offset, const char *hint, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

/* A DAL_ERROR_URL_MALFORMED at 0-based @offset of the URL. */
static GError *
malformed (gsize offset, const char *hint, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  return dal_error_new_hint (DAL_ERROR_URL_MALFORMED, hint,
                             "malformed URL at position %" G_GSIZE_FORMAT ": %s",
                             offset + 1, what);
}


/* A character for a message: "x", or " " (a space), or byte 0xNN. */
static char *
describe_char (char c)
{
  if (c == ' ')
    return g_strdup ("\" \" (a space)");
  if (c > ' ' && c < 0x7f)
    return g_strdup_printf ("\"%c\"", c);
  return g_strdup_printf ("byte 0x%02X", (guint) (guchar) c);
}

/* -- parsing -- */

static gboolean
is_scheme_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.';
}

/* Decodes @len bytes at @text by libpq's rules: "%XX" with two hex
 * digits, "%00" refused, "+" left alone.  On failure, NULL with the offset
 * of the bad "%" in *bad_offset and whether it was "%00" in *is_nul. */
static char *
percent_decode (const char *text, gsize len, gsize *bad_offset, gboolean *is_nul)
{
  GString *out = g_string_sized_new (len);

  for (gsize i = 0; i < len; i++)
    {
      if (text[i] != '%')
        {
          g_string_append_c (out, text[i]);
          continue;
        }
      int hi = i + 1 < len ? g_ascii_xdigit_value (text[i + 1]) : -1;
      int lo = i + 2 < len ? g_ascii_xdigit_value (text[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        {
          *bad_offset = i;
          *is_nul = hi == 0 && lo == 0;
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_c (out, (char) (hi * 16 + lo));
      i += 2;
    }
  return g_string_free (out, FALSE);
}

/* Decodes input[start, end); @what names the part for the message (and
 * is all the message says about it: the text itself is never quoted). */
static char *
decode_part (const char *input, gsize start, gsize end, const char *what,
             GError **error)
{
  gsize bad = 0;
  gboolean is_nul = FALSE;
  char *decoded = percent_decode (input + start, end - start, &bad, &is_nul);

  if (decoded != NULL)
    return decoded;
  if (is_nul)
    g_propagate_error (error,
                       malformed (start + bad, "Remove the %00: a connection "
                                  "parameter cannot contain a NUL byte",
                                  "%%00 (a NUL byte) in %s", what));
  else
    g_propagate_error (error,
                       malformed (start + bad, "Write a literal % as %25, and "
                                  "percent-encode reserved characters as % "
                                  "and two hex digits (%40 for @, %2F for /)",
                                  "invalid percent-encoding in %s", what));
  return NULL;
}

/* The error for a scheme not followed by "://" (@end: where it stops). */
static GError *
scheme_error (const char *input, gsize end)
{
  const char *hint_url = "Write a URL like " URL_EXAMPLE;
  /* The scheme text is quoted only when no "@" follows: else it could be
   * the user name of a URL written without a scheme. */
  gboolean may_quote = end > 0 && strchr (input, '@') == NULL;

  if (*input == '\0')
    return malformed (0, hint_url, "the URL is empty");

  if (strstr (input, "://") == NULL && input[end] != ':'
      && strchr (input, '=') != NULL)
    return malformed (end, "Write a URL like " URL_EXAMPLE
                      " instead of key=value pairs",
                      "this looks like a libpq key=value connection string, "
                      "not a URL (expected \"://\" after a scheme)");

  if (input[end] == ':' || input[end] == '\0' || strstr (input, "://") == NULL)
    {
      if (may_quote)
        return malformed (end, "Write dialect+driver://user@host/database, e.g. "
                          URL_EXAMPLE,
                          "expected \"://\" after the scheme \"%.*s\"",
                          (int) end, input);
      return malformed (end, hint_url, "expected \"://\" after the scheme");
    }

  g_autofree char *c = describe_char (input[end]);
  return malformed (end, "A scheme is dialect or dialect+driver, made of "
                    "letters, digits, \"-\", \"_\" and \".\", e.g. "
                    "postgresql+asyncpg",
                    "unexpected character %s in the scheme", c);
}

/* Parses "dialect[+driver]://": the canonical dialect and driver, and
 * the offset of what follows "://". */
static gboolean
parse_scheme (const char *input, char **dialect, char **driver, gsize *rest,
              GError **error)
{
  gsize end = 0;

  while (is_scheme_char (input[end]) || input[end] == '+')
    end++;
  if (strncmp (input + end, "://", 3) != 0)
    {
      g_propagate_error (error, scheme_error (input, end));
      return FALSE;
    }
  if (end == 0)
    {
      g_propagate_error (error,
                         malformed (0, "Write a URL like " URL_EXAMPLE,
                                    "expected a scheme such as \"postgresql\" "
                                    "before \"://\""));
      return FALSE;
    }

  const char *plus = memchr (input, '+', end);
  gsize dialect_len = plus != NULL ? (gsize) (plus - input) : end;
  if (dialect_len == 0)
    {
      g_propagate_error (error,
                         malformed (0, "Write dialect+driver, e.g. postgresql+asyncpg",
                                    "expected a dialect before \"+\" in the scheme"));
      return FALSE;
    }
  if (plus != NULL)
    {
      gsize driver_start = dialect_len + 1;
      const char *plus2 = memchr (input + driver_start, '+', end - driver_start);
      if (driver_start == end)
        {
          g_propagate_error (error,
                             malformed (driver_start, "Write dialect+driver, e.g. "
                                        "postgresql+asyncpg, or the dialect alone",
                                        "expected a driver name after \"+\" in "
                                        "the scheme \"%.*s\"", (int) end, input));
          return FALSE;
        }
      if (plus2 != NULL)
        {
          g_propagate_error (error,
                             malformed ((gsize) (plus2 - input),
                                        "Write dialect+driver, e.g. postgresql+asyncpg",
                                        "a second \"+\" in the scheme \"%.*s\"",
                                        (int) end, input));
          return FALSE;
        }
    }

  g_autofree char *lower = g_ascii_strdown (input, (gssize) dialect_len);
  const DalDialectInfo *info = _dal_dialect_lookup (lower);
  *dialect = g_strdup (info != NULL ? info->name : lower);
  *driver = plus != NULL
              ? g_ascii_strdown (plus + 1, (gssize) (end - dialect_len - 1))
              : NULL;
  *rest = end + 3;
  return TRUE;
}

/* Optimal string alignment distance (edits and swaps), case-folded. */
static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *d = g_new (guint, (la + 1) * (lb + 1));
#define D(i, j) d[(i) * (lb + 1) + (j)]

  for (gsize i = 0; i <= la; i++)
    D (i, 0) = (guint) i;
  for (gsize j = 0; j <= lb; j++)
    D (0, j) = (guint) j;
  for (gsize i = 1; i <= la; i++)
    for (gsize j = 1; j <= lb; j++)
      {
        char ca = g_ascii_tolower (a[i - 1]), cb = g_ascii_tolower (b[j - 1]);
        guint best = MIN (D (i - 1, j) + 1, D (i, j - 1) + 1);
        best = MIN (best, D (i - 1, j - 1) + (ca == cb ? 0 : 1));
        if (i > 1 && j > 1 && ca == g_ascii_tolower (b[j - 2])
            && g_ascii_tolower (a[i - 2]) == cb)
          best = MIN (best, D (i - 2, j - 2) + 1);
        D (i, j) = best;
      }
  guint result = D (la, lb);
#undef D
  return result;
}

static void
consider (const char *unknown, const char *candidate, const char **best,
          guint *best_distance)
{
  guint d = edit_distance (unknown, candidate);
  if (d < *best_distance && d < strlen (unknown))
    {
      *best = candidate;
      *best_distance = d;
    }
}

static GError *
unknown_option_error (const DalUrl *url, const char *name)
{
  const char *best = NULL;
  guint best_distance = 3;  /* suggest within an edit distance of 2 */
  guint n_libdal;
  const DalOptionInfo *libdal = _dal_libdal_options_get (&n_libdal);
  g_autoptr (GString) hint = g_string_new (NULL);
  g_autoptr (GString) own = g_string_new (NULL);

  for (guint i = 0; i < url->info->n_keywords; i++)
    consider (name, url->info->keywords[i].name, &best, &best_distance);
  for (guint i = 0; i < n_libdal; i++)
    consider (name, libdal[i].name, &best, &best_distance);
  if (strcmp (url->info->name, "postgresql") == 0)
    consider (name, "ssl", &best, &best_distance);

  for (guint i = 0; i < n_libdal; i++)
    g_string_append_printf (own, "%s%s", i == 0 ? "" : i + 1 == n_libdal
                                                       ? " and " : ", ",
                            libdal[i].name);
  if (best != NULL)
    g_string_append_printf (hint, "Did you mean %s? ", best);
  if (strcmp (url->info->name, "postgresql") == 0)
    g_string_append (hint, "See the libpq connection parameters");
  else
    g_string_append_printf (hint, "See the connection parameters of the %s "
                            "client library", url->info->name);
  g_string_append_printf (hint, "; libdal's own options are %s", own->str);

  g_autofree char *shown = _dal_printable (name);
  return dal_error_new_hint (DAL_ERROR_URL_UNKNOWN_OPTION, hint->str,
                             "unknown option \"%s\" in the URL", shown);
}

static gboolean
is_postgresql (const DalUrl *url)
{
  return url->info != NULL && strcmp (url->info->name, "postgresql") == 0;
}

/* asyncpg's ssl= spellings, as sslmode values. */
static const char *
map_ssl_value (const char *value)
{
  static const char * const modes[] = {
    "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL
  };

  if (strcmp (value, "true") == 0)
    return "require";
  if (strcmp (value, "false") == 0)
    return "disable";
  for (guint i = 0; modes[i] != NULL; i++)
    if (strcmp (value, modes[i]) == 0)
      return modes[i];
  return NULL;
}

/* Stores one decoded query option (taking @value). */
static gboolean
store_query_option (DalUrl *url, const char *name, char *value, GError **error)
{
  if (is_postgresql (url) && strcmp (name, "ssl") == 0)
    {
      const char *mode = map_ssl_value (value);
      if (mode == NULL)
        {
          g_autofree char *shown = _dal_printable (value);
          g_free (value);
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                                 "Write ssl=true (sslmode=require), "
                                                 "ssl=false (sslmode=disable) or "
                                                 "ssl= followed by one of disable, "
                                                 "allow, prefer, require, verify-ca, "
                                                 "verify-full",
                                                 "ssl=%s is not one of the values "
                                                 "it takes", shown));
          return FALSE;
        }
      g_free (value);
      slot_set (url, "sslmode", g_strdup (mode));
      return TRUE;
    }
  if (is_postgresql (url) && strcmp (name, "requiressl") == 0)
    {
      /* libpq's old spelling: "1..." means require, anything else prefer */
      const char *mode = value[0] == '1' ? "require" : "prefer";
      g_free (value);
      slot_set (url, "sslmode", g_strdup (mode));
      return TRUE;
    }

  int i = libdal_index (name);
  if (i >= 0)
    {
      g_free (url->libdal_values[i]);
      url->libdal_values[i] = value;
      return TRUE;
    }
  if (!slot_set (url, name, value))
    {
      g_propagate_error (error, unknown_option_error (url, name));
      return FALSE;
    }
  return TRUE;
}

/* The host= options of a postgresql URL's query, kept until the whole
 * query is read: SQLAlchemy reads several of them as the host list (see
 * apply_query_hosts). */
typedef struct
{
  GPtrArray *values;            /* char *, decoded, in order */
  gboolean port_option;         /* the query has a port= option */
} QueryHosts;

/* One name=value pair of the query, from offset *@pp (advanced past it);
 * *@name_out gets the option's name.  A host= option goes to @hosts
 * when it is not NULL. */
static gboolean
parse_query_param (DalUrl *url, const char *input, gsize *pp, char **name_out,
                   QueryHosts *hosts, GError **error)
{
  gsize p = *pp;
    {
      gsize start = p;
      gsize equals = 0;
      gboolean seen_equals = FALSE;

      for (;; p++)
        {
          if (input[p] == '=')
            {
              if (seen_equals)
                {
                  g_autofree char *raw = g_strndup (input + start, equals - start);
                  g_autofree char *shown = _dal_printable (raw);
                  g_propagate_error (error,
                                     malformed (p, "Write a literal = in a value "
                                                "as %3D",
                                                "a second \"=\" in query "
                                                "parameter \"%s\"", shown));
                  return FALSE;
                }
              seen_equals = TRUE;
              equals = p;
            }
          else if (input[p] == '&' || input[p] == '\0')
            break;
        }

      gsize end = p;
      if (input[p] == '&')
        p++;
      if (!seen_equals)
        {
          const char *hint = "Write name=value pairs separated by \"&\", e.g. "
                             "?sslmode=require&application_name=app";
          if (end == start)
            {
              g_propagate_error (error,
                                 malformed (start, hint,
                                            "empty query parameter"));
              return FALSE;
            }
          g_autofree char *raw = g_strndup (input + start, end - start);
          g_autofree char *shown = _dal_printable (raw);
          g_propagate_error (error,
                             malformed (start, hint,
                                        "query parameter \"%s\" has no \"=\"",
                                        shown));
          return FALSE;
        }

      g_autofree char *name = decode_part (input, start, equals,
                                           "a query parameter name", error);
      if (name == NULL)
        return FALSE;
      if (*name == '\0')
        {
          g_propagate_error (error,
                             malformed (start, "Write name=value pairs "
                                        "separated by \"&\", e.g. "
                                        "?sslmode=require",
                                        "query parameter without a name"));
          return FALSE;
        }
      g_autofree char *shown = _dal_printable (name);
      g_autofree char *what = g_strdup_printf ("the value of query parameter "
                                               "\"%s\"", shown);
      char *value = decode_part (input, equals + 1, end, what, error);
      if (value == NULL)
        return FALSE;
      if (hosts != NULL && strcmp (name, "host") == 0)
        g_ptr_array_add (hosts->values, value);
      else
        {
          if (hosts != NULL && strcmp (name, "port") == 0)
            hosts->port_option = TRUE;
          if (!store_query_option (url, name, value, error))
            return FALSE;
        }
      *name_out = g_steal_pointer (&name);
    }
  *pp = p;
  return TRUE;
}

/* -- SQLAlchemy's host= forms -- */

static GError *
hosts_error (const char *hint, const char *format, ...) G_GNUC_PRINTF (2, 3);

static GError *
hosts_error (const char *hint, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  return dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint, "%s", what);
}

#define HINT_TWO_FORMS \
  "Write either one host= option per host, each with its port " \
  "(host=h1:5432&host=h2:5433), or libpq's lists " \
  "(host=h1,h2&port=5432,5433), not both"

static gboolean
is_socket_dir (const char *host)
{
  return host[0] == '/' || host[0] == '@';
}

static guint
count_char (const char *s, char c)
{
  guint n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

/* Whether a host entry carries a port the way SQLAlchemy writes it:
 * "name:port" (one ":") or "[address]:port".  A socket directory never
 * does; two ":" or more is an IPv6 address. */
static gboolean
entry_has_port (const char *entry)
{
  if (entry[0] == '[')
    return strstr (entry, "]:") != NULL;
  return !is_socket_dir (entry) && count_char (entry, ':') == 1;
}

/* Splits the value of one host= option into host and port (NULL when
 * it has none): "name:port" with a single ":" (also a socket directory
 * when @split_sockets), "[address]" or "[address]:port"; an entry with
 * two ":" or more is an IPv6 address without a port. */
static gboolean
split_host_entry (const char *entry, gboolean split_sockets, char **host,
                  char **port, GError **error)
{
  const char *colon = NULL;

  *host = NULL;
  *port = NULL;
  if (entry[0] == '[')
    {
      const char *close = strchr (entry, ']');
      if (close == NULL || close == entry + 1
          || (close[1] != '\0' && close[1] != ':'))
        {
          g_autofree char *shown = _dal_printable (entry);
          g_propagate_error (error, hosts_error (
            "Write an IPv6 address in brackets, e.g. host=[2001:db8::1]:5432, "
            "or without them and without a port, e.g. host=2001:db8::1",
            "host=%s is not [address] or [address]:port", shown));
          return FALSE;
        }
      *host = g_strndup (entry + 1, (gsize) (close - entry - 1));
      colon = close[1] == ':' ? close + 1 : NULL;
    }
  else if (count_char (entry, ':') == 1
           && (split_sockets || !is_socket_dir (entry)))
    {
      colon = strchr (entry, ':');
      *host = g_strndup (entry, (gsize) (colon - entry));
    }
  else
    *host = g_strdup (entry);

  if (colon == NULL || colon[1] == '\0')
    return TRUE;  /* "name:" is the default port, as in SQLAlchemy */
  for (const char *p = colon + 1; *p; p++)
    if (!g_ascii_isdigit (*p))
      {
        g_autofree char *shown = _dal_printable (entry);
        g_autofree char *port_shown = _dal_printable (colon + 1);
        g_clear_pointer (host, g_free);
        g_propagate_error (error, hosts_error (
          "Write host=name:port with the port in digits, e.g. host=db1:5432",
          "host=%s: the port \"%s\" is not a number", shown, port_shown));
        return FALSE;
      }
  *port = g_strdup (colon + 1);
  return TRUE;
}

/* The host list from the query's host= options, the way SQLAlchemy 2.0's
 * postgresql dialect reads them (psycopg2 and asyncpg alike):
 *   - several host= options: one entry each, "name[:port]"; the ports
 *     replace any other (a port= option is refused: two forms mixed);
 *   - a single host= holding one "name:port" and no port= option: that
 *     host on that port;
 *   - otherwise libpq's forms, unchanged (a single host, socket
 *     directory or IPv6 address, or a comma-separated list with port=),
 *     where an entry with a port is refused rather than taken as a name
 *     no resolver knows. */
static gboolean
apply_query_hosts (DalUrl *url, const QueryHosts *q, GError **error)
{
  if (q->values->len == 0)
    return TRUE;

  if (q->values->len == 1)
    {
      const char *value = g_ptr_array_index (q->values, 0);
      if (!q->port_option && strchr (value, ',') == NULL)
        {
          char *host, *port;
          if (!split_host_entry (value, FALSE, &host, &port, error))
            return FALSE;
          slot_set (url, "host", host);
          if (port != NULL)
            slot_set (url, "port", port);
          return TRUE;
        }
      g_auto (GStrv) entries = g_strsplit (value, ",", -1);
      for (guint i = 0; entries[i] != NULL; i++)
        if (entry_has_port (entries[i]))
          {
            g_autofree char *shown = _dal_printable (value);
            if (q->port_option)
              g_propagate_error (error, hosts_error (
                HINT_TWO_FORMS,
                "host=%s gives a port and the URL also has a port= option",
                shown));
            else
              g_propagate_error (error, hosts_error (
                HINT_TWO_FORMS,
                "host=%s: a comma-separated host list cannot give ports "
                "with the hosts", shown));
            return FALSE;
          }
      slot_set (url, "host", g_strdup (value));
      return TRUE;
    }

  if (q->port_option)
    {
      g_propagate_error (error, hosts_error (
        HINT_TWO_FORMS,
        "the URL has %u host= options and a port= option: two ways of "
        "giving several hosts mixed", q->values->len));
      return FALSE;
    }

  g_autoptr (GString) hosts = g_string_new (NULL);
  g_autoptr (GString) ports = g_string_new (NULL);
  gboolean any_port = FALSE;
  for (guint i = 0; i < q->values->len; i++)
    {
      const char *value = g_ptr_array_index (q->values, i);
      g_autofree char *host = NULL, *port = NULL;
      if (strchr (value, ',') != NULL)
        {
          g_autofree char *shown = _dal_printable (value);
          g_propagate_error (error, hosts_error (
            HINT_TWO_FORMS,
            "host=%s: a comma-separated list in one of several host= "
            "options", shown));
          return FALSE;
        }
      if (!split_host_entry (value, TRUE, &host, &port, error))
        return FALSE;
      if (i > 0)
        {
          g_string_append_c (hosts, ',');
          g_string_append_c (ports, ',');
        }
      g_string_append (hosts, host);
      if (port != NULL)
        {
          g_string_append (ports, port);
          any_port = TRUE;
        }
    }
  slot_set (url, "host", g_string_free (g_steal_pointer (&hosts), FALSE));
  slot_set (url, "port", any_port ? g_string_free (g_steal_pointer (&ports), FALSE)
                                  : NULL);
  return TRUE;
}

/* The query, from offset @p: name=value pairs separated by "&". */
static gboolean
parse_query (DalUrl *url, const char *input, gsize p, GError **error)
{
  gboolean after_secret = FALSE;
  QueryHosts hosts = { g_ptr_array_new_with_free_func (g_free), FALSE };
  g_autoptr (GPtrArray) host_values = hosts.values;

  while (input[p] != '\0')
    {
      gsize start = p;
      g_autofree char *name = NULL;
      GError *local = NULL;
      if (!parse_query_param (url, input, &p, &name,
                              is_postgresql (url) ? &hosts : NULL, &local))
        {
          /* "password=ab&cd": what follows a secret may be a piece of it;
           * say so without quoting it. */
          if (after_secret)
            {
              g_error_free (local);
              local = malformed (start, "Percent-encode \"&\" in a password "
                                 "as %26",
                                 "malformed query parameter right after a "
                                 "secret (an unencoded \"&\" in it?)");
            }
          g_propagate_error (error, local);
          return FALSE;
        }
      after_secret = dal_url_option_is_secret (name);
    }
  return apply_query_hosts (url, &hosts, error);
}

/* Sets a URL part (taking @value). */
static void
store_part (DalUrl *url, const char *name, char *value)
{
  gboolean known = slot_set (url, name, value);
  /* a dialect table always has the URL's parts */
  g_warn_if_fail (known);
}

/* Everything after "://", from offset @p, the way libpq 15 reads it. */
static gboolean
parse_after_scheme (DalUrl *url, const char *input, gsize p, GError **error)
{
  gsize q = p;
  char *decoded;

  /* User info, if an "@" comes before any "/".  ("?" does not stop the
   * look-ahead: libpq's rule, kept so that both read a URL alike.) */
  while (input[q] != '\0' && input[q] != '@' && input[q] != '/')
    q++;
  if (input[q] == '@')
    {
      gsize user_end = p;
      while (input[user_end] != ':' && input[user_end] != '@')
        user_end++;
      if (user_end > p)
        {
          if ((decoded = decode_part (input, p, user_end, "the user name",
                                      error)) == NULL)
            return FALSE;
          store_part (url, "user", decoded);
        }
      if (input[user_end] == ':' && q > user_end + 1)
        {
          if ((decoded = decode_part (input, user_end + 1, q, "the password",
                                      error)) == NULL)
            return FALSE;
          store_part (url, "password", decoded);
        }
      p = q + 1;
    }

  /* The host list: host[:port] entries separated by ",". */
  g_autoptr (GString) hosts = g_string_new (NULL);
  g_autoptr (GString) ports = g_string_new (NULL);
  char terminator;
  for (;;)
    {
      gsize host_start, host_end;

      if (input[p] == '[')
        {
          gsize open = p;
          host_start = p + 1;
          for (p = host_start; input[p] != '\0' && input[p] != ']'; p++)
            ;
          if (input[p] == '\0')
            {
              g_propagate_error (error,
                                 malformed (open, "Write an IPv6 address in "
                                            "brackets, e.g. [2001:db8::1]:5432",
                                            "no \"]\" closes the IPv6 address "
                                            "that starts here"));
              return FALSE;
            }
          if (p == host_start)
            {
              g_propagate_error (error,
                                 malformed (open, "Write an IPv6 address in "
                                            "the brackets, or leave the host "
                                            "out for the default",
                                            "empty IPv6 address \"[]\""));
              return FALSE;
            }
          host_end = p++;
          if (input[p] != '\0' && strchr (":/?,", input[p]) == NULL)
            {
              g_autofree char *c = describe_char (input[p]);
              g_propagate_error (error,
                                 malformed (p, "Write [address]:port, e.g. "
                                            "[2001:db8::1]:5432",
                                            "unexpected character %s after an "
                                            "IPv6 address (expected \":\", "
                                            "\"/\", \"?\", \",\" or the end)", c));
              return FALSE;
            }
        }
      else
        {
          host_start = p;
          while (input[p] != '\0' && strchr (":/?,", input[p]) == NULL)
            p++;
          host_end = p;
          /* libpq would take "ret@h" as a host name, but an "@" there means
           * the userinfo held an unencoded "@": a piece of a password.
           * Refuse it without quoting anything. */
          const char *at = memchr (input + host_start, '@', host_end - host_start);
          if (at != NULL)
            {
              g_propagate_error (error,
                                 malformed ((gsize) (at - input),
                                            "Percent-encode \"@\" in the user "
                                            "name and password as %40",
                                            "unexpected \"@\" after the host "
                                            "part began (a user name or password "
                                            "with an unencoded \"@\"?)"));
              return FALSE;
            }
        }

      if ((decoded = decode_part (input, host_start, host_end, "a host name",
                                  error)) == NULL)
        return FALSE;
      g_string_append (hosts, decoded);
      g_free (decoded);

      terminator = input[p];
      if (terminator == ':')
        {
          gsize port_start = ++p;
          while (input[p] != '\0' && strchr ("/?,", input[p]) == NULL)
            p++;
          if ((decoded = decode_part (input, port_start, p, "a port",
                                      error)) == NULL)
            return FALSE;
          /* Stricter than libpq, which takes any text here and fails at
           * connect time.  The text is not quoted: when a password holds
           * an unencoded "/", this is where its pieces land. */
          if (!_dal_option_check_value (&port_info, decoded, NULL)
              || strchr (decoded, ',') != NULL)
            {
              g_free (decoded);
              g_propagate_error (error,
                                 malformed (port_start, "Write the port as "
                                            "digits, e.g. host:5432 (a \"/\" "
                                            "in a password must be written "
                                            "%2F)",
                                            "expected a port number from 1 to "
                                            "65535 after \":\""));
              return FALSE;
            }
          g_string_append (ports, decoded);
          g_free (decoded);
          terminator = input[p];
        }

      if (terminator != ',')
        break;
      p++;
      g_string_append_c (hosts, ',');
      g_string_append_c (ports, ',');
    }
  /* Empty lists are not stored, as libpq does not. */
  if (hosts->len > 0)
    store_part (url, "host", g_strdup (hosts->str));
  if (ports->len > 0)
    store_part (url, "port", g_strdup (ports->str));

  if (terminator == '/')
    {
      gsize db_start = ++p;
      while (input[p] != '\0' && input[p] != '?')
        p++;
      /* An empty name is not stored: libpq would then take it as set. */
      if (p > db_start)
        {
          if ((decoded = decode_part (input, db_start, p, "the database name",
                                      error)) == NULL)
            return FALSE;
          store_part (url, "dbname", decoded);
        }
      terminator = input[p];
    }

  if (terminator == '?')
    return parse_query (url, input, p + 1, error);
  return TRUE;
}

/* Checks the values, and host and port counts libpq would refuse at
 * connect time. */
static gboolean
url_validate (const DalUrl *url, GError **error)
{
  guint n_libdal;
  const DalOptionInfo *libdal = _dal_libdal_options_get (&n_libdal);

  for (guint i = 0; i < url->slot_names->len; i++)
    {
      const char *value = g_ptr_array_index (url->slot_values, i);
      const DalOptionInfo *info = NULL;

      if (value == NULL)
        continue;
      if (has_table (url))
        info = &url->info->keywords[i];
      else if (strcmp (g_ptr_array_index (url->slot_names, i), "port") == 0)
        info = &port_info;
      if (info != NULL && !_dal_option_check_value (info, value, error))
        return FALSE;
    }
  for (guint i = 0; i < n_libdal; i++)
    if (url->libdal_values[i] != NULL
        && !_dal_option_check_value (&libdal[i], url->libdal_values[i], error))
      return FALSE;

  const char *host = slot_get (url, "host");
  const char *hostaddr = has_table (url) ? slot_get (url, "hostaddr") : NULL;
  const char *port = slot_get (url, "port");
  guint n_hosts = !is_empty (hostaddr) ? count_elements (hostaddr)
                  : !is_empty (host) ? count_elements (host) : 1;

  if (!is_empty (hostaddr) && !is_empty (host)
      && count_elements (host) != count_elements (hostaddr))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                             "Give host and hostaddr the same "
                                             "number of comma-separated entries",
                                             "the URL gives %u host name%s for %u "
                                             "hostaddr value%s",
                                             count_elements (host),
                                             count_elements (host) == 1 ? "" : "s",
                                             count_elements (hostaddr),
                                             count_elements (hostaddr) == 1 ? "" : "s"));
      return FALSE;
    }
  if (!is_empty (port) && count_elements (port) != 1
      && count_elements (port) != n_hosts)
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                             "Give one port per host, or a single "
                                             "port for all of them",
                                             "the URL gives %u ports for %u host%s",
                                             count_elements (port), n_hosts,
                                             n_hosts == 1 ? "" : "s"));
      return FALSE;
    }
  return TRUE;
}

/**
 * dal_url_parse:
 * @url: a database URL
 * @error: return location for a DAL_ERROR_URL_* error
 *
 * Parses and checks @url (see dal-url.h).  Nothing in an error message
 * comes from the userinfo or from a secret option's value.
 *
 * Returns: (transfer full) (nullable): the parsed URL, or %NULL on error.
 */
DalUrl *
dal_url_parse (const char *url, GError **error)
{
  g_autofree char *dialect = NULL;
  g_autofree char *driver = NULL;
  gsize rest;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!parse_scheme (url, &dialect, &driver, &rest, error))
    return NULL;

  g_autoptr (DalUrl) self = url_new (dialect, driver);
  if (!parse_after_scheme (self, url, rest, error)
      || !url_validate (self, error))
    return NULL;
  url_finish (self);
  return g_steal_pointer (&self);
}

/**
 * dal_url_ref:
 * @url: a DalUrl
 *
 * Returns: (transfer full): @url, with one more reference.
 */
DalUrl *
dal_url_ref (DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_atomic_ref_count_inc (&url->ref_count);
  return url;
}

/**
 * dal_url_unref:
 * @url: (transfer full): a DalUrl
 *
 * Drops one reference; the last one frees @url.
 */
void
dal_url_unref (DalUrl *url)
{
  g_return_if_fail (url != NULL);
  if (g_atomic_ref_count_dec (&url->ref_count))
    url_free (url);
}

/* dal_url_get_scheme: the canonical scheme ("postgresql+asyncpg"). */
const char *
dal_url_get_scheme (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return url->scheme;
}

/* dal_url_get_dialect: the canonical dialect ("postgresql"). */
const char *
dal_url_get_dialect (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return url->dialect;
}

/* dal_url_get_driver: the driver in lower case, or NULL. */
const char *
dal_url_get_driver (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return url->driver;
}

/* dal_url_get_user: the effective, decoded "user" keyword, or NULL. */
const char *
dal_url_get_user (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return slot_get (url, "user");
}

/* dal_url_get_password: the effective, decoded "password", or NULL. */
const char *
dal_url_get_password (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return slot_get (url, "password");
}

/* dal_url_get_database: the effective, decoded "dbname", or NULL. */
const char *
dal_url_get_database (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return slot_get (url, "dbname");
}

/**
 * dal_url_get_n_hosts:
 * @url: a DalUrl
 *
 * The entries libpq would try: as many as "hostaddr" has when it is set,
 * else as many as "host" has.  A URL that sets only a port (":5433")
 * has one entry, the default host on that port.
 *
 * Returns: the number of entries; 0 when the URL sets no host, hostaddr
 *   or port.
 */
guint
dal_url_get_n_hosts (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, 0);
  return url->n_hosts;
}

/**
 * dal_url_get_host:
 * @url: a DalUrl
 * @i: an entry, below dal_url_get_n_hosts()
 *
 * Returns: entry @i of "host": a name, an address, a socket directory, or
 *   "" for the default.
 */
const char *
dal_url_get_host (const DalUrl *url, guint i)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (i < url->n_hosts, NULL);
  return url->hosts[i];
}

/**
 * dal_url_get_port:
 * @url: a DalUrl
 * @i: an entry, below dal_url_get_n_hosts()
 *
 * Returns: (nullable): the port of entry @i as written (a single port
 *   applies to every entry), or %NULL for the default.
 */
const char *
dal_url_get_port (const DalUrl *url, guint i)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (i < url->n_hosts, NULL);
  return url->ports[i];
}

/**
 * dal_url_get_option:
 * @url: a DalUrl
 * @name: a connection keyword or one of libdal's options
 *
 * Returns: (nullable): its effective decoded value, or %NULL when unset.
 */
const char *
dal_url_get_option (const DalUrl *url, const char *name)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  int i = libdal_index (name);
  if (i >= 0)
    return url->libdal_values[i];
  return slot_get (url, name);
}

/* Whether a getter may be asked about @name: known dialects know all their
 * options, so another name is a programming error (a typo). */
static gboolean
option_name_is_known (const DalUrl *url, const char *name)
{
  return !has_table (url) || libdal_index (name) >= 0
         || slot_find (url, name) >= 0;
}

/**
 * dal_url_get_duration_ms:
 * @url: a DalUrl
 * @name: an option in seconds
 * @default_ms: the result when the option is unset
 *
 * Returns: the option in milliseconds (rounded up to the millisecond), or
 *   @default_ms when it is unset or (for a dialect without a table) not a
 *   number of seconds.
 */
gint64
dal_url_get_duration_ms (const DalUrl *url, const char *name, gint64 default_ms)
{
  gint64 ms;

  g_return_val_if_fail (url != NULL, default_ms);
  g_return_val_if_fail (name != NULL, default_ms);
  g_return_val_if_fail (option_name_is_known (url, name), default_ms);

  const char *value = dal_url_get_option (url, name);
  if (value == NULL || !_dal_parse_duration_ms (value, &ms))
    return default_ms;
  return ms;
}

/**
 * dal_url_get_uint:
 * @url: a DalUrl
 * @name: an option whose value is a non-negative integer
 * @default_value: the result when the option is unset
 *
 * Returns: the option's value, or @default_value when it is unset or not
 *   a whole number that fits a guint.
 */
guint
dal_url_get_uint (const DalUrl *url, const char *name, guint default_value)
{
  g_return_val_if_fail (url != NULL, default_value);
  g_return_val_if_fail (name != NULL, default_value);
  g_return_val_if_fail (option_name_is_known (url, name), default_value);

  const char *value = dal_url_get_option (url, name);
  if (value == NULL || *value == '\0')
    return default_value;

  guint64 v = 0;
  for (const char *p = value; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return default_value;
      v = v * 10 + (guint64) (*p - '0');
      if (v > G_MAXUINT)
        return default_value;
    }
  return (guint) v;
}

/**
 * dal_url_get_keywords:
 * @url: a DalUrl
 * @keywords: (out) (transfer none): keyword names, %NULL-terminated
 * @values: (out) (transfer none): their values
 *
 * The connection keywords for the dialect's client library (see
 * dal-url.h); the arrays live as long as @url.
 *
 * Returns: the number of keywords.
 */
guint
dal_url_get_keywords (const DalUrl *url, const char * const **keywords,
                      const char * const **values)
{
  g_return_val_if_fail (url != NULL, 0);

  if (keywords != NULL)
    *keywords = (const char * const *) url->keywords;
  if (values != NULL)
    *values = (const char * const *) url->values;
  return url->n_keywords;
}

/* -- writing -- */

/* Appends @text with everything outside RFC 3986's unreserved characters
 * (and @keep) percent-encoded. */
static void
append_encoded (GString *out, const char *text, const char *keep)
{
  for (const char *p = text; *p; p++)
    {
      if (g_ascii_isalnum (*p) || strchr ("-._~", *p) != NULL
          || (keep != NULL && strchr (keep, *p) != NULL))
        g_string_append_c (out, *p);
      else
        g_string_append_printf (out, "%%%02X", (guint) (guchar) *p);
    }
}

gboolean
dal_url_option_is_secret (const char *name)
{
  return strcmp (name, "password") == 0 || strcmp (name, "sslpassword") == 0
         || strcmp (name, "oauth_client_secret") == 0;
}

static char *
url_to_string (const DalUrl *url, gboolean redact)
{
  GString *out = g_string_new (url->scheme);
  const char *user = slot_get (url, "user");
  const char *password = slot_get (url, "password");
  const char *host = slot_get (url, "host");
  const char *port = slot_get (url, "port");
  const char *dbname = slot_get (url, "dbname");
  /* Which URL parts must go in the query instead: a value the URL's own
   * syntax cannot give (an empty one, or a host list whose port list does
   * not pair up with it the way the authority would). */
  gboolean user_in_query = user != NULL && *user == '\0';
  gboolean password_in_query = password != NULL && *password == '\0';
  gboolean dbname_in_query = dbname != NULL && *dbname == '\0';
  gboolean host_in_query = FALSE, port_in_query = FALSE;
  gboolean hosts_in_authority = FALSE, ports_in_authority = FALSE;
  guint n_hosts = host != NULL ? count_elements (host) : 1;
  guint n_ports = port != NULL ? count_elements (port) : 1;

  g_string_append (out, "://");

  if (!is_empty (user) || !is_empty (password))
    {
      if (!is_empty (user))
        append_encoded (out, user, NULL);
      if (!is_empty (password))
        {
          g_string_append_c (out, ':');
          if (redact)
            g_string_append (out, "****");
          else
            append_encoded (out, password, NULL);
        }
      g_string_append_c (out, '@');
    }

  if (host == NULL && port == NULL)
    ;
  else if ((host == NULL || *host != '\0') && (port == NULL || *port != '\0')
           && (host == NULL ? n_ports == 1
               : port == NULL ? n_hosts == 1 : n_hosts == n_ports))
    {
      hosts_in_authority = host != NULL;
      ports_in_authority = port != NULL;
    }
  else if (!is_empty (host) && (port != NULL || n_hosts == 1))
    {
      /* the authority's port list is then overridden by the query's */
      hosts_in_authority = TRUE;
      port_in_query = port != NULL;
    }
  else
    {
      host_in_query = host != NULL;
      port_in_query = port != NULL;
    }

  if (hosts_in_authority || ports_in_authority)
    {
      g_auto (GStrv) host_list = g_strsplit (host != NULL ? host : "", ",", -1);
      g_auto (GStrv) port_list = ports_in_authority ? g_strsplit (port, ",", -1)
                                                    : NULL;
      guint n = MAX (g_strv_length (host_list), 1);
      for (guint i = 0; i < n; i++)
        {
          const char *h = host_list[0] != NULL ? host_list[i] : "";
          if (i > 0)
            g_string_append_c (out, ',');
          if (strchr (h, ':') != NULL)
            {
              g_string_append_c (out, '[');
              append_encoded (out, h, ":");
              g_string_append_c (out, ']');
            }
          else
            append_encoded (out, h, NULL);
          if (port_list != NULL && *port_list[i] != '\0')
            {
              g_string_append_c (out, ':');
              append_encoded (out, port_list[i], NULL);
            }
        }
    }

  if (!is_empty (dbname))
    {
      g_string_append_c (out, '/');
      append_encoded (out, dbname, NULL);
    }

  char separator = '?';
  for (guint i = 0; i < url->slot_names->len; i++)
    {
      const char *name = g_ptr_array_index (url->slot_names, i);
      const char *value = g_ptr_array_index (url->slot_values, i);

      if (value == NULL)
        continue;
      if ((strcmp (name, "user") == 0 && !user_in_query)
          || (strcmp (name, "password") == 0 && !password_in_query)
          || (strcmp (name, "host") == 0 && !host_in_query)
          || (strcmp (name, "port") == 0 && !port_in_query)
          || (strcmp (name, "dbname") == 0 && !dbname_in_query))
        continue;
      g_string_append_c (out, separator);
      separator = '&';
      append_encoded (out, name, NULL);
      g_string_append_c (out, '=');
      if (redact && dal_url_option_is_secret (name))
        g_string_append (out, "****");
      else
        append_encoded (out, value, NULL);
    }

  guint n_libdal;
  const DalOptionInfo *libdal = _dal_libdal_options_get (&n_libdal);
  for (guint i = 0; i < n_libdal; i++)
    {
      if (url->libdal_values[i] == NULL)
        continue;
      g_string_append_c (out, separator);
      separator = '&';
      g_string_append_printf (out, "%s=", libdal[i].name);
      append_encoded (out, url->libdal_values[i], NULL);
    }

  return g_string_free (out, FALSE);
}

/**
 * dal_url_to_string:
 * @url: a DalUrl
 *
 * Returns: (transfer full): the canonical URL, password included; parsing
 *   it gives a URL with the same keywords and options.
 */
char *
dal_url_to_string (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return url_to_string (url, FALSE);
}

/**
 * dal_url_to_string_redacted:
 * @url: a DalUrl
 *
 * Returns: (transfer full): the canonical URL with the password (and the
 *   other secrets: sslpassword, oauth_client_secret) written "****".
 */
char *
dal_url_to_string_redacted (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return url_to_string (url, TRUE);
}

/* -- what dal-url-edit.c and the other parts of the core share of the
 * parser (dal-private.h) -- */

DalUrl *
_dal_url_new (const char *dialect, const char *driver)
{
  return url_new (dialect, driver);
}

gboolean
_dal_url_store_option (DalUrl *url, const char *name, char *value,
                       GError **error)
{
  return store_query_option (url, name, value, error);
}

gboolean
_dal_url_finish (DalUrl *url, GError **error)
{
  if (!url_validate (url, error))
    return FALSE;
  url_finish (url);
  return TRUE;
}

gboolean
_dal_url_check_driver_name (const char *driver, GError **error)
{
  const char *hint = "A driver name is made of letters, digits, \"-\", "
                     "\"_\" and \".\", e.g. asyncpg or psycopg2";
  if (*driver == '\0')
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_MALFORMED, hint,
                                             "empty driver name"));
      return FALSE;
    }
  for (const char *p = driver; *p; p++)
    if (!is_scheme_char (*p))
      {
        g_autofree char *c = describe_char (*p);
        g_autofree char *shown = _dal_printable (driver);
        g_propagate_error (error,
                           dal_error_new_hint (DAL_ERROR_URL_MALFORMED, hint,
                                               "invalid driver name \"%s\": "
                                               "unexpected character %s at "
                                               "position %" G_GSIZE_FORMAT,
                                               shown, c,
                                               (gsize) (p - driver) + 1));
        return FALSE;
      }
  return TRUE;
}

guint
_dal_edit_distance (const char *a, const char *b)
{
  return edit_distance (a, b);
}

/* Length of @name without one final dot. */
static gsize
hostname_len (const char *name)
{
  gsize len = strlen (name);
  return len > 0 && name[len - 1] == '.' ? len - 1 : len;
}

gboolean
dal_hostname_has_suffix (const char *host, const char *suffix)
{
  if (host == NULL || suffix == NULL)
    return FALSE;
  if (*suffix == '.')
    suffix++;
  gsize hlen = hostname_len (host);
  gsize slen = hostname_len (suffix);
  if (hlen == 0 || slen == 0 || slen > hlen)
    return FALSE;
  if (g_ascii_strncasecmp (host + hlen - slen, suffix, slen) != 0)
    return FALSE;
  return hlen == slen || host[hlen - slen - 1] == '.';
}

gboolean
dal_url_is_transaction_pooler (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, FALSE);

  if (g_strcmp0 (dal_url_get_option (url, "pooler_mode"), "transaction") == 0)
    return TRUE;
  for (guint i = 0; i < dal_url_get_n_hosts (url); i++)
    if (dal_hostname_has_suffix (dal_url_get_host (url, i), "pooler.supabase.com")
        && g_strcmp0 (dal_url_get_port (url, i), "6543") == 0)
      return TRUE;
  return FALSE;
}
