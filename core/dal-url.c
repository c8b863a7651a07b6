/* dal-url.c: parsing and checking database URLs, and reading them (the
 * getters).  Writing a URL back as text is in dal-url-write.c; host
 * names in dal-url-hosts.c; what these files share in dal-url-private.h.
 *
 * After "dialect[+driver]://" every dialect's URL is read by the rules of
 * PostgreSQL's connection URIs, as its client library (version 15) reads
 * them, quirks included: for postgresql the options a DalUrl yields are
 * the ones that library would give for the same URL without "+driver".
 * Where libdal is stricter (unknown options, bad ports and option values
 * fail here rather than at connect time) the comments say so.  A dialect
 * may read the query's host= options itself (DalDialect.query_hosts:
 * the postgresql plugins read them the way SQLAlchemy does).
 *
 * Error messages give positions, option names and option values, but never
 * any part of the userinfo (user name and password), nor the password or
 * another secret however it was given.
 */
#include "config.h"

#include <string.h>

#include "dal-url-private.h"

#define URL_EXAMPLE "postgresql+asyncpg://user@host:5432/dbname"

G_DEFINE_BOXED_TYPE (DalUrl, dal_url, dal_url_ref, dal_url_unref)

/* Keywords the URL's own parts (rather than its query) set. */
static const char * const url_part_names[] = {
  "user", "password", "host", "port", "dbname", NULL
};

static const DalOptionInfo port_info = { "port", DAL_URL_OPTION_PORT, 0, NULL, 0 };

/* -- construction -- */

/* Whether the dialect lists its keywords (else any option passes). */
gboolean
_dal_url_has_table (const DalUrl *url)
{
  return url->info != NULL && url->info->options != NULL;
}

/* The option that the URL's part @part ("user", "password", "host",
 * "port" or "dbname") sets: the part's own name without a dialect table,
 * else the dialect's (NULL: its URLs have no such part). */
const char *
_dal_url_part (const DalUrl *url, const char *part)
{
  if (!_dal_url_has_table (url))
    return part;
  switch (part[0])
    {
    case 'u': return url->info->user_option;
    case 'h': return url->info->host_option;
    case 'd': return url->info->path_option;
    case 'p': return part[1] == 'a' ? url->info->password_option
                                    : url->info->port_option;
    default: g_return_val_if_reached (NULL);
    }
}

const char *
_dal_url_part_get (const DalUrl *url, const char *part)
{
  const char *name = _dal_url_part (url, part);
  return name != NULL ? _dal_url_slot_get (url, name) : NULL;
}

/* The option that gives numeric addresses parallel to the hosts. */
static const char *
host_address_get (const DalUrl *url)
{
  if (!_dal_url_has_table (url) || url->info->host_address_option == NULL)
    return NULL;
  return _dal_url_slot_get (url, url->info->host_address_option);
}

DalUrl *
_dal_url_new (const char *dialect, const char *driver)
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
  if (_dal_url_has_table (url))
    {
      for (guint i = 0; i < url->info->n_options; i++)
        {
          g_ptr_array_add (url->slot_names, g_strdup (url->info->options[i].name));
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

int
_dal_url_slot_find (const DalUrl *url, const char *name)
{
  for (guint i = 0; i < url->slot_names->len; i++)
    if (strcmp (g_ptr_array_index (url->slot_names, i), name) == 0)
      return (int) i;
  return -1;
}

const char *
_dal_url_slot_get (const DalUrl *url, const char *name)
{
  int i = _dal_url_slot_find (url, name);
  return i >= 0 ? g_ptr_array_index (url->slot_values, i) : NULL;
}

/* Sets keyword @name (taking @value), adding a slot for it if the dialect
 * has no table.  Returns FALSE if a known dialect does not have @name. */
gboolean
_dal_url_slot_set (DalUrl *url, const char *name, char *value)
{
  int i = _dal_url_slot_find (url, name);

  if (i < 0)
    {
      if (_dal_url_has_table (url))
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
int
_dal_url_libdal_index (const char *name)
{
  guint n;
  const DalOptionInfo *all = _dal_libdal_options_get (&n);
  const DalOptionInfo *info = _dal_libdal_option_lookup (name);

  return info != NULL ? (int) (info - all) : -1;
}

/* Number of entries in a comma-separated list ("a,,b" has three). */
guint
_dal_url_count_elements (const char *list)
{
  guint n = 1;
  for (const char *p = list; *p; p++)
    if (*p == ',')
      n++;
  return n;
}

gboolean
_dal_url_is_empty (const char *s)
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

  /* The host list, as the client library builds it: hostaddr (when given) sets the
   * number of entries, else host; a single port applies to every host. */
  const char *host = _dal_url_part_get (url, "host");
  const char *hostaddr = host_address_get (url);
  const char *port = _dal_url_part_get (url, "port");

  if (_dal_url_is_empty (host) && _dal_url_is_empty (hostaddr)
      && _dal_url_is_empty (port))
    return;

  guint n_hosts = !_dal_url_is_empty (hostaddr) ? _dal_url_count_elements (hostaddr)
                  : !_dal_url_is_empty (host) ? _dal_url_count_elements (host) : 1;
  g_auto (GStrv) host_list = !_dal_url_is_empty (host)
                               ? g_strsplit (host, ",", -1) : NULL;
  g_auto (GStrv) port_list = !_dal_url_is_empty (port)
                               ? g_strsplit (port, ",", -1) : NULL;
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
      url->ports[i] = _dal_url_is_empty (p) ? NULL : g_strdup (p);
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

/* Decodes @len bytes at @text by the URI rules: "%XX" with two hex
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
                      "this looks like a key=value connection string, "
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
  const DalDialect *info = _dal_dialect_lookup (lower);
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

void
_dal_suggestion_consider (DalSuggestion *s, const char *unknown,
                          const char *candidate)
{
  guint d = edit_distance (unknown, candidate);
  if (d < s->distance && d < strlen (unknown))
    {
      s->best = candidate;
      s->distance = d;
    }
}

static GError *
unknown_option_error (const DalDialect *dialect, const char *name)
{
  DalSuggestion suggestion = DAL_SUGGESTION_INIT;
  guint n_libdal;
  const DalOptionInfo *libdal = _dal_libdal_options_get (&n_libdal);
  g_autoptr (GString) hint = g_string_new (NULL);
  g_autoptr (GString) own = g_string_new (NULL);

  for (guint i = 0; i < dialect->n_options; i++)
    _dal_suggestion_consider (&suggestion, name, dialect->options[i].name);
  for (guint i = 0; i < n_libdal; i++)
    _dal_suggestion_consider (&suggestion, name, libdal[i].name);
  for (const char * const *s = dialect->synonyms; s != NULL && *s != NULL; s++)
    _dal_suggestion_consider (&suggestion, name, *s);

  for (guint i = 0; i < n_libdal; i++)
    g_string_append_printf (own, "%s%s", i == 0 ? "" : i + 1 == n_libdal
                                                       ? " and " : ", ",
                            libdal[i].name);
  if (suggestion.best != NULL)
    g_string_append_printf (hint, "Did you mean %s? ", suggestion.best);
  if (dialect->docs_hint != NULL)
    g_string_append (hint, dialect->docs_hint);
  else if (dialect->client_library != NULL)
    g_string_append_printf (hint, "See the connection parameters of %s",
                            dialect->client_library);
  else if (dialect->n_options > 0 && dialect->n_options <= 20)
    {
      g_string_append_printf (hint, "The %s dialect's options are ",
                              dialect->name);
      for (guint i = 0; i < dialect->n_options; i++)
        g_string_append_printf (hint, "%s%s",
                                i == 0 ? "" : i + 1 == dialect->n_options
                                                ? " and " : ", ",
                                dialect->options[i].name);
    }
  else
    g_string_append_printf (hint, "See the options of the %s dialect's "
                            "plugin", dialect->name);
  g_string_append_printf (hint, "; libdal's own options are %s", own->str);

  g_autofree char *shown = _dal_printable (name);
  return dal_error_new_hint (DAL_ERROR_URL_UNKNOWN_OPTION, hint->str,
                             "unknown option \"%s\" in the URL", shown);
}

/* Whether the dialect lists several servers. */
static gboolean
has_host_list (const DalUrl *url)
{
  return url->info != NULL && (url->info->flags & DAL_DIALECT_HOST_LIST) != 0;
}

/* Stores one decoded query option (taking @value). */
gboolean
_dal_url_store_option (DalUrl *url, const char *name, char *value, GError **error)
{
  if (_dal_url_has_table (url) && url->info->map_option != NULL
      && _dal_url_libdal_index (name) < 0
      && _dal_dialect_get_option (url->info, name) == NULL)
    {
      const char *mapped_value = NULL;
      GError *local = NULL;
      const char *option = url->info->map_option (name, value, &mapped_value,
                                                  &local);
      if (local != NULL)
        {
          g_free (value);
          g_propagate_error (error, local);
          return FALSE;
        }
      if (option != NULL && mapped_value != NULL)
        {
          g_free (value);
          value = g_strdup (mapped_value);
          name = option;
        }
    }

  int i = _dal_url_libdal_index (name);
  if (i >= 0)
    {
      g_free (url->libdal_values[i]);
      url->libdal_values[i] = value;
      return TRUE;
    }
  if (!_dal_url_slot_set (url, name, value))
    {
      g_propagate_error (error, unknown_option_error (url->info, name));
      return FALSE;
    }
  return TRUE;
}

/* The host= options of a query, kept until the whole query is read when
 * the dialect reads them itself (DalDialect.query_hosts). */
typedef struct
{
  GPtrArray *values;            /* char *, decoded, in order */
  gboolean port_option;         /* the query has a port= option */
} QueryHosts;

/* Hands the query's host= options @q to the dialect's reader, and stores
 * the host and port it makes of them. */
static gboolean
apply_query_hosts (DalUrl *url, QueryHosts *q, GError **error)
{
  if (q->values->len == 0)
    return TRUE;

  char *host = NULL;
  char *port = g_strdup (_dal_url_part_get (url, "port"));
  g_ptr_array_add (q->values, NULL);
  if (!url->info->query_hosts ((const char * const *) q->values->pdata,
                               q->port_option, &host, &port, error))
    {
      g_free (port);
      return FALSE;
    }
  _dal_url_slot_set (url, _dal_url_part (url, "host"), host);
  _dal_url_slot_set (url, _dal_url_part (url, "port"), port);
  return TRUE;
}

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
                             "?command_timeout=5&pool_max_size=10";
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
                                        "?command_timeout=5",
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
          if (!_dal_url_store_option (url, name, value, error))
            return FALSE;
        }
      *name_out = g_steal_pointer (&name);
    }
  *pp = p;
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
                              url->info != NULL
                              && url->info->query_hosts != NULL
                                ? &hosts : NULL, &local))
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
      after_secret = _dal_dialect_option_is_secret (url->info, name);
    }
  return apply_query_hosts (url, &hosts, error);
}

/* Sets a URL part (taking @value): FALSE when the dialect's URLs have
 * no such part. */
static gboolean
store_part (DalUrl *url, const char *part, char *value, GError **error)
{
  static const char * const described[] = {
    "user", "a user name", "password", "a password", "host", "a host",
    "port", "a port", "dbname", "a path after the host", NULL
  };
  const char *name = _dal_url_part (url, part);

  if (name != NULL && _dal_url_slot_set (url, name, value))
    return TRUE;
  g_free (value);
  const char *what = part;
  for (guint i = 0; described[i] != NULL; i += 2)
    if (strcmp (described[i], part) == 0)
      what = described[i + 1];
  g_propagate_error (error,
                     dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                         "Remove it from the URL; see the "
                                         "plugin's documentation for the "
                                         "dialect's URL form",
                                         "%s:// URLs have no %s part, but the "
                                         "URL gives %s", url->dialect,
                                         part, what));
  return FALSE;
}

/* Everything after "://", from offset @p (see the top of this file). */
static gboolean
parse_after_scheme (DalUrl *url, const char *input, gsize p, GError **error)
{
  gsize q = p;
  char *decoded;

  /* User info, if an "@" comes before any "/".  ("?" does not stop the
   * look-ahead: the client library's rule, kept so that both read a URL alike.) */
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
          if (!store_part (url, "user", decoded, error))
            return FALSE;
        }
      if (input[user_end] == ':' && q > user_end + 1)
        {
          if ((decoded = decode_part (input, user_end + 1, q, "the password",
                                      error)) == NULL)
            return FALSE;
          if (!store_part (url, "password", decoded, error))
            return FALSE;
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
          /* The client library would take "ret@h" as a host name, but an "@" there means
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
          /* Stricter than the client library, which takes any text here and fails at
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
  /* Empty lists are not stored, as the client library does not. */
  if (hosts->len > 0 && !store_part (url, "host", g_strdup (hosts->str), error))
    return FALSE;
  if (ports->len > 0 && !store_part (url, "port", g_strdup (ports->str), error))
    return FALSE;

  if (terminator == '/')
    {
      gsize db_start = ++p;
      while (input[p] != '\0' && input[p] != '?')
        p++;
      /* An empty name is not stored: the client library would then take it as set. */
      if (p > db_start)
        {
          if ((decoded = decode_part (input, db_start, p, "the database name",
                                      error)) == NULL)
            return FALSE;
          if (!store_part (url, "dbname", decoded, error))
            return FALSE;
        }
      terminator = input[p];
    }

  if (terminator == '?')
    return parse_query (url, input, p + 1, error);
  return TRUE;
}

/* Checks the values, and host and port counts the client library would refuse at
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
      if (_dal_url_has_table (url))
        info = &url->info->options[i];
      else if (strcmp (g_ptr_array_index (url->slot_names, i), "port") == 0)
        info = &port_info;
      if (info != NULL && !_dal_option_check_value (info, value, error))
        return FALSE;
    }
  for (guint i = 0; i < n_libdal; i++)
    if (url->libdal_values[i] != NULL
        && !_dal_option_check_value (&libdal[i], url->libdal_values[i], error))
      return FALSE;

  const char *host = _dal_url_part_get (url, "host");
  const char *hostaddr = host_address_get (url);
  const char *port = _dal_url_part_get (url, "port");
  guint n_hosts = !_dal_url_is_empty (hostaddr) ? _dal_url_count_elements (hostaddr)
                  : !_dal_url_is_empty (host) ? _dal_url_count_elements (host) : 1;

  if (!_dal_url_is_empty (hostaddr) && !_dal_url_is_empty (host)
      && _dal_url_count_elements (host) != _dal_url_count_elements (hostaddr))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                             "Give host and hostaddr the same "
                                             "number of comma-separated entries",
                                             "the URL gives %u host name%s for %u "
                                             "hostaddr value%s",
                                             _dal_url_count_elements (host),
                                             _dal_url_count_elements (host) == 1
                                               ? "" : "s",
                                             _dal_url_count_elements (hostaddr),
                                             _dal_url_count_elements (hostaddr) == 1
                                               ? "" : "s"));
      return FALSE;
    }
  if (!_dal_url_is_empty (port) && _dal_url_count_elements (port) != 1
      && _dal_url_count_elements (port) != n_hosts)
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                             "Give one port per host, or a single "
                                             "port for all of them",
                                             "the URL gives %u ports for %u host%s",
                                             _dal_url_count_elements (port), n_hosts,
                                             n_hosts == 1 ? "" : "s"));
      return FALSE;
    }
  if (_dal_url_has_table (url) && !has_host_list (url)
      && ((!_dal_url_is_empty (host) && _dal_url_count_elements (host) > 1)
          || (!_dal_url_is_empty (port) && _dal_url_count_elements (port) > 1)))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                             "Give one host and one port",
                                             "%s:// URLs name one server, but "
                                             "the URL lists several", url->dialect));
      return FALSE;
    }
  return TRUE;
}

/*
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

  g_autoptr (DalUrl) self = _dal_url_new (dialect, driver);
  if (!parse_after_scheme (self, url, rest, error)
      || !url_validate (self, error))
    return NULL;
  url_finish (self);
  return g_steal_pointer (&self);
}

/*
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

/*
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

/* -- what dal-url-edit.c and the other parts of the core share of the
 * parser (dal-private.h) -- */

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

/* The option @name as @dialect reads it: the URL's part names map to
 * the dialect's options when @url was parsed without a table. */
static const char *
dialect_name_of (const DalUrl *url, const DalDialect *dialect,
                 const char *name, gboolean *no_part)
{
  static const char * const parts[] = {
    "user", "password", "host", "port", "dbname", NULL
  };

  *no_part = FALSE;
  if (_dal_url_has_table (url) || !g_strv_contains (parts, name))
    return name;
  const char *mapped = name[0] == 'u' ? dialect->user_option
                       : name[0] == 'h' ? dialect->host_option
                       : name[0] == 'd' ? dialect->path_option
                       : name[1] == 'a' ? dialect->password_option
                       : dialect->port_option;
  *no_part = mapped == NULL;
  return mapped;
}

gboolean
_dal_url_check_dialect (const DalUrl *url, const DalDialect *dialect,
                        GError **error)
{
  g_return_val_if_fail (url != NULL, FALSE);

  if (dialect == NULL || dialect->options == NULL || url->info == dialect)
    return TRUE;

  for (guint i = 0; i < url->slot_names->len; i++)
    {
      const char *value = g_ptr_array_index (url->slot_values, i);
      const char *slot = g_ptr_array_index (url->slot_names, i);
      gboolean no_part;

      if (value == NULL)
        continue;
      const char *name = dialect_name_of (url, dialect, slot, &no_part);
      if (no_part)
        {
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                                                 "Remove it from the URL",
                                                 "%s:// URLs have no %s part",
                                                 dialect->name, slot));
          return FALSE;
        }
      const DalUrlOption *option = _dal_dialect_get_option (dialect, name);
      if (option == NULL)
        {
          g_propagate_error (error, unknown_option_error (dialect, name));
          return FALSE;
        }
      if (!_dal_option_check_value (option, value, error))
        return FALSE;
    }
  return TRUE;
}
