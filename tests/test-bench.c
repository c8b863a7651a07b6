/* test-bench.c: `dal bench` works (a smoke test, not a timing test).
 *
 * Runs `dal bench --json --seconds 0.2` (the tool from DAL_TEST_TOOL)
 * against the harness's server for both PostgreSQL plugins, and checks
 * that every row is there once, with positive throughput, ordered latency
 * percentiles, finite ratios and no errors, that each names the kind of
 * raw-libpq baseline it is compared with, and that the password shows
 * nowhere (nor in the baseline program's argv); the same for the pool
 * shapes, on a small pool.  Also: the dal binary does not link libpq; the
 * baseline program (tools/dal-bench-libpq) does.  No assertion is about
 * speed.
 */
#include "config.h"

#include <math.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "dal-test.h"

/* Runs @program (NULL: the tool); returns its wait status, with stdout
 * and stderr. */
static int
run_program (const char *program, const char * const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) (program != NULL ? program
                                                     : dal_test_env ("DAL_TEST_TOOL")));
  for (const char * const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);

  int status = -1;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                out, err, &status, &error);
  g_assert_no_error (error);
  return status;
}

static int
run_tool (const char * const *args, char **out, char **err)
{
  return run_program (NULL, args, out, err);
}

/* Runs `dal` with @args, which must succeed (its stderr is shown when it
 * does not); returns its stdout.  The password shows in neither. */
static char *
run_bench (const char * const *args)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = run_tool (args, &out, &err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("dal bench failed; its stderr:\n%s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  const char *password = dal_test_env ("DAL_TEST_PG_PASSWORD");
  g_assert_null (strstr (out, password));
  g_assert_null (strstr (err, password));
  return g_steal_pointer (&out);
}

/* Parses one line of flat JSON ({"k":"v","n":1.5,"x":null}) into a table
 * of key -> raw value text (strings unquoted); NULL if it is not that. */
static GHashTable *
parse_flat_json (const char *line)
{
  g_autoptr (GHashTable) obj = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                      g_free, g_free);
  const char *p = line;
  while (g_ascii_isspace (*p))
    p++;
  if (*p++ != '{')
    return NULL;
  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (*p++ != '"')
        return NULL;
      const char *key_end = strchr (p, '"');
      if (key_end == NULL)
        return NULL;
      char *key = g_strndup (p, key_end - p);
      p = key_end + 1;
      while (g_ascii_isspace (*p))
        p++;
      if (*p++ != ':')
        {
          g_free (key);
          return NULL;
        }
      while (g_ascii_isspace (*p))
        p++;
      GString *value = g_string_new (NULL);
      if (*p == '"')
        {
          for (p++; *p != '\0' && *p != '"'; p++)
            {
              if (*p == '\\' && p[1] != '\0')
                p++;
              g_string_append_c (value, *p);
            }
          if (*p++ != '"')
            {
              g_free (key);
              g_string_free (value, TRUE);
              return NULL;
            }
        }
      else
        while (*p != '\0' && *p != ',' && *p != '}' && !g_ascii_isspace (*p))
          g_string_append_c (value, *p++);
      if (g_hash_table_contains (obj, key) || value->len == 0)
        {
          g_free (key);
          g_string_free (value, TRUE);
          return NULL;
        }
      g_hash_table_insert (obj, key, g_string_free (value, FALSE));
      while (g_ascii_isspace (*p))
        p++;
      if (*p == '}')
        break;
      if (*p++ != ',')
        return NULL;
    }
  return g_steal_pointer (&obj);
}

/* The rows of `dal bench --json` output @out, each parsed (the test fails
 * on a line that is not flat JSON). */
static GPtrArray *
bench_rows (const char *out)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (*g_strstrip (lines[i]) == '\0')
        continue;
      GHashTable *row = parse_flat_json (lines[i]);
      if (row == NULL)
        g_test_fail_printf ("not a flat JSON object: %s", lines[i]);
      else
        g_ptr_array_add (rows, row);
    }
  return rows;
}

/* The number under @key, failing the test (with @what) when it is missing
 * or not a finite number. */
static double
number (GHashTable *row, const char *key, const char *what)
{
  const char *text = g_hash_table_lookup (row, key);
  if (text == NULL)
    {
      g_test_fail_printf ("%s: no \"%s\"", what, key);
      return NAN;
    }
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v))
    {
      g_test_fail_printf ("%s: \"%s\" is %s, not a finite number", what, key, text);
      return NAN;
    }
  return v;
}

/* One row of `dal bench --json`, as printed. */
typedef struct
{
  char *what;       /* "pgasync W1 pipelined" */
  char *case_name;  /* "W1 pipelined": what the ratios compare like with like */
  gboolean libpq;   /* the baseline */
  double qps, cpu, ratio, cpu_ratio;
} BenchRow;

static void
bench_row_clear (BenchRow *r)
{
  g_free (r->what);
  g_free (r->case_name);
}

/* How the tool prints them: qps "%.1f", cpu_us_per_query "%.2f", the
 * ratios "%.4f"; each printed number is off by at most half its last
 * digit. */
#define QPS_ROUNDING 0.05
#define CPU_ROUNDING 0.005
#define RATIO_ROUNDING 0.00005

/* Asserts that the printed @ratio is @num / @den, where all three were
 * rounded (@rounding: the largest error of @num and @den): the exact
 * quotient of the unrounded values lies within the bounds. */
static void
assert_ratio (const char *what, const char *name, double ratio, double num, double den,
              double rounding)
{
  double want = num / den;
  double slack = RATIO_ROUNDING + want * (rounding / num + rounding / den) * 1.01 + 1e-9;
  if (fabs (ratio - want) > slack)
    g_test_fail_printf ("%s: %s is %.4f, but the numbers printed give %.6f (%.6f / %.6f, "
                        "rounding allows %.6f)", what, name, ratio, want, num, den, slack);
}

static void
test_live_smoke (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *async_url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autofree char *sync_url = dal_test_url ("postgresql+psycopg2", NULL);
  const char *args[] = { "bench", "--json", "--seconds", "0.2", async_url, sync_url, NULL };
  g_autofree char *out = run_bench (args);

  const char *plugins[] = { "libpq", "pgasync", "pgsync" };
  const char *workloads[] = { "W1", "W3" };
  const char *shapes[] = { "sequential", "pipelined", "connections" };
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       g_free, NULL);

  g_autoptr (GArray) rows = g_array_new (FALSE, TRUE, sizeof (BenchRow));
  g_array_set_clear_func (rows, (GDestroyNotify) bench_row_clear);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint n_rows = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (*g_strstrip (lines[i]) == '\0')
        continue;
      g_autoptr (GHashTable) row = parse_flat_json (lines[i]);
      if (row == NULL)
        {
          g_test_fail_printf ("not a flat JSON object: %s", lines[i]);
          continue;
        }
      n_rows++;
      const char *plugin = g_hash_table_lookup (row, "plugin");
      const char *workload = g_hash_table_lookup (row, "workload");
      const char *shape = g_hash_table_lookup (row, "shape");
      g_assert_nonnull (plugin);
      g_assert_nonnull (workload);
      g_assert_nonnull (shape);
      g_autofree char *what = g_strdup_printf ("%s %s %s", plugin, workload, shape);
      if (!g_hash_table_add (seen, g_strdup (what)))
        g_test_fail_printf ("row \"%s\" appears twice", what);

      double qps = number (row, "qps", what);
      double rows_per_s = number (row, "rows_per_s", what);
      double p50 = number (row, "p50_ms", what);
      double p95 = number (row, "p95_ms", what);
      double p99 = number (row, "p99_ms", what);
      double cpu = number (row, "cpu_us_per_query", what);
      double ratio = number (row, "ratio", what);
      double cpu_ratio = number (row, "cpu_ratio", what);
      double errors = number (row, "errors", what);
      double queries = number (row, "queries", what);

      /* the default URLs have no statement cache */
      g_assert_cmpstr (g_hash_table_lookup (row, "baseline"), ==, "unnamed");
      g_assert_cmpfloat (qps, >, 0);
      g_assert_cmpfloat (queries, >, 0);
      g_assert_cmpfloat (errors, ==, 0);
      /* W1 returns one row per query, W3 a thousand (rounding aside). */
      double per_query = strcmp (workload, "W3") == 0 ? 1000 : 1;
      g_assert_cmpfloat_with_epsilon (rows_per_s / qps, per_query, per_query * 0.01);
      g_assert_cmpfloat (p50, >, 0);
      g_assert_cmpfloat (p50, <=, p95);
      g_assert_cmpfloat (p95, <=, p99);
      g_assert_cmpfloat (cpu, >, 0);
      g_assert_cmpfloat (ratio, >, 0);
      g_assert_cmpfloat (cpu_ratio, >, 0);
      BenchRow r = { g_strdup (what), g_strdup_printf ("%s %s", workload, shape),
                     strcmp (plugin, "libpq") == 0, qps, cpu, ratio, cpu_ratio };
      g_array_append_val (rows, r);
    }

  /* The ratios are the tool's arithmetic on the numbers it printed: each
   * row's q/s and CPU per query over those of the libpq row of the same
   * workload and shape (the baseline's own ratios included: exactly 1). */
  for (guint i = 0; i < rows->len; i++)
    {
      const BenchRow *r = &g_array_index (rows, BenchRow, i);
      const BenchRow *base = NULL;
      for (guint j = 0; j < rows->len && base == NULL; j++)
        {
          const BenchRow *b = &g_array_index (rows, BenchRow, j);
          if (b->libpq && strcmp (b->case_name, r->case_name) == 0)
            base = b;
        }
      if (base == NULL)
        {
          g_test_fail_printf ("%s: no libpq row to compare with", r->what);
          continue;
        }
      assert_ratio (r->what, "ratio", r->ratio, r->qps, base->qps, QPS_ROUNDING);
      assert_ratio (r->what, "cpu_ratio", r->cpu_ratio, r->cpu, base->cpu, CPU_ROUNDING);
      if (r->libpq)
        {
          g_assert_true (base == r);
          g_assert_cmpfloat (r->ratio, ==, r->qps / base->qps);
          g_assert_cmpfloat (r->cpu_ratio, ==, r->cpu / base->cpu);
        }
    }

  for (gsize p = 0; p < G_N_ELEMENTS (plugins); p++)
    for (gsize w = 0; w < G_N_ELEMENTS (workloads); w++)
      for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
        {
          g_autofree char *what = g_strdup_printf ("%s %s %s", plugins[p],
                                                   workloads[w], shapes[s]);
          if (!g_hash_table_contains (seen, what))
            g_test_fail_printf ("no row for \"%s\"", what);
        }
  g_assert_cmpuint (n_rows, ==, G_N_ELEMENTS (plugins) * G_N_ELEMENTS (workloads)
                                  * G_N_ELEMENTS (shapes));
}

/* --params text: the plugins get their parameter through
 * dal_connection_query_texts; every statement still checks out. */
static void
test_live_text_params (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *async_url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autofree char *sync_url = dal_test_url ("postgresql+psycopg2", NULL);
  const char *args[] = { "bench", "--json", "--params", "text", "--seconds", "0.2",
                         "--workload", "W1", "--shape", "sequential",
                         "--shape", "pipelined", async_url, sync_url, NULL };
  g_autofree char *out = run_bench (args);

  g_autoptr (GPtrArray) rows = bench_rows (out);
  guint n_rows = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      GHashTable *row = rows->pdata[i];
      const char *what = g_hash_table_lookup (row, "shape");
      g_assert_cmpfloat (number (row, "errors", what), ==, 0);
      g_assert_cmpfloat (number (row, "queries", what), >, 0);
      g_assert_cmpstr (g_hash_table_lookup (row, "workload"), ==, "W1");
      n_rows++;
    }
  /* libpq, pgasync, pgsync × sequential, pipelined */
  g_assert_cmpuint (n_rows, ==, 6);
}

/* The pool shapes (--pool, named with --shape too, so nothing else
 * runs), kept short: a pool of 2 connections, depth 4, 8 callers (5 for
 * pool-latency).  Each shape has a row for raw libpq, one for each plugin,
 * and the pool shape one for the pipelined baseline (libpq-8x8); every
 * row ran statements without an error, with positive throughput and
 * ordered, positive latency percentiles (p95 is what pool-latency is
 * for), the pool's size and the callers it was run with; only the pool
 * shape's rows have a ratio to libpq-8x8. */
static void
test_live_pool_shapes (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *async_url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autofree char *sync_url = dal_test_url ("postgresql+psycopg2", NULL);
  const char *args[] = { "bench", "--json", "--seconds", "0.2", "--workload", "W1", "--pool",
                         "--shape", "pool", "--shape", "pool-acquire", "--shape",
                         "pool-latency", "--connections", "2", "--depth", "4", "--callers",
                         "8", "--latency-callers", "5", async_url, sync_url, NULL };
  g_autofree char *out = run_bench (args);

  const char *shapes[] = { "pool", "pool-acquire", "pool-latency" };
  const char *plugins[] = { "libpq", "libpq-8x8", "pgasync", "pgsync" };
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       g_free, NULL);
  g_autoptr (GPtrArray) rows = bench_rows (out);
  for (guint i = 0; i < rows->len; i++)
    {
      GHashTable *row = rows->pdata[i];
      const char *plugin = g_hash_table_lookup (row, "plugin");
      const char *shape = g_hash_table_lookup (row, "shape");
      g_assert_nonnull (plugin);
      g_assert_nonnull (shape);
      g_autofree char *what = g_strdup_printf ("%s %s", plugin, shape);
      if (!g_hash_table_add (seen, g_strdup (what)))
        g_test_fail_printf ("row \"%s\" appears twice", what);
      g_assert_cmpstr (g_hash_table_lookup (row, "workload"), ==, "W1");
      g_assert_false (g_hash_table_contains (row, "available"));

      double queries = number (row, "queries", what);
      double p50 = number (row, "p50_ms", what);
      double p95 = number (row, "p95_ms", what);
      double p99 = number (row, "p99_ms", what);
      g_assert_cmpfloat (number (row, "errors", what), ==, 0);
      g_assert_cmpfloat (queries, >, 0);
      g_assert_cmpfloat (number (row, "qps", what), >, 0);
      g_assert_cmpfloat (number (row, "cpu_us_per_query", what), >, 0);
      g_assert_cmpfloat (number (row, "ratio", what), >, 0);
      g_assert_cmpfloat (p50, >, 0);
      g_assert_cmpfloat (p50, <=, p95);
      g_assert_cmpfloat (p95, <=, p99);
      g_assert_cmpfloat (number (row, "connections", what), ==, 2);

      gboolean raw = g_str_has_prefix (plugin, "libpq");
      double in_flight = number (row, "in_flight", what);
      if (strcmp (plugin, "libpq-8x8") == 0)
        g_assert_cmpfloat (in_flight, ==, 2 * 4);
      else if (raw)
        g_assert_cmpfloat (in_flight, ==, 2);
      else
        g_assert_cmpfloat (in_flight, ==, strcmp (shape, "pool-latency") == 0 ? 5 : 8);
      if (strcmp (shape, "pool") == 0)
        {
          double ratio_pipelined = number (row, "ratio_pipelined", what);
          g_assert_cmpfloat (ratio_pipelined, >, 0);
          if (strcmp (plugin, "libpq-8x8") == 0)
            g_assert_cmpfloat (ratio_pipelined, ==, 1);
        }
      else
        {
          g_assert_false (g_hash_table_contains (row, "ratio_pipelined"));
          g_assert_cmpstr (plugin, !=, "libpq-8x8");
        }
    }
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (gsize p = 0; p < G_N_ELEMENTS (plugins); p++)
      {
        if (strcmp (plugins[p], "libpq-8x8") == 0 && strcmp (shapes[s], "pool") != 0)
          continue;
        g_autofree char *what = g_strdup_printf ("%s %s", plugins[p], shapes[s]);
        if (!g_hash_table_contains (seen, what))
          g_test_fail_printf ("no row for \"%s\"", what);
      }
  /* 4 + 3 + 3: no other shape ran */
  g_assert_cmpuint (rows->len, ==, 10);
}

/* The ELF file of the program @path runs: @path itself, or, for a libtool
 * wrapper script, the binary in .libs/ beside it; NULL if none is found. */
static char *
elf_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *lt = g_strconcat ("lt-", base, NULL);
  char *candidates[] = {
    g_strdup (path),
    g_build_filename (dir, ".libs", base, NULL),
    g_build_filename (dir, ".libs", lt, NULL),
  };
  char *found = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *head = NULL;
      gsize len = 0;
      if (found == NULL && g_file_get_contents (candidates[i], &head, &len, NULL)
          && len > 4 && memcmp (head, "\177ELF", 4) == 0)
        found = g_strdup (candidates[i]);
      g_free (candidates[i]);
    }
  return found;
}

/* Whether the file at @path holds the bytes of @needle. */
static gboolean
file_holds (const char *path, const char *needle)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return memmem (data, len, needle, strlen (needle)) != NULL;
}

/* The dal binary does not link libpq: no libpq.so among the libraries it
 * needs, no libpq function it calls (the names would be in its dynamic
 * string table); the baseline program, beside it, does (so the check can
 * fail). */
static void
test_no_libpq (void)
{
  const char *tool = dal_test_env ("DAL_TEST_TOOL");
  g_autofree char *elf = elf_of (tool);
  g_autofree char *dir = g_path_get_dirname (tool);
  g_autofree char *baseline = g_build_filename (dir, "dal-bench-libpq", NULL);
  if (elf == NULL || !g_file_test (baseline, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("the dal binary or the baseline program is not an ELF file here");
      return;
    }
  g_autofree char *baseline_elf = elf_of (baseline);
  g_assert_nonnull (baseline_elf);
  g_assert_true (file_holds (baseline_elf, "libpq.so"));
  g_assert_true (file_holds (baseline_elf, "PQconnectdbParams"));
  g_assert_false (file_holds (elf, "libpq.so"));
  g_assert_false (file_holds (elf, "PQconnectdbParams"));
  g_assert_false (file_holds (elf, "PQsendQuery"));
}

/* A statement cache in the first URL: raw libpq runs named prepared
 * statements in every shape, and every row says so; the batch shape has a
 * raw row with figures, and each plugin's row has figures or says why it
 * has none.  The baseline program is started with no argument but its
 * name (recorded by a wrapper given with --baseline): the password goes
 * over its stdin. */
static void
test_live_prepared_batch (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  const char *tool = dal_test_env ("DAL_TEST_TOOL");
  g_autofree char *dir = g_path_get_dirname (tool);
  g_autofree char *real = g_build_filename (dir, "dal-bench-libpq", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("dal-bench-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  g_autofree char *wrapper = g_build_filename (tmp, "baseline", NULL);
  g_autofree char *argv_log = g_build_filename (tmp, "argv", NULL);
  g_autofree char *q_log = g_shell_quote (argv_log);
  g_autofree char *q_real = g_shell_quote (real);
  g_autofree char *script = g_strdup_printf (
    "#!/bin/sh\nprintf '[%%s]' \"$0\" \"$@\" >> %s\necho >> %s\nexec %s \"$@\"\n",
    q_log, q_log, q_real);
  g_assert_true (g_file_set_contents (wrapper, script, -1, NULL));
  g_assert_cmpint (g_chmod (wrapper, 0700), ==, 0);

  g_autofree char *async_url = dal_test_url ("postgresql+asyncpg", "statement_cache_size=100");
  g_autofree char *sync_url = dal_test_url ("postgresql+psycopg2", "statement_cache_size=100");
  const char *args[] = { "bench", "--json", "--seconds", "0.2", "--workload", "W1",
                         "--workload", "W3", "--shape", "sequential", "--shape",
                         "pipelined", "--shape", "connections", "--shape", "batch",
                         "--baseline", wrapper, async_url, sync_url, NULL };
  g_autofree char *out = run_bench (args);
  const char *password = dal_test_env ("DAL_TEST_PG_PASSWORD");

  g_autoptr (GPtrArray) rows = bench_rows (out);
  guint n_rows = 0, n_batch = 0, n_raw = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      GHashTable *row = rows->pdata[i];
      const char *what = g_hash_table_lookup (row, "shape");
      const char *shape = g_hash_table_lookup (row, "shape");
      const char *kind = g_hash_table_lookup (row, "baseline");
      gboolean raw = g_strcmp0 (g_hash_table_lookup (row, "plugin"), "libpq") == 0;
      g_assert_nonnull (shape);
      n_rows++;
      n_raw += raw;
      if (strcmp (shape, "batch") == 0)
        {
          n_batch++;
          g_assert_cmpstr (g_hash_table_lookup (row, "workload"), ==, "W1");
          g_assert_cmpstr (kind, ==, "prepared, sync/64");
        }
      else
        g_assert_cmpstr (kind, ==, "prepared");
      if (g_strcmp0 (g_hash_table_lookup (row, "available"), "false") == 0)
        {
          /* only a plugin's batch row may lack figures, and says why */
          g_assert_false (raw);
          g_assert_cmpstr (shape, ==, "batch");
          g_assert_cmpuint (strlen (g_hash_table_lookup (row, "reason")), >, 0);
          g_assert_false (g_hash_table_contains (row, "qps"));
          continue;
        }
      g_assert_cmpfloat (number (row, "errors", what), ==, 0);
      g_assert_cmpfloat (number (row, "queries", what), >, 0);
      g_assert_cmpfloat (number (row, "qps", what), >, 0);
      g_assert_cmpfloat (number (row, "cpu_us_per_query", what), >, 0);
      if (strcmp (shape, "batch") == 0)
        g_assert_cmpfloat (number (row, "in_flight", what), ==, 64);
    }
  /* (libpq, pgasync, pgsync) × (W1, W3) × 3 shapes, and batch for W1 */
  g_assert_cmpuint (n_rows, ==, 3 * 2 * 3 + 3);
  g_assert_cmpuint (n_batch, ==, 3);
  g_assert_cmpuint (n_raw, ==, 2 * 3 + 1);

  /* one baseline program per raw row, each started as "[path]" alone */
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (argv_log, &log, NULL, NULL));
  g_autofree char *expected_line = g_strdup_printf ("[%s]", wrapper);
  g_auto (GStrv) started = g_strsplit (g_strchomp (log), "\n", -1);
  g_assert_cmpuint (g_strv_length (started), ==, n_raw);
  for (guint i = 0; started[i] != NULL; i++)
    g_assert_cmpstr (started[i], ==, expected_line);
  g_assert_null (strstr (log, password));

  g_unlink (argv_log);
  g_unlink (wrapper);
  g_rmdir (tmp);
}

/* Usage errors need no server: exit status 2 and a message. */
static void
test_usage (void)
{
  const char *bad_seconds[] = { "bench", "--seconds", "0", "postgresql://x@127.0.0.1/x", NULL };
  const char *bad_depth[] = { "bench", "--depth", "0", "postgresql://x@127.0.0.1/x", NULL };
  const char *bad_url[] = { "bench", "--seconds", "0.1", "nosuchdialect://x@127.0.0.1/x", NULL };
  const char *bad_params[] = { "bench", "--params", "json", "postgresql://x@127.0.0.1/x", NULL };
  const char *bad_shape[] = { "bench", "--shape", "batches", "postgresql://x@127.0.0.1/x", NULL };
  const char *bad_baseline[] = { "bench", "--baseline", "/nonexistent/dal-bench-libpq",
                                 "postgresql://x@127.0.0.1/x", NULL };
  const char * const *cases[] = { bad_seconds, bad_depth, bad_params, bad_shape,
                                  bad_baseline };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      int status = run_tool (cases[i], &out, &err);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 2);
      g_assert_cmpstr (out, ==, "");
      g_assert_true (g_str_has_prefix (err, "dal bench: "));
      if (cases[i] == bad_baseline)
        g_assert_nonnull (strstr (err, "--baseline \"/nonexistent/dal-bench-libpq\""));
    }

  /* A URL no plugin serves fails before anything is run. */
  g_autofree char *out = NULL, *err = NULL;
  int status = run_tool (bad_url, &out, &err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "nosuchdialect"));
}

/* tools/dal-bench-copy (built beside the tool): 2,000 rows in and out,
 * one round; every side and direction has its row, with the right counts,
 * finite ratios (exactly 1 for libpq) and a peak RSS; no password. */
static void
test_live_copy (void)
{
  DAL_TEST_LIVE_OR_RETURN ();

  g_autofree char *dir = g_path_get_dirname (dal_test_env ("DAL_TEST_TOOL"));
  g_autofree char *program = g_build_filename (dir, "dal-bench-copy", NULL);
  g_autofree char *async_url = dal_test_url ("postgresql+asyncpg", NULL);
  g_autofree char *sync_url = dal_test_url ("postgresql+psycopg2", NULL);
  const char *args[] = { "--json", "--rows", "2000", "--rounds", "1", async_url,
                         sync_url, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = run_program (program, args, &out, &err);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) != 0)
    g_test_message ("dal-bench-copy failed; its stderr:\n%s", err);
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  const char *password = dal_test_env ("DAL_TEST_PG_PASSWORD");
  g_assert_null (strstr (out, password));
  g_assert_null (strstr (err, password));

  const char *sides[] = { "libpq", "pgasync", "pgsync", "pgasync-stream", "pgsync-stream" };
  const char *directions[] = { "in", "out" };
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       g_free, NULL);
  double bytes = -1;
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (*g_strstrip (lines[i]) == '\0')
        continue;
      g_autoptr (GHashTable) row = parse_flat_json (lines[i]);
      g_assert_nonnull (row);
      g_autofree char *what = g_strdup_printf ("%s %s",
                                               (char *) g_hash_table_lookup (row, "side"),
                                               (char *) g_hash_table_lookup (row, "direction"));
      if (!g_hash_table_add (seen, g_strdup (what)))
        g_test_fail_printf ("row \"%s\" appears twice", what);
      g_assert_cmpfloat (number (row, "rows", what), ==, 2000);
      g_assert_cmpfloat (number (row, "rounds", what), ==, 1);
      /* Every side moves the same bytes, in and out. */
      if (bytes < 0)
        bytes = number (row, "bytes", what);
      g_assert_cmpfloat (number (row, "bytes", what), ==, bytes);
      g_assert_cmpfloat (bytes, >, 2000 * 20);
      double seconds = number (row, "seconds", what);
      double rows_per_s = number (row, "rows_per_s", what);
      g_assert_cmpfloat (seconds, >, 0);
      g_assert_cmpfloat_with_epsilon (rows_per_s * seconds, 2000, 2000 * 0.001);
      g_assert_cmpfloat (number (row, "mb_per_s", what), >, 0);
      double ratio = number (row, "ratio", what);
      g_assert_cmpfloat (ratio, >, 0);
      if (g_str_has_prefix (what, "libpq "))
        g_assert_cmpfloat (ratio, ==, 1);
      number (row, "cpu_ratio", what);
      /* A peak RSS in KiB: more than nothing, less than 1 GiB. */
      double rss = number (row, "peak_rss_kib", what);
      g_assert_cmpfloat (rss, >, 1024);
      g_assert_cmpfloat (rss, <, 1024 * 1024);
    }
  for (gsize s = 0; s < G_N_ELEMENTS (sides); s++)
    for (gsize d = 0; d < G_N_ELEMENTS (directions); d++)
      {
        g_autofree char *what = g_strdup_printf ("%s %s", sides[s], directions[d]);
        if (!g_hash_table_contains (seen, what))
          g_test_fail_printf ("no row for \"%s\"", what);
      }
  g_assert_cmpuint (g_hash_table_size (seen), ==, G_N_ELEMENTS (sides) * 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bench/usage", test_usage);
  g_test_add_func ("/bench/no-libpq", test_no_libpq);
  g_test_add_func ("/bench/live-prepared-batch", test_live_prepared_batch);
  g_test_add_func ("/bench/live-smoke", test_live_smoke);
  g_test_add_func ("/bench/live-text-params", test_live_text_params);
  g_test_add_func ("/bench/live-pool-shapes", test_live_pool_shapes);
  g_test_add_func ("/bench/live-copy", test_live_copy);

  return g_test_run ();
}
