/* config-app.c: an application that takes its database from configuration.
 *
 *   examples/config-app [dal.conf]
 *
 * Nothing about the database is in the code: the URL, the driver, the
 * pool size, TLS and session settings come from dal.conf (the file given,
 * else $DAL_CONFIG, else ~/.config/dal/dal.conf or /etc/dal/dal.conf) and
 * from DATABASE_URL, which overrides the file's URL.  Switching from
 * postgresql+psycopg2:// to postgresql+asyncpg://, or to another database,
 * is an edit of dal.conf or of DATABASE_URL (docs/config.md;
 * examples/dal.conf is a commented example).
 */
#include <stdio.h>

#include <dal/dal.h>

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConfig) config = dal_config_load (argc > 1 ? argv[1] : NULL, &error);
  if (config == NULL)
    {
      fprintf (stderr, "%s: %s\n", argv[0], error->message);
      return 1;
    }

  g_autoptr (DalUrl) url = dal_config_get_url (config, &error);
  if (url == NULL)
    {
      fprintf (stderr, "%s: %s\n", argv[0], error->message);
      return 1;
    }
  g_autofree char *shown = dal_url_to_string_redacted (url);
  printf ("database: %s\n          (from %s)\n", shown,
          dal_config_get_origin (config, "url"));

  g_autoptr (DalPool) pool = dal_config_open_pool (config, NULL, &error);
  if (pool == NULL)
    {
      fprintf (stderr, "%s: %s\n", argv[0], error->message);
      return 1;
    }
  g_autoptr (DalResult) result =
    dal_pool_query (pool, "SELECT current_database(), current_setting('statement_timeout')",
                    NULL, NULL, &error);
  if (result == NULL)
    {
      fprintf (stderr, "%s: %s\n", argv[0], error->message);
      dal_pool_close (pool);
      return 1;
    }
  printf ("connected to %s (statement_timeout %s) through %s\n",
          dal_result_get_string (result, 0, 0, NULL),
          dal_result_get_string (result, 0, 1, NULL),
          dal_url_get_scheme (url));
  dal_pool_close (pool);
  return 0;
}
