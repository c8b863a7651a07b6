/* dal-query.c: `dal query`, which behaves like psql -c / psql -f.
 *
 *   dal query [URL] SQL [PARAM…]      one statement, $1… the parameters
 *   dal query [URL] -f FILE           a script, statement by statement
 *   dal query [URL] < FILE            the same from stdin (also -f -)
 *
 * Everything runs on the main loop (the connect, each statement): Ctrl-C
 * (SIGINT) cancels the GCancellable they run under, which makes the
 * plugin send the server a cancel request for the statement in flight;
 * `dal` waits until the server has ended it (settle_cancel) and exits
 * with 130 (128 + SIGINT, as a shell reports a command the signal
 * ended), where psql, which also waits, would exit 1 (or 3 in a script)
 * with "canceling statement due to user request".  A second Ctrl-C kills
 * it at once.
 *
 * Exit status, as psql's: 0 all went well; 1 an error (an SQL error of
 * the one statement, a bad URL or configuration, no plugin for it, a
 * usage error: psql's status for bad options, where the other
 * subcommands use 2); 2 the connection failed (could not connect:
 * refused, authentication, TLS..., or was lost on the way); 3 a script
 * stopped at an error (psql's ON_ERROR_STOP); with --continue a script
 * runs to its end and exits 1 when a statement failed (psql would exit
 * 0 there); 130 interrupted.
 *
 * Server errors are shown as psql shows them, on stderr:
 *
 *   ERROR:  column "nope" does not exist
 *   LINE 2: select nope
 *                  ^
 *   DETAIL:  ...
 *   HINT:  ...
 *   CONTEXT:  ...
 *
 * and in a script prefixed with "dal:FILE:LINE: " where LINE is the
 * script's line the error position points at (else where the statement
 * starts).  Notices (RAISE NOTICE, warnings: the connection's "notice"
 * signal) go to stderr as "NOTICE:  message" with their DETAIL and HINT.
 * Other errors are "dal: <message>".
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include <dal/dal-plugin.h>   /* dal_sql_split_statements() */

#include "dal-tool.h"

enum
{
  EXIT_OK = 0,
  EXIT_ERROR = 1,
  EXIT_CONNECTION = 2,
  EXIT_SCRIPT = 3,
  EXIT_INTERRUPTED = 130,
};

typedef struct
{
  GMainLoop *loop;
  GCancellable *cancellable;
  gboolean interrupted;
  guint sigint_source;
  /* what the last async call gave */
  gpointer value;      /* a DalConnection or a DalResult */
  GError *error;
} Run;

static gboolean
on_sigint (gpointer data)
{
  Run *run = data;
  run->interrupted = TRUE;
  run->sigint_source = 0;
  fputs ("Cancel request sent\n", stderr);
  g_cancellable_cancel (run->cancellable);
  /* The next Ctrl-C ends the process (GLib restores the default action
   * when the last source for the signal goes). */
  return G_SOURCE_REMOVE;
}

/* -- waiting for one async call -- */

static void
open_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Run *run = data;
  (void) source;
  run->value = dal_connection_open_url_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

static void
query_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Run *run = data;
  run->value = dal_connection_query_finish (DAL_CONNECTION (source), res, &run->error);
  g_main_loop_quit (run->loop);
}

static void
close_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Run *run = data;
  dal_connection_close_finish (DAL_CONNECTION (source), res, &run->error);
  g_main_loop_quit (run->loop);
}

/* Dispatches what is ready (notices not yet shown) without blocking. */
static void
flush_pending (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static DalConnection *
open_connection (Run *run, DalUrl *url, GError **error)
{
  dal_connection_open_url_async (NULL, url, run->cancellable, open_done, run);
  g_main_loop_run (run->loop);
  if (run->value == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&run->error));
      return NULL;
    }
  return g_steal_pointer (&run->value);
}

static DalResult *
run_statement (Run *run, DalConnection *conn, const char *sql, GVariant *params,
               GError **error)
{
  dal_connection_query_async (conn, sql, params, run->cancellable, query_done, run);
  g_main_loop_run (run->loop);
  flush_pending ();
  if (run->value == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&run->error));
      return NULL;
    }
  return g_steal_pointer (&run->value);
}

/* -- notices -- */

static void
on_notice (DalConnection *conn, const char *severity, const char *sqlstate,
           const char *message, const char *detail, const char *hint,
           gpointer data)
{
  (void) conn, (void) sqlstate, (void) data;
  fflush (stdout);
  fprintf (stderr, "%s:  %s\n", severity != NULL ? severity : "NOTICE", message);
  if (detail != NULL)
    fprintf (stderr, "DETAIL:  %s\n", detail);
  if (hint != NULL)
    fprintf (stderr, "HINT:  %s\n", hint);
}

/* -- errors as psql shows them -- */

/* Display columns of @len bytes of UTF-8 @s (wide characters count 2). */
static gsize
columns (const char *s, gsize len)
{
  gsize n = 0;
  for (const char *p = s; p < s + len; p = g_utf8_next_char (p))
    n += g_unichar_iswide (g_utf8_get_char (p)) ? 2 : 1;
  return n;
}

/* The byte offset in @sql of the 1-based character position @field, or
 * -1 when there is none (or it lies outside @sql). */
static gssize
position_offset (const char *sql, const char *field)
{
  if (field == NULL || sql == NULL)
    return -1;
  gint64 pos = g_ascii_strtoll (field, NULL, 10);
  if (pos < 1)
    return -1;
  gboolean utf8 = g_utf8_validate (sql, -1, NULL);
  glong n = utf8 ? g_utf8_strlen (sql, -1) : (glong) strlen (sql);
  if (pos > n + 1)
    return -1;
  return utf8 ? g_utf8_offset_to_pointer (sql, pos - 1) - sql : pos - 1;
}

/* The 1-based line of @sql that byte @offset is on; @start: where that
 * line starts. */
static guint
line_of (const char *sql, gsize offset, const char **start)
{
  guint line = 1;
  *start = sql;
  for (const char *p = sql; p < sql + offset; p++)
    if (*p == '\n')
      {
        line++;
        *start = p + 1;
      }
  return line;
}

/* "LINE n: <that line>" and a caret under the position's character. */
static void
print_position (FILE *out, const char *sql, gsize offset)
{
  const char *start;
  guint line = line_of (sql, offset, &start);
  const char *end = start + strcspn (start, "\r\n");
  g_autofree char *text = g_strndup (start, end - start);
  for (char *p = text; *p != '\0'; p++)
    if (*p == '\t')
      *p = ' ';   /* one column each, as the caret counts them */
  g_autofree char *prefix = g_strdup_printf ("LINE %u: ", line);
  gboolean utf8 = g_utf8_validate (text, -1, NULL);
  gsize col = strlen (prefix) + (utf8 ? columns (text, sql + offset - start)
                                      : (gsize) (sql + offset - start));
  fprintf (out, "%s%s\n%*s^\n", prefix, text, (int) col, "");
}

/* Whether @error is the server's (it has the server's fields). */
static gboolean
is_server_error (const GError *error)
{
  return error->domain == DAL_ERROR
         && dal_error_get_field (error, DAL_ERROR_FIELD_MESSAGE) != NULL;
}

/* Prints @error for the statement @sql (may be NULL); @where, when not
 * NULL, is a script's name and @first_line the script line @sql starts
 * on. */
static void
print_error (const GError *error, const char *sql, const char *where,
             guint first_line)
{
  fflush (stdout);
  if (!is_server_error (error))
    {
      if (where != NULL)
        fprintf (stderr, "dal:%s:%u: %s\n", where, first_line, error->message);
      else
        dal_tool_fail (error);
      return;
    }
  const char *severity = dal_error_get_field (error, DAL_ERROR_FIELD_SEVERITY);
  const char *message = dal_error_get_field (error, DAL_ERROR_FIELD_MESSAGE);
  gssize offset = position_offset (sql, dal_error_get_field (error, DAL_ERROR_FIELD_POSITION));

  const char *line_start;
  guint line = offset >= 0 ? line_of (sql, offset, &line_start) : 1;
  if (where != NULL)
    fprintf (stderr, "dal:%s:%u: ", where, first_line + line - 1);
  fprintf (stderr, "%s:  %s\n", severity != NULL ? severity : "ERROR", message);
  if (offset >= 0)
    print_position (stderr, sql, offset);
  const char *detail = dal_error_get_field (error, DAL_ERROR_FIELD_DETAIL);
  if (detail != NULL)
    fprintf (stderr, "DETAIL:  %s\n", detail);
  /* the server's own hint, as psql shows it (libdal's advice for the
   * SQLSTATE class would only repeat what the lines above say) */
  const char *hint = dal_error_get_field (error, DAL_ERROR_FIELD_HINT);
  if (hint != NULL)
    fprintf (stderr, "HINT:  %s\n", hint);
  const char *iquery = dal_error_get_field (error, DAL_ERROR_FIELD_INTERNAL_QUERY);
  gssize ioffset = position_offset (iquery, dal_error_get_field (error, DAL_ERROR_FIELD_INTERNAL_POSITION));
  if (iquery != NULL)
    {
      fprintf (stderr, "QUERY:  %s\n", iquery);
      if (ioffset >= 0)
        print_position (stderr, iquery, ioffset);
    }
  const char *context = dal_error_get_field (error, DAL_ERROR_FIELD_CONTEXT);
  if (context != NULL)
    fprintf (stderr, "CONTEXT:  %s\n", context);
}

/* The exit status for a failed statement or connect. */
static int
failure_status (Run *run, const GError *error, int otherwise)
{
  if (run->interrupted || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return EXIT_INTERRUPTED;
  if (g_error_matches (error, DAL_ERROR, DAL_ERROR_CONNECTION_LOST)
      || g_error_matches (error, DAL_ERROR, DAL_ERROR_CLOSED))
    return EXIT_CONNECTION;
  return otherwise;
}

/* The exit status when the connection could not be opened: 2 (psql's
 * "could not connect"), except for what went wrong before any attempt to
 * connect (the URL, the configuration, the plugin): 1. */
static int
open_failure_status (Run *run, const GError *error)
{
  if (run->interrupted)
    return EXIT_INTERRUPTED;
  if (error->domain == DAL_ERROR
      && ((error->code >= DAL_ERROR_URL_MALFORMED && error->code <= DAL_ERROR_UNSUPPORTED)
          || error->code == DAL_ERROR_CONFIG_INVALID))
    return EXIT_ERROR;
  return EXIT_CONNECTION;
}

static void
print_result (const DalResult *result, gboolean csv)
{
  if (csv)
    dal_tool_print_csv (result, stdout);
  else
    dal_tool_print_table (result, stdout);
  fflush (stdout);
}

/* -- scripts -- */

static char *
read_script (const char *file, char **name, GError **error)
{
  if (file == NULL || strcmp (file, "-") == 0)
    {
      *name = g_strdup ("<stdin>");
      GString *text = g_string_new (NULL);
      char buf[8192];
      size_t n;
      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        g_string_append_len (text, buf, n);
      if (ferror (stdin))
        {
          g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED,
                       "cannot read the script from stdin: %s", g_strerror (errno));
          g_string_free (text, TRUE);
          return NULL;
        }
      return g_string_free (text, FALSE);
    }
  *name = g_strdup (file);
  char *text = NULL;
  if (!g_file_get_contents (file, &text, NULL, error))
    return NULL;
  return text;
}

static int
run_script (Run *run, DalConnection *conn, const char *text, const char *name,
            gboolean csv, gboolean keep_going)
{
  gsize *offsets = NULL;
  guint n = 0;
  g_auto (GStrv) statements = dal_sql_split_statements (text, &offsets, &n);
  int status = EXIT_OK;
  guint line = 1;
  const char *counted = text;   /* newlines before it are in @line */
  for (guint i = 0; i < n; i++)
    {
      /* Blanks before the statement are not sent: a server position
       * and LINE then count from its first word, as psql's do. */
      const char *sql = statements[i];
      while (g_ascii_isspace (*sql))
        sql++;
      const char *start = text + offsets[i] + (sql - statements[i]);
      for (; counted < start; counted++)
        if (*counted == '\n')
          line++;

      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) result = run_statement (run, conn, sql, NULL, &error);
      if (result != NULL)
        {
          print_result (result, csv);
          continue;
        }
      print_error (error, sql, name, line);
      status = failure_status (run, error, keep_going ? EXIT_ERROR : EXIT_SCRIPT);
      if (status != EXIT_ERROR)
        break;
    }
  g_free (offsets);
  return status;
}

/* After Ctrl-C: the plugin may send the cancel request from a thread of
 * its own after the statement already failed here (pgasync does), and
 * exiting now could lose it.  A statement after it runs only once the
 * server has ended the cancelled one, so wait for that one (a second
 * Ctrl-C kills us: the signal's default action is back). */
static void
settle_cancel (Run *run, DalConnection *conn)
{
  g_object_unref (run->cancellable);
  run->cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = run_statement (run, conn, "SELECT 1", NULL, &error);
}

/* -- the command -- */

int
dal_tool_query (int argc, char **argv)
{
  gboolean csv = FALSE, keep_going = FALSE;
  g_autofree char *null_marker = NULL;
  g_autofree char *config_file = NULL;
  g_autofree char *file = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Without a URL argument: read this configuration file", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_NONE, &csv, "Print CSV instead of a table", NULL },
    { "null", 0, 0, G_OPTION_ARG_STRING, &null_marker,
      "A parameter equal to TEXT is sent as SQL NULL", "TEXT" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
      "Run the script in FILE (- for stdin) statement by statement", "FILE" },
    { "continue", 0, 0, G_OPTION_ARG_NONE, &keep_going,
      "In a script: go on after a failed statement (exit status 1 at the "
      "end) instead of stopping (exit status 3)", NULL },
    { NULL }
  };
  /* Usage errors: 1, as psql's (2 is for connection failures here). */
  if (!dal_tool_parse_options ("query", entries, &argc, &argv))
    return EXIT_ERROR;

  /* dal query [URL] SQL [PARAM…] | [URL] -f FILE | [URL] < FILE */
  const char *url_arg = argc >= 2 && dal_tool_is_url (argv[1]) ? argv[1] : NULL;
  int sql_index = url_arg != NULL ? 2 : 1;
  gboolean script = file != NULL || (argc <= sql_index && !isatty (STDIN_FILENO));
  if (file != NULL && argc > sql_index)
    {
      dal_tool_usage_error ("query", "give either SQL or -f FILE, not both");
      return EXIT_ERROR;
    }
  if (!script && argc <= sql_index)
    {
      dal_tool_usage_error ("query", "expected an SQL statement (or -f FILE, or "
                                     "a script on stdin)");
      return EXIT_ERROR;
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL, *name = NULL;
  if (script && (text = read_script (file, &name, &error)) == NULL)
    return dal_tool_fail (error);

  g_autoptr (DalUrl) url = dal_tool_get_url (url_arg, config_file, FALSE, &error);
  if (url == NULL)
    return dal_tool_fail (error);
  /* configuration's [pool] settings are for pools, not this connection */
  g_autoptr (DalUrl) single = url_arg == NULL ? dal_url_without_pool_options (url)
                                              : dal_url_ref (url);

  Run run = { 0 };
  run.loop = g_main_loop_new (NULL, FALSE);
  run.cancellable = g_cancellable_new ();
  run.sigint_source = g_unix_signal_add (SIGINT, on_sigint, &run);

  int status = EXIT_OK;
  g_autoptr (DalConnection) conn = open_connection (&run, single, &error);
  if (conn == NULL)
    {
      dal_tool_fail (error);
      status = open_failure_status (&run, error);
    }
  else
    {
      g_signal_connect (conn, "notice", G_CALLBACK (on_notice), NULL);
      if (script)
        status = run_script (&run, conn, text, name, csv, keep_going);
      else
        {
          /* Parameters travel as text of unknown type: the server infers
           * each one's type from the statement ($1 in "id = $1" is an
           * integer). */
          GVariantBuilder b;
          g_variant_builder_init (&b, G_VARIANT_TYPE_TUPLE);
          for (int i = sql_index + 1; i < argc; i++)
            {
              gboolean is_null = null_marker != NULL && strcmp (argv[i], null_marker) == 0;
              g_variant_builder_add_value (
                &b, g_variant_new_maybe (G_VARIANT_TYPE_STRING,
                                         is_null ? NULL : g_variant_new_string (argv[i])));
            }
          const char *sql = argv[sql_index];
          g_autoptr (DalResult) result = run_statement (&run, conn, sql,
                                                        g_variant_builder_end (&b), &error);
          if (result != NULL)
            print_result (result, csv);
          else
            {
              print_error (error, sql, NULL, 1);
              status = failure_status (&run, error, EXIT_ERROR);
            }
        }
      if (status == EXIT_INTERRUPTED)
        settle_cancel (&run, conn);
      else if (status != EXIT_CONNECTION)
        {
          g_clear_error (&error);
          dal_connection_close_async (conn, NULL, close_done, &run);
          g_main_loop_run (run.loop);
          if (run.error != NULL)
            status = dal_tool_fail (run.error);
        }
    }

  g_clear_error (&run.error);
  if (run.sigint_source != 0)
    g_source_remove (run.sigint_source);
  g_object_unref (run.cancellable);
  g_main_loop_unref (run.loop);
  return status;
}
