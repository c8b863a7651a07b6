/* dal-pg-connect.c: connecting without blocking, host by host.
 *
 * libpq's own multi-host loop cannot be given a deadline per host, and
 * PQconnectStartParams resolves names with a blocking getaddrinfo().  So
 * the engine tries one (host, address) at a time: a name is resolved by
 * the caller (GResolver) and handed to libpq as hostaddr together with
 * host, so certificate host-name checks still use the name.  The hosts
 * are those libpq would use, wherever they come from (the URL, a service
 * file, PGHOST): see effective_settings().
 *
 * An authentication failure ends the connect at once, as in libpq: other
 * hosts would refuse the same credentials, and poolers lock clients out
 * after repeated failures.
 *
 * Deadlines: the whole connect gets connect_timeout (fractional seconds;
 * DAL_DEFAULT_CONNECT_TIMEOUT_MS when absent; 0 means none).  Each host
 * gets an equal share of what is left when its turn comes, so a host that
 * hangs cannot eat the budget of the hosts after it, and a host that fails
 * fast leaves its share to the next.
 */
#include "config.h"

#include <string.h>
#include <glib-unix.h>

#include "dal-pg.h"

typedef struct
{
  char *host;      /* as written: name, IP literal, socket dir, or NULL */
  char *port;      /* or NULL */
  char *hostaddr;  /* given in the URL, or NULL */
} Target;

struct _DalPgConnector
{
  DalUrl *url;
  GPtrArray *keywords;   /* base keywords (no host/hostaddr/port/connect_timeout) */
  GPtrArray *values;
  GArray *targets;       /* Target */
  guint target;          /* index of the current target */
  gboolean target_begun;
  char **addresses;      /* current target's resolved addresses, or NULL */
  guint address;         /* index into addresses */
  gboolean needs_resolve;

  gint64 budget_us;      /* 0: no limit */
  gint64 overall_deadline;
  gint64 host_deadline;
  gint64 attempt_start;

  /* Phase changes (monotonic µs) for DalPgTimings: the connect's start,
   * the current host's resolution, and the current attempt's TCP, TLS
   * and authentication phases as PQconnectPoll() moves through them. */
  gint64 started;
  gint64 resolve_start;
  gint64 dns_us;
  gint64 tcp_start, tcp_end, tls_end, done;

  PGconn *conn;
  gboolean polled;       /* PQconnectPoll called since the attempt started */
  PostgresPollingStatusType poll_state;

  GPtrArray *failures;   /* GError *, one per failed attempt */
  GError *error;         /* the final error, once FAILED */
  DalPgTlsProbe *tls_probe;  /* a certificate that did not verify, to explain */

  DalPgSession *session;  /* settings to check on a transaction pooler */
  gboolean checking;      /* connected; the settings' check is under way */
  guint check_syncs;      /* sync points of the check still to come */
  GError *check_error;    /* the first setting the server refused */
};

static void
target_clear (Target *t)
{
  g_free (t->host);
  g_free (t->port);
  g_free (t->hostaddr);
}

/* Splits a libpq comma list ("a,b") into @n elements; a single element
 * applies to all (libpq's rule for port), empty elements are NULL. */
static char *
list_element (const char *list, guint i, guint n)
{
  if (list == NULL)
    return NULL;
  g_auto (GStrv) parts = g_strsplit (list, ",", -1);
  guint len = g_strv_length (parts);
  const char *v = len == 1 ? parts[0] : (i < len ? parts[i] : NULL);
  return v != NULL && *v != '\0' ? g_strdup (v) : NULL;
}

/* What libpq makes of host, hostaddr and port once it has added the
 * service file's entries and the environment's (PGHOST, PGHOSTADDR,
 * PGPORT) to the URL's, by its own rules (service= in the URL, else
 * PGSERVICE; PGSERVICEFILE or ~/.pg_service.conf, then pg_service.conf
 * in PGSYSCONFDIR or libpq's own directory).
 *
 * libpq offers no call for that, so the engine asks for a connection
 * that cannot start: PQconnectStartParams fills in every setting from the
 * URL, the service and the environment, then validates them, and stops at
 * the invalid channel_binding below before any host is resolved or any
 * socket made.  PQconninfo() then gives the lists as libpq would use them.
 * A setting libpq refuses at that stage (a service that is not defined, a
 * syntax error in the service file, more ports than hosts) is the
 * connect's error, before any I/O. */
#define DRY_RUN_MARK "dal-settings-only"

static gboolean
effective_settings (DalPgConnector *c, char **host, char **hostaddr, char **port,
                    GError **error)
{
  guint n = c->keywords->len;
  const char **kw = g_newa (const char *, n + 5);
  const char **val = g_newa (const char *, n + 5);
  guint k = 0;
  for (guint i = 0; i < n; i++)
    if (strcmp (c->keywords->pdata[i], "channel_binding") != 0)
      {
        kw[k] = c->keywords->pdata[i];
        val[k++] = c->values->pdata[i];
      }
  static const char * const targets[] = { "host", "hostaddr", "port" };
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      const char *v = dal_url_get_option (c->url, targets[i]);
      if (v != NULL && *v != '\0')
        kw[k] = targets[i], val[k++] = v;
    }
  kw[k] = "channel_binding", val[k++] = DRY_RUN_MARK;
  kw[k] = NULL, val[k] = NULL;

  PGconn *conn = PQconnectStartParams (kw, val, 0);
  if (conn == NULL)
    {
      g_propagate_error (error, dal_error_new_hint (DAL_ERROR_CONNECT_FAILED, NULL,
                                                    "libpq could not allocate a connection"));
      return FALSE;
    }
  const char *message = PQerrorMessage (conn);
  if (PQstatus (conn) == CONNECTION_BAD && strstr (message, DRY_RUN_MARK) == NULL)
    {
      g_autofree char *clean = dal_pg_clean_message (message);
      gboolean service = strstr (clean, "service") != NULL;
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_CONNECT_FAILED,
        service ? "Check the service name (service= in the URL, or PGSERVICE) "
                  "and the service files libpq reads: PGSERVICEFILE or "
                  "~/.pg_service.conf, then pg_service.conf in PGSYSCONFDIR"
                : "Check the URL's hosts, ports and hostaddr, and the PGHOST, "
                  "PGHOSTADDR and PGPORT variables of the environment",
        "invalid connection settings: %s", clean));
      PQfinish (conn);
      return FALSE;
    }
  PQconninfoOption *options = PQconninfo (conn);
  for (PQconninfoOption *o = options; o != NULL && o->keyword != NULL; o++)
    {
      char **out = strcmp (o->keyword, "host") == 0 ? host
                   : strcmp (o->keyword, "hostaddr") == 0 ? hostaddr
                   : strcmp (o->keyword, "port") == 0 ? port : NULL;
      if (out != NULL && o->val != NULL && *o->val != '\0')
        *out = g_strdup (o->val);
    }
  PQconninfoFree (options);
  PQfinish (conn);
  return TRUE;
}

static guint
count_elements (const char *list)
{
  guint n = 1;
  for (const char *p = list; *p != '\0'; p++)
    n += *p == ',';
  return n;
}

DalPgConnector *
dal_pg_connector_new (DalUrl *url)
{
  DalPgConnector *c = g_new0 (DalPgConnector, 1);
  c->url = dal_url_ref (url);
  c->keywords = g_ptr_array_new ();
  c->values = g_ptr_array_new ();
  c->failures = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  c->targets = g_array_new (FALSE, TRUE, sizeof (Target));
  g_array_set_clear_func (c->targets, (GDestroyNotify) target_clear);

  /* A transaction pooler drops the startup packet's options: the
   * settings go with each transaction instead (dal-pg-session.c). */
  GError *error = NULL;
  if (!dal_pg_session_new (url, &c->session, &error))
    {
      c->error = error;
      return c;
    }
  gboolean skip_options = dal_url_is_transaction_pooler (url);

  const char * const *kw, * const *val;
  guint n = dal_url_get_keywords (url, &kw, &val);
  gboolean has_gssencmode = FALSE;
  for (guint i = 0; i < n; i++)
    {
      if (strcmp (kw[i], "host") == 0 || strcmp (kw[i], "hostaddr") == 0
          || strcmp (kw[i], "port") == 0 || strcmp (kw[i], "connect_timeout") == 0
          || (skip_options && strcmp (kw[i], "options") == 0))
        continue;
      has_gssencmode |= strcmp (kw[i], "gssencmode") == 0;
      g_ptr_array_add (c->keywords, (gpointer) kw[i]);
      g_ptr_array_add (c->values, (gpointer) val[i]);
    }
  /* GSS encryption negotiation costs a round trip and poolers (Supabase's
   * among them) cannot answer it: off unless the URL asks. */
  if (!has_gssencmode)
    {
      g_ptr_array_add (c->keywords, (gpointer) "gssencmode");
      g_ptr_array_add (c->values, (gpointer) "disable");
    }

  c->started = g_get_monotonic_time ();
  c->budget_us = dal_url_get_duration_ms (url, "connect_timeout",
                                          DAL_DEFAULT_CONNECT_TIMEOUT_MS) * 1000;
  c->overall_deadline = c->budget_us > 0 ? g_get_monotonic_time () + c->budget_us
                                         : G_MAXINT64;

  /* Targets: one per host entry, as libpq counts them (hostaddr's when
   * set, else host's; one for libpq's default socket when neither is).
   * Each is handed to libpq explicitly, so that neither the service file
   * nor the environment can put back a name it would resolve itself. */
  g_autofree char *hosts = NULL, *hostaddrs = NULL, *ports = NULL;
  if (!effective_settings (c, &hosts, &hostaddrs, &ports, &error))
    {
      dal_error_redact (error, dal_url_get_password (url));
      c->error = error;
      return c;
    }
  guint n_targets = hostaddrs != NULL ? count_elements (hostaddrs)
                    : hosts != NULL ? count_elements (hosts) : 1;
  for (guint i = 0; i < n_targets; i++)
    {
      Target t = {
        .host = list_element (hosts, i, n_targets),
        .port = list_element (ports, i, n_targets),
        .hostaddr = list_element (hostaddrs, i, n_targets),
      };
      g_array_append_val (c->targets, t);
    }
  return c;
}

void
dal_pg_connector_free (DalPgConnector *c)
{
  if (c == NULL)
    return;
  if (c->conn != NULL)
    PQfinish (c->conn);
  g_strfreev (c->addresses);
  dal_pg_session_free (c->session);
  g_clear_error (&c->check_error);
  g_array_unref (c->targets);
  g_ptr_array_unref (c->keywords);
  g_ptr_array_unref (c->values);
  g_ptr_array_unref (c->failures);
  g_clear_error (&c->error);
  dal_pg_tls_probe_free (c->tls_probe);
  dal_url_unref (c->url);
  g_free (c);
}

static Target *
current (DalPgConnector *c)
{
  return &g_array_index (c->targets, Target, c->target);
}

/* "db.example.com:5432", "[::1]:5433", "/run/postgresql" */
static char *
target_label (DalPgConnector *c)
{
  Target *t = current (c);
  const char *host = t->host != NULL ? t->host : (t->hostaddr != NULL ? t->hostaddr : NULL);
  const char *port = t->port != NULL ? t->port : "5432";
  if (host == NULL)
    return g_strdup_printf ("the default Unix socket (port %s)", port);
  if (host[0] == '/' || host[0] == '@')
    return g_strdup_printf ("Unix socket %s/.s.PGSQL.%s", host, port);
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%s", host, port);
  return g_strdup_printf ("%s:%s", host, port);
}

static void
record_failure (DalPgConnector *c, GError *error)
{
  if (c->target < c->targets->len)
    error = dal_pg_error_add_host_advice (error, current (c)->host);
  dal_error_redact (error, dal_url_get_password (c->url));
  g_ptr_array_add (c->failures, error);
}

static void
end_attempt (DalPgConnector *c)
{
  g_clear_pointer (&c->conn, PQfinish);
  c->polled = FALSE;
  c->checking = FALSE;
  c->check_syncs = 0;
  g_clear_error (&c->check_error);
}

/* On to the next address of this host, or the next host. */
static void
next_address (DalPgConnector *c)
{
  end_attempt (c);
  if (c->addresses != NULL && c->addresses[c->address + 1] != NULL)
    {
      c->address++;
      return;
    }
  g_clear_pointer (&c->addresses, g_strfreev);
  c->address = 0;
  c->target++;
  c->target_begun = FALSE;
}

static void
next_target (DalPgConnector *c)
{
  g_clear_pointer (&c->addresses, g_strfreev);
  next_address (c);
}

static const char *
phase_name (PGconn *conn, gboolean resolving)
{
  if (resolving)
    return "resolving the host name";
  if (conn == NULL)
    return "starting";
  switch (PQstatus (conn))
    {
    case CONNECTION_STARTED:
      return "TCP connect";
    case CONNECTION_MADE:
      return "waiting for the server to answer";
    case CONNECTION_SSL_STARTUP:
      return "TLS handshake";
    case CONNECTION_GSS_STARTUP:
      return "GSSAPI negotiation";
    case CONNECTION_AWAITING_RESPONSE:
    case CONNECTION_AUTH_OK:
      return "authentication";
    default:
      return "session setup";
    }
}

static void
fail_timeout (DalPgConnector *c, gboolean resolving)
{
  g_autofree char *where = target_label (c);
  gint64 now = g_get_monotonic_time ();
  gdouble waited = (now - c->attempt_start) / 1e6;
  gdouble budget = c->budget_us / 1e6;
  record_failure (c, dal_error_new_hint (
    DAL_ERROR_CONNECT_TIMEOUT,
    "Check that the server is reachable from here (address, port, "
    "firewall, IPv4 versus IPv6) and not overloaded, or raise connect_timeout",
    "timed out after %.2f s connecting to %s (phase: %s; connect_timeout=%g s "
    "for the whole connect, shared between the hosts)",
    waited, where, phase_name (c->conn, resolving), budget));
}

/* Whether @host needs resolving before libpq gets it. */
static gboolean
needs_resolution (const Target *t)
{
  return t->host != NULL && t->hostaddr == NULL && t->host[0] != '/'
         && t->host[0] != '@' && !g_hostname_is_ip_address (t->host);
}

static void
begin_target (DalPgConnector *c)
{
  gint64 now = g_get_monotonic_time ();
  guint left = c->targets->len - c->target;
  c->host_deadline = c->overall_deadline == G_MAXINT64
                       ? G_MAXINT64
                       : now + MAX (c->overall_deadline - now, 0) / left;
  c->attempt_start = now;
  c->target_begun = TRUE;
  c->needs_resolve = needs_resolution (current (c));
  c->resolve_start = now;
  c->dns_us = 0;
}

/* Starts libpq on the current (host, address); FALSE if it failed at once. */
static gboolean
start_attempt (DalPgConnector *c)
{
  Target *t = current (c);
  const char *hostaddr = t->hostaddr;
  if (c->addresses != NULL)
    hostaddr = c->addresses[c->address];
  else if (t->host != NULL && g_hostname_is_ip_address (t->host))
    hostaddr = t->host;

  guint n = c->keywords->len;
  const char **kw = g_newa (const char *, n + 4);
  const char **val = g_newa (const char *, n + 4);
  memcpy (kw, c->keywords->pdata, n * sizeof (char *));
  memcpy (val, c->values->pdata, n * sizeof (char *));
  if (t->host != NULL)
    kw[n] = "host", val[n++] = t->host;
  if (hostaddr != NULL)
    kw[n] = "hostaddr", val[n++] = hostaddr;
  if (t->port != NULL)
    kw[n] = "port", val[n++] = t->port;
  kw[n] = NULL, val[n] = NULL;

  c->tcp_start = g_get_monotonic_time ();
  c->tcp_end = c->tls_end = 0;
  c->conn = PQconnectStartParams (kw, val, 0);
  c->polled = FALSE;
  if (c->conn == NULL)
    {
      record_failure (c, dal_error_new_hint (DAL_ERROR_CONNECT_FAILED, NULL,
                                             "libpq could not allocate a connection"));
      return FALSE;
    }
  /* Verbose errors carry the SQLSTATE of a failed connect. */
  PQsetErrorVerbosity (c->conn, PQERRORS_VERBOSE);
  if (PQstatus (c->conn) == CONNECTION_BAD)
    {
      g_autofree char *where = target_label (c);
      record_failure (c, dal_pg_error_from_connect (PQerrorMessage (c->conn), where));
      return FALSE;
    }
  return TRUE;
}

/* Whether libpq gave the attempt a socket to wait on.  libpq 15 always
 * has one once PQconnectStartParams succeeded and whenever PQconnectPoll
 * asks to wait for reading or writing (it makes the socket before it
 * first asks, and closes it only on the way to failing or to the next
 * address, which it reaches within the same call); were it ever without
 * one, there would be nothing to wait for, so the attempt fails (with
 * libpq's own words if it has any) instead of being polled on a timer. */
static gboolean
has_socket (DalPgConnector *c)
{
  if (PQsocket (c->conn) >= 0)
    return TRUE;
  g_autofree char *where = target_label (c);
  const char *message = PQerrorMessage (c->conn);
  record_failure (c, message != NULL && *message != '\0'
                       ? dal_pg_error_from_connect (message, where)
                       : dal_error_new_hint (DAL_ERROR_CONNECT_FAILED, NULL,
                                             "connection to %s failed: libpq "
                                             "has no socket to wait on", where));
  return FALSE;
}

/* The error for the whole connect: the one failure, or all of them. */
static GError *
compose_error (DalPgConnector *c)
{
  GPtrArray *f = c->failures;
  if (f->len == 0)
    return dal_error_new_hint (DAL_ERROR_CONNECT_FAILED, NULL, "no host to connect to");
  if (f->len == 1)
    return g_error_copy (f->pdata[0]);

  /* The last failure gives the code and the hint; an attempt whose hint
   * differs keeps its own, the others are listed without it. */
  GError *last = f->pdata[f->len - 1];
  const char *hint = dal_error_get_hint (last);
  GString *msg = g_string_new (NULL);
  g_string_append_printf (msg, "could not connect to any of the %u attempts:", f->len);
  for (guint i = 0; i < f->len; i++)
    {
      GError *e = f->pdata[i];
      g_autofree char *what = g_strcmp0 (dal_error_get_hint (e), hint) == 0
                                ? dal_pg_error_what_happened (e)
                                : g_strdup (e->message);
      g_string_append_printf (msg, "%s (%u) %s", i > 0 ? ";" : "", i + 1, what);
    }
  GError *error = dal_error_new_hint (last->code, hint, "%s", msg->str);
  g_string_free (msg, TRUE);
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    dal_error_set_field (error, i, dal_error_get_field (last, i));
  dal_error_set_retryable (error, dal_error_is_retryable (last));
  return error;
}

/* After a PQconnectPoll(): when the attempt left the TCP connect, and
 * the TLS negotiation (at once when there is none).  A connect libpq
 * starts over (sslmode=prefer falling back to plain) starts the clock
 * over. */
static void
note_phase (DalPgConnector *c)
{
  gint64 now = g_get_monotonic_time ();
  ConnStatusType s = PQstatus (c->conn);
  if (s == CONNECTION_NEEDED || s == CONNECTION_STARTED)
    {
      if (c->tcp_end != 0)
        c->tcp_start = now, c->tcp_end = c->tls_end = 0;
      return;
    }
  if (c->tcp_end == 0)
    c->tcp_end = now;
  if (c->tls_end == 0 && s != CONNECTION_MADE && s != CONNECTION_SSL_STARTUP
      && s != CONNECTION_GSS_STARTUP)
    c->tls_end = now;
}

/* libpq 15 says only "certificate verify failed": remember where, so
 * that dal-pg-tls.c can find out why once the connect has failed. */
static void
plan_tls_probe (DalPgConnector *c, const GError *e, const char *where)
{
  const char *message = PQerrorMessage (c->conn);
  const char *address = PQhostaddr (c->conn);
  if (e->code != DAL_ERROR_TLS_VERIFY_FAILED
      || strstr (message, "certificate verify failed") == NULL
      || address == NULL || *address == '\0')
    return;

  const char *root = dal_url_get_option (c->url, "sslrootcert");
  const char *crl = dal_url_get_option (c->url, "sslcrl");
  if (root == NULL || *root == '\0')
    root = g_getenv ("PGSSLROOTCERT");
  if (crl == NULL || *crl == '\0')
    crl = g_getenv ("PGSSLCRL");
  dal_pg_tls_probe_free (c->tls_probe);
  c->tls_probe = dal_pg_tls_probe_new (address, PQport (c->conn), PQhost (c->conn),
                                       root != NULL && *root != '\0' ? root : NULL,
                                       crl != NULL && *crl != '\0' ? crl : NULL);
  c->tls_probe->failure_index = c->failures->len;
  c->tls_probe->libpq_message = g_strdup (message);
  c->tls_probe->where = g_strdup (where);
}

/* Once FAILED: the probe to run before the error is final, if any. */
DalPgTlsProbe *
dal_pg_connector_take_tls_probe (DalPgConnector *c)
{
  if (c->error == NULL || c->tls_probe == NULL)
    return NULL;
  DalPgTlsProbe *p = g_steal_pointer (&c->tls_probe);
  gint64 now = g_get_monotonic_time ();
  p->deadline = MIN (c->overall_deadline, now + 3 * G_USEC_PER_SEC);
  if (p->deadline - now < 50 * 1000)
    {
      dal_pg_tls_probe_free (p);
      return NULL;
    }
  return p;
}

/* The probe's findings replace the failure it explains (@p stays the
 * caller's). */
void
dal_pg_connector_finish_tls_probe (DalPgConnector *c, DalPgTlsProbe *p)
{
  if (c->error != NULL && p->problem != DAL_PG_TLS_UNKNOWN
      && p->failure_index < c->failures->len)
    {
      GError *e = dal_pg_error_from_tls_probe (p);
      dal_error_redact (e, dal_url_get_password (c->url));
      g_error_free (c->failures->pdata[p->failure_index]);
      c->failures->pdata[p->failure_index] = e;
      g_clear_error (&c->error);
      c->error = compose_error (c);
    }
}

/* Connected to a transaction pooler with session settings: checks each
 * with set_config() once, all in one round trip (a sync point each, so
 * that every refusal is heard), before the connection is handed out. */
static gboolean
start_check (DalPgConnector *c)
{
  PQsetnonblocking (c->conn, 1);
  if (!PQenterPipelineMode (c->conn))
    return FALSE;
  for (guint i = 0; i < c->session->n; i++)
    {
      const char *pair[2] = { c->session->pairs[2 * i], c->session->pairs[2 * i + 1] };
      if (!PQsendQueryParams (c->conn, "SELECT set_config($1, $2, true)", 2, NULL,
                              pair, NULL, NULL, 0)
          || !PQpipelineSync (c->conn))
        return FALSE;
    }
  c->checking = TRUE;
  c->check_syncs = c->session->n;
  return TRUE;
}

/* The check failed: the connect fails, on this host and every other
 * (they would refuse the setting the same way). */
static DalPgStep
fail_check (DalPgConnector *c)
{
  if (c->check_error != NULL)
    c->error = g_steal_pointer (&c->check_error);
  else
    {
      g_autofree char *why = dal_pg_clean_message (PQerrorMessage (c->conn));
      c->error = dal_pg_error_connection_gone (why);
    }
  dal_error_redact (c->error, dal_url_get_password (c->url));
  end_attempt (c);
  g_clear_pointer (&c->addresses, g_strfreev);
  c->checking = FALSE;
  return DAL_PG_STEP_FAILED;
}

/* Reads the check's results; DONE, FAILED (c->error set), or READ /
 * WRITE to wait for. */
static DalPgStep
step_check (DalPgConnector *c)
{
  if (PQflush (c->conn) > 0)
    return DAL_PG_STEP_WRITE;
  if (!PQconsumeInput (c->conn))
    goto failed;
  while (c->check_syncs > 0 && !PQisBusy (c->conn))
    {
      PGresult *r = PQgetResult (c->conn);
      if (r == NULL)
        {
          if (PQstatus (c->conn) == CONNECTION_BAD)
            goto failed;
          continue;  /* the end of one statement's results */
        }
      ExecStatusType st = PQresultStatus (r);
      if (st == PGRES_PIPELINE_SYNC)
        c->check_syncs--;
      else if (st != PGRES_TUPLES_OK && c->check_error == NULL)
        c->check_error = dal_pg_session_error (
          c->session, (gint) (c->session->n - c->check_syncs),
          dal_pg_error_from_result (c->conn, r), TRUE);
      PQclear (r);
    }
  if (c->check_syncs > 0)
    return DAL_PG_STEP_READ;
  if (c->check_error == NULL && PQexitPipelineMode (c->conn))
    {
      c->checking = FALSE;
      return DAL_PG_STEP_DONE;
    }

failed:
  return fail_check (c);
}

DalPgStep
dal_pg_connector_step (DalPgConnector *c)
{
  if (c->error != NULL)
    return DAL_PG_STEP_FAILED;

  for (;;)
    {
      if (c->conn == NULL)
        {
          if (c->target >= c->targets->len)
            {
              c->error = compose_error (c);
              return DAL_PG_STEP_FAILED;
            }
          if (!c->target_begun)
            begin_target (c);
          if (c->needs_resolve && c->addresses == NULL)
            {
              if (g_get_monotonic_time () >= c->host_deadline)
                {
                  fail_timeout (c, TRUE);
                  next_target (c);
                  continue;
                }
              return DAL_PG_STEP_RESOLVE;
            }
          if (!start_attempt (c))
            {
              next_address (c);
              continue;
            }
          /* libpq: before the first poll, wait until the socket is writable. */
          if (has_socket (c))
            return DAL_PG_STEP_WRITE;
          next_address (c);
          continue;
        }

      if (g_get_monotonic_time () >= c->host_deadline)
        {
          fail_timeout (c, FALSE);
          next_target (c);
          continue;
        }

      if (c->checking)
        return step_check (c);

      c->poll_state = PQconnectPoll (c->conn);
      c->polled = TRUE;
      note_phase (c);
      switch (c->poll_state)
        {
        case PGRES_POLLING_READING:
          if (has_socket (c))
            return DAL_PG_STEP_READ;
          next_address (c);
          break;
        case PGRES_POLLING_WRITING:
          if (has_socket (c))
            return DAL_PG_STEP_WRITE;
          next_address (c);
          break;
        case PGRES_POLLING_OK:
          c->done = g_get_monotonic_time ();
          if (c->session == NULL)
            return DAL_PG_STEP_DONE;
          if (!start_check (c))
            return fail_check (c);
          return step_check (c);
        default:
          {
            g_autofree char *where = target_label (c);
            GError *e = dal_pg_error_from_connect (PQerrorMessage (c->conn), where);
            /* The server refused the credentials: other addresses and
             * hosts would refuse them too, and poolers (Supavisor) lock
             * out a client after a few failures.  libpq stops here too. */
            gboolean final = e->code == DAL_ERROR_AUTH_FAILED;
            plan_tls_probe (c, e, where);
            record_failure (c, e);
            if (final)
              {
                end_attempt (c);
                g_clear_pointer (&c->addresses, g_strfreev);
                c->error = compose_error (c);
                return DAL_PG_STEP_FAILED;
              }
            next_address (c);
          }
          break;
        }
    }
}

int
dal_pg_connector_get_fd (DalPgConnector *c)
{
  /* The socket may change between polls (hosts, TLS/GSS retries). */
  return c->conn != NULL ? PQsocket (c->conn) : -1;
}

gint64
dal_pg_connector_get_deadline (DalPgConnector *c)
{
  return c->host_deadline;
}

const char *
dal_pg_connector_get_resolve_host (DalPgConnector *c)
{
  return c->target < c->targets->len ? current (c)->host : NULL;
}

void
dal_pg_connector_set_addresses (DalPgConnector *c, char **addresses, GError *error)
{
  g_return_if_fail (c->needs_resolve && c->addresses == NULL);

  if (error != NULL || addresses == NULL || addresses[0] == NULL)
    {
      const char *host = current (c)->host;
      /* GResolver says "Error resolving “host”: why"; the host is named
       * once already. */
      const char *why = error != NULL ? error->message : "no addresses";
      const char *colon = error != NULL && error->domain == G_RESOLVER_ERROR
                            ? strrchr (why, ':') : NULL;
      if (colon != NULL && colon[1] == ' ')
        why = colon + 2;
      GError *e = dal_error_new_hint (
        DAL_ERROR_HOST_NOT_FOUND,
        DAL_PG_HINT_HOST_NOT_FOUND,
        "could not resolve host name \"%s\": %s", host, why);
      g_clear_error (&error);
      g_strfreev (addresses);
      record_failure (c, e);
      next_target (c);
      return;
    }
  c->addresses = addresses;
  c->address = 0;
  c->dns_us = g_get_monotonic_time () - c->resolve_start;
}

/* Server notices (NOTICE, WARNING: "table does not exist, skipping") go
 * to the GLib log at debug level instead of libpq's stderr. */
static void
log_notice (void *arg, const char *message)
{
  g_autofree char *clean = dal_pg_clean_message (message);
  g_debug ("server notice: %s", clean);
}

PGconn *
dal_pg_connector_steal_conn (DalPgConnector *c, DalPgTimings *timings)
{
  if (c->conn != NULL)
    {
      /* Verbose text was for recovering a failed connect's SQLSTATE. */
      PQsetErrorVerbosity (c->conn, PQERRORS_DEFAULT);
      PQsetNoticeProcessor (c->conn, log_notice, NULL);
      gint64 tcp_end = c->tcp_end != 0 ? c->tcp_end : c->done;
      gint64 tls_end = c->tls_end != 0 ? c->tls_end : tcp_end;
      *timings = (DalPgTimings) {
        .dns = c->dns_us,
        .tcp = tcp_end - c->tcp_start,
        .tls = PQsslInUse (c->conn) ? tls_end - tcp_end : 0,
        .auth = c->done - tls_end,
        .total = c->done - c->started,
      };
    }
  return g_steal_pointer (&c->conn);
}

GError *
dal_pg_connector_take_error (DalPgConnector *c)
{
  return g_steal_pointer (&c->error);
}

/* -- driving the engine on a GMainContext -- */

typedef struct
{
  gint ref_count;
  GTask *task;              /* NULL once completed */
  GMainContext *context;
  DalPgConnector *c;
  GSource *fd_source;
  GSource *timer;
  /* The caller's GCancellable: its handler (on whatever thread cancels)
   * only makes @cancel_wake ready; the job ends on its own context.  Not a
   * GCancellableSource: GLib 2.74 leaks one that is destroyed while another
   * thread is cancelling its cancellable (dal_pool_close() does that). */
  GCancellable *cancellable;
  gulong cancel_id;
  GSource *cancel_wake;
  GCancellable *resolve_cancel;  /* the resolution under way, if any */
} ConnectJob;

static void job_drive (ConnectJob *job);

static ConnectJob *
job_ref (ConnectJob *job)
{
  job->ref_count++;
  return job;
}

static void
job_unref (ConnectJob *job)
{
  if (--job->ref_count > 0)
    return;
  g_assert (job->task == NULL);
  dal_pg_connector_free (job->c);
  g_main_context_unref (job->context);
  g_free (job);
}


static void
job_stop_waiting (ConnectJob *job)
{
  dal_pg_source_clear (&job->fd_source);
  dal_pg_source_clear (&job->timer);
  if (job->resolve_cancel != NULL)
    {
      g_cancellable_cancel (job->resolve_cancel);
      g_clear_object (&job->resolve_cancel);
    }
}

/* Completes the task once: with @conn (taken) or @error. */
static void
job_complete (ConnectJob *job, DalPgConnected *conn, GError *error)
{
  GTask *task = g_steal_pointer (&job->task);
  job_stop_waiting (job);
  if (job->cancel_id != 0)
    g_cancellable_disconnect (job->cancellable, job->cancel_id);  /* waits for a running handler */
  job->cancel_id = 0;
  g_clear_object (&job->cancellable);
  dal_pg_source_clear (&job->cancel_wake);
  if (conn != NULL)
    g_task_return_pointer (task, conn, (GDestroyNotify) dal_pg_connected_free);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
  job_unref (job);  /* the task's own reference */
}

static gboolean
job_on_ready (gpointer user_data)
{
  ConnectJob *job = user_data;
  job_drive (job);
  return G_SOURCE_REMOVE;  /* job_drive made new sources as needed */
}

static gboolean
job_on_fd (gint fd, GIOCondition condition, gpointer user_data)
{
  return job_on_ready (user_data);
}

static gboolean
wake_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  g_source_set_ready_time (source, -1);
  return callback (data);
}

static GSourceFuncs wake_funcs = { NULL, NULL, wake_dispatch, NULL, NULL, NULL };

/* Any thread: the caller cancelled. */
static void
job_cancel_signalled (GCancellable *cancellable, gpointer wake)
{
  g_source_set_ready_time (wake, 0);
}

static gboolean
job_on_cancelled (gpointer user_data)
{
  ConnectJob *job = user_data;
  if (job->task != NULL)
    job_complete (job, NULL,
                  g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       "connect was cancelled"));
  return G_SOURCE_REMOVE;
}

static void
job_arm_timer (ConnectJob *job)
{
  dal_pg_source_clear (&job->timer);
  gint64 deadline = dal_pg_connector_get_deadline (job->c);
  if (deadline == G_MAXINT64)
    return;
  gint64 wait_us = MAX (deadline - g_get_monotonic_time (), 0);
  job->timer = g_timeout_source_new ((guint) MIN ((wait_us + 999) / 1000, G_MAXUINT));
  g_source_set_callback (job->timer, job_on_ready, job, NULL);
  g_source_attach (job->timer, job->context);
}

typedef struct
{
  ConnectJob *job;
  GCancellable *cancel;  /* identifies this resolution */
} Resolution;

static void
job_on_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Resolution *r = user_data;
  ConnectJob *job = r->job;
  GError *error = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  /* Stale: the job finished, or timed out this host and moved on. */
  if (job->task == NULL || job->resolve_cancel != r->cancel)
    {
      g_clear_error (&error);
      g_resolver_free_addresses (addrs);
    }
  else
    {
      g_clear_object (&job->resolve_cancel);
      GPtrArray *texts = g_ptr_array_new ();
      for (GList *l = addrs; l != NULL; l = l->next)
        g_ptr_array_add (texts, g_inet_address_to_string (l->data));
      g_ptr_array_add (texts, NULL);
      g_resolver_free_addresses (addrs);
      dal_pg_connector_set_addresses (job->c, (char **) g_ptr_array_free (texts, FALSE), error);
      job_drive (job);
    }
  g_object_unref (r->cancel);
  job_unref (job);
  g_free (r);
}

static void
job_resolve (ConnectJob *job)
{
  Resolution *r = g_new (Resolution, 1);
  r->job = job_ref (job);
  r->cancel = g_cancellable_new ();
  job->resolve_cancel = g_object_ref (r->cancel);

  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  g_main_context_push_thread_default (job->context);
  g_resolver_lookup_by_name_async (resolver, dal_pg_connector_get_resolve_host (job->c),
                                   r->cancel, job_on_resolved, r);
  g_main_context_pop_thread_default (job->context);
}

static void
job_watch_fd (ConnectJob *job, DalPgStep step)
{
  /* The engine only asks to wait on a socket it has (see has_socket). */
  int fd = dal_pg_connector_get_fd (job->c);
  g_assert (fd >= 0);
  GIOCondition cond = G_IO_ERR | G_IO_HUP
                      | (step == DAL_PG_STEP_READ ? G_IO_IN : G_IO_OUT);
  job->fd_source = g_unix_fd_source_new (fd, cond);
  g_source_set_callback (job->fd_source, G_SOURCE_FUNC (job_on_fd), job, NULL);
  g_source_attach (job->fd_source, job->context);
}

static void
tls_probe_thread (GTask *task, gpointer source, gpointer task_data,
                  GCancellable *cancellable)
{
  dal_pg_tls_probe_run (task_data);
  g_task_return_boolean (task, TRUE);
}

static void
job_on_tls_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConnectJob *job = user_data;
  if (job->task != NULL)  /* else cancelled meanwhile */
    {
      dal_pg_connector_finish_tls_probe (job->c, g_task_get_task_data (G_TASK (result)));
      job_complete (job, NULL, dal_pg_connector_take_error (job->c));
    }
  job_unref (job);
}

/* The connect failed on a certificate that did not verify: find out why
 * (in a worker thread) before completing.  FALSE if there is nothing to do. */
static gboolean
job_start_tls_probe (ConnectJob *job)
{
  DalPgTlsProbe *p = dal_pg_connector_take_tls_probe (job->c);
  if (p == NULL)
    return FALSE;
  g_main_context_push_thread_default (job->context);
  GTask *t = g_task_new (NULL, NULL, job_on_tls_probed, job_ref (job));
  g_main_context_pop_thread_default (job->context);
  g_task_set_name (t, "dal TLS probe");
  g_task_set_task_data (t, p, (GDestroyNotify) dal_pg_tls_probe_free);
  g_task_run_in_thread (t, tls_probe_thread);
  g_object_unref (t);
  return TRUE;
}

/* Called at the start, when the socket is ready, when the deadline has
 * passed and when a name is resolved: whatever was being waited for is
 * over (a resolution still under way belongs to a host that timed out). */
static void
job_drive (ConnectJob *job)
{
  job_stop_waiting (job);

  DalPgStep step = dal_pg_connector_step (job->c);
  switch (step)
    {
    case DAL_PG_STEP_RESOLVE:
      job_resolve (job);
      break;
    case DAL_PG_STEP_READ:
    case DAL_PG_STEP_WRITE:
      job_watch_fd (job, step);
      break;
    case DAL_PG_STEP_DONE:
      {
        DalPgConnected *done = g_new (DalPgConnected, 1);
        done->conn = dal_pg_connector_steal_conn (job->c, &done->timings);
        PQsetnonblocking (done->conn, 1);
        job_complete (job, done, NULL);
      }
      return;
    case DAL_PG_STEP_FAILED:
      if (!job_start_tls_probe (job))
        job_complete (job, NULL, dal_pg_connector_take_error (job->c));
      return;
    }
  job_arm_timer (job);
}

void
dal_pg_connect_async (DalUrl *url, GTask *task)
{
  /* What this libpq cannot do is a clear error, not libpq's "invalid
   * connection option". */
  GError *version_error = NULL;
  if (!dal_url_check_client_version (url, (guint) PQlibVersion (), "libpq", &version_error))
    {
      g_task_return_error (task, version_error);
      g_object_unref (task);
      return;
    }

  ConnectJob *job = g_new0 (ConnectJob, 1);
  job->ref_count = 1;  /* held while the task is pending */
  job->task = task;
  job->context = g_main_context_ref (g_task_get_context (task));
  job->c = dal_pg_connector_new (url);

  GCancellable *cancellable = g_task_get_cancellable (task);
  if (cancellable != NULL)
    {
      job->cancellable = g_object_ref (cancellable);
      job->cancel_wake = g_source_new (&wake_funcs, sizeof (GSource));
      g_source_set_ready_time (job->cancel_wake, -1);
      g_source_set_callback (job->cancel_wake, job_on_cancelled, job, NULL);
      g_source_set_name (job->cancel_wake, "dal pg connect cancelled");
      g_source_attach (job->cancel_wake, job->context);
      job->cancel_id = g_cancellable_connect (cancellable,
                                              G_CALLBACK (job_cancel_signalled),
                                              job->cancel_wake, NULL);
    }
  job_drive (job);
}
