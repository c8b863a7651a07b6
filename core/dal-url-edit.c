/* dal-url-edit.c: new URLs made from others (another driver, other
 * options).  A DalUrl is immutable: each edit builds a new one through the
 * parser's own steps (_dal_url_new, _dal_url_store_option,
 * _dal_url_finish: dal-url.c), so that an edited URL is checked exactly as
 * a parsed one.
 */
#include "config.h"

#include <string.h>

#include "dal-url-private.h"

/* Whether @name is one of the other spellings the URL's dialect reads
 * with its map_option (DalDialect.synonyms: asyncpg's ssl=). */
static gboolean
is_synonym (const DalUrl *url, const char *name)
{
  const DalDialect *d = url->info;
  return d != NULL && d->map_option != NULL && d->synonyms != NULL
         && g_strv_contains ((const char * const *) d->synonyms, name)
         && _dal_url_libdal_index (name) < 0
         && _dal_dialect_get_option (d, name) == NULL;
}

/* The option under which @name is stored: a synonym is stored as the
 * option the dialect's map_option says (asked with @value, or with %NULL
 * for a removal: which option the spelling stands for). */
static const char *
stored_name (const DalUrl *url, const char *name, const char *value)
{
  if (!is_synonym (url, name))
    return name;
  const char *mapped_value = NULL;
  const char *option = url->info->map_option (name, value, &mapped_value, NULL);
  return option != NULL ? option : name;
}

static gboolean
is_edited (const DalUrl *url, const char *name, const char * const *names,
           const char * const *values)
{
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    if (strcmp (stored_name (url, names[i], values != NULL ? values[i] : NULL),
                name) == 0)
      return TRUE;
  return FALSE;
}

/* A new, unfinished URL with the scheme dialect+@driver and every option
 * of @url except those in @skip (connection keywords or libdal's
 * options, nullable; @skip_values, nullable, their new values). */
static DalUrl *
copy_except (const DalUrl *url, const char *driver, const char * const *skip,
             const char * const *skip_values)
{
  DalUrl *copy = _dal_url_new (dal_url_get_dialect (url), driver);
  const char * const *keywords, * const *values;
  guint n = dal_url_get_keywords (url, &keywords, &values);

  for (guint i = 0; i < n; i++)
    if (!is_edited (url, keywords[i], skip, skip_values))
      _dal_url_store_option (copy, keywords[i], g_strdup (values[i]), NULL);

  guint n_libdal;
  const DalOptionInfo *libdal = _dal_libdal_options_get (&n_libdal);
  for (guint i = 0; i < n_libdal; i++)
    {
      const char *value = dal_url_get_option (url, libdal[i].name);
      if (value != NULL && !is_edited (url, libdal[i].name, skip, skip_values))
        _dal_url_store_option (copy, libdal[i].name, g_strdup (value), NULL);
    }
  return copy;
}

/*
 * dal_url_with_driver:
 * @url: a DalUrl
 * @driver: (nullable): a driver name, or %NULL for the bare dialect
 * @error: return location for a DAL_ERROR_URL_MALFORMED error
 *
 * Returns: (transfer full) (nullable): a copy of @url with the scheme
 *   dialect+@driver, or %NULL if @driver is not a valid driver name.
 */
DalUrl *
dal_url_with_driver (const DalUrl *url, const char *driver, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (driver != NULL && !_dal_url_check_driver_name (driver, error))
    return NULL;

  g_autofree char *lower = driver != NULL ? g_ascii_strdown (driver, -1) : NULL;
  g_autoptr (DalUrl) copy = copy_except (url, lower, NULL, NULL);
  if (!_dal_url_finish (copy, error))
    g_return_val_if_reached (NULL);  /* the same values passed before */
  return g_steal_pointer (&copy);
}

/*
 * dal_url_with_options:
 * @url: a DalUrl
 * @names: (array zero-terminated=1): option names, as a URL's query
 *   writes them (the dialect's options and synonyms, libdal's options)
 * @values: (array): one value per name; a %NULL value removes the option
 * @error: return location for a DAL_ERROR_URL_* error
 *
 * Returns: (transfer full) (nullable): a copy of @url with those options
 *   set, replaced or removed, checked as dal_url_parse() checks a URL; or
 *   %NULL with the error parsing would give.
 */
DalUrl *
dal_url_with_options (const DalUrl *url, const char * const *names,
                      const char * const *values, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (names != NULL && values != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (DalUrl) copy = copy_except (url, dal_url_get_driver (url), names,
                                         values);
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (values[i] != NULL)
        {
          if (!_dal_url_store_option (copy, names[i], g_strdup (values[i]), error))
            return NULL;
          continue;
        }
      /* Removing: the name must still be one the URL could set. */
      if (is_synonym (url, names[i]))
        continue;
      g_autoptr (DalUrl) scratch = _dal_url_new (dal_url_get_dialect (url), NULL);
      if (!_dal_url_store_option (scratch, names[i], g_strdup (""), error))
        return NULL;
    }
  if (!_dal_url_finish (copy, error))
    return NULL;
  return g_steal_pointer (&copy);
}

DalUrl *
dal_url_without_pool_options (const DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);
  /* the one implementation is the pool's (dal-pool-settings.c) */
  return _dal_url_without_pool_options ((DalUrl *) url);
}

/**
 * _dal_url_copy_without:
 * @url: a DalUrl
 * @libdal_names: (array zero-terminated=1): libdal options to leave out
 *
 * Returns: (transfer full): a copy of @url without the libdal options
 *   named (those it does not set are ignored).
 */
DalUrl *
_dal_url_copy_without (const DalUrl *url, const char * const *libdal_names)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_autoptr (DalUrl) copy = copy_except (url, dal_url_get_driver (url),
                                         libdal_names, NULL);
  if (!_dal_url_finish (copy, NULL))
    g_return_val_if_reached (NULL);
  return g_steal_pointer (&copy);
}
