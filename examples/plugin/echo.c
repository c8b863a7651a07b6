/* echo.c: a minimal libdal plugin, to copy from.
 *
 * Serves echo+echo:// and the bare echo://.  It talks to no server: a
 * "connection" remembers its URL, and it understands just enough SQL to
 * pass libdal's conformance suite (`dal conformance echo://localhost/demo
 * --slow-sql 'SELECT sleep(30)' --fail-url echo://localhost`):
 *
 *   SELECT $1, $2, ...   one row whose columns are the parameters, as the
 *                        core handed them over
 *   SELECT sleep(N)      waits N seconds (or until cancelled), then one
 *                        row: N
 *   anything else        a syntax error (DAL_ERROR_QUERY_FAILED, SQLSTATE
 *                        42601)
 *
 * It fills the blocking slots only (connect, query, close, get_info):
 * the core then serves the async API from a worker thread, one operation
 * at a time per connection, in the order they were started.
 *
 * Its dialect (echo, alias parrot) declares what its URLs may say, so
 * the core checks every URL before the plugin sees it:
 *
 *   echo://host:port/database?case=upper&max_params=10&token=...
 *
 *   case         as-is (default), upper or lower: how text comes back
 *   max_params   a statement with more parameters fails (0: no limit)
 *   token        a secret: never shown in a URL, a log or an error
 *
 * Build: see Makefile and README.md beside this file.
 */
#include <stdio.h>
#include <string.h>

#include <dal/dal-plugin.h>

/* -- the connection -- */

typedef struct
{
  DalUrl *url;
  guint n_statements;
  const char *text_case;    /* "as-is", "upper" or "lower" (from url) */
  guint max_params;         /* 0: no limit */
} EchoConn;

static gpointer
echo_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* Errors are DAL_ERRORs: what happened, then one sentence saying what
   * to change.  Never put the password in them; text that did not come
   * from this file (a server's message, say) goes through
   * dal_error_redact (error, dal_url_get_password (url)). */
  if (dal_url_get_database (url) == NULL)
    {
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_UNKNOWN_DATABASE,
                                             "Add a database name to the URL, "
                                             "e.g. echo://localhost/demo",
                                             "the echo plugin needs a database name"));
      return NULL;
    }

  /* The plugin's own options.  The core has checked them against
   * echo_dialect already (case is one of its choices, max_params a whole
   * number), so reading them cannot fail. */
  EchoConn *conn = g_new0 (EchoConn, 1);
  conn->url = dal_url_ref (url);
  conn->text_case = dal_url_get_option (url, "case");
  if (conn->text_case == NULL)
    conn->text_case = "as-is";
  conn->max_params = dal_url_get_uint (url, "max_params", 0);
  return conn;
}

/* Required.  The core never calls it while a blocking slot runs, and
 * calls it exactly once per connection (possibly from another thread). */
static void
echo_close (gpointer handle)
{
  EchoConn *conn = handle;
  dal_url_unref (conn->url);
  g_free (conn);
}

static char *
echo_get_info (gpointer handle, const char *key)
{
  EchoConn *conn = handle;
  if (strcmp (key, "server_version") == 0)
    return g_strdup ("echo 1");
  if (strcmp (key, "statements") == 0)
    return g_strdup_printf ("%u", conn->n_statements);
  if (strcmp (key, "authenticated") == 0)  /* whether a token was given */
    return g_strdup (dal_url_get_option (conn->url, "token") != NULL ? "yes" : "no");
  return NULL;  /* a key this plugin does not know */
}

/* -- the result: one row, one column per parameter -- */

typedef struct
{
  guint n_columns;
  char **names;          /* n_columns */
  char **values;         /* n_columns, NULL for SQL NULL */
  gsize *lengths;
  DalColumnType *types;
} EchoResult;

static void
r_free (gpointer impl)
{
  EchoResult *r = impl;
  for (guint i = 0; i < r->n_columns; i++)
    {
      g_free (r->names[i]);
      g_free (r->values[i]);
    }
  g_free (r->names);
  g_free (r->values);
  g_free (r->lengths);
  g_free (r->types);
  g_free (r);
}

static guint
r_n_rows (gpointer impl)
{
  return 1;
}

static guint
r_n_columns (gpointer impl)
{
  return ((EchoResult *) impl)->n_columns;
}

static const char *
r_column_name (gpointer impl, guint column)
{
  return ((EchoResult *) impl)->names[column];
}

static DalColumnType
r_column_type (gpointer impl, guint column)
{
  return ((EchoResult *) impl)->types[column];
}

static const char *
r_column_type_name (gpointer impl, guint column)
{
  return ((EchoResult *) impl)->types[column] == DAL_COLUMN_BYTES ? "bytea" : "text";
}

static const char *
r_get_value (gpointer impl, guint row, guint column, gsize *length)
{
  EchoResult *r = impl;
  if (length != NULL)
    *length = r->lengths[column];
  return r->values[column];  /* NULL: SQL NULL */
}

static gint64
r_affected_rows (gpointer impl)
{
  return 1;
}

static const char *
r_command_tag (gpointer impl)
{
  return "ECHO 1";
}

/* Every slot is required; the core reads values without copying them. */
static const DalResultFuncs echo_result_funcs = {
  .free = r_free,
  .n_rows = r_n_rows,
  .n_columns = r_n_columns,
  .column_name = r_column_name,
  .column_type = r_column_type,
  .column_type_name = r_column_type_name,
  .get_value = r_get_value,
  .affected_rows = r_affected_rows,
  .command_tag = r_command_tag,
};

/* A result of one row with @n_columns columns, all NULL so far. */
static EchoResult *
echo_result_new (guint n_columns)
{
  EchoResult *r = g_new0 (EchoResult, 1);
  r->n_columns = n_columns;
  r->names = g_new0 (char *, n_columns);
  r->values = g_new0 (char *, n_columns);
  r->lengths = g_new0 (gsize, n_columns);
  r->types = g_new0 (DalColumnType, n_columns);
  return r;
}

/* Waits @seconds, or until @cancellable is cancelled (from any thread):
 * a blocking slot must honour its GCancellable. */
static gboolean
echo_sleep (guint seconds, GCancellable *cancellable, GError **error)
{
  gint64 until = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  GPollFD fd;
  gboolean have_fd = g_cancellable_make_pollfd (cancellable, &fd);
  gint64 left;
  while (!g_cancellable_is_cancelled (cancellable)
         && (left = until - g_get_monotonic_time ()) > 0)
    {
      if (have_fd)
        g_poll (&fd, 1, (int) (left / 1000) + 1);  /* wakes up when cancelled */
      else
        g_usleep ((gulong) left);
    }
  if (have_fd)
    g_cancellable_release_fd (cancellable);
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static DalResult *
echo_query (gpointer handle, const char *sql, const DalParams *params,
            GCancellable *cancellable, GError **error)
{
  EchoConn *conn = handle;
  guint n_params = params != NULL ? params->n : 0;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  conn->n_statements++;

  while (g_ascii_isspace (*sql))
    sql++;
  if (g_ascii_strncasecmp (sql, "SELECT", 6) != 0 || g_ascii_isalnum (sql[6]))
    {
      /* A server's refusal: DAL_ERROR_QUERY_FAILED, with the SQLSTATE a
       * PostgreSQL server would send. */
      GError *e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED,
                                      "Start the statement with SELECT",
                                      "syntax error: the echo plugin runs SELECT "
                                      "statements only");
      dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, "42601");
      g_propagate_error (error, e);
      return NULL;
    }

  if (conn->max_params > 0 && n_params > conn->max_params)
    {
      GError *e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED,
                                      "Raise max_params in the URL, or pass fewer",
                                      "the statement has %u parameters, max_params is %u",
                                      n_params, conn->max_params);
      dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, "54023");
      g_propagate_error (error, e);
      return NULL;
    }

  guint seconds;
  if (sscanf (sql + 6, " sleep(%u)", &seconds) == 1)
    {
      if (!echo_sleep (seconds, cancellable, error))
        return NULL;
      EchoResult *r = echo_result_new (1);
      r->names[0] = g_strdup ("sleep");
      r->values[0] = g_strdup_printf ("%u", seconds);
      r->lengths[0] = strlen (r->values[0]);
      r->types[0] = DAL_COLUMN_TEXT;
      return dal_result_new (&echo_result_funcs, r);
    }

  EchoResult *r = echo_result_new (n_params);
  for (guint c = 0; c < n_params; c++)
    {
      r->names[c] = g_strdup_printf ("$%u", c + 1);
      r->types[c] = DAL_COLUMN_TEXT;
      if (params->types[c] == DAL_PARAM_NULL)
        continue;
      if (params->types[c] == DAL_PARAM_BYTES)
        {
          /* Bytes arrive raw; give them back in bytea's text form ("\x"
           * and two hex digits per byte), which dal_result_get_bytes()
           * decodes for a DAL_COLUMN_BYTES column. */
          GString *hex = g_string_new ("\\x");
          for (int b = 0; b < params->lengths[c]; b++)
            g_string_append_printf (hex, "%02x", (guint) (guchar) params->values[c][b]);
          r->types[c] = DAL_COLUMN_BYTES;
          r->lengths[c] = hex->len;
          r->values[c] = g_string_free (hex, FALSE);
        }
      else
        {
          /* Everything else arrives as text (numbers in decimal,
           * booleans as "t"/"f"). */
          r->values[c] = g_strndup (params->values[c], params->lengths[c]);
          r->lengths[c] = (gsize) params->lengths[c];
          if (params->types[c] == DAL_PARAM_TEXT && strcmp (conn->text_case, "as-is") != 0)
            {
              char *changed = strcmp (conn->text_case, "upper") == 0
                                ? g_utf8_strup (r->values[c], -1)
                                : g_utf8_strdown (r->values[c], -1);
              g_free (r->values[c]);
              r->values[c] = changed;
              r->lengths[c] = strlen (changed);
            }
        }
    }
  return dal_result_new (&echo_result_funcs, r);
}

/* -- the dialect: what echo's URLs may say -- */

static const char * const case_choices[] = { "as-is", "upper", "lower", NULL };

/* Name, type, flags, choices (ENUM), the client library version that
 * brought it (0: any).  The core refuses any other option, and any value
 * of the wrong type, before the plugin sees the URL; libdal's own options
 * (command_timeout, pool_*, ...) are valid in every dialect. */
static const DalUrlOption echo_options[] = {
  { "host", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "port", DAL_URL_OPTION_PORT, 0, NULL, 0 },
  { "database", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "case", DAL_URL_OPTION_ENUM, 0, case_choices, 0 },
  { "max_params", DAL_URL_OPTION_UINT, 0, NULL, 0 },
  { "token", DAL_URL_OPTION_STRING, DAL_URL_OPTION_SECRET, NULL, 0 },
};

static const char * const echo_aliases[] = { "parrot", NULL };

static const DalDialect echo_dialect = {
  .name = "echo",
  .aliases = echo_aliases,      /* also Aliases= in echo.plugin */
  .flags = 0,                   /* DAL_DIALECT_NO_SERVER for a file's URLs */
  .options = echo_options,
  .n_options = G_N_ELEMENTS (echo_options),
  /* which option each part of echo://host:port/database sets; NULL: the
   * URL may not have that part (echo has no users) */
  .user_option = NULL,
  .password_option = NULL,
  .host_option = "host",
  .port_option = "port",
  .path_option = "database",
  /* the end of an unknown option's message */
  .docs_hint = "echo's URLs take case, max_params and token",
};

/* -- what the core loads -- */

static const DalPluginFuncs echo_funcs = {
  .connect = echo_connect,
  .query = echo_query,
  .close = echo_close,
  .get_info = echo_get_info,
};

static const char * const echo_drivers[] = { "echo", NULL };

/* The one exported symbol.  Its name carries the module name ("echo", the
 * file name echo.so / echo.la without extension): libltdl looks up
 * echo_LTX_dal_plugin_descriptor, which also lets several plugins be
 * preloaded into one program. */
DAL_PLUGIN_EXPORT const DalPluginDescriptor DAL_PLUGIN_DESCRIPTOR_SYMBOL (echo) = {
  DAL_PLUGIN_ABI_INIT,
  .flags = DAL_PLUGIN_DIALECT_DEFAULT,
  .name = "echo",
  .dialect = "echo",
  .drivers = echo_drivers,
  .caps = 0,
  .funcs = &echo_funcs,
  .description = "example plugin: answers SELECT with its parameters",
  .dialect_info = &echo_dialect,
};
