/* test-registry.c: from a scheme to its plugin (core/dal-registry.c), over
 * the fake plugins of tests/plugins/ (see tests/plugins/local.mk). */
#include "config.h"

#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "dal-private.h"
#include "dal-test.h"

/* -- helpers -- */

/* $DAL_TEST_PLUGINS/@sub (the build tree's test plugin folders). */
static char *
plugin_dir (const char *sub)
{
  return g_build_filename (dal_test_env ("DAL_TEST_PLUGINS"), sub, NULL);
}

/* A registry searching exactly the given folders (NULL-terminated list of
 * sub-folders of $DAL_TEST_PLUGINS; "" is the good folder itself). */
static DalRegistry *
registry_new (const char *first, ...)
{
  g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  va_list ap;
  va_start (ap, first);
  for (const char *s = first; s != NULL; s = va_arg (ap, const char *))
    g_ptr_array_add (dirs, plugin_dir (s));
  va_end (ap);
  g_ptr_array_add (dirs, NULL);
  return dal_registry_new ((const char * const *) dirs->pdata, FALSE);
}

static DalUrl *
parse (const char *scheme)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("%s://user:pw@localhost/db", scheme);
  DalUrl *url = dal_url_parse (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (url);
  return url;
}

static DalPlugin *
resolve (DalRegistry *registry, const char *scheme, GError **error)
{
  g_autoptr (DalUrl) url = parse (scheme);
  DalPlugin *plugin = dal_registry_resolve (registry, url, error);
  /* Exactly one of the two. */
  g_assert_true ((plugin == NULL) != (error == NULL || *error == NULL));
  return plugin;
}

static DalPlugin *
resolve_ok (DalRegistry *registry, const char *scheme)
{
  g_autoptr (GError) error = NULL;
  DalPlugin *plugin = resolve (registry, scheme, &error);
  g_assert_no_error (error);
  return plugin;
}

#define assert_contains(haystack, needle) \
  G_STMT_START { \
    const char *h__ = (haystack), *n__ = (needle); \
    if (h__ == NULL || n__ == NULL || strstr (h__, n__) == NULL) \
      g_error ("%s:%d: \"%s\" does not contain \"%s\"", __FILE__, __LINE__, \
               h__ ? h__ : "(null)", n__ ? n__ : "(null)"); \
  } G_STMT_END

#define assert_not_contains(haystack, needle) \
  G_STMT_START { \
    const char *h__ = (haystack), *n__ = (needle); \
    if (strstr (h__, n__) != NULL) \
      g_error ("%s:%d: \"%s\" contains \"%s\"", __FILE__, __LINE__, h__, n__); \
  } G_STMT_END

static char *
abi_text (guint major, guint minor)
{
  return g_strdup_printf ("%u.%u", major, minor);
}

/* -- resolving -- */

static void
test_resolve_exact (void)
{
  DalRegistry *r = registry_new ("", NULL);
  g_autofree char *good = plugin_dir ("");

  DalPlugin *sync = resolve_ok (r, "test+sync");
  g_assert_cmpstr (dal_plugin_get_name (sync), ==, "fakesync");
  g_assert_cmpstr (dal_plugin_get_dialect (sync), ==, "test");
  g_assert_true (g_strv_contains (dal_plugin_get_drivers (sync), "sync"));
  g_assert_true (dal_plugin_is_dialect_default (sync));
  g_assert_false (dal_plugin_is_async (sync));
  g_assert_null (dal_plugin_get_load_error (sync));
  g_autofree char *sync_desc = g_build_filename (good, "fakesync.plugin", NULL);
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (sync), ==, sync_desc);
  /* The module actually loaded, from the good folder. */
  assert_contains (dal_plugin_get_filename (sync), good);
  assert_contains (dal_plugin_get_filename (sync), "fakesync");
  g_assert_true (g_file_test (dal_plugin_get_filename (sync), G_FILE_TEST_IS_REGULAR));
  /* The description comes from the descriptor file. */
  assert_contains (dal_plugin_get_description (sync), "Fake blocking plugin");

  guint major = 0, minor = 99;
  dal_plugin_get_abi_version (sync, &major, &minor);
  g_assert_cmpuint (major, ==, DAL_PLUGIN_ABI_MAJOR);
  g_assert_cmpuint (minor, ==, DAL_PLUGIN_ABI_MINOR);

  const DalPluginDescriptor *desc = _dal_plugin_get_descriptor (sync);
  g_assert_nonnull (desc);
  g_assert_cmpstr (desc->name, ==, "fakesync");
  const DalPluginFuncs *funcs = _dal_plugin_get_funcs (sync);
  g_assert_nonnull (funcs);
  g_assert_nonnull (funcs->connect);
  g_assert_nonnull (funcs->query);
  g_assert_null (funcs->connect_async);
  g_assert_null (funcs->query_async);
  g_assert_nonnull (funcs->close);
  g_assert_nonnull (funcs->get_info);

  DalPlugin *async = resolve_ok (r, "test+async");
  g_assert_true (async != sync);
  g_assert_cmpstr (dal_plugin_get_name (async), ==, "fakeasync");
  g_assert_true (dal_plugin_is_async (async));
  g_assert_false (dal_plugin_is_dialect_default (async));
  funcs = _dal_plugin_get_funcs (async);
  g_assert_null (funcs->connect);
  g_assert_null (funcs->query);
  g_assert_nonnull (funcs->connect_async);
  g_assert_nonnull (funcs->query_async);

  dal_registry_free (r);
}

static void
test_resolve_dialect_default (void)
{
  DalRegistry *r = registry_new ("", NULL);

  DalPlugin *bare = resolve_ok (r, "test");
  g_assert_true (bare == resolve_ok (r, "test+sync"));
  g_assert_true (dal_plugin_is_dialect_default (bare));

  /* A dialect without a default plugin does not resolve bare. */
  g_autoptr (GError) error = NULL;
  g_assert_null (resolve (r, "old", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_assert_nonnull (resolve_ok (r, "old+sync"));

  dal_registry_free (r);
}

/* A folder named twice in the search path (here once with a trailing
 * slash) is scanned once: its plugins do not conflict with themselves. */
static void
test_resolve_repeated_folder (void)
{
  g_autofree char *good = plugin_dir ("");
  g_autofree char *slash = g_strconcat (good, "/", NULL);
  const char *dirs[] = { good, slash, good, NULL };
  g_autoptr (DalRegistry) r = dal_registry_new (dirs, FALSE);

  DalPlugin *sync = resolve_ok (r, "test+sync");
  g_assert_cmpstr (dal_plugin_get_name (sync), ==, "fakesync");
  g_autofree char *path = dal_registry_get_search_path (r);
  g_assert_cmpstr (path, ==, good);
}

static void
test_resolve_alias_and_case (void)
{
  DalRegistry *r = registry_new ("", NULL);

  /* fakepg declares dialect postgresql, alias postgres (as the PostgreSQL
   * plugins do, in the descriptor file and in its DalDialect). */
  DalPlugin *pg = resolve_ok (r, "postgresql+fake");
  g_assert_cmpstr (dal_plugin_get_name (pg), ==, "fakepg");
  g_assert_cmpstr (dal_plugin_get_dialect (pg), ==, "postgresql");
  g_assert_true (resolve_ok (r, "postgres+fake") == pg);
  g_assert_true (resolve_ok (r, "POSTGRES+FAKE") == pg);
  g_assert_true (resolve_ok (r, "PostgreSQL+Fake") == pg);

  DalPlugin *sync = resolve_ok (r, "test+sync");
  g_assert_true (resolve_ok (r, "TEST+SYNC") == sync);
  g_assert_true (resolve_ok (r, "Test") == sync);
  g_assert_true (resolve_ok (r, "tEsT+aSyNc") == resolve_ok (r, "test+async"));

  dal_registry_free (r);
}

static void
test_unknown_scheme (void)
{
  DalRegistry *r = registry_new ("", NULL);
  g_autofree char *search_path = dal_registry_get_search_path (r);
  g_autofree char *good = plugin_dir ("");
  g_assert_cmpstr (search_path, ==, good);

  /* What the message must list: every scheme the folder's plugins serve,
   * as a separate registry sees them. */
  DalRegistry *lister = registry_new ("", NULL);
  g_autoptr (GPtrArray) plugins = dal_registry_list (lister);
  g_assert_cmpuint (plugins->len, >=, 5);

  const char *unknown[] = { "test+nosuch", "nosuch", "nosuch+sync", "postgresql" };
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (resolve (r, unknown[i], &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
      g_test_message ("%s", error->message);
      g_autofree char *shown = g_strdup_printf ("%s://", unknown[i]);
      assert_contains (error->message, shown);
      assert_contains (error->message, search_path);
      for (guint p = 0; p < plugins->len; p++)
        {
          DalPlugin *plugin = plugins->pdata[p];
          for (const char * const *d = dal_plugin_get_drivers (plugin); *d; d++)
            {
              g_autofree char *scheme = g_strdup_printf ("%s+%s",
                                                         dal_plugin_get_dialect (plugin), *d);
              assert_contains (error->message, scheme);
            }
          assert_contains (error->message, dal_plugin_get_name (plugin));
        }
      g_assert_nonnull (dal_error_get_hint (error));
      assert_contains (error->message, dal_error_get_hint (error));
    }

  /* An empty search path: nothing is installed, and the message says so. */
  DalRegistry *empty = registry_new ("does-not-exist", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (resolve (empty, "test+sync", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_autofree char *missing_dir = plugin_dir ("does-not-exist");
  assert_contains (error->message, missing_dir);
  assert_contains (error->message, "none");

  dal_registry_free (empty);
  dal_registry_free (lister);
  dal_registry_free (r);
}

static void
test_retired_driver (void)
{
  DalRegistry *r = registry_new ("", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_null (resolve (r, "postgresql+psycopg", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_RETIRED_DRIVER);
  g_test_message ("%s", error->message);
  assert_contains (error->message, "postgresql+psycopg://");
  assert_contains (error->message, "postgresql+asyncpg");
  assert_contains (error->message, "postgresql+psycopg2");
  /* The way out on purpose is named too. */
  assert_contains (dal_error_get_hint (error), "dal_registry_map_driver");
  g_clear_error (&error);

  /* Spelt with the alias and in capitals, it is the same scheme. */
  g_assert_null (resolve (r, "POSTGRES+PSYCOPG", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_RETIRED_DRIVER);

  dal_registry_free (r);
}

static void
test_map_driver (void)
{
  DalRegistry *r = registry_new ("", NULL);

  /* Mapped on purpose, the retired name resolves. */
  dal_registry_map_driver (r, "Postgres+Psycopg", "TEST+SYNC");
  DalPlugin *p = resolve_ok (r, "postgresql+psycopg");
  g_assert_true (p == resolve_ok (r, "test+sync"));

  /* A mapping overrides a scheme that has a plugin of its own. */
  dal_registry_map_driver (r, "test+sync", "test+async");
  g_assert_true (resolve_ok (r, "test+sync") == resolve_ok (r, "test+async"));
  /* ... and a bare dialect can be mapped too. */
  dal_registry_map_driver (r, "old", "old+sync");
  g_assert_cmpstr (dal_plugin_get_name (resolve_ok (r, "old")), ==, "oldfuncs");

  /* Mapped to a scheme nobody serves: the error names both. */
  dal_registry_map_driver (r, "postgresql+psycopg", "postgresql+asyncpg");
  g_autoptr (GError) error = NULL;
  g_assert_null (resolve (r, "postgresql+psycopg", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_test_message ("%s", error->message);
  assert_contains (error->message, "postgresql+psycopg");
  assert_contains (error->message, "postgresql+asyncpg");
  /* The scheme is shown as a scheme, not with "://" after the mapping. */
  assert_not_contains (error->message, ")://");

  dal_registry_free (r);
}

/* -- bad plugins -- */

/* What dlopen itself says about @path. */
static char *
system_loader_error (const char *path)
{
  void *h = dlopen (path, RTLD_NOW | RTLD_LOCAL);
  if (h != NULL)
    {
      dlclose (h);
      return NULL;
    }
  return g_strdup (dlerror ());
}

/* Resolves @scheme in the bad folder; checks the code, that a second
 * resolve gives the same error (the load is attempted once), and returns
 * the message. */
static char *
bad_error (DalRegistry *r, const char *scheme, DalErrorCode code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) again = NULL;
  g_assert_null (resolve (r, scheme, &error));
  g_assert_error (error, DAL_ERROR, (gint) code);
  g_test_message ("%s: %s", scheme, error->message);
  g_assert_null (resolve (r, scheme, &again));
  g_assert_error (again, DAL_ERROR, (gint) code);
  g_assert_cmpstr (again->message, ==, error->message);
  /* Every one says what to do. */
  g_assert_nonnull (dal_error_get_hint (error));
  g_assert_cmpstr (dal_error_get_hint (error), !=, "");
  return g_strdup (error->message);
}

static void
test_bad_abi_major (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+abi", DAL_ERROR_PLUGIN_ABI_MISMATCH);
  g_autofree char *theirs = abi_text (99, DAL_PLUGIN_ABI_MINOR);
  g_autofree char *ours = abi_text (DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR);
  assert_contains (msg, "badabi");
  assert_contains (msg, theirs);
  assert_contains (msg, ours);
  assert_contains (msg, dal_version_string ());

  /* Refused, but its version is known (and listed). */
  g_autoptr (GPtrArray) list = dal_registry_list (r);
  gboolean seen = FALSE;
  for (guint i = 0; i < list->len; i++)
    if (g_strcmp0 (dal_plugin_get_name (list->pdata[i]), "badabi") == 0)
      {
        guint major = 0, minor = 0;
        dal_plugin_get_abi_version (list->pdata[i], &major, &minor);
        g_assert_cmpuint (major, ==, 99);
        g_assert_cmpuint (minor, ==, DAL_PLUGIN_ABI_MINOR);
        g_assert_null (_dal_plugin_get_funcs (list->pdata[i]));
        seen = TRUE;
      }
  g_assert_true (seen);
  dal_registry_free (r);
}

static void
test_bad_abi_minor (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+newminor", DAL_ERROR_PLUGIN_ABI_MISMATCH);
  g_autofree char *theirs = abi_text (DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR + 1);
  g_autofree char *ours = abi_text (DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR);
  assert_contains (msg, "newminor");
  assert_contains (msg, theirs);
  assert_contains (msg, ours);
  dal_registry_free (r);
}

static void
test_bad_nosym (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+nosym", DAL_ERROR_PLUGIN_LOAD_FAILED);
  assert_contains (msg, "nosym_LTX_dal_plugin_descriptor");
  assert_contains (msg, "not a libdal plugin");
  dal_registry_free (r);
}

static void
test_bad_missing (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+missing", DAL_ERROR_PLUGIN_NOT_FOUND);
  g_autofree char *bad = plugin_dir ("bad");
  g_autofree char *descriptor = g_build_filename (bad, "missing.plugin", NULL);
  assert_contains (msg, descriptor);
  assert_contains (msg, "\"nothere\"");
  g_autofree char *in_dir = g_strdup_printf ("is in %s", bad);
  assert_contains (msg, in_dir);
  dal_registry_free (r);
}

static void
test_bad_not_a_shared_object (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+notaso", DAL_ERROR_PLUGIN_LOAD_FAILED);
  g_autofree char *search_path = dal_registry_get_search_path (r);
  g_autofree char *bad = plugin_dir ("bad");
  g_autofree char *file = g_build_filename (bad, "notaso.so", NULL);
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));

  /* The loader's own reason, not a generic one: what dlopen says about
   * the file, without the file name it starts with. */
  g_autofree char *why = system_loader_error (file);
  g_assert_nonnull (why);
  const char *reason = strstr (why, ": ") != NULL ? strstr (why, ": ") + 2 : why;
  g_test_message ("dlopen: %s", why);
  assert_contains (msg, reason);
  assert_not_contains (msg, "file not found");
  /* And where it looked. */
  g_autofree char *searched = g_strdup_printf ("searched: %s", search_path);
  assert_contains (msg, searched);
  assert_contains (msg, "notaso");
  dal_registry_free (r);
}

/* The same behind a libtool archive (brokenla.la names notaso.so). */
static void
test_bad_libtool_archive (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+brokenla", DAL_ERROR_PLUGIN_LOAD_FAILED);
  g_autofree char *bad = plugin_dir ("bad");
  g_autofree char *file = g_build_filename (bad, "notaso.so", NULL);
  g_autofree char *why = system_loader_error (file);
  g_assert_nonnull (why);
  const char *reason = strstr (why, ": ") != NULL ? strstr (why, ": ") + 2 : why;
  assert_contains (msg, reason);
  assert_contains (msg, "brokenla");
  dal_registry_free (r);
}

static void
test_bad_disagree (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "test+extra", DAL_ERROR_PLUGIN_LOAD_FAILED);
  g_autofree char *bad = plugin_dir ("bad");
  g_autofree char *descriptor = g_build_filename (bad, "disagree.plugin", NULL);
  assert_contains (msg, descriptor);
  assert_contains (msg, "fakesync");
  assert_contains (msg, "does not match");
  /* The same descriptor also claims test+sync, which the module serves:
   * still refused, as a whole. */
  g_autofree char *msg2 = bad_error (r, "test+sync", DAL_ERROR_PLUGIN_LOAD_FAILED);
  g_assert_cmpstr (msg2, ==, msg);
  dal_registry_free (r);
}

static void
test_bad_incomplete (void)
{
  DalRegistry *r = registry_new ("bad", NULL);
  g_autofree char *msg = bad_error (r, "bad+incomplete", DAL_ERROR_PLUGIN_LOAD_FAILED);
  assert_contains (msg, "incomplete");
  assert_contains (msg, "close");
  dal_registry_free (r);
}

static void
test_conflict (void)
{
  g_autofree char *conflict = plugin_dir ("conflict");
  g_autofree char *one = g_build_filename (conflict, "one.plugin", NULL);
  g_autofree char *two = g_build_filename (conflict, "two.plugin", NULL);

  DalRegistry *r = registry_new ("conflict", NULL);
  g_autofree char *msg = bad_error (r, "test+sync", DAL_ERROR_PLUGIN_CONFLICT);
  assert_contains (msg, conflict);
  assert_contains (msg, one);
  assert_contains (msg, two);
  assert_contains (msg, "test+sync");
  dal_registry_free (r);

  /* A conflict in a later folder does not matter: the first folder that
   * serves the scheme wins. */
  r = registry_new ("", "conflict", NULL);
  DalPlugin *p = resolve_ok (r, "test+sync");
  g_autofree char *good_desc = plugin_dir ("fakesync.plugin");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (p), ==, good_desc);
  dal_registry_free (r);
}

static void
test_shadowing (void)
{
  g_autofree char *shadow_desc = plugin_dir ("shadow/fakesync.plugin");
  g_autofree char *good_desc = plugin_dir ("fakesync.plugin");

  /* The first folder wins... */
  DalRegistry *r = registry_new ("shadow", "", NULL);
  DalPlugin *p = resolve_ok (r, "test+sync");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (p), ==, shadow_desc);
  /* ... scheme by scheme: the shadow copy is not the dialect default. */
  DalPlugin *bare = resolve_ok (r, "test");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (bare), ==, good_desc);
  g_assert_true (bare != p);
  dal_registry_free (r);

  /* In the other order, the other one. */
  r = registry_new ("", "shadow", NULL);
  p = resolve_ok (r, "test+sync");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (p), ==, good_desc);
  dal_registry_free (r);
}

static void
test_funcs_size (void)
{
  DalRegistry *r = registry_new ("", NULL);
  DalPlugin *old = resolve_ok (r, "old+sync");
  const DalPluginDescriptor *desc = _dal_plugin_get_descriptor (old);
  g_assert_nonnull (desc);

  /* The plugin's own table has get_info, but it says it was built before
   * that slot existed: the core must not read it. */
  g_assert_cmpuint (desc->funcs_size, <, sizeof (DalPluginFuncs));
  g_assert_cmpuint (desc->funcs_size, ==, offsetof (DalPluginFuncs, get_info));
  g_assert_nonnull (desc->funcs->get_info);
  /* An ABI 1.0 plugin (is_lost came with 1.1) is still accepted. */
  g_assert_cmpuint (desc->abi_minor, ==, 0);
  g_assert_cmpuint (DAL_PLUGIN_ABI_MINOR, >=, 1);
  g_assert_nonnull (desc->funcs->is_lost);
  const DalPluginFuncs *funcs = _dal_plugin_get_funcs (old);
  g_assert_nonnull (funcs);
  g_assert_true (funcs != desc->funcs);
  g_assert_null (funcs->get_info);
  g_assert_null (funcs->is_lost);
  /* What lies within funcs_size is copied. */
  g_assert_true (funcs->connect == desc->funcs->connect);
  g_assert_true (funcs->query == desc->funcs->query);
  g_assert_true (funcs->close == desc->funcs->close);

  /* Through a connection, get_info is absent as well. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("old+sync://someone@localhost/db", &error);
  g_assert_no_error (error);
  g_autoptr (DalConnection) conn = dal_connection_open_url (r, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (dal_connection_get_info (conn, "user"));

  /* The same fake with its full table answers. */
  g_autoptr (DalUrl) url2 = dal_url_parse ("test+sync://someone@localhost/db", &error);
  g_assert_no_error (error);
  g_autoptr (DalConnection) conn2 = dal_connection_open_url (r, url2, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *user = dal_connection_get_info (conn2, "user");
  g_assert_cmpstr (user, ==, "someone");

  g_clear_object (&conn);
  g_clear_object (&conn2);
  dal_registry_free (r);
}

static void
test_load_once (void)
{
  DalRegistry *r = registry_new ("", NULL);
  DalPlugin *first = resolve_ok (r, "test+sync");
  const char *filename = dal_plugin_get_filename (first);
  const DalPluginDescriptor *desc = _dal_plugin_get_descriptor (first);
  for (int i = 0; i < 20; i++)
    {
      DalPlugin *p = resolve_ok (r, i % 2 ? "test+sync" : "test");
      g_assert_true (p == first);
      g_assert_true (dal_plugin_get_filename (p) == filename);
      g_assert_true (_dal_plugin_get_descriptor (p) == desc);
    }
  /* Listing does not load it again either. */
  g_autoptr (GPtrArray) list = dal_registry_list (r);
  guint n = 0;
  for (guint i = 0; i < list->len; i++)
    if (g_strcmp0 (dal_plugin_get_name (list->pdata[i]), "fakesync") == 0)
      {
        g_assert_true (list->pdata[i] == first);
        n++;
      }
  g_assert_cmpuint (n, ==, 1);
  dal_registry_free (r);
}

/* -- listing -- */

typedef struct
{
  const char *name;
  DalErrorCode code;  /* -1: loads fine */
} Expected;

static void
check_list (GPtrArray *list, const char *dir, const Expected *expected, guint n)
{
  for (guint e = 0; e < n; e++)
    {
      DalPlugin *found = NULL;
      for (guint i = 0; i < list->len && found == NULL; i++)
        {
          DalPlugin *p = list->pdata[i];
          if (g_strcmp0 (dal_plugin_get_name (p), expected[e].name) == 0
              && g_str_has_prefix (dal_plugin_get_descriptor_filename (p), dir))
            found = p;
        }
      g_test_message ("listed: %s", expected[e].name);
      g_assert_nonnull (found);
      const GError *error = dal_plugin_get_load_error (found);
      if ((int) expected[e].code < 0)
        {
          g_assert_no_error ((GError *) error);
          g_assert_nonnull (_dal_plugin_get_descriptor (found));
        }
      else
        {
          g_assert_error ((GError *) error, DAL_ERROR, (gint) expected[e].code);
          g_assert_null (_dal_plugin_get_funcs (found));
        }
    }
}

static void
test_list (void)
{
  g_autofree char *good = plugin_dir ("");
  g_autofree char *bad = plugin_dir ("bad");
  DalRegistry *r = registry_new ("", "bad", NULL);
  g_autoptr (GPtrArray) list = dal_registry_list (r);

  static const Expected good_ones[] = {
    { "fakesync", -1 }, { "fakeasync", -1 }, { "fakepg", -1 },
    { "oldfuncs", -1 }, { "spy", -1 },
  };
  static const Expected bad_ones[] = {
    { "badabi", DAL_ERROR_PLUGIN_ABI_MISMATCH },
    { "newminor", DAL_ERROR_PLUGIN_ABI_MISMATCH },
    { "nosym", DAL_ERROR_PLUGIN_LOAD_FAILED },
    { "nothere", DAL_ERROR_PLUGIN_NOT_FOUND },
    { "notaso", DAL_ERROR_PLUGIN_LOAD_FAILED },
    { "brokenla", DAL_ERROR_PLUGIN_LOAD_FAILED },
    { "fakesync", DAL_ERROR_PLUGIN_LOAD_FAILED },   /* disagree.plugin */
    { "incomplete", DAL_ERROR_PLUGIN_LOAD_FAILED },
  };
  g_assert_cmpuint (list->len, ==, G_N_ELEMENTS (good_ones) + G_N_ELEMENTS (bad_ones));
  check_list (list, good, good_ones, G_N_ELEMENTS (good_ones));
  g_autofree char *bad_slash = g_strconcat (bad, G_DIR_SEPARATOR_S, NULL);
  check_list (list, bad_slash, bad_ones, G_N_ELEMENTS (bad_ones));

  /* In search order: the good folder's plugins first, each folder's in
   * the order of its descriptor files' names. */
  g_autofree char *good_slash = g_strconcat (good, G_DIR_SEPARATOR_S, NULL);
  for (guint i = 0; i < list->len; i++)
    {
      const char *d = dal_plugin_get_descriptor_filename (list->pdata[i]);
      if (i < G_N_ELEMENTS (good_ones))
        {
          g_assert_true (g_str_has_prefix (d, good_slash));
          g_assert_null (strchr (d + strlen (good_slash), G_DIR_SEPARATOR));
        }
      else
        g_assert_true (g_str_has_prefix (d, bad_slash));
      if (i > 0 && i != G_N_ELEMENTS (good_ones))
        g_assert_cmpint (strcmp (dal_plugin_get_descriptor_filename (list->pdata[i - 1]), d), <, 0);
    }

  /* Loaded plugins know their ABI. */
  for (guint i = 0; i < G_N_ELEMENTS (good_ones); i++)
    {
      guint major = 0, minor = 99;
      dal_plugin_get_abi_version (list->pdata[i], &major, &minor);
      g_assert_cmpuint (major, ==, DAL_PLUGIN_ABI_MAJOR);
      /* oldfuncs is an ABI 1.0 plugin, which this libdal still loads. */
      if (strcmp (dal_plugin_get_name (list->pdata[i]), "oldfuncs") == 0)
        g_assert_cmpuint (minor, ==, 0);
      else
        g_assert_cmpuint (minor, ==, DAL_PLUGIN_ABI_MINOR);
    }

  /* The list is a snapshot the caller owns; the plugins are the
   * registry's, and resolving gives the same ones. */
  DalPlugin *async = resolve_ok (r, "test+async");
  gboolean in_list = FALSE;
  for (guint i = 0; i < list->len; i++)
    in_list |= list->pdata[i] == async;
  g_assert_true (in_list);

  dal_registry_free (r);
}

/* -- the spy: resolving runs no code of other plugins -- */

static guint
count_lines (const char *file)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (file, &text, NULL, NULL))
    return 0;
  guint n = 0;
  for (const char *c = text; *c; c++)
    n += *c == '\n';
  return n;
}

static void
test_spy (void)
{
  if (!g_test_subprocess ())
    {
      /* A fresh process: the spy module must not be loaded already. */
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("dal-spy-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *file = g_build_filename (tmp, "spy.log", NULL);
  g_setenv ("DAL_TEST_SPY_FILE", file, TRUE);

  DalRegistry *r = registry_new ("", NULL);
  const char *others[] = { "test+sync", "test+async", "test", "postgres+fake",
                           "old+sync" };
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    g_assert_nonnull (resolve_ok (r, others[i]));
  g_assert_null (resolve (r, "nosuch+thing", &error));
  g_clear_error (&error);
  /* Nothing of the spy ran. */
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));

  /* Listing loads every plugin: now it ran, once. */
  g_autoptr (GPtrArray) list = dal_registry_list (r);
  g_assert_cmpuint (count_lines (file), ==, 1);
  /* Resolving it now uses the loaded module. */
  DalPlugin *spy = resolve_ok (r, "spy+spy");
  g_assert_cmpstr (dal_plugin_get_name (spy), ==, "spy");
  g_assert_cmpuint (count_lines (file), ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  dal_registry_free (r);

  g_unlink (file);
  g_rmdir (tmp);
  g_unsetenv ("DAL_TEST_SPY_FILE");
}

/* -- threads -- */

#define N_THREADS 8
#define N_ROUNDS 200

static const char *const thread_schemes[] = {
  "test+sync", "test+async", "test", "postgres+fake", "old+sync", "spy+spy",
  "bad+nosuch",
};

typedef struct
{
  DalRegistry *registry;
  DalUrl *urls[G_N_ELEMENTS (thread_schemes)];
  GMutex lock;
  GCond cond;
  gboolean go;
} ThreadShared;

typedef struct
{
  ThreadShared *shared;
  guint index;
  DalPlugin *seen[G_N_ELEMENTS (thread_schemes)];
  guint errors[G_N_ELEMENTS (thread_schemes)];
  guint mismatches;
} ThreadData;

static gpointer
resolve_thread (gpointer data)
{
  ThreadData *t = data;
  ThreadShared *s = t->shared;

  g_mutex_lock (&s->lock);
  while (!s->go)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      /* Each thread starts at another scheme, so that the first loads
       * race against each other. */
      guint k = (t->index + round) % G_N_ELEMENTS (thread_schemes);
      GError *error = NULL;
      DalPlugin *p = dal_registry_resolve (s->registry, s->urls[k], &error);
      if (p == NULL)
        {
          t->errors[k]++;
          g_error_free (error);
          continue;
        }
      if (t->seen[k] == NULL)
        t->seen[k] = p;
      else if (t->seen[k] != p)
        t->mismatches++;
    }
  return NULL;
}

static void
test_threads (void)
{
  ThreadShared s = { 0 };
  ThreadData data[N_THREADS] = { 0 };
  GThread *threads[N_THREADS];

  s.registry = registry_new ("", NULL);
  for (guint k = 0; k < G_N_ELEMENTS (thread_schemes); k++)
    s.urls[k] = parse (thread_schemes[k]);
  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);

  for (guint i = 0; i < N_THREADS; i++)
    {
      data[i].shared = &s;
      data[i].index = i;
      threads[i] = g_thread_new ("resolver", resolve_thread, &data[i]);
    }
  g_mutex_lock (&s.lock);
  s.go = TRUE;
  g_cond_broadcast (&s.cond);
  g_mutex_unlock (&s.lock);
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  /* Every thread saw the very plugin the registry resolves now; unknown
   * schemes failed every time. */
  for (guint k = 0; k < G_N_ELEMENTS (thread_schemes); k++)
    {
      GError *error = NULL;
      DalPlugin *expected = dal_registry_resolve (s.registry, s.urls[k], &error);
      g_test_message ("%s", thread_schemes[k]);
      for (guint i = 0; i < N_THREADS; i++)
        {
          g_assert_cmpuint (data[i].mismatches, ==, 0);
          if (expected != NULL)
            {
              g_assert_true (data[i].seen[k] == expected);
              g_assert_cmpuint (data[i].errors[k], ==, 0);
            }
          else
            {
              g_assert_null (data[i].seen[k]);
              g_assert_cmpuint (data[i].errors[k], >, 0);
            }
        }
      g_clear_error (&error);
    }
  g_assert_true (dal_registry_resolve (s.registry, s.urls[0], NULL)
                 == dal_registry_resolve (s.registry, s.urls[2], NULL));

  for (guint k = 0; k < G_N_ELEMENTS (thread_schemes); k++)
    dal_url_unref (s.urls[k]);
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
  dal_registry_free (s.registry);
}

/* Several registries, created, used and freed concurrently (libltdl's
 * global state is shared between them). */
static gpointer
registry_thread (gpointer data)
{
  DalUrl *url = data;
  for (int i = 0; i < 20; i++)
    {
      DalRegistry *r = registry_new ("", "bad", NULL);
      DalPlugin *p = dal_registry_resolve (r, url, NULL);
      g_assert_nonnull (p);
      g_autoptr (GPtrArray) list = dal_registry_list (r);
      g_assert_cmpuint (list->len, >, 5);
      dal_registry_free (r);
    }
  return NULL;
}

static void
test_threads_many_registries (void)
{
  GThread *threads[N_THREADS];
  DalUrl *urls[N_THREADS];
  for (guint i = 0; i < N_THREADS; i++)
    {
      urls[i] = parse (thread_schemes[i % 5]);
      threads[i] = g_thread_new ("registries", registry_thread, urls[i]);
    }
  for (guint i = 0; i < N_THREADS; i++)
    {
      g_thread_join (threads[i]);
      dal_url_unref (urls[i]);
    }
}

/* -- lifetimes -- */

static gpointer
ref_thread (gpointer data)
{
  DalRegistry *r = data;
  for (int i = 0; i < 1000; i++)
    {
      g_autoptr (DalRegistry) mine = dal_registry_ref (r);
      if (i % 100 == 0)
        g_assert_nonnull (resolve_ok (mine, "test+sync"));
    }
  return NULL;
}

static void
test_lifetime_ref (void)
{
  g_autoptr (DalRegistry) r = registry_new ("", NULL);
  g_assert_true (dal_registry_ref (r) == r);
  dal_registry_unref (r);
  g_assert_true (dal_registry_ref (r) == r);
  dal_registry_free (r);  /* the compatible name: also one unref */
  DalPlugin *p = resolve_ok (r, "test+sync");
  g_assert_cmpstr (dal_plugin_get_name (p), ==, "fakesync");
  /* NULL is fine, as for g_free(). */
  dal_registry_unref (NULL);
  dal_registry_free (NULL);

  /* From several threads at once. */
  GThread *threads[N_THREADS];
  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("refs", ref_thread, r);
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  g_assert_true (resolve_ok (r, "test+sync") == p);
}

/* The default registry belongs to the process: one unref too many is a
 * critical, not a crash. */
static void
test_lifetime_default_unref (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_failed ();
      g_test_trap_assert_stderr ("*default registry*belongs to the process*");
      return;
    }
  DalRegistry *def = dal_registry_get_default ();
  dal_registry_unref (dal_registry_ref (def));  /* balanced: fine */
  dal_registry_unref (def);
}

typedef struct
{
  gboolean done;
  DalConnection *conn;
  DalResult *result;
  GError *error;
} AsyncWait;

static void
open_done (GObject *source, GAsyncResult *res, gpointer data)
{
  AsyncWait *w = data;
  w->conn = dal_connection_open_url_finish (res, &w->error);
  w->done = TRUE;
}

static void
query_done (GObject *source, GAsyncResult *res, gpointer data)
{
  AsyncWait *w = data;
  w->result = dal_connection_query_finish (DAL_CONNECTION (source), res, &w->error);
  w->done = TRUE;
}

/* A connection holds its registry: the caller's reference can go first,
 * blocking (fakesync) or async (fakeasync), even while the open runs. */
static void
test_lifetime_connection (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr (DalUrl) url = parse (scheme);
  g_autoptr (GError) error = NULL;

  DalRegistry *r = registry_new ("", NULL);
  g_autoptr (DalConnection) conn = dal_connection_open_url (r, url, NULL, &error);
  g_assert_no_error (error);
  dal_registry_unref (r);
  g_autoptr (DalResult) rows = dal_connection_query (conn, "rows 3", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (rows), ==, 3);

  /* Dropped while the async open is under way. */
  AsyncWait w = { 0 };
  r = registry_new ("", NULL);
  dal_connection_open_url_async (r, url, NULL, open_done, &w);
  dal_registry_unref (r);
  dal_test_wait_for (&w.done, 10000);
  g_assert_no_error (w.error);
  g_assert_nonnull (w.conn);
  g_autoptr (DalConnection) conn2 = g_steal_pointer (&w.conn);
  w.done = FALSE;
  dal_connection_query_async (conn2, "rows 2", NULL, NULL, query_done, &w);
  dal_test_wait_for (&w.done, 10000);
  g_assert_no_error (w.error);
  g_assert_cmpuint (dal_result_get_n_rows (w.result), ==, 2);
  g_clear_pointer (&w.result, dal_result_unref);
  g_assert_cmpstr (dal_connection_get_plugin_name (conn2), ==,
                   dal_connection_get_plugin_name (conn));
  g_assert_true (dal_connection_close (conn2, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dal_connection_close (conn, NULL, &error));
  g_assert_no_error (error);
}

/* A pool holds the registry it opens its connections through. */
static void
test_lifetime_pool (void)
{
  g_autoptr (DalUrl) url = parse ("test+sync");
  g_autoptr (GError) error = NULL;
  DalRegistry *r = registry_new ("", NULL);
  g_autoptr (DalPool) pool = dal_pool_open_url (r, url, NULL, NULL, &error);
  g_assert_no_error (error);
  dal_registry_unref (r);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (DalResult) rows = dal_pool_query (pool, "rows 4", NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (dal_result_get_n_rows (rows), ==, 4);
    }
  dal_pool_close (pool);
}

/* Modules stay loaded once accepted: freeing the registry unloads
 * nothing, and a new registry in the same process works. */
static void
test_lifetime_resident (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  g_autoptr (GError) error = NULL;
  DalRegistry *r = registry_new ("", NULL);
  DalPlugin *p = resolve_ok (r, "test+async");
  g_autofree char *file = g_strdup (dal_plugin_get_filename (p));
  gconstpointer query_async = _dal_plugin_get_funcs (p)->query_async;
  dal_registry_unref (r);

  void *h = dlopen (file, RTLD_NOW | RTLD_NOLOAD);
  g_test_message ("%s after its registry went: %p", file, h);
  g_assert_nonnull (h);
  dlclose (h);

  r = registry_new ("", NULL);
  p = resolve_ok (r, "test+async");
  g_assert_true (_dal_plugin_get_funcs (p)->query_async == query_async);
  g_autoptr (DalUrl) url = parse ("test+async");
  g_autoptr (DalConnection) conn = dal_connection_open_url (r, url, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DalResult) rows = dal_connection_query (conn, "rows 1", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dal_result_get_n_rows (rows), ==, 1);
  dal_registry_unref (r);

  /* A refused module is not kept (it ran nothing). */
  r = registry_new ("bad", NULL);
  g_assert_null (resolve (r, "bad+abi", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_PLUGIN_ABI_MISMATCH);
  g_clear_error (&error);
  g_autofree char *badabi = plugin_dir (".libs/badabi.so");
  dal_registry_unref (r);
  h = dlopen (badabi, RTLD_NOW | RTLD_NOLOAD);
  g_assert_null (h);
}

/* -- loading safety -- */

/* A private folder (0700) holding a copy of fakesync: its module as
 * fakesync.so (0755) and a descriptor (0644), modes set explicitly
 * whatever the umask. */
static char *
perm_dir_new (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("dal-perm-XXXXXX", &error);
  g_assert_no_error (error);
  char *dir = realpath (tmp, NULL);
  g_assert_nonnull (dir);
  g_assert_cmpint (g_chmod (dir, 0700), ==, 0);

  DalRegistry *r = registry_new ("", NULL);
  const char *so = dal_plugin_get_filename (resolve_ok (r, "test+sync"));
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (so, &contents, &len, &error));
  dal_registry_unref (r);
  g_autofree char *copy = g_build_filename (dir, "fakesync" LT_MODULE_EXT, NULL);
  g_assert_true (g_file_set_contents (copy, contents, len, &error));
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  g_autofree char *desc = g_build_filename (dir, "fakesync.plugin", NULL);
  g_assert_true (g_file_set_contents (desc,
                                      "[libdal Plugin]\nModule=fakesync\n"
                                      "Dialect=test\nDrivers=sync;\n", -1, &error));
  g_assert_cmpint (g_chmod (desc, 0644), ==, 0);
  return dir;
}

static void
remove_tree (const char *dir)
{
  g_chmod (dir, 0700);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        remove_tree (path);
      else
        g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Resolving test+sync in @dir: refused, with each of the texts (NULL
 * terminated) in the message; or, with none, loaded from @dir. */
static void
perm_check (const char *dir, ...)
{
  const char *dirs[] = { dir, NULL };
  g_autoptr (DalRegistry) r = dal_registry_new (dirs, FALSE);
  g_autoptr (GError) error = NULL;
  DalPlugin *p = resolve (r, "test+sync", &error);
  va_list ap;
  va_start (ap, dir);
  const char *text = va_arg (ap, const char *);
  if (text == NULL)
    {
      g_assert_no_error (error);
      assert_contains (dal_plugin_get_filename (p), dir);
    }
  else
    {
      g_assert_error (error, DAL_ERROR, DAL_ERROR_PLUGIN_LOAD_FAILED);
      g_test_message ("refused: %s", error->message);
      assert_contains (error->message, "plugin fakesync is refused");
      for (; text != NULL; text = va_arg (ap, const char *))
        assert_contains (error->message, text);
      /* Listing shows the same refusal. */
      g_autoptr (GPtrArray) list = dal_registry_list (r);
      g_assert_cmpuint (list->len, ==, 1);
      g_assert_error ((GError *) dal_plugin_get_load_error (list->pdata[0]),
                      DAL_ERROR, DAL_ERROR_PLUGIN_LOAD_FAILED);
    }
  va_end (ap);
}

static void
test_safety_modes (void)
{
  g_autofree char *dir = perm_dir_new ();
  g_autofree char *so = g_build_filename (dir, "fakesync" LT_MODULE_EXT, NULL);
  g_autofree char *desc = g_build_filename (dir, "fakesync.plugin", NULL);
  g_autofree char *chmod_so = g_strdup_printf ("chmod go-w %s", so);
  g_autofree char *chmod_desc = g_strdup_printf ("chmod go-w %s", desc);
  g_autofree char *chmod_dir = g_strdup_printf ("chmod go-w %s", dir);

  /* As made: loads. */
  perm_check (dir, NULL);

  /* A world-writable module file. */
  g_assert_cmpint (g_chmod (so, 0757), ==, 0);
  perm_check (dir, "the file", so, "writable by others", "mode 0757", chmod_so, NULL);
  /* Group-writable is refused too. */
  g_assert_cmpint (g_chmod (so, 0775), ==, 0);
  perm_check (dir, "writable by its group", chmod_so, NULL);
  g_assert_cmpint (g_chmod (so, 0755), ==, 0);

  /* The descriptor file (it chooses the module). */
  g_assert_cmpint (g_chmod (desc, 0664), ==, 0);
  perm_check (dir, "the file", desc, "writable by its group", chmod_desc, NULL);
  g_assert_cmpint (g_chmod (desc, 0644), ==, 0);

  /* A group-writable folder. */
  g_assert_cmpint (g_chmod (dir, 0770), ==, 0);
  perm_check (dir, "the folder", "writable by its group", chmod_dir, NULL);
  /* Sticky, world-writable (as /tmp): refused all the same. */
  g_assert_cmpint (g_chmod (dir, 01777), ==, 0);
  perm_check (dir, "the folder", "writable by others", chmod_dir, NULL);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  perm_check (dir, NULL);

  remove_tree (dir);
}

/* Symbolic links are followed: the file the loader opens, and its folder,
 * are what count. */
static void
test_safety_symlinks (void)
{
  g_autofree char *dir = perm_dir_new ();
  g_autofree char *other = perm_dir_new ();
  g_autofree char *so = g_build_filename (dir, "fakesync" LT_MODULE_EXT, NULL);
  g_autofree char *target = g_build_filename (other, "fakesync" LT_MODULE_EXT, NULL);
  g_autofree char *chmod_other = g_strdup_printf ("chmod go-w %s", other);
  g_autofree char *chmod_target = g_strdup_printf ("chmod go-w %s", target);

  g_assert_cmpint (g_unlink (so), ==, 0);
  g_assert_cmpint (symlink (target, so), ==, 0);
  perm_check (dir, NULL);

  g_assert_cmpint (g_chmod (other, 0777), ==, 0);
  perm_check (dir, "the folder", "writable by others", chmod_other, NULL);
  g_assert_cmpint (g_chmod (other, 0700), ==, 0);
  g_assert_cmpint (g_chmod (target, 0666), ==, 0);
  perm_check (dir, "the file", chmod_target, NULL);
  g_assert_cmpint (g_chmod (target, 0755), ==, 0);

  /* A dangling link: no module there. */
  g_assert_cmpint (g_unlink (target), ==, 0);
  const char *dirs[] = { dir, NULL };
  g_autoptr (DalRegistry) r = dal_registry_new (dirs, FALSE);
  g_autoptr (GError) error = NULL;
  g_assert_null (resolve (r, "test+sync", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_PLUGIN_NOT_FOUND);

  remove_tree (other);
  remove_tree (dir);
}

/* Through a libtool archive: the archive, and the shared object it names
 * in .libs/, are checked. */
static void
test_safety_libtool_archive (void)
{
  g_autofree char *dir = perm_dir_new ();
  g_autofree char *so = g_build_filename (dir, "fakesync" LT_MODULE_EXT, NULL);
  g_autofree char *libs = g_build_filename (dir, ".libs", NULL);
  g_autofree char *libs_so = g_build_filename (libs, "fakesync" LT_MODULE_EXT, NULL);
  g_autofree char *la = g_build_filename (dir, "fakesync.la", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (libs, 0755), ==, 0);
  g_assert_cmpint (g_chmod (libs, 0755), ==, 0);
  g_assert_cmpint (g_rename (so, libs_so), ==, 0);
  g_assert_true (g_file_set_contents (la,
                                      "# fakesync.la - a libtool library file\n"
                                      "dlname='fakesync" LT_MODULE_EXT "'\n"
                                      "installed=no\n"
                                      "shouldnotlink=yes\n"
                                      "libdir='/nowhere'\n", -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (la, 0644), ==, 0);
  perm_check (dir, NULL);

  g_assert_cmpint (g_chmod (libs, 0777), ==, 0);
  perm_check (dir, "the folder", libs, "writable by others", NULL);
  g_assert_cmpint (g_chmod (libs, 0755), ==, 0);
  g_assert_cmpint (g_chmod (la, 0646), ==, 0);
  perm_check (dir, "the file", la, NULL);

  remove_tree (dir);
}

/* Owned by someone else (as root: given to nobody). */
static void
test_safety_owner (void)
{
  if (geteuid () != 0)
    {
      g_test_skip ("only root can give a file away");
      return;
    }
  struct passwd *nobody = getpwnam ("nobody");
  if (nobody == NULL || nobody->pw_uid == 0)
    {
      g_test_skip ("no user \"nobody\"");
      return;
    }
  uid_t uid = nobody->pw_uid;
  g_autofree char *dir = perm_dir_new ();
  g_autofree char *so = g_build_filename (dir, "fakesync" LT_MODULE_EXT, NULL);
  g_autofree char *owner = g_strdup_printf ("owned by uid %u", (guint) uid);
  g_autofree char *chown_so = g_strdup_printf ("chown root %s", so);
  g_autofree char *chown_dir = g_strdup_printf ("chown root %s", dir);

  g_assert_cmpint (chown (so, uid, (gid_t) -1), ==, 0);
  perm_check (dir, "the file", so, owner, chown_so, NULL);
  g_assert_cmpint (chown (so, 0, (gid_t) -1), ==, 0);
  g_assert_cmpint (chown (dir, uid, (gid_t) -1), ==, 0);
  perm_check (dir, "the folder", owner, chown_dir, NULL);
  g_assert_cmpint (chown (dir, 0, (gid_t) -1), ==, 0);
  perm_check (dir, NULL);

  remove_tree (dir);
}

/* -- the environment -- */

/* Runs in a subprocess: the environment of the test process is left alone. */
static void
test_env_plugin_path (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_autofree char *good = plugin_dir ("");
  g_autofree char *nowhere = plugin_dir ("does-not-exist");

  /* Colon-separated; empty elements are ignored. */
  g_autofree char *path = g_strdup_printf (":%s::%s:", nowhere, good);
  g_setenv ("DAL_PLUGIN_PATH", path, TRUE);
  DalRegistry *r = dal_registry_new (NULL, FALSE);
  g_autofree char *search = dal_registry_get_search_path (r);
  g_autofree char *expected = g_strjoin (G_SEARCHPATH_SEPARATOR_S, nowhere, good, NULL);
  g_assert_cmpstr (search, ==, expected);
  DalPlugin *p = resolve_ok (r, "test+sync");
  g_autofree char *desc = plugin_dir ("fakesync.plugin");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (p), ==, desc);
  dal_registry_free (r);

  /* The order of the variable is the search order. */
  g_autofree char *shadow = plugin_dir ("shadow");
  g_autofree char *path2 = g_strjoin (G_SEARCHPATH_SEPARATOR_S, shadow, good, NULL);
  g_setenv ("DAL_PLUGIN_PATH", path2, TRUE);
  r = dal_registry_new (NULL, FALSE);
  g_autofree char *shadow_desc = plugin_dir ("shadow/fakesync.plugin");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (resolve_ok (r, "test+sync")), ==,
                   shadow_desc);
  dal_registry_free (r);

  /* Read when the registry is made, not later. */
  g_setenv ("DAL_PLUGIN_PATH", good, TRUE);
  r = dal_registry_new (NULL, FALSE);
  g_unsetenv ("DAL_PLUGIN_PATH");
  g_assert_nonnull (resolve_ok (r, "test+sync"));
  dal_registry_free (r);

  /* Unset or empty: no folder at all. */
  const char *nothing[] = { NULL, "", ":::" };
  for (guint i = 0; i < G_N_ELEMENTS (nothing); i++)
    {
      if (nothing[i] == NULL)
        g_unsetenv ("DAL_PLUGIN_PATH");
      else
        g_setenv ("DAL_PLUGIN_PATH", nothing[i], TRUE);
      r = dal_registry_new (NULL, FALSE);
      g_autofree char *empty = dal_registry_get_search_path (r);
      g_assert_cmpstr (empty, ==, "");
      g_autoptr (GError) error = NULL;
      g_assert_null (resolve (r, "test+sync", &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
      dal_registry_free (r);
    }

  /* An explicit search path ignores the variable. */
  g_setenv ("DAL_PLUGIN_PATH", nowhere, TRUE);
  r = registry_new ("", NULL);
  g_autofree char *explicit_path = dal_registry_get_search_path (r);
  g_assert_cmpstr (explicit_path, ==, good);
  dal_registry_free (r);
}

static void
test_env_system_path (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_autofree char *good = plugin_dir ("");
  g_autofree char *bad = plugin_dir ("bad");
  const char *dirs[] = { good, NULL };

  /* Empty: no system folder, but preloaded plugins are still consulted. */
  g_setenv ("DAL_PLUGIN_SYSTEM_PATH", "", TRUE);
  DalRegistry *r = dal_registry_new (dirs, TRUE);
  g_autofree char *p1 = dal_registry_get_search_path (r);
  g_autofree char *e1 = g_strjoin (G_SEARCHPATH_SEPARATOR_S, good, "(preloaded)", NULL);
  g_assert_cmpstr (p1, ==, e1);
  g_autoptr (GError) error = NULL;
  g_assert_null (resolve (r, "bad+abi", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_clear_error (&error);
  dal_registry_free (r);

  /* Set: searched after the explicit folders, empty elements ignored. */
  g_autofree char *sys = g_strdup_printf ("%s::", bad);
  g_setenv ("DAL_PLUGIN_SYSTEM_PATH", sys, TRUE);
  r = dal_registry_new (dirs, TRUE);
  g_autofree char *p2 = dal_registry_get_search_path (r);
  g_autofree char *e2 = g_strjoin (G_SEARCHPATH_SEPARATOR_S, good, "(preloaded)", bad, NULL);
  g_assert_cmpstr (p2, ==, e2);
  /* bad+abi lives only there: found (and refused for its ABI). */
  g_assert_null (resolve (r, "bad+abi", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_PLUGIN_ABI_MISMATCH);
  g_clear_error (&error);
  /* test+sync is in both: the explicit folder wins over the system one
   * (whose copy would fail to load). */
  DalPlugin *p = resolve_ok (r, "test+sync");
  g_autofree char *desc = plugin_dir ("fakesync.plugin");
  g_assert_cmpstr (dal_plugin_get_descriptor_filename (p), ==, desc);
  dal_registry_free (r);

  /* Without include_system, neither preloaded nor system folders. */
  r = dal_registry_new (dirs, FALSE);
  g_autofree char *p3 = dal_registry_get_search_path (r);
  g_assert_cmpstr (p3, ==, good);
  g_assert_null (resolve (r, "bad+abi", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNKNOWN_SCHEME);
  g_clear_error (&error);
  dal_registry_free (r);

  /* Unset: the installed folder, whatever it is, comes after
   * "(preloaded)". */
  g_unsetenv ("DAL_PLUGIN_SYSTEM_PATH");
  r = dal_registry_new (dirs, TRUE);
  g_autofree char *p4 = dal_registry_get_search_path (r);
  g_autofree char *prefix = g_strconcat (e1, G_SEARCHPATH_SEPARATOR_S, NULL);
  g_assert_true (g_str_has_prefix (p4, prefix));
  g_assert_cmpuint (strlen (p4), >, strlen (prefix));
  dal_registry_free (r);
}

/* The child of the setuid run: it becomes nobody (real and effective),
 * then runs the setuid-root copy, so that its real uid is nobody's and
 * its effective uid root's. */
static void
become_nobody (gpointer data)
{
  const struct passwd *nobody = data;
  if (setgroups (0, NULL) != 0 || setgid (nobody->pw_gid) != 0
      || setuid (nobody->pw_uid) != 0)
    _exit (127);
}

/* DAL_PLUGIN_PATH is ignored in a setuid program: a setuid-root copy of
 * tests/dal-test-suid, run by nobody, sees no folder.  The effective user
 * is root, so the loader can read the build tree wherever it is (a
 * checkout in /root).  Needs root (to run as nobody) and a file system
 * that honours setuid bits. */
static void
test_env_setuid (void)
{
  const char *helper = g_getenv ("DAL_TEST_SUID_HELPER");
  struct passwd *nobody = getpwnam ("nobody");
  if (helper == NULL || geteuid () != 0 || nobody == NULL || nobody->pw_uid == 0)
    {
      g_test_skip ("needs root, a user \"nobody\" and DAL_TEST_SUID_HELPER");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("dal-suid-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);  /* nobody runs what it holds */
  g_autofree char *copy = g_build_filename (tmp, "dal-test-suid", NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (helper, &contents, &len, &error));
  g_assert_true (g_file_set_contents (copy, contents, len, &error));
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);

  g_autofree char *good = plugin_dir ("");
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "DAL_PLUGIN_PATH", good, TRUE);
  const char *argv[] = { copy, NULL };
  char *out = NULL;
  g_autofree char *err = NULL;
  gint status = 0;

  /* Not setuid: the variable counts. */
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL,
                               NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_autofree char *expected = g_strdup_printf ("uid=0 euid=0 path=%s\n", good);
  g_assert_cmpstr (out, ==, expected);
  g_clear_pointer (&out, g_free);

  /* Setuid root, run by nobody: ignored. */
  g_assert_cmpint (g_chmod (copy, 04755), ==, 0);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT,
                               become_nobody, nobody, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("setuid: %s%s", out, err);
  g_autofree char *setuid_expected = g_strdup_printf ("uid=%u euid=0 path=\n",
                                                      (guint) nobody->pw_uid);
  g_autofree char *nosuid = g_strdup_printf ("uid=%u euid=%u ",
                                             (guint) nobody->pw_uid,
                                             (guint) nobody->pw_uid);
  if (g_str_has_prefix (out, nosuid))
    g_test_skip ("the file system ignores setuid bits (nosuid)");
  else
    g_assert_cmpstr (out, ==, setuid_expected);
  g_free (out);

  g_unlink (copy);
  g_rmdir (tmp);
}

/* The default registry reads DAL_PLUGIN_PATH and DAL_DRIVER_MAP once. */
static void
test_default_registry (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_autofree char *good = plugin_dir ("");
  g_setenv ("DAL_PLUGIN_PATH", good, TRUE);
  g_setenv ("DAL_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_setenv ("DAL_DRIVER_MAP", " postgresql+psycopg = test+async ,bogus,,old=old+sync", TRUE);

  g_test_expect_message ("dal", G_LOG_LEVEL_WARNING, "*DAL_DRIVER_MAP*bogus*");
  DalRegistry *def = dal_registry_get_default ();
  g_test_assert_expected_messages ();
  g_assert_true (dal_registry_get_default () == def);

  g_autofree char *search = dal_registry_get_search_path (NULL);
  g_autofree char *expected = g_strjoin (G_SEARCHPATH_SEPARATOR_S, good, "(preloaded)", NULL);
  g_assert_cmpstr (search, ==, expected);

  /* A mapping from DAL_DRIVER_MAP is used with one warning per process. */
  g_test_expect_message ("dal", G_LOG_LEVEL_WARNING,
                         "*postgresql+psycopg:// is used as test+async://*DAL_DRIVER_MAP*");
  DalPlugin *p = resolve_ok (NULL, "postgresql+psycopg");
  g_test_assert_expected_messages ();
  g_assert_cmpstr (dal_plugin_get_name (p), ==, "fakeasync");
  g_assert_true (resolve_ok (NULL, "postgresql+psycopg") == p);
  g_assert_true (resolve_ok (def, "test+async") == p);
  g_test_expect_message ("dal", G_LOG_LEVEL_WARNING, "*old:// is used as old+sync://*");
  g_assert_cmpstr (dal_plugin_get_name (resolve_ok (NULL, "old")), ==, "oldfuncs");
  g_test_assert_expected_messages ();

  /* Changing the environment later changes nothing. */
  g_setenv ("DAL_PLUGIN_PATH", "/nowhere", TRUE);
  g_autoptr (GPtrArray) list = dal_registry_list (NULL);
  g_assert_cmpuint (list->len, >=, 5);

  /* dal_connection_open () uses it. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open ("test+sync://u@h/db", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_connection_get_plugin_name (conn), ==, "fakesync");
}

/* The version the headers give, the library's, and the checks on both. */
static void
test_version (void)
{
  g_autofree char *headers = g_strdup_printf ("%d.%d.%d", DAL_MAJOR_VERSION,
                                              DAL_MINOR_VERSION,
                                              DAL_MICRO_VERSION);

  g_assert_cmpstr (dal_version_string (), ==, headers);
  g_assert_true (DAL_CHECK_VERSION (DAL_MAJOR_VERSION, DAL_MINOR_VERSION,
                                    DAL_MICRO_VERSION));
  g_assert_true (DAL_CHECK_VERSION (0, 0, 1));
  g_assert_false (DAL_CHECK_VERSION (DAL_MAJOR_VERSION + 1, 0, 0));
  g_assert_false (DAL_CHECK_VERSION (DAL_MAJOR_VERSION, DAL_MINOR_VERSION,
                                     DAL_MICRO_VERSION + 1));
  g_assert_null (dal_check_version (DAL_MAJOR_VERSION, DAL_MINOR_VERSION,
                                    DAL_MICRO_VERSION));
  g_assert_null (dal_check_version (DAL_MAJOR_VERSION, 0, 0));
  assert_contains (dal_check_version (DAL_MAJOR_VERSION, DAL_MINOR_VERSION + 1, 0),
                   "older");
  assert_contains (dal_check_version (DAL_MAJOR_VERSION + 1, 0, 0),
                   "major");
  g_assert_cmpint (DAL_VERSION_CUR_STABLE, ==,
                   DAL_ENCODE_VERSION (DAL_MAJOR_VERSION, DAL_MINOR_VERSION));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/registry/version", test_version);
  g_test_add_func ("/registry/resolve/exact", test_resolve_exact);
  g_test_add_func ("/registry/resolve/dialect-default", test_resolve_dialect_default);
  g_test_add_func ("/registry/resolve/alias-and-case", test_resolve_alias_and_case);
  g_test_add_func ("/registry/resolve/repeated-folder", test_resolve_repeated_folder);
  g_test_add_func ("/registry/resolve/unknown-scheme", test_unknown_scheme);
  g_test_add_func ("/registry/resolve/retired-driver", test_retired_driver);
  g_test_add_func ("/registry/resolve/map-driver", test_map_driver);
  g_test_add_func ("/registry/bad/abi-major", test_bad_abi_major);
  g_test_add_func ("/registry/bad/abi-minor", test_bad_abi_minor);
  g_test_add_func ("/registry/bad/no-symbol", test_bad_nosym);
  g_test_add_func ("/registry/bad/missing-module", test_bad_missing);
  g_test_add_func ("/registry/bad/not-a-shared-object", test_bad_not_a_shared_object);
  g_test_add_func ("/registry/bad/libtool-archive", test_bad_libtool_archive);
  g_test_add_func ("/registry/bad/descriptor-disagrees", test_bad_disagree);
  g_test_add_func ("/registry/bad/incomplete-table", test_bad_incomplete);
  g_test_add_func ("/registry/bad/conflict", test_conflict);
  g_test_add_func ("/registry/shadowing", test_shadowing);
  g_test_add_func ("/registry/funcs-size", test_funcs_size);
  g_test_add_func ("/registry/load-once", test_load_once);
  g_test_add_func ("/registry/list", test_list);
  g_test_add_func ("/registry/spy", test_spy);
  g_test_add_func ("/registry/threads/one-registry", test_threads);
  g_test_add_func ("/registry/threads/many-registries", test_threads_many_registries);
  g_test_add_func ("/registry/env/plugin-path", test_env_plugin_path);
  g_test_add_func ("/registry/env/system-path", test_env_system_path);
  g_test_add_func ("/registry/env/default-registry", test_default_registry);
  g_test_add_func ("/registry/env/setuid", test_env_setuid);
  g_test_add_func ("/registry/lifetime/ref", test_lifetime_ref);
  g_test_add_func ("/registry/lifetime/default-unref", test_lifetime_default_unref);
  g_test_add_data_func ("/registry/lifetime/connection/sync", "test+sync",
                        test_lifetime_connection);
  g_test_add_data_func ("/registry/lifetime/connection/async", "test+async",
                        test_lifetime_connection);
  g_test_add_func ("/registry/lifetime/pool", test_lifetime_pool);
  g_test_add_func ("/registry/lifetime/resident", test_lifetime_resident);
  g_test_add_func ("/registry/safety/modes", test_safety_modes);
  g_test_add_func ("/registry/safety/symlinks", test_safety_symlinks);
  g_test_add_func ("/registry/safety/libtool-archive", test_safety_libtool_archive);
  g_test_add_func ("/registry/safety/owner", test_safety_owner);

  return g_test_run ();
}
