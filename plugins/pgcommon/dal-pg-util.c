/* dal-pg-util.c: parameters for libpq, connection facts, settings. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <libpq-events.h>

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

void
dal_pg_connected_free (DalPgConnected *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->conn, PQfinish);
  g_free (c);
}

/* "connect_ms_<phase>": milliseconds with two decimals (a dot, whatever
 * the locale), or NULL. */
static char *
timing_info (const DalPgTimings *t, const char *phase)
{
  if (t == NULL)
    return NULL;
  const gint64 *us = strcmp (phase, "dns") == 0 ? &t->dns
                     : strcmp (phase, "tcp") == 0 ? &t->tcp
                     : strcmp (phase, "tls") == 0 ? &t->tls
                     : strcmp (phase, "auth") == 0 ? &t->auth
                     : strcmp (phase, "total") == 0 ? &t->total : NULL;
  if (us == NULL)
    return NULL;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.2f", *us / 1000.0));
}

/* Whether libpq checked the server's certificate against a CA: sslmode
 * verify-ca or verify-full (wherever it came from: URL, service file,
 * PGSSLMODE) on a connection that uses TLS. */
static gboolean
tls_verified (PGconn *conn)
{
  if (!PQsslInUse (conn))
    return FALSE;
  gboolean verified = FALSE;
  PQconninfoOption *options = PQconninfo (conn);
  for (PQconninfoOption *o = options; o != NULL && o->keyword != NULL; o++)
    if (strcmp (o->keyword, "sslmode") == 0 && o->val != NULL)
      verified = g_str_has_prefix (o->val, "verify-");
  PQconninfoFree (options);
  return verified;
}

char *
dal_pg_get_info (PGconn *conn, const DalPgTimings *timings, const char *key)
{
  if (conn == NULL)
    return NULL;
  /* First: the pool asks for it at every release. */
  if (strcmp (key, "transaction_status") == 0)
    return g_strdup (transaction_status_name (PQtransactionStatus (conn)));
  if (strcmp (key, "server_version") == 0)
    return g_strdup_printf ("%d", PQserverVersion (conn));
  if (strcmp (key, "backend_pid") == 0)
    return g_strdup_printf ("%d", PQbackendPID (conn));
  if (strcmp (key, "host") == 0)
    return g_strdup (PQhost (conn));
  if (strcmp (key, "port") == 0)
    return g_strdup (PQport (conn));
  if (strcmp (key, "hostaddr") == 0)
    return g_strdup (PQhostaddr (conn));
  if (g_str_has_prefix (key, "connect_ms_"))
    return timing_info (timings, key + strlen ("connect_ms_"));
  if (strcmp (key, "tls") == 0)
    return g_strdup (PQsslInUse (conn) ? "on" : "off");
  if (strcmp (key, "tls_protocol") == 0)
    return PQsslInUse (conn) ? g_strdup (PQsslAttribute (conn, "protocol")) : NULL;
  if (strcmp (key, "tls_cipher") == 0)
    return PQsslInUse (conn) ? g_strdup (PQsslAttribute (conn, "cipher")) : NULL;
  if (strcmp (key, "tls_verified") == 0)
    return PQsslInUse (conn) ? g_strdup (tls_verified (conn) ? "yes" : "no") : NULL;
  if (strcmp (key, "tls_cert_not_after") == 0 || strcmp (key, "tls_cert_days_left") == 0)
    {
      gboolean want_date = strcmp (key, "tls_cert_not_after") == 0;
      char *not_after = NULL;
      gint64 left = 0;
      if (!dal_pg_tls_peer_expiry (conn, &not_after, &left))
        return NULL;
      if (want_date)
        return not_after;
      g_free (not_after);
      /* Whole days, rounded down: "0" is the last day. */
      return g_strdup_printf ("%" G_GINT64_FORMAT,
                              left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
    }
  if (strcmp (key, "libpq_version") == 0)
    return g_strdup_printf ("%d", PQlibVersion ());
  return NULL;
}

/* While dal_pg_check_idle() reads: keeps the first FATAL error the
 * server sent out of turn (libpq hands an ErrorResponse that answers no
 * query to the notice receiver), hands other notices on as the
 * connection's own receiver would. */
typedef struct
{
  PGconn *conn;
  GError *error;
  const DalPgNotify *notify;
} IdleRead;

static void
keep_idle_error (void *arg, const PGresult *res)
{
  IdleRead *idle = arg;
  const char *severity = PQresultErrorField (res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (g_strcmp0 (severity, "FATAL") != 0 && g_strcmp0 (severity, "PANIC") != 0)
    {
      dal_pg_notice_forward (idle->notify, res);
      return;
    }
  if (idle->error == NULL)
    idle->error = dal_pg_error_from_result (idle->conn, res);
}

gboolean
dal_pg_check_idle (PGconn *conn, const DalPgNotify *notify, GError **why)
{
  if (conn == NULL)
    {
      if (why != NULL)
        *why = dal_pg_error_connection_gone ("the connection was closed");
      return FALSE;
    }

  IdleRead idle = { conn, NULL, notify };
  PQnoticeReceiver old = PQsetNoticeReceiver (conn, keep_idle_error, &idle);
  gboolean alive = PQstatus (conn) == CONNECTION_OK;
  /* A few rounds at most: a FATAL message and the end of file may come
   * in two reads; a stream of notifications must not keep us here. */
  for (guint round = 0; alive && idle.error == NULL && round < 4; round++)
    {
      struct pollfd fd = { .fd = PQsocket (conn), .events = POLLIN };
      int n;
      do
        n = poll (&fd, 1, 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0 && !dal_pg_tls_input_pending (conn))
        break;
      if (!PQconsumeInput (conn))
        alive = FALSE;
      else
        PQisBusy (conn);  /* parses what came: an error goes to the receiver */
      alive = alive && PQstatus (conn) == CONNECTION_OK;
    }
  /* The receiver before: libpq's default one (which ignores its
   * argument) or dal_pg_notice_set()'s, whose argument is @notify. */
  PQsetNoticeReceiver (conn, old, (void *) notify);

  if (alive && idle.error == NULL)
    return TRUE;
  if (why != NULL)
    *why = idle.error != NULL ? g_steal_pointer (&idle.error)
                              : dal_pg_error_from_result (conn, NULL);
  g_clear_error (&idle.error);
  return FALSE;
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
