/* dal-bench.c: `dal bench`, libdal's plugins against raw libpq.
 *
 *   dal bench [--json] [--seconds N] [--depth N] [--connections N]
 *             [--pool] [--callers N] [--latency-callers N] URL…
 *
 * Makes (once) a table of BENCH_ROWS rows through the first URL, then runs
 * two workloads:
 *   W1  a parameterized point read by random id (1 row),
 *   W3  a 1,000-row range fetch from a random id,
 * each in three shapes:
 *   sequential   one connection, one statement at a time;
 *   pipelined    one connection, --depth statements in flight;
 *   connections  --connections connections, one statement in flight each;
 * for raw libpq (the baseline: a program of its own, tools/dal-bench-libpq,
 * driven over a pipe; see dal-bench-baseline.c) and for each URL's plugin
 * through libdal's public API (dal_connection_query for the sequential
 * shape, dal_connection_query_async otherwise: the same code for every
 * plugin).
 *
 * Batch shape, with --shape batch (W1 only): one connection, BATCH_SIZE
 * statements under one sync point, one batch at a time; q/s counts
 * statements.  Raw libpq: pipeline mode, BATCH_SIZE statements then one
 * PQpipelineSync.  The plugins: the batch API (dal_batch_loop below).
 *
 * Pool shapes, with --pool (or --shape): each URL's plugin through a
 * DalPool of --connections connections (opened up front, --depth one-shots
 * in flight per connection on a plugin that pipelines):
 *   pool          --callers (64) async callers, each doing one-shots
 *                 (dal_pool_query_async) one after the other;
 *   pool-acquire  --callers callers, each doing acquire → one statement →
 *                 release;
 *   pool-latency  --latency-callers (50) callers doing one-shots, for p95;
 * against raw libpq's --connections connections with one statement in
 * flight each (the connections shape's loop), and, for the pool shape, a
 * second baseline (libpq-8x8): --connections connections with --depth
 * statements in flight each, in pipeline mode.  A caller's latency
 * includes its wait for a connection.
 *
 * Statement kind: when the first URL sets statement_cache_size > 0, raw
 * libpq prepares both statements on each connection and runs them by name
 * (PQsendQueryPrepared), as the statement cache does; else every side
 * sends them unnamed.
 *
 * Fairness: the baseline connects with the first URL's keywords
 * (dal_url_get_keywords, so the same TLS settings), sends the same SQL
 * with text parameters of unspecified type as the plugins do, and draws
 * the same id sequence (a fixed seed for every measured run).  Every
 * result is checked (ids, row counts, no NULL); a run counts its errors
 * and the command fails (exit status 1) when any run had one.
 *
 * Interleaved: for each workload and shape, the connections of raw libpq
 * and of every plugin are opened together, and the measurement is cut in
 * slices of --slice seconds (0.5 by default) that take turns, in an order
 * that rotates every round, until each has had --seconds.  A slow drift of
 * the machine's load (other programs, the server's own work) then weighs
 * on all of them alike, and the ratios compare like with like.  Each
 * slice starts with a warm-up (the first of each target: --warmup; later
 * ones: a tenth of a slice, to fill the pipeline again) and ends with the
 * statements in flight drained, outside the measurement.
 *
 * Latency is from sending a statement to having its checked result (so in
 * a pipeline it includes the wait behind the statements before it).
 * Client CPU is getrusage(RUSAGE_SELF) user + system time over the
 * measured windows (all threads, so the core's worker threads too) per
 * query; raw libpq's is the baseline program's own, measured the same way
 * in that process.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dal-bench-baseline.h"

typedef struct
{
  const char *plugin;
  Workload workload;
  Shape shape;
  int connections;
  int in_flight;
  guint64 queries;
  guint errors;
  double seconds;
  double qps;
  double rows_per_s;
  double p50_ms, p95_ms, p99_ms;
  double cpu_us;
  double user_us, sys_us;    /* cpu_us, split */
  double csw;                /* context switches per query */
  double ratio;
  double cpu_ratio;
  double ratio_pipelined;    /* pool shape: q/s against BASELINE_PIPELINED_NAME */
  const char *unavailable;   /* why this plugin cannot run the shape, or NULL */
  const char *baseline;      /* what raw libpq runs: baseline_kind() */
} Row;

/* -- checking results: the same checks as raw libpq's (dal-bench-libpq.c) -- */

/* Returns NULL when @r holds what @key asked for, else what is wrong. */
static char *
check_dal_result (Workload w, int key, const DalResult *r)
{
  guint n = expected_rows (w);
  if (dal_result_get_n_rows (r) != n || dal_result_get_n_columns (r) != 4)
    return g_strdup_printf ("key %d: expected %u row(s) of 4 columns, got %u of %u",
                            key, n, dal_result_get_n_rows (r),
                            dal_result_get_n_columns (r));
  for (guint i = 0; i < n; i++)
    {
      GError *error = NULL;
      gint64 id = dal_result_get_int64 (r, i, 0, &error);
      if (error != NULL)
        {
          char *msg = g_strdup_printf ("key %d: %s", key, error->message);
          g_error_free (error);
          return msg;
        }
      if (id != (gint64) key + i)
        return g_strdup_printf ("key %d: row %u has id %" G_GINT64_FORMAT
                                ", expected %" G_GINT64_FORMAT,
                                key, i, id, (gint64) key + i);
      for (guint c = 1; c < 4; c++)
        {
          gsize len = 0;
          if (dal_result_get_string (r, i, c, &len) == NULL || len == 0)
            return g_strdup_printf ("key %d: row %u column %u is empty", key, i, c);
        }
    }
  return NULL;
}

/* What is wrong with a statement's outcome (@r, or @error), or NULL. */
static char *
outcome_problem (Workload w, int key, const DalResult *r, const GError *error)
{
  return r != NULL ? check_dal_result (w, key, r)
                   : g_strdup_printf ("key %d: %s", key, error->message);
}

/* -- libdal, through its public API -- */

typedef struct
{
  Run *run;
  DalConnection *conn;
  int key;
  gint64 start;
} DalSlot;

static void dal_slot_issue (DalSlot *slot);

static void
dal_slot_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DalSlot *slot = user_data;
  Run *run = slot->run;
  GError *error = NULL;
  DalResult *r = run->cfg->text_params
    ? dal_connection_query_texts_finish (slot->conn, result, &error)
    : dal_connection_query_finish (slot->conn, result, &error);
  char *problem = outcome_problem (run->workload, slot->key, r, error);
  g_clear_error (&error);
  if (r != NULL)
    dal_result_unref (r);
  run->in_flight--;
  run_done (run, slot->start, now_ns (), problem);
  if (!run->stopped)
    dal_slot_issue (slot);
}

static void
dal_slot_issue (DalSlot *slot)
{
  Run *run = slot->run;
  slot->key = run_next_key (run);
  run->in_flight++;
  slot->start = now_ns ();
  if (run->cfg->text_params)
    {
      char text[16];
      g_snprintf (text, sizeof text, "%d", slot->key);
      const char *values[1] = { text };
      dal_connection_query_texts_async (slot->conn, workload_sql[run->workload],
                                        1, values, NULL, dal_slot_done, slot);
    }
  else
    dal_connection_query_async (slot->conn, workload_sql[run->workload],
                                g_variant_new ("(i)", slot->key), NULL,
                                dal_slot_done, slot);
}

/* Opens @n connections; NULL (after saying why) on failure. */
static DalConnection **
dal_open_n (DalUrl *url, int n)
{
  DalConnection **conns = g_new0 (DalConnection *, n);
  for (int i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      conns[i] = dal_connection_open_url (NULL, url, NULL, &error);
      if (conns[i] == NULL)
        {
          dal_tool_fail (error);
          for (int j = 0; j < i; j++)
            g_object_unref (conns[j]);
          g_free (conns);
          return NULL;
        }
    }
  return conns;
}

static void
dal_close_n (DalConnection **conns, int n)
{
  for (int i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!dal_connection_close (conns[i], NULL, &error))
        dal_tool_fail (error);
      g_object_unref (conns[i]);
    }
  g_free (conns);
}

/* The measured loops are functions of their own, so that a profiler can
 * be pointed at the per-statement work alone
 * (valgrind --tool=callgrind --toggle-collect='*_loop'). */
G_GNUC_NO_INLINE static void
dal_sequential_loop (Run *run, DalConnection *conn)
{
  while (!run->stopped)
    {
      GError *error = NULL;
      int key = run_next_key (run);
      gint64 start = now_ns ();
      DalResult *r;
      if (run->cfg->text_params)
        {
          char text[16];
          g_snprintf (text, sizeof text, "%d", key);
          const char *values[1] = { text };
          r = dal_connection_query_texts (conn, workload_sql[run->workload], 1,
                                          values, NULL, &error);
        }
      else
        r = dal_connection_query (conn, workload_sql[run->workload],
                                  g_variant_new ("(i)", key), NULL, &error);
      char *problem = outcome_problem (run->workload, key, r, error);
      g_clear_error (&error);
      if (r != NULL)
        dal_result_unref (r);
      run_done (run, start, now_ns (), problem);
    }
}

G_GNUC_NO_INLINE static void
dal_async_loop (Run *run, DalSlot *slots, int n_slots)
{
  for (int i = 0; i < n_slots; i++)
    dal_slot_issue (&slots[i]);
  while (run->in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
}

/* -- libdal's pool: callers of their own, one statement each at a time -- */

typedef struct
{
  Run *run;
  DalPool *pool;
  gboolean acquire;          /* acquire → statement → release, not one-shots */
  DalConnection *conn;       /* borrowed */
  int key;
  gint64 start;              /* latency includes the wait for a connection */
} PoolCaller;

static void pool_caller_issue (PoolCaller *c);

static void
pool_caller_done (PoolCaller *c, DalResult *r, GError *error)
{
  Run *run = c->run;
  char *problem = outcome_problem (run->workload, c->key, r, error);
  g_clear_error (&error);
  if (r != NULL)
    dal_result_unref (r);
  run->in_flight--;
  run_done (run, c->start, now_ns (), problem);
  if (!run->stopped)
    pool_caller_issue (c);
}

static void
pool_one_shot_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PoolCaller *c = user_data;
  GError *error = NULL;
  DalResult *r = c->run->cfg->text_params
    ? dal_pool_query_texts_finish (c->pool, result, &error)
    : dal_pool_query_finish (c->pool, result, &error);
  pool_caller_done (c, r, error);
}

static void
pool_borrowed_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PoolCaller *c = user_data;
  GError *error = NULL;
  DalResult *r = c->run->cfg->text_params
    ? dal_connection_query_texts_finish (c->conn, result, &error)
    : dal_connection_query_finish (c->conn, result, &error);
  dal_pool_release (c->pool, g_steal_pointer (&c->conn));
  pool_caller_done (c, r, error);
}

static void
pool_acquired (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PoolCaller *c = user_data;
  GError *error = NULL;
  c->conn = dal_pool_acquire_finish (c->pool, result, &error);
  if (c->conn == NULL)
    {
      pool_caller_done (c, NULL, error);
      return;
    }
  Run *run = c->run;
  if (run->cfg->text_params)
    {
      char text[16];
      g_snprintf (text, sizeof text, "%d", c->key);
      const char *values[1] = { text };
      dal_connection_query_texts_async (c->conn, workload_sql[run->workload], 1,
                                        values, NULL, pool_borrowed_done, c);
    }
  else
    dal_connection_query_async (c->conn, workload_sql[run->workload],
                                g_variant_new ("(i)", c->key), NULL,
                                pool_borrowed_done, c);
}

static void
pool_caller_issue (PoolCaller *c)
{
  Run *run = c->run;
  c->key = run_next_key (run);
  run->in_flight++;
  c->start = now_ns ();
  if (c->acquire)
    dal_pool_acquire_async (c->pool, "dal bench", -1, NULL, pool_acquired, c);
  else if (run->cfg->text_params)
    {
      char text[16];
      g_snprintf (text, sizeof text, "%d", c->key);
      const char *values[1] = { text };
      dal_pool_query_texts_async (c->pool, workload_sql[run->workload], 1, values,
                                  NULL, pool_one_shot_done, c);
    }
  else
    dal_pool_query_async (c->pool, workload_sql[run->workload],
                          g_variant_new ("(i)", c->key), NULL, pool_one_shot_done, c);
}

G_GNUC_NO_INLINE static void
pool_loop (Run *run, PoolCaller *callers, int n_callers)
{
  for (int i = 0; i < n_callers; i++)
    {
      callers[i].run = run;
      pool_caller_issue (&callers[i]);
    }
  while (run->in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
}

/* -- libdal's batches (the batch shape) --
 *
 * As raw libpq does (dal-bench-libpq.c, pipeline mode with group
 * BATCH_SIZE): one batch of BATCH_SIZE W1 statements in flight on the
 * connection at a time (dal_connection_run_batch_async), each statement
 * checked and timed from the batch's sending to its completion. */

typedef struct
{
  Run *run;
  DalConnection *conn;
  int keys[BATCH_SIZE];
  gint64 start;
} DalBatchSlot;

static void dal_batch_issue (DalBatchSlot *slot);

static void
dal_batch_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DalBatchSlot *slot = user_data;
  Run *run = slot->run;
  GError *error = NULL;
  g_autoptr (DalBatchResult) br = dal_connection_run_batch_finish (slot->conn, result,
                                                                   &error);
  gint64 now = now_ns ();
  for (guint i = 0; i < BATCH_SIZE; i++)
    {
      char *problem;
      if (br == NULL)
        problem = g_strdup_printf ("key %d: %s", slot->keys[i], error->message);
      else
        {
          GError *e = NULL;
          DalResult *r = dal_batch_result_get (br, i, &e);
          problem = outcome_problem (run->workload, slot->keys[i], r, e);
          g_clear_error (&e);
        }
      run->in_flight--;
      run_done (run, slot->start, now, problem);
    }
  g_clear_error (&error);
  if (!run->stopped)
    dal_batch_issue (slot);
}

static void
dal_batch_issue (DalBatchSlot *slot)
{
  Run *run = slot->run;
  g_autoptr (DalBatch) batch = dal_batch_new ();
  for (guint i = 0; i < BATCH_SIZE; i++)
    {
      slot->keys[i] = run_next_key (run);
      if (run->cfg->text_params)
        {
          char text[16];
          g_snprintf (text, sizeof text, "%d", slot->keys[i]);
          const char *values[1] = { text };
          dal_batch_add_texts (batch, workload_sql[run->workload], 1, values);
        }
      else
        dal_batch_add (batch, workload_sql[run->workload],
                       g_variant_new ("(i)", slot->keys[i]), NULL);
    }
  run->in_flight += BATCH_SIZE;
  slot->start = now_ns ();
  dal_connection_run_batch_async (slot->conn, batch, NULL, dal_batch_done, slot);
}

/* Why the plugin cannot run the batch shape on @conn, or NULL: one
 * statement in a batch tells. */
static const char *
dal_batch_unavailable (DalConnection *conn)
{
  g_autoptr (DalBatch) batch = dal_batch_new ();
  dal_batch_add (batch, "SELECT 1", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalBatchResult) r = dal_connection_run_batch (conn, batch, NULL, &error);
  if (g_error_matches (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED))
    return "the plugin runs no batches";
  return NULL;
}

G_GNUC_NO_INLINE static void
dal_batch_loop (Run *run, DalConnection *conn)
{
  DalBatchSlot slot = { .run = run, .conn = conn };
  dal_batch_issue (&slot);
  while (run->in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
}

/* -- targets: raw libpq or a plugin, measured slice by slice -- */

typedef struct
{
  const char *plugin;        /* BASELINE_NAME for raw libpq */
  DalUrl *url;
  gboolean raw;
  gboolean raw_pipelined;    /* pool shape: the 8×8 baseline */
  int n_conns;
  int in_flight;             /* statements kept in flight in all */
  const char *unavailable;   /* the plugin cannot run the shape: why */
  /* raw libpq: the baseline program */
  Baseline *baseline;
  /* a plugin */
  DalConnection **conns;
  DalSlot *slots;
  /* a plugin, through a pool (pool shapes) */
  DalPool *pool;
  PoolCaller *callers;
  /* accumulated over the slices */
  GArray *latencies;         /* gint64 ns */
  guint64 queries;
  guint errors;
  double measured_s;
  double user_us;
  double sys_us;
  double csw;
} Target;

/* A pool of --connections connections, all opened up front, and its
 * callers. */
static gboolean
target_open_pool (Target *t, const Config *cfg, Shape shape)
{
  DalPoolSettings settings;
  dal_pool_settings_init (&settings);
  settings.min_size = settings.max_size = (guint) cfg->connections;
  settings.depth = (guint) cfg->depth;
  g_autoptr (GError) error = NULL;
  t->pool = dal_pool_open_url (NULL, t->url, &settings, NULL, &error);
  if (t->pool == NULL)
    {
      dal_tool_fail (error);
      return FALSE;
    }
  t->n_conns = cfg->connections;
  t->in_flight = shape == SHAPE_POOL_LATENCY ? cfg->latency_callers : cfg->callers;
  t->callers = g_new0 (PoolCaller, t->in_flight);
  for (int i = 0; i < t->in_flight; i++)
    {
      t->callers[i].pool = t->pool;
      t->callers[i].acquire = shape == SHAPE_POOL_ACQUIRE;
    }
  return TRUE;
}

/* Opens the target's connections for @shape (raw libpq: starts the
 * baseline program @program); FALSE (said why) on failure. */
static gboolean
target_open (Target *t, const Config *cfg, Shape shape, const char *program)
{
  gboolean pool_shape = IS_POOL_SHAPE (shape);
  gboolean pipeline = shape == SHAPE_PIPELINED || shape == SHAPE_BATCH || t->raw_pipelined;
  t->n_conns = shape == SHAPE_CONNECTIONS || pool_shape ? cfg->connections : 1;
  int per_conn = shape == SHAPE_BATCH ? BATCH_SIZE
                 : shape == SHAPE_PIPELINED || t->raw_pipelined ? cfg->depth : 1;
  t->in_flight = t->n_conns * per_conn;
  t->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (!t->raw && pool_shape)
    return target_open_pool (t, cfg, shape);
  if (!t->raw)
    {
      t->conns = dal_open_n (t->url, t->n_conns);
      if (t->conns == NULL)
        return FALSE;
      if (shape == SHAPE_BATCH)
        {
          t->unavailable = dal_batch_unavailable (t->conns[0]);
          return TRUE;
        }
      t->slots = g_new0 (DalSlot, t->in_flight);
      for (int i = 0; i < t->in_flight; i++)
        t->slots[i].conn = t->conns[shape == SHAPE_CONNECTIONS ? i : 0];
      return TRUE;
    }

  g_autoptr (GError) error = NULL;
  const char *mode = shape == SHAPE_SEQUENTIAL ? BASELINE_MODE_SEQUENTIAL
                     : pipeline ? BASELINE_MODE_PIPELINE : BASELINE_MODE_POLL;
  t->baseline = baseline_start (program, t->url, t->plugin, mode, t->n_conns,
                                per_conn, shape == SHAPE_BATCH ? BATCH_SIZE : 1,
                                cfg->prepared, &error);
  if (t->baseline == NULL)
    dal_tool_fail (error);
  return t->baseline != NULL;
}

static void
target_close (Target *t)
{
  if (t->conns != NULL)
    dal_close_n (t->conns, t->n_conns);
  g_free (t->slots);
  if (t->pool != NULL)
    {
      dal_pool_close (t->pool);
      g_clear_object (&t->pool);
    }
  g_free (t->callers);
  g_clear_pointer (&t->baseline, baseline_free);
  g_clear_pointer (&t->latencies, g_array_unref);
}

/* Runs one slice on the target's open connections (raw libpq: in the
 * baseline program) and adds up what it measured.  FALSE (said why) when
 * the baseline program failed. */
static gboolean
target_slice (Target *t, Run *run)
{
  if (t->unavailable != NULL)
    return TRUE;
  if (t->raw)
    {
      g_autoptr (GError) error = NULL;
      if (!baseline_slice (t->baseline, run, &error))
        {
          dal_tool_fail (error);
          return FALSE;
        }
    }
  else
    {
      run_start (run);
      if (t->pool != NULL)
        pool_loop (run, t->callers, t->in_flight);
      else if (run->shape == SHAPE_SEQUENTIAL)
        dal_sequential_loop (run, t->conns[0]);
      else if (run->shape == SHAPE_BATCH)
        dal_batch_loop (run, t->conns[0]);
      else
        {
          for (int i = 0; i < t->in_flight; i++)
            t->slots[i].run = run;
          dal_async_loop (run, t->slots, t->in_flight);
        }
    }

  g_array_append_vals (t->latencies, run->latencies->data, run->latencies->len);
  t->queries += run->queries;
  t->errors += run->errors;
  t->measured_s += run->measured_s;
  t->user_us += run->user_us;
  t->sys_us += run->sys_us;
  t->csw += run->csw;
  return TRUE;
}

static Row
target_summarize (Target *t, Workload workload, Shape shape)
{
  Row row = {
    .plugin = t->plugin,
    .workload = workload,
    .shape = shape,
    .connections = t->n_conns,
    .in_flight = t->in_flight,
    .queries = t->queries,
    .errors = t->errors,
    .seconds = t->measured_s,
    .ratio = NAN,
    .cpu_ratio = NAN,
    .ratio_pipelined = NAN,
    .unavailable = t->unavailable,
  };
  row.qps = t->measured_s > 0 ? t->queries / t->measured_s : 0;
  row.rows_per_s = row.qps * expected_rows (workload);
  dal_tool_sort_ns (t->latencies);
  row.p50_ms = dal_tool_percentile_ms (t->latencies, 0.50);
  row.p95_ms = dal_tool_percentile_ms (t->latencies, 0.95);
  row.p99_ms = dal_tool_percentile_ms (t->latencies, 0.99);
  row.user_us = t->queries > 0 ? t->user_us / t->queries : NAN;
  row.sys_us = t->queries > 0 ? t->sys_us / t->queries : NAN;
  row.cpu_us = row.user_us + row.sys_us;
  row.csw = t->queries > 0 ? t->csw / t->queries : NAN;
  return row;
}

/* -- the table -- */

static gboolean
setup_exec (DalConnection *conn, const char *sql, GError **error)
{
  return dal_connection_execute (conn, sql, NULL, NULL, error) >= 0;
}

/* Makes the table unless it is there with its BENCH_ROWS rows. */
static gboolean
ensure_table (DalUrl *url)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open_url (NULL, url, NULL, &error);
  if (conn == NULL)
    {
      dal_tool_fail (error);
      return FALSE;
    }

  g_autoptr (DalResult) r = dal_connection_query (
    conn,
    "SELECT count(*) = $1::int8 AND min(id) = 1 AND max(id) = $1::int8 "
    "AND count(name) = $1::int8 AND count(price) = $1::int8 "
    "AND count(created) = $1::int8 FROM " BENCH_TABLE,
    g_variant_new ("(i)", BENCH_ROWS), NULL, &error);
  if (r != NULL && dal_result_get_boolean (r, 0, 0, NULL))
    return TRUE;
  g_clear_error (&error);

  g_printerr ("dal bench: creating table %s (%d rows)…\n", BENCH_TABLE, BENCH_ROWS);
  gboolean ok =
    setup_exec (conn, "SET client_min_messages TO warning", &error)
    && dal_connection_begin (conn, NULL, &error)
    && setup_exec (conn, "DROP TABLE IF EXISTS " BENCH_TABLE, &error)
    && setup_exec (conn, "CREATE TABLE " BENCH_TABLE " (id int PRIMARY KEY, "
                   "name text, price numeric, created timestamptz)", &error)
    && dal_connection_execute (
         conn,
         "INSERT INTO " BENCH_TABLE " SELECT g, 'item ' || g, "
         "round((g % 997) * 1.37 + 0.99, 2), "
         "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' "
         "FROM generate_series(1, $1::int) g",
         g_variant_new ("(i)", BENCH_ROWS), NULL, &error) == BENCH_ROWS
    && dal_connection_commit (conn, NULL, &error)
    && setup_exec (conn, "ANALYZE " BENCH_TABLE, &error);
  if (!ok)
    {
      if (error == NULL)
        error = g_error_new (DAL_ERROR, DAL_ERROR_QUERY_FAILED,
                             "could not fill table %s", BENCH_TABLE);
      g_prefix_error (&error, "setting up the benchmark table: ");
      dal_tool_fail (error);
      return FALSE;
    }
  return TRUE;
}

/* -- output -- */

/* The kind of raw-libpq baseline a row of @shape is compared with. */
static const char *
baseline_kind (const Config *cfg, Shape shape)
{
  if (shape == SHAPE_BATCH)
    return cfg->prepared ? "prepared, sync/" G_STRINGIFY (BATCH_SIZE)
                         : "unnamed, sync/" G_STRINGIFY (BATCH_SIZE);
  return cfg->prepared ? "prepared" : "unnamed";
}

static void
json_number (GString *s, const char *name, double v, const char *format)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (s, ",\"%s\":%s", name,
                          isfinite (v) ? g_ascii_formatd (buf, sizeof buf, format, v)
                                       : "null");
}

static void
print_json (const Row *row)
{
  g_autoptr (GString) s = g_string_new (NULL);
  g_autofree char *plugin = g_strescape (row->plugin, NULL);
  g_string_append_printf (s, "{\"plugin\":\"%s\",\"workload\":\"%s\",\"shape\":\"%s\","
                          "\"baseline\":\"%s\"", plugin, workload_names[row->workload],
                          shape_names[row->shape], row->baseline);
  if (row->unavailable != NULL)
    {
      g_autofree char *reason = g_strescape (row->unavailable, NULL);
      g_string_append_printf (s, ",\"available\":false,\"reason\":\"%s\"}\n", reason);
      fputs (s->str, stdout);
      fflush (stdout);
      return;
    }
  json_number (s, "qps", row->qps, "%.1f");
  json_number (s, "rows_per_s", row->rows_per_s, "%.1f");
  json_number (s, "p50_ms", row->p50_ms, "%.4f");
  json_number (s, "p95_ms", row->p95_ms, "%.4f");
  json_number (s, "p99_ms", row->p99_ms, "%.4f");
  json_number (s, "cpu_us_per_query", row->cpu_us, "%.2f");
  json_number (s, "ratio", row->ratio, "%.4f");
  json_number (s, "cpu_ratio", row->cpu_ratio, "%.4f");
  if (row->shape == SHAPE_POOL)
    json_number (s, "ratio_pipelined", row->ratio_pipelined, "%.4f");
  json_number (s, "user_us_per_query", row->user_us, "%.2f");
  json_number (s, "sys_us_per_query", row->sys_us, "%.2f");
  json_number (s, "csw_per_query", row->csw, "%.3f");
  g_string_append_printf (s, ",\"connections\":%d,\"in_flight\":%d,\"queries\":%"
                          G_GUINT64_FORMAT ",\"errors\":%u",
                          row->connections, row->in_flight, row->queries, row->errors);
  json_number (s, "seconds", row->seconds, "%.3f");
  g_string_append (s, "}\n");
  fputs (s->str, stdout);
  fflush (stdout);
}

static void
print_table_header (void)
{
  printf ("%-9s %-14s %-12s %11s %11s %8s %8s %8s %9s %6s %9s  %s\n", "plugin",
          "workload", "shape", "q/s", "rows/s", "p50 ms", "p95 ms", "p99 ms",
          "cpu us/q", "ratio", "cpu ratio", "vs libpq");
  fflush (stdout);
}

static void
print_table_row (const Row *row)
{
  g_autofree char *workload = g_strdup_printf ("%s %s", workload_names[row->workload],
                                               workload_titles[row->workload]);
  if (row->unavailable != NULL)
    {
      printf ("%-9s %-14s %-12s not available: %s\n", row->plugin, workload,
              shape_names[row->shape], row->unavailable);
      fflush (stdout);
      return;
    }
  g_autofree char *vs_pipelined = isfinite (row->ratio_pipelined)
    ? g_strdup_printf ("  %.2f vs " BASELINE_PIPELINED_NAME, row->ratio_pipelined)
    : g_strdup ("");
  printf ("%-9s %-14s %-12s %11.0f %11.0f %8.3f %8.3f %8.3f %9.1f %6.2f %9.2f  %s%s%s\n",
          row->plugin, workload, shape_names[row->shape], row->qps, row->rows_per_s,
          row->p50_ms, row->p95_ms, row->p99_ms, row->cpu_us, row->ratio,
          row->cpu_ratio, row->baseline, vs_pipelined,
          row->errors > 0 ? "  ERRORS" : "");
  fflush (stdout);
}

/* -- the command -- */

/* Marks in @chosen the @names listed in @only (when @only is NULL: the
 * first @n_default). */
static gboolean
pick (char **only, const char *const *names, int n, int n_default,
      gboolean *chosen, const char *what)
{
  for (int i = 0; i < n; i++)
    chosen[i] = only == NULL && i < n_default;
  for (char **o = only; o != NULL && *o != NULL; o++)
    {
      int i = bench_lookup (*o, names, n);
      if (i < 0)
        {
          fprintf (stderr, "dal bench: unknown %s \"%s\" (see dal bench --help)\n",
                   what, *o);
          return FALSE;
        }
      chosen[i] = TRUE;
    }
  return TRUE;
}

int
dal_tool_bench (int argc, char **argv)
{
  Config cfg = { .seconds = 3.0, .warmup = -1, .slice = 0.5, .depth = 8,
                 .connections = 8, .callers = 64, .latency_callers = 50 };
  gboolean with_pool = FALSE;
  g_auto (GStrv) only_workloads = NULL;
  g_auto (GStrv) only_shapes = NULL;
  g_autofree char *params_style = NULL;
  g_autofree char *config_file = NULL;
  g_autofree char *baseline_option = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Without a URL argument: read this configuration file (docs/config.md)",
      "FILE" },
    { "params", 0, 0, G_OPTION_ARG_STRING, &params_style,
      "How the plugins get the parameter: variant (a GVariant tuple, "
      "dal_connection_query; the default) or text "
      "(dal_connection_query_texts, as raw libpq gets it)", "STYLE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &cfg.json,
      "Print one JSON object per row instead of a table", NULL },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.seconds,
      "Measure each run for SECONDS (fractional; default 3)", "SECONDS" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.warmup,
      "Warm up before each run for SECONDS (default: a fifth of --seconds, "
      "at most 1)", "SECONDS" },
    { "slice", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.slice,
      "Take turns in slices of SECONDS (default 0.5)", "SECONDS" },
    { "depth", 0, 0, G_OPTION_ARG_INT, &cfg.depth,
      "Statements in flight in the pipelined shape (default 8)", "N" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &cfg.connections,
      "Connections in the connections shape (default 8)", "N" },
    { "workload", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only_workloads,
      "Run only this workload (W1 or W3; repeatable; default both)", "W" },
    { "shape", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only_shapes,
      "Run only this shape (sequential, pipelined, connections, batch, pool, "
      "pool-acquire or pool-latency; repeatable; default the first three; "
      "batch: W1 only)", "SHAPE" },
    { "baseline", 0, 0, G_OPTION_ARG_FILENAME, &baseline_option,
      "The raw-libpq baseline program (default: $DAL_BENCH_BASELINE, else "
      BASELINE_PROGRAM " next to dal, else the installed one)", "PATH" },
    { "pool", 0, 0, G_OPTION_ARG_NONE, &with_pool,
      "Run the pool shapes too (pool, pool-acquire, pool-latency)", NULL },
    { "callers", 0, 0, G_OPTION_ARG_INT, &cfg.callers,
      "Concurrent callers in the pool and pool-acquire shapes (default 64); "
      "the pool has --connections connections", "N" },
    { "latency-callers", 0, 0, G_OPTION_ARG_INT, &cfg.latency_callers,
      "Concurrent callers in the pool-latency shape (default 50)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[URL…] - compare plugins with raw libpq");
  g_option_context_set_summary (
    ctx,
    "Runs W1 (point read by random id) and W3 (1,000-row range fetch) "
    "sequentially on one connection, pipelined on one connection and on N "
    "connections, for raw libpq (the program " BASELINE_PROGRAM ", with "
    "the first URL's settings: named prepared statements when its "
    "statement_cache_size > 0, else unnamed) and for each URL's plugin, "
    "and reports q/s, latency percentiles, client CPU per query and the "
    "ratio to raw libpq.  Creates table " BENCH_TABLE
    " through the first URL if it is missing.");
  g_option_context_set_description (ctx, dal_tool_environment_help);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "dal bench: %s (see dal bench --help)\n", error->message);
      return 2;
    }
  if (!(cfg.seconds > 0 && cfg.seconds <= 3600) || cfg.depth < 1 || cfg.depth > 1024
      || cfg.connections < 1 || cfg.connections > 1024 || cfg.warmup > 3600
      || !(cfg.slice > 0) || cfg.callers < 1 || cfg.callers > 100000
      || cfg.latency_callers < 1 || cfg.latency_callers > 100000)
    {
      fprintf (stderr, "dal bench: --seconds must be in (0, 3600], --warmup at "
               "most 3600, --slice positive, --depth and --connections in "
               "1..1024, --callers and --latency-callers in 1..100000\n");
      return 2;
    }
  if (cfg.warmup < 0)
    cfg.warmup = MIN (cfg.seconds / 5, 1.0);
  if (params_style != NULL && strcmp (params_style, "text") != 0
      && strcmp (params_style, "variant") != 0)
    {
      fprintf (stderr, "dal bench: --params takes variant or text\n");
      return 2;
    }
  cfg.text_params = g_strcmp0 (params_style, "text") == 0;
  gboolean run_workload[N_WORKLOADS], run_shape[N_SHAPES];
  if (!pick (only_workloads, workload_names, N_WORKLOADS, N_WORKLOADS, run_workload,
             "workload")
      || !pick (only_shapes, shape_names, N_SHAPES, N_DEFAULT_SHAPES, run_shape,
                "shape"))
    return 2;
  g_autofree char *program = baseline_find (baseline_option, &error);
  if (program == NULL)
    {
      fprintf (stderr, "dal bench: %s\n", error->message);
      return 2;
    }
  /* A baseline program that died must fail its slice, not kill us. */
  signal (SIGPIPE, SIG_IGN);
  for (int s = FIRST_POOL_SHAPE; s < N_SHAPES && with_pool; s++)
    run_shape[s] = TRUE;

  /* No URL argument: the one configuration gives. */
  int n_urls = MAX (argc - 1, 1);
  DalUrl **urls = g_new0 (DalUrl *, n_urls);
  const char **plugins = g_new0 (const char *, n_urls);
  int status = 0;
  for (int i = 0; i < n_urls && status == 0; i++)
    {
      urls[i] = dal_tool_get_url (argc > 1 ? argv[i + 1] : NULL, config_file,
                                  FALSE, &error);
      DalPlugin *p = urls[i] != NULL ? dal_registry_resolve (NULL, urls[i], &error) : NULL;
      if (p == NULL)
        status = dal_tool_fail (error);
      else
        plugins[i] = dal_plugin_get_name (p);
    }
  if (status == 0 && g_strcmp0 (dal_url_get_dialect (urls[0]), "postgresql") != 0)
    {
      fprintf (stderr, "dal bench: the baseline is libpq: the first URL must be "
               "a postgresql:// URL\n");
      status = 2;
    }
  if (status == 0 && !ensure_table (urls[0]))
    status = 1;
  if (status == 0)
    cfg.prepared = dal_url_get_uint (urls[0], "statement_cache_size", 0) > 0;

  if (status == 0)
    {
      const char *sslmode = dal_url_get_option (urls[0], "sslmode");
      if (cfg.json)
        fprintf (stderr, "dal bench: %g s per target in slices of %g s, after %g s "
                 "of warm-up; depth %d, %d connections; sslmode=%s\n", cfg.seconds,
                 cfg.seconds / MAX (1, (int) (cfg.seconds / cfg.slice + 0.5)), cfg.warmup,
                 cfg.depth, cfg.connections, sslmode != NULL ? sslmode : "(libpq default)");
      else
        {
          printf ("dal bench: %g s per target, taking turns in slices of %g s, after "
                  "%g s of warm-up; pipeline depth %d; %d connections; table %s "
                  "(%d rows); sslmode=%s; parameters %s\n"
                  "ratio: q/s against raw libpq (same workload and shape); "
                  "cpu ratio: client CPU per query against raw libpq\n",
                  cfg.seconds, cfg.seconds / MAX (1, (int) (cfg.seconds / cfg.slice + 0.5)),
                  cfg.warmup, cfg.depth, cfg.connections, BENCH_TABLE, BENCH_ROWS,
                  sslmode != NULL ? sslmode : "(libpq default)",
                  cfg.text_params ? "as text (dal_connection_query_texts)"
                                  : "as a GVariant (dal_connection_query)");
          printf ("statements: %s\n", cfg.prepared
                  ? "named prepared (statement_cache_size > 0; raw libpq prepares too)"
                  : "unnamed");
          printf ("raw libpq: %s\n", program);
          if (run_shape[SHAPE_BATCH])
            printf ("batch shape (W1): one connection, batches of %d statements under "
                    "one sync point, one batch in flight; q/s counts statements\n",
                    BATCH_SIZE);
          if (run_shape[SHAPE_POOL] || run_shape[SHAPE_POOL_ACQUIRE]
              || run_shape[SHAPE_POOL_LATENCY])
            printf ("pool shapes: a pool of %d connections (depth %d); pool and "
                    "pool-acquire: %d callers; pool-latency: %d callers; raw libpq: "
                    "%d connections, one statement each (" BASELINE_NAME ") and %d "
                    "each, pipelined (" BASELINE_PIPELINED_NAME ", pool shape "
                    "only)\n", cfg.connections, cfg.depth, cfg.callers,
                    cfg.latency_callers, cfg.connections, cfg.depth);
          printf ("\n");
          print_table_header ();
        }
    }

  guint total_errors = 0;
  int n_slices = MAX (1, (int) (cfg.seconds / cfg.slice + 0.5));
  double slice_s = cfg.seconds / n_slices;
  double rewarm_s = MIN (cfg.warmup, slice_s / 10);
  for (int w = 0; w < N_WORKLOADS && status == 0; w++)
    for (int s = 0; s < N_SHAPES && status == 0; s++)
      {
        if (!run_workload[w] || !run_shape[s] || (s == SHAPE_BATCH && w != W1_POINT))
          continue;
        /* raw libpq first; the pool shape has a second baseline, with
         * statements pipelined on each connection */
        int n_baselines = s == SHAPE_POOL ? 2 : 1;
        int n_targets = n_urls + n_baselines;
        Target *targets = g_new0 (Target, n_targets);
        for (int i = 0; i < n_targets; i++)
          {
            targets[i].raw = i < n_baselines;
            targets[i].raw_pipelined = i == 1 && n_baselines == 2;
            targets[i].plugin = i == 0 ? BASELINE_NAME
                                : i < n_baselines ? BASELINE_PIPELINED_NAME
                                : plugins[i - n_baselines];
            targets[i].url = urls[i < n_baselines ? 0 : i - n_baselines];
            if (status == 0 && !target_open (&targets[i], &cfg, s, program))
              status = 1;
          }

        for (int k = 0; k < n_slices && status == 0; k++)
          for (int j = 0; j < n_targets && status == 0; j++)
            {
              Target *t = &targets[(j + k) % n_targets];
              Run run = {
                .cfg = &cfg, .workload = w, .plugin = t->plugin, .shape = s,
                .warmup_s = k == 0 ? cfg.warmup : rewarm_s, .measure_s = slice_s,
              };
              if (!target_slice (t, &run))
                status = 1;
              run_clear (&run);
            }

        if (status == 0)
          {
            const char *kind = baseline_kind (&cfg, s);
            Row base = target_summarize (&targets[0], w, s);
            base.ratio = base.cpu_ratio = 1.0;
            Row base_pipelined = base;
            if (n_baselines == 2)
              base_pipelined = target_summarize (&targets[1], w, s);
            for (int i = 0; i < n_targets; i++)
              {
                Row row = i == 0 ? base : i == 1 && n_baselines == 2
                                            ? base_pipelined
                                            : target_summarize (&targets[i], w, s);
                if (i > 0)
                  {
                    row.ratio = base.qps > 0 ? row.qps / base.qps : NAN;
                    row.cpu_ratio = row.cpu_us / base.cpu_us;
                  }
                if (n_baselines == 2)
                  row.ratio_pipelined = base_pipelined.qps > 0
                                          ? row.qps / base_pipelined.qps : NAN;
                row.baseline = kind;
                total_errors += row.errors;
                if (cfg.json)
                  print_json (&row);
                else
                  print_table_row (&row);
              }
          }
        for (int i = 0; i < n_targets; i++)
          target_close (&targets[i]);
        g_free (targets);
      }

  if (status == 0 && total_errors > 0)
    {
      fprintf (stderr, "dal bench: FAILED: %u statement(s) failed or returned wrong "
               "results (see above)\n", total_errors);
      status = 1;
    }
  for (int i = 0; i < n_urls; i++)
    if (urls[i] != NULL)
      dal_url_unref (urls[i]);
  g_free (urls);
  g_free (plugins);
  return status;
}
