/* dal-dialect.c: the dialects the process knows.
 *
 * A dialect is described by the plugins that serve it (DalDialect, ABI
 * 1.5): the options its URLs may set, which are secrets, how the URL's
 * parts map to options.  The core holds no dialect of its own.  A
 * registry adds a plugin's dialect when it loads the plugin; the URL
 * parser asks for a dialect it does not know yet, and the default
 * registry then loads a plugin of that dialect (and of no other) to learn
 * it.  A dialect no plugin describes has no table: any option passes and
 * is handed to the plugin.
 *
 * The set only grows.  Its entries point into plugin modules, which stay
 * resident once they declared a dialect.
 */
#include "config.h"

#include <string.h>

#include "dal-private.h"

static GMutex known_lock;
static GPtrArray *known;  /* const DalDialect *, first declaration wins */

static gboolean
dialect_has_name (const DalDialect *dialect, const char *name)
{
  if (g_strcmp0 (dialect->name, name) == 0)
    return TRUE;
  for (const char * const *a = dialect->aliases; a != NULL && *a != NULL; a++)
    if (strcmp (*a, name) == 0)
      return TRUE;
  return FALSE;
}

/**
 * _dal_dialect_find:
 * @name: a dialect name, canonical or alias, in lower case
 *
 * Returns: (nullable): the dialect a loaded plugin declared under @name,
 *   or %NULL.  Nothing is loaded.
 */
const DalDialect *
_dal_dialect_find (const char *name)
{
  const DalDialect *found = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  g_mutex_lock (&known_lock);
  for (guint i = 0; known != NULL && found == NULL && i < known->len; i++)
    if (dialect_has_name (known->pdata[i], name))
      found = known->pdata[i];
  g_mutex_unlock (&known_lock);
  return found;
}

/**
 * _dal_dialect_add:
 * @dialect: a plugin's dialect (static data of a resident module)
 *
 * Makes @dialect known.  A name known already keeps its first
 * declaration (the PostgreSQL plugins each carry a copy of one table).
 */
void
_dal_dialect_add (const DalDialect *dialect)
{
  g_return_if_fail (dialect != NULL && dialect->name != NULL);

  g_mutex_lock (&known_lock);
  if (known == NULL)
    known = g_ptr_array_new ();
  gboolean seen = FALSE;
  for (guint i = 0; !seen && i < known->len; i++)
    seen = known->pdata[i] == dialect
           || strcmp (((const DalDialect *) known->pdata[i])->name,
                      dialect->name) == 0;
  if (!seen)
    g_ptr_array_add (known, (gpointer) dialect);
  g_mutex_unlock (&known_lock);
}

/**
 * _dal_dialect_lookup:
 * @name: a dialect name, canonical or alias, in lower case
 *
 * Returns: (nullable): the dialect called @name, learnt from the default
 *   registry's plugin for it when the process does not know it yet; %NULL
 *   when no plugin declares it.
 */
const DalDialect *
_dal_dialect_lookup (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  const DalDialect *dialect = _dal_dialect_find (name);
  if (dialect == NULL)
    dialect = _dal_registry_learn_dialect (NULL, name);
  return dialect;
}

/**
 * _dal_dialect_get_option:
 * @dialect: a dialect
 * @name: an option name (case-sensitive)
 *
 * Returns: (nullable): @dialect's option called @name.
 */
const DalUrlOption *
_dal_dialect_get_option (const DalDialect *dialect, const char *name)
{
  for (guint i = 0; dialect->options != NULL && i < dialect->n_options; i++)
    if (strcmp (dialect->options[i].name, name) == 0)
      return &dialect->options[i];
  return NULL;
}

/**
 * _dal_dialect_option_is_secret:
 * @dialect: (nullable): a dialect
 * @name: an option name
 *
 * Returns: whether @name is the option the URL's password sets, or one
 *   @dialect marks DAL_URL_OPTION_SECRET.  Without a dialect, "password".
 */
gboolean
_dal_dialect_option_is_secret (const DalDialect *dialect, const char *name)
{
  if (strcmp (name, "password") == 0)
    return TRUE;
  if (dialect == NULL)
    return FALSE;
  if (g_strcmp0 (dialect->password_option, name) == 0)
    return TRUE;
  const DalUrlOption *option = _dal_dialect_get_option (dialect, name);
  return option != NULL && (option->flags & DAL_URL_OPTION_SECRET) != 0;
}

/**
 * dal_url_option_is_secret:
 * @name: an option name
 *
 * Returns: whether @name is a secret in any dialect the process knows
 *   (or "password").
 */
gboolean
dal_url_option_is_secret (const char *name)
{
  gboolean secret = strcmp (name, "password") == 0;

  g_mutex_lock (&known_lock);
  for (guint i = 0; known != NULL && !secret && i < known->len; i++)
    secret = _dal_dialect_option_is_secret (known->pdata[i], name);
  g_mutex_unlock (&known_lock);
  return secret;
}
