/* dal-bench-libpq.c: `dal bench`'s baseline, raw libpq compiled into the
 * program: the same workloads, the same checks, one poll() loop (see
 * dal-bench.c for the whole). */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "dal-bench.h"

/* libpq's message with every occurrence of the password masked. */
static char *
redacted_message (const char *text, const char *password)
{
  char *out;
  if (password != NULL && *password != '\0')
    {
      g_auto (GStrv) parts = g_strsplit (text, password, -1);
      out = g_strjoinv ("****", parts);
    }
  else
    out = g_strdup (text);
  return g_strchomp (out);
}

/* Connects with the URL's own keywords (so its sslmode and CA too); with
 * @prepare, prepares both workloads' statements (as the plugins' statement
 * cache would), so that the baseline runs the same kind of statement. */
PGconn *
raw_connect (DalUrl *url, gboolean prepare)
{
  const char * const *kw, * const *val;
  guint n = dal_url_get_keywords (url, &kw, &val);
  const char **keywords = g_new0 (const char *, n + 2);
  const char **values = g_new0 (const char *, n + 2);
  gboolean has_gssencmode = FALSE;
  for (guint i = 0; i < n; i++)
    {
      keywords[i] = kw[i];
      values[i] = val[i];
      has_gssencmode |= strcmp (kw[i], "gssencmode") == 0;
    }
  /* As the PostgreSQL plugins do: no GSS encryption round trip. */
  if (!has_gssencmode)
    {
      keywords[n] = "gssencmode";
      values[n] = "disable";
    }
  PGconn *conn = PQconnectdbParams (keywords, values, 0);
  g_free (keywords);
  g_free (values);
  if (PQstatus (conn) != CONNECTION_OK)
    {
      g_autofree char *msg = redacted_message (PQerrorMessage (conn),
                                               dal_url_get_password (url));
      g_printerr ("dal: libpq could not connect: %s\n", msg);
      PQfinish (conn);
      return NULL;
    }
  for (int w = 0; prepare && w < N_WORKLOADS; w++)
    {
      PGresult *r = PQprepare (conn, prepared_names[w], workload_sql[w], 1, NULL);
      gboolean ok = PQresultStatus (r) == PGRES_COMMAND_OK;
      PQclear (r);
      if (!ok)
        {
          g_autofree char *msg = g_strdup (PQerrorMessage (conn));
          g_printerr ("dal: libpq could not prepare: %s\n", g_strchomp (msg));
          PQfinish (conn);
          return NULL;
        }
    }
  return conn;
}

static gboolean raw_send (Run *run, RawConn *c);

/* The head statement's results are all in: check, count, send the next. */
static void
raw_complete_head (Run *run, RawConn *c, gint64 now)
{
  int key = c->keys[c->head];
  gint64 start = c->starts[c->head];
  char *problem = check_pg_result (run->workload, key, c->result);
  g_clear_pointer (&c->result, PQclear);
  c->head = (c->head + 1) % c->capacity;
  c->in_flight--;
  run->in_flight--;
  c->awaiting_sync = FALSE;
  run_done (run, start, now, problem);
  if (!run->stopped)
    raw_send (run, c);
}

/* The connection failed: every statement in flight on it fails. */
static void
raw_fail (Run *run, RawConn *c, const char *why)
{
  c->dead = TRUE;
  while (c->in_flight > 0)
    {
      gint64 start = c->starts[c->head];
      c->head = (c->head + 1) % c->capacity;
      c->in_flight--;
      run->in_flight--;
      run_done (run, start, now_ns (), g_strdup (why));
    }
  g_clear_pointer (&c->result, PQclear);
  run_stop (run, now_ns ());
}

static gboolean
raw_send (Run *run, RawConn *c)
{
  int key = run_next_key (run);
  char text[16];
  g_snprintf (text, sizeof text, "%d", key);
  const char *values[1] = { text };
  int slot = (c->head + c->in_flight) % c->capacity;
  c->keys[slot] = key;
  c->starts[slot] = now_ns ();
  c->in_flight++;
  run->in_flight++;
  int sent = run->cfg->prepared
             ? PQsendQueryPrepared (c->conn, prepared_names[run->workload], 1,
                                    values, NULL, NULL, 0)
             : PQsendQueryParams (c->conn, workload_sql[run->workload], 1, NULL,
                                  values, NULL, NULL, 0);
  if (!sent || (c->pipeline && !PQpipelineSync (c->conn)))
    {
      g_autofree char *msg = g_strdup (PQerrorMessage (c->conn));
      raw_fail (run, c, g_strchomp (msg));
      return FALSE;
    }
  return TRUE;
}

/* Takes every whole result libpq has, in order. */
static void
raw_process (Run *run, RawConn *c)
{
  while (c->in_flight > 0 && !c->dead && !PQisBusy (c->conn))
    {
      PGresult *r = PQgetResult (c->conn);
      if (!c->awaiting_sync)
        {
          if (r != NULL)
            {
              /* Keep the statement's (last) result. */
              if (c->result != NULL)
                PQclear (c->result);
              c->result = r;
            }
          else if (c->pipeline)
            c->awaiting_sync = TRUE;
          else
            raw_complete_head (run, c, now_ns ());
        }
      else if (r == NULL)
        break;
      else if (PQresultStatus (r) == PGRES_PIPELINE_SYNC)
        {
          PQclear (r);
          raw_complete_head (run, c, now_ns ());
        }
      else
        {
          if (c->result != NULL)
            PQclear (c->result);
          c->result = r;
        }
    }
  if (!c->dead && PQstatus (c->conn) == CONNECTION_BAD)
    {
      g_autofree char *msg = g_strdup (PQerrorMessage (c->conn));
      raw_fail (run, c, g_strchomp (msg));
    }
}

G_GNUC_NO_INLINE void
raw_sequential_loop (Run *run, PGconn *conn)
{
  while (!run->stopped)
    {
      int key = run_next_key (run);
      char text[16];
      g_snprintf (text, sizeof text, "%d", key);
      const char *values[1] = { text };
      gint64 start = now_ns ();
      PGresult *r = run->cfg->prepared
                    ? PQexecPrepared (conn, prepared_names[run->workload], 1,
                                      values, NULL, NULL, 0)
                    : PQexecParams (conn, workload_sql[run->workload], 1, NULL,
                                    values, NULL, NULL, 0);
      char *problem = check_pg_result (run->workload, key, r);
      PQclear (r);
      run_done (run, start, now_ns (), problem);
    }
}

/* Keeps @per_conn statements in flight on each connection, multiplexed
 * with poll(). */
G_GNUC_NO_INLINE void
raw_async_loop (Run *run, RawConn *conns, int n_conns, int per_conn)
{
  struct pollfd *fds = g_new0 (struct pollfd, n_conns);
  for (int i = 0; i < n_conns; i++)
    for (int j = 0; j < per_conn && !run->stopped && !conns[i].dead; j++)
      raw_send (run, &conns[i]);
  while (run->in_flight > 0)
    {
      for (int i = 0; i < n_conns; i++)
        {
          RawConn *c = &conns[i];
          fds[i].fd = c->dead || c->in_flight == 0 ? -1 : PQsocket (c->conn);
          fds[i].events = POLLIN;
          fds[i].revents = 0;
          if (fds[i].fd >= 0 && PQflush (c->conn) > 0)
            fds[i].events |= POLLOUT;
        }
      if (poll (fds, n_conns, -1) < 0)
        continue;  /* EINTR */
      for (int i = 0; i < n_conns; i++)
        {
          RawConn *c = &conns[i];
          if (fds[i].revents == 0 || c->dead)
            continue;
          if ((fds[i].revents & (POLLIN | POLLERR | POLLHUP))
              && !PQconsumeInput (c->conn))
            {
              g_autofree char *msg = g_strdup (PQerrorMessage (c->conn));
              raw_fail (run, c, g_strchomp (msg));
              continue;
            }
          raw_process (run, c);
        }
    }
  g_free (fds);
}

