/* dal-boxed.c: the plain public structs as boxed types, so that GValues
 * and language bindings (GObject Introspection) can hold them.  Each is
 * copied whole (they hold no pointers) and freed with g_free(). */
#include "config.h"

#include "dal-private.h"

static DalPoolSettings *
pool_settings_copy (const DalPoolSettings *settings)
{
  return g_memdup2 (settings, sizeof *settings);
}

G_DEFINE_BOXED_TYPE (DalPoolSettings, dal_pool_settings, pool_settings_copy,
                     g_free)

static DalPoolStats *
pool_stats_copy (const DalPoolStats *stats)
{
  return g_memdup2 (stats, sizeof *stats);
}

G_DEFINE_BOXED_TYPE (DalPoolStats, dal_pool_stats, pool_stats_copy, g_free)
