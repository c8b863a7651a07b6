/* dal-pool.c: `dal pool`, a pool's counters.
 *
 *   dal pool [--callers N] [--seconds S] [--acquire] URL
 *
 * Opens a DalPool from URL (its pool_* options are the settings), then,
 * with --callers, runs a workload for --seconds: N concurrent async
 * callers, each doing `SELECT 1` one-shots (dal_pool_query_async) one
 * after the other, or with --acquire acquire → SELECT 1 → release (and at
 * the end every connection is borrowed once more, blocking: that waits
 * until each is back, e.g. from the facade's worker thread, which holds a
 * pgsync connection a moment after its last statement).  Then
 * prints what the workload did and the counters of dal_pool_get_stats(),
 * one "name: value" per line, closes the pool and exits: 0, or 1 when
 * opening failed or any call of the workload did (the first error is
 * printed; errors never hold the password).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dal-tool.h"

#define POOL_SQL "SELECT 1"

typedef struct
{
  DalPool *pool;
  gboolean acquire;
  gint64 deadline_us;   /* monotonic */
  guint running;        /* callers still going */
  guint64 calls;        /* completed without error */
  guint64 errors;
  GError *first_error;
} Workload;

typedef struct
{
  Workload *w;
  DalConnection *conn;  /* --acquire: the borrowed connection */
} Caller;

static void caller_next (Caller *c);

/* Records the outcome of one call; FALSE when it failed. */
static gboolean
caller_check (Caller *c, DalResult *result, GError *error)
{
  Workload *w = c->w;
  if (result == NULL)
    {
      w->errors++;
      if (w->first_error == NULL)
        w->first_error = error;
      else
        g_error_free (error);
      return FALSE;
    }
  gboolean ok = dal_result_get_n_rows (result) == 1
                && g_strcmp0 (dal_result_get_string (result, 0, 0, NULL), "1") == 0;
  dal_result_unref (result);
  if (!ok)
    {
      w->errors++;
      if (w->first_error == NULL)
        w->first_error = g_error_new (DAL_ERROR, DAL_ERROR_QUERY_FAILED,
                                      POOL_SQL " did not return 1");
      return FALSE;
    }
  w->calls++;
  return TRUE;
}

static void
one_shot_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Caller *c = user_data;
  GError *error = NULL;
  DalResult *result = dal_pool_query_finish (DAL_POOL (source), res, &error);
  caller_check (c, result, error);
  caller_next (c);
}

static void
borrowed_query_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Caller *c = user_data;
  GError *error = NULL;
  DalResult *result = dal_connection_query_finish (DAL_CONNECTION (source), res,
                                                   &error);
  caller_check (c, result, error);
  dal_pool_release (c->w->pool, g_steal_pointer (&c->conn));
  caller_next (c);
}

static void
acquired (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Caller *c = user_data;
  GError *error = NULL;
  c->conn = dal_pool_acquire_finish (DAL_POOL (source), res, &error);
  if (c->conn == NULL)
    {
      caller_check (c, NULL, error);
      caller_next (c);
      return;
    }
  dal_connection_query_async (c->conn, POOL_SQL, NULL, NULL,
                              borrowed_query_done, c);
}

/* Starts the caller's next call, or stops it when the time is up. */
static void
caller_next (Caller *c)
{
  Workload *w = c->w;
  if (g_get_monotonic_time () >= w->deadline_us)
    {
      w->running--;
      g_main_context_wakeup (NULL);
      return;
    }
  if (w->acquire)
    dal_pool_acquire_async (w->pool, "dal pool", -1, NULL, acquired, c);
  else
    dal_pool_query_async (w->pool, POOL_SQL, NULL, NULL, one_shot_done, c);
}

/* Borrows every connection of the pool once more (so each is back) and
 * returns them. */
static gboolean
drain (DalPool *pool, Workload *w)
{
  DalPoolStats s;
  dal_pool_get_stats (pool, &s);
  GPtrArray *held = g_ptr_array_new ();
  gboolean ok = TRUE;
  for (guint i = 0; i < s.size && ok; i++)
    {
      GError *error = NULL;
      DalConnection *conn = dal_pool_acquire (pool, "dal pool: drain", 10000,
                                              NULL, &error);
      if (conn != NULL)
        g_ptr_array_add (held, conn);
      else
        {
          ok = FALSE;
          w->errors++;
          if (w->first_error == NULL)
            w->first_error = error;
          else
            g_error_free (error);
        }
    }
  for (guint i = 0; i < held->len; i++)
    dal_pool_release (pool, held->pdata[i]);
  g_ptr_array_free (held, TRUE);
  return ok;
}

static void
print_stats (DalPool *pool)
{
  DalPoolStats s;
  dal_pool_get_stats (pool, &s);
  printf ("size: %u\n", s.size);
  printf ("idle: %u\n", s.idle);
  printf ("in_use: %u\n", s.in_use);
  printf ("waiting: %u\n", s.waiting);
  printf ("opening: %u\n", s.opening);
  printf ("one_shots_in_flight: %u\n", s.one_shots_in_flight);
  printf ("created: %" G_GUINT64_FORMAT "\n", s.created);
  printf ("closed: %" G_GUINT64_FORMAT "\n", s.closed);
  printf ("acquire_timeouts: %" G_GUINT64_FORMAT "\n", s.acquire_timeouts);
  printf ("failed_health_checks: %" G_GUINT64_FORMAT "\n", s.failed_health_checks);
  printf ("resets: %" G_GUINT64_FORMAT "\n", s.resets);
  printf ("replaced_after_faults: %" G_GUINT64_FORMAT "\n", s.replaced_after_faults);
  printf ("connect_failures: %" G_GUINT64_FORMAT "\n", s.connect_failures);
  printf ("acquired: %" G_GUINT64_FORMAT "\n", s.acquired);
  printf ("one_shots: %" G_GUINT64_FORMAT "\n", s.one_shots);
  printf ("retried: %" G_GUINT64_FORMAT "\n", s.retried);
}

int
dal_tool_pool (int argc, char **argv)
{
  int callers = 0;
  double seconds = 1.0;
  gboolean acquire = FALSE;
  g_autofree char *config_file = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Without a URL argument: read this configuration file (docs/config.md)",
      "FILE" },
    { "callers", 'n', 0, G_OPTION_ARG_INT, &callers,
      "Run a workload with N concurrent async callers (default: none, only "
      "open and report)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
      "How long the workload runs (default 1)", "S" },
    { "acquire", 'a', 0, G_OPTION_ARG_NONE, &acquire,
      "Each call is acquire, " POOL_SQL ", release (default: one-shots)", NULL },
    { NULL }
  };
  if (!dal_tool_parse_options ("pool", entries, &argc, &argv))
    return 2;
  if (argc > 2)
    return dal_tool_usage_error ("pool", "expected at most one URL");
  if (callers < 0 || callers > 100000)
    return dal_tool_usage_error ("pool", "--callers takes 0 to 100000");
  if (!(seconds > 0 && seconds <= 86400))
    return dal_tool_usage_error ("pool", "--seconds takes more than 0 and at "
                                 "most 86400");

  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_tool_get_url (argc == 2 ? argv[1] : NULL,
                                             config_file, FALSE, &error);
  g_autoptr (DalPool) pool = url != NULL
                               ? dal_pool_open_url (NULL, url, NULL, NULL, &error)
                               : NULL;
  if (pool == NULL)
    return dal_tool_fail (error);

  int status = 0;
  if (callers > 0)
    {
      Workload w = { 0 };
      w.pool = pool;
      w.acquire = acquire;
      w.running = (guint) callers;
      gint64 start = g_get_monotonic_time ();
      w.deadline_us = start + (gint64) (seconds * G_USEC_PER_SEC);
      Caller *cs = g_new0 (Caller, callers);
      for (int i = 0; i < callers; i++)
        {
          cs[i].w = &w;
          caller_next (&cs[i]);
        }
      while (w.running > 0)
        g_main_context_iteration (NULL, TRUE);
      double elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
      g_free (cs);

      if (acquire && !drain (pool, &w))
        status = 1;

      printf ("workload: %d callers, %s, %.3g s\n", callers,
              acquire ? "acquire, " POOL_SQL ", release" : "one-shot " POOL_SQL,
              seconds);
      printf ("calls: %" G_GUINT64_FORMAT "\n", w.calls);
      printf ("errors: %" G_GUINT64_FORMAT "\n", w.errors);
      printf ("calls_per_second: %.0f\n", elapsed > 0 ? w.calls / elapsed : 0.0);
      if (w.first_error != NULL)
        {
          dal_tool_fail (w.first_error);
          g_error_free (w.first_error);
          status = 1;
        }
    }
  print_stats (pool);
  dal_pool_close (pool);
  return status;
}
