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

/*
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

/* -- the TLS inputs' names, for a configuration (dal-config.c) -- */

/* Every input of DalDialectTls; the TLS settings first, then the server
 * names (not [tls] keys). */
static const gsize inputs[] = {
  G_STRUCT_OFFSET (DalDialectTls, mode),
  G_STRUCT_OFFSET (DalDialectTls, root_cert),
  G_STRUCT_OFFSET (DalDialectTls, cert),
  G_STRUCT_OFFSET (DalDialectTls, key),
  G_STRUCT_OFFSET (DalDialectTls, key_password),
  G_STRUCT_OFFSET (DalDialectTls, crl),
  G_STRUCT_OFFSET (DalDialectTls, crl_dir),
  G_STRUCT_OFFSET (DalDialectTls, min_protocol),
  G_STRUCT_OFFSET (DalDialectTls, max_protocol),
  G_STRUCT_OFFSET (DalDialectTls, host),
  G_STRUCT_OFFSET (DalDialectTls, host_address),
};
#define N_TLS_SETTINGS 9

/**
 * _dal_dialect_tls_keys:
 * @dialect: (nullable): the dialect of a configuration's URL
 *
 * The keys a configuration file's [tls] section takes for @dialect: the
 * options of its TLS inputs (the server names aside), its other TLS
 * options (DalDialectTls.more_options), and allow_insecure_tls.
 *
 * Returns: (transfer full) (nullable): the keys, %NULL-terminated; %NULL
 *   for a dialect without an option table (any key, as its URLs take any
 *   option).
 */
char **
_dal_dialect_tls_keys (const DalDialect *dialect)
{
  if (dialect == NULL || dialect->options == NULL)
    return NULL;

  const DalDialectTls *tls = dialect->tls;
  GPtrArray *keys = g_ptr_array_new ();
  for (guint i = 0; tls != NULL && i < N_TLS_SETTINGS; i++)
    {
      const DalDialectTlsInput *in = G_STRUCT_MEMBER_P (tls, inputs[i]);
      if (in->option != NULL)
        g_ptr_array_add (keys, g_strdup (in->option));
    }
  for (const char * const *o = tls != NULL ? tls->more_options : NULL;
       o != NULL && *o != NULL; o++)
    g_ptr_array_add (keys, g_strdup (*o));
  g_ptr_array_add (keys, g_strdup ("allow_insecure_tls"));
  g_ptr_array_add (keys, NULL);
  return (char **) g_ptr_array_free (keys, FALSE);
}

/**
 * _dal_dialect_env_prefix:
 * @dialect: (nullable): a dialect
 *
 * Returns: (transfer full) (nullable): what the names of the environment
 *   variables of @dialect's TLS inputs have in common, at least two
 *   characters (PostgreSQL's all begin with "PG"); %NULL when they have
 *   nothing in common or there are none.
 */
char *
_dal_dialect_env_prefix (const DalDialect *dialect)
{
  const DalDialectTls *tls = dialect != NULL ? dialect->tls : NULL;
  const char *first = NULL;
  gsize len = 0;

  for (guint i = 0; tls != NULL && i < G_N_ELEMENTS (inputs); i++)
    {
      const char *env = ((const DalDialectTlsInput *) G_STRUCT_MEMBER_P (tls, inputs[i]))->env;
      if (env == NULL)
        continue;
      if (first == NULL)
        {
          first = env;
          len = strlen (env);
        }
      gsize same = 0;
      while (same < len && env[same] == first[same])
        same++;
      len = same;
    }
  return first != NULL && len >= 2 ? g_strndup (first, len) : NULL;
}

/* -- client library versions (the table's min_client_version) -- */

/* 150018 -> "15.18", 170000 -> "17", 90624 -> "9.6.24" */
static char *
version_text (guint v)
{
  if (v >= 100000)
    return v % 10000 != 0 ? g_strdup_printf ("%u.%u", v / 10000, v % 10000)
                          : g_strdup_printf ("%u", v / 10000);
  return g_strdup_printf ("%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
}

static GError *
version_error (const char *what, const char *hint, guint needed, guint version,
               const char *library)
{
  g_autofree char *need = version_text (needed);
  g_autofree char *have = version_text (version);
  return dal_error_new_hint (DAL_ERROR_UNSUPPORTED, hint,
                             "%s needs %s %s or later, but this program uses %s %s "
                             "(version number %u)", what, library, need, library,
                             have, version);
}

/**
 * dal_url_check_client_version:
 * @url: the URL about to be connected
 * @version: the client library's version, as MAJOR * 10000 + MINOR
 *   (what the library reports, e.g. PQlibVersion())
 * @library: its name for the message (DalDialect.client_library)
 * @error: return location for a DAL_ERROR_UNSUPPORTED error
 *
 * Checks every option @url sets against the version of the client
 * library that brought it (the dialect's option table), and the values
 * only newer versions understand (DalDialect.newer_values).  The
 * error names the version needed and the one found.
 *
 * Returns: %TRUE when the client library can do what @url asks.
 */
gboolean
dal_url_check_client_version (const DalUrl *url, guint version,
                              const char *library, GError **error)
{
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (library != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  const DalDialect *info = _dal_dialect_lookup (dal_url_get_dialect (url));
  if (info == NULL || info->options == NULL)
    return TRUE;

  for (guint i = 0; i < info->n_options; i++)
    {
      const DalUrlOption *o = &info->options[i];
      if (o->min_client_version <= version || dal_url_get_option (url, o->name) == NULL)
        continue;
      g_autofree char *what = g_strdup_printf ("the URL option %s", o->name);
      g_autofree char *need = version_text (o->min_client_version);
      g_autofree char *hint = g_strdup_printf ("Remove %s from the URL, or run the "
                                               "program with %s %s or later",
                                               o->name, library, need);
      g_propagate_error (error, version_error (what, hint, o->min_client_version,
                                               version, library));
      return FALSE;
    }

  for (guint i = 0; info->newer_values != NULL && i < info->n_newer_values; i++)
    {
      const DalUrlNewerValue *n = &info->newer_values[i];
      if (n->min_client_version <= version
          || g_strcmp0 (dal_url_get_option (url, n->option), n->value) != 0)
        continue;
      g_autofree char *what = n->what != NULL
                                ? g_strdup (n->what)
                                : g_strdup_printf ("%s=%s", n->option, n->value);
      g_autofree char *need = version_text (n->min_client_version);
      g_autofree char *hint = n->hint != NULL
                                ? g_strdup (n->hint)
                                : g_strdup_printf ("Remove %s=%s from the URL, or "
                                                   "run the program with %s %s "
                                                   "or later", n->option,
                                                   n->value, library, need);
      g_propagate_error (error, version_error (what, hint, n->min_client_version,
                                               version, library));
      return FALSE;
    }
  return TRUE;
}
