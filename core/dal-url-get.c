/* dal-url-get.c: what a parsed DalUrl says (the dal_url_get_* calls of
 * dal-url.h): its scheme, user, database, hosts and ports, options and
 * the keywords it yields for the client library.  Parsing is dal-url.c.
 */
#include "config.h"

#include <string.h>

#include "dal-url-private.h"

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
  return _dal_url_part_get (url, "user");
}

/* dal_url_get_password: the effective, decoded "password", or NULL. */
const char *
dal_url_get_password (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return _dal_url_part_get (url, "password");
}

/* dal_url_get_database: the effective, decoded "dbname", or NULL. */
const char *
dal_url_get_database (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  return _dal_url_part_get (url, "dbname");
}

/*
 * dal_url_get_n_hosts:
 * @url: a DalUrl
 *
 * The servers the client library would try: as many as the host address
 * option ("hostaddr") has when it is set,
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

/*
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

/*
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

/*
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

  int i = _dal_url_libdal_index (name);
  if (i >= 0)
    return url->libdal_values[i];
  return _dal_url_slot_get (url, name);
}

/* Whether a getter may be asked about @name: known dialects know all their
 * options, so another name is a programming error (a typo). */
static gboolean
option_name_is_known (const DalUrl *url, const char *name)
{
  return !_dal_url_has_table (url) || _dal_url_libdal_index (name) >= 0
         || _dal_url_slot_find (url, name) >= 0;
}

/*
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

/*
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

/*
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
