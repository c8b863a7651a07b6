/* dal-config-url.c: the URLs a DalConfig gives (docs/config.md): the
 * source of highest precedence, its scheme rewritten by [drivers], the
 * key file's settings merged in as options; the migration URL, explicit
 * or derived.  Reading never changes the DalConfig.
 */
#include "config.h"

#include <string.h>

#include "dal-config-private.h"

/* The application URL's source (a new reference). */
static DalUrl *
base_url (DalConfig *config)
{
  DalConfigSetting *file = _dal_config_lookup (config, "database", "url");

  if (config->cmdline_url != NULL)
    return dal_url_ref (config->cmdline_url);
  if (config->env_dal_url != NULL)
    return dal_url_ref (config->env_dal_url);
  if (config->env_url != NULL)
    return dal_url_ref (config->env_url);
  if (file != NULL)
    return dal_url_ref (file->url);
  return dal_url_parse (DAL_CONFIG_DEFAULT_URL, NULL);
}

/* [drivers] rewrites @url's scheme (taking @url); a retired scheme that
 * nothing maps is an error. */
static DalUrl *
apply_drivers (DalConfig *config, DalUrl *url, const char *origin,
               GError **error)
{
  g_autoptr (DalUrl) owned = url;
  const char *scheme = dal_url_get_scheme (url);
  DalConfigSetting *alias = _dal_config_lookup (config, "drivers", scheme);

  if (alias != NULL)
    {
      const char *plus = strchr (alias->value, '+');
      _dal_driver_mapping_warn (scheme, alias->value, alias->origin);
      return dal_url_with_driver (url, plus != NULL ? plus + 1 : NULL, error);
    }

  GError *retired = _dal_retired_driver_error (scheme);
  if (retired != NULL)
    {
      g_autofree char *mapped = _dal_registry_get_mapping (NULL, scheme);
      if (mapped == NULL)
        {
          g_prefix_error (&retired, "the URL from %s: ", origin);
          g_propagate_error (error, retired);
          return NULL;
        }
      g_error_free (retired);
    }
  return g_steal_pointer (&owned);
}

static GError *
conflict_error (const DalConfigSetting *s, const char *name,
                const char *url_value, const char *origin)
{
  g_autofree char *hint = g_strdup_printf ("Set %s in one place only, or give "
                                           "it the same value in both", name);
  if (dal_url_option_is_secret (name))
    return dal_error_new_hint (DAL_ERROR_CONFIG_INVALID, hint,
                               "[%s] %s in %s conflicts with the %s the URL "
                               "from %s gives", s->section, s->key, s->origin,
                               name, origin);

  g_autofree char *mine = _dal_printable (s->value);
  g_autofree char *theirs = _dal_printable (url_value);
  return dal_error_new_hint (DAL_ERROR_CONFIG_INVALID, hint,
                             "[%s] %s = %s in %s conflicts with %s=%s in the "
                             "URL from %s", s->section, s->key, mine, s->origin,
                             name, theirs, origin);
}

/* The key file's settings merged into @url (taking it): [database]
 * password (@password_overrides: replacing the URL's; else only where
 * the URL has none), [pool] when @with_pool, [tls], [session]. */
static DalUrl *
merge_settings (DalConfig *config, DalUrl *url, const char *origin,
                gboolean with_pool, gboolean password_overrides,
                GError **error)
{
  g_autoptr (DalUrl) owned = url;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new ();
  g_autoptr (GString) options = NULL;
  DalConfigSetting *password = _dal_config_lookup (config, "database", "password");
  const DalDialect *dialect = _dal_dialect_find (dal_url_get_dialect (url));

  if (password != NULL
      && (password_overrides || dal_url_get_password (url) == NULL))
    {
      g_ptr_array_add (names, g_strdup ("password"));
      g_ptr_array_add (values, password->value);
    }

  for (guint i = 0; i < config->merged->len; i++)
    {
      const DalConfigSetting *s = g_ptr_array_index (config->merged, i);
      g_autofree char *name = NULL;

      if (strcmp (s->section, "pool") == 0)
        {
          if (!with_pool)
            continue;
          name = g_strconcat ("pool_", s->key, NULL);
        }
      else if (strcmp (s->section, "tls") == 0
               || strcmp (s->key, "application_name") == 0
               || strcmp (s->key, "client_encoding") == 0)
        name = g_strdup (s->key);
      else
        {
          /* [session]: one more setting in the dialect's session option */
          if (dialect == NULL || dialect->session_option == NULL)
            {
              g_propagate_error (error, dal_error_new_hint (
                DAL_ERROR_CONFIG_INVALID, "Remove the [session] section",
                "[session] %s in %s: %s:// URLs carry no session settings",
                s->key, s->origin, dal_url_get_dialect (url)));
              return NULL;
            }
          if (options == NULL)
            options = g_string_new (dal_url_get_option (url,
                                                        dialect->session_option));
          dialect->session_append (options, s->key, s->value);
          continue;
        }

      const char *current = dal_url_get_option (url, name);
      if (current != NULL && strcmp (current, s->value) != 0)
        {
          g_propagate_error (error, conflict_error (s, name, current, origin));
          return NULL;
        }
      g_ptr_array_add (names, g_steal_pointer (&name));
      g_ptr_array_add (values, s->value);
    }
  if (options != NULL)
    {
      g_ptr_array_add (names, g_strdup (dialect->session_option));
      g_ptr_array_add (values, options->str);
    }
  if (names->len == 0)
    return g_steal_pointer (&owned);

  g_ptr_array_add (names, NULL);
  g_ptr_array_add (values, NULL);
  DalUrl *merged = dal_url_with_options (url, (const char * const *) names->pdata,
                                         (const char * const *) values->pdata,
                                         error);
  if (merged == NULL)
    g_prefix_error (error, "the settings of the configuration merged into "
                    "the URL from %s: ", origin);
  return merged;
}

DalUrl *
dal_config_get_url (DalConfig *config, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  DalUrl *url = apply_drivers (config, base_url (config), config->url_origin,
                               error);
  if (url == NULL)
    return NULL;
  return merge_settings (config, url, config->url_origin, TRUE, TRUE, error);
}

/* The application URL as migrations use it (taking @url): the sync
 * driver, no pool options, no statement cache. */
static DalUrl *
derive_migration_url (DalUrl *url)
{
  g_autoptr (DalUrl) app = url;
  const char *driver = dal_url_get_driver (app);
  g_autoptr (DalUrl) sync = driver == NULL || strcmp (driver, "asyncpg") == 0
                              ? dal_url_with_driver (app, "psycopg2", NULL)
                              : dal_url_ref (app);
  static const char * const drop[] = { "statement_cache_size", NULL };
  g_autoptr (DalUrl) no_pool = _dal_url_without_pool_options (sync);
  return _dal_url_copy_without (no_pool, drop);
}

DalUrl *
dal_config_get_migration_url (DalConfig *config, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  DalConfigSetting *file = _dal_config_lookup (config, "database",
                                               "migration_url");
  const char *origin = config->migration_origin;
  g_autoptr (DalUrl) url = NULL;

  if (config->env_migration_url != NULL || file != NULL)
    {
      DalUrl *base = dal_url_ref (config->env_migration_url != NULL
                                    ? config->env_migration_url : file->url);
      base = apply_drivers (config, base, origin, error);
      if (base == NULL)
        return NULL;
      url = merge_settings (config, base, origin, FALSE, FALSE, error);
    }
  else
    {
      DalUrl *app = dal_config_get_url (config, error);
      url = app != NULL ? derive_migration_url (app) : NULL;
    }
  if (url == NULL)
    return NULL;

  if (dal_url_is_transaction_pooler (url))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                                             "Point the migration URL at the "
                                             "session port (5432) or the "
                                             "database's direct host: set "
                                             "migration_url in [database] of "
                                             "dal.conf, or DAL_MIGRATION_URL",
                                             "the migration URL (%s) leads to a "
                                             "transaction pooler (pooler_mode="
                                             "transaction, or Supabase's port "
                                             "6543), where each transaction may "
                                             "run on another server connection, "
                                             "but schema migrations need one "
                                             "session for their DDL and for the "
                                             "runner's session advisory lock",
                                             origin));
      return NULL;
    }
  return g_steal_pointer (&url);
}

DalConnection *
dal_config_open_connection (DalConfig *config, GCancellable *cancellable,
                            GError **error)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), NULL);

  g_autoptr (DalUrl) url = dal_config_get_url (config, error);
  if (url == NULL)
    return NULL;
  /* [pool] is for pools: a single connection leaves it out */
  g_autoptr (DalUrl) single = dal_url_without_pool_options (url);
  return dal_connection_open_url (NULL, single, cancellable, error);
}

DalPool *
dal_config_open_pool (DalConfig *config, GCancellable *cancellable,
                      GError **error)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), NULL);

  g_autoptr (DalUrl) url = dal_config_get_url (config, error);
  if (url == NULL)
    return NULL;
  return dal_pool_open_url (NULL, url, NULL, cancellable, error);
}
