/* dal-bench-run.c: one measured slice of `dal bench`, as both of its
 * programs count it (tools/dal for the plugins, tools/dal-bench-libpq for
 * raw libpq): the clock, the id sequence, the warm-up and measurement
 * windows, the CPU time. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "dal-bench.h"

const char *const workload_names[] = { "W1", "W3" };
const char *const workload_titles[] = { "point read", "range 1000" };
const char *const shape_names[] = {
  "sequential", "pipelined", "connections", "batch", "pool", "pool-acquire",
  "pool-latency"
};
const char *const prepared_names[] = { "dal_bench_w1", "dal_bench_w3" };
const char *const workload_sql[] = {
  "SELECT id, name, price, created FROM " BENCH_TABLE " WHERE id = $1",
  "SELECT id, name, price, created FROM " BENCH_TABLE " WHERE id >= $1 "
  "ORDER BY id LIMIT 1000",
};

G_STATIC_ASSERT (G_N_ELEMENTS (shape_names) == N_SHAPES);
G_STATIC_ASSERT (G_N_ELEMENTS (workload_names) == N_WORKLOADS);

gint64
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

guint
expected_rows (Workload w)
{
  return w == W1_POINT ? 1 : RANGE_ROWS;
}

/* The index of @name in @names (ASCII case ignored), or -1. */
int
bench_lookup (const char *name, const char *const *names, int n)
{
  for (int i = 0; i < n; i++)
    if (g_ascii_strcasecmp (name, names[i]) == 0)
      return i;
  return -1;
}

static double
timeval_us (const struct timeval *tv)
{
  return (double) tv->tv_sec * 1e6 + (double) tv->tv_usec;
}

/* Starts the clock of a slice whose cfg, workload, plugin, shape and
 * durations are set (and nothing else): the warm-up begins now. */
void
run_start (Run *run)
{
  run->rng = SEED_WARMUP;
  run->latencies = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 4096);
  run->measure_at = now_ns () + (gint64) (run->warmup_s * 1e9);
  run->end_at = run->measure_at + (gint64) (run->measure_s * 1e9);
  /* A run that hangs must not hang the command: SIGALRM ends it, loudly. */
  alarm ((unsigned) ceil (run->warmup_s + run->measure_s) + STALL_GRACE_S);
}

void
run_clear (Run *run)
{
  alarm (0);
  g_clear_pointer (&run->latencies, g_array_unref);
  g_clear_pointer (&run->first_error, g_free);
}

void
run_stop (Run *run, gint64 now)
{
  if (run->stopped)
    return;
  run->stopped = TRUE;
  if (run->measuring)
    {
      struct rusage ru1;
      run->measuring = FALSE;
      getrusage (RUSAGE_SELF, &ru1);
      run->measured_s = (now - run->t0) / 1e9;
      run->user_us = timeval_us (&ru1.ru_utime) - timeval_us (&run->ru0.ru_utime);
      run->sys_us = timeval_us (&ru1.ru_stime) - timeval_us (&run->ru0.ru_stime);
      run->csw = (double) (ru1.ru_nvcsw - run->ru0.ru_nvcsw)
                 + (double) (ru1.ru_nivcsw - run->ru0.ru_nivcsw);
    }
}

/* Moves the run from warm-up to measuring to stopped as time passes. */
static void
run_tick (Run *run, gint64 now)
{
  if (!run->measuring && !run->stopped && now >= run->measure_at)
    {
      run->measuring = TRUE;
      run->t0 = now;
      getrusage (RUSAGE_SELF, &run->ru0);
      run->rng = SEED_MEASURE;  /* every target's slices draw the same ids */
    }
  if (run->measuring && now >= run->end_at)
    run_stop (run, now);
}

/* The next key: an id (W1) or the first id of a range (W3), uniform. */
int
run_next_key (Run *run)
{
  /* splitmix64 */
  guint64 z = (run->rng += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  z ^= z >> 31;
  guint64 span = run->workload == W1_POINT ? BENCH_ROWS : BENCH_ROWS - RANGE_ROWS + 1;
  return (int) (z % span) + 1;
}

/* One statement finished at @now, started at @start; @problem (taken) is
 * NULL when its result checked out. */
void
run_done (Run *run, gint64 start, gint64 now, char *problem)
{
  if (problem != NULL)
    {
      if (run->errors++ == 0)
        {
          g_printerr ("dal bench: %s %s %s: %s\n", run->plugin,
                      workload_names[run->workload], shape_names[run->shape],
                      problem);
          run->first_error = problem;
        }
      else
        g_free (problem);
      if (run->errors >= MAX_ERRORS)
        run_stop (run, now);
    }
  else if (run->measuring)
    {
      gint64 latency = now - start;
      g_array_append_val (run->latencies, latency);
      run->queries++;
    }
  run_tick (run, now);
}
