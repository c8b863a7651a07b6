/* dal-migrate-files.c: the folder side of migrations (no server).
 *
 * Reads a folder of NNNN_name.up.sql / NNNN_name.down.sql into
 * DalMigration records sorted by version, makes the next pair of files,
 * checksums an up file, and turns the server's error position (1-based
 * characters in the statement text) into a line and column in the file.
 * The server side is dal-migrate.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dal-migrate-private.h"

#define FILE_NAME_HINT \
  "Name migration files NNNN_name.up.sql and NNNN_name.down.sql (NNNN: " \
  "the version, digits; name: letters, digits, '_' or '-'), or move other " \
  "files out of the migration directory"

void
dal_migration_free (DalMigration *migration)
{
  if (migration == NULL)
    return;
  g_free (migration->name);
  g_free (migration->up_file);
  g_free (migration->down_file);
  g_free (migration->checksum);
  g_free (migration->applied_checksum);
  g_free (migration->applied_at);
  g_free (migration);
}

DalMigration *
dal_migration_copy (const DalMigration *migration)
{
  g_return_val_if_fail (migration != NULL, NULL);

  DalMigration *copy = g_memdup2 (migration, sizeof *migration);
  copy->name = g_strdup (migration->name);
  copy->up_file = g_strdup (migration->up_file);
  copy->down_file = g_strdup (migration->down_file);
  copy->checksum = g_strdup (migration->checksum);
  copy->applied_checksum = g_strdup (migration->applied_checksum);
  copy->applied_at = g_strdup (migration->applied_at);
  return copy;
}

G_DEFINE_BOXED_TYPE (DalMigration, dal_migration, dal_migration_copy,
                     dal_migration_free)

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-';
}

/* Splits "0001_create_users.up.sql": FALSE when it is not such a name. */
static gboolean
parse_file_name (const char *file, gint64 *version, char **name, gboolean *up)
{
  gsize digits = strspn (file, "0123456789");
  if (digits == 0 || digits > 18 || file[digits] != '_')
    return FALSE;
  const char *rest = file + digits + 1;
  gsize len = strlen (rest);
  gsize suffix;
  if (g_str_has_suffix (rest, ".up.sql"))
    suffix = strlen (".up.sql"), *up = TRUE;
  else if (g_str_has_suffix (rest, ".down.sql"))
    suffix = strlen (".down.sql"), *up = FALSE;
  else
    return FALSE;
  if (len <= suffix)
    return FALSE;
  for (gsize i = 0; i < len - suffix; i++)
    if (!is_name_char (rest[i]))
      return FALSE;
  *version = g_ascii_strtoll (file, NULL, 10);
  *name = g_strndup (rest, len - suffix);
  return TRUE;
}

static gint
compare_version (gconstpointer a, gconstpointer b)
{
  const DalMigration *ma = *(DalMigration * const *) a;
  const DalMigration *mb = *(DalMigration * const *) b;
  return ma->version < mb->version ? -1 : ma->version > mb->version;
}

/* Reads @file into @migrations (version -> DalMigration). */
static gboolean
add_file (GHashTable *migrations, const char *directory, const char *file,
          GError **error)
{
  gint64 version;
  g_autofree char *name = NULL;
  gboolean up;
  g_autofree char *path = g_build_filename (directory, file, NULL);

  if (!parse_file_name (file, &version, &name, &up))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED, FILE_NAME_HINT,
        "%s is not a migration file name", path));
      return FALSE;
    }
  if (version == 0)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED, "Start the versions at 1",
        "%s has version 0, which stands for \"before the first migration\"",
        path));
      return FALSE;
    }

  DalMigration *m = g_hash_table_lookup (migrations, &version);
  if (m == NULL)
    {
      m = g_new0 (DalMigration, 1);
      m->version = version;
      m->name = g_steal_pointer (&name);
      m->execution_ms = -1;
      g_hash_table_insert (migrations, &m->version, m);
    }
  else if (strcmp (m->name, name) != 0 || (up ? m->up_file : m->down_file) != NULL)
    {
      const char *other = m->up_file != NULL ? m->up_file : m->down_file;
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED,
        "Give each migration a version of its own, and its up and down "
        "files the same name",
        "%s and %s both have version %" G_GINT64_FORMAT, other, path, version));
      return FALSE;
    }
  if (up)
    m->up_file = g_steal_pointer (&path);
  else
    m->down_file = g_steal_pointer (&path);
  return TRUE;
}

GPtrArray *
_dal_migrate_scan (const char *directory, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) dir = g_dir_open (directory, 0, &local);
  if (dir == NULL)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED,
        "Pass the folder of migration files (--dir), or make the first "
        "migration with `dal migrate new NAME`",
        "the migration directory %s cannot be read: %s", directory,
        local->message));
      return NULL;
    }

  g_autoptr (GHashTable) migrations = g_hash_table_new_full (
    g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) dal_migration_free);
  const char *file;
  while ((file = g_dir_read_name (dir)) != NULL)
    if (file[0] != '.' && !add_file (migrations, directory, file, error))
      return NULL;

  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) dal_migration_free);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, migrations);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (list, value);
    }
  g_ptr_array_sort (list, compare_version);

  for (guint i = 0; i < list->len; i++)
    {
      DalMigration *m = list->pdata[i];
      if (m->up_file == NULL)
        {
          g_autofree char *base = g_strndup (m->down_file,
                                             strlen (m->down_file) - strlen (".down.sql"));
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_FAILED,
            "Add its up file, or remove the down file",
            "%s has no up file (%s.up.sql)", m->down_file, base));
          g_ptr_array_unref (list);
          return NULL;
        }
    }
  return list;
}

char *
_dal_migrate_checksum (const char *contents, gsize length)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) contents, length);
}

void
_dal_migrate_line_column (const char *text, gint64 position, guint *line,
                          guint *column)
{
  *line = 1;
  *column = 1;
  const char *p = text;
  const char *end = text + strlen (text);
  for (gint64 i = 1; i < position && p < end; i++)
    {
      if (*p == '\n')
        {
          (*line)++;
          *column = 1;
        }
      else
        (*column)++;
      const char *next = g_utf8_find_next_char (p, end);
      p = next != NULL ? next : end;
    }
}

static gboolean
valid_new_name (const char *name)
{
  if (name == NULL || name[0] == '\0')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!is_name_char (*p))
      return FALSE;
  return TRUE;
}

static gboolean
write_new (const char *path, const char *contents, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED, "Choose another name, or remove the file",
        "%s exists already", path));
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents (path, contents, -1, &local))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED, "Check that the migration directory is writable",
        "%s cannot be written: %s", path, local->message));
      return FALSE;
    }
  return TRUE;
}

gboolean
dal_migrate_new_files (const char *directory, const char *name,
                       char **up_file, char **down_file, GError **error)
{
  g_return_val_if_fail (directory != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!valid_new_name (name))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED, "Use letters, digits, '_' and '-' only, e.g. create_users",
        "\"%s\" cannot be a migration name", name != NULL ? name : ""));
      return FALSE;
    }
  if (g_mkdir_with_parents (directory, 0777) != 0)
    {
      int saved = errno;
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_FAILED, "Check the path, or pass another directory",
        "the migration directory %s cannot be created: %s", directory,
        g_strerror (saved)));
      return FALSE;
    }
  g_autoptr (GPtrArray) list = _dal_migrate_scan (directory, error);
  if (list == NULL)
    return FALSE;
  gint64 version = 1;
  if (list->len > 0)
    version = ((DalMigration *) list->pdata[list->len - 1])->version + 1;

  g_autofree char *base = g_strdup_printf ("%04" G_GINT64_FORMAT "_%s", version, name);
  g_autofree char *up_name = g_strconcat (base, ".up.sql", NULL);
  g_autofree char *down_name = g_strconcat (base, ".down.sql", NULL);
  g_autofree char *up = g_build_filename (directory, up_name, NULL);
  g_autofree char *down = g_build_filename (directory, down_name, NULL);
  g_autofree char *up_text = g_strdup_printf (
    "-- %s: applied by `dal migrate up`, in a transaction of its own.\n", base);
  g_autofree char *down_text = g_strdup_printf (
    "-- %s: undoes %s, run by `dal migrate down`.\n", base, up_name);

  if (!write_new (up, up_text, error))
    return FALSE;
  if (!write_new (down, down_text, error))
    {
      g_unlink (up);
      return FALSE;
    }
  if (up_file != NULL)
    *up_file = g_steal_pointer (&up);
  if (down_file != NULL)
    *down_file = g_steal_pointer (&down);
  return TRUE;
}
