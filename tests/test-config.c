/* test-config.c: DalConfig (core/dal-config*.c), dal_url_with_options()
 * and `dal` reading its URL from configuration.
 *
 * Unit tests need no server; the /config/live/ ones run against the
 * harness's PostgreSQL (skipped without it), and the /config/tool/ ones
 * run the build tree's `dal` (DAL_TEST_TOOL).
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "dal-private.h"
#include "dal-test.h"

static DalConfig *
config_from (const char *data, GError **error)
{
  g_autoptr (DalConfig) config = dal_config_new ();
  if (!dal_config_add_data (config, data, -1, "dal.conf", error))
    return NULL;
  return g_steal_pointer (&config);
}

static DalUrl *
url_of (DalConfig *config)
{
  g_autoptr (GError) error = NULL;
  DalUrl *url = dal_config_get_url (config, &error);
  g_assert_no_error (error);
  return url;
}

/* A file in a new temporary folder; its path. */
static char *
write_file (const char *dir, const char *name, const char *text, int mode)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

static void
remove_tree (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

/* -- precedence -- */

static void
test_precedence (void)
{
  g_autoptr (GError) error = NULL;
  const char *file = "[database]\nurl = postgresql+asyncpg://u@file-host/db\n";
  const char *env_both[] = { "DATABASE_URL=postgresql+asyncpg://u@env-host/db",
                             "DAL_DATABASE_URL=postgresql+psycopg2://u@dal-env-host/db",
                             NULL };
  const char *env_one[] = { "DATABASE_URL=postgresql+asyncpg://u@env-host/db",
                            "DAL_DATABASE_URL=", NULL };

  /* Nothing: postgresql://, libpq's PG* variables apply. */
  g_autoptr (DalConfig) empty = dal_config_new ();
  g_autoptr (DalUrl) none = url_of (empty);
  g_autofree char *none_text = dal_url_to_string (none);
  g_assert_cmpstr (none_text, ==, "postgresql://");
  g_assert_cmpuint (dal_url_get_n_hosts (none), ==, 0);
  g_assert_nonnull (strstr (dal_config_get_origin (empty, "url"), "PG*"));

  /* File < DATABASE_URL < DAL_DATABASE_URL < command line. */
  g_autoptr (DalConfig) config = config_from (file, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) a = url_of (config);
  g_assert_cmpstr (dal_url_get_host (a, 0), ==, "file-host");
  g_assert_cmpstr (dal_config_get_origin (config, "url"), ==, "dal.conf line 2");

  g_assert_true (dal_config_add_environment (config, env_one, &error));
  g_autoptr (DalUrl) b = url_of (config);
  g_assert_cmpstr (dal_url_get_host (b, 0), ==, "env-host");
  g_assert_cmpstr (dal_config_get_origin (config, "url"), ==, "DATABASE_URL");

  g_assert_true (dal_config_add_environment (config, env_both, &error));
  g_autoptr (DalUrl) c = url_of (config);
  g_assert_cmpstr (dal_url_get_host (c, 0), ==, "dal-env-host");
  g_assert_cmpstr (dal_url_get_driver (c), ==, "psycopg2");
  g_assert_cmpstr (dal_config_get_origin (config, "url"), ==, "DAL_DATABASE_URL");

  g_assert_true (dal_config_set_url (config, "postgresql://u@cli-host/db", NULL, &error));
  g_autoptr (DalUrl) d = url_of (config);
  g_assert_cmpstr (dal_url_get_host (d, 0), ==, "cli-host");
  g_assert_cmpstr (dal_config_get_origin (config, "url"), ==, "command line");

  /* A source's bad URL is an error naming the source. */
  const char *bad_env[] = { "DATABASE_URL=postgresql://h/db?sslmod=require", NULL };
  g_assert_false (dal_config_add_environment (config, bad_env, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_assert_true (g_str_has_prefix (error->message, "DATABASE_URL: "));
  g_assert_nonnull (strstr (error->message, "sslmode"));
}

/* dal_config_load(): explicit path, $DAL_CONFIG, the XDG search. */
static void
test_load_search (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dal-config-XXXXXX", NULL);
  g_autofree char *xdg = g_build_filename (dir, "xdg", NULL);
  g_autofree char *user = write_file (xdg, "dal/dal.conf",
                                      "[database]\nurl = postgresql://xdg-host/db\n",
                                      0600);
  g_autofree char *other = write_file (dir, "other.conf",
                                       "\n[database]\n\nurl = postgresql://other-host/db\n",
                                       0600);
  g_unsetenv ("DATABASE_URL");
  g_unsetenv ("DAL_DATABASE_URL");
  g_unsetenv ("DAL_MIGRATION_URL");
  g_unsetenv ("DAL_CONFIG");
  g_setenv ("XDG_CONFIG_HOME", xdg, TRUE);

  g_autoptr (DalConfig) searched = dal_config_load (NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) a = url_of (searched);
  g_assert_cmpstr (dal_url_get_host (a, 0), ==, "xdg-host");
  g_autofree char *origin = g_strdup_printf ("%s line 2", user);
  g_assert_cmpstr (dal_config_get_origin (searched, "url"), ==, origin);

  g_setenv ("DAL_CONFIG", other, TRUE);
  g_autoptr (DalConfig) named = dal_config_load (NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) b = url_of (named);
  g_assert_cmpstr (dal_url_get_host (b, 0), ==, "other-host");
  g_autofree char *origin2 = g_strdup_printf ("%s line 4", other);
  g_assert_cmpstr (dal_config_get_origin (named, "url"), ==, origin2);

  /* The environment is above the file. */
  g_setenv ("DATABASE_URL", "postgresql://env-host/db", TRUE);
  g_autoptr (DalConfig) with_env = dal_config_load (user, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) c = url_of (with_env);
  g_assert_cmpstr (dal_url_get_host (c, 0), ==, "env-host");
  g_unsetenv ("DATABASE_URL");

  /* Named files must exist; the search may find none. */
  g_autofree char *missing = g_build_filename (dir, "missing.conf", NULL);
  g_assert_null (dal_config_load (missing, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "missing.conf"));
  g_clear_error (&error);
  g_setenv ("DAL_CONFIG", missing, TRUE);
  g_assert_null (dal_config_load (NULL, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "DAL_CONFIG"));
  g_clear_error (&error);
  g_unsetenv ("DAL_CONFIG");
  g_autofree char *empty_xdg = g_build_filename (dir, "nothing", NULL);
  g_setenv ("XDG_CONFIG_HOME", empty_xdg, TRUE);
  g_autoptr (DalConfig) nothing = dal_config_load (NULL, &error);
  g_assert_no_error (error);
  if (!g_file_test ("/etc/dal/dal.conf", G_FILE_TEST_EXISTS))
    {
      g_autoptr (DalUrl) d = url_of (nothing);
      g_assert_cmpstr (dal_url_get_scheme (d), ==, "postgresql");
    }
  remove_tree (dir);
}

/* -- validation -- */

static void
test_unknown (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (config_from ("# comment\n[database]\nurl = postgresql://h/db\n\n"
                              "[tsl]\nsslmode = require\n", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "unknown section [tsl] in dal.conf line 5"));
  g_assert_nonnull (strstr (error->message, "Did you mean [tls]?"));
  g_clear_error (&error);

  g_assert_null (config_from ("[pool]\nmax_size = 4\nmax_sise = 5\n", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "unknown key max_sise in [pool] of dal.conf line 3"));
  g_assert_cmpstr (dal_error_get_hint (error), !=, NULL);
  g_assert_true (g_str_has_prefix (dal_error_get_hint (error), "Did you mean max_size?"));
  g_clear_error (&error);

  g_assert_null (config_from ("[database]\nuri = postgresql://h/db\n", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "Did you mean url?"));
  g_clear_error (&error);

  /* Not a key file at all. */
  g_assert_null (config_from ("url = postgresql://h/db\n", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_clear_error (&error);

  /* A session setting's name. */
  g_assert_null (config_from ("[session]\nsearch-path = app\n", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "search-path"));
}

static void
test_types (void)
{
  g_autoptr (GError) error = NULL;
  struct { const char *text; const char *expect; } cases[] = {
    { "[pool]\n\nmax_size = lots\n", "[pool] max_size in dal.conf line 3: max_size=lots" },
    { "[pool]\nacquire_timeout = -1\n", "[pool] acquire_timeout in dal.conf line 2" },
    { "[tls]\nsslmode = requir\n", "[tls] sslmode in dal.conf line 2: sslmode=requir" },
    { "[tls]\nallow_insecure_tls = maybe\n", "[tls] allow_insecure_tls in dal.conf line 2" },
    { "[tls]\nssl_min_protocol_version = TLSv1.4\n", "ssl_min_protocol_version" },
    { "[database]\nurl = postgresql://h:99999/db\n", "[database] url in dal.conf line 2: " },
    { "[drivers]\npostgresql+psycopg = mysql+foo\n", "not the same dialect" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DalConfig) config = config_from (cases[i].text, &error);
      g_assert_null (config);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
      g_clear_error (&error);
    }

  /* Values that pass become the URL's options. */
  g_autoptr (DalConfig) config = config_from ("[pool]\nmax_size = 3\nacquire_timeout = 2.5\n"
                                              "[tls]\nsslmode = require\nallow_insecure_tls = no\n",
                                              &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) url = url_of (config);
  g_assert_cmpstr (dal_url_get_option (url, "pool_max_size"), ==, "3");
  g_assert_cmpint (dal_url_get_duration_ms (url, "pool_acquire_timeout", 0), ==, 2500);
  g_assert_cmpstr (dal_url_get_option (url, "sslmode"), ==, "require");
  DalPoolSettings settings;
  dal_pool_settings_init (&settings);
  g_assert_true (dal_pool_settings_from_url (&settings, url, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (settings.max_size, ==, 3);
}

/* A '%' (and a backslash) in a password survive as written; the spaces
 * after "=" are not part of it, those at the end of the line are. */
static void
test_password_percent (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConfig) config =
    config_from ("[database]\nurl = postgresql://app:old@h/db\n"
                 "password =   p%40ss%w\\d%% \n", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) url = url_of (config);
  g_assert_cmpstr (dal_url_get_password (url), ==, "p%40ss%w\\d%% ");
  g_autofree char *redacted = dal_url_to_string_redacted (url);
  g_assert_null (strstr (redacted, "p%40ss"));
  /* and the text form parses back to the same password */
  g_autofree char *text = dal_url_to_string (url);
  g_autoptr (DalUrl) again = dal_url_parse (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_password (again), ==, "p%40ss%w\\d%% ");
}

static void
test_conflicts (void)
{
  g_autoptr (GError) error = NULL;
  const char *text = "[tls]\nsslmode = disable\n";
  g_autoptr (DalConfig) config = config_from (text, &error);
  g_assert_no_error (error);

  g_assert_true (dal_config_set_url (config, "postgresql://h/db?sslmode=verify-full",
                                     NULL, &error));
  g_assert_null (dal_config_get_url (config, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "[tls] sslmode = disable in dal.conf line 2"));
  g_assert_nonnull (strstr (error->message, "sslmode=verify-full in the URL from command line"));
  g_clear_error (&error);

  /* The same value is fine (ssl=true is sslmode=require). */
  g_autoptr (DalConfig) same = config_from ("[tls]\nsslmode = require\n", &error);
  g_assert_true (dal_config_set_url (same, "postgresql://h/db?ssl=true", NULL, &error));
  g_autoptr (DalUrl) url = url_of (same);
  g_assert_cmpstr (dal_url_get_option (url, "sslmode"), ==, "require");

  /* A secret's values are not shown. */
  g_autoptr (DalConfig) secret = config_from ("[tls]\nsslpassword = mine-secret\n", &error);
  g_assert_true (dal_config_set_url (secret, "postgresql://h/db?sslpassword=their-secret",
                                     NULL, &error));
  g_assert_null (dal_config_get_url (secret, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  g_assert_null (strstr (error->message, "secret"));
}

static void
test_session (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConfig) config =
    config_from ("[session]\nstatement_timeout = 5s\nsearch_path = app, public\n"
                 "application_name = billing\nmy.path = C:\\dir\n", &error);
  g_assert_no_error (error);
  g_assert_true (dal_config_set_url (config, "postgresql://h/db?options=-c%20work_mem%3D64MB",
                                     NULL, &error));
  g_autoptr (DalUrl) url = url_of (config);
  g_assert_cmpstr (dal_url_get_option (url, "options"), ==,
                   "-c work_mem=64MB -c statement_timeout=5s "
                   "-c search_path=app,\\ public -c my.path=C:\\\\dir");
  g_assert_cmpstr (dal_url_get_option (url, "application_name"), ==, "billing");
}

/* dal_url_with_options() checks what it sets as parsing does. */
static void
test_with_options (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("postgresql+asyncpg://u:pw@h/db?sslmode=require"
                                          "&pool_max_size=3", &error);
  g_assert_no_error (error);

  g_autoptr (DalUrl) a = dal_url_with_options (url,
                                               (const char *[]) { "ssl", "pool_max_size", "port", NULL },
                                               (const char *[]) { "false", NULL, "5433" },
                                               &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (a, "sslmode"), ==, "disable");
  g_assert_null (dal_url_get_option (a, "pool_max_size"));
  g_assert_cmpstr (dal_url_get_port (a, 0), ==, "5433");
  g_assert_cmpstr (dal_url_get_password (a), ==, "pw");
  g_assert_cmpstr (dal_url_get_scheme (a), ==, "postgresql+asyncpg");

  g_assert_null (dal_url_with_options (url, (const char *[]) { "sslmod", NULL },
                                       (const char *[]) { "require" }, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_clear_error (&error);
  g_assert_null (dal_url_with_options (url, (const char *[]) { "sslmod", NULL },
                                       (const char *[]) { NULL }, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_clear_error (&error);
  g_assert_null (dal_url_with_options (url, (const char *[]) { "port", NULL },
                                       (const char *[]) { "0" }, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
}

/* examples/dal.conf is a valid configuration. */
static void
test_example_file (void)
{
  const char *srcdir = g_getenv ("DAL_TEST_SRCDIR");
  if (srcdir == NULL)
    {
      g_test_skip ("DAL_TEST_SRCDIR is not set: run this test with `make check`");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (srcdir, "..", "examples", "dal.conf", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_autoptr (DalConfig) config = config_from (text, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) url = url_of (config);
  g_assert_cmpstr (dal_url_get_scheme (url), ==, "postgresql+asyncpg");
  g_assert_cmpstr (dal_url_get_password (url), ==, "s3cret%w0rd");
  g_assert_cmpstr (dal_url_get_option (url, "pool_max_size"), ==, "10");
  g_assert_cmpstr (dal_url_get_option (url, "application_name"), ==, "billing");

  /* a single connection leaves the pool options out */
  g_autoptr (DalUrl) single = dal_url_without_pool_options (url);
  g_assert_false (_dal_url_has_pool_options (single, NULL));
  g_assert_cmpstr (dal_url_get_option (single, "sslmode"), ==, "verify-full");
  g_autoptr (DalUrl) m = dal_config_get_migration_url (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_scheme (m), ==, "postgresql+psycopg2");
}

/* -- driver aliases -- */

static void
test_aliases (void)
{
  g_autoptr (GError) error = NULL;
  _dal_driver_mapping_reset_warnings ();

  /* Retired and not mapped: the registry's error, with the origin. */
  g_autoptr (DalConfig) plain = dal_config_new ();
  g_assert_true (dal_config_set_url (plain, "postgresql+psycopg://u@h/db", "--url", &error));
  g_assert_null (dal_config_get_url (plain, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_RETIRED_DRIVER);
  g_assert_nonnull (strstr (error->message, "the URL from --url"));
  g_assert_nonnull (strstr (error->message, "postgresql+asyncpg://"));
  g_assert_nonnull (strstr (error->message, "[drivers]"));
  g_clear_error (&error);

  /* Mapped on purpose: rewritten, with exactly one warning. */
  g_autoptr (DalConfig) config =
    config_from ("[database]\nurl = postgresql+psycopg://u@h/db\n"
                 "[drivers]\nPostgreSQL+psycopg = postgresql+asyncpg\n", &error);
  g_assert_no_error (error);
  g_test_expect_message ("dal", G_LOG_LEVEL_WARNING,
                         "postgresql+psycopg:// is used as postgresql+asyncpg:// "
                         "because dal.conf line 4 maps it*");
  g_autoptr (DalUrl) a = url_of (config);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (dal_url_get_scheme (a), ==, "postgresql+asyncpg");
  /* again, and from another DalConfig: no second warning (a warning
   * would abort the test) */
  g_autoptr (DalUrl) b = url_of (config);
  g_autoptr (DalUrl) m = dal_config_get_migration_url (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_scheme (m), ==, "postgresql+psycopg2");
  g_autoptr (DalConfig) config2 =
    config_from ("[drivers]\npostgresql+psycopg = postgresql+asyncpg\n", &error);
  g_assert_true (dal_config_set_url (config2, "postgresql+psycopg://h/db", NULL, &error));
  g_autoptr (DalUrl) c = url_of (config2);
  g_assert_cmpstr (dal_url_get_scheme (c), ==, "postgresql+asyncpg");
}

/* -- file permissions -- */

static void
test_permissions (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dal-config-XXXXXX", NULL);
  g_autofree char *open_file = write_file (dir, "open.conf",
                                           "[database]\npassword = s3cret\n", 0644);
  g_autofree char *private_file = write_file (dir, "private.conf",
                                              "[database]\npassword = s3cret\n", 0600);
  g_autofree char *no_secret = write_file (dir, "plain.conf",
                                           "[database]\nurl = postgresql://u@h/db\n", 0644);
  g_autofree char *url_secret = write_file (dir, "url.conf",
                                            "[database]\nurl = postgresql://u:pw@h/db\n", 0640);

  g_autoptr (DalConfig) config = dal_config_new ();
  g_test_expect_message ("dal", G_LOG_LEVEL_WARNING, "*open.conf holds a password*chmod 600*");
  g_assert_true (dal_config_add_file (config, open_file, &error));
  g_test_assert_expected_messages ();
  /* once per file */
  g_assert_true (dal_config_add_file (config, open_file, &error));
  g_assert_true (dal_config_add_file (config, private_file, &error));
  g_assert_true (dal_config_add_file (config, no_secret, &error));
  g_assert_no_error (error);
  g_test_expect_message ("dal", G_LOG_LEVEL_WARNING, "*url.conf holds a password*");
  g_assert_true (dal_config_add_file (config, url_secret, &error));
  g_test_assert_expected_messages ();
  remove_tree (dir);
}

/* -- the migration URL -- */

static void
test_migration (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConfig) config =
    config_from ("[database]\nurl = postgresql+asyncpg://app:pw@db1:5432,db2/app"
                 "?statement_cache_size=100&pool_min_size=2\n"
                 "[pool]\nmax_size = 20\n[tls]\nsslmode = verify-full\n"
                 "[session]\nstatement_timeout = 5s\n", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) m = dal_config_get_migration_url (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_scheme (m), ==, "postgresql+psycopg2");
  g_assert_cmpstr (dal_url_get_user (m), ==, "app");
  g_assert_cmpstr (dal_url_get_password (m), ==, "pw");
  g_assert_cmpuint (dal_url_get_n_hosts (m), ==, 2);
  g_assert_cmpstr (dal_url_get_host (m, 1), ==, "db2");
  g_assert_cmpstr (dal_url_get_option (m, "sslmode"), ==, "verify-full");
  g_assert_cmpstr (dal_url_get_option (m, "options"), ==, "-c statement_timeout=5s");
  g_assert_null (dal_url_get_option (m, "statement_cache_size"));
  g_assert_false (_dal_url_has_pool_options (m, NULL));
  g_assert_cmpstr (dal_config_get_origin (config, "migration_url"), ==,
                   "derived from the URL (dal.conf line 2)");

  /* A bare dialect becomes psycopg2 too; psycopg2 stays. */
  g_autoptr (DalConfig) bare = dal_config_new ();
  g_autoptr (DalUrl) bm = dal_config_get_migration_url (bare, &error);
  g_assert_cmpstr (dal_url_get_scheme (bm), ==, "postgresql+psycopg2");

  /* Explicit: DAL_MIGRATION_URL > [database] migration_url. */
  g_autoptr (DalConfig) explicit =
    config_from ("[database]\nurl = postgresql+asyncpg://app@h/db\n"
                 "migration_url = postgresql+psycopg2://owner@h:5432/db\n"
                 "password = pw\n", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) e1 = dal_config_get_migration_url (explicit, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_user (e1), ==, "owner");
  g_assert_cmpstr (dal_url_get_password (e1), ==, "pw");
  g_assert_cmpstr (dal_config_get_origin (explicit, "migration_url"), ==, "dal.conf line 3");
  const char *env[] = { "DAL_MIGRATION_URL=postgresql+psycopg2://admin:own@h2/db", NULL };
  g_assert_true (dal_config_add_environment (explicit, env, &error));
  g_autoptr (DalUrl) e2 = dal_config_get_migration_url (explicit, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_user (e2), ==, "admin");
  g_assert_cmpstr (dal_url_get_password (e2), ==, "own");
  g_assert_cmpstr (dal_config_get_origin (explicit, "migration_url"), ==, "DAL_MIGRATION_URL");
}

static void
test_migration_pooler (void)
{
  const char *urls[] = {
    "postgresql+asyncpg://u@h/db?pooler_mode=transaction",
    "postgresql+asyncpg://u.ref@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
  };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalConfig) config = dal_config_new ();
      g_assert_true (dal_config_set_url (config, urls[i], NULL, &error));
      g_autoptr (DalUrl) app = url_of (config);
      g_assert_null (dal_config_get_migration_url (config, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, "transaction pooler"));
      g_assert_nonnull (strstr (error->message, "advisory lock"));
      g_assert_nonnull (strstr (error->message, "migration_url"));
      g_clear_error (&error);

      /* the session port, set explicitly, is fine */
      const char *env[] = { "DAL_MIGRATION_URL=postgresql+psycopg2://u.ref@"
                            "aws-0-eu-west-1.pooler.supabase.com:5432/postgres", NULL };
      g_assert_true (dal_config_add_environment (config, env, &error));
      g_autoptr (DalUrl) m = dal_config_get_migration_url (config, &error);
      g_assert_no_error (error);
    }
}

/* -- live -- */

static char *
live_config_text (const char *scheme, const char *extra)
{
  g_autofree char *url = dal_test_url (scheme, NULL);
  return g_strdup_printf ("# written by test-config\n[database]\nurl = %s\n%s", url,
                          extra != NULL ? extra : "");
}

static void
test_live_connection_and_pool (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dal-config-XXXXXX", NULL);
  g_autofree char *text = live_config_text ("postgresql+asyncpg",
                                            "[pool]\nmax_size = 2\n"
                                            "[session]\nstatement_timeout = 1234ms\n"
                                            "application_name = test-config\n");
  g_autofree char *path = write_file (dir, "dal.conf", text, 0600);

  g_autoptr (DalConfig) config = dal_config_new ();
  g_assert_true (dal_config_add_file (config, path, &error));
  g_assert_no_error (error);

  g_autoptr (DalConnection) conn = dal_config_open_connection (config, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) r = dal_connection_query (conn, "SHOW statement_timeout", NULL,
                                                  NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r, 0, 0, NULL), ==, "1234ms");
  g_autoptr (DalResult) r2 = dal_connection_query (conn, "SHOW application_name", NULL,
                                                   NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r2, 0, 0, NULL), ==, "test-config");
  g_assert_true (dal_connection_close (conn, NULL, &error));

  g_autoptr (DalPool) pool = dal_config_open_pool (config, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) r3 = dal_pool_query (pool, "SELECT 40 + 2", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_result_get_string (r3, 0, 0, NULL), ==, "42");
  g_assert_cmpuint (dal_pool_get_settings (pool)->max_size, ==, 2);
  dal_pool_close (pool);
  remove_tree (dir);
}

/* -- the dal command -- */

typedef struct
{
  char *out, *err;
  int status;
} Run;

static Run
run_dal (char **envp, const char * const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DAL_TEST_TOOL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  Run run = { 0 };
  int wait = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT,
                               NULL, NULL, &run.out, &run.err, &wait, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait));
  run.status = WEXITSTATUS (wait);
  g_test_message ("stdout: %s\nstderr: %s", run.out, run.err);
  return run;
}

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static char **
tool_env (const char *database_url)
{
  char **envp = g_get_environ ();
  envp = g_environ_unsetenv (envp, "DAL_DATABASE_URL");
  envp = g_environ_unsetenv (envp, "DAL_CONFIG");
  envp = g_environ_unsetenv (envp, "DAL_MIGRATION_URL");
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", "/nonexistent-dal-test", TRUE);
  if (database_url != NULL)
    envp = g_environ_setenv (envp, "DATABASE_URL", database_url, TRUE);
  else
    envp = g_environ_unsetenv (envp, "DATABASE_URL");
  return envp;
}

static void
test_tool_url (void)
{
  if (g_getenv ("DAL_TEST_TOOL") == NULL)
    {
      g_test_skip ("DAL_TEST_TOOL is not set: run this test with `make check`");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("dal-config-XXXXXX", NULL);
  g_autofree char *path = write_file (dir, "dal.conf",
                                      "[database]\nurl = postgresql+asyncpg://app:"
                                      "Top%25Secret@cfg-host/appdb\n"
                                      "[pool]\nmax_size = 7\n", 0600);
  g_auto (GStrv) env = tool_env (NULL);
  Run a = run_dal (env, (const char *[]) { "url", "--config", path, NULL });
  g_assert_cmpint (a.status, ==, 0);
  g_assert_nonnull (strstr (a.out, "cfg-host"));
  g_assert_nonnull (strstr (a.out, "pool_max_size=7"));
  g_autofree char *from = g_strdup_printf ("from:      %s line 2", path);
  g_assert_nonnull (strstr (a.out, from));
  g_assert_null (strstr (a.out, "Secret"));
  g_assert_null (strstr (a.err, "Secret"));
  run_clear (&a);

  Run m = run_dal (env, (const char *[]) { "url", "--migration", "--config", path, NULL });
  g_assert_cmpint (m.status, ==, 0);
  g_assert_nonnull (strstr (m.out, "postgresql+psycopg2://"));
  g_assert_null (strstr (m.out, "pool_max_size"));
  g_assert_nonnull (strstr (m.out, "derived from the URL"));
  run_clear (&m);

  g_auto (GStrv) env2 = tool_env ("postgresql+psycopg2://u@env-host/db");
  Run b = run_dal (env2, (const char *[]) { "url", NULL });
  g_assert_cmpint (b.status, ==, 0);
  g_assert_nonnull (strstr (b.out, "env-host"));
  g_assert_nonnull (strstr (b.out, "from:      DATABASE_URL"));
  run_clear (&b);

  /* A bad file: the message names the file and line. */
  g_autofree char *bad = write_file (dir, "bad.conf", "[pool]\nmax_size = many\n", 0600);
  Run c = run_dal (env, (const char *[]) { "url", "--config", bad, NULL });
  g_assert_cmpint (c.status, ==, 1);
  g_assert_nonnull (strstr (c.err, "bad.conf line 2"));
  run_clear (&c);
  remove_tree (dir);
}

static void
test_tool_query_live (void)
{
  DAL_TEST_LIVE_OR_RETURN ();
  if (g_getenv ("DAL_TEST_TOOL") == NULL)
    {
      g_test_skip ("DAL_TEST_TOOL is not set: run this test with `make check`");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("dal-config-XXXXXX", NULL);
  g_autofree char *text = live_config_text ("postgresql+psycopg2",
                                            "[session]\nstatement_timeout = 4321ms\n");
  g_autofree char *path = write_file (dir, "dal.conf", text, 0600);
  g_auto (GStrv) env = tool_env (NULL);

  Run a = run_dal (env, (const char *[]) { "query", "--csv", "--config", path,
                                           "SHOW statement_timeout", NULL });
  g_assert_cmpint (a.status, ==, 0);
  g_assert_nonnull (strstr (a.out, "4321ms"));
  run_clear (&a);

  g_autofree char *url = dal_test_url ("postgresql+asyncpg", NULL);
  g_auto (GStrv) env2 = tool_env (url);
  Run b = run_dal (env2, (const char *[]) { "query", "--csv", "SELECT $1::int + 1", "41", NULL });
  g_assert_cmpint (b.status, ==, 0);
  g_assert_nonnull (strstr (b.out, "42"));
  run_clear (&b);

  /* A URL argument still comes first. */
  Run c = run_dal (env2, (const char *[]) { "query", "--csv", url, "SELECT 7", NULL });
  g_assert_cmpint (c.status, ==, 0);
  g_assert_nonnull (strstr (c.out, "7"));
  run_clear (&c);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/precedence", test_precedence);
  g_test_add_func ("/config/load-search", test_load_search);
  g_test_add_func ("/config/unknown", test_unknown);
  g_test_add_func ("/config/types", test_types);
  g_test_add_func ("/config/password-percent", test_password_percent);
  g_test_add_func ("/config/conflicts", test_conflicts);
  g_test_add_func ("/config/session", test_session);
  g_test_add_func ("/config/url-with-options", test_with_options);
  g_test_add_func ("/config/example-file", test_example_file);
  g_test_add_func ("/config/aliases", test_aliases);
  g_test_add_func ("/config/permissions", test_permissions);
  g_test_add_func ("/config/migration", test_migration);
  g_test_add_func ("/config/migration-pooler", test_migration_pooler);
  g_test_add_func ("/config/live/connection-and-pool", test_live_connection_and_pool);
  g_test_add_func ("/config/tool/url", test_tool_url);
  g_test_add_func ("/config/tool/query-live", test_tool_query_live);
  return g_test_run ();
}
