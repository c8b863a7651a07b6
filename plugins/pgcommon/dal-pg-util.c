/* dal-pg-util.c: parameters for libpq, connection facts, settings. */
#include "config.h"

#include <string.h>

#include "dal-pg.h"

#define BYTEAOID 17

void
dal_pg_params_init (DalPgParams *out, const DalParams *params)
{
  out->n = params != NULL ? (int) params->n : 0;
  if (out->n <= DAL_PG_INLINE_PARAMS)
    {
      out->types = out->inline_types;
      out->formats = out->inline_formats;
    }
  else
    {
      out->types = g_new (Oid, out->n);
      out->formats = g_new (int, out->n);
    }
  /* Everything but bytes goes as text of unknown type: the server infers
   * the type from the statement, as it does for a quoted literal, so "$1"
   * works where an int4, a bigint, a date or a text is expected. */
  for (int i = 0; i < out->n; i++)
    {
      gboolean bytes = params->types[i] == DAL_PARAM_BYTES;
      out->types[i] = bytes ? BYTEAOID : 0;
      out->formats[i] = bytes ? 1 : 0;
    }
}

void
dal_pg_params_clear (DalPgParams *p)
{
  if (p->types != p->inline_types)
    g_free (p->types);
  if (p->formats != p->inline_formats)
    g_free (p->formats);
}

static const char *
transaction_status_name (PGTransactionStatusType s)
{
  switch (s)
    {
    case PQTRANS_IDLE:
      return "idle";
    case PQTRANS_ACTIVE:
      return "active";
    case PQTRANS_INTRANS:
      return "intrans";
    case PQTRANS_INERROR:
      return "inerror";
    default:
      return "unknown";
    }
}

char *
dal_pg_get_info (PGconn *conn, const char *key)
{
  if (conn == NULL)
    return NULL;
  if (strcmp (key, "server_version") == 0)
    return g_strdup_printf ("%d", PQserverVersion (conn));
  if (strcmp (key, "backend_pid") == 0)
    return g_strdup_printf ("%d", PQbackendPID (conn));
  if (strcmp (key, "host") == 0)
    return g_strdup (PQhost (conn));
  if (strcmp (key, "port") == 0)
    return g_strdup (PQport (conn));
  if (strcmp (key, "tls") == 0)
    return g_strdup (PQsslInUse (conn) ? "on" : "off");
  if (strcmp (key, "tls_protocol") == 0)
    return PQsslInUse (conn) ? g_strdup (PQsslAttribute (conn, "protocol")) : NULL;
  if (strcmp (key, "tls_cipher") == 0)
    return PQsslInUse (conn) ? g_strdup (PQsslAttribute (conn, "cipher")) : NULL;
  if (strcmp (key, "transaction_status") == 0)
    return g_strdup (transaction_status_name (PQtransactionStatus (conn)));
  if (strcmp (key, "libpq_version") == 0)
    return g_strdup_printf ("%d", PQlibVersion ());
  return NULL;
}

gint64
dal_pg_command_timeout_ms (DalUrl *url)
{
  return dal_url_get_duration_ms (url, "command_timeout", 0);
}

void
dal_pg_source_clear (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_source_unref (*source);
      *source = NULL;
    }
}
