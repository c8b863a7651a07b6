/* dal-migrate.c: DalMigrator, the server side of migrations.
 *
 * A run (up or down) is:
 *   SELECT pg_advisory_lock(key)       session lock, held for the run;
 *                                      a second runner waits here
 *   CREATE TABLE IF NOT EXISTS table   (under the lock: no race)
 *   SELECT … FROM table                what is applied; drift check
 *   per migration: BEGIN; the file (simple query protocol, through
 *   dal_connection_execute_script()); INSERT (or DELETE) the version row;
 *   COMMIT
 *   SELECT pg_advisory_unlock(key)     also after a failure
 * A failure rolls the migration's transaction back and is reported with
 * the file, the line and column in it, and the server's message.
 * The folder side (names, checksums, positions) is dal-migrate-files.c.
 */
#include "config.h"

#include <string.h>

#include "dal-migrate-private.h"

struct _DalMigrator
{
  gatomicrefcount refs;
  DalConnection *conn;
  char *directory;
  char *table;       /* as given: "name" or "schema.name" */
  char *table_sql;   /* quoted for SQL */
  gint64 lock_key;
  DalMigrateProgressFunc progress;
  gpointer progress_data;
};

/* -- the version table's name and the lock key -- */

static gboolean
is_identifier (const char *s, gsize len)
{
  if (len == 0 || len > 63 || g_ascii_isdigit (s[0]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '_')
      return FALSE;
  return TRUE;
}

gboolean
dal_migrator_set_table (DalMigrator *m, const char *table, GError **error)
{
  g_return_val_if_fail (m != NULL && table != NULL, FALSE);

  const char *dot = strchr (table, '.');
  gboolean ok = dot == NULL
                  ? is_identifier (table, strlen (table))
                  : is_identifier (table, dot - table) && is_identifier (dot + 1, strlen (dot + 1));
  if (!ok)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED,
        "Use a plain name (letters, digits, '_') or schema.name",
        "\"%s\" cannot be the migrations' version table", table));
      return FALSE;
    }
  g_free (m->table);
  g_free (m->table_sql);
  m->table = g_strdup (table);
  m->table_sql = dot == NULL
                   ? g_strdup_printf ("\"%s\"", table)
                   : g_strdup_printf ("\"%.*s\".\"%s\"", (int) (dot - table), table, dot + 1);

  /* The first 8 bytes of a SHA-256: fixed for a table name, and unlikely
   * to meet an application's own advisory lock keys. */
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) "libdal migrate ", -1);
  g_checksum_update (sum, (const guchar *) table, -1);
  guint8 digest[32];
  gsize len = sizeof digest;
  g_checksum_get_digest (sum, digest, &len);
  guint64 key = 0;
  for (int i = 0; i < 8; i++)
    key = (key << 8) | digest[i];
  m->lock_key = (gint64) key;
  return TRUE;
}

gint64
dal_migrator_get_lock_key (DalMigrator *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->lock_key;
}

/* -- lifetime -- */

DalMigrator *
dal_migrator_new (DalConnection *connection, const char *directory, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (dal_url_is_transaction_pooler (dal_connection_get_url (connection)))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Run migrations on a session of their own: the pooler's session "
        "port (Supabase: 5432 instead of 6543) or the database host "
        "directly, without pooler_mode=transaction (docs/migrate.md)",
        "migrations cannot run through a transaction pooler: each "
        "transaction may land on another server connection, so the "
        "session advisory lock that keeps two runners apart would not "
        "hold, and DDL would run beside other clients' transactions"));
      return NULL;
    }
  g_autoptr (GPtrArray) files = _dal_migrate_scan (directory, error);
  if (files == NULL)
    return NULL;

  DalMigrator *m = g_new0 (DalMigrator, 1);
  g_atomic_ref_count_init (&m->refs);
  m->conn = g_object_ref (connection);
  m->directory = g_strdup (directory);
  dal_migrator_set_table (m, DAL_MIGRATE_DEFAULT_TABLE, NULL);
  return m;
}

G_DEFINE_BOXED_TYPE (DalMigrator, dal_migrator, dal_migrator_ref,
                     dal_migrator_unref)

DalMigrator *
dal_migrator_ref (DalMigrator *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_atomic_ref_count_inc (&m->refs);
  return m;
}

void
dal_migrator_unref (DalMigrator *m)
{
  if (m == NULL || !g_atomic_ref_count_dec (&m->refs))
    return;
  g_object_unref (m->conn);
  g_free (m->directory);
  g_free (m->table);
  g_free (m->table_sql);
  g_free (m);
}

void
dal_migrator_free (DalMigrator *m)
{
  dal_migrator_unref (m);
}

void
dal_migrator_set_progress (DalMigrator *m, DalMigrateProgressFunc func,
                           gpointer user_data)
{
  g_return_if_fail (m != NULL);
  m->progress = func;
  m->progress_data = user_data;
}

/* -- reading what is applied -- */

static DalResult *
query_texts (DalMigrator *m, const char *sql, guint n, const char * const *values,
             GCancellable *cancellable, GError **error)
{
  return dal_connection_query_texts (m->conn, sql, n, values, cancellable, error);
}

/* Whether the version table exists (-1: error). */
static int
table_exists (DalMigrator *m, GCancellable *cancellable, GError **error)
{
  const char *values[] = { m->table_sql };
  g_autoptr (DalResult) r = query_texts (m, "SELECT to_regclass($1) IS NOT NULL",
                                         1, values, cancellable, error);
  if (r == NULL)
    return -1;
  return g_strcmp0 (dal_result_get_string (r, 0, 0, NULL), "t") == 0;
}

static gboolean
read_file (const char *path, char **contents, gsize *length, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (g_file_get_contents (path, contents, length, &local))
    return TRUE;
  g_propagate_error (error, dal_error_new_hint (
    DAL_ERROR_FAILED, "Check the file's permissions",
    "%s cannot be read: %s", path, local->message));
  return FALSE;
}

static DalMigration *
find_version (GPtrArray *list, gint64 version)
{
  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *mig = list->pdata[i];
      if (mig->version == version)
        return mig;
    }
  return NULL;
}

static gint
compare_version (gconstpointer a, gconstpointer b)
{
  const DalMigration *ma = *(DalMigration * const *) a;
  const DalMigration *mb = *(DalMigration * const *) b;
  return ma->version < mb->version ? -1 : ma->version > mb->version;
}

/* The files and the version table, merged (see dal_migrator_status()). */
static GPtrArray *
collect (DalMigrator *m, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) list = _dal_migrate_scan (m->directory, error);
  if (list == NULL)
    return NULL;
  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *mig = list->pdata[i];
      g_autofree char *text = NULL;
      gsize length;
      if (!read_file (mig->up_file, &text, &length, error))
        return NULL;
      mig->checksum = _dal_migrate_checksum (text, length);
    }

  int exists = table_exists (m, cancellable, error);
  if (exists < 0)
    return NULL;
  if (!exists)
    return g_steal_pointer (&list);

  g_autofree char *sql = g_strdup_printf (
    "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), execution_ms FROM %s ORDER BY version",
    m->table_sql);
  g_autoptr (DalResult) r = query_texts (m, sql, 0, NULL, cancellable, error);
  if (r == NULL)
    return NULL;
  for (guint row = 0; row < dal_result_get_n_rows (r); row++)
    {
      gint64 version = dal_result_get_int64 (r, row, 0, NULL);
      DalMigration *mig = find_version (list, version);
      if (mig == NULL)
        {
          mig = g_new0 (DalMigration, 1);
          mig->version = version;
          mig->name = g_strdup (dal_result_get_string (r, row, 1, NULL));
          mig->state = DAL_MIGRATION_MISSING;
          g_ptr_array_add (list, mig);
        }
      else
        mig->state = g_strcmp0 (mig->checksum, dal_result_get_string (r, row, 2, NULL)) == 0
                       ? DAL_MIGRATION_APPLIED : DAL_MIGRATION_DRIFTED;
      mig->applied_checksum = g_strdup (dal_result_get_string (r, row, 2, NULL));
      mig->applied_at = g_strdup (dal_result_get_string (r, row, 3, NULL));
      mig->execution_ms = dal_result_get_int64 (r, row, 4, NULL);
    }
  g_ptr_array_sort (list, compare_version);
  return g_steal_pointer (&list);
}

GPtrArray *
dal_migrator_status (DalMigrator *m, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return collect (m, cancellable, error);
}

/* Up and down refuse to run past a changed or vanished file. */
static gboolean
check_unchanged (DalMigrator *m, GPtrArray *list, GError **error)
{
  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *mig = list->pdata[i];
      if (mig->state == DAL_MIGRATION_DRIFTED)
        {
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_FAILED,
            "Put the file back as it was applied (e.g. from version "
            "control) and make the change in a new migration "
            "(`dal migrate new NAME`)",
            "%s changed after it was applied (checksum %.12s… then, "
            "%.12s… now)", mig->up_file, mig->applied_checksum, mig->checksum));
          return FALSE;
        }
      if (mig->state == DAL_MIGRATION_MISSING)
        {
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_FAILED,
            "Put the file back (e.g. from version control), or check "
            "that --dir names the right folder",
            "migration %" G_GINT64_FORMAT " (%s) is applied (table %s) "
            "but its up file is not in %s any more",
            mig->version, mig->name, m->table, m->directory));
          return FALSE;
        }
    }
  return TRUE;
}

/* -- running one migration -- */

static GError *
migration_error (const char *file, const char *text, GError *cause)
{
  if (cause->domain != DAL_ERROR)
    return cause;  /* G_IO_ERROR_CANCELLED stays what it is */

  const char *server = dal_error_get_field (cause, DAL_ERROR_FIELD_MESSAGE);
  g_autofree char *what = g_strdup (server != NULL ? server : cause->message);
  const char *position = text != NULL
                           ? dal_error_get_field (cause, DAL_ERROR_FIELD_POSITION)
                           : NULL;
  const char *hint = "Fix the file and run the migration again: its "
                     "transaction was rolled back, so nothing of it was kept";
  GError *error;
  if (position != NULL && g_ascii_strtoll (position, NULL, 10) > 0)
    {
      guint line, column;
      _dal_migrate_line_column (text, g_ascii_strtoll (position, NULL, 10),
                                &line, &column);
      error = dal_error_new_hint (cause->code, hint,
                                  "%s failed at line %u, column %u: %s",
                                  file, line, column, what);
    }
  else
    error = dal_error_new_hint (cause->code, hint, "%s failed: %s", file, what);
  for (int f = 0; f < DAL_ERROR_N_FIELDS; f++)
    if (dal_error_get_field (cause, f) != NULL)
      dal_error_set_field (error, f, dal_error_get_field (cause, f));
  g_error_free (cause);
  return error;
}

/* Applies (@up) or reverts @mig in a transaction of its own. */
static gboolean
run_one (DalMigrator *m, DalMigration *mig, gboolean up,
         GCancellable *cancellable, GError **error)
{
  const char *file = up ? mig->up_file : mig->down_file;
  g_autofree char *text = NULL;
  gsize length;
  if (!read_file (file, &text, &length, error))
    return FALSE;
  g_autofree char *checksum = _dal_migrate_checksum (text, length);
  g_autofree char *version = g_strdup_printf ("%" G_GINT64_FORMAT, mig->version);

  GError *local = NULL;
  if (!dal_connection_begin (m->conn, cancellable, &local))
    {
      g_propagate_error (error, migration_error (file, NULL, local));
      return FALSE;
    }
  gint64 start = g_get_monotonic_time ();
  gboolean ran = dal_connection_execute_script (m->conn, text, cancellable, &local);
  gint64 ms = (g_get_monotonic_time () - start) / 1000;
  g_autofree char *ms_text = g_strdup_printf ("%" G_GINT64_FORMAT, ms);
  if (ran)
    {
      g_autofree char *sql = up
        ? g_strdup_printf ("INSERT INTO %s (version, name, checksum, execution_ms) "
                           "VALUES ($1, $2, $3, $4)", m->table_sql)
        : g_strdup_printf ("DELETE FROM %s WHERE version = $1", m->table_sql);
      const char *values[] = { version, mig->name, checksum, ms_text };
      g_autoptr (DalResult) r = query_texts (m, sql, up ? 4 : 1, values,
                                             cancellable, &local);
      if (r != NULL && dal_connection_commit (m->conn, cancellable, &local))
        {
          mig->state = up ? DAL_MIGRATION_APPLIED : DAL_MIGRATION_PENDING;
          mig->execution_ms = ms;
          if (m->progress != NULL)
            m->progress (mig, up, m->progress_data);
          return TRUE;
        }
    }
  /* Nothing of it stays (a failed COMMIT has rolled back already). */
  dal_connection_rollback (m->conn, NULL, NULL);
  g_propagate_error (error, migration_error (file, ran ? NULL : text, local));
  return FALSE;
}

/* -- a run -- */

static gboolean
lock (DalMigrator *m, gboolean take, GCancellable *cancellable, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT, m->lock_key);
  const char *values[] = { key };
  g_autoptr (DalResult) r = query_texts (m, take ? "SELECT pg_advisory_lock($1::bigint)"
                                                 : "SELECT pg_advisory_unlock($1::bigint)",
                                         1, values, cancellable, error);
  return r != NULL;
}

/* Under the lock, with the version table there: what is there now. */
static GPtrArray *
begin_run (DalMigrator *m, GCancellable *cancellable, GError **error)
{
  /* A plugin without scripts fails here, before anything waits. */
  if (!dal_connection_execute_script (m->conn, "", cancellable, error))
    return NULL;
  if (!lock (m, TRUE, cancellable, error))
    return NULL;
  g_autofree char *sql = g_strdup_printf (
    "CREATE TABLE IF NOT EXISTS %s (version bigint PRIMARY KEY, "
    "name text NOT NULL, checksum text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now(), "
    "execution_ms bigint NOT NULL)", m->table_sql);
  GPtrArray *list = NULL;
  int exists = table_exists (m, cancellable, error);
  g_autoptr (DalResult) r = exists != 0 ? NULL
                              : query_texts (m, sql, 0, NULL, cancellable, error);
  if (exists > 0 || r != NULL)
    list = collect (m, cancellable, error);
  if (list != NULL && !check_unchanged (m, list, error))
    g_clear_pointer (&list, g_ptr_array_unref);
  if (list == NULL)
    lock (m, FALSE, NULL, NULL);
  return list;
}

static gboolean
end_run (DalMigrator *m, gboolean ok)
{
  /* Even after a failure: the session keeps the lock otherwise.  A lost
   * connection has lost it with the session. */
  lock (m, FALSE, NULL, NULL);
  return ok;
}

static gboolean
check_target (DalMigrator *m, GPtrArray *list, gint64 target, gboolean down,
              GError **error)
{
  if (target == -1 || (down && target == 0) || find_version (list, target) != NULL)
    return TRUE;
  g_propagate_error (error, dal_error_new_hint (
    DAL_ERROR_FAILED,
    "Give the version of one of the migrations (`dal migrate status` "
    "lists them), or none",
    "no migration has version %" G_GINT64_FORMAT " in %s", target, m->directory));
  return FALSE;
}

gboolean
dal_migrator_up (DalMigrator *m, gint64 target, GCancellable *cancellable,
                 GError **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GPtrArray) list = begin_run (m, cancellable, error);
  if (list == NULL)
    return FALSE;
  if (!check_target (m, list, target, FALSE, error))
    return end_run (m, FALSE);
  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *mig = list->pdata[i];
      if (target != -1 && mig->version > target)
        break;
      if (mig->state == DAL_MIGRATION_PENDING
          && !run_one (m, mig, TRUE, cancellable, error))
        return end_run (m, FALSE);
    }
  return end_run (m, TRUE);
}

gboolean
dal_migrator_down (DalMigrator *m, gint64 target, GCancellable *cancellable,
                   GError **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GPtrArray) list = begin_run (m, cancellable, error);
  if (list == NULL)
    return FALSE;
  if (!check_target (m, list, target, TRUE, error))
    return end_run (m, FALSE);

  /* What to revert, newest first; every one needs its down file. */
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  for (guint i = list->len; i-- > 0;)
    {
      DalMigration *mig = list->pdata[i];
      if (mig->state != DAL_MIGRATION_APPLIED)
        continue;
      if (target == -1 && todo->len == 1)
        break;
      if (target != -1 && mig->version <= target)
        break;
      g_ptr_array_add (todo, mig);
    }
  for (guint i = 0; i < todo->len; i++)
    {
      DalMigration *mig = todo->pdata[i];
      if (mig->down_file == NULL)
        {
          g_autofree char *base = g_strndup (mig->up_file,
                                             strlen (mig->up_file) - strlen (".up.sql"));
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_FAILED,
            "Write the down file, or go back no further than this version",
            "%s cannot be reverted: it has no down file (%s.down.sql)",
            mig->up_file, base));
          return end_run (m, FALSE);
        }
    }
  for (guint i = 0; i < todo->len; i++)
    if (!run_one (m, todo->pdata[i], FALSE, cancellable, error))
      return end_run (m, FALSE);
  return end_run (m, TRUE);
}
