/* dal-registry.h: from a URL's scheme to the plugin that serves it
 * (DalRegistry, DalPlugin). */
#ifndef DAL_REGISTRY_H
#define DAL_REGISTRY_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib.h>
#include <dal/dal-version.h>
#include <dal/dal-url.h>

G_BEGIN_DECLS

/**
 * DalRegistry:
 *
 * From a URL's scheme to the plugin that serves it.
 *
 * Each plugin is a loadable module with a small descriptor file beside it
 * ("pgsync.plugin") that says which dialect and driver names it serves.
 * Resolving a scheme reads descriptor files only and loads just the one
 * module that claims the scheme: no code of unrelated plugins runs.
 *
 * Search order:
 *
 *   1. the directories in DAL_PLUGIN_PATH (colon-separated; ignored in
 *      setuid/setgid programs);
 *   2. plugins preloaded into the program (libtool -dlpreopen; call
 *      LTDL_SET_PRELOADED_SYMBOLS() at the top of main());
 *   3. the installed plugin directory, or the directories in
 *      DAL_PLUGIN_SYSTEM_PATH when that is set (set it empty to keep
 *      installed plugins out, as the test suite does).
 *
 * The first place that has a plugin for the scheme wins; two plugins in
 * one directory claiming the same driver is an error.
 *
 * Loading safety: before a module is loaded, its descriptor file, the
 * module file (the libtool archive and the shared object it names, after
 * symbolic links) and the folders holding them must be owned by root or
 * by the user the program runs as (geteuid), and must not be writable by
 * group or others; otherwise the plugin is refused with a
 * %DAL_ERROR_PLUGIN_LOAD_FAILED error that says which file and what to
 * change ("chmod go-w …").  Preloaded plugins have no file: no check.
 *
 * Lifetimes: a DalRegistry is reference-counted and thread-safe.  Every
 * connection and pool opened through a registry holds a reference on it,
 * so dropping the caller's reference while they live is safe.  A
 * DalPlugin given out by dal_registry_resolve() or dal_registry_list()
 * stays valid as long as its registry lives.  A module, once loaded and
 * accepted, stays resident in the process (it is never unloaded, not even
 * when the last registry goes): its callbacks or threads may still run.
 * The default registry lives as long as the process.
 *
 * Most programs use the default registry (dal_registry_get_default(), or
 * %NULL where a registry is asked for); dal_registry_new() makes one with
 * a search path of its own.
 *
 * Since: 0.1
 */
typedef struct _DalRegistry DalRegistry;

/**
 * DalPlugin:
 *
 * What a registry knows of one plugin: its descriptor file's names, its
 * module file and, once it is loaded, its ABI version or why it could not
 * be loaded.  Given out by dal_registry_resolve() and dal_registry_list();
 * owned by its registry and valid as long as the registry lives.  Its
 * getters are thread-safe and return strings owned by the registry.
 *
 * Since: 0.1
 */
typedef struct _DalPlugin DalPlugin;

/**
 * DAL_TYPE_REGISTRY:
 *
 * The #GType of #DalRegistry, a boxed type (dal_registry_get_type()).
 *
 * Since: 0.1
 */
#define DAL_TYPE_REGISTRY (dal_registry_get_type ())
/**
 * dal_registry_get_type:
 *
 * Returns: the #GType of #DalRegistry, a boxed type whose copy is
 *   dal_registry_ref() and whose free is dal_registry_unref().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_registry_get_type (void) G_GNUC_CONST;

/**
 * DAL_TYPE_PLUGIN:
 *
 * The #GType of #DalPlugin, a boxed type (dal_plugin_get_type()).
 *
 * Since: 0.1
 */
#define DAL_TYPE_PLUGIN (dal_plugin_get_type ())
/**
 * dal_plugin_get_type:
 *
 * The #GType of #DalPlugin, a boxed type.  A #DalPlugin belongs to its
 * registry and is never copied: g_boxed_copy() on one returns the same
 * pointer and takes a reference on the registry it belongs to, and
 * g_boxed_free() drops that reference.  So a binding holding a plugin
 * keeps its registry (and so the plugin) alive.
 *
 * Returns: the #GType of #DalPlugin
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_plugin_get_type (void) G_GNUC_CONST;

/**
 * dal_registry_get_default:
 *
 * The registry that %NULL stands for in the calls taking one, and that
 * dal_connection_open(), dal_pool_open() and dal_url_parse() use: its
 * search path comes from DAL_PLUGIN_PATH and DAL_PLUGIN_SYSTEM_PATH and
 * its driver mappings from DAL_DRIVER_MAP, read once.  Thread-safe.
 *
 * Returns: (transfer none): the process-wide registry, set up from the
 *   environment on first use.  The process owns it: do not unref it
 *   (dal_registry_ref() on it is fine, with a matching unref).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalRegistry *dal_registry_get_default (void);

/**
 * dal_registry_new:
 * @search_path: (nullable) (array zero-terminated=1): directories to search,
 *   in order, or %NULL for DAL_PLUGIN_PATH
 * @include_system: whether to search the installed plugin directory (or
 *   DAL_PLUGIN_SYSTEM_PATH) and the preloaded plugins after @search_path
 *
 * A registry of its own: for a program that keeps its plugins apart
 * from the environment's, or a test.  No directory is read until a
 * scheme is resolved or the plugins are listed.  DAL_PLUGIN_SYSTEM_PATH
 * still replaces the installed plugin directory when @include_system is
 * %TRUE.
 *
 * Returns: (transfer full): a new registry; release it with
 *   dal_registry_unref().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalRegistry *dal_registry_new (const char * const *search_path,
                               gboolean include_system);

/**
 * dal_registry_ref:
 * @registry: a #DalRegistry
 *
 * Takes a reference; thread-safe.
 *
 * Returns: (transfer full): @registry
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalRegistry *dal_registry_ref (DalRegistry *registry);

/**
 * dal_registry_unref:
 * @registry: (nullable) (transfer full): a #DalRegistry
 *
 * Drops a reference; thread-safe.  The last one frees the registry and
 * its DalPlugin records.  Connections and pools opened through it hold
 * references of their own, so this is safe while they live.  Modules it
 * loaded stay resident.  %NULL is ignored.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_registry_unref (DalRegistry *registry);

/**
 * dal_registry_free:
 * @registry: (nullable) (transfer full): a #DalRegistry
 *
 * The same as dal_registry_unref(), kept for compatibility: before
 * registries were reference-counted this freed the registry.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_registry_free (DalRegistry *registry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalRegistry, dal_registry_unref)

/**
 * dal_registry_map_driver:
 * @registry: a #DalRegistry
 * @from_scheme: a scheme, e.g. "postgresql+psycopg"
 * @to_scheme: the scheme that serves it instead, e.g. "postgresql+asyncpg"
 *
 * Makes URLs with @from_scheme resolve as @to_scheme.  This is how a
 * configuration keeps an old driver name working on purpose; without it a
 * retired driver name is an error that names its replacement.  The
 * DAL_DRIVER_MAP environment variable ("from=to,from=to") does the same for
 * the default registry.  Schemes are compared in canonical form; a second
 * mapping of @from_scheme replaces the first.  Thread-safe; it affects
 * the URLs resolved afterwards.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_registry_map_driver (DalRegistry *registry, const char *from_scheme,
                              const char *to_scheme);

/**
 * dal_registry_resolve:
 * @registry: (nullable): a registry, or %NULL for the default one
 * @url: the URL whose scheme to resolve
 * @error: return location for a %DAL_ERROR_UNKNOWN_SCHEME,
 *   %DAL_ERROR_RETIRED_DRIVER or DAL_ERROR_PLUGIN_* error, or %NULL
 *
 * Finds the plugin serving @url's scheme (after the driver mappings, see
 * dal_registry_map_driver()) and loads it (once: later calls reuse it).
 * Thread-safe.  The errors say what to change: the schemes that are
 * served, the replacement of a retired driver, the file whose ownership
 * or mode is unsafe, the ABI a plugin was built for.
 *
 * Returns: (transfer none) (nullable): the plugin, owned by @registry
 *   and valid as long as @registry lives; %NULL with @error set.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalPlugin *dal_registry_resolve (DalRegistry *registry, const DalUrl *url,
                                 GError **error);

/**
 * dal_registry_list:
 * @registry: (nullable): a registry, or %NULL for the default one
 *
 * Finds every plugin on the search path and loads each (to read its ABI
 * version); a plugin that fails to load is listed with its error.
 *
 * Thread-safe.
 *
 * Returns: (transfer container) (element-type DalPlugin): the plugins,
 *   owned by @registry and valid as long as it lives, in search order
 *   (free the array with g_ptr_array_unref(), not the plugins).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GPtrArray *dal_registry_list (DalRegistry *registry);

/**
 * dal_registry_get_search_path:
 * @registry: (nullable): a registry, or %NULL for the default one
 *
 * Where @registry looks for plugins, for messages.
 *
 * Returns: (transfer full): the directories searched, in order, as text
 *   for messages ("a:b:c"), with "(preloaded)" where preloaded plugins
 *   are consulted.  Free it with g_free().
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char *dal_registry_get_search_path (DalRegistry *registry);

/**
 * dal_plugin_get_name:
 * @plugin: a #DalPlugin
 *
 * The plugin's name: the base name of the module its descriptor file
 * names (Module=pgsync gives "pgsync").
 *
 * Returns: (transfer none): the name, owned by the registry.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_plugin_get_name (const DalPlugin *plugin);

/**
 * dal_plugin_get_description:
 * @plugin: a #DalPlugin
 *
 * One line saying what the plugin is, from its descriptor file or, when
 * that has none, from the loaded module.
 *
 * Returns: (transfer none) (nullable): the description, owned by the
 *   registry, or %NULL when neither gives one.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_plugin_get_description (const DalPlugin *plugin);

/**
 * dal_plugin_get_dialect:
 * @plugin: a #DalPlugin
 *
 * The dialect the plugin serves.
 *
 * Returns: (transfer none): "postgresql", ...; owned by the registry.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_plugin_get_dialect (const DalPlugin *plugin);

/**
 * dal_plugin_get_drivers:
 * @plugin: a #DalPlugin
 *
 * The driver names the plugin serves: a URL "dialect+driver://" with one
 * of them resolves to it.
 *
 * Returns: (transfer none) (array zero-terminated=1): the driver names
 *   ("asyncpg"), owned by the registry.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char * const *dal_plugin_get_drivers (const DalPlugin *plugin);

/**
 * dal_plugin_is_dialect_default:
 * @plugin: a #DalPlugin
 *
 * Whether it serves the bare dialect ("postgresql://", no driver).
 *
 * Returns: %TRUE when it does.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_plugin_is_dialect_default (const DalPlugin *plugin);

/**
 * dal_plugin_get_filename:
 * @plugin: a #DalPlugin
 *
 * The plugin's module file.
 *
 * Returns: (transfer none) (type filename): the module file's path, or
 *   "(preloaded)" for a plugin linked into the program; owned by the
 *   registry.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_plugin_get_filename (const DalPlugin *plugin);

/**
 * dal_plugin_get_descriptor_filename:
 * @plugin: a #DalPlugin
 *
 * The plugin's descriptor file ("pgsync.plugin").
 *
 * Returns: (transfer none) (type filename): its path, or "(preloaded)"
 *   for a plugin linked into the program, which has none; owned by the
 *   registry.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_plugin_get_descriptor_filename (const DalPlugin *plugin);

/**
 * dal_plugin_get_abi_version:
 * @plugin: a #DalPlugin
 * @major: (out) (optional): where to store the major version, or %NULL
 * @minor: (out) (optional): where to store the minor version, or %NULL
 *
 * The plugin ABI the plugin was built for, known once it is loaded (also
 * when it was refused for that ABI); 0.0 before.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_plugin_get_abi_version (const DalPlugin *plugin, guint *major,
                                 guint *minor);

/**
 * dal_plugin_is_async:
 * @plugin: a #DalPlugin
 *
 * Whether it runs without blocking: it serves async calls itself, on the
 * caller's main context, rather than on a worker thread.  %FALSE until it
 * is loaded.
 *
 * Returns: %TRUE for a non-blocking plugin (pgasync).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_plugin_is_async (const DalPlugin *plugin);

/**
 * dal_plugin_get_load_error:
 * @plugin: a #DalPlugin
 *
 * Why the plugin could not be loaded, as dal_registry_list() reports it.
 *
 * Returns: (nullable) (transfer none): the error (a DAL_ERROR_PLUGIN_*
 *   one), owned by the registry, or %NULL when it loaded or was not tried.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const GError *dal_plugin_get_load_error (const DalPlugin *plugin);

G_END_DECLS

#endif /* DAL_REGISTRY_H */
