/* sqlite: the SQLite driver (driver names "pysqlite", the default of bare
 * "sqlite://", and "aiosqlite", as SQLAlchemy spells them).
 *
 * A worked example of a plugin for a dialect that is not PostgreSQL: it
 * fills the blocking slots only (connect, query, close, get_info,
 * execute_script, batch), and the core serves the async API from a
 * worker thread, one operation at a time per connection.  Its dialect
 * (URL forms and options) is in sqlite-url.c, results in sqlite-result.c,
 * errors in sqlite-error.c; docs/sqlite.md is the user's view.
 *
 * Parameters.  Statements say $1 … $n as for PostgreSQL: SQLite reads
 * "$1" as a parameter named "$1", so each parameter is bound by the
 * number in its name ("?" and "?NNN" work too).  Types: NULL, booleans as
 * 1/0, integers as INTEGER, doubles as REAL, text as TEXT, bytes as BLOB,
 * and numerics too large for int64 as TEXT (exact; a column's affinity
 * may convert it).
 *
 * Deadlines.  While a statement runs with a GCancellable or a
 * command_timeout, a progress handler (every PROGRESS_OPS virtual machine
 * instructions) and the busy handler (while SQLite waits for another
 * connection's lock) check both; when one fired SQLite interrupts the
 * statement (SQLITE_INTERRUPT: it is rolled back, and, inside an explicit
 * transaction, SQLite may roll back the whole transaction) and the call
 * fails with G_IO_ERROR_CANCELLED or DAL_ERROR_QUERY_TIMEOUT.  The
 * connection stays usable.
 */
#include "config.h"

#include <string.h>

#include "sqlite-private.h"

/* How often the progress handler looks at the deadline: a few
 * microseconds of work. */
#define PROGRESS_OPS 1000

typedef enum
{
  STOP_NONE = 0,
  STOP_CANCELLED,
  STOP_TIMEOUT,
} StopReason;

typedef struct
{
  sqlite3 *db;
  gint64 command_timeout_ms;
  guint busy_timeout_ms;
  /* the running call's watch (only touched on the thread running it) */
  GCancellable *cancellable;
  gint64 deadline;           /* monotonic, G_MAXINT64 for none */
  gint64 busy_since;
  StopReason stop;
} SqliteConn;

/* -- deadlines and cancellation -- */

static gboolean
watch_fired (SqliteConn *c)
{
  if (c->stop != STOP_NONE)
    return TRUE;
  if (c->cancellable != NULL && g_cancellable_is_cancelled (c->cancellable))
    c->stop = STOP_CANCELLED;
  else if (c->deadline != G_MAXINT64 && g_get_monotonic_time () >= c->deadline)
    c->stop = STOP_TIMEOUT;
  return c->stop != STOP_NONE;
}

static int
on_progress (void *data)
{
  return watch_fired (data) ? 1 : 0;
}

/* SQLite's busy_timeout, but watching the caller's cancellable and
 * command_timeout while it waits. */
static int
on_busy (void *data, int count)
{
  SqliteConn *c = data;
  gint64 now = g_get_monotonic_time ();
  if (count == 0)
    c->busy_since = now;
  if (watch_fired (c))
    return 0;
  gint64 left = c->busy_since + (gint64) c->busy_timeout_ms * 1000 - now;
  if (left <= 0)
    return 0;
  g_usleep (MIN (left, MIN (count + 1, 10) * 1000));
  return 1;
}

/* Starts watching a call; FALSE (with @error) if it was cancelled
 * already. */
static gboolean
watch_begin (SqliteConn *c, GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  c->stop = STOP_NONE;
  c->cancellable = cancellable;
  c->deadline = c->command_timeout_ms > 0
                  ? g_get_monotonic_time () + c->command_timeout_ms * 1000
                  : G_MAXINT64;
  if (cancellable != NULL || c->deadline != G_MAXINT64)
    sqlite3_progress_handler (c->db, PROGRESS_OPS, on_progress, c);
  return TRUE;
}

static void
watch_end (SqliteConn *c)
{
  sqlite3_progress_handler (c->db, 0, NULL, NULL);
  c->cancellable = NULL;
  c->deadline = G_MAXINT64;
}

/* The error of a statement that failed with @rc: the caller's cancel or
 * the timeout when the watch stopped it, else SQLite's. */
static GError *
statement_error (SqliteConn *c, int rc, const char *sql, gsize sql_offset)
{
  if (c->stop == STOP_CANCELLED)
    return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                "the statement was cancelled");
  if (c->stop == STOP_TIMEOUT)
    {
      GError *e = dal_error_new_hint (
        DAL_ERROR_QUERY_TIMEOUT,
        "Make the statement faster, or raise command_timeout in the URL",
        "the statement ran longer than command_timeout=%g s and was "
        "interrupted", c->command_timeout_ms / 1000.0);
      dal_error_set_retryable (e, TRUE);
      return e;
    }
  return dal_sqlite_error_from_db (c->db, rc, sql, sql_offset);
}

/* -- the connection -- */

static void
sqlite_close (gpointer handle)
{
  SqliteConn *c = handle;
  sqlite3_close_v2 (c->db);
  g_free (c);
}

/* Runs a PRAGMA while connecting; its rows are dropped. */
static gboolean
run_pragma (SqliteConn *c, const char *sql, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec (c->db, sql, NULL, NULL, &msg);
  sqlite3_free (msg);
  if (rc == SQLITE_OK)
    return TRUE;
  g_propagate_error (error, dal_sqlite_error_from_db (c->db, rc, NULL, 0));
  return FALSE;
}

static gpointer
sqlite_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  DalSqliteTarget target;
  dal_sqlite_target_init (&target, url);

  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (target.uri, &db, target.flags, NULL);
  if (rc != SQLITE_OK)
    {
      g_propagate_error (error, dal_sqlite_error_open (db, rc, &target));
      sqlite3_close_v2 (db);
      dal_sqlite_target_clear (&target);
      return NULL;
    }

  SqliteConn *c = g_new0 (SqliteConn, 1);
  c->db = db;
  c->deadline = G_MAXINT64;
  c->command_timeout_ms = dal_url_get_duration_ms (url, "command_timeout", 0);
  c->busy_timeout_ms = target.busy_timeout_ms;
  sqlite3_busy_handler (db, on_busy, c);

  g_autofree char *journal = target.journal_mode != NULL
    ? g_strdup_printf ("PRAGMA journal_mode=%s", target.journal_mode) : NULL;
  gboolean ok = (journal == NULL || run_pragma (c, journal, error))
                && (target.foreign_keys < 0
                    || run_pragma (c, target.foreign_keys ? "PRAGMA foreign_keys=ON"
                                                          : "PRAGMA foreign_keys=OFF",
                                   error));
  dal_sqlite_target_clear (&target);
  if (!ok)
    {
      sqlite_close (c);
      return NULL;
    }
  return c;
}

static char *
sqlite_get_info (gpointer handle, const char *key)
{
  SqliteConn *c = handle;
  if (strcmp (key, "transaction_status") == 0)
    return g_strdup (sqlite3_get_autocommit (c->db) ? "idle" : "intrans");
  if (strcmp (key, "server_version") == 0)
    return g_strdup_printf ("%d", sqlite3_libversion_number ());
  if (strcmp (key, "database") == 0)
    {
      const char *file = sqlite3_db_filename (c->db, "main");
      return g_strdup (file != NULL && *file != '\0' ? file : ":memory:");
    }
  return NULL;
}

/* -- statements -- */

static int
bind_one (sqlite3_stmt *stmt, int idx, const DalParams *p, guint i)
{
  const char *v = p->values[i];
  int len = p->lengths != NULL ? p->lengths[i] : -1;
  if (v == NULL)
    return sqlite3_bind_null (stmt, idx);
  switch (p->types[i])
    {
    case DAL_PARAM_NULL:
      return sqlite3_bind_null (stmt, idx);
    case DAL_PARAM_BOOLEAN:
      return sqlite3_bind_int (stmt, idx, v[0] == 't' ? 1 : 0);
    case DAL_PARAM_INT16:
    case DAL_PARAM_INT32:
    case DAL_PARAM_INT64:
      return sqlite3_bind_int64 (stmt, idx, g_ascii_strtoll (v, NULL, 10));
    case DAL_PARAM_DOUBLE:
      return sqlite3_bind_double (stmt, idx, g_ascii_strtod (v, NULL));
    case DAL_PARAM_BYTES:
      return len > 0 ? sqlite3_bind_blob (stmt, idx, v, len, SQLITE_STATIC)
                     : sqlite3_bind_zeroblob (stmt, idx, 0);
    case DAL_PARAM_NUMERIC:
    case DAL_PARAM_TEXT:
    default:
      return sqlite3_bind_text (stmt, idx, v, len, SQLITE_STATIC);
    }
}

/* Binds $k (or ?k, or the k-th "?") to parameter k; as PostgreSQL, the
 * statement must use as many parameters as are given. */
static gboolean
bind_params (SqliteConn *c, sqlite3_stmt *stmt, const DalParams *params,
             GError **error)
{
  guint given = params != NULL ? params->n : 0;
  guint64 highest = 0;
  int n = sqlite3_bind_parameter_count (stmt);
  for (int idx = 1; idx <= n; idx++)
    {
      const char *name = sqlite3_bind_parameter_name (stmt, idx);
      guint64 k = idx;
      if (name != NULL
          && !((name[0] == '$' || name[0] == '?')
               && g_ascii_string_to_unsigned (name + 1, 10, 1, G_MAXUINT, &k, NULL)))
        {
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_INVALID_PARAMETER,
            "Write $1, $2, … for the parameters, in the order they are passed",
            "the statement names a parameter \"%s\"; libdal passes parameters "
            "by number", name));
          return FALSE;
        }
      if (k > given)
        {
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_INVALID_PARAMETER,
            "Pass a value for every parameter the statement uses",
            "the statement uses $%" G_GUINT64_FORMAT " but %u parameter%s "
            "given", k, given, given == 1 ? " was" : "s were"));
          return FALSE;
        }
      highest = MAX (highest, k);
      int rc = bind_one (stmt, idx, params, (guint) k - 1);
      if (rc != SQLITE_OK)
        {
          g_propagate_error (error, dal_sqlite_error_from_db (c->db, rc, NULL, 0));
          return FALSE;
        }
    }
  if (given > highest)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_INVALID_PARAMETER,
        "Pass only the parameters the statement uses",
        "%u parameter%s given but the statement uses %" G_GUINT64_FORMAT,
        given, given == 1 ? " was" : "s were", highest));
      return FALSE;
    }
  return TRUE;
}

/* Prepares the statement of @sql; refuses a second one after it (as
 * PostgreSQL's extended protocol does).  *@stmt is NULL for an empty
 * statement. */
static gboolean
prepare_one (SqliteConn *c, const char *sql, sqlite3_stmt **stmt, GError **error)
{
  const char *tail = NULL;
  int rc = sqlite3_prepare_v2 (c->db, sql, -1, stmt, &tail);
  if (rc != SQLITE_OK)
    {
      g_propagate_error (error, dal_sqlite_error_from_db (c->db, rc, sql, 0));
      return FALSE;
    }
  sqlite3_stmt *next = NULL;
  if (*stmt != NULL && tail != NULL
      && (sqlite3_prepare_v2 (c->db, tail, -1, &next, NULL) != SQLITE_OK
          || next != NULL))
    {
      sqlite3_finalize (next);
      g_clear_pointer (stmt, sqlite3_finalize);
      GError *e = dal_error_new_hint (
        DAL_ERROR_QUERY_FAILED,
        "Run one statement per query, or several without parameters with "
        "dal_connection_execute_script()",
        "the query holds more than one statement");
      dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, "42601");
      g_propagate_error (error, e);
      return FALSE;
    }
  return TRUE;
}

static DalResult *
sqlite_query (gpointer handle, const char *sql, const DalParams *params,
              GCancellable *cancellable, GError **error)
{
  SqliteConn *c = handle;
  sqlite3_stmt *stmt = NULL;
  if (!prepare_one (c, sql, &stmt, error))
    return NULL;
  if (stmt != NULL && !bind_params (c, stmt, params, error))
    {
      sqlite3_finalize (stmt);
      return NULL;
    }
  if (!watch_begin (c, cancellable, error))
    {
      sqlite3_finalize (stmt);
      return NULL;
    }
  int rc = SQLITE_OK;
  DalResult *result = dal_sqlite_result_run (stmt, &rc);
  watch_end (c);
  if (result == NULL)
    g_propagate_error (error, statement_error (c, rc, sql, 0));
  sqlite3_finalize (stmt);
  return result;
}

/* Statements separated by semicolons, no parameters; stops at the first
 * that fails (the statements before it stay done, as with PostgreSQL's
 * simple query protocol outside a transaction block). */
static gboolean
sqlite_execute_script (gpointer handle, const char *sql, GCancellable *cancellable,
                       GError **error)
{
  SqliteConn *c = handle;
  if (!watch_begin (c, cancellable, error))
    return FALSE;
  GError *failure = NULL;
  const char *p = sql;
  while (failure == NULL && *p != '\0')
    {
      sqlite3_stmt *stmt = NULL;
      const char *tail = NULL;
      int rc = sqlite3_prepare_v2 (c->db, p, -1, &stmt, &tail);
      if (rc == SQLITE_OK && stmt == NULL)
        break;  /* only blanks and comments left */
      if (rc == SQLITE_OK)
        {
          while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
            ;
          if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        }
      if (rc != SQLITE_OK)
        failure = statement_error (c, rc, p, p - sql);
      sqlite3_finalize (stmt);
      p = tail;
    }
  watch_end (c);
  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }
  return TRUE;
}

static const DalPluginFuncs sqlite_funcs = {
  .connect = sqlite_connect,
  .query = sqlite_query,
  .close = sqlite_close,
  .get_info = sqlite_get_info,
  .execute_script = sqlite_execute_script,
};
static const char *const sqlite_drivers[] = { "pysqlite", "aiosqlite", NULL };

DAL_PLUGIN_EXPORT const DalPluginDescriptor DAL_PLUGIN_DESCRIPTOR_SYMBOL (sqlite) = {
  DAL_PLUGIN_ABI_INIT,
  .flags = DAL_PLUGIN_DIALECT_DEFAULT,
  .name = "sqlite",
  .dialect = "sqlite",
  .drivers = sqlite_drivers,
  .caps = DAL_PLUGIN_CAP_CANCEL,
  .funcs = &sqlite_funcs,
  .description = "SQLite driver on the system libsqlite3 (files and in-memory databases)",
  .dialect_info = &dal_sqlite_dialect,
};
