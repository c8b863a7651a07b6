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

/* A BOOLEAN option's value, which the core has checked against the
 * dialect's table already (true, false, 1, 0, yes, no, on, off). */
static gboolean
boolean_value (const char *value)
{
  return g_ascii_strcasecmp (value, "true") == 0 || strcmp (value, "1") == 0
         || g_ascii_strcasecmp (value, "yes") == 0 || g_ascii_strcasecmp (value, "on") == 0;
}

/* Appends &name=value for a URI parameter the URL sets. */
static void
append_uri_param (GString *uri, const DalUrl *url, const char *name, gboolean boolean)
{
  const char *value = dal_url_get_option (url, name);
  if (value == NULL)
    return;
  g_autofree char *escaped = boolean
    ? g_strdup (boolean_value (value) ? "1" : "0")
    : g_uri_escape_string (value, NULL, TRUE);
  g_string_append_printf (uri, "%c%s=%s", strchr (uri->str, '?') ? '&' : '?',
                          name, escaped);
}

/**
 * dal_sqlite_target_init:
 * @target: (out caller-allocates): filled in
 * @url: a sqlite URL
 *
 * Works out what to open for @url.  The core has checked @url against
 * dal_sqlite_dialect before the plugin sees it: no user, password, host
 * or port (the dialect maps none of them to an option), no option that
 * is not in the table, every value of the type its option declares.  So
 * nothing is checked again here; combinations are SQLite's to judge when
 * it opens the URI.
 */
void
dal_sqlite_target_init (DalSqliteTarget *target, const DalUrl *url)
{
  memset (target, 0, sizeof *target);

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
  target->busy_timeout_ms = dal_url_get_uint (url, "busy_timeout", DEFAULT_BUSY_TIMEOUT_MS);
  target->journal_mode = dal_url_get_option (url, "journal_mode");
  const char *fk = dal_url_get_option (url, "foreign_keys");
  target->foreign_keys = fk != NULL ? boolean_value (fk) : -1;
}

void
dal_sqlite_target_clear (DalSqliteTarget *target)
{
  g_clear_pointer (&target->uri, g_free);
  g_clear_pointer (&target->shown, g_free);
}
