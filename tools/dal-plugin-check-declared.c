/* dal-plugin-check-declared.c: the conformance suite's checks of what a
 * plugin declares: its descriptor and ABI (as the registry and the module
 * say), and its dialect (what the core makes of the options it declares).
 * The checks of what it does are in dal-plugin-check.c.
 */
#include "config.h"

#include <string.h>

#include <ltdl.h>

#include "dal-plugin-check.h"

/* ------------------------------------------------------------------ */
/* descriptor: what the registry and the module say.                   */

/* The module's DalDialect, when it declares one (set by the descriptor
 * check; the module stays resident once the registry loaded it). */
static const DalDialect *dialect_info;
static gboolean descriptor_read;

static gboolean
check_descriptor_struct (const DalPlugin *plugin)
{
  const char *file = dal_plugin_get_filename (plugin);
  if (file == NULL || strcmp (file, "(preloaded)") == 0)
    {
      diag ("the plugin is preloaded: its descriptor was checked by the registry only");
      return TRUE;
    }
  if (lt_dlinit () != 0)
    return CHECK (FALSE, "libltdl: %s", lt_dlerror ());
  lt_dlhandle h = lt_dlopen (file);
  if (!CHECK (h != NULL, "cannot open %s: %s", file, lt_dlerror ()))
    {
      lt_dlexit ();
      return FALSE;
    }
  /* libltdl tries <module>_LTX_dal_plugin_descriptor first, as the
   * registry does. */
  const DalPluginDescriptor *d = lt_dlsym (h, "dal_plugin_descriptor");
  if (CHECK (d != NULL, "%s exports no dal_plugin_descriptor (DAL_PLUGIN_DESCRIPTOR_SYMBOL "
             "must name the module, as its file name does)", file))
    {
      descriptor_read = TRUE;
      diag ("ABI %u.%u, funcs_size %u (this libdal: %u.%u, %zu)", d->abi_major, d->abi_minor,
            d->funcs_size, DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR,
            sizeof (DalPluginFuncs));
      CHECK (d->abi_major == DAL_PLUGIN_ABI_MAJOR && d->abi_minor <= DAL_PLUGIN_ABI_MINOR,
             "built for ABI %u.%u, this libdal is %u.%u: rebuild it against this libdal",
             d->abi_major, d->abi_minor, DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR);
      CHECK (d->funcs_size >= G_STRUCT_OFFSET (DalPluginFuncs, is_lost)
             && d->funcs_size <= sizeof (DalPluginFuncs),
             "funcs_size %u is not a size DalPluginFuncs ever had: use DAL_PLUGIN_ABI_INIT",
             d->funcs_size);
      CHECK (d->name != NULL && strcmp (d->name, dal_plugin_get_name (plugin)) == 0,
             "the descriptor's name \"%s\" is not the module's name \"%s\"",
             d->name ? d->name : "(null)", dal_plugin_get_name (plugin));
      CHECK (d->drivers != NULL && d->drivers[0] != NULL,
             "the descriptor names no driver: give at least one");
      const DalPluginFuncs *f = d->funcs;
      if (CHECK (f != NULL, "the descriptor has no function table"))
        {
          CHECK (f->close != NULL, "the close slot is required");
          CHECK (f->connect != NULL || f->connect_async != NULL,
                 "fill connect or connect_async (or both)");
          CHECK (f->query != NULL || f->query_async != NULL,
                 "fill query or query_async (or both)");
        }
      if (d->abi_minor >= 5 && d->dialect_info != NULL)
        {
          const DalDialect *di = d->dialect_info;
          /* static data of a module the registry loaded: resident */
          dialect_info = di;
          CHECK (di->name != NULL && g_ascii_strcasecmp (di->name, d->dialect) == 0,
                 "dialect_info names dialect \"%s\", the descriptor \"%s\"",
                 di->name ? di->name : "(null)", d->dialect);
          CHECK (di->n_options == 0 || di->options != NULL,
                 "dialect_info counts %u options but has none", di->n_options);
          for (guint i = 0; di->options != NULL && i < di->n_options; i++)
            {
              const DalUrlOption *o = &di->options[i];
              CHECK (o->name != NULL && *o->name != '\0', "URL option %u has no name", i);
              CHECK (o->type != DAL_URL_OPTION_ENUM || (o->choices != NULL && o->choices[0] != NULL),
                     "URL option \"%s\" is an ENUM without choices", o->name ? o->name : "?");
            }
        }
    }
  lt_dlclose (h);
  lt_dlexit ();
  return !current_failed;
}

gboolean
test_descriptor (void)
{
  begin ("descriptor and ABI");
  g_autoptr (GError) error = NULL;
  DalPlugin *plugin = dal_registry_resolve (NULL, url, &error);
  if (plugin == NULL)
    {
      g_autofree char *path = dal_registry_get_search_path (NULL);
      fail ("no plugin serves %s: %s (search path: %s)", dal_url_get_scheme (url),
            error->message, path);
      return end ();
    }
  plugin_name = g_strdup (dal_plugin_get_name (plugin));
  guint major, minor;
  dal_plugin_get_abi_version (plugin, &major, &minor);
  diag ("plugin %s: %s, dialect %s, ABI %u.%u, %s", plugin_name,
        dal_plugin_get_filename (plugin), dal_plugin_get_dialect (plugin), major, minor,
        dal_plugin_is_async (plugin) ? "async slots" : "blocking slots only");
  const GError *load = dal_plugin_get_load_error (plugin);
  if (load != NULL)
    {
      fail ("the plugin cannot be loaded: %s", load->message);
      return end ();
    }
  CHECK (g_ascii_strcasecmp (dal_plugin_get_dialect (plugin), dal_url_get_dialect (url)) == 0,
         "serves dialect %s, the URL's is %s", dal_plugin_get_dialect (plugin),
         dal_url_get_dialect (url));
  const char *driver = dal_url_get_driver (url);
  if (driver == NULL)
    CHECK (dal_plugin_is_dialect_default (plugin), "serves the bare dialect but does not say so");
  else
    CHECK (g_strv_contains (dal_plugin_get_drivers (plugin), driver),
           "does not list driver %s", driver);
  check_descriptor_struct (plugin);
  return end ();
}

/* ------------------------------------------------------------------ */
/* the dialect: what the plugin's URLs may say, enforced by the core   */

#define NO_SUCH_OPTION "dal_conformance_no_such_option"
#define BAD_VALUE "dal-conformance-not-a-valid-value"
/* long and mixed, so that redaction catches it even glued to text */
#define SECRET_VALUE "dalConformanceS3cretValue"

/* The first option of @di for which @pick says yes and that the URL under
 * test does not set, or NULL. */
static const DalUrlOption *
find_option (const DalDialect *di, gboolean (*pick) (const DalDialect *, const DalUrlOption *))
{
  for (guint i = 0; i < di->n_options; i++)
    if (pick (di, &di->options[i]) && dal_url_get_option (url, di->options[i].name) == NULL)
      return &di->options[i];
  return NULL;
}

/* Typed: a value can be wrong (STRING takes anything). */
static gboolean
pick_typed (const DalDialect *di, const DalUrlOption *o)
{
  return o->type != DAL_URL_OPTION_STRING;
}

/* A secret the URL's query may set (not the password part) that any
 * client library version takes. */
static gboolean
pick_secret (const DalDialect *di, const DalUrlOption *o)
{
  return (o->flags & DAL_URL_OPTION_SECRET) != 0 && o->min_client_version == 0
         && g_strcmp0 (o->name, di->password_option) != 0;
}

/* @base (a URL's text) with "name=value" appended to its query, and
 * then @secret=SECRET_VALUE when @secret is not NULL (last: the core
 * reads an unknown option right after a secret as an unencoded "&" in
 * it). */
static char *
url_plus (const char *base, const char *name, const char *value, const DalUrlOption *secret)
{
  GString *s = g_string_new (base);
  if (name != NULL)
    g_string_append_printf (s, "%c%s=%s", strchr (s->str, '?') != NULL ? '&' : '?', name,
                            value);
  if (secret != NULL)
    g_string_append_printf (s, "%c%s=" SECRET_VALUE, strchr (s->str, '?') != NULL ? '&' : '?',
                            secret->name);
  return g_string_free (s, FALSE);
}

/* @text must be refused with @code, and the message must name @needle
 * and not show SECRET_VALUE: when parsed (no I/O at all), and when
 * opened, blocking and async, within CANCEL_LATENCY_MS (nothing was
 * tried, even where @text leads nowhere). */
static void
expect_refused (const char *text, DalErrorCode code, const char *needle, const char *what)
{
  g_autoptr (GError) error = NULL;
  DalUrl *parsed = dal_url_parse (text, &error);
  if (parsed != NULL)
    {
      fail ("%s: dal_url_parse() accepted it", what);
      dal_url_unref (parsed);
    }
  else
    {
      CHECK (g_error_matches (error, DAL_ERROR, (gint) code),
             "%s: dal_url_parse() gave %s (%s), not %s", what, code_name (error),
             error->message, dal_error_code_to_string (code));
      CHECK (strstr (error->message, needle) != NULL, "%s: the message does not name \"%s\": %s",
             what, needle, error->message);
      CHECK (strstr (error->message, SECRET_VALUE) == NULL,
             "%s: the message shows a secret option's value", what);
    }
  for (int async = 0; async < 2; async++)
    {
      g_clear_error (&error);
      gint64 start = now_ms ();
      DalConnection *conn = do_open (async, text, NULL, &error);
      gint64 took = now_ms () - start;
      if (conn != NULL)
        {
          fail ("%s: a %s open succeeded", what, mode (async));
          g_object_unref (conn);
          continue;
        }
      CHECK (g_error_matches (error, DAL_ERROR, (gint) code),
             "%s: a %s open gave %s (%s), not %s", what, mode (async), code_name (error),
             error->message, dal_error_code_to_string (code));
      CHECK (strstr (error->message, SECRET_VALUE) == NULL,
             "%s: a %s open's error shows a secret option's value", what, mode (async));
      CHECK (took <= scaled_ms (CANCEL_LATENCY_MS),
             "%s: a %s open took %" G_GINT64_FORMAT " ms to refuse it: the URL must be "
             "checked before any I/O", what, mode (async), took);
    }
}

/* Whether the descriptor file's Aliases= are the DalDialect's. */
static void
check_aliases (const DalPlugin *plugin, const DalDialect *di)
{
  const char *file = dal_plugin_get_descriptor_filename (plugin);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  if (file == NULL || !g_key_file_load_from_file (kf, file, G_KEY_FILE_NONE, &error))
    {
      diag ("no descriptor file to compare Aliases= with%s%s", error ? ": " : "",
            error ? error->message : "");
      return;
    }
  g_auto (GStrv) listed = g_key_file_get_string_list (kf, "libdal Plugin", "Aliases", NULL, NULL);
  guint n_listed = listed != NULL ? g_strv_length (listed) : 0;
  guint n_declared = di->aliases != NULL ? g_strv_length ((char **) di->aliases) : 0;
  gboolean agree = n_listed == n_declared;
  for (guint i = 0; agree && i < n_listed; i++)
    {
      gboolean found = FALSE;
      for (guint j = 0; !found && j < n_declared; j++)
        found = g_ascii_strcasecmp (listed[i], di->aliases[j]) == 0;
      agree = found;
    }
  g_autofree char *file_list = listed != NULL ? g_strjoinv (";", listed) : g_strdup ("");
  g_autofree char *module_list = n_declared > 0 ? g_strjoinv (";", (char **) di->aliases)
                                                : g_strdup ("");
  CHECK (agree, "%s says Aliases=%s but the module's DalDialect.aliases are \"%s\": "
         "make them the same", file, file_list, module_list);

  /* each alias is a scheme of the same plugin */
  const char *rest = strstr (url_text, "://");
  const char *driver = dal_url_get_driver (url);
  for (guint j = 0; rest != NULL && j < n_declared; j++)
    {
      g_autofree char *text = g_strdup_printf ("%s%s%s%s", di->aliases[j], driver ? "+" : "",
                                               driver ? driver : "", rest);
      g_clear_error (&error);
      g_autoptr (DalUrl) alias_url = dal_url_parse (text, &error);
      DalPlugin *p = alias_url != NULL ? dal_registry_resolve (NULL, alias_url, &error) : NULL;
      CHECK (p != NULL && g_strcmp0 (dal_plugin_get_name (p), plugin_name) == 0,
             "the alias %s%s%s:// does not resolve to %s: %s", di->aliases[j],
             driver ? "+" : "", driver ? driver : "", plugin_name,
             p != NULL ? dal_plugin_get_name (p) : error->message);
    }
}

void
test_dialect (void)
{
  const char *name = "URLs are checked against the plugin's dialect";
  if (!descriptor_read)
    {
      skip (name, "the module's descriptor was not read (preloaded)");
      return;
    }
  if (dialect_info == NULL)
    {
      skip (name, "the plugin declares no DalDialect (dialect_info, ABI 1.5): the core "
            "hands every option to it unchecked");
      return;
    }
  begin (name);
  const DalDialect *di = dialect_info;
  g_autoptr (GError) error = NULL;
  DalPlugin *plugin = dal_registry_resolve (NULL, url, &error);
  if (plugin != NULL)
    check_aliases (plugin, di);

  /* A URL that cannot connect (or the URL itself), with a secret option
   * set when the dialect has one. */
  const DalUrlOption *secret = find_option (di, pick_secret);
  const char *nowhere = fail_url != NULL ? fail_url : url_text;
  if (secret != NULL)
    {
      diag ("secret option: %s", secret->name);
      g_autofree char *with_secret = url_plus (nowhere, NULL, NULL, secret);
      g_autoptr (DalUrl) u = dal_url_parse (with_secret, &error);
      if (CHECK (u != NULL, "a URL with %s=... was refused: %s", secret->name,
                 error != NULL ? error->message : ""))
        {
          g_autofree char *shown = dal_url_to_string_redacted (u);
          CHECK (strstr (shown, SECRET_VALUE) == NULL,
                 "dal_url_to_string_redacted() shows the value of %s, declared "
                 "DAL_URL_OPTION_SECRET", secret->name);
          /* and where the connect fails, its error does not show it */
          if (fail_url != NULL)
            {
              g_clear_error (&error);
              DalConnection *conn = do_open (FALSE, with_secret, NULL, &error);
              if (conn != NULL)
                g_object_unref (conn);
              else
                CHECK (strstr (error->message, SECRET_VALUE) == NULL,
                       "the failing connect's error shows the value of %s", secret->name);
            }
        }
    }
  else
    diag ("the dialect declares no secret option (besides the password part)");

  /* an option the dialect does not have */
  g_autofree char *unknown = url_plus (nowhere, NO_SUCH_OPTION, "1", secret);
  expect_refused (unknown, DAL_ERROR_URL_UNKNOWN_OPTION, NO_SUCH_OPTION, "an unknown option");

  /* a value its type does not take */
  const DalUrlOption *typed = find_option (di, pick_typed);
  if (typed != NULL)
    {
      g_autofree char *bad = url_plus (nowhere, typed->name, BAD_VALUE, secret);
      g_autofree char *what = g_strdup_printf ("%s=" BAD_VALUE, typed->name);
      diag ("typed option: %s", typed->name);
      expect_refused (bad, DAL_ERROR_URL_INVALID_VALUE, typed->name, what);
    }
  else
    diag ("the dialect declares no typed option (all are STRING): no value to refuse");
  end ();
}
