/* dal-registry.c: scheme -> plugin.
 *
 * Plugins are found by their descriptor files ("*.plugin", a GKeyFile);
 * a module is loaded (libltdl) only when its scheme is resolved or when
 * every plugin is listed, and only once its files pass the checks of
 * dal-plugin-files.c.  libltdl is not thread-safe: every lt_* call
 * happens under ltdl_lock.
 *
 * Lifetimes: a registry is reference-counted; connections and pools hold
 * a reference on the one their plugin came from (DalPlugin.registry).  A
 * module that was loaded and accepted is made resident and never closed,
 * and lt_dlexit() is never called: a connection's callbacks, a thread the
 * plugin started, or a GSource it attached may run its code at any time
 * until the process ends, and unloading it under them would crash far
 * from the cause.  Only a module refused at load (wrong ABI, no
 * descriptor, a table or descriptor that does not fit) is closed again,
 * when its registry goes: none of its functions was ever called. */
#include "config.h"

#include <string.h>
#include <ltdl.h>

#include "dal-private.h"
#include "dal-plugin-files.h"

#define DESCRIPTOR_GROUP "libdal Plugin"
#define DESCRIPTOR_SUFFIX ".plugin"
#define DESCRIPTOR_SYMBOL "dal_plugin_descriptor"
#define PRELOADED "(preloaded)"

struct _DalPlugin
{
  /* From the descriptor file (or, for preloaded plugins, the module). */
  char *name;
  char *description;
  char *dialect;
  char **drivers;
  char **aliases;          /* Aliases= of the descriptor file (or module) */
  gboolean dialect_default;
  char *dir;               /* search directory it came from; NULL if preloaded */
  char *descriptor_file;
  char *module_base;       /* dir/Module, without extension */

  DalRegistry *registry;   /* the registry it belongs to (not a reference) */

  /* Set once loaded (under the registry lock). */
  gboolean load_attempted;
  lt_dlhandle handle;
  char *filename;
  const DalPluginDescriptor *desc;
  DalPluginFuncs funcs;    /* the plugin's table, zero-padded to full size */
  GError *load_error;
};

/* A DalPlugin as a boxed type (dal-registry.h): the same pointer, holding
 * a reference on its registry. */
static DalPlugin *
plugin_boxed_copy (DalPlugin *plugin)
{
  dal_registry_ref (plugin->registry);
  return plugin;
}

static void
plugin_boxed_free (DalPlugin *plugin)
{
  dal_registry_unref (plugin->registry);
}

G_DEFINE_BOXED_TYPE (DalPlugin, dal_plugin, plugin_boxed_copy,
                     plugin_boxed_free)
G_DEFINE_BOXED_TYPE (DalRegistry, dal_registry, dal_registry_ref,
                     dal_registry_unref)

struct _DalRegistry
{
  gatomicrefcount ref_count;
  GMutex lock;
  char **dirs;             /* searched first, in order */
  char **system_dirs;      /* searched last */
  gboolean include_system; /* preloaded plugins and system_dirs */
  gboolean scanned;
  GPtrArray *plugins;      /* DalPlugin, in search order */
  GHashTable *driver_map;  /* canonical scheme -> canonical scheme */
  GHashTable *map_origin;  /* canonical scheme -> where it was mapped, for
                            * the mappings to warn about (DAL_DRIVER_MAP) */
};

/* Drivers that were renamed or removed: the error says what to use. */
static const struct
{
  const char *scheme;
  const char *replacement;
} retired_drivers[] = {
  { "postgresql+psycopg",
    "use postgresql+asyncpg:// for the application's queries and "
    "postgresql+psycopg2:// for schema migrations" },
};

static GMutex ltdl_lock;

/* -- plugins -- */

static void
dal_plugin_free (DalPlugin *plugin)
{
  g_free (plugin->name);
  g_free (plugin->description);
  g_free (plugin->dialect);
  g_strfreev (plugin->drivers);
  g_strfreev (plugin->aliases);
  g_free (plugin->dir);
  g_free (plugin->descriptor_file);
  g_free (plugin->module_base);
  g_free (plugin->filename);
  g_clear_error (&plugin->load_error);
  /* Accepted modules are resident (see the top of the file): only a
   * refused one is closed. */
  if (plugin->handle != NULL)
    {
      g_mutex_lock (&ltdl_lock);
      if (!lt_dlisresident (plugin->handle))
        lt_dlclose (plugin->handle);
      g_mutex_unlock (&ltdl_lock);
    }
  g_free (plugin);
}

static gboolean
plugin_serves_driver (const DalPlugin *plugin, const char *driver)
{
  return plugin->drivers != NULL
         && g_strv_contains ((const char * const *) plugin->drivers, driver);
}

/* Aliases of dialects, as descriptor files (Aliases=) and loaded
 * plugins (DalDialect.aliases) declare them, process-wide: alias ->
 * canonical name.  Only grows; the first declaration of an alias wins. */
static GMutex alias_lock;
static GHashTable *alias_map;

static void
record_aliases (const char *dialect, const char * const *aliases)
{
  g_mutex_lock (&alias_lock);
  if (alias_map == NULL)
    alias_map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (const char * const *a = aliases; a != NULL && *a != NULL; a++)
    if (!g_hash_table_contains (alias_map, *a) && strcmp (*a, dialect) != 0)
      g_hash_table_insert (alias_map, g_ascii_strdown (*a, -1),
                           g_ascii_strdown (dialect, -1));
  g_mutex_unlock (&alias_lock);
}

/* The canonical name of @dialect (lower case): itself when no one
 * declared it an alias.  Stable (the map never drops an entry). */
static const char *
alias_target (const char *dialect)
{
  const char *target = NULL;
  g_mutex_lock (&alias_lock);
  if (alias_map != NULL)
    target = g_hash_table_lookup (alias_map, dialect);
  g_mutex_unlock (&alias_lock);
  return target != NULL ? target : dialect;
}

/* Whether @plugin's dialect is called @dialect (canonical or alias). */
static gboolean
plugin_has_dialect (const DalPlugin *plugin, const char *dialect)
{
  return g_strcmp0 (alias_target (plugin->dialect), alias_target (dialect)) == 0
         || g_strv_contains ((const char * const *) plugin->aliases, dialect);
}

/* Whether @plugin serves @dialect with @driver (NULL: the bare dialect). */
static gboolean
plugin_serves (const DalPlugin *plugin, const char *dialect, const char *driver)
{
  if (!plugin_has_dialect (plugin, dialect))
    return FALSE;
  return driver == NULL ? plugin->dialect_default
                        : plugin_serves_driver (plugin, driver);
}

/* Canonical dialect name: "postgres" -> "postgresql" when a loaded
 * plugin declared the alias; unknown ones as they are (plugin_serves
 * also matches the aliases of the descriptor files).  Loads nothing. */
static char *
canonical_dialect (const char *dialect)
{
  g_autofree char *lower = g_ascii_strdown (dialect, -1);
  const DalDialect *known = _dal_dialect_find (lower);
  return g_strdup (known != NULL ? known->name : alias_target (lower));
}

/* A lower-case, stripped copy of a descriptor's string list; never NULL. */
static char **
lower_list (char **list)
{
  if (list == NULL)
    return g_new0 (char *, 1);
  for (char **d = list; *d != NULL; d++)
    {
      char *lower = g_ascii_strdown (g_strstrip (*d), -1);
      g_free (*d);
      *d = lower;
    }
  return list;
}

static char *
canonical_scheme (const char *scheme)
{
  g_autofree char *lower = g_ascii_strdown (scheme, -1);
  char *plus = strchr (lower, '+');
  if (plus != NULL)
    *plus = '\0';
  g_autofree char *dialect = canonical_dialect (lower);
  return plus != NULL ? g_strconcat (dialect, "+", plus + 1, NULL)
                      : g_steal_pointer (&dialect);
}

/* Reads one descriptor file; NULL (and a warning) if it is unusable. */
static DalPlugin *
plugin_from_descriptor (DalRegistry *registry, const char *dir, const char *path)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error))
    {
      g_warning ("ignoring plugin descriptor %s: %s", path, error->message);
      return NULL;
    }

  g_autofree char *module = g_key_file_get_string (kf, DESCRIPTOR_GROUP, "Module", NULL);
  g_autofree char *dialect = g_key_file_get_string (kf, DESCRIPTOR_GROUP, "Dialect", NULL);
  if (module == NULL || *module == '\0' || dialect == NULL || *dialect == '\0')
    {
      g_warning ("ignoring plugin descriptor %s: it needs Module= and Dialect= "
                 "in a [" DESCRIPTOR_GROUP "] group", path);
      return NULL;
    }

  DalPlugin *plugin = g_new0 (DalPlugin, 1);
  plugin->registry = registry;
  plugin->dir = g_strdup (dir);
  plugin->descriptor_file = g_strdup (path);
  plugin->module_base = g_path_is_absolute (module)
                          ? g_strdup (module)
                          : g_build_filename (dir, module, NULL);
  plugin->name = g_path_get_basename (module);
  plugin->dialect = canonical_dialect (dialect);
  plugin->drivers = lower_list (g_key_file_get_string_list (kf, DESCRIPTOR_GROUP, "Drivers", NULL, NULL));
  plugin->aliases = lower_list (g_key_file_get_string_list (kf, DESCRIPTOR_GROUP, "Aliases", NULL, NULL));
  record_aliases (plugin->dialect, (const char * const *) plugin->aliases);
  plugin->dialect_default = g_key_file_get_boolean (kf, DESCRIPTOR_GROUP, "DialectDefault", NULL);
  plugin->description = g_key_file_get_string (kf, DESCRIPTOR_GROUP, "Description", NULL);
  return plugin;
}

/* Whether @name (any case) is @d's name or one of its aliases. */
static gboolean
dialect_names (const DalDialect *d, const char *name)
{
  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (d->name, name) == 0)
    return TRUE;
  for (const char * const *a = d->aliases; a != NULL && *a != NULL; a++)
    if (g_ascii_strcasecmp (*a, name) == 0)
      return TRUE;
  return FALSE;
}

/* Checks a descriptor against this libdal's ABI and copies its table.
 * Called with the ltdl lock held (for the error text only). */
static gboolean
adopt_descriptor (DalPlugin *plugin, const DalPluginDescriptor *desc,
                  GError **error)
{
  const char *file = plugin->filename;

  if (desc->abi_major != DAL_PLUGIN_ABI_MAJOR || desc->abi_minor > DAL_PLUGIN_ABI_MINOR)
    {
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_ABI_MISMATCH,
        desc->abi_major != DAL_PLUGIN_ABI_MAJOR
          ? "Rebuild the plugin against this libdal (dal-plugin-1.pc), or "
            "install the libdal it was built for"
          : "Upgrade libdal, or use a build of the plugin made for this libdal",
        "plugin %s (%s) was built for plugin ABI %u.%u, but this libdal %s "
        "loads ABI %u.0 to %u.%u",
        plugin->name, file, desc->abi_major, desc->abi_minor,
        dal_version_string (), DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MAJOR,
        DAL_PLUGIN_ABI_MINOR);
      return FALSE;
    }

  /* Never read past the table the plugin was built with. */
  memset (&plugin->funcs, 0, sizeof plugin->funcs);
  if (desc->funcs != NULL)
    memcpy (&plugin->funcs, desc->funcs,
            MIN ((gsize) desc->funcs_size, sizeof plugin->funcs));

  const DalPluginFuncs *f = &plugin->funcs;
  if (f->close == NULL || (f->connect == NULL && f->connect_async == NULL)
      || (f->query == NULL && f->query_async == NULL))
    {
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED,
        "A plugin needs close, connect or connect_async, and query or "
        "query_async; fix the plugin",
        "plugin %s (%s) has an incomplete function table", plugin->name, file);
      return FALSE;
    }
  if (desc->dialect == NULL || desc->drivers == NULL)
    {
      *error = dal_error_new_hint (DAL_ERROR_PLUGIN_LOAD_FAILED,
                                   "Fix the plugin's DalPluginDescriptor",
                                   "plugin %s (%s) names no dialect or drivers",
                                   plugin->name, file);
      return FALSE;
    }
  const DalDialect *d = desc->abi_minor >= 5 ? desc->dialect_info : NULL;
  if (d != NULL
      && (d->name == NULL || !dialect_names (d, desc->dialect)
          || (d->n_options > 0 && d->options == NULL)))
    {
      *error = dal_error_new_hint (DAL_ERROR_PLUGIN_LOAD_FAILED,
                                   "Fix the plugin's DalDialect: its name is "
                                   "the descriptor's dialect",
                                   "plugin %s (%s) serves dialect %s but "
                                   "describes dialect %s", plugin->name, file,
                                   desc->dialect, d->name != NULL ? d->name : "(none)");
      return FALSE;
    }
  plugin->desc = desc;
  return TRUE;
}

/* An accepted module stays loaded for good (see the top of the file). */
static void
plugin_make_resident (DalPlugin *plugin)
{
  g_mutex_lock (&ltdl_lock);
  if (lt_dlmakeresident (plugin->handle) != 0)
    g_warning ("plugin %s: libltdl could not keep its module loaded: %s",
               plugin->name, lt_dlerror ());
  g_mutex_unlock (&ltdl_lock);
}

/* Whether the descriptor file's Aliases= and the module's dialect_info
 * name the same aliases (a module without dialect_info: none). */
static gboolean
aliases_agree (const DalPlugin *plugin)
{
  const DalPluginDescriptor *desc = plugin->desc;
  const DalDialect *d = desc->abi_minor >= 5 ? desc->dialect_info : NULL;
  const char * const *declared = d != NULL ? d->aliases : NULL;
  guint n = 0;

  for (const char * const *a = declared; a != NULL && *a != NULL; a++, n++)
    if (!g_strv_contains ((const char * const *) plugin->aliases, *a))
      return FALSE;
  return n == g_strv_length (plugin->aliases);
}

/* Once a plugin is adopted: its dialect becomes known to the process
 * (the module, whose static data that is, is resident). */
static void
plugin_learn_dialect (DalPlugin *plugin)
{
  const DalPluginDescriptor *desc = plugin->desc;
  const DalDialect *d = desc->abi_minor >= 5 ? desc->dialect_info : NULL;

  if (d == NULL)
    return;
  record_aliases (d->name, d->aliases);
  _dal_dialect_add (d);
}

/* For a plugin found through its descriptor file: the module must agree
 * with the file about what it serves. */
static gboolean
check_descriptor_agrees (DalPlugin *plugin, GError **error)
{
  const DalPluginDescriptor *desc = plugin->desc;
  g_autofree char *dialect = canonical_dialect (desc->dialect);
  gboolean ok = g_strcmp0 (dialect, plugin->dialect) == 0;

  for (char **d = plugin->drivers; ok && *d != NULL; d++)
    ok = g_strv_contains (desc->drivers, *d);
  ok = ok && aliases_agree (plugin);
  if (plugin->dialect_default && !(desc->flags & DAL_PLUGIN_DIALECT_DEFAULT))
    ok = FALSE;
  if (ok)
    return TRUE;

  g_autofree char *drivers = g_strjoinv (", ", (char **) desc->drivers);
  const DalDialect *d = desc->abi_minor >= 5 ? desc->dialect_info : NULL;
  g_autofree char *aliases = d != NULL && d->aliases != NULL
                               ? g_strjoinv (", ", (char **) d->aliases)
                               : NULL;
  *error = dal_error_new_hint (
    DAL_ERROR_PLUGIN_LOAD_FAILED,
    "Reinstall the plugin so that its descriptor file and module match "
    "(Dialect=, Aliases=, Drivers=, DialectDefault=)",
    "plugin %s: its descriptor file %s does not match its module %s, which "
    "serves dialect %s (aliases: %s) with drivers %s",
    plugin->name, plugin->descriptor_file, plugin->filename, desc->dialect,
    aliases != NULL && *aliases != '\0' ? aliases : "none", drivers);
  return FALSE;
}

static const DalPluginDescriptor *
lookup_descriptor (lt_dlhandle handle)
{
  /* lt_dlsym tries "<module>_LTX_dal_plugin_descriptor" first. */
  return lt_dlsym (handle, DESCRIPTOR_SYMBOL);
}

static gboolean
module_file_exists (const char *base)
{
  static const char *const exts[] = { ".la", LT_MODULE_EXT, "" };
  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      g_autofree char *path = g_strconcat (base, exts[i], NULL);
      if (*exts[i] != '\0' && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  return FALSE;
}

/* The shared object behind @base: base.so, else the dlname of base.la
 * beside it or in .libs (an uninstalled libtool module); NULL if none. */
static char *
shared_object_path (const char *base)
{
  g_autofree char *so = g_strconcat (base, LT_MODULE_EXT, NULL);
  if (g_file_test (so, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&so);

  g_autofree char *la = g_strconcat (base, ".la", NULL);
  g_autofree char *dlname = _dal_libtool_archive_get (la, "dlname");
  if (dlname == NULL)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (base);
  for (guint i = 0; i < 2; i++)
    {
      char *path = g_build_filename (dir, i == 0 ? "" : ".libs", dlname, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}

/* libltdl tries each of its loaders in turn and reports the last one's
 * failure: "file not found" from its preloaded-module loader, which hides
 * why the system's loader refused a file that is there (a library it
 * needs is missing, another architecture, not a shared object).  This
 * asks the system loader itself.  Called with the ltdl lock held. */
static char *
system_load_error (const char *base)
{
  const lt_dlvtable *vtable = lt_dlloader_find ("lt_dlopen");
  g_autofree char *path = shared_object_path (base);
  if (vtable == NULL || vtable->module_open == NULL || path == NULL)
    return NULL;
  lt_dlerror ();
  lt_module module = vtable->module_open (vtable->dlloader_data, path, NULL);
  if (module != NULL)
    {
      vtable->module_close (vtable->dlloader_data, module);
      return NULL;
    }
  const char *why = lt_dlerror ();
  return why != NULL ? g_strdup (why) : NULL;
}

/* Loads @plugin's module once; afterwards plugin->desc or plugin->load_error
 * is set.  Called with the registry lock held. */
static void
plugin_load (DalRegistry *registry, DalPlugin *plugin)
{
  if (plugin->load_attempted)
    return;
  plugin->load_attempted = TRUE;

  if (!module_file_exists (plugin->module_base))
    {
      g_autofree char *dir = g_path_get_dirname (plugin->module_base);
      g_autofree char *base = g_path_get_basename (plugin->module_base);
      plugin->load_error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_NOT_FOUND,
        "Reinstall the plugin, or fix Module= in the descriptor file",
        "plugin %s: descriptor file %s names module \"%s\", but neither "
        "%s.la nor %s%s is in %s",
        plugin->name, plugin->descriptor_file, base, base, base, LT_MODULE_EXT,
        dir);
      return;
    }
  if (!_dal_plugin_files_check (plugin->name, plugin->descriptor_file,
                                plugin->module_base, &plugin->load_error))
    return;

  g_mutex_lock (&ltdl_lock);
  lt_dladvise advise;
  lt_dladvise_init (&advise);
  lt_dladvise_ext (&advise);
  lt_dladvise_local (&advise);
  lt_dlhandle handle = lt_dlopenadvise (plugin->module_base, advise);
  lt_dladvise_destroy (&advise);

  if (handle == NULL)
    {
      g_autofree char *ltdl_why = g_strdup (lt_dlerror ());
      g_autofree char *system_why = system_load_error (plugin->module_base);
      const char *why = system_why != NULL ? system_why : ltdl_why;
      g_autofree char *path = dal_registry_get_search_path (registry);
      plugin->load_error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED,
        "Check that the plugin was built for this system and that the "
        "libraries it needs are installed (ldd shows what is missing)",
        "plugin %s could not be loaded from %s: %s (searched: %s)",
        plugin->name, plugin->module_base, why != NULL ? why : "unknown error",
        path);
      g_mutex_unlock (&ltdl_lock);
      return;
    }

  const lt_dlinfo *info = lt_dlgetinfo (handle);
  plugin->filename = g_strdup (info != NULL && info->filename != NULL
                                 ? info->filename
                                 : plugin->module_base);
  const DalPluginDescriptor *desc = lookup_descriptor (handle);
  if (desc == NULL)
    {
      plugin->load_error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED,
        "Make sure the file is a libdal plugin: it must export "
        "DAL_PLUGIN_DESCRIPTOR_SYMBOL (<module name>) from dal-plugin.h",
        "%s is not a libdal plugin: it exports neither %s_LTX_" DESCRIPTOR_SYMBOL
        " nor " DESCRIPTOR_SYMBOL,
        plugin->filename, plugin->name);
      lt_dlclose (handle);
      g_mutex_unlock (&ltdl_lock);
      return;
    }
  g_mutex_unlock (&ltdl_lock);

  plugin->handle = handle;
  if (!adopt_descriptor (plugin, desc, &plugin->load_error)
      || !check_descriptor_agrees (plugin, &plugin->load_error))
    plugin->desc = NULL;
  else
    {
      plugin_make_resident (plugin);
      plugin_learn_dialect (plugin);
    }
}

/* -- the registry -- */

static char **
split_path (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path != NULL ? path : "", G_SEARCHPATH_SEPARATOR_S, -1);
  GPtrArray *dirs = g_ptr_array_new ();
  for (char **p = parts; *p != NULL; p++)
    if (**p != '\0')
      g_ptr_array_add (dirs, g_strdup (*p));
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

/* @dirs (taken) without a folder named twice, or named in @before
 * already ("a/b/" is "a/b"): scanning a folder twice would make each of
 * its plugins conflict with itself. */
static char **
without_repeats (char **dirs, char * const *before)
{
  GPtrArray *kept = g_ptr_array_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       g_free, NULL);
  for (char * const *b = before; b != NULL && *b != NULL; b++)
    g_hash_table_add (seen, g_canonicalize_filename (*b, NULL));
  for (char **d = dirs; d != NULL && *d != NULL; d++)
    {
      char *key = g_canonicalize_filename (*d, NULL);
      if (g_hash_table_add (seen, key))
        g_ptr_array_add (kept, g_strdup (*d));
    }
  g_ptr_array_add (kept, NULL);
  g_strfreev (dirs);
  return (char **) g_ptr_array_free (kept, FALSE);
}

DalRegistry *
dal_registry_new (const char * const *search_path, gboolean include_system)
{
  DalRegistry *registry = g_new0 (DalRegistry, 1);
  g_atomic_ref_count_init (&registry->ref_count);
  g_mutex_init (&registry->lock);

  if (search_path != NULL)
    registry->dirs = g_strdupv ((char **) search_path);
  else
    registry->dirs = split_path (_dal_secure_getenv ("DAL_PLUGIN_PATH"));

  registry->include_system = include_system;
  const char *system_path = _dal_secure_getenv ("DAL_PLUGIN_SYSTEM_PATH");
  registry->system_dirs = split_path (system_path != NULL ? system_path : DAL_PLUGIN_DIR);
  registry->dirs = without_repeats (registry->dirs, NULL);
  registry->system_dirs = without_repeats (registry->system_dirs, registry->dirs);

  registry->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) dal_plugin_free);
  registry->driver_map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  registry->map_origin = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Once per process, and never undone: lt_dlexit() would unload every
   * module (see the top of the file). */
  static gsize ltdl_ready;
  if (g_once_init_enter (&ltdl_ready))
    {
      g_mutex_lock (&ltdl_lock);
      if (lt_dlinit () != 0)
        g_warning ("libltdl failed to initialise: %s", lt_dlerror ());
      g_mutex_unlock (&ltdl_lock);
      g_once_init_leave (&ltdl_ready, 1);
    }
  return registry;
}

/* The default registry: the process owns its one reference. */
static DalRegistry *default_registry;

DalRegistry *
dal_registry_ref (DalRegistry *registry)
{
  g_return_val_if_fail (registry != NULL, NULL);
  g_atomic_ref_count_inc (&registry->ref_count);
  return registry;
}

void
dal_registry_unref (DalRegistry *registry)
{
  if (registry == NULL)
    return;
  if (!g_atomic_ref_count_dec (&registry->ref_count))
    return;
  if (registry == g_atomic_pointer_get (&default_registry))
    {
      g_critical ("dal_registry_unref: the default registry was released "
                  "once too often; it belongs to the process (do not unref "
                  "what dal_registry_get_default() returns)");
      g_atomic_ref_count_init (&registry->ref_count);
      return;
    }
  g_ptr_array_unref (registry->plugins);
  g_hash_table_unref (registry->driver_map);
  g_hash_table_unref (registry->map_origin);
  g_strfreev (registry->dirs);
  g_strfreev (registry->system_dirs);
  g_mutex_clear (&registry->lock);
  g_free (registry);
}

void
dal_registry_free (DalRegistry *registry)
{
  dal_registry_unref (registry);
}

DalRegistry *
_dal_plugin_get_registry (const DalPlugin *plugin)
{
  return plugin->registry;
}

DalRegistry *
dal_registry_get_default (void)
{
  if (g_once_init_enter (&default_registry))
    {
      DalRegistry *r = dal_registry_new (NULL, TRUE);
      /* DAL_DRIVER_MAP="postgresql+psycopg=postgresql+asyncpg,…" */
      g_auto (GStrv) pairs = g_strsplit (_dal_secure_getenv ("DAL_DRIVER_MAP") != NULL
                                           ? _dal_secure_getenv ("DAL_DRIVER_MAP")
                                           : "",
                                         ",", -1);
      for (char **p = pairs; *p != NULL; p++)
        {
          char *eq = strchr (*p, '=');
          if (eq == NULL)
            {
              if (**p != '\0')
                g_warning ("DAL_DRIVER_MAP: ignoring \"%s\": write from=to, "
                           "e.g. postgresql+psycopg=postgresql+asyncpg", *p);
              continue;
            }
          *eq = '\0';
          dal_registry_map_driver (r, g_strstrip (*p), g_strstrip (eq + 1));
          g_hash_table_replace (r->map_origin, canonical_scheme (*p),
                                (gpointer) "DAL_DRIVER_MAP");
        }
      g_once_init_leave (&default_registry, r);
    }
  return default_registry;
}

void
dal_registry_map_driver (DalRegistry *registry, const char *from_scheme,
                         const char *to_scheme)
{
  g_return_if_fail (registry != NULL);
  g_return_if_fail (from_scheme != NULL && to_scheme != NULL);
  g_mutex_lock (&registry->lock);
  char *from = canonical_scheme (from_scheme);
  /* A mapping set in code is on purpose: no warning (unless it came from
   * DAL_DRIVER_MAP, which records its origin after this call). */
  g_hash_table_remove (registry->map_origin, from);
  g_hash_table_replace (registry->driver_map, from,
                        canonical_scheme (to_scheme));
  g_mutex_unlock (&registry->lock);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
scan_dir (DalRegistry *registry, const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, DESCRIPTOR_SUFFIX))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      DalPlugin *plugin = plugin_from_descriptor (registry, dir, path);
      if (plugin != NULL)
        g_ptr_array_add (registry->plugins, plugin);
    }
}

/* lt_dlpreload_open()'s callback has no user data: the registry being
 * scanned is passed here, under ltdl_lock. */
static DalRegistry *preload_target;

static int
add_preloaded (lt_dlhandle handle)
{
  const DalPluginDescriptor *desc = lookup_descriptor (handle);
  if (desc == NULL)
    return 0;  /* preloaded, but not a libdal plugin */

  DalPlugin *plugin = g_new0 (DalPlugin, 1);
  plugin->registry = preload_target;
  plugin->name = g_strdup (desc->name != NULL ? desc->name : "?");
  plugin->description = g_strdup (desc->description);
  plugin->dialect = canonical_dialect (desc->dialect != NULL ? desc->dialect : "");
  plugin->drivers = g_strdupv ((char **) desc->drivers);
  if (plugin->drivers == NULL)
    plugin->drivers = g_new0 (char *, 1);
  const DalDialect *d = desc->abi_minor >= 5 ? desc->dialect_info : NULL;
  plugin->aliases = d != NULL && d->aliases != NULL
                      ? g_strdupv ((char **) d->aliases) : g_new0 (char *, 1);
  record_aliases (plugin->dialect, (const char * const *) plugin->aliases);
  plugin->dialect_default = (desc->flags & DAL_PLUGIN_DIALECT_DEFAULT) != 0;
  plugin->descriptor_file = g_strdup (PRELOADED);
  plugin->filename = g_strdup (PRELOADED);
  plugin->load_attempted = TRUE;
  plugin->handle = handle;
  if (!adopt_descriptor (plugin, desc, &plugin->load_error))
    plugin->desc = NULL;
  else
    {
      if (lt_dlmakeresident (handle) != 0)  /* ltdl_lock is held */
        g_warning ("plugin %s: libltdl could not keep its module loaded: %s",
                   plugin->name, lt_dlerror ());
      if (d != NULL)
        _dal_dialect_add (d);
    }
  g_ptr_array_add (preload_target->plugins, plugin);
  return 0;
}

/* Reads every descriptor (no plugin code runs).  Registry lock held. */
static void
ensure_scanned (DalRegistry *registry)
{
  if (registry->scanned)
    return;
  registry->scanned = TRUE;

  for (char **d = registry->dirs; *d != NULL; d++)
    scan_dir (registry, *d);

  if (registry->include_system)
    {
      g_mutex_lock (&ltdl_lock);
      preload_target = registry;
      lt_dlpreload_open (NULL, add_preloaded);
      preload_target = NULL;
      g_mutex_unlock (&ltdl_lock);
      for (char **d = registry->system_dirs; *d != NULL; d++)
        scan_dir (registry, *d);
    }
}

/* The default registry's descriptor files declare the aliases the
 * process knows before any plugin is loaded: read them (no code runs)
 * before @registry, another one, matches a dialect. */
static void
ensure_default_scanned (DalRegistry *registry)
{
  DalRegistry *def = dal_registry_get_default ();
  if (def == registry)
    return;
  g_mutex_lock (&def->lock);
  ensure_scanned (def);
  g_mutex_unlock (&def->lock);
}

char *
dal_registry_get_search_path (DalRegistry *registry)
{
  if (registry == NULL)
    registry = dal_registry_get_default ();
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (char **d = registry->dirs; *d != NULL; d++)
    g_strv_builder_add (b, *d);
  if (registry->include_system)
    {
      g_strv_builder_add (b, PRELOADED);
      for (char **d = registry->system_dirs; *d != NULL; d++)
        g_strv_builder_add (b, *d);
    }
  g_auto (GStrv) all = g_strv_builder_end (b);
  return g_strjoinv (G_SEARCHPATH_SEPARATOR_S, all);
}

/* "postgresql+asyncpg (pgasync), postgresql+psycopg2 and postgresql (pgsync)" */
static char *
describe_installed (DalRegistry *registry)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < registry->plugins->len; i++)
    {
      DalPlugin *p = registry->plugins->pdata[i];
      if (s->len > 0)
        g_string_append (s, "; ");
      gboolean first = TRUE;
      for (char **d = p->drivers; *d != NULL; d++, first = FALSE)
        g_string_append_printf (s, "%s%s+%s", first ? "" : ", ", p->dialect, *d);
      if (p->dialect_default)
        g_string_append_printf (s, "%s%s", first ? "" : ", ", p->dialect);
      g_string_append_printf (s, " (%s)", p->name);
    }
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

static DalPlugin *
find_plugin (DalRegistry *registry, const char *scheme_text, const char *dialect,
             const char *driver, GError **error)
{
  DalPlugin *found = NULL;
  for (guint i = 0; i < registry->plugins->len; i++)
    {
      DalPlugin *p = registry->plugins->pdata[i];
      if (!plugin_serves (p, dialect, driver))
        continue;
      if (found == NULL)
        {
          found = p;
          continue;
        }
      /* A later directory is shadowed; the same directory is a conflict. */
      if (found->dir != NULL && g_strcmp0 (found->dir, p->dir) == 0)
        {
          *error = dal_error_new_hint (
            DAL_ERROR_PLUGIN_CONFLICT,
            "Remove one of them, or move it to another folder of "
            "DAL_PLUGIN_PATH (the first folder wins)",
            "two plugins in %s claim %s: %s (%s) and %s (%s)", p->dir,
            scheme_text, found->name, found->descriptor_file, p->name,
            p->descriptor_file);
          return NULL;
        }
      break;
    }
  return found;
}

DalPlugin *
dal_registry_resolve (DalRegistry *registry, const DalUrl *url, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  if (registry == NULL)
    registry = dal_registry_get_default ();

  ensure_default_scanned (registry);
  g_mutex_lock (&registry->lock);
  ensure_scanned (registry);

  const char *scheme = dal_url_get_scheme (url);
  const char *mapped = g_hash_table_lookup (registry->driver_map, scheme);
  g_autofree char *target = g_strdup (mapped != NULL ? mapped : scheme);
  char *plus = strchr (target, '+');
  const char *driver = NULL;
  if (plus != NULL)
    {
      *plus = '\0';
      driver = plus + 1;
    }
  const char *dialect = target;

  GError *local = NULL;
  DalPlugin *plugin = find_plugin (registry, scheme, dialect, driver, &local);
  const char *map_origin = mapped != NULL
                             ? g_hash_table_lookup (registry->map_origin, scheme)
                             : NULL;
  if (plugin == NULL && local == NULL)
    {
      if (mapped == NULL)
        local = _dal_retired_driver_error (scheme);
    }
  if (plugin == NULL && local == NULL)
    {
      g_autofree char *installed = describe_installed (registry);
      g_autofree char *path = dal_registry_get_search_path (registry);
      g_autofree char *shown = mapped != NULL
                                 ? g_strdup_printf ("%s:// (mapped to %s://)", scheme, mapped)
                                 : g_strdup_printf ("%s://", scheme);
      local = dal_error_new_hint (
        DAL_ERROR_UNKNOWN_SCHEME,
        "Use one of the installed schemes, install a plugin for this one, or "
        "add the folder that holds it to DAL_PLUGIN_PATH",
        "no plugin serves %s; installed: %s; searched: %s", shown,
        installed, path);
    }
  if (plugin != NULL)
    {
      plugin_load (registry, plugin);
      if (plugin->load_error != NULL)
        {
          local = g_error_copy (plugin->load_error);
          plugin = NULL;
        }
    }
  g_autofree char *mapped_copy = plugin != NULL && map_origin != NULL
                                   ? g_strdup (mapped) : NULL;
  g_mutex_unlock (&registry->lock);

  /* The URL may have been parsed before its dialect was known (another
   * registry, DAL_PLUGIN_PATH set later): check it now, before any I/O. */
  if (plugin != NULL && plugin->desc->abi_minor >= 5
      && !_dal_url_check_dialect (url, plugin->desc->dialect_info, &local))
    plugin = NULL;
  if (mapped_copy != NULL && plugin != NULL)
    _dal_driver_mapping_warn (scheme, mapped_copy, map_origin);
  if (local != NULL)
    g_propagate_error (error, local);
  return plugin;
}

const DalDialect *
_dal_registry_learn_dialect (DalRegistry *registry, const char *name)
{
  const DalDialect *learnt = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  if (registry == NULL)
    registry = dal_registry_get_default ();

  ensure_default_scanned (registry);
  g_mutex_lock (&registry->lock);
  ensure_scanned (registry);
  /* The dialect-default plugin first, then the others in search order. */
  for (guint pass = 0; learnt == NULL && pass < 2; pass++)
    for (guint i = 0; learnt == NULL && i < registry->plugins->len; i++)
      {
        DalPlugin *p = registry->plugins->pdata[i];
        if (!plugin_has_dialect (p, name) || p->dialect_default != (pass == 0))
          continue;
        plugin_load (registry, p);
        if (p->desc != NULL && p->desc->abi_minor >= 5)
          learnt = p->desc->dialect_info;
      }
  g_mutex_unlock (&registry->lock);
  /* The process keeps the first declaration of a name. */
  return learnt != NULL ? _dal_dialect_find (learnt->name) : NULL;
}

char *
_dal_registry_get_mapping (DalRegistry *registry, const char *scheme)
{
  if (registry == NULL)
    registry = dal_registry_get_default ();
  g_mutex_lock (&registry->lock);
  char *mapped = g_strdup (g_hash_table_lookup (registry->driver_map, scheme));
  g_mutex_unlock (&registry->lock);
  return mapped;
}

GError *
_dal_retired_driver_error (const char *scheme)
{
  for (guint i = 0; i < G_N_ELEMENTS (retired_drivers); i++)
    if (strcmp (scheme, retired_drivers[i].scheme) == 0)
      return dal_error_new_hint (
        DAL_ERROR_RETIRED_DRIVER,
        "Change the URL's scheme, or keep the old name on purpose by "
        "mapping it ([drivers] postgresql+psycopg = postgresql+asyncpg in "
        "dal.conf, DAL_DRIVER_MAP=postgresql+psycopg=postgresql+asyncpg "
        "or dal_registry_map_driver())",
        "the driver in %s:// was retired: %s", scheme,
        retired_drivers[i].replacement);
  return NULL;
}

/* Mappings warned about ("from\nto"), once per process. */
static GMutex mapping_warned_lock;
static GHashTable *mapping_warned;

void
_dal_driver_mapping_warn (const char *from, const char *to, const char *where)
{
  char *key = g_strconcat (from, "\n", to, NULL);
  gboolean first;

  g_mutex_lock (&mapping_warned_lock);
  if (mapping_warned == NULL)
    mapping_warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  first = g_hash_table_add (mapping_warned, key);
  g_mutex_unlock (&mapping_warned_lock);

  if (first)
    g_warning ("%s:// is used as %s:// because %s maps it; change the "
               "scheme where the URL is written, then remove the mapping",
               from, to, where);
}

void
_dal_driver_mapping_reset_warnings (void)
{
  g_mutex_lock (&mapping_warned_lock);
  g_clear_pointer (&mapping_warned, g_hash_table_unref);
  g_mutex_unlock (&mapping_warned_lock);
}

GPtrArray *
dal_registry_list (DalRegistry *registry)
{
  if (registry == NULL)
    registry = dal_registry_get_default ();

  g_mutex_lock (&registry->lock);
  ensure_scanned (registry);
  GPtrArray *list = g_ptr_array_new ();
  for (guint i = 0; i < registry->plugins->len; i++)
    {
      DalPlugin *p = registry->plugins->pdata[i];
      plugin_load (registry, p);
      g_ptr_array_add (list, p);
    }
  g_mutex_unlock (&registry->lock);
  return list;
}

/* -- plugin accessors -- */

const char *
dal_plugin_get_name (const DalPlugin *plugin)
{
  return plugin->name;
}

const char *
dal_plugin_get_description (const DalPlugin *plugin)
{
  if (plugin->description != NULL)
    return plugin->description;
  return plugin->desc != NULL ? plugin->desc->description : NULL;
}

const char *
dal_plugin_get_dialect (const DalPlugin *plugin)
{
  return plugin->dialect;
}

const char * const *
dal_plugin_get_drivers (const DalPlugin *plugin)
{
  return (const char * const *) plugin->drivers;
}

gboolean
dal_plugin_is_dialect_default (const DalPlugin *plugin)
{
  return plugin->dialect_default;
}

const char *
dal_plugin_get_filename (const DalPlugin *plugin)
{
  return plugin->filename != NULL ? plugin->filename : plugin->module_base;
}

const char *
dal_plugin_get_descriptor_filename (const DalPlugin *plugin)
{
  return plugin->descriptor_file;
}

void
dal_plugin_get_abi_version (const DalPlugin *plugin, guint *major, guint *minor)
{
  /* Known once loaded, even when it was refused. */
  const DalPluginDescriptor *desc = NULL;
  if (plugin->handle != NULL)
    {
      g_mutex_lock (&ltdl_lock);
      desc = lookup_descriptor (plugin->handle);
      g_mutex_unlock (&ltdl_lock);
    }
  if (major != NULL)
    *major = desc != NULL ? desc->abi_major : 0;
  if (minor != NULL)
    *minor = desc != NULL ? desc->abi_minor : 0;
}

gboolean
dal_plugin_is_async (const DalPlugin *plugin)
{
  return plugin->desc != NULL && plugin->funcs.query_async != NULL;
}

const GError *
dal_plugin_get_load_error (const DalPlugin *plugin)
{
  return plugin->load_error;
}

const DalPluginDescriptor *
_dal_plugin_get_descriptor (const DalPlugin *plugin)
{
  return plugin->desc;
}

const DalPluginFuncs *
_dal_plugin_get_funcs (const DalPlugin *plugin)
{
  return plugin->desc != NULL ? &plugin->funcs : NULL;
}
