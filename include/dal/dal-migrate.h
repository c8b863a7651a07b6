/* dal-migrate.h: schema migrations from a folder of numbered SQL files
 * (DalMigrator, DalMigration). */
#ifndef DAL_MIGRATE_H
#define DAL_MIGRATE_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <dal/dal-connection.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/**
 * DAL_MIGRATE_DEFAULT_TABLE:
 *
 * The version table a #DalMigrator uses when dal_migrator_set_table() was
 * not called: "dal_schema_migrations", in the connection's search_path.
 *
 * Since: 0.1
 */
#define DAL_MIGRATE_DEFAULT_TABLE "dal_schema_migrations"

/**
 * DalMigrationState:
 * @DAL_MIGRATION_PENDING: a file, not applied yet
 * @DAL_MIGRATION_APPLIED: applied; its up file is as it was
 * @DAL_MIGRATION_DRIFTED: applied; its up file changed since (its SHA-256
 *   differs from the one recorded): dal_migrator_up() and
 *   dal_migrator_down() refuse to run until it is put back
 * @DAL_MIGRATION_MISSING: applied; its up file is not there any more
 *   (up and down refuse to run too)
 *
 * Where a migration stands, as dal_migrator_status() reports it: what the
 * folder holds compared with what the version table says.
 *
 * Since: 0.1
 */
typedef enum
{
  DAL_MIGRATION_PENDING = 0,
  DAL_MIGRATION_APPLIED,
  DAL_MIGRATION_DRIFTED,
  DAL_MIGRATION_MISSING,
} DalMigrationState;

/**
 * DalMigration:
 * @version: the number the file names start with
 * @name: what follows it ("create_users")
 * @state: see #DalMigrationState
 * @up_file: (nullable): path of the up file (%NULL when MISSING)
 * @down_file: (nullable): path of the down file, %NULL when there is none
 * @checksum: (nullable): SHA-256 (hex) of the up file as it is now
 * @applied_checksum: (nullable): SHA-256 of the up file when it was
 *   applied (%NULL when PENDING)
 * @applied_at: (nullable): when it was applied, UTC, ISO 8601
 *   ("2026-12-05T08:30:00Z"); %NULL when PENDING
 * @execution_ms: how long its up file took, in milliseconds (-1 when
 *   PENDING)
 *
 * One migration: its files and what the version table says of it.  The
 * elements of dal_migrator_status()'s array, and what a
 * #DalMigrateProgressFunc is shown.  Every string is owned by the struct;
 * dal_migration_free() frees the whole.
 *
 * Since: 0.1
 */
typedef struct
{
  gint64 version;
  char *name;
  DalMigrationState state;
  char *up_file;
  char *down_file;
  char *checksum;
  char *applied_checksum;
  char *applied_at;
  gint64 execution_ms;
} DalMigration;

/**
 * dal_migration_free:
 * @migration: (nullable) (transfer full): a #DalMigration, or %NULL
 *
 * Frees @migration and its strings.  %NULL is ignored.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_migration_free (DalMigration *migration);

/**
 * DAL_TYPE_MIGRATION:
 *
 * The #GType of #DalMigration, a boxed type (dal_migration_get_type()).
 *
 * Since: 0.1
 */
#define DAL_TYPE_MIGRATION (dal_migration_get_type ())
/**
 * dal_migration_get_type:
 *
 * Returns: the #GType of #DalMigration, a boxed type whose copy is
 *   dal_migration_copy() and whose free is dal_migration_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_migration_get_type (void) G_GNUC_CONST;

/**
 * dal_migration_copy:
 * @migration: a #DalMigration
 *
 * Copies @migration and every string it holds.
 *
 * Returns: (transfer full): a new #DalMigration; free it with
 *   dal_migration_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalMigration *dal_migration_copy (const DalMigration *migration);

/**
 * DalMigrator:
 *
 * Schema migrations from a folder of numbered SQL files.
 *
 * What Alembic's command.upgrade() is to a Python program: an application
 * (or `dal migrate`) brings its database to the schema its code expects.
 *
 * |[
 * migrations/0001_create_users.up.sql     applied by dal_migrator_up()
 * migrations/0001_create_users.down.sql   reverted by dal_migrator_down()
 * migrations/0002_add_email.up.sql        (a down file is optional)
 * ]|
 *
 * Each migration runs in a transaction of its own: BEGIN, the file (any
 * number of statements), a row in the version table, COMMIT.  A session
 * advisory lock is held for the whole run, so two runners never
 * interleave: the second waits, then finds the work done.  The version
 * table keeps each applied file's SHA-256; an applied up file that
 * changed afterwards is "drifted", and up/down refuse to run until it is
 * put back.  The connection must be a session (not a transaction pooler)
 * on a plugin that runs scripts (pgsync, postgresql+psycopg2://).  See
 * docs/migrate.md.
 *
 * A DalMigrator holds a reference on its connection and uses it from the
 * thread that calls it: one thread at a time, as the connection itself.
 * Its calls block.  Free it with dal_migrator_free().
 *
 * Since: 0.1
 */
typedef struct _DalMigrator DalMigrator;

/**
 * DalMigrateProgressFunc:
 * @migration: the migration that was just applied (@up) or reverted;
 *   its execution_ms says how long it took
 * @up: %TRUE when applied, %FALSE when reverted
 * @user_data: what was given with the function
 *
 * Called once per migration, after its transaction committed, on the
 * thread running dal_migrator_up() or dal_migrator_down(), before the
 * next migration starts.  @migration belongs to the migrator and is valid
 * only during the call.  Set it with dal_migrator_set_progress().
 *
 * Since: 0.1
 */
typedef void (*DalMigrateProgressFunc) (const DalMigration *migration,
                                        gboolean up, gpointer user_data);

/**
 * dal_migrator_new:
 * @connection: an open connection (a reference is taken); a session of
 *   its own, not through a transaction pooler
 * @directory: the folder of migration files
 * @error: return location for a #GError, or %NULL
 *
 * Reads @directory's file names (not the server: nothing is sent until
 * dal_migrator_status(), dal_migrator_up() or dal_migrator_down()).
 * The version table is %DAL_MIGRATE_DEFAULT_TABLE until
 * dal_migrator_set_table() changes it.  Fails with
 * %DAL_ERROR_UNSUPPORTED when @connection goes through a transaction
 * pooler (dal_url_is_transaction_pooler()): DDL and the session advisory
 * lock need a session of their own; and with %DAL_ERROR_FAILED naming the
 * file when a name does not follow NNNN_name.up.sql / NNNN_name.down.sql
 * or a version is there twice.  Files starting with "." are ignored.
 *
 * Returns: (transfer full) (nullable): a migrator (free it with
 *   dal_migrator_free()), or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalMigrator *dal_migrator_new (DalConnection *connection,
                               const char *directory, GError **error);

/**
 * dal_migrator_free:
 * @migrator: (nullable) (transfer full): a #DalMigrator, or %NULL
 *
 * Frees @migrator and drops its reference on the connection (which stays
 * open if others hold it).  %NULL is ignored.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_migrator_free (DalMigrator *migrator);

/**
 * DAL_TYPE_MIGRATOR:
 *
 * The #GType of #DalMigrator, a boxed type (dal_migrator_get_type()).
 *
 * Since: 0.1
 */
#define DAL_TYPE_MIGRATOR (dal_migrator_get_type ())
/**
 * dal_migrator_get_type:
 *
 * Returns: the #GType of #DalMigrator, a boxed type whose copy is
 *   dal_migrator_ref() and whose free is dal_migrator_unref().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_migrator_get_type (void) G_GNUC_CONST;

/**
 * dal_migrator_ref:
 * @migrator: a #DalMigrator
 *
 * Takes a reference on @migrator; thread-safe.  A migrator is still used
 * by one thread at a time.
 *
 * Returns: (transfer full): @migrator
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalMigrator *dal_migrator_ref (DalMigrator *migrator);

/**
 * dal_migrator_unref:
 * @migrator: (nullable) (transfer full): a #DalMigrator
 *
 * Drops a reference on @migrator; the last one frees it and releases its
 * connection.  dal_migrator_free() is the same.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_migrator_unref (DalMigrator *migrator);

/**
 * dal_migrator_set_table:
 * @migrator: a #DalMigrator
 * @table: the version table, "name" or "schema.name" (letters, digits
 *   and underscores)
 * @error: return location for a #GError, or %NULL
 *
 * The default is %DAL_MIGRATE_DEFAULT_TABLE, in the connection's
 * search_path.  The advisory lock's key derives from it: runners of one
 * table exclude each other.
 *
 * Returns: %TRUE when the table is set; %FALSE with a %DAL_ERROR_FAILED
 *   error when @table is not a plain name (the migrator keeps its
 *   table then).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrator_set_table (DalMigrator *migrator, const char *table,
                                 GError **error);

/**
 * dal_migrator_get_lock_key:
 * @migrator: a #DalMigrator
 *
 * The key of the session advisory lock (pg_advisory_lock(bigint)) the
 * migrator holds while up or down runs: derived from the version table's
 * name (the first 8 bytes of a SHA-256), so it is the same for every
 * runner of one table.  Useful to see a runner in pg_locks.
 *
 * Returns: the lock key.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_migrator_get_lock_key (DalMigrator *migrator);

/**
 * dal_migrator_set_progress:
 * @migrator: a #DalMigrator
 * @func: (nullable) (scope forever) (closure user_data): called after each
 *   migration applied or reverted, or %NULL for none
 * @user_data: data for @func
 *
 * Sets the function dal_migrator_up() and dal_migrator_down() call once
 * per migration, after its transaction committed, on their own thread.
 * It replaces the one set before.  @user_data must stay valid while the
 * migrator may call @func (there is no destroy notify).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_migrator_set_progress (DalMigrator *migrator,
                                DalMigrateProgressFunc func,
                                gpointer user_data);

/**
 * dal_migrator_status:
 * @migrator: a #DalMigrator
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Every migration, by version: the files, and what the version table
 * says (applied ones whose file is gone included), in order of version.
 * Takes no lock and creates nothing (a version table that does not exist
 * yet means nothing is applied).  Blocks; errors are those of the
 * connection's queries and %DAL_ERROR_FAILED for a file that cannot be
 * read.
 *
 * Returns: (transfer full) (element-type DalMigration) (nullable): the
 *   migrations (the array frees them), or %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GPtrArray *dal_migrator_status (DalMigrator *migrator,
                                GCancellable *cancellable, GError **error);

/**
 * dal_migrator_up:
 * @migrator: a #DalMigrator
 * @target: the last version to apply, or -1 for all
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Applies the pending migrations up to and including @target, in order
 * of version, each in a transaction of its own, under the advisory lock
 * (waiting for another runner's; @cancellable stops the wait).  Creates
 * the version table when it is missing.  Refuses to start while a
 * migration is DRIFTED or MISSING (the error names its file).  A failing
 * migration is rolled back; the error names its file, the line and
 * column in the file and the server's message (the SQLSTATE and other
 * server fields are kept), and the migrations before it stay applied.
 * A @target that is no migration's version is a %DAL_ERROR_FAILED error
 * before any migration runs.  The advisory lock is released on success and on
 * failure.  Blocks the calling thread; the progress function (see
 * dal_migrator_set_progress()) runs after each migration.
 *
 * Returns: %TRUE when everything up to @target is applied; %FALSE with
 *   @error set otherwise.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrator_up (DalMigrator *migrator, gint64 target,
                          GCancellable *cancellable, GError **error);

/**
 * dal_migrator_down:
 * @migrator: a #DalMigrator
 * @target: the version to go back to (the migrations after it are
 *   reverted, newest first; 0 reverts all), or -1 for the last applied
 *   one only
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * As dal_migrator_up(), backwards, with the down files.  Before anything
 * is reverted, every migration to revert must have a down file (the error
 * names the one that has none).
 *
 * Returns: %TRUE when every migration after @target is reverted; %FALSE
 *   with @error set otherwise (the ones reverted before the failure stay
 *   reverted).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrator_down (DalMigrator *migrator, gint64 target,
                            GCancellable *cancellable, GError **error);

/**
 * dal_migrate_new_files:
 * @directory: the folder of migration files (created when missing)
 * @name: what the migration does: letters, digits, '_' and '-'
 * @up_file: (out) (optional) (transfer full): path of the new up file
 * @down_file: (out) (optional) (transfer full): path of the new down file
 * @error: return location for a #GError, or %NULL
 *
 * Creates the next version's two files (the highest version + 1, four
 * digits at least), each holding a comment to replace with SQL.  No
 * server.  Fails with %DAL_ERROR_FAILED for an invalid @name, a folder
 * that cannot be created or read, a file name in it that does not follow
 * the pattern, or a file that exists already or cannot be written.
 *
 * Returns: %TRUE when both files were written; %FALSE with @error set
 *   otherwise (no file is left behind, and @up_file and @down_file are
 *   not set).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrate_new_files (const char *directory, const char *name,
                                char **up_file, char **down_file,
                                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalMigrator, dal_migrator_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalMigration, dal_migration_free)

G_END_DECLS

#endif /* DAL_MIGRATE_H */
