/* dal-bench-baseline.h: `dal bench`'s side of the raw-libpq baseline
 * program (tools/dal-bench-libpq; the protocol is in dal-bench.h). */
#ifndef DAL_BENCH_BASELINE_H
#define DAL_BENCH_BASELINE_H

#include "dal-bench.h"
#include "dal-tool.h"

typedef struct _Baseline Baseline;

/* The baseline program: @option (--baseline) when given, else
 * $DAL_BENCH_BASELINE, else next to the running program (or next to its
 * libtool wrapper when it runs from .libs/), else the installed one in
 * pkglibexecdir.  NULL with an error saying where it looked. */
char *baseline_find (const char *option, GError **error);

/* Starts @program for one target: connects with @url's libpq keywords
 * (sent over its stdin, never in argv) and opens @n_conns connections in
 * @mode (BASELINE_MODE_*) with @capacity statements in flight each, a sync
 * point after every @group (pipeline mode), named prepared statements when
 * @prepared.  @name labels its messages.  NULL (with an error) when it
 * could not; it has said why on stderr. */
Baseline *baseline_start (const char *program, DalUrl *url, const char *name,
                          const char *mode, int n_conns, int capacity, int group,
                          gboolean prepared, GError **error);

/* Runs one slice of @run (workload, shape, warm-up and measurement set) in
 * the program and fills @run's counts, latencies (a new array) and the
 * program's own CPU time in the measured window.  FALSE (with an error)
 * when the program failed or died. */
gboolean baseline_slice (Baseline *b, Run *run, GError **error);

/* Ends the program (EOF on its stdin) and waits for it. */
void baseline_free (Baseline *b);

#endif /* DAL_BENCH_BASELINE_H */
