/* dal-url-write.c: writing a DalUrl back as text: dal_url_to_string()
 * (canonical, parsing it gives the same keywords and options) and
 * dal_url_to_string_redacted() (the secrets written "****"), and which
 * options are secrets (dal_url_option_is_secret()).
 */
#include "config.h"

#include <string.h>

#include "dal-url-private.h"

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

static char *
url_to_string (const DalUrl *url, gboolean redact)
{
  GString *out = g_string_new (url->scheme);
  const char *user = _dal_url_part_get (url, "user");
  const char *password = _dal_url_part_get (url, "password");
  const char *host = _dal_url_part_get (url, "host");
  const char *port = _dal_url_part_get (url, "port");
  const char *dbname = _dal_url_part_get (url, "dbname");
  /* Which URL parts must go in the query instead: a value the URL's own
   * syntax cannot give (an empty one, or a host list whose port list does
   * not pair up with it the way the authority would). */
  gboolean user_in_query = user != NULL && *user == '\0';
  gboolean password_in_query = password != NULL && *password == '\0';
  gboolean dbname_in_query = dbname != NULL && *dbname == '\0';
  gboolean host_in_query = FALSE, port_in_query = FALSE;
  gboolean hosts_in_authority = FALSE, ports_in_authority = FALSE;
  guint n_hosts = host != NULL ? _dal_url_count_elements (host) : 1;
  guint n_ports = port != NULL ? _dal_url_count_elements (port) : 1;

  g_string_append (out, "://");

  if (!_dal_url_is_empty (user) || !_dal_url_is_empty (password))
    {
      if (!_dal_url_is_empty (user))
        append_encoded (out, user, NULL);
      if (!_dal_url_is_empty (password))
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
  else if (!_dal_url_is_empty (host) && (port != NULL || n_hosts == 1))
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

  if (!_dal_url_is_empty (dbname))
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
      if ((g_strcmp0 (name, _dal_url_part (url, "user")) == 0 && !user_in_query)
          || (g_strcmp0 (name, _dal_url_part (url, "password")) == 0 && !password_in_query)
          || (g_strcmp0 (name, _dal_url_part (url, "host")) == 0 && !host_in_query)
          || (g_strcmp0 (name, _dal_url_part (url, "port")) == 0 && !port_in_query)
          || (g_strcmp0 (name, _dal_url_part (url, "dbname")) == 0 && !dbname_in_query))
        continue;
      g_string_append_c (out, separator);
      separator = '&';
      append_encoded (out, name, NULL);
      g_string_append_c (out, '=');
      if (redact && (_dal_dialect_option_is_secret (url->info, name)
                     || dal_url_option_is_secret (name)))
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

/*
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

/*
 * dal_url_to_string_redacted:
 * @url: a DalUrl
 *
 * Returns: (transfer full): the canonical URL with the password (and the
 *   options the dialect marks DAL_URL_OPTION_SECRET) written "****".
 */
char *
dal_url_to_string_redacted (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return url_to_string (url, TRUE);
}
