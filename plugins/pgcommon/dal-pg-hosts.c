/* dal-pg-hosts.c: the host= options of a postgresql URL's query, read
 * the way SQLAlchemy 2.0's postgresql dialect reads them (psycopg2 and
 * asyncpg alike): several host= options, "host=name:port".  The core's
 * parser hands them over once the query is read (DalDialect.query_hosts);
 * libpq itself would keep the last host=.
 */
#include "config.h"

#include <string.h>

#include "dal-pg.h"

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
          g_autofree char *shown = dal_printable (entry);
          g_propagate_error (error, dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
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
        g_autofree char *shown = dal_printable (entry);
        g_autofree char *port_shown = dal_printable (colon + 1);
        g_clear_pointer (host, g_free);
        g_propagate_error (error, dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
          "Write host=name:port with the port in digits, e.g. host=db1:5432",
          "host=%s: the port \"%s\" is not a number", shown, port_shown));
        return FALSE;
      }
  *port = g_strdup (colon + 1);
  return TRUE;
}

/* The host list from the query's host= options @values:
 *   - several host= options: one entry each, "name[:port]"; the ports
 *     replace any other (a port= option is refused: two forms mixed);
 *   - a single host= holding one "name:port" and no port= option: that
 *     host on that port;
 *   - otherwise libpq's forms, unchanged (a single host, socket
 *     directory or IPv6 address, or a comma-separated list with port=),
 *     where an entry with a port is refused rather than taken as a name
 *     no resolver knows. */
gboolean
dal_pg_query_hosts (const char * const *values, gboolean port_option,
                    char **host_out, char **port_out, GError **error)
{
  guint n_values = g_strv_length ((char **) values);

  if (n_values == 1)
    {
      const char *value = values[0];
      if (!port_option && strchr (value, ',') == NULL)
        {
          char *host, *port;
          if (!split_host_entry (value, FALSE, &host, &port, error))
            return FALSE;
          *host_out = host;
          if (port != NULL)
            {
              g_free (*port_out);
              *port_out = port;
            }
          return TRUE;
        }
      g_auto (GStrv) entries = g_strsplit (value, ",", -1);
      for (guint i = 0; entries[i] != NULL; i++)
        if (entry_has_port (entries[i]))
          {
            g_autofree char *shown = dal_printable (value);
            if (port_option)
              g_propagate_error (error, dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                HINT_TWO_FORMS,
                "host=%s gives a port and the URL also has a port= option",
                shown));
            else
              g_propagate_error (error, dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
                HINT_TWO_FORMS,
                "host=%s: a comma-separated host list cannot give ports "
                "with the hosts", shown));
            return FALSE;
          }
      *host_out = g_strdup (value);
      return TRUE;
    }

  if (port_option)
    {
      g_propagate_error (error, dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
        HINT_TWO_FORMS,
        "the URL has %u host= options and a port= option: two ways of "
        "giving several hosts mixed", n_values));
      return FALSE;
    }

  g_autoptr (GString) hosts = g_string_new (NULL);
  g_autoptr (GString) ports = g_string_new (NULL);
  gboolean any_port = FALSE;
  for (guint i = 0; i < n_values; i++)
    {
      const char *value = values[i];
      g_autofree char *host = NULL, *port = NULL;
      if (strchr (value, ',') != NULL)
        {
          g_autofree char *shown = dal_printable (value);
          g_propagate_error (error, dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE,
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
  *host_out = g_string_free (g_steal_pointer (&hosts), FALSE);
  g_free (*port_out);
  *port_out = any_port ? g_string_free (g_steal_pointer (&ports), FALSE) : NULL;
  return TRUE;
}
