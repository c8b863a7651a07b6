/* test-gtypes.c: the GTypes bindings rely on (core/gobject.mk,
 * core/dal-boxed.c, core/dal-error-details.c): enum GTypes, boxed types,
 * and DalErrorDetails with each thread's last error. */
#include "config.h"

#include <string.h>

#include "dal-private.h"
#include <dal/dal-plugin.h>
#include "dal-test.h"

static void
test_enum_types (void)
{
  g_autoptr (GEnumClass) codes = g_type_class_ref (DAL_TYPE_ERROR);
  GEnumValue *v = g_enum_get_value_by_nick (codes, "query-failed");
  g_assert_nonnull (v);
  g_assert_cmpint (v->value, ==, DAL_ERROR_QUERY_FAILED);
  /* The nicks are dal_error_code_to_string()'s names. */
  for (guint i = 0; i < codes->n_values; i++)
    g_assert_cmpstr (codes->values[i].value_nick, ==,
                     dal_error_code_to_string (codes->values[i].value));
  g_assert_cmpstr (g_type_name (DAL_TYPE_ERROR), ==, "DalErrorCode");

  /* DAL_ERROR_N_FIELDS is a count, not a field. */
  g_autoptr (GEnumClass) fields = g_type_class_ref (DAL_TYPE_ERROR_FIELD);
  g_assert_cmpuint (fields->n_values, ==, DAL_ERROR_N_FIELDS);
  g_assert_cmpint (g_enum_get_value_by_nick (fields, "sqlstate")->value, ==,
                   DAL_ERROR_FIELD_SQLSTATE);

  g_assert_true (G_TYPE_IS_ENUM (DAL_TYPE_COLUMN_TYPE));
  g_assert_true (G_TYPE_IS_ENUM (DAL_TYPE_MIGRATION_STATE));
}

static GError *
server_error (const char *sqlstate)
{
  GError *error = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, "Create it first",
                                      "relation \"t\" does not exist");
  dal_error_set_field (error, DAL_ERROR_FIELD_SQLSTATE, sqlstate);
  dal_error_set_field (error, DAL_ERROR_FIELD_TABLE, "t");
  return error;
}

static void
test_details_new (void)
{
  g_autoptr (GError) error = server_error ("42P01");
  g_autoptr (DalErrorDetails) d = dal_error_details_new (error);
  g_assert_nonnull (d);
  g_assert_cmpint (dal_error_details_get_code (d), ==, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (dal_error_details_get_message (d), ==, error->message);
  g_assert_cmpstr (dal_error_details_get_sqlstate (d), ==, "42P01");
  g_assert_cmpstr (dal_error_details_get_hint (d), ==, "Create it first");
  g_assert_cmpstr (dal_error_details_get_what (d), ==,
                   "relation \"t\" does not exist");
  g_assert_cmpstr (dal_error_details_get_field (d, DAL_ERROR_FIELD_TABLE), ==, "t");
  g_assert_null (dal_error_details_get_field (d, DAL_ERROR_FIELD_COLUMN));
  g_assert_false (dal_error_details_is_retryable (d));

  /* A boxed type whose copy is a reference. */
  DalErrorDetails *copy = g_boxed_copy (DAL_TYPE_ERROR_DETAILS, d);
  g_assert_true (copy == d);
  g_boxed_free (DAL_TYPE_ERROR_DETAILS, copy);

  g_autoptr (GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x");
  g_assert_null (dal_error_details_new (other));
}

static gpointer
free_in_thread (gpointer data)
{
  GError *error = server_error ("40001");
  g_error_free (error);
  g_autoptr (DalErrorDetails) last = dal_error_details_get_last ();
  g_assert_cmpstr (dal_error_details_get_sqlstate (last), ==, "40001");
  g_assert_true (dal_error_details_is_retryable (last));
  return NULL;
}

static void
test_details_last (void)
{
  GError *error = server_error ("42P01");
  g_autofree char *message = g_strdup (error->message);
  g_error_free (error);

  g_autoptr (DalErrorDetails) last = dal_error_details_get_last ();
  g_assert_nonnull (last);
  g_assert_cmpstr (dal_error_details_get_message (last), ==, message);
  g_assert_cmpstr (dal_error_details_get_sqlstate (last), ==, "42P01");

  /* Another thread's errors are its own. */
  g_thread_join (g_thread_new ("free-in-thread", free_in_thread, NULL));
  g_autoptr (DalErrorDetails) still = dal_error_details_get_last ();
  g_assert_cmpstr (dal_error_details_get_sqlstate (still), ==, "42P01");

  /* Errors of other domains are not noted. */
  g_error_free (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x"));
  g_autoptr (DalErrorDetails) again = dal_error_details_get_last ();
  g_assert_cmpstr (dal_error_details_get_sqlstate (again), ==, "42P01");

  /* A copy of a DAL_ERROR keeps the details (the domain's copy function). */
  g_autoptr (GError) orig = server_error ("22012");
  g_autoptr (GError) dup = g_error_copy (orig);
  g_assert_cmpstr (dal_error_get_sqlstate (dup), ==, "22012");
}

static void
test_boxed_structs (void)
{
  DalPoolSettings settings;
  dal_pool_settings_init (&settings);
  settings.max_size = 7;
  DalPoolSettings *s = g_boxed_copy (DAL_TYPE_POOL_SETTINGS, &settings);
  g_assert_true (s != &settings);
  g_assert_cmpmem (s, sizeof *s, &settings, sizeof settings);
  g_boxed_free (DAL_TYPE_POOL_SETTINGS, s);

  DalPoolStats stats = { .size = 3, .acquired = 9 };
  DalPoolStats *t = g_boxed_copy (DAL_TYPE_POOL_STATS, &stats);
  g_assert_cmpuint (t->size, ==, 3);
  g_assert_cmpuint (t->acquired, ==, 9);
  g_boxed_free (DAL_TYPE_POOL_STATS, t);

  DalMigration m = {
    .version = 3, .name = (char *) "create_users",
    .state = DAL_MIGRATION_APPLIED, .up_file = (char *) "3_create_users.up.sql",
    .applied_at = (char *) "2026-12-05T08:30:00Z", .execution_ms = 12,
  };
  DalMigration *c = g_boxed_copy (DAL_TYPE_MIGRATION, &m);
  g_assert_true (c->name != m.name);
  g_assert_cmpstr (c->name, ==, "create_users");
  g_assert_cmpstr (c->up_file, ==, m.up_file);
  g_assert_null (c->down_file);
  g_assert_cmpstr (c->applied_at, ==, m.applied_at);
  g_assert_cmpint (c->version, ==, 3);
  g_assert_cmpint (c->execution_ms, ==, 12);
  g_boxed_free (DAL_TYPE_MIGRATION, c);
}

static void
test_boxed_registry_plugin (void)
{
  g_autofree char *dir = g_build_filename (g_getenv ("DAL_TEST_PLUGINS"), NULL);
  const char *path[] = { dir, NULL };
  DalRegistry *registry = dal_registry_new (path, FALSE);
  g_autoptr (DalUrl) url = dal_url_parse ("test+sync://localhost/db", NULL);
  g_assert_nonnull (url);
  g_autoptr (GError) error = NULL;
  DalPlugin *plugin = dal_registry_resolve (registry, url, &error);
  g_assert_no_error (error);

  DalRegistry *r2 = g_boxed_copy (DAL_TYPE_REGISTRY, registry);
  g_assert_true (r2 == registry);
  g_boxed_free (DAL_TYPE_REGISTRY, r2);

  /* A plugin's copy is the plugin, holding its registry alive. */
  DalPlugin *held = g_boxed_copy (DAL_TYPE_PLUGIN, plugin);
  g_assert_true (held == plugin);
  dal_registry_unref (registry);
  g_assert_cmpstr (dal_plugin_get_name (held), ==, "fakesync");
  g_assert_nonnull (dal_plugin_get_name (held));
  g_boxed_free (DAL_TYPE_PLUGIN, held);   /* frees the registry */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gtypes/enums", test_enum_types);
  g_test_add_func ("/gtypes/error-details/new", test_details_new);
  g_test_add_func ("/gtypes/error-details/last", test_details_last);
  g_test_add_func ("/gtypes/boxed/structs", test_boxed_structs);
  g_test_add_func ("/gtypes/boxed/registry-plugin", test_boxed_registry_plugin);
  return g_test_run ();
}
