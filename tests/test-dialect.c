/* test-dialect.c: a plugin's own dialect (DalDialect, ABI 1.5), with the
 * fake plugin tests/plugins/dialect/fakedb: options accepted, unknown
 * ones refused naming them (at parse and at resolve), secrets redacted,
 * the alias, and a plugin without a dialect table accepting anything.
 * The tests run in order: the first one parses before the dialect is
 * known to the process. */
#include "config.h"

#include <string.h>

#include "dal-private.h"
#include "dal-test.h"

static DalRegistry *
registry_for (const char *sub)
{
  g_autofree char *dir = g_build_filename (dal_test_env ("DAL_TEST_PLUGINS"), sub, NULL);
  const char *dirs[] = { dir, NULL };
  return dal_registry_new (dirs, FALSE);
}

/* Parsed before any plugin declared fakedb: accepted as is, then refused
 * by dal_registry_resolve() before any I/O. */
static void
test_resolve_time (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (_dal_dialect_find ("fakedb"));
  g_autoptr (DalUrl) bad = dal_url_parse ("fakedb://u@srv/f.db?mode=ro&colour=red", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) bad_value = dal_url_parse ("fakedb://srv/f.db?mode=rx", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) good = dal_url_parse ("fakedb://u@srv/f.db?mode=ro&command_timeout=2", &error);
  g_assert_no_error (error);

  DalRegistry *registry = registry_for ("dialect");
  g_assert_null (dal_registry_resolve (registry, bad, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_assert_nonnull (strstr (error->message, "\"colour\""));
  g_clear_error (&error);
  g_assert_null (dal_registry_resolve (registry, bad_value, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "mode=rx"));
  g_clear_error (&error);
  g_assert_nonnull (dal_registry_resolve (registry, good, &error));
  g_assert_no_error (error);
  dal_registry_free (registry);

  /* the registry that loaded it made the dialect known to the process */
  g_assert_nonnull (_dal_dialect_find ("fakedb"));
  g_assert_true (_dal_dialect_find ("fdb") == _dal_dialect_find ("fakedb"));
}

static void
test_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("fakedb://u:pw%21@srv:7/f.db?mode=rw&token=TOPSECRET"
                                          "&cache_pages=3&command_timeout=1.5", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (url, "server"), ==, "srv");
  g_assert_cmpstr (dal_url_get_option (url, "port"), ==, "7");
  g_assert_cmpstr (dal_url_get_option (url, "file"), ==, "f.db");
  g_assert_cmpstr (dal_url_get_option (url, "mode"), ==, "rw");
  g_assert_cmpstr (dal_url_get_database (url), ==, "f.db");
  g_assert_cmpstr (dal_url_get_password (url), ==, "pw!");

  /* secrets redacted */
  g_autofree char *shown = dal_url_to_string_redacted (url);
  g_assert_null (strstr (shown, "TOPSECRET"));
  g_assert_null (strstr (shown, "pw"));
  g_assert_nonnull (strstr (shown, "token="));
  g_assert_true (dal_url_option_is_secret ("token"));
  g_assert_false (dal_url_option_is_secret ("mode"));

  /* unknown option: named, with the nearest known one */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?mdoe=ro", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_assert_nonnull (strstr (error->message, "\"mdoe\""));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "Did you mean mode?"));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "libfakedb"));
  g_clear_error (&error);
  /* libpq's keywords are not fakedb's */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?sslmode=require", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_clear_error (&error);

  /* enum and uint values */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?mode=rx", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?cache_pages=-1", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_clear_error (&error);
  /* a secret's bad value is not quoted */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?token=x&token=y&port=TOPSECRET", &error));
  g_clear_error (&error);

  /* one server only (no DAL_DIALECT_HOST_LIST) */
  g_assert_null (dal_url_parse ("fakedb://a,b/f.db", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_clear_error (&error);

  /* the alias */
  g_autoptr (DalUrl) alias = dal_url_parse ("FDB+fake://srv/f.db?mode=ro", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_dialect (alias), ==, "fakedb");
  g_assert_cmpstr (dal_url_get_scheme (alias), ==, "fakedb+fake");

  /* min_client_version */
  g_autoptr (DalUrl) wal = dal_url_parse ("fakedb://srv/f.db?wal=on", &error);
  g_assert_no_error (error);
  g_assert_true (dal_url_check_client_version (wal, 20000, "libfakedb", &error));
  g_assert_false (dal_url_check_client_version (wal, 10500, "libfakedb", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "wal needs libfakedb 2"));
}

/* fakesync declares no dialect: anything goes, handed to the plugin. */
static void
test_no_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("test://h/d?anything=1&sslmode=whatever", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (url, "anything"), ==, "1");
  DalRegistry *registry = registry_for ("");
  g_assert_nonnull (dal_registry_resolve (registry, url, &error));
  g_assert_no_error (error);
  dal_registry_free (registry);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dialect/resolve-time", test_resolve_time);
  g_test_add_func ("/dialect/parse", test_parse);
  g_test_add_func ("/dialect/no-table", test_no_table);
  return g_test_run ();
}
