/* dal-migrate.h: schema migrations from a folder of numbered SQL files.
 *
 * What Alembic's command.upgrade() is to a Python program: an application
 * (or `dal migrate`) brings its database to the schema its code expects.
 *
 *   migrations/0001_create_users.up.sql     applied by dal_migrator_up()
 *   migrations/0001_create_users.down.sql   reverted by dal_migrator_down()
 *   migrations/0002_add_email.up.sql        (a down file is optional)
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
 */
#ifndef DAL_MIGRATE_H
#define DAL_MIGRATE_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <dal/dal-connection.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/* The version table when none is set. */
#define DAL_MIGRATE_DEFAULT_TABLE "dal_schema_migrations"

typedef enum
{
  DAL_MIGRATION_PENDING = 0,  /* a file, not applied yet */
  DAL_MIGRATION_APPLIED,      /* applied; its up file is as it was */
  DAL_MIGRATION_DRIFTED,      /* applied; its up file changed since */
  DAL_MIGRATION_MISSING,      /* applied; its up file is not there any more */
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

DAL_AVAILABLE_IN_ALL
void dal_migration_free (DalMigration *migration);

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

typedef struct _DalMigrator DalMigrator;

/**
 * DalMigrateProgressFunc:
 * @migration: the migration that was just applied (@up) or reverted;
 *   its execution_ms says how long it took
 * @up: %TRUE when applied, %FALSE when reverted
 * @user_data: what was given with the function
 *
 * Called once per migration, after its transaction committed, on the
 * thread running dal_migrator_up() or dal_migrator_down().
 */
typedef void (*DalMigrateProgressFunc) (const DalMigration *migration,
                                        gboolean up, gpointer user_data);

/**
 * dal_migrator_new:
 * @connection: an open connection (a reference is taken); a session of
 *   its own, not through a transaction pooler
 * @directory: the folder of migration files
 * @error: return location for a GError
 *
 * Reads @directory's file names (not the server).  Fails with
 * DAL_ERROR_UNSUPPORTED when @connection goes through a transaction
 * pooler (dal_url_is_transaction_pooler()): DDL and the session advisory
 * lock need a session of their own; and with DAL_ERROR_FAILED naming the
 * file when a name does not follow NNNN_name.up.sql / NNNN_name.down.sql
 * or a version is there twice.  Files starting with "." are ignored.
 *
 * Returns: (transfer full) (nullable): a migrator, or %NULL.
 */
DAL_AVAILABLE_IN_ALL
DalMigrator *dal_migrator_new (DalConnection *connection,
                               const char *directory, GError **error);
DAL_AVAILABLE_IN_ALL
void dal_migrator_free (DalMigrator *migrator);

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
 * @table: the version table, "name" or "schema.name" (letters, digits
 *   and underscores)
 *
 * The default is %DAL_MIGRATE_DEFAULT_TABLE, in the connection's
 * search_path.  The advisory lock's key derives from it: runners of one
 * table exclude each other.
 *
 * Returns: %FALSE (and @error) when @table is not a plain name.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrator_set_table (DalMigrator *migrator, const char *table,
                                 GError **error);

/* The key of the session advisory lock (pg_advisory_lock(bigint)) the
 * migrator holds while up or down runs. */
DAL_AVAILABLE_IN_ALL
gint64 dal_migrator_get_lock_key (DalMigrator *migrator);

DAL_AVAILABLE_IN_ALL
void dal_migrator_set_progress (DalMigrator *migrator,
                                DalMigrateProgressFunc func,
                                gpointer user_data);

/**
 * dal_migrator_status:
 *
 * Every migration, by version: the files, and what the version table
 * says (applied ones whose file is gone included).  Takes no lock and
 * creates nothing.
 *
 * Returns: (transfer full) (element-type DalMigration): the migrations,
 *   or %NULL and @error.
 */
DAL_AVAILABLE_IN_ALL
GPtrArray *dal_migrator_status (DalMigrator *migrator,
                                GCancellable *cancellable, GError **error);

/**
 * dal_migrator_up:
 * @target: the last version to apply, or -1 for all
 *
 * Applies the pending migrations up to and including @target, in order
 * of version, each in a transaction of its own, under the advisory lock
 * (waiting for another runner's; @cancellable stops the wait).  Creates
 * the version table when it is missing.  Refuses to start while a
 * migration is DRIFTED or MISSING (the error names its file).  A failing
 * migration is rolled back; the error names its file, the line and
 * column in the file and the server's message (the SQLSTATE and other
 * server fields are kept), and the migrations before it stay applied.
 *
 * Returns: %TRUE when everything up to @target is applied.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrator_up (DalMigrator *migrator, gint64 target,
                          GCancellable *cancellable, GError **error);

/**
 * dal_migrator_down:
 * @target: the version to go back to (the migrations after it are
 *   reverted, newest first; 0 reverts all), or -1 for the last applied
 *   one only
 *
 * As dal_migrator_up(), backwards, with the down files.  Before anything
 * is reverted, every migration to revert must have a down file (the error
 * names the one that has none).
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrator_down (DalMigrator *migrator, gint64 target,
                            GCancellable *cancellable, GError **error);

/**
 * dal_migrate_new_files:
 * @directory: the folder of migration files (created when missing)
 * @name: what the migration does: letters, digits and underscores
 * @up_file: (out) (optional) (transfer full): path of the new up file
 * @down_file: (out) (optional) (transfer full): path of the new down file
 *
 * Creates the next version's two files (the highest version + 1, four
 * digits at least), each holding a comment to replace with SQL.  No
 * server.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_migrate_new_files (const char *directory, const char *name,
                                char **up_file, char **down_file,
                                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalMigrator, dal_migrator_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalMigration, dal_migration_free)

G_END_DECLS

#endif /* DAL_MIGRATE_H */
