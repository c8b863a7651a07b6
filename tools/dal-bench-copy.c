/* dal-bench-copy.c: COPY in and out through libdal's PostgreSQL plugins,
 * beside raw libpq, in one run.
 *
 *   dal-bench-copy [--rows N]... [--rounds N] [--json] ASYNC-URL SYNC-URL
 *
 * For each row count (default 100,000 and 1,000,000) and each round
 * (default 3), every side loads table dal_bench_copy with COPY FROM STDIN
 * (truncated first, the count checked after), then every side reads it
 * back with COPY TO STDOUT (rows and bytes counted).  The sides take turns,
 * each round starting one side further on: raw libpq (with the first
 * URL's connection keywords,
 * so the same TLS), then each URL's plugin through
 * dal_connection_copy_from_rows / copy_to_rows ("rows"), then through
 * copy_from_stream / copy_to_stream ("stream"), and with --async through
 * the _async forms of the _rows calls ("async", the rows functions on the
 * child's main context).  Every side sends the same generated rows.
 *
 * Each measurement runs in a child process of its own (this program
 * re-executed with --child, the URL in the environment, never on the
 * command line), so that the child's peak RSS (wait4's ru_maxrss) is that
 * measurement's alone.  Reported per side, direction and count: the
 * median over the rounds of the COPY's own time (connecting, truncating
 * and counting excluded) as rows/s and MB/s, its ratio to raw libpq in
 * the same direction, client CPU per row, and the largest peak RSS over
 * the rounds.
 *
 * Exit status: 0; 1 if a COPY failed or moved the wrong number of rows or
 * bytes; 2 on usage errors.  The password is never printed: the URLs are
 * shown redacted and libdal's errors redact it themselves.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <dal/dal.h>

#define TABLE "dal_bench_copy"
#define CREATE_SQL "CREATE UNLOGGED TABLE IF NOT EXISTS " TABLE \
                   " (id int, name text, price numeric)"
#define TRUNCATE_SQL "TRUNCATE " TABLE
#define COUNT_SQL "SELECT count(*) FROM " TABLE
#define COPY_IN_SQL "COPY " TABLE " (id, name, price) FROM STDIN"
#define COPY_OUT_SQL "COPY " TABLE " (id, name, price) TO STDOUT"
#define CHUNK (64 * 1024)          /* as the plugins send */
#define URL_ENV "DAL_BENCH_COPY_URL"
#define MAX_ROWS G_GUINT64_CONSTANT (1000000000)

/* -- the rows every side sends -- */

typedef struct
{
  char id[24];
  char name[64];
  char price[32];
  const char *values[3];
} GenRow;

/* Writes @v in decimal at @out (no NUL); returns the digits written.
 * Cheaper than printf, so that the rows' generation, the same on every
 * side, does not hide what the sides themselves cost. */
static gsize
put_u64 (char *out, guint64 v)
{
  char tmp[20];
  gsize n = 0;
  do
    tmp[n++] = '0' + v % 10;
  while ((v /= 10) != 0);
  for (gsize i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

#define NAME_HEAD "item "
#define NAME_TAIL " of the copy bench"

/* Row @i (from 1): its three values as text, none needing an escape.
 * Returns the length of the row as a line of COPY text. */
static gsize
gen_row (GenRow *r, guint64 i)
{
  gsize id = put_u64 (r->id, i);
  r->id[id] = '\0';
  gsize name = strlen (NAME_HEAD);
  memcpy (r->name, NAME_HEAD, name);
  memcpy (r->name + name, r->id, id);
  name += id;
  memcpy (r->name + name, NAME_TAIL, sizeof NAME_TAIL);
  name += strlen (NAME_TAIL);
  gsize price = put_u64 (r->price, i / 100);
  r->price[price++] = '.';
  r->price[price++] = '0' + i % 100 / 10;
  r->price[price++] = '0' + i % 10;
  r->price[price] = '\0';
  r->values[0] = r->id;
  r->values[1] = r->name;
  r->values[2] = r->price;
  return id + name + price + 3;
}

#define MAX_LINE 128

/* Writes row @i as a line of COPY text at @buf (MAX_LINE bytes); returns
 * its length. */
static gsize
put_row (char *buf, guint64 i)
{
  GenRow r;
  gsize len = 0;
  gen_row (&r, i);
  for (int v = 0; v < 3; v++)
    {
      gsize n = strlen (r.values[v]);
      memcpy (buf + len, r.values[v], n);
      len += n;
      buf[len++] = v < 2 ? '\t' : '\n';
    }
  return len;
}

/* The bytes of rows 1..@n as COPY text, what every side must move. */
static guint64
expected_bytes (guint64 n)
{
  char line[MAX_LINE];
  guint64 total = 0;
  for (guint64 i = 1; i <= n; i++)
    total += put_row (line, i);
  return total;
}

/* Fills @buf (at least CHUNK bytes) with whole rows from *@next up to
 * @n; returns the bytes written, 0 at the end. */
static gsize
fill_chunk (char *buf, guint64 *next, guint64 n)
{
  gsize len = 0;
  while (*next <= n && len + MAX_LINE <= CHUNK)
    len += put_row (buf + len, (*next)++);
  return len;
}

/* -- a GInputStream of the generated rows, a GOutputStream that drops -- */

G_DECLARE_FINAL_TYPE (GenInput, gen_input, BENCH, GEN_INPUT, GInputStream)

struct _GenInput
{
  GInputStream parent;
  guint64 next, n, bytes;
  char *chunk;
  gsize len, offset;
};

G_DEFINE_TYPE (GenInput, gen_input, G_TYPE_INPUT_STREAM)

static gssize
gen_input_read (GInputStream *stream, void *buffer, gsize count,
                G_GNUC_UNUSED GCancellable *cancellable, G_GNUC_UNUSED GError **error)
{
  GenInput *self = (GenInput *) stream;
  if (self->offset == self->len)
    {
      self->len = fill_chunk (self->chunk, &self->next, self->n);
      self->offset = 0;
      self->bytes += self->len;
    }
  gsize take = MIN (count, self->len - self->offset);
  memcpy (buffer, self->chunk + self->offset, take);
  self->offset += take;
  return take;
}

static void
gen_input_finalize (GObject *object)
{
  g_free (((GenInput *) object)->chunk);
  G_OBJECT_CLASS (gen_input_parent_class)->finalize (object);
}

static void
gen_input_class_init (GenInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gen_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = gen_input_read;
}

static void
gen_input_init (GenInput *self)
{
  self->next = 1;
  self->chunk = g_malloc (CHUNK);
}

G_DECLARE_FINAL_TYPE (DropOutput, drop_output, BENCH, DROP_OUTPUT, GOutputStream)

struct _DropOutput
{
  GOutputStream parent;
  guint64 bytes, rows;
};

G_DEFINE_TYPE (DropOutput, drop_output, G_TYPE_OUTPUT_STREAM)

/* Counts the bytes and the lines, then drops them. */
static gssize
drop_output_write (GOutputStream *stream, const void *buffer, gsize count,
                   G_GNUC_UNUSED GCancellable *cancellable, G_GNUC_UNUSED GError **error)
{
  DropOutput *self = (DropOutput *) stream;
  const char *p = buffer, *end = p + count;
  while ((p = memchr (p, '\n', end - p)) != NULL)
    p++, self->rows++;
  self->bytes += count;
  return count;
}

static void
drop_output_class_init (DropOutputClass *klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = drop_output_write;
}

static void
drop_output_init (G_GNUC_UNUSED DropOutput *self)
{
}

/* -- one measurement (the child) -- */

typedef struct
{
  guint64 rows, bytes;
  double seconds, cpu_seconds;
} Measure;

static double
cpu_now (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* libpq's message, the password masked, on stderr. */
static void
raw_complain (PGconn *conn, const char *what, const char *password)
{
  g_autofree char *msg = g_strdup (PQerrorMessage (conn));
  if (password != NULL && *password != '\0')
    {
      g_auto (GStrv) parts = g_strsplit (msg, password, -1);
      g_free (msg);
      msg = g_strjoinv ("****", parts);
    }
  g_printerr ("dal-bench-copy: libpq: %s: %s\n", what, g_strchomp (msg));
}

static gboolean
raw_exec (PGconn *conn, const char *sql, guint64 *count)
{
  PGresult *r = PQexec (conn, sql);
  ExecStatusType st = PQresultStatus (r);
  gboolean ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  if (ok && count != NULL)
    *count = g_ascii_strtoull (PQgetvalue (r, 0, 0), NULL, 10);
  PQclear (r);
  return ok;
}

/* "relation already exists, skipping" */
static void
drop_notice (G_GNUC_UNUSED void *arg, G_GNUC_UNUSED const char *message)
{
}

/* The COPY through raw libpq: 64 KiB chunks in, one row per call out. */
static gboolean
raw_measure (DalUrl *url, gboolean in, guint64 n, Measure *m)
{
  const char * const *kw, * const *val;
  guint nk = dal_url_get_keywords (url, &kw, &val);
  g_autofree const char **keywords = g_new0 (const char *, nk + 2);
  g_autofree const char **values = g_new0 (const char *, nk + 2);
  memcpy (keywords, kw, nk * sizeof *kw);
  memcpy (values, val, nk * sizeof *val);
  /* As the plugins connect: no GSS encryption round trip. */
  if (!g_strv_contains ((const char * const *) keywords, "gssencmode"))
    {
      keywords[nk] = "gssencmode";
      values[nk] = "disable";
    }
  const char *password = dal_url_get_password (url);
  PGconn *conn = PQconnectdbParams (keywords, values, 0);
  PQsetNoticeProcessor (conn, drop_notice, NULL);
  gboolean ok = PQstatus (conn) == CONNECTION_OK;
  if (!ok)
    raw_complain (conn, "could not connect", password);
  if (ok && in && !(raw_exec (conn, CREATE_SQL, NULL) && raw_exec (conn, TRUNCATE_SQL, NULL)))
    {
      raw_complain (conn, "could not prepare table " TABLE, password);
      ok = FALSE;
    }

  double cpu0 = cpu_now ();
  gint64 t0 = g_get_monotonic_time ();
  PGresult *r = ok ? PQexec (conn, in ? COPY_IN_SQL : COPY_OUT_SQL) : NULL;
  ok = ok && PQresultStatus (r) == (in ? PGRES_COPY_IN : PGRES_COPY_OUT);
  PQclear (r);
  if (ok && in)
    {
      char *chunk = g_malloc (CHUNK);
      guint64 next = 1;
      gsize len;
      while (ok && (len = fill_chunk (chunk, &next, n)) > 0)
        {
          ok = PQputCopyData (conn, chunk, (int) len) == 1;
          m->bytes += len;
        }
      g_free (chunk);
      ok = ok && PQputCopyEnd (conn, NULL) == 1;
    }
  else if (ok)
    {
      char *row;
      int len;
      while ((len = PQgetCopyData (conn, &row, 0)) > 0)
        {
          m->rows++;
          m->bytes += len;
          PQfreemem (row);
        }
      ok = len == -1;
    }
  if (ok)
    {
      r = PQgetResult (conn);
      ok = PQresultStatus (r) == PGRES_COMMAND_OK;
      if (ok && in)
        m->rows = g_ascii_strtoull (PQcmdTuples (r), NULL, 10);
      PQclear (r);
      while ((r = PQgetResult (conn)) != NULL)
        PQclear (r);
    }
  m->seconds = (g_get_monotonic_time () - t0) / 1e6;
  m->cpu_seconds = cpu_now () - cpu0;
  if (!ok && PQstatus (conn) == CONNECTION_OK)
    raw_complain (conn, "the COPY failed", password);

  guint64 count = 0;
  if (ok && in)
    {
      ok = raw_exec (conn, COUNT_SQL, &count);
      if (ok && count != m->rows)
        {
          g_printerr ("dal-bench-copy: libpq: the table holds %" G_GUINT64_FORMAT
                      " rows after copying %" G_GUINT64_FORMAT "\n", count, m->rows);
          ok = FALSE;
        }
    }
  PQfinish (conn);
  return ok;
}

/* The rows the _rows forms take and give. */
typedef struct
{
  GenRow row;
  guint64 next, n;
  guint64 rows, bytes;
} RowsState;

static gboolean
next_row (gpointer user_data, guint *n_values, const char * const **values,
          G_GNUC_UNUSED GError **error)
{
  RowsState *s = user_data;
  if (s->next > s->n)
    return FALSE;
  s->bytes += gen_row (&s->row, s->next++);
  *n_values = 3;
  *values = s->row.values;
  return TRUE;
}

/* Counts the row and looks at every byte of its values. */
static gboolean
take_row (gpointer user_data, guint n_values, const char * const *values,
          G_GNUC_UNUSED GError **error)
{
  RowsState *s = user_data;
  s->rows++;
  for (guint i = 0; i < n_values; i++)
    s->bytes += (values[i] != NULL ? strlen (values[i]) : 2) + 1;
  return TRUE;
}

/* An async COPY's result, for dal_measure(). */
static void
on_async_copy (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* The COPY through libdal: the _rows forms (@async: their _async forms),
 * or the _stream ones. */
static gboolean
dal_measure (DalUrl *url, gboolean in, gboolean stream, gboolean async, guint64 n,
             Measure *m)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open_url (NULL, url, NULL, &error);
  gboolean ok = conn != NULL;
  if (ok && in)
    ok = dal_connection_execute (conn, CREATE_SQL, NULL, NULL, &error) >= 0
         && dal_connection_execute (conn, TRUNCATE_SQL, NULL, NULL, &error) >= 0;

  RowsState s = { .next = 1, .n = n };
  g_autoptr (GenInput) input = g_object_new (gen_input_get_type (), NULL);
  g_autoptr (DropOutput) output = g_object_new (drop_output_get_type (), NULL);
  input->n = n;
  double cpu0 = cpu_now ();
  gint64 t0 = g_get_monotonic_time ();
  gint64 copied = -1;
  if (ok && in && stream)
    copied = dal_connection_copy_from_stream (conn, COPY_IN_SQL, G_INPUT_STREAM (input),
                                              NULL, &error);
  else if (ok && async)
    {
      g_autoptr (GAsyncResult) result = NULL;
      if (in)
        dal_connection_copy_from_rows_async (conn, COPY_IN_SQL, next_row, &s, NULL, NULL,
                                             on_async_copy, &result);
      else
        dal_connection_copy_to_rows_async (conn, COPY_OUT_SQL, take_row, &s, NULL, NULL,
                                           on_async_copy, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      copied = in ? dal_connection_copy_from_rows_finish (conn, result, &error)
                  : dal_connection_copy_to_rows_finish (conn, result, &error);
    }
  else if (ok && in)
    copied = dal_connection_copy_from_rows (conn, COPY_IN_SQL, next_row, &s, NULL,
                                            &error);
  else if (ok && stream)
    copied = dal_connection_copy_to_stream (conn, COPY_OUT_SQL, G_OUTPUT_STREAM (output),
                                            NULL, &error);
  else if (ok)
    copied = dal_connection_copy_to_rows (conn, COPY_OUT_SQL, take_row, &s, NULL, &error);
  m->seconds = (g_get_monotonic_time () - t0) / 1e6;
  m->cpu_seconds = cpu_now () - cpu0;
  ok = copied >= 0;

  if (ok && in)
    {
      m->rows = copied;
      m->bytes = stream ? input->bytes : s.bytes;
      g_autoptr (DalResult) r = dal_connection_query (conn, COUNT_SQL, NULL, NULL, &error);
      gint64 count = r != NULL ? dal_result_get_int64 (r, 0, 0, &error) : -1;
      ok = error == NULL;
      if (ok && count != copied)
        {
          g_printerr ("dal-bench-copy: the table holds %" G_GINT64_FORMAT " rows after "
                      "copying %" G_GINT64_FORMAT "\n", count, copied);
          ok = FALSE;
        }
    }
  else if (ok)
    {
      m->rows = stream ? output->rows : s.rows;
      m->bytes = stream ? output->bytes : s.bytes;
      if ((guint64) copied != m->rows)
        {
          g_printerr ("dal-bench-copy: the COPY says %" G_GINT64_FORMAT " rows, the "
                      "client got %" G_GUINT64_FORMAT "\n", copied, m->rows);
          ok = FALSE;
        }
    }
  if (error != NULL)
    g_printerr ("dal-bench-copy: %s\n", error->message);
  return ok;
}

/* --child SIDE DIRECTION ROWS: one measurement, the URL from URL_ENV;
 * prints "rows bytes seconds cpu-seconds". */
static int
child_main (const char *side, const char *direction, const char *rows)
{
  guint64 n = 0;
  const char *url_text = g_getenv (URL_ENV);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = url_text != NULL ? dal_url_parse (url_text, &error) : NULL;
  if (url == NULL || !g_ascii_string_to_unsigned (rows, 10, 1, MAX_ROWS, &n, NULL))
    {
      g_printerr ("dal-bench-copy: --child is for the program itself\n");
      return 2;
    }
  gboolean in = strcmp (direction, "in") == 0;
  Measure m = { 0 };
  gboolean ok = strcmp (side, "libpq") == 0
                  ? raw_measure (url, in, n, &m)
                  : dal_measure (url, in, strcmp (side, "stream") == 0,
                                 strcmp (side, "async") == 0, n, &m);
  if (!ok)
    return 1;
  printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %.6f %.6f\n", m.rows, m.bytes,
          m.seconds, m.cpu_seconds);
  return 0;
}

/* -- the run (the parent) -- */

typedef struct
{
  char *name;         /* "libpq", "pgasync", "pgsync-stream" */
  const char *api;    /* what --child takes: libpq, rows, stream */
  DalUrl *url;
} Side;

typedef struct
{
  double seconds, cpu_seconds;
  long max_rss_kib;
} Sample;

/* Runs one measurement in a child; FALSE (said on stderr) if it failed
 * or moved other than @n rows and @bytes bytes. */
static gboolean
run_child (const Side *side, gboolean in, guint64 n, guint64 bytes, Sample *out)
{
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *rows = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  const char *argv[] = { self_exe, "--child", side->api, in ? "in" : "out", rows, NULL };
  g_autofree char *url = dal_url_to_string (side->url);
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), URL_ENV, url, TRUE);
  g_autoptr (GError) error = NULL;
  GPid pid;
  int out_fd;
  if (self_exe == NULL
      || !g_spawn_async_with_pipes (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                    NULL, NULL, &pid, NULL, &out_fd, NULL, &error))
    {
      g_printerr ("dal-bench-copy: cannot run a measurement: %s\n",
                  error != NULL ? error->message : "no /proc/self/exe");
      return FALSE;
    }
  g_autoptr (GString) text = g_string_new (NULL);
  char buf[256];
  gssize got;
  while ((got = read (out_fd, buf, sizeof buf)) > 0)
    g_string_append_len (text, buf, got);
  close (out_fd);
  int status;
  struct rusage ru;
  while (wait4 (pid, &status, 0, &ru) < 0)
    ;
  g_spawn_close_pid (pid);

  guint64 moved_rows = 0, moved_bytes = 0;
  const char *what = in ? "COPY FROM STDIN" : "COPY TO STDOUT";
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0
      || sscanf (text->str, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %lf %lf",
                 &moved_rows, &moved_bytes, &out->seconds, &out->cpu_seconds) != 4)
    {
      g_printerr ("dal-bench-copy: %s, %s, %" G_GUINT64_FORMAT " rows: the measurement "
                  "failed\n", side->name, what, n);
      return FALSE;
    }
  if (moved_rows != n || moved_bytes != bytes)
    {
      g_printerr ("dal-bench-copy: %s, %s: moved %" G_GUINT64_FORMAT " rows and %"
                  G_GUINT64_FORMAT " bytes, not %" G_GUINT64_FORMAT " and %"
                  G_GUINT64_FORMAT "\n", side->name, what, moved_rows, moved_bytes,
                  n, bytes);
      return FALSE;
    }
  out->max_rss_kib = ru.ru_maxrss;
  return TRUE;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof *v, compare_double);
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct
{
  const char *side;
  gboolean in;
  guint64 rows, bytes;
  guint rounds;
  double seconds, cpu_seconds;   /* medians */
  double rows_per_s, mb_per_s, ratio, cpu_us_per_krow, cpu_ratio;
  long max_rss_kib;              /* the largest of the rounds */
} Line;

static void
print_line (const Line *l, gboolean json)
{
  if (!json)
    {
      printf ("%-15s %-4s %10" G_GUINT64_FORMAT " %12.0f %8.1f %6.2f %11.1f %6.2f %10ld\n",
              l->side, l->in ? "in" : "out", l->rows, l->rows_per_s, l->mb_per_s,
              l->ratio, l->cpu_us_per_krow, l->cpu_ratio, l->max_rss_kib);
      return;
    }
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s, "{\"side\":\"%s\",\"direction\":\"%s\",\"rows\":%"
                          G_GUINT64_FORMAT ",\"bytes\":%" G_GUINT64_FORMAT
                          ",\"rounds\":%u", l->side, l->in ? "in" : "out", l->rows,
                          l->bytes, l->rounds);
  const struct { const char *name, *format; double v; } numbers[] = {
    { "seconds", "%.6f", l->seconds },
    { "rows_per_s", "%.1f", l->rows_per_s },
    { "mb_per_s", "%.3f", l->mb_per_s },
    { "ratio", "%.4f", l->ratio },
    { "cpu_us_per_krow", "%.1f", l->cpu_us_per_krow },
    { "cpu_ratio", "%.4f", l->cpu_ratio },
  };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++)
    g_string_append_printf (s, ",\"%s\":%s", numbers[i].name,
                            !isfinite (numbers[i].v) ? "null"
                            : g_ascii_formatd (buf, sizeof buf, numbers[i].format,
                                               numbers[i].v));
  g_string_append_printf (s, ",\"peak_rss_kib\":%ld}\n", l->max_rss_kib);
  fputs (s->str, stdout);
}

/* Runs every side at @n rows for @rounds rounds and prints the lines.
 * FALSE when a measurement failed (the run goes on without it). */
static gboolean
run_count (Side *sides, guint n_sides, guint64 n, guint rounds, gboolean json)
{
  guint64 bytes = expected_bytes (n);
  gboolean ok = TRUE;
  /* [direction][side][round] */
  Sample *samples = g_new0 (Sample, 2 * n_sides * rounds);
  gboolean *failed = g_new0 (gboolean, 2 * n_sides);
  /* Each round starts one side further on: whoever goes first or last
   * (after a TRUNCATE of many rows, say) is not always the same. */
  for (guint r = 0; r < rounds; r++)
    for (int d = 0; d < 2; d++)
      for (guint k = 0, i = r % n_sides; k < n_sides; k++, i = (i + 1) % n_sides)
        if (!failed[d * n_sides + i]
            && !run_child (&sides[i], d == 0, n, bytes,
                           &samples[(d * n_sides + i) * rounds + r]))
          failed[d * n_sides + i] = TRUE, ok = FALSE;

  double *t = g_new (double, rounds), *c = g_new (double, rounds);
  for (int d = 0; d < 2; d++)
    {
      Line base = { 0 };
      for (guint i = 0; i < n_sides; i++)
        {
          if (failed[d * n_sides + i])
            continue;
          Line l = { sides[i].name, d == 0, n, bytes, rounds };
          for (guint r = 0; r < rounds; r++)
            {
              const Sample *sm = &samples[(d * n_sides + i) * rounds + r];
              t[r] = sm->seconds;
              c[r] = sm->cpu_seconds;
              l.max_rss_kib = MAX (l.max_rss_kib, sm->max_rss_kib);
            }
          l.seconds = median (t, rounds);
          l.cpu_seconds = median (c, rounds);
          l.rows_per_s = n / l.seconds;
          l.mb_per_s = bytes / l.seconds / 1e6;
          l.cpu_us_per_krow = l.cpu_seconds * 1e9 / n;
          if (i == 0)
            base = l;
          l.ratio = base.rows_per_s > 0 ? l.rows_per_s / base.rows_per_s : NAN;
          l.cpu_ratio = base.cpu_us_per_krow > 0 ? l.cpu_us_per_krow / base.cpu_us_per_krow
                                                 : NAN;
          print_line (&l, json);
        }
    }
  fflush (stdout);
  g_free (t);
  g_free (c);
  g_free (samples);
  g_free (failed);
  return ok;
}

int
main (int argc, char **argv)
{
  if (argc == 5 && strcmp (argv[1], "--child") == 0)
    return child_main (argv[2], argv[3], argv[4]);

  g_auto (GStrv) rows_args = NULL;
  int rounds = 3;
  gboolean json = FALSE, no_stream = FALSE, async = FALSE;
  GOptionEntry entries[] = {
    { "rows", 0, 0, G_OPTION_ARG_STRING_ARRAY, &rows_args,
      "Copy N rows (repeatable; default 100000 and 1000000)", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds,
      "Measure each side ROUNDS times, taking turns, and report the median "
      "(default 3)", "ROUNDS" },
    { "no-stream", 0, 0, G_OPTION_ARG_NONE, &no_stream,
      "Leave out the _stream forms (copy_from_stream, copy_to_stream)", NULL },
    { "async", 0, 0, G_OPTION_ARG_NONE, &async,
      "Add the _async forms of the _rows calls", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object per line instead of a table", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("ASYNC-URL SYNC-URL - COPY "
                                                         "through libdal beside raw libpq");
  g_option_context_set_summary (
    ctx,
    "Loads table " TABLE " with COPY FROM STDIN and reads it back with COPY "
    "TO STDOUT through raw libpq (the first URL's connection keywords) and "
    "each URL's plugin, each measurement in a child process, and reports "
    "rows/s, MB/s, the ratio to raw libpq, client CPU and peak RSS.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("dal-bench-copy: %s (see --help)\n", error->message);
      return 2;
    }
  if (argc < 2 || rounds < 1 || rounds > 100)
    {
      g_printerr ("dal-bench-copy: give one or more postgresql+DRIVER:// URLs (the "
                  "first is raw libpq's too) and --rounds in 1..100\n");
      return 2;
    }
  g_autoptr (GArray) counts = g_array_new (FALSE, FALSE, sizeof (guint64));
  const char *default_counts[] = { "100000", "1000000", NULL };
  for (const char * const *a = rows_args != NULL ? (const char * const *) rows_args
                                                 : default_counts; *a != NULL; a++)
    {
      guint64 n;
      if (!g_ascii_string_to_unsigned (*a, 10, 1, MAX_ROWS, &n, NULL))
        {
          g_printerr ("dal-bench-copy: --rows takes a whole number from 1 to %"
                      G_GUINT64_FORMAT ", not \"%s\"\n", MAX_ROWS, *a);
          return 2;
        }
      g_array_append_val (counts, n);
    }

  /* libpq first (the baseline), then each URL's plugin, rows then streams. */
  g_autoptr (GPtrArray) urls = g_ptr_array_new_with_free_func ((GDestroyNotify) dal_url_unref);
  for (int i = 1; i < argc; i++)
    {
      DalUrl *url = dal_url_parse (argv[i], &error);
      DalPlugin *plugin = url != NULL ? dal_registry_resolve (NULL, url, &error) : NULL;
      if (plugin == NULL)
        {
          g_printerr ("dal-bench-copy: %s\n", error->message);
          if (url != NULL)
            dal_url_unref (url);
          return 2;
        }
      g_ptr_array_add (urls, url);
    }
  if (g_strcmp0 (dal_url_get_dialect (urls->pdata[0]), "postgresql") != 0)
    {
      g_printerr ("dal-bench-copy: the baseline is libpq: the first URL must be a "
                  "postgresql:// URL\n");
      return 2;
    }
  guint n_sides = 1 + urls->len * ((no_stream ? 1 : 2) + (async ? 1 : 0));
  Side *sides = g_new0 (Side, n_sides);
  sides[0] = (Side) { g_strdup ("libpq"), "libpq", urls->pdata[0] };
  for (guint s = 0, k = 1; s < (no_stream ? 1u : 2u); s++)
    for (guint i = 0; i < urls->len; i++, k++)
      {
        const char *plugin = dal_plugin_get_name (dal_registry_resolve (NULL, urls->pdata[i],
                                                                        NULL));
        sides[k] = (Side) { s == 0 ? g_strdup (plugin) : g_strconcat (plugin, "-stream", NULL),
                            s == 0 ? "rows" : "stream", urls->pdata[i] };
      }
  for (guint i = 0; async && i < urls->len; i++)
    sides[n_sides - urls->len + i] = (Side) {
      g_strconcat (dal_plugin_get_name (dal_registry_resolve (NULL, urls->pdata[i], NULL)),
                   "-async", NULL), "async", urls->pdata[i] };

  g_autofree char *shown = dal_url_to_string_redacted (urls->pdata[0]);
  const char *sslmode = dal_url_get_option (urls->pdata[0], "sslmode");
  g_autofree char *banner = g_strdup_printf (
    "dal-bench-copy: table %s (id int, name text, price numeric), unlogged; %d "
    "round%s taking turns (each round starting one side further on), median "
    "reported; peak RSS is the largest of the rounds; "
    "raw libpq with %s (sslmode=%s)", TABLE, rounds, rounds == 1 ? "" : "s", shown,
    sslmode != NULL ? sslmode : "libpq's default");
  if (json)
    g_printerr ("%s\n", banner);
  else
    printf ("%s\n\n%-15s %-4s %10s %12s %8s %6s %11s %6s %10s\n", banner, "side", "dir",
            "rows", "rows/s", "MB/s", "ratio", "cpu us/krow", "cpu x", "peak KiB");
  fflush (stdout);

  gboolean ok = TRUE;
  for (guint c = 0; c < counts->len; c++)
    ok &= run_count (sides, n_sides, g_array_index (counts, guint64, c), rounds, json);

  for (guint i = 0; i < n_sides; i++)
    g_free (sides[i].name);
  g_free (sides);
  return ok ? 0 : 1;
}
