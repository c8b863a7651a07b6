/* dal-bench.h: what the two programs of `dal bench` share: tools/dal (the
 * command and libdal's side: dal-bench.c, dal-bench-baseline.c) and
 * tools/dal-bench-libpq (the raw-libpq baseline: dal-bench-libpq.c).  Both
 * compile dal-bench-run.c: the same clock, id sequence and counting.
 *
 * GLib only: the dal binary does not link libpq, the baseline program
 * does not link libdal. */
#ifndef DAL_BENCH_H
#define DAL_BENCH_H

#include <sys/resource.h>

#include <glib.h>

#define BENCH_TABLE "dal_bench_items"
#define BENCH_ROWS 100000
#define RANGE_ROWS 1000
#define MAX_ERRORS 20            /* a run stops issuing after this many */
#define STALL_GRACE_S 60         /* a run longer than its time + this is killed */
#define SEED_WARMUP G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)
#define SEED_MEASURE G_GUINT64_CONSTANT (0x5eedda1bea7c4e55)
#define BATCH_SIZE 64            /* the batch shape: statements per sync point */

#define BASELINE_NAME "libpq"
#define BASELINE_PROGRAM "dal-bench-libpq"

typedef enum
{
  W1_POINT,
  W3_RANGE,
  N_WORKLOADS
} Workload;

typedef enum
{
  SHAPE_SEQUENTIAL,
  SHAPE_PIPELINED,
  SHAPE_CONNECTIONS,
  /* only when asked for (--shape batch): W1 only */
  SHAPE_BATCH,               /* one connection, BATCH_SIZE statements per sync */
  /* through a DalPool: only when asked for (--pool or --shape) */
  SHAPE_POOL,                /* --callers callers, one-shots */
  SHAPE_POOL_ACQUIRE,        /* --callers callers, acquire → statement → release */
  SHAPE_POOL_LATENCY,        /* --latency-callers callers, one-shots */
  N_SHAPES
} Shape;

/* The shapes run by default: those before this one. */
#define N_DEFAULT_SHAPES SHAPE_BATCH
#define FIRST_POOL_SHAPE SHAPE_POOL
#define IS_POOL_SHAPE(s) ((s) >= FIRST_POOL_SHAPE)

/* The second baseline of the pool shape: --connections raw connections
 * with --depth statements in flight each (pipeline mode). */
#define BASELINE_PIPELINED_NAME "libpq-8x8"

typedef struct
{
  double seconds;
  double warmup;
  double slice;
  int depth;
  int connections;
  gboolean json;
  gboolean text_params;      /* dal_connection_query_texts, not a GVariant */
  int callers;               /* pool and pool-acquire shapes */
  int latency_callers;       /* pool-latency shape */
  gboolean prepared;         /* the first URL's statement_cache_size > 0: raw
                              * libpq runs named prepared statements */
} Config;

/* One measured slice: its clock, its id sequence, what it counted. */
typedef struct
{
  const Config *cfg;
  Workload workload;
  const char *plugin;
  Shape shape;
  double warmup_s;           /* this slice's warm-up and measurement */
  double measure_s;
  guint64 rng;
  gint64 measure_at;         /* ns, monotonic */
  gint64 end_at;
  gboolean measuring;
  gboolean stopped;          /* no new statements */
  gint64 t0;
  struct rusage ru0;
  GArray *latencies;         /* gint64 ns, measured completions only */
  guint64 queries;
  guint errors;
  char *first_error;
  guint in_flight;
  /* set when the measurement ends: its length, and this process's CPU
   * time (getrusage RUSAGE_SELF, all threads) and context switches in it */
  double measured_s;
  double user_us;
  double sys_us;
  double csw;
} Run;

extern const char *const workload_names[];
extern const char *const workload_titles[];
extern const char *const shape_names[];
extern const char *const prepared_names[];
extern const char *const workload_sql[];

gint64 now_ns (void);
guint expected_rows (Workload w);
int bench_lookup (const char *name, const char *const *names, int n);
void run_start (Run *run);
void run_clear (Run *run);
void run_stop (Run *run, gint64 now);
int run_next_key (Run *run);
void run_done (Run *run, gint64 start, gint64 now, char *problem);

/* The baseline program's protocol, on its stdin and stdout (text lines,
 * C-locale numbers; the program serves one target, then exits at EOF):
 *
 *   → kw KEYWORD VALUE    a libpq connection keyword (VALUE g_strescape'd;
 *                         the password travels here, never in argv)
 *   → open NAME MODE CONNECTIONS CAPACITY GROUP PREPARED
 *                         NAME for messages; MODE sequential (blocking
 *                         PQexec*), poll (non-blocking, one statement per
 *                         connection) or pipeline (CAPACITY statements in
 *                         flight per connection, a sync point after every
 *                         GROUP); PREPARED 1 prepares both statements
 *   ← ok | error          (the reason is on the program's stderr)
 *   → slice WORKLOAD SHAPE WARMUP_S MEASURE_S
 *   ← done QUERIES ERRORS MEASURED_S USER_US SYS_US CSW N
 *     followed by N latencies, native gint64 nanoseconds, binary
 */
#define BASELINE_MODE_SEQUENTIAL "sequential"
#define BASELINE_MODE_POLL "poll"
#define BASELINE_MODE_PIPELINE "pipeline"

#endif /* DAL_BENCH_H */
