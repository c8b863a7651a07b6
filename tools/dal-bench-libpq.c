/* dal-bench-libpq.c: the program `dal bench` runs for its raw-libpq
 * baselines (tools/dal itself does not link libpq).
 *
 * It serves one target of a run: dal bench starts it, gives it the
 * connection keywords and the target's shape on stdin, then asks for one
 * slice at a time, taking turns with the plugins; after each slice it
 * answers with what it counted, its own CPU time in the slice (getrusage
 * RUSAGE_SELF) and the latency of every measured statement.  The protocol
 * is described in dal-bench.h.  The same workloads, id sequence and checks
 * as libdal's side; one poll() loop for the non-blocking shapes.
 *
 * Not meant to be run by hand: `dal bench` finds it (see
 * docs/benchmarks.md). */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dal-bench.h"

#define PROGRAM BASELINE_PROGRAM ": "

/* One raw libpq connection of a run, with its statements in flight. */
typedef struct
{
  PGconn *conn;
  gboolean pipeline;
  gboolean dead;
  int capacity;              /* statements to keep in flight */
  int group;                 /* pipeline: statements per sync point */
  int in_flight;
  int head;                  /* ring of the statements in flight */
  int checked;               /* pipeline: the head group's statements whose
                              * results are in and checked */
  int *keys;
  gint64 *starts;
  char **problems;           /* pipeline: checked, awaiting their sync */
  gboolean awaiting_sync;    /* pipeline: the head group's results are in */
  PGresult *result;          /* the current statement's (last) result */
} RawConn;

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

static char *
check_pg_result (Workload w, int key, const PGresult *r)
{
  if (r == NULL)
    return g_strdup_printf ("key %d: no result", key);
  if (PQresultStatus (r) != PGRES_TUPLES_OK)
    {
      g_autofree char *msg = g_strdup (PQresultErrorMessage (r));
      g_strchomp (msg);
      return g_strdup_printf ("key %d: %s: %s", key,
                              PQresStatus (PQresultStatus (r)), msg);
    }
  guint n = expected_rows (w);
  if ((guint) PQntuples (r) != n || PQnfields (r) != 4)
    return g_strdup_printf ("key %d: expected %u row(s) of 4 columns, got %d of %d",
                            key, n, PQntuples (r), PQnfields (r));
  for (guint i = 0; i < n; i++)
    {
      if (PQgetisnull (r, (int) i, 0))
        return g_strdup_printf ("key %d: row %u has a NULL id", key, i);
      const char *v = PQgetvalue (r, (int) i, 0);
      char *end = NULL;
      gint64 id = strtoll (v, &end, 10);
      if (end == v || *end != '\0')
        return g_strdup_printf ("key %d: row %u: id \"%s\" is not a number", key, i, v);
      if (id != (gint64) key + i)
        return g_strdup_printf ("key %d: row %u has id %" G_GINT64_FORMAT
                                ", expected %" G_GINT64_FORMAT,
                                key, i, id, (gint64) key + i);
      for (int c = 1; c < 4; c++)
        if (PQgetisnull (r, (int) i, c) || PQgetlength (r, (int) i, c) == 0)
          return g_strdup_printf ("key %d: row %u column %d is empty", key, i, c);
    }
  return NULL;
}

/* Connects with the keywords dal bench sent (the first URL's own, so its
 * sslmode and CA too); with @prepare, prepares both workloads' statements
 * (as the plugins' statement cache would), so that the baseline runs the
 * same kind of statement. */
static PGconn *
raw_connect (GPtrArray *keywords, GPtrArray *values, gboolean prepare)
{
  const char *password = NULL;
  gboolean has_gssencmode = FALSE;
  for (guint i = 0; i + 1 < keywords->len; i++)
    {
      if (strcmp (keywords->pdata[i], "password") == 0)
        password = values->pdata[i];
      has_gssencmode |= strcmp (keywords->pdata[i], "gssencmode") == 0;
    }
  /* As the PostgreSQL plugins do: no GSS encryption round trip. */
  g_autoptr (GPtrArray) kw = g_ptr_array_new ();
  g_autoptr (GPtrArray) val = g_ptr_array_new ();
  if (!has_gssencmode)
    {
      g_ptr_array_add (kw, (gpointer) "gssencmode");
      g_ptr_array_add (val, (gpointer) "disable");
    }
  for (guint i = 0; i < keywords->len; i++)  /* with the final NULL */
    {
      g_ptr_array_add (kw, keywords->pdata[i]);
      g_ptr_array_add (val, values->pdata[i]);
    }
  PGconn *conn = PQconnectdbParams ((const char * const *) kw->pdata,
                                    (const char * const *) val->pdata, 0);
  if (PQstatus (conn) != CONNECTION_OK)
    {
      g_autofree char *msg = redacted_message (PQerrorMessage (conn), password);
      g_printerr ("dal bench: libpq could not connect: %s\n", msg);
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
          g_autofree char *msg = redacted_message (PQerrorMessage (conn), password);
          g_printerr ("dal bench: libpq could not prepare: %s\n", msg);
          PQfinish (conn);
          return NULL;
        }
    }
  return conn;
}

/* The head statement is done (@problem, taken: NULL when it checked out). */
static void
raw_complete_head (Run *run, RawConn *c, gint64 now, char *problem)
{
  gint64 start = c->starts[c->head];
  c->problems[c->head] = NULL;
  c->head = (c->head + 1) % c->capacity;
  c->in_flight--;
  run->in_flight--;
  run_done (run, start, now, problem);
}

/* The connection failed: every statement in flight on it fails. */
static void
raw_fail (Run *run, RawConn *c, const char *why)
{
  c->dead = TRUE;
  while (c->in_flight > 0)
    {
      g_free (c->problems[c->head]);
      raw_complete_head (run, c, now_ns (), g_strdup (why));
    }
  g_clear_pointer (&c->result, PQclear);
  run_stop (run, now_ns ());
}

static void
raw_fail_libpq (Run *run, RawConn *c)
{
  g_autofree char *msg = g_strdup (PQerrorMessage (c->conn));
  raw_fail (run, c, g_strchomp (msg));
}

/* Sends one statement. */
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
  c->problems[slot] = NULL;
  c->in_flight++;
  run->in_flight++;
  int sent = run->cfg->prepared
             ? PQsendQueryPrepared (c->conn, prepared_names[run->workload], 1,
                                    values, NULL, NULL, 0)
             : PQsendQueryParams (c->conn, workload_sql[run->workload], 1, NULL,
                                  values, NULL, NULL, 0);
  if (!sent)
    raw_fail_libpq (run, c);
  return sent;
}

/* Keeps the connection full: groups of statements, each ended by a sync
 * point in pipeline mode. */
static void
raw_fill (Run *run, RawConn *c)
{
  while (!run->stopped && !c->dead && c->capacity - c->in_flight >= c->group)
    {
      for (int i = 0; i < c->group; i++)
        if (!raw_send (run, c))
          return;
      if (c->pipeline && !PQpipelineSync (c->conn))
        {
          raw_fail_libpq (run, c);
          return;
        }
    }
}

/* Takes every whole result libpq has, in order. */
static void
raw_process (Run *run, RawConn *c)
{
  while (c->in_flight > 0 && !c->dead && !PQisBusy (c->conn))
    {
      PGresult *r = PQgetResult (c->conn);
      if (r != NULL && PQresultStatus (r) == PGRES_PIPELINE_SYNC)
        {
          /* The head group is done. */
          gint64 now = now_ns ();
          PQclear (r);
          for (int i = 0; i < c->group && c->in_flight > 0; i++)
            raw_complete_head (run, c, now, c->problems[c->head]);
          c->checked = 0;
          c->awaiting_sync = FALSE;
          raw_fill (run, c);
        }
      else if (r != NULL)
        {
          /* Keep the statement's (last) result. */
          if (c->result != NULL)
            PQclear (c->result);
          c->result = r;
        }
      else if (c->awaiting_sync)
        break;
      else
        {
          /* The end of a statement's results: check them. */
          int slot = (c->head + c->checked) % c->capacity;
          char *problem = check_pg_result (run->workload, c->keys[slot], c->result);
          g_clear_pointer (&c->result, PQclear);
          if (!c->pipeline)
            {
              raw_complete_head (run, c, now_ns (), problem);
              raw_fill (run, c);
            }
          else
            {
              c->problems[slot] = problem;
              c->awaiting_sync = ++c->checked == c->group;
            }
        }
    }
  if (!c->dead && PQstatus (c->conn) == CONNECTION_BAD)
    raw_fail_libpq (run, c);
}

G_GNUC_NO_INLINE static void
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

/* Keeps each connection full, multiplexed with poll(). */
G_GNUC_NO_INLINE static void
raw_async_loop (Run *run, RawConn *conns, int n_conns)
{
  struct pollfd *fds = g_new0 (struct pollfd, n_conns);
  for (int i = 0; i < n_conns; i++)
    raw_fill (run, &conns[i]);
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
              raw_fail_libpq (run, c);
              continue;
            }
          raw_process (run, c);
        }
    }
  g_free (fds);
}

/* -- the protocol (dal-bench.h) -- */

typedef struct
{
  Config cfg;
  char *name;
  gboolean sequential;
  int n_conns;
  RawConn *conns;
  GPtrArray *keywords;       /* NULL-terminated, for PQconnectdbParams */
  GPtrArray *values;
} Target;

static void
target_clear (Target *t)
{
  for (int i = 0; t->conns != NULL && i < t->n_conns; i++)
    {
      RawConn *c = &t->conns[i];
      if (c->conn != NULL)
        PQfinish (c->conn);
      g_clear_pointer (&c->result, PQclear);
      for (int j = 0; c->problems != NULL && j < c->capacity; j++)
        g_free (c->problems[j]);
      g_free (c->problems);
      g_free (c->keys);
      g_free (c->starts);
    }
  g_clear_pointer (&t->conns, g_free);
  g_clear_pointer (&t->name, g_free);
  g_clear_pointer (&t->keywords, g_ptr_array_unref);
  g_clear_pointer (&t->values, g_ptr_array_unref);
}

static gboolean
parse_int (const char *text, int min, int max, int *out)
{
  gint64 v;
  if (!g_ascii_string_to_signed (text, 10, min, max, &v, NULL))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

/* open NAME MODE CONNECTIONS CAPACITY GROUP PREPARED */
static gboolean
target_open (Target *t, char **args)
{
  int n_conns, capacity, group, prepared;
  gboolean sequential = FALSE, pipeline = FALSE;
  if (g_strv_length (args) == 7)
    {
      sequential = strcmp (args[2], BASELINE_MODE_SEQUENTIAL) == 0;
      pipeline = strcmp (args[2], BASELINE_MODE_PIPELINE) == 0;
    }
  if (g_strv_length (args) != 7
      || (!sequential && !pipeline && strcmp (args[2], BASELINE_MODE_POLL) != 0)
      || !parse_int (args[3], 1, 1024, &n_conns)
      || !parse_int (args[4], 1, 65536, &capacity)
      || !parse_int (args[5], 1, capacity, &group)
      || !parse_int (args[6], 0, 1, &prepared) || t->conns != NULL)
    {
      fprintf (stderr, PROGRAM "malformed open command\n");
      return FALSE;
    }
  t->name = g_strdup (args[1]);
  t->sequential = sequential;
  t->cfg.prepared = prepared;
  t->n_conns = n_conns;
  t->conns = g_new0 (RawConn, n_conns);
  for (int i = 0; i < n_conns; i++)
    {
      RawConn *c = &t->conns[i];
      c->conn = raw_connect (t->keywords, t->values, prepared);
      if (c->conn == NULL)
        return FALSE;
      c->pipeline = pipeline;
      c->capacity = pipeline ? capacity : 1;
      c->group = pipeline ? group : 1;
      c->keys = g_new0 (int, c->capacity);
      c->starts = g_new0 (gint64, c->capacity);
      c->problems = g_new0 (char *, c->capacity);
      if (sequential)
        continue;
      if (PQsetnonblocking (c->conn, 1) != 0
          || (pipeline && !PQenterPipelineMode (c->conn)))
        {
          g_autofree char *msg = g_strdup (PQerrorMessage (c->conn));
          g_printerr ("dal bench: libpq: %s\n", g_strchomp (msg));
          return FALSE;
        }
    }
  return TRUE;
}

static void
put_double (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_c (s, ' ');
  g_string_append (s, g_ascii_dtostr (buf, sizeof buf, v));
}

/* slice WORKLOAD SHAPE WARMUP_S MEASURE_S */
static gboolean
target_slice (Target *t, char **args)
{
  if (g_strv_length (args) != 5 || t->conns == NULL)
    {
      fprintf (stderr, PROGRAM "malformed slice command\n");
      return FALSE;
    }
  int w = bench_lookup (args[1], workload_names, N_WORKLOADS);
  int s = bench_lookup (args[2], shape_names, N_SHAPES);
  char *end1, *end2;
  double warmup = g_ascii_strtod (args[3], &end1);
  double measure = g_ascii_strtod (args[4], &end2);
  if (w < 0 || s < 0 || *end1 != '\0' || *end2 != '\0'
      || !(warmup >= 0 && warmup <= 3600) || !(measure > 0 && measure <= 3600))
    {
      fprintf (stderr, PROGRAM "malformed slice command\n");
      return FALSE;
    }

  Run run = { .cfg = &t->cfg, .workload = w, .plugin = t->name, .shape = s,
              .warmup_s = warmup, .measure_s = measure };
  run_start (&run);
  if (t->sequential)
    raw_sequential_loop (&run, t->conns[0].conn);
  else
    raw_async_loop (&run, t->conns, t->n_conns);

  g_autoptr (GString) reply = g_string_new ("done");
  g_string_append_printf (reply, " %" G_GUINT64_FORMAT " %u", run.queries, run.errors);
  put_double (reply, run.measured_s);
  put_double (reply, run.user_us);
  put_double (reply, run.sys_us);
  put_double (reply, run.csw);
  g_string_append_printf (reply, " %u\n", run.latencies->len);
  gboolean ok = fputs (reply->str, stdout) >= 0
                && fwrite (run.latencies->data, sizeof (gint64), run.latencies->len,
                           stdout) == run.latencies->len
                && fflush (stdout) == 0;
  run_clear (&run);
  return ok;
}

int
main (int argc, char **argv)
{
  if (argc != 1)
    {
      fprintf (stderr, "usage: %s (run by `dal bench`, which speaks to it on "
               "stdin and stdout)\n", argv[0]);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  Target t = { .keywords = g_ptr_array_new_with_free_func (g_free),
               .values = g_ptr_array_new_with_free_func (g_free) };
  g_ptr_array_add (t.keywords, NULL);
  g_ptr_array_add (t.values, NULL);
  char *line = NULL;
  size_t size = 0;
  int status = 0;
  while (status == 0 && getline (&line, &size, stdin) > 0)
    {
      g_strchomp (line);
      if (g_str_has_prefix (line, "kw "))
        {
          g_auto (GStrv) kv = g_strsplit (line + 3, " ", 2);
          if (g_strv_length (kv) != 2 || *kv[0] == '\0')
            {
              fprintf (stderr, PROGRAM "malformed kw line\n");
              status = 1;
            }
          else
            {
              /* before the terminating NULL */
              g_ptr_array_insert (t.keywords, t.keywords->len - 1, g_strdup (kv[0]));
              g_ptr_array_insert (t.values, t.values->len - 1, g_strcompress (kv[1]));
            }
          continue;
        }
      g_auto (GStrv) args = g_strsplit (line, " ", -1);
      if (args[0] != NULL && strcmp (args[0], "open") == 0)
        {
          gboolean ok = target_open (&t, args);
          if (printf ("%s\n", ok ? "ok" : "error") < 0 || fflush (stdout) != 0 || !ok)
            status = 1;
        }
      else if (args[0] != NULL && strcmp (args[0], "slice") == 0)
        status = target_slice (&t, args) ? 0 : 1;
      else
        {
          fprintf (stderr, PROGRAM "unknown command \"%.20s\"\n", line);
          status = 2;
        }
    }
  /* the line may hold a password */
  if (line != NULL)
    memset (line, 0, size);
  free (line);
  target_clear (&t);
  return status;
}
