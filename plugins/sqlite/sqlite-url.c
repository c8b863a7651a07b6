/* sqlite-url.c: the sqlite dialect's URLs, and what SQLite opens for one.
 *
 * URL forms as SQLAlchemy reads them:
 *
 *   sqlite:///relative.db         relative to the working directory
 *   sqlite:////absolute/path.db   absolute
 *   sqlite://   sqlite:///:memory:  a private in-memory database
 *
 * and options as SQLite's URI filenames take them (mode, cache,
 * immutable, nolock, vfs), plus three that libdal applies after opening
 * (journal_mode, busy_timeout, foreign_keys).  The database is opened with
 * sqlite3_open_v2() on a "file:" URI built from these.
 */
#include "config.h"

#include <string.h>

#include "sqlite-private.h"

static const char * const mode_choices[] = { "ro", "rw", "rwc", "memory", NULL };
static const char * const cache_choices[] = { "shared", "private", NULL };
static const char * const journal_mode_choices[] = {
  "delete", "truncate", "persist", "memory", "wal", "off", NULL
};

static const DalUrlOption sqlite_options[] = {
  { "database", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  /* SQLite's URI parameters (https://sqlite.org/uri.html) */
  { "mode", DAL_URL_OPTION_ENUM, 0, mode_choices, 0 },
  { "cache", DAL_URL_OPTION_ENUM, 0, cache_choices, 0 },
  { "immutable", DAL_URL_OPTION_BOOLEAN, 0, NULL, 0 },
  { "nolock", DAL_URL_OPTION_BOOLEAN, 0, NULL, 0 },
  { "vfs", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  /* PRAGMAs libdal runs after opening */
  { "journal_mode", DAL_URL_OPTION_ENUM, 0, journal_mode_choices, 0 },
  { "busy_timeout", DAL_URL_OPTION_UINT, 0, NULL, 0 },   /* milliseconds */
  { "foreign_keys", DAL_URL_OPTION_BOOLEAN, 0, NULL, 0 },
};

const DalDialect dal_sqlite_dialect = {
  .name = "sqlite",
  .aliases = NULL,
  .flags = DAL_DIALECT_NO_SERVER,
  .options = sqlite_options,
  .n_options = G_N_ELEMENTS (sqlite_options),
  .path_option = "database",
};

/* SQLite waits this long for another connection's lock by default (as
 * Python's sqlite3 module does). */
#define DEFAULT_BUSY_TIMEOUT_MS 5000

#define HINT_FORMS \
  "the forms are sqlite:///relative.db, sqlite:////absolute/path.db and " \
  "sqlite:// (in memory)"

static const DalUrlOption *
find_option (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (sqlite_options); i++)
    if (strcmp (sqlite_options[i].name, name) == 0)
      return &sqlite_options[i];
  return NULL;
}

/* -1 when @value is not a boolean. */
static int
parse_boolean (const char *value)
{
  static const char * const yes[] = { "1", "true", "yes", "on" };
  static const char * const no[] = { "0", "false", "no", "off" };
  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (value, yes[i]) == 0)
        return 1;
      if (g_ascii_strcasecmp (value, no[i]) == 0)
        return 0;
    }
  return -1;
}

static gboolean
value_ok (const DalUrlOption *opt, const char *value)
{
  switch (opt->type)
    {
    case DAL_URL_OPTION_ENUM:
      return g_strv_contains ((const char * const *) opt->choices, value);
    case DAL_URL_OPTION_BOOLEAN:
      return parse_boolean (value) >= 0;
    case DAL_URL_OPTION_UINT:
      {
        guint64 n;
        return g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT, &n, NULL);
      }
    default:
      return TRUE;
    }
}

static char *
list_options (void)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (sqlite_options); i++)
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", sqlite_options[i].name);
  return g_string_free (s, FALSE);
}

/* The URL names a file: refuses the parts of a server's URL, and options
 * that are not the dialect's (the core checks them too once it reads
 * dialect_info; until then this is the check). */
static gboolean
check_url (const DalUrl *url, GError **error)
{
  const char *part = NULL;
  if (dal_url_get_password (url) != NULL)
    part = "a password";
  else if (dal_url_get_user (url) != NULL)
    part = "a user name";
  else if (dal_url_get_n_hosts (url) > 0 && *dal_url_get_host (url, 0) != '\0')
    part = "a host";
  else if (dal_url_get_n_hosts (url) > 0)
    part = "a port";
  if (part != NULL)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_URL_INVALID_VALUE,
        "Remove it: " HINT_FORMS,
        "a sqlite URL names a file, not a server, but this one has %s", part));
      return FALSE;
    }

  const char * const *keywords, * const *values;
  guint n = dal_url_get_keywords (url, &keywords, &values);
  for (guint i = 0; i < n; i++)
    {
      static const char * const parts[] = {
        "user", "password", "host", "hostaddr", "port", "dbname", NULL
      };
      if (g_strv_contains (parts, keywords[i]))
        continue;
      const DalUrlOption *opt = find_option (keywords[i]);
      if (opt == NULL)
        {
          g_autofree char *known = list_options ();
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_URL_UNKNOWN_OPTION, NULL,
            "the sqlite dialect has no URL option \"%s\"; remove it (it takes "
            "%s, and libdal's command_timeout)", keywords[i], known));
          return FALSE;
        }
      if (!value_ok (opt, values[i]))
        {
          g_autofree char *choices = opt->choices != NULL
            ? g_strjoinv (", ", (char **) opt->choices) : NULL;
          const char *what = opt->type == DAL_URL_OPTION_UINT ? "a whole number"
                             : opt->type == DAL_URL_OPTION_BOOLEAN ? "1 or 0"
                             : choices;
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_URL_INVALID_VALUE, NULL,
            "%s=%s is not a value the sqlite dialect takes; write %s", keywords[i],
            values[i], what));
          return FALSE;
        }
    }
  return TRUE;
}

/* Appends &name=value for a URI parameter the URL sets. */
static void
append_uri_param (GString *uri, const DalUrl *url, const char *name, gboolean boolean)
{
  const char *value = dal_url_get_option (url, name);
  if (value == NULL)
    return;
  g_autofree char *escaped = boolean
    ? g_strdup (parse_boolean (value) ? "1" : "0")
    : g_uri_escape_string (value, NULL, TRUE);
  g_string_append_printf (uri, "%c%s=%s", strchr (uri->str, '?') ? '&' : '?',
                          name, escaped);
}

/**
 * dal_sqlite_target_init:
 * @target: (out caller-allocates): filled in
 * @url: a sqlite URL
 * @error: a DAL_ERROR_URL_* error
 *
 * Checks @url and works out what to open.  On failure @target needs no
 * clearing.
 */
gboolean
dal_sqlite_target_init (DalSqliteTarget *target, const DalUrl *url, GError **error)
{
  memset (target, 0, sizeof *target);
  if (!check_url (url, error))
    return FALSE;

  const char *mode = dal_url_get_option (url, "mode");
  const char *path = dal_url_get_database (url);
  gboolean memory = path == NULL || *path == '\0' || strcmp (path, ":memory:") == 0;
  GString *uri = g_string_new ("file:");
  if (memory)
    {
      g_string_append (uri, ":memory:");
      target->shown = g_strdup ("an in-memory database");
    }
  else
    {
      /* "sqlite://///x" is /x, not a URI authority. */
      while (path[0] == '/' && path[1] == '/')
        path++;
      g_autofree char *escaped = g_uri_escape_string (path, "/", TRUE);
      g_string_append (uri, escaped);
      target->shown = g_strdup (path);
    }
  append_uri_param (uri, url, "mode", FALSE);
  append_uri_param (uri, url, "cache", FALSE);
  append_uri_param (uri, url, "immutable", TRUE);
  append_uri_param (uri, url, "nolock", TRUE);
  append_uri_param (uri, url, "vfs", FALSE);
  target->uri = g_string_free (uri, FALSE);

  target->may_create = mode == NULL || strcmp (mode, "rwc") == 0
                       || strcmp (mode, "memory") == 0;
  target->flags = SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_READWRITE
                  | SQLITE_OPEN_CREATE;
  target->busy_timeout_ms = dal_url_get_option (url, "busy_timeout") != NULL
    ? (guint) g_ascii_strtoull (dal_url_get_option (url, "busy_timeout"), NULL, 10)
    : DEFAULT_BUSY_TIMEOUT_MS;
  target->journal_mode = dal_url_get_option (url, "journal_mode");
  const char *fk = dal_url_get_option (url, "foreign_keys");
  target->foreign_keys = fk != NULL ? parse_boolean (fk) : -1;
  return TRUE;
}

void
dal_sqlite_target_clear (DalSqliteTarget *target)
{
  g_clear_pointer (&target->uri, g_free);
  g_clear_pointer (&target->shown, g_free);
}
