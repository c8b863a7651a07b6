/* One copy of the core in a test process.
 *
 * The test programs link the check-only libdal-1 of tests/internal/ (it
 * exports the _dal_* internals too); the plugins they load were linked
 * against the installed one (core/libdal-1.la).  Both have the soname
 * libdal-1.so.0, so a plugin's dependency must bind to the library the
 * program already has: two copies would mean two default registries and
 * GTypes registered twice.  This loads every plugin of the build tree and
 * of tests/plugins, then reads /proc/self/maps. */
#include "config.h"

#include <string.h>

#include <dal/dal.h>

#include "dal-test.h"

/* The distinct files mapped whose name contains "/libdal-1.so". */
static GPtrArray *
mapped_libdal (void)
{
  g_autofree char *maps = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, &error));
  g_assert_no_error (error);

  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *path = strchr (lines[i], '/');
      if (path == NULL || strstr (path, "/libdal-1.so") == NULL)
        continue;
      gboolean seen = FALSE;
      for (guint j = 0; j < files->len && !seen; j++)
        seen = g_str_equal (files->pdata[j], path);
      if (!seen)
        g_ptr_array_add (files, g_strdup (path));
    }
  return files;
}

static void
test_one_core (void)
{
  /* The fake plugins first, then the build tree's pgsync and pgasync. */
  g_autofree char *path = g_strdup_printf ("%s:%s", dal_test_env ("DAL_TEST_PLUGINS"),
                                           dal_test_env ("DAL_PLUGIN_PATH"));
  g_auto (GStrv) dirs = g_strsplit (path, ":", -1);
  g_autoptr (DalRegistry) registry = dal_registry_new ((const char *const *) dirs, FALSE);
  g_autoptr (GPtrArray) plugins = dal_registry_list (registry);

  const char *wanted[] = { "fakesync", "fakeasync", "pgsync", "pgasync" };
  for (guint w = 0; w < G_N_ELEMENTS (wanted); w++)
    {
      gboolean loaded = FALSE;
      for (guint i = 0; i < plugins->len; i++)
        {
          DalPlugin *plugin = plugins->pdata[i];
          if (g_str_equal (dal_plugin_get_name (plugin), wanted[w]))
            {
              g_assert_null (dal_plugin_get_load_error (plugin));
              loaded = TRUE;
            }
        }
      g_test_message ("plugin %s loaded: %d", wanted[w], loaded);
      g_assert_true (loaded);
    }

  g_autoptr (GPtrArray) files = mapped_libdal ();
  for (guint i = 0; i < files->len; i++)
    g_test_message ("mapped: %s", (const char *) files->pdata[i]);
  g_assert_cmpuint (files->len, ==, 1);
  /* ... and it is the check-only one, which this program linked. */
  g_assert_nonnull (strstr (files->pdata[0], "/tests/internal/.libs/libdal-1.so"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/build/one-core", test_one_core);
  return g_test_run ();
}
