/* dal-bench.h: what the files of `dal bench` share (tools/dal-bench.c,
 * the command and libdal's side; tools/dal-bench-libpq.c, the raw libpq
 * baseline). */
#ifndef DAL_BENCH_H
#define DAL_BENCH_H

#include <sys/resource.h>

#include <libpq-fe.h>

#include "dal-tool.h"

#define BENCH_TABLE "dal_bench_items"
#define BENCH_ROWS 100000
#define RANGE_ROWS 1000
#define MAX_ERRORS 20            /* a run stops issuing after this many */
#define STALL_GRACE_S 60         /* a run longer than its time + this is killed */
#define SEED_WARMUP G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)
#define SEED_MEASURE G_GUINT64_CONSTANT (0x5eedda1bea7c4e55)

#define BASELINE_NAME "libpq"

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
  /* through a DalPool: only when asked for (--pool or --shape) */
  SHAPE_POOL,                /* --callers callers, one-shots */
  SHAPE_POOL_ACQUIRE,        /* --callers callers, acquire → statement → release */
  SHAPE_POOL_LATENCY,        /* --latency-callers callers, one-shots */
  N_SHAPES
} Shape;

#define FIRST_POOL_SHAPE SHAPE_POOL
#define IS_POOL_SHAPE(s) ((s) >= FIRST_POOL_SHAPE)

/* The second baseline of the pool shape: --connections raw connections
 * with --depth statements in flight each (pipeline mode). */
#define BASELINE_PIPELINED_NAME "libpq-8x8"

/* What raw libpq prepares when the first URL has a statement cache. */

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
                              * libpq runs named prepared statements too */
} Config;

/* One measured run: its clock, its id sequence, what it counted. */
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
  gint64 t0, t1;
  struct rusage ru0, ru1;
  GArray *latencies;         /* gint64 ns, measured completions only */
  guint64 queries;
  guint errors;
  char *first_error;
  guint in_flight;
} Run;

/* What a run yields: a row of the report. */

extern const char *const workload_names[];
extern const char *const workload_titles[];
extern const char *const shape_names[];
extern const char *const prepared_names[];
extern const char *const workload_sql[];

/* One raw libpq connection of a run, with its statements in flight. */
typedef struct
{
  PGconn *conn;
  gboolean pipeline;
  gboolean dead;
  int capacity;              /* statements to keep in flight */
  int in_flight;
  int head;                  /* ring of the statements in flight */
  int *keys;
  gint64 *starts;
  gboolean awaiting_sync;    /* pipeline: the head's results are in */
  PGresult *result;          /* the head's result */
} RawConn;

gint64 now_ns (void);
void run_stop (Run *run, gint64 now);
int run_next_key (Run *run);
void run_done (Run *run, gint64 start, gint64 now, char *problem);
char * check_pg_result (Workload w, int key, const PGresult *r);
PGconn * raw_connect (DalUrl *url, gboolean prepare);
G_GNUC_NO_INLINE void raw_sequential_loop (Run *run, PGconn *conn);
G_GNUC_NO_INLINE void raw_async_loop (Run *run, RawConn *conns, int n_conns, int per_conn);

#endif /* DAL_BENCH_H */
