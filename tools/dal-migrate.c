/* dal-migrate.c: `dal migrate`, schema migrations (docs/migrate.md).
 *
 *   dal migrate [--config FILE] [--url URL] [--dir DIR] [--table NAME]
 *               status | up [TARGET] | down [TARGET] | new NAME
 *
 * The URL comes from dal_tool_get_url() as the migration URL (--url, else
 * configuration).  `new` needs no server.  One line per migration; the
 * URL is never printed.  Exit status: 0; 1 on an error (and for `status`
 * when a migration drifted or its file is missing); 2 on usage errors.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dal-tool.h"

static void
print_progress (const DalMigration *mig, gboolean up, gpointer user_data)
{
  guint *count = user_data;
  (*count)++;
  printf ("%s %04" G_GINT64_FORMAT "_%s (%" G_GINT64_FORMAT " ms)\n",
          up ? "applied " : "reverted", mig->version, mig->name, mig->execution_ms);
  fflush (stdout);
}

static int
print_status (GPtrArray *list)
{
  int status = 0;
  if (list->len == 0)
    printf ("no migrations\n");
  for (guint i = 0; i < list->len; i++)
    {
      const DalMigration *mig = list->pdata[i];
      g_autofree char *label = g_strdup_printf ("%04" G_GINT64_FORMAT "_%s",
                                                mig->version, mig->name);
      switch (mig->state)
        {
        case DAL_MIGRATION_PENDING:
          printf ("%-40s pending\n", label);
          break;
        case DAL_MIGRATION_APPLIED:
          printf ("%-40s applied %s (%" G_GINT64_FORMAT " ms)\n", label,
                  mig->applied_at, mig->execution_ms);
          break;
        case DAL_MIGRATION_DRIFTED:
          printf ("%-40s DRIFTED: %s changed after it was applied %s\n", label,
                  mig->up_file, mig->applied_at);
          status = 1;
          break;
        case DAL_MIGRATION_MISSING:
          printf ("%-40s MISSING: applied %s, its up file is gone\n", label,
                  mig->applied_at);
          status = 1;
          break;
        }
    }
  return status;
}

/* TARGET: a version ("3" or "0003"). */
static gboolean
parse_target (const char *arg, gint64 *target)
{
  if (arg == NULL)
    return TRUE;
  guint64 v;
  if (!g_ascii_string_to_unsigned (arg, 10, 0, G_MAXINT64, &v, NULL))
    return FALSE;
  *target = (gint64) v;
  return TRUE;
}

int
dal_tool_migrate (int argc, char **argv)
{
  g_autofree char *config = NULL, *url_arg = NULL, *dir = NULL, *table = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
      "Configuration file to read the migration URL from", "FILE" },
    { "url", 'u', 0, G_OPTION_ARG_STRING, &url_arg,
      "Database URL (default: the migration URL from configuration)", "URL" },
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
      "Folder of migration files (default: migrations)", "DIR" },
    { "table", 0, 0, G_OPTION_ARG_STRING, &table,
      "Version table (default: " DAL_MIGRATE_DEFAULT_TABLE ")", "NAME" },
    { NULL }
  };
  if (!dal_tool_parse_options ("migrate", entries, &argc, &argv))
    return 2;
  if (argc < 2)
    return dal_tool_usage_error ("migrate", "say what to do: status, up, down or new");
  const char *action = argv[1];
  const char *arg = argc > 2 ? argv[2] : NULL;
  if (argc > 3)
    return dal_tool_usage_error ("migrate", "too many arguments");
  if (dir == NULL)
    dir = g_strdup ("migrations");

  g_autoptr (GError) error = NULL;
  if (strcmp (action, "new") == 0)
    {
      if (arg == NULL)
        return dal_tool_usage_error ("migrate", "new needs a NAME, e.g. create_users");
      g_autofree char *up = NULL, *down = NULL;
      if (!dal_migrate_new_files (dir, arg, &up, &down, &error))
        return dal_tool_fail (error);
      printf ("created %s\ncreated %s\n", up, down);
      return 0;
    }

  gint64 target = -1;
  gboolean is_status = strcmp (action, "status") == 0;
  gboolean is_up = strcmp (action, "up") == 0;
  gboolean is_down = strcmp (action, "down") == 0;
  if (!is_status && !is_up && !is_down)
    return dal_tool_usage_error ("migrate", "the action is status, up, down or new");
  if ((is_status && arg != NULL) || !parse_target (arg, &target))
    return dal_tool_usage_error ("migrate", "TARGET is a migration's version, e.g. 3");
  if (is_up && target == 0)
    return dal_tool_usage_error ("migrate", "up TARGET is a version from 1 (0 is for down)");

  g_autoptr (DalUrl) url = dal_tool_get_url (url_arg, config, TRUE, &error);
  if (url == NULL)
    return dal_tool_fail (error);
  g_autoptr (DalConnection) conn = dal_connection_open_url (NULL, url, NULL, &error);
  if (conn == NULL)
    return dal_tool_fail (error);
  g_autoptr (DalMigrator) migrator = dal_migrator_new (conn, dir, &error);
  if (migrator == NULL || (table != NULL && !dal_migrator_set_table (migrator, table, &error)))
    return dal_tool_fail (error);
  guint count = 0;
  dal_migrator_set_progress (migrator, print_progress, &count);

  int status = 0;
  if (is_status)
    {
      g_autoptr (GPtrArray) list = dal_migrator_status (migrator, NULL, &error);
      if (list == NULL)
        return dal_tool_fail (error);
      status = print_status (list);
    }
  else if (!(is_up ? dal_migrator_up (migrator, target, NULL, &error)
                   : dal_migrator_down (migrator, target, NULL, &error)))
    return dal_tool_fail (error);
  else if (count == 0)
    printf ("nothing to %s\n", is_up ? "apply" : "revert");
  if (!dal_connection_close (conn, NULL, &error))
    return dal_tool_fail (error);
  return status;
}
