/* dal-check.c: `dal check [--json] [--pings N] [--config FILE] [URL]`,
 * the first thing to run when a connection fails (docs/troubleshooting.md).
 *
 * For the URL (redacted) and its plugin it reports, in this order: the
 * DNS records of each host (A and AAAA, looked up separately through
 * GResolver as the connect engine does, and timed),
 * the connect (which address was used, the time of each phase against a
 * 2 s budget), TLS (protocol, cipher, verified or not, days until the
 * server certificate expires), the server version, whether a transaction
 * pooler is in front (the URL says so, or a probe suggests it), and the
 * round-trip latency (p50/p95 of N pings against 200 ms).  Every problem
 * is shown with the error catalogue's hint.
 *
 * Exit status, as pg_isready's: 0 the server accepts connections (and
 * answers queries); 1 it answered but refused us (credentials, database,
 * too many connections, starting up, a certificate that does not verify)
 * or failed a query afterwards; 2 no response (refused, unreachable, time
 * out, host not found); 3 no attempt (bad URL or configuration, no plugin
 * for the scheme, unusable local TLS files).
 *
 * Everything goes through the public API; the plugin's get_info keys carry
 * the connect's phases and the certificate's dates.  --json prints exactly
 * one object, on failure too.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "dal-tool.h"

#define CONNECT_BUDGET_MS 2000.0
#define LATENCY_BUDGET_MS 200.0
#define POOLER_PROBE_TRANSACTIONS 5

enum
{
  CHECK_OK = 0,
  CHECK_REJECTED = 1,
  CHECK_NO_RESPONSE = 2,
  CHECK_NO_ATTEMPT = 3,
};

/* -- a tiny JSON writer -- */

static void
json_string (GString *out, const char *s)
{
  if (s == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    switch (*p)
      {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (char) *p);
      }
  g_string_append_c (out, '"');
}

/* "name": (the value follows), with a comma before all but the first
 * member of an object (@first tracks that). */
static void
json_key (GString *out, gboolean *first, const char *name)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  json_string (out, name);
  g_string_append_c (out, ':');
}

static void
json_number (GString *out, double v)
{
  /* JSON has no locale: always a dot. */
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.3f", v));
}

/* -- what the check found -- */

typedef struct
{
  char *what;   /* the message without its hint */
  char *code;   /* dal_error_code_to_string(), or NULL for a finding */
  char *hint;
} Problem;

static void
problem_free (Problem *p)
{
  g_free (p->what);
  g_free (p->code);
  g_free (p->hint);
  g_free (p);
}

typedef struct
{
  char *host;
  char *port;
  char *note;        /* instead of a lookup: "IP address", "Unix socket", … */
  GPtrArray *a, *aaaa;
  double a_ms, aaaa_ms;
  char *a_error, *aaaa_error;
} DnsEntry;

static void
dns_entry_free (DnsEntry *d)
{
  g_free (d->host);
  g_free (d->port);
  g_free (d->note);
  g_ptr_array_unref (d->a);
  g_ptr_array_unref (d->aaaa);
  g_free (d->a_error);
  g_free (d->aaaa_error);
  g_free (d);
}

typedef struct
{
  int status;
  char *url;           /* redacted */
  char *plugin;
  GPtrArray *dns;      /* DnsEntry */
  gboolean connected;
  char *host, *hostaddr, *port;
  char *ms_dns, *ms_tcp, *ms_tls, *ms_auth, *ms_total;
  gboolean tls;
  char *tls_protocol, *tls_cipher, *tls_verified, *cert_not_after, *cert_days;
  char *server_version_num, *server_version;
  /* the pooler */
  gboolean pooler_by_url;
  const char *pooler_verdict;  /* "yes", "likely", "no", "unknown" */
  char *pooler_reason;
  /* the pings */
  guint pings;
  GArray *rtt_ns;      /* gint64 round trips in ns, sorted after ping () */
  double p50, p95;
  GPtrArray *problems; /* Problem */
  GError *error;       /* what ended the check early, if anything */
} Check;

static void
check_clear (Check *c)
{
  g_free (c->url);
  g_free (c->plugin);
  g_ptr_array_unref (c->dns);
  g_free (c->host);
  g_free (c->hostaddr);
  g_free (c->port);
  g_free (c->ms_dns);
  g_free (c->ms_tcp);
  g_free (c->ms_tls);
  g_free (c->ms_auth);
  g_free (c->ms_total);
  g_free (c->tls_protocol);
  g_free (c->tls_cipher);
  g_free (c->tls_verified);
  g_free (c->cert_not_after);
  g_free (c->cert_days);
  g_free (c->server_version_num);
  g_free (c->server_version);
  g_free (c->pooler_reason);
  g_array_unref (c->rtt_ns);
  g_ptr_array_unref (c->problems);
  g_clear_error (&c->error);
}

static void
add_error_problem (Check *c, const GError *error)
{
  Problem *p = g_new0 (Problem, 1);
  const char *hint = error->domain == DAL_ERROR ? dal_error_get_hint (error) : NULL;
  p->what = dal_error_dup_what (error);
  p->hint = g_strdup (hint);
  if (error->domain == DAL_ERROR)
    p->code = g_strdup (dal_error_code_to_string (error->code));
  g_ptr_array_add (c->problems, p);
}

static void
add_problem (Check *c, const char *hint, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
add_problem (Check *c, const char *hint, const char *format, ...)
{
  Problem *p = g_new0 (Problem, 1);
  va_list args;
  va_start (args, format);
  p->what = g_strdup_vprintf (format, args);
  va_end (args);
  p->hint = g_strdup (hint);
  g_ptr_array_add (c->problems, p);
}

/* pg_isready's convention for a failed connect. */
static int
status_for_error (const GError *error)
{
  if (error->domain != DAL_ERROR)
    return CHECK_NO_RESPONSE;
  switch ((DalErrorCode) error->code)
    {
    case DAL_ERROR_HOST_NOT_FOUND:
    case DAL_ERROR_CONNECTION_REFUSED:
    case DAL_ERROR_NETWORK_UNREACHABLE:
    case DAL_ERROR_CONNECT_TIMEOUT:
    case DAL_ERROR_CONNECT_FAILED:
    case DAL_ERROR_CONNECTION_LOST:
      return CHECK_NO_RESPONSE;
    case DAL_ERROR_AUTH_FAILED:
    case DAL_ERROR_UNKNOWN_DATABASE:
    case DAL_ERROR_UNKNOWN_ROLE:
    case DAL_ERROR_TOO_MANY_CONNECTIONS:
    case DAL_ERROR_TLS_REQUIRED:
    case DAL_ERROR_TLS_UNAVAILABLE:
    case DAL_ERROR_TLS_VERIFY_FAILED:
    case DAL_ERROR_POOLER_TENANT_NOT_FOUND:
    case DAL_ERROR_POOLER_MAX_CLIENTS:
      return CHECK_REJECTED;
    default:
      /* URL, scheme, plugin, local TLS files, what the client library
       * cannot do: nothing was sent. */
      return CHECK_NO_ATTEMPT;
    }
}

/* The server answered the connect with an error of its own (starting up,
 * shutting down: SQLSTATE class 57): it is there but rejects us. */
static int
refine_status (int status, const GError *error)
{
  const char *sqlstate = error->domain == DAL_ERROR ? dal_error_get_sqlstate (error) : NULL;
  if (status == CHECK_NO_RESPONSE && sqlstate != NULL && *sqlstate != '\0')
    return CHECK_REJECTED;
  return status;
}

/* -- DNS -- */

/* The connect engine resolves with GResolver, so the check does too (it
 * answers "localhost" itself, for one, whatever /etc/hosts says), one
 * family at a time. */
static void
lookup (const char *host, GResolverNameLookupFlags family, GPtrArray *out,
        double *ms, char **error)
{
  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  g_autoptr (GError) e = NULL;
  gint64 t0 = g_get_monotonic_time ();
  GList *addrs = g_resolver_lookup_by_name_with_flags (resolver, host, family, NULL, &e);
  *ms = (g_get_monotonic_time () - t0) / 1000.0;
  /* "No such record" is an answer for one family, not an error. */
  if (e != NULL && !g_error_matches (e, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    *error = g_strdup (e->message);
  for (GList *l = addrs; l != NULL; l = l->next)
    g_ptr_array_add (out, g_inet_address_to_string (l->data));
  g_resolver_free_addresses (addrs);
}

static void
check_dns (Check *c, DalUrl *url)
{
  guint n = dal_url_get_n_hosts (url);
  for (guint i = 0; i < MAX (n, 1); i++)
    {
      DnsEntry *d = g_new0 (DnsEntry, 1);
      d->a = g_ptr_array_new_with_free_func (g_free);
      d->aaaa = g_ptr_array_new_with_free_func (g_free);
      const char *host = n > 0 ? dal_url_get_host (url, i) : "";
      d->host = g_strdup (host);
      d->port = g_strdup (n > 0 ? dal_url_get_port (url, i) : NULL);
      g_ptr_array_add (c->dns, d);
      if (*host == '\0')
        d->note = g_strdup ("no host: the client library's default (PGHOST, else the Unix socket)");
      else if (host[0] == '/' || host[0] == '@')
        d->note = g_strdup ("a Unix socket directory: nothing to resolve");
      else if (g_hostname_is_ip_address (host))
        d->note = g_strdup ("an IP address: nothing to resolve");
      else
        {
          /* A name without records is the connect's problem, reported
           * with the catalogue's hint (DAL_ERROR_HOST_NOT_FOUND). */
          lookup (host, G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY, d->a, &d->a_ms, &d->a_error);
          lookup (host, G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY, d->aaaa, &d->aaaa_ms,
                  &d->aaaa_error);
        }
    }
}

/* -- after connecting -- */

static char *
query_value (DalConnection *conn, const char *sql, GError **error)
{
  g_autoptr (DalResult) r = dal_connection_query (conn, sql, NULL, NULL, error);
  if (r == NULL)
    return NULL;
  if (dal_result_get_n_rows (r) < 1)
    {
      g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED, "\"%s\" returned no row", sql);
      return NULL;
    }
  return g_strdup (dal_result_get_string (r, 0, 0, NULL));
}

/* A transaction pooler gives each transaction whichever server
 * connection is free: the backend pid then changes from one transaction
 * to the next.  A pooler (in any mode) also answers the connect itself,
 * with a backend key of its own, which differs from pg_backend_pid(). */
static gboolean
probe_pooler (Check *c, DalConnection *conn, GError **error)
{
  g_autofree char *key_pid = dal_connection_get_info (conn, "backend_pid");
  g_autoptr (GPtrArray) pids = g_ptr_array_new_with_free_func (g_free);
  gboolean changed = FALSE;
  for (guint i = 0; i < POOLER_PROBE_TRANSACTIONS; i++)
    {
      char *pid = query_value (conn, "SELECT pg_backend_pid()", error);
      if (pid == NULL)
        return FALSE;
      changed |= pids->len > 0 && strcmp (pids->pdata[0], pid) != 0;
      g_ptr_array_add (pids, pid);
    }
  const char *first = pids->pdata[0];
  if (c->pooler_by_url)
    {
      c->pooler_verdict = "yes";
      c->pooler_reason = g_strdup ("the URL says so (pooler_mode=transaction, or "
                                   "Supabase's transaction pooler port 6543)");
    }
  else if (changed)
    {
      c->pooler_verdict = "yes";
      c->pooler_reason = g_strdup_printf ("pg_backend_pid() changed between %u short "
                                          "transactions on one connection",
                                          POOLER_PROBE_TRANSACTIONS);
      add_problem (c, "Add pooler_mode=transaction to the URL, so that libdal "
                      "keeps no session state (prepared statements, settings) "
                      "across transactions",
                   "a transaction pooler is in front, and the URL does not say so");
    }
  else if (key_pid != NULL && strcmp (key_pid, first) != 0)
    {
      c->pooler_verdict = "likely";
      c->pooler_reason = g_strdup_printf ("a pooler or proxy answers for the server "
                                          "(connection key pid %s, server pid %s), "
                                          "but the server pid stayed the same over %u "
                                          "transactions: session mode, or transaction "
                                          "mode with an idle pool; inconclusive",
                                          key_pid, first, POOLER_PROBE_TRANSACTIONS);
    }
  else
    {
      c->pooler_verdict = "no";
      c->pooler_reason = g_strdup_printf ("the server pid (%s) is the connection's own "
                                          "and stayed the same over %u transactions",
                                          first, POOLER_PROBE_TRANSACTIONS);
    }
  return TRUE;
}

static gboolean
ping (Check *c, DalConnection *conn, GError **error)
{
  for (guint i = 0; i < c->pings; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (DalResult) r = dal_connection_query (conn, "SELECT 1", NULL, NULL, error);
      gint64 ns = (g_get_monotonic_time () - t0) * 1000;
      if (r == NULL)
        return FALSE;
      g_array_append_val (c->rtt_ns, ns);
    }
  dal_tool_sort_ns (c->rtt_ns);
  c->p50 = dal_tool_percentile_ms (c->rtt_ns, 0.50);
  c->p95 = dal_tool_percentile_ms (c->rtt_ns, 0.95);
  if (c->p95 > LATENCY_BUDGET_MS)
    add_problem (c, "Run the application closer to the database (same region or "
                    "network), or check the network path and the server's load",
                 "round-trip latency p95 %.1f ms is over the %.0f ms budget",
                 c->p95, LATENCY_BUDGET_MS);
  return TRUE;
}

static void
read_connection (Check *c, DalConnection *conn)
{
  c->host = dal_connection_get_info (conn, "host");
  c->hostaddr = dal_connection_get_info (conn, "hostaddr");
  c->port = dal_connection_get_info (conn, "port");
  c->ms_dns = dal_connection_get_info (conn, "connect_ms_dns");
  c->ms_tcp = dal_connection_get_info (conn, "connect_ms_tcp");
  c->ms_tls = dal_connection_get_info (conn, "connect_ms_tls");
  c->ms_auth = dal_connection_get_info (conn, "connect_ms_auth");
  c->ms_total = dal_connection_get_info (conn, "connect_ms_total");
  g_autofree char *tls = dal_connection_get_info (conn, "tls");
  c->tls = g_strcmp0 (tls, "on") == 0;
  c->tls_protocol = dal_connection_get_info (conn, "tls_protocol");
  c->tls_cipher = dal_connection_get_info (conn, "tls_cipher");
  c->tls_verified = dal_connection_get_info (conn, "tls_verified");
  c->cert_not_after = dal_connection_get_info (conn, "tls_cert_not_after");
  c->cert_days = dal_connection_get_info (conn, "tls_cert_days_left");
  c->server_version_num = dal_connection_get_info (conn, "server_version");

  if (c->ms_total != NULL && g_ascii_strtod (c->ms_total, NULL) > CONNECT_BUDGET_MS)
    add_problem (c, "Check the phase that took longest: DNS (resolver), TCP "
                    "(distance, firewall), TLS or authentication (server load)",
                 "connecting took %s ms, over the %.0f ms budget", c->ms_total,
                 CONNECT_BUDGET_MS);
  if (!c->tls)
    add_problem (c, "Add sslmode=verify-full (with sslrootcert) to the URL unless "
                    "the network path is trusted",
                 "the connection is not encrypted (no TLS)");
  else if (g_strcmp0 (c->tls_verified, "yes") != 0)
    add_problem (c, "Add sslmode=verify-full and sslrootcert=<the CA file> to the "
                    "URL, so that the server's certificate is checked",
                 "TLS is in use but the server's certificate was not verified");
  if (c->cert_days != NULL && g_ascii_strtoll (c->cert_days, NULL, 10) < 30)
    add_problem (c, "Renew the server's certificate before it expires",
                 "the server's certificate expires in %s days (%s)", c->cert_days,
                 c->cert_not_after);
}

static void
run_check (Check *c, const char *url_arg, const char *config_file)
{
  g_autoptr (DalUrl) url = dal_tool_get_url (url_arg, config_file, FALSE, &c->error);
  if (url == NULL)
    {
      add_error_problem (c, c->error);
      c->status = CHECK_NO_ATTEMPT;
      return;
    }
  c->url = dal_url_to_string_redacted (url);
  c->pooler_by_url = dal_url_is_transaction_pooler (url);
  c->pooler_verdict = "unknown";

  DalPlugin *plugin = dal_registry_resolve (NULL, url, &c->error);
  if (plugin == NULL)
    {
      add_error_problem (c, c->error);
      c->status = CHECK_NO_ATTEMPT;
      return;
    }
  c->plugin = g_strdup (dal_plugin_get_name (plugin));

  check_dns (c, url);

  g_autoptr (DalConnection) conn = dal_connection_open_url (NULL, url, NULL, &c->error);
  if (conn == NULL)
    {
      add_error_problem (c, c->error);
      c->status = refine_status (status_for_error (c->error), c->error);
      return;
    }
  c->connected = TRUE;
  read_connection (c, conn);

  if ((c->server_version = query_value (conn, "SHOW server_version", &c->error)) == NULL
      || !probe_pooler (c, conn, &c->error) || !ping (c, conn, &c->error))
    {
      add_error_problem (c, c->error);
      c->status = CHECK_REJECTED;
      return;
    }
  GError *close_error = NULL;
  if (!dal_connection_close (conn, NULL, &close_error))
    {
      add_error_problem (c, close_error);
      g_error_free (close_error);
    }
  c->status = CHECK_OK;
}

/* -- output -- */

static gboolean
within_budget (const char *ms, double budget)
{
  return ms != NULL && g_ascii_strtod (ms, NULL) <= budget;
}

static void
print_text (const Check *c, FILE *out)
{
  static const char * const verdicts[] = {
    "accepts connections", "rejects the connection", "no response", "no attempt made",
  };
  fprintf (out, "url:        %s\n", c->url != NULL ? c->url : "(none)");
  if (c->plugin != NULL)
    fprintf (out, "plugin:     %s\n", c->plugin);
  for (guint i = 0; i < c->dns->len; i++)
    {
      const DnsEntry *d = c->dns->pdata[i];
      fprintf (out, "dns:        %s: ", *d->host != '\0' ? d->host : "(default)");
      if (d->note != NULL)
        {
          fprintf (out, "%s\n", d->note);
          continue;
        }
      GString *line = g_string_new (NULL);
      const struct { const char *type; GPtrArray *addrs; double ms; const char *error; } fam[] = {
        { "A", d->a, d->a_ms, d->a_error }, { "AAAA", d->aaaa, d->aaaa_ms, d->aaaa_error },
      };
      for (guint f = 0; f < G_N_ELEMENTS (fam); f++)
        {
          g_string_append_printf (line, "%s%s ", f > 0 ? "; " : "", fam[f].type);
          if (fam[f].error != NULL)
            g_string_append_printf (line, "error: %s", fam[f].error);
          else if (fam[f].addrs->len == 0)
            g_string_append (line, "none");
          for (guint k = 0; k < fam[f].addrs->len; k++)
            g_string_append_printf (line, "%s%s", k > 0 ? ", " : "",
                                    (const char *) fam[f].addrs->pdata[k]);
          g_string_append_printf (line, " (%.1f ms)", fam[f].ms);
        }
      fprintf (out, "%s\n", line->str);
      g_string_free (line, TRUE);
    }
  if (c->connected)
    {
      fprintf (out, "connected:  %s", c->host != NULL ? c->host : "(default)");
      if (c->hostaddr != NULL && *c->hostaddr != '\0' && g_strcmp0 (c->hostaddr, c->host) != 0)
        fprintf (out, " (address %s)", c->hostaddr);
      fprintf (out, ", port %s\n", c->port != NULL ? c->port : "?");
      if (c->ms_total != NULL)
        fprintf (out, "connect:    %s ms (dns %s, tcp %s, tls %s, auth %s): %s (%.0f ms)\n",
                 c->ms_total, c->ms_dns, c->ms_tcp, c->ms_tls, c->ms_auth,
                 within_budget (c->ms_total, CONNECT_BUDGET_MS) ? "within budget" : "over budget",
                 CONNECT_BUDGET_MS);
      if (c->tls)
        {
          fprintf (out, "tls:        %s, %s, certificate %s", c->tls_protocol, c->tls_cipher,
                   g_strcmp0 (c->tls_verified, "yes") == 0 ? "verified" : "not verified");
          if (c->cert_days != NULL)
            fprintf (out, ", expires %s (in %s days)", c->cert_not_after, c->cert_days);
          fprintf (out, "\n");
        }
      else
        fprintf (out, "tls:        not in use\n");
      if (c->server_version_num != NULL)
        fprintf (out, "server:     %s (%s)\n",
                 c->server_version != NULL ? c->server_version : "?", c->server_version_num);
      if (c->pooler_reason != NULL)
        fprintf (out, "pooler:     %s: %s\n", c->pooler_verdict, c->pooler_reason);
      if (c->rtt_ns->len > 0)
        fprintf (out, "latency:    p50 %.2f ms, p95 %.2f ms over %u pings: %s (%.0f ms)\n",
                 c->p50, c->p95, c->rtt_ns->len,
                 c->p95 <= LATENCY_BUDGET_MS ? "within budget" : "over budget",
                 LATENCY_BUDGET_MS);
    }
  for (guint i = 0; i < c->problems->len; i++)
    {
      const Problem *p = c->problems->pdata[i];
      fprintf (out, "problem:    %s\n", p->what);
      if (p->hint != NULL)
        fprintf (out, "  hint:     %s\n", p->hint);
    }
  fprintf (out, "status:     %d (%s)\n", c->status, verdicts[c->status]);
}

static void
json_opt_number (GString *out, const char *text)
{
  if (text == NULL)
    g_string_append (out, "null");
  else
    json_number (out, g_ascii_strtod (text, NULL));
}

static void
json_addresses (GString *out, const GPtrArray *addrs)
{
  g_string_append_c (out, '[');
  for (guint k = 0; k < addrs->len; k++)
    {
      if (k > 0)
        g_string_append_c (out, ',');
      json_string (out, addrs->pdata[k]);
    }
  g_string_append_c (out, ']');
}

static char *
to_json (const Check *c)
{
  GString *o = g_string_new ("{");
  gboolean f = TRUE;
  json_key (o, &f, "status");
  g_string_append_printf (o, "%d", c->status);
  json_key (o, &f, "url");
  json_string (o, c->url);
  json_key (o, &f, "plugin");
  json_string (o, c->plugin);

  json_key (o, &f, "dns");
  g_string_append_c (o, '[');
  for (guint i = 0; i < c->dns->len; i++)
    {
      const DnsEntry *d = c->dns->pdata[i];
      gboolean g = TRUE;
      g_string_append (o, i > 0 ? ",{" : "{");
      json_key (o, &g, "host");
      json_string (o, d->host);
      json_key (o, &g, "port");
      json_string (o, d->port);
      json_key (o, &g, "note");
      json_string (o, d->note);
      if (d->note == NULL)
        {
          json_key (o, &g, "a");
          json_addresses (o, d->a);
          json_key (o, &g, "a_ms");
          json_number (o, d->a_ms);
          json_key (o, &g, "a_error");
          json_string (o, d->a_error);
          json_key (o, &g, "aaaa");
          json_addresses (o, d->aaaa);
          json_key (o, &g, "aaaa_ms");
          json_number (o, d->aaaa_ms);
          json_key (o, &g, "aaaa_error");
          json_string (o, d->aaaa_error);
        }
      g_string_append_c (o, '}');
    }
  g_string_append_c (o, ']');

  json_key (o, &f, "connected");
  g_string_append (o, c->connected ? "true" : "false");
  if (c->connected)
    {
      gboolean g = TRUE;
      json_key (o, &f, "connection");
      g_string_append_c (o, '{');
      json_key (o, &g, "host");
      json_string (o, c->host);
      json_key (o, &g, "hostaddr");
      json_string (o, c->hostaddr != NULL && *c->hostaddr != '\0' ? c->hostaddr : NULL);
      json_key (o, &g, "port");
      json_string (o, c->port);
      g_string_append_c (o, '}');

      g = TRUE;
      json_key (o, &f, "connect_ms");
      g_string_append_c (o, '{');
      const char *phases[][2] = { { "dns", c->ms_dns }, { "tcp", c->ms_tcp },
                                  { "tls", c->ms_tls }, { "auth", c->ms_auth },
                                  { "total", c->ms_total } };
      for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
        {
          json_key (o, &g, phases[i][0]);
          json_opt_number (o, phases[i][1]);
        }
      json_key (o, &g, "budget");
      json_number (o, CONNECT_BUDGET_MS);
      json_key (o, &g, "within_budget");
      g_string_append (o, within_budget (c->ms_total, CONNECT_BUDGET_MS) ? "true" : "false");
      g_string_append_c (o, '}');

      g = TRUE;
      json_key (o, &f, "tls");
      g_string_append_c (o, '{');
      json_key (o, &g, "in_use");
      g_string_append (o, c->tls ? "true" : "false");
      json_key (o, &g, "protocol");
      json_string (o, c->tls_protocol);
      json_key (o, &g, "cipher");
      json_string (o, c->tls_cipher);
      json_key (o, &g, "verified");
      g_string_append (o, g_strcmp0 (c->tls_verified, "yes") == 0 ? "true" : "false");
      json_key (o, &g, "cert_not_after");
      json_string (o, c->cert_not_after);
      json_key (o, &g, "cert_days_left");
      g_string_append (o, c->cert_days != NULL ? c->cert_days : "null");
      g_string_append_c (o, '}');

      g = TRUE;
      json_key (o, &f, "server");
      g_string_append_c (o, '{');
      json_key (o, &g, "version");
      json_string (o, c->server_version);
      json_key (o, &g, "version_num");
      g_string_append (o, c->server_version_num != NULL ? c->server_version_num : "null");
      g_string_append_c (o, '}');

      g = TRUE;
      json_key (o, &f, "pooler");
      g_string_append_c (o, '{');
      json_key (o, &g, "transaction_pooler");
      json_string (o, c->pooler_verdict);
      json_key (o, &g, "url_says_so");
      g_string_append (o, c->pooler_by_url ? "true" : "false");
      json_key (o, &g, "reason");
      json_string (o, c->pooler_reason);
      g_string_append_c (o, '}');

      g = TRUE;
      json_key (o, &f, "latency_ms");
      g_string_append_c (o, '{');
      json_key (o, &g, "pings");
      g_string_append_printf (o, "%u", c->rtt_ns->len);
      if (c->rtt_ns->len > 0)
        {
          json_key (o, &g, "p50");
          json_number (o, c->p50);
          json_key (o, &g, "p95");
          json_number (o, c->p95);
        }
      json_key (o, &g, "budget");
      json_number (o, LATENCY_BUDGET_MS);
      json_key (o, &g, "within_budget");
      g_string_append (o, c->rtt_ns->len > 0 && c->p95 <= LATENCY_BUDGET_MS ? "true" : "false");
      g_string_append_c (o, '}');
    }

  json_key (o, &f, "problems");
  g_string_append_c (o, '[');
  for (guint i = 0; i < c->problems->len; i++)
    {
      const Problem *p = c->problems->pdata[i];
      gboolean g = TRUE;
      g_string_append (o, i > 0 ? ",{" : "{");
      json_key (o, &g, "what");
      json_string (o, p->what);
      json_key (o, &g, "code");
      json_string (o, p->code);
      json_key (o, &g, "hint");
      json_string (o, p->hint);
      g_string_append_c (o, '}');
    }
  g_string_append_c (o, ']');

  json_key (o, &f, "error");
  if (c->error != NULL)
    {
      gboolean g = TRUE;
      const char *hint = c->error->domain == DAL_ERROR ? dal_error_get_hint (c->error) : NULL;
      g_string_append_c (o, '{');
      json_key (o, &g, "message");
      json_string (o, c->error->message);
      json_key (o, &g, "code");
      json_string (o, c->error->domain == DAL_ERROR
                        ? dal_error_code_to_string (c->error->code) : NULL);
      json_key (o, &g, "hint");
      json_string (o, hint);
      g_string_append_c (o, '}');
    }
  else
    g_string_append (o, "null");
  g_string_append (o, "}\n");
  return g_string_free (o, FALSE);
}

int
dal_tool_check (int argc, char **argv)
{
  gboolean json = FALSE;
  int pings = 20;
  char *config_file = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { "pings", 0, 0, G_OPTION_ARG_INT, &pings,
      "Round trips to time for the latency (default 20)", "N" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file,
      "Read the URL from this configuration file (without URL)", "FILE" },
    { NULL }
  };
  /* A usage error is "no attempt" too (pg_isready exits 3 for it). */
  if (!dal_tool_parse_options ("check", entries, &argc, &argv))
    return CHECK_NO_ATTEMPT;
  g_autofree char *config = config_file;
  const char *what = argc > 2 ? "expected at most one URL"
                     : pings < 1 || pings > 100000 ? "--pings takes 1 to 100000" : NULL;
  if (what != NULL)
    {
      dal_tool_usage_error ("check", what);
      return CHECK_NO_ATTEMPT;
    }

  Check c = { 0 };
  c.dns = g_ptr_array_new_with_free_func ((GDestroyNotify) dns_entry_free);
  c.problems = g_ptr_array_new_with_free_func ((GDestroyNotify) problem_free);
  c.rtt_ns = g_array_new (FALSE, FALSE, sizeof (gint64));
  c.pings = (guint) pings;
  run_check (&c, argc == 2 ? argv[1] : NULL, config);

  if (json)
    {
      g_autofree char *text = to_json (&c);
      fputs (text, stdout);
    }
  else
    print_text (&c, stdout);
  int status = c.status;
  check_clear (&c);
  return status;
}
