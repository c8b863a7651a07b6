/* dal-url-hosts.c: host names: dal_hostname_has_suffix() and
 * dal_url_is_transaction_pooler().  (How a query's host= options name
 * servers is the dialect's: DalDialect.query_hosts.)
 */
#include "config.h"

#include <string.h>

#include "dal-url-private.h"

/* -- host names -- */

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
