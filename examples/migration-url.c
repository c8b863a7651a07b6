/* migration-url.c: derive the migration URL from the application's.
 *
 *   examples/migration-url [URL]    (without URL: $DATABASE_URL)
 *
 * The application connects with postgresql+asyncpg://; schema migrations
 * run through the blocking driver, postgresql+psycopg2://, with the same
 * credentials, hosts, TLS settings and options.  Keep one URL in the
 * configuration and derive the other.
 */
#include <stdio.h>
#include <string.h>

#include <dal/dal.h>

/* Which plugin would serve @url (nothing is connected). */
static void
show (const char *label, const DalUrl *url)
{
  g_autofree char *redacted = dal_url_to_string_redacted (url);
  g_autoptr (GError) error = NULL;
  DalPlugin *plugin = dal_registry_resolve (NULL, url, &error);

  printf ("%-11s %s\n", label, redacted);
  if (plugin != NULL)
    printf ("%-11s served by %s (%s)\n", "", dal_plugin_get_name (plugin),
            dal_plugin_is_async (plugin) ? "non-blocking" : "blocking");
  else
    printf ("%-11s no plugin: %s\n", "", error->message);
}

int
main (int argc, char **argv)
{
  const char *text = argc > 1 ? argv[1] : g_getenv ("DATABASE_URL");
  if (text == NULL)
    {
      fprintf (stderr, "usage: %s URL   (or set DATABASE_URL)\n", argv[0]);
      return 2;
    }

  /* Parsing checks the whole URL before any network activity; the error
   * never quotes the password. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) app_url = dal_url_parse (text, &error);
  if (app_url == NULL)
    {
      fprintf (stderr, "invalid URL: %s\n", error->message);
      return 1;
    }
  if (g_strcmp0 (dal_url_get_driver (app_url), "asyncpg") != 0)
    fprintf (stderr, "note: the application URL is usually "
             "postgresql+asyncpg://, this one is %s://\n",
             dal_url_get_scheme (app_url));

  g_autoptr (DalUrl) migration_url = dal_url_with_driver (app_url, "psycopg2", &error);
  if (migration_url == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  show ("application", app_url);
  show ("migrations", migration_url);

  /* To hand the URL to a migration tool, dal_url_to_string() gives it
   * with the password; never log that form. */
  return 0;
}
