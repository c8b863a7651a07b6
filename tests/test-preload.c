/* test-preload.c: plugins preloaded into the program (libtool
 * -dlpreopen): this program has fakesync linked in (tests/local.mk). */
#include "config.h"

#include <ltdl.h>
#include <string.h>

#include "dal-private.h"
#include "dal-test.h"

static DalRegistry *
preload_only_registry (void)
{
  /* No folders, no system folders: only what is preloaded. */
  g_assert_cmpstr (g_getenv ("DAL_PLUGIN_SYSTEM_PATH"), ==, "");
  return dal_registry_new ((const char *[]) { NULL }, TRUE);
}

static void
test_resolve_preloaded (void)
{
  DalRegistry *r = preload_only_registry ();
  g_autofree char *search = dal_registry_get_search_path (r);
  g_assert_cmpstr (search, ==, "(preloaded)");

  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("test+sync://u:pw@localhost/db", &error);
  g_assert_no_error (error);
  DalPlugin *p = dal_registry_resolve (r, url, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);

  g_assert_cmpstr (dal_plugin_get_filename (p), ==, "(preloaded)");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (p), ==, "(preloaded)");
  /* What the descriptor file would say comes from the module itself. */
  g_assert_cmpstr (dal_plugin_get_name (p), ==, "fakesync");
  g_assert_cmpstr (dal_plugin_get_dialect (p), ==, "test");
  g_assert_true (g_strv_contains (dal_plugin_get_drivers (p), "sync"));
  g_assert_true (dal_plugin_is_dialect_default (p));
  g_assert_nonnull (strstr (dal_plugin_get_description (p), "fakesync"));
  g_assert_null (dal_plugin_get_load_error (p));
  guint major = 0, minor = 99;
  dal_plugin_get_abi_version (p, &major, &minor);
  g_assert_cmpuint (major, ==, DAL_PLUGIN_ABI_MAJOR);
  g_assert_cmpuint (minor, ==, DAL_PLUGIN_ABI_MINOR);

  /* The bare dialect too (DialectDefault from the descriptor's flags). */
  g_autoptr (DalUrl) bare = dal_url_parse ("test://localhost/db", &error);
  g_assert_no_error (error);
  g_assert_true (dal_registry_resolve (r, bare, &error) == p);
  g_assert_no_error (error);

  /* Only fakesync is preloaded. */
  g_autoptr (DalUrl) async = dal_url_parse ("test+async://localhost/db", &error);
  g_assert_no_error (error);
  g_assert_null (dal_registry_resolve (r, async, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_assert_nonnull (strstr (error->message, "(preloaded)"));
  g_clear_error (&error);

  g_autoptr (GPtrArray) list = dal_registry_list (r);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_true (list->pdata[0] == p);

  /* And it works: a query through it. */
  g_autoptr (DalConnection) conn = dal_connection_open_url (r, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_connection_get_plugin_name (conn), ==, "fakesync");
  g_autoptr (DalResult) res = dal_connection_query (conn, "echo", g_variant_new ("(is)", 42, "x"),
                                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (res), ==, 2);
  g_assert_cmpstr (dal_result_get_string (res, 0, 0, NULL), ==, "int32");
  g_assert_cmpstr (dal_result_get_string (res, 0, 1, NULL), ==, "42");
  g_assert_cmpstr (dal_result_get_string (res, 1, 1, NULL), ==, "x");
  g_assert_cmpint (dal_connection_execute (conn, "affected 7", NULL, NULL, &error), ==, 7);
  g_assert_no_error (error);
  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);

  g_clear_object (&conn);
  dal_registry_free (r);
}

/* A folder comes before the preloaded plugins. */
static void
test_folder_first (void)
{
  g_autofree char *good = g_build_filename (dal_test_env ("DAL_TEST_PLUGINS"), "shadow", NULL);
  DalRegistry *r = dal_registry_new ((const char *[]) { good, NULL }, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("test+sync://localhost/db", &error);
  DalPlugin *p = dal_registry_resolve (r, url, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_plugin_get_filename (p), !=, "(preloaded)");
  g_assert_true (g_str_has_prefix (dal_plugin_get_descriptor_filename (p), good));
  /* ... but the bare dialect only the preloaded one serves. */
  g_autoptr (DalUrl) bare = dal_url_parse ("test://localhost/db", &error);
  DalPlugin *b = dal_registry_resolve (r, bare, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_plugin_get_filename (b), ==, "(preloaded)");
  dal_registry_free (r);
}

int
main (int argc, char **argv)
{
  LTDL_SET_PRELOADED_SYMBOLS ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/preload/resolve", test_resolve_preloaded);
  g_test_add_func ("/preload/folder-first", test_folder_first);

  return g_test_run ();
}
