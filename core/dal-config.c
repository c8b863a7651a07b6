/* dal-config.c: DalConfig's sources: key files, the environment, the
 * command line (docs/config.md).  The URLs are made in dal-config-url.c.
 *
 * A key file is read with GKeyFile, and checked here against the sections
 * and keys libdal knows.  GKeyFile keeps no line numbers, so the text is
 * scanned once more to find the line of each section and key for the
 * messages.  Values are read raw (g_key_file_get_value()): no backslash
 * escapes and no "%" interpolation, so that a password is the bytes
 * written after "=" and the spaces after it, up to the end of the line.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "dal-config-private.h"

#ifndef DAL_SYSTEM_CONFIG_FILE
#define DAL_SYSTEM_CONFIG_FILE "/etc/dal/dal.conf"
#endif

G_DEFINE_FINAL_TYPE (DalConfig, dal_config, G_TYPE_OBJECT)

static const char * const sections[] = {
  "database", "pool", "tls", "drivers", "session", NULL
};
static const char * const database_keys[] = {
  "url", "migration_url", "password", NULL
};
/* Each is the pool option "pool_" KEY (dal-url-options.c). */
static const char * const pool_keys[] = {
  "min_size", "max_size", "depth", "acquire_timeout", "max_idle",
  "max_lifetime", "max_queries", "check_idle", "leak_warning", NULL
};
/* [tls] keys are the TLS options of the configuration URL's dialect
 * (_dal_dialect_tls_keys()). */

static void
setting_free (gpointer data)
{
  DalConfigSetting *s = data;
  g_free (s->section);
  g_free (s->key);
  g_free (s->value);
  g_free (s->origin);
  g_clear_pointer (&s->url, dal_url_unref);
  g_free (s);
}

static void
dal_config_finalize (GObject *object)
{
  DalConfig *self = DAL_CONFIG (object);

  g_clear_pointer (&self->cmdline_url, dal_url_unref);
  g_free (self->cmdline_origin);
  g_clear_pointer (&self->env_dal_url, dal_url_unref);
  g_clear_pointer (&self->env_url, dal_url_unref);
  g_clear_pointer (&self->env_migration_url, dal_url_unref);
  g_ptr_array_unref (self->merged);
  g_hash_table_unref (self->settings);
  g_free (self->url_origin);
  g_free (self->migration_origin);
  G_OBJECT_CLASS (dal_config_parent_class)->finalize (object);
}

static void
dal_config_class_init (DalConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dal_config_finalize;
}

static void
dal_config_init (DalConfig *self)
{
  self->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          setting_free);
  self->merged = g_ptr_array_new ();
  _dal_config_update_origins (self);
}

DalConfig *
dal_config_new (void)
{
  return g_object_new (DAL_TYPE_CONFIG, NULL);
}

DalConfigSetting *
_dal_config_lookup (DalConfig *config, const char *section, const char *key)
{
  g_autofree char *id = g_strconcat (section, "\n", key, NULL);
  return g_hash_table_lookup (config->settings, id);
}

/* "the default (postgresql:// and <library>'s PG* variables)": the
 * default URL, and where its dialect's client library finds what it
 * leaves out. */
static char *
default_origin (void)
{
  g_autoptr (DalUrl) url = dal_url_parse (DAL_CONFIG_DEFAULT_URL, NULL);
  const DalDialect *dialect = url != NULL
    ? _dal_dialect_lookup (dal_url_get_dialect (url)) : NULL;
  g_autofree char *prefix = _dal_dialect_env_prefix (dialect);
  g_autofree char *library = dialect != NULL && dialect->client_library != NULL
    ? g_strdup_printf ("%s's", dialect->client_library)
    : g_strdup ("the client library's");

  if (prefix != NULL)
    return g_strdup_printf ("the default (%s and %s %s* variables)",
                            DAL_CONFIG_DEFAULT_URL, library, prefix);
  return g_strdup_printf ("the default (%s and %s environment)",
                          DAL_CONFIG_DEFAULT_URL, library);
}

void
_dal_config_update_origins (DalConfig *config)
{
  DalConfigSetting *file_url = _dal_config_lookup (config, "database", "url");
  DalConfigSetting *file_mig = _dal_config_lookup (config, "database",
                                                   "migration_url");
  g_autofree char *fallback = NULL;
  const char *url = config->cmdline_url != NULL ? config->cmdline_origin
                    : config->env_dal_url != NULL ? "DAL_DATABASE_URL"
                    : config->env_url != NULL ? "DATABASE_URL"
                    : file_url != NULL ? file_url->origin
                    : (fallback = default_origin ());

  g_free (config->url_origin);
  config->url_origin = g_strdup (url);
  g_free (config->migration_origin);
  if (config->env_migration_url != NULL)
    config->migration_origin = g_strdup ("DAL_MIGRATION_URL");
  else if (file_mig != NULL)
    config->migration_origin = g_strdup (file_mig->origin);
  else
    config->migration_origin = g_strdup_printf ("derived from the URL (%s)", url);
}

const char *
dal_config_get_origin (DalConfig *config, const char *what)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (strcmp (what, "migration_url") == 0)
    return config->migration_origin;
  g_return_val_if_fail (strcmp (what, "url") == 0, NULL);
  return config->url_origin;
}

/* -- messages -- */

/* The closest of @candidates to @unknown (as the URL parser suggests
 * option names), or NULL. */
static const char *
suggest (const char *unknown, const char * const *candidates)
{
  DalSuggestion suggestion = DAL_SUGGESTION_INIT;

  for (guint i = 0; candidates[i] != NULL; i++)
    _dal_suggestion_consider (&suggestion, unknown, candidates[i]);
  return suggestion.best;
}

/* "a, b and c", each in @open and @close. */
static char *
join_list (const char * const *items, const char *open, const char *close)
{
  GString *s = g_string_new (NULL);
  guint n = g_strv_length ((char **) items);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (s, i + 1 == n ? " and " : ", ");
      g_string_append_printf (s, "%s%s%s", open, items[i], close);
    }
  return g_string_free (s, FALSE);
}

/* -- key files -- */

/* Where sections and keys are: "section" and "section\nkey" -> line. */
static GHashTable *
scan_lines (const char *data, gsize len)
{
  GHashTable *lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *copy = g_strndup (data, len);
  g_auto (GStrv) text = g_strsplit (copy, "\n", -1);
  g_autofree char *section = NULL;

  for (guint i = 0; text[i] != NULL; i++)
    {
      char *line = g_strstrip (text[i]);
      guint number = i + 1;

      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[')
        {
          char *end = strchr (line, ']');
          g_free (section);
          section = g_strndup (line + 1, end != NULL ? (gsize) (end - line - 1)
                                                     : strlen (line + 1));
          if (!g_hash_table_contains (lines, section))
            g_hash_table_insert (lines, g_strdup (section), GUINT_TO_POINTER (number));
          continue;
        }
      char *eq = strchr (line, '=');
      if (section == NULL || eq == NULL)
        continue;
      *eq = '\0';
      /* a later line of the same key wins, as in GKeyFile */
      g_hash_table_insert (lines, g_strconcat (section, "\n", g_strstrip (line), NULL),
                           GUINT_TO_POINTER (number));
    }
  return lines;
}

static char *
origin_of (GHashTable *lines, const char *origin, const char *section,
           const char *key)
{
  g_autofree char *id = key != NULL ? g_strconcat (section, "\n", key, NULL)
                                    : g_strdup (section);
  guint line = GPOINTER_TO_UINT (g_hash_table_lookup (lines, id));
  return line > 0 ? g_strdup_printf ("%s line %u", origin, line)
                  : g_strdup (origin);
}

/* The option of a URL that [pool] @key or [tls] @key sets: libdal's, or
 * @dialect's (nullable: without its plugin, the value is left to the
 * connect). */
static const DalOptionInfo *
option_info (const DalDialect *dialect, const char *name)
{
  static const DalOptionInfo any = { NULL, DAL_URL_OPTION_STRING, 0, NULL, 0 };
  const DalOptionInfo *info = _dal_libdal_option_lookup (name);

  if (info == NULL && dialect != NULL)
    info = _dal_dialect_get_option (dialect, name);
  return info != NULL ? info : &any;
}

/* The dialect of the URL @config gives once the key file @kf is added
 * (the command line's, the environment's, @kf's [database] url, an
 * earlier file's, or the default): its options are what [tls] takes. */
static const DalDialect *
config_dialect (DalConfig *config, GKeyFile *kf)
{
  DalConfigSetting *file_url = _dal_config_lookup (config, "database", "url");
  DalUrl *given = config->cmdline_url != NULL ? config->cmdline_url
                  : config->env_dal_url != NULL ? config->env_dal_url
                  : config->env_url;
  g_autofree char *text = given == NULL
    ? g_key_file_get_value (kf, "database", "url", NULL) : NULL;
  g_autoptr (DalUrl) parsed = text != NULL ? dal_url_parse (text, NULL) : NULL;

  if (given == NULL)
    given = parsed != NULL ? parsed : file_url != NULL ? file_url->url : NULL;
  if (given != NULL)
    return _dal_dialect_lookup (dal_url_get_dialect (given));
  g_autoptr (DalUrl) fallback = dal_url_parse (DAL_CONFIG_DEFAULT_URL, NULL);
  return fallback != NULL ? _dal_dialect_lookup (dal_url_get_dialect (fallback))
                          : NULL;
}

static gboolean
is_setting_name (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* The canonical scheme of "@text://", or NULL with an error prefixed by
 * @where. */
static char *
parse_scheme (const char *text, const char *where, GError **error)
{
  g_autofree char *url_text = g_strconcat (text, "://", NULL);
  g_autoptr (DalUrl) url = dal_url_parse (url_text, error);

  if (url == NULL)
    {
      g_prefix_error (error, "%s: ", where);
      return NULL;
    }
  return g_strdup (dal_url_get_scheme (url));
}

static gboolean
check_key (const DalDialect *dialect, const char *section, const char *key,
           const char *value, const char *where, DalConfigSetting *setting,
           gboolean *secret, GError **error)
{
  g_autoptr (GError) inner = NULL;

  if (strcmp (section, "database") == 0)
    {
      if (strcmp (key, "password") == 0)
        {
          *secret = TRUE;
          return TRUE;
        }
      setting->url = dal_url_parse (value, error);
      if (setting->url == NULL)
        {
          g_prefix_error (error, "[database] %s in %s: ", key, where);
          return FALSE;
        }
      if (dal_url_get_password (setting->url) != NULL)
        *secret = TRUE;
      return TRUE;
    }

  if (strcmp (section, "drivers") == 0)
    {
      g_autofree char *label = g_strdup_printf ("[drivers] %s in %s", key, where);
      g_autofree char *from = parse_scheme (key, label, error);
      g_autofree char *to = from != NULL ? parse_scheme (value, label, error) : NULL;
      if (to == NULL)
        return FALSE;
      gsize from_len = strcspn (from, "+"), to_len = strcspn (to, "+");
      if (from_len != to_len || strncmp (from, to, from_len) != 0)
        {
          g_set_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID,
                       "%s: %s and %s are not the same dialect. A mapping "
                       "changes the driver only: write dialect+old = "
                       "dialect+new", label, from, to);
          return FALSE;
        }
      g_free (setting->key);
      setting->key = g_steal_pointer (&from);
      g_free (setting->value);
      setting->value = g_steal_pointer (&to);
      return TRUE;
    }

  if (strcmp (section, "session") == 0)
    {
      if (!is_setting_name (key))
        {
          g_autofree char *shown = _dal_printable (key);
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_CONFIG_INVALID,
                                                 "A server setting's name is made "
                                                 "of letters, digits, \"_\" and "
                                                 "\".\", e.g. statement_timeout",
                                                 "[session] \"%s\" in %s is not a "
                                                 "server setting's name", shown,
                                                 where));
          return FALSE;
        }
      return TRUE;
    }

  /* [pool] and [tls]: the URL option's own check */
  g_autofree char *name = strcmp (section, "pool") == 0
                            ? g_strconcat ("pool_", key, NULL) : g_strdup (key);
  const DalOptionInfo *info = option_info (dialect, name);
  g_assert (info != NULL);
  DalOptionInfo shown = *info;
  shown.name = key;
  if (dal_url_option_is_secret (name))
    *secret = TRUE;
  if (_dal_option_check_value (&shown, value, &inner))
    return TRUE;
  g_autofree char *what = dal_error_dup_what (inner);
  g_propagate_error (error,
                     dal_error_new_hint (DAL_ERROR_CONFIG_INVALID,
                                         dal_error_get_hint (inner),
                                         "[%s] %s in %s: %s", section, key,
                                         where, what));
  return FALSE;
}

static const char * const *
keys_of (const char *section, const char * const *tls_keys)
{
  if (strcmp (section, "database") == 0)
    return database_keys;
  if (strcmp (section, "pool") == 0)
    return pool_keys;
  if (strcmp (section, "tls") == 0)
    return tls_keys;
  return NULL;  /* any key */
}

/* Reads and checks a key file; on success its settings replace those of
 * the same name.  *@secret: whether it holds a password. */
static gboolean
add_key_file (DalConfig *config, const char *data, gsize len,
              const char *origin, gboolean *secret, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) inner = NULL;
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (setting_free);

  *secret = FALSE;
  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &inner))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_CONFIG_INVALID,
                                             "Write sections as [name] and "
                                             "settings as key = value "
                                             "(docs/config.md)",
                                             "%s is not a key file: %s", origin,
                                             inner->message));
      return FALSE;
    }

  g_autoptr (GHashTable) lines = scan_lines (data, len);
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  const DalDialect *dialect = g_key_file_has_group (kf, "tls")
                                ? config_dialect (config, kf) : NULL;
  g_auto (GStrv) tls_keys = _dal_dialect_tls_keys (dialect);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      const char *section = groups[g];
      if (!g_strv_contains (sections, section))
        {
          g_autofree char *where = origin_of (lines, origin, section, NULL);
          g_autofree char *shown = _dal_printable (section);
          g_autofree char *all = join_list (sections, "[", "]");
          const char *best = suggest (section, sections);
          g_autofree char *hint = best != NULL
            ? g_strdup_printf ("Did you mean [%s]? The sections are %s", best, all)
            : g_strdup_printf ("The sections are %s", all);
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_CONFIG_INVALID, hint,
                                                 "unknown section [%s] in %s",
                                                 shown, where));
          return FALSE;
        }

      g_auto (GStrv) keys = g_key_file_get_keys (kf, section, NULL, NULL);
      const char * const *known = keys_of (section,
                                           (const char * const *) tls_keys);
      for (guint k = 0; keys[k] != NULL; k++)
        {
          const char *key = keys[k];
          g_autofree char *where = origin_of (lines, origin, section, key);
          if (known != NULL && !g_strv_contains (known, key))
            {
              g_autofree char *shown = _dal_printable (key);
              g_autofree char *all = join_list (known, "", "");
              const char *best = suggest (key, known);
              g_autofree char *hint = best != NULL
                ? g_strdup_printf ("Did you mean %s? [%s] takes %s", best,
                                   section, all)
                : g_strdup_printf ("[%s] takes %s", section, all);
              g_propagate_error (error,
                                 dal_error_new_hint (DAL_ERROR_CONFIG_INVALID, hint,
                                                     "unknown key %s in [%s] of %s",
                                                     shown, section, where));
              return FALSE;
            }

          DalConfigSetting *s = g_new0 (DalConfigSetting, 1);
          s->section = g_strdup (section);
          s->key = g_strdup (key);
          s->value = g_key_file_get_value (kf, section, key, NULL);
          s->origin = g_steal_pointer (&where);
          g_ptr_array_add (found, s);
          if (!check_key (dialect, section, s->key, s->value, s->origin, s,
                          secret, error))
            return FALSE;
        }
    }

  /* All checked: take them. */
  while (found->len > 0)
    {
      DalConfigSetting *s = g_ptr_array_steal_index (found, 0);
      char *id = g_strconcat (s->section, "\n", s->key, NULL);
      DalConfigSetting *old = g_hash_table_lookup (config->settings, id);
      if (old != NULL)
        g_ptr_array_remove (config->merged, old);
      if (strcmp (s->section, "pool") == 0 || strcmp (s->section, "tls") == 0
          || strcmp (s->section, "session") == 0)
        g_ptr_array_add (config->merged, s);
      g_hash_table_replace (config->settings, id, s);
    }
  _dal_config_update_origins (config);
  return TRUE;
}

gboolean
dal_config_add_data (DalConfig *config, const char *data, gssize len,
                     const char *origin, GError **error)
{
  gboolean secret;

  g_return_val_if_fail (DAL_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_key_file (config, data, len < 0 ? strlen (data) : (gsize) len,
                       origin != NULL ? origin : "configuration data",
                       &secret, error);
}

/* Files warned about for their mode, once per process. */
static GMutex mode_warned_lock;
static GHashTable *mode_warned;

static void
warn_mode (const char *path)
{
  GStatBuf st;
  gboolean first;

  if (g_stat (path, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
    return;
  g_mutex_lock (&mode_warned_lock);
  if (mode_warned == NULL)
    mode_warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  first = g_hash_table_add (mode_warned, g_strdup (path));
  g_mutex_unlock (&mode_warned_lock);
  if (first)
    g_warning ("%s holds a password and group or others can access it "
               "(mode %04o); make it private: chmod 600 %s", path,
               (guint) (st.st_mode & 07777), path);
}

gboolean
dal_config_add_file (DalConfig *config, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) inner = NULL;
  gboolean secret;

  g_return_val_if_fail (DAL_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_get_contents (path, &data, &len, &inner))
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_CONFIG_INVALID,
                                             "Give the path of a readable "
                                             "configuration file (docs/config.md)",
                                             "cannot read the configuration "
                                             "file: %s", inner->message));
      return FALSE;
    }
  if (!add_key_file (config, data, len, path, &secret, error))
    return FALSE;
  if (secret)
    warn_mode (path);
  return TRUE;
}

/* -- the environment and the command line -- */

static gboolean
env_url (const char * const *envp, const char *name, DalUrl **out,
         GError **error)
{
  const char *value = envp != NULL ? g_environ_getenv ((char **) envp, name)
                                   : _dal_secure_getenv (name);
  DalUrl *url;

  if (value == NULL || *value == '\0')
    return TRUE;
  url = dal_url_parse (value, error);
  if (url == NULL)
    {
      g_prefix_error (error, "%s: ", name);
      return FALSE;
    }
  g_clear_pointer (out, dal_url_unref);
  *out = url;
  return TRUE;
}

gboolean
dal_config_add_environment (DalConfig *config, const char * const *envp,
                            GError **error)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (DalUrl) dal_url = NULL, url = NULL, migration = NULL;
  if (!env_url (envp, "DAL_DATABASE_URL", &dal_url, error)
      || !env_url (envp, "DATABASE_URL", &url, error)
      || !env_url (envp, "DAL_MIGRATION_URL", &migration, error))
    return FALSE;
  if (dal_url != NULL)
    {
      g_clear_pointer (&config->env_dal_url, dal_url_unref);
      config->env_dal_url = g_steal_pointer (&dal_url);
    }
  if (url != NULL)
    {
      g_clear_pointer (&config->env_url, dal_url_unref);
      config->env_url = g_steal_pointer (&url);
    }
  if (migration != NULL)
    {
      g_clear_pointer (&config->env_migration_url, dal_url_unref);
      config->env_migration_url = g_steal_pointer (&migration);
    }
  _dal_config_update_origins (config);
  return TRUE;
}

gboolean
dal_config_set_url (DalConfig *config, const char *url, const char *origin,
                    GError **error)
{
  g_return_val_if_fail (DAL_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (origin == NULL)
    origin = "command line";
  DalUrl *parsed = dal_url_parse (url, error);
  if (parsed == NULL)
    {
      g_prefix_error (error, "%s: ", origin);
      return FALSE;
    }
  g_clear_pointer (&config->cmdline_url, dal_url_unref);
  config->cmdline_url = parsed;
  g_free (config->cmdline_origin);
  config->cmdline_origin = g_strdup (origin);
  _dal_config_update_origins (config);
  return TRUE;
}

/* -- the default -- */

/* The key file to read: @path, $DAL_CONFIG, or the search; NULL (and no
 * error) when the search finds none. */
static char *
find_file (const char *path, GError **error)
{
  const char *named = path != NULL ? path : _dal_secure_getenv ("DAL_CONFIG");
  const char *what = path != NULL ? "the configuration file"
                                  : "DAL_CONFIG names a configuration file that";

  if (named != NULL && *named != '\0')
    {
      if (!g_file_test (named, G_FILE_TEST_EXISTS))
        {
          g_autofree char *shown = _dal_printable (named);
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_CONFIG_INVALID,
                                                 "Create it, or give the path of "
                                                 "an existing file",
                                                 "%s %s does not exist", what,
                                                 shown));
          return NULL;
        }
      return g_strdup (named);
    }

  const char *xdg = _dal_secure_getenv ("XDG_CONFIG_HOME");
  g_autofree char *user = xdg != NULL && g_path_is_absolute (xdg)
    ? g_build_filename (xdg, "dal", "dal.conf", NULL)
    : g_build_filename (g_get_home_dir (), ".config", "dal", "dal.conf", NULL);
  if (g_file_test (user, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&user);
  if (g_file_test (DAL_SYSTEM_CONFIG_FILE, G_FILE_TEST_EXISTS))
    return g_strdup (DAL_SYSTEM_CONFIG_FILE);
  return NULL;
}

DalConfig *
dal_config_load (const char *path, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (DalConfig) config = dal_config_new ();
  GError *local = NULL;
  g_autofree char *file = find_file (path, &local);

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (file != NULL && !dal_config_add_file (config, file, error))
    return NULL;
  if (!dal_config_add_environment (config, NULL, error))
    return NULL;
  return g_steal_pointer (&config);
}
