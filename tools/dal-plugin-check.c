/* dal-plugin-check: libdal's conformance suite for plugins, installed.
 *
 *   dal-plugin-check [--plugin-dir DIR] [--slow-sql SQL] [--fail-sql SQL]
 *                    [--fail-url URL] [--calls N] URL
 *
 * (usually run as `dal conformance URL …`).  A plugin author points it at
 * a URL their plugin serves; it opens connections through the public API
 * only, as an application would, and reports in TAP (one "ok"/"not ok"
 * line per check, diagnostics as "#" lines, the plan at the end).  Exit
 * status: 0 all passed (or skipped), 1 a check failed, 2 usage.
 *
 * The statements are portable SQL ("SELECT $1, $2"): every parameter
 * comes back as the column of the same position.  Two statements differ
 * by dialect and have defaults per known dialect, and options:
 *   --slow-sql  runs for seconds, to be cancelled while in flight;
 *   --fail-sql  a syntax error;
 * and --fail-url names a URL of the plugin's that fails to connect.
 *
 * It is meant to be run under valgrind too (docs/plugins.md): it frees
 * everything it makes, so that "definitely lost" blocks are the plugin's
 * (or libdal's).
 *
 * This file holds the harness (TAP, waiting for async calls), the checks
 * of what the plugin does, and main; the checks of what it declares
 * (descriptor, ABI, dialect) are in dal-plugin-check-declared.c.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ltdl.h>

#include "dal-plugin-check.h"

#define WAIT_MS 30000           /* an async call that takes longer has hung */
#define CANCEL_AFTER_MS 200     /* how long the slow statement runs first */
#define DOUBLE_GRACE_MS 200     /* looking for second completions at the end */
#define HEAP_SLACK_BYTES (64 * 1024)  /* over the measured calls */

/* ------------------------------------------------------------------ */
/* Options and what each dialect needs.                                */

static char **opt_plugin_dirs;
static char *opt_slow_sql;
static char *opt_fail_sql;
static char *opt_fail_url;
static gint opt_calls = 1000;
static gboolean opt_tap;        /* accepted: this program always speaks TAP */

typedef struct
{
  const char *dialect;
  const char *slow_sql;
  const char *fail_sql;
  /* a database part that makes the connect fail ("/x" replaces the
   * URL's path) */
  const char *fail_path;
} DialectDefaults;

static const DialectDefaults known_dialects[] = {
  { "postgresql", "SELECT pg_sleep(60)", "SELEC $1",
    "/dal_conformance_no_such_database" },
  /* no sleep function: count to a billion (tens of seconds) */
  { "sqlite",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 1000000000) SELECT count(*) FROM c",
    "SELEC $1", "//dal-conformance-no-such-folder/db.sqlite" },
};

/* Used for every dialect without a default of its own. */
#define GENERIC_FAIL_SQL "SELEC $1"

static const DialectDefaults *
dialect_defaults (const char *dialect)
{
  for (guint i = 0; i < G_N_ELEMENTS (known_dialects); i++)
    if (g_ascii_strcasecmp (dialect, known_dialects[i].dialect) == 0)
      return &known_dialects[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* TAP.                                                                */

static guint n_tests, n_failed;
static char *current;           /* the check running, or NULL */
gboolean current_failed;

void
begin (const char *name)
{
  current = g_strdup (name);
  current_failed = FALSE;
}

void G_GNUC_PRINTF (1, 2)
diag (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *text = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    printf ("# %s\n", lines[i]);
  fflush (stdout);
}

/* Records a failure of the current check, saying why. */
void G_GNUC_PRINTF (1, 2)
fail (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *text = g_strdup_vprintf (format, ap);
  va_end (ap);
  diag ("%s: %s", current != NULL ? current : "(between checks)", text);
  current_failed = TRUE;
}

gboolean
end (void)
{
  gboolean ok = !current_failed;
  printf ("%s %u - %s\n", ok ? "ok" : "not ok", ++n_tests, current);
  fflush (stdout);
  if (!ok)
    n_failed++;
  g_clear_pointer (&current, g_free);
  return ok;
}

void
skip (const char *name, const char *why)
{
  printf ("ok %u - %s # SKIP %s\n", ++n_tests, name, why);
  fflush (stdout);
}


/* ------------------------------------------------------------------ */
/* Time.                                                               */

/* Upper bounds are multiplied by DAL_TEST_TIME_SCALE (at least 1), so
 * that a slow machine or valgrind does not fail a plugin that is right. */
gint64
scaled_ms (gint64 ms)
{
  const char *env = g_getenv ("DAL_TEST_TIME_SCALE");
  double scale = env != NULL ? g_ascii_strtod (env, NULL) : 1.0;
  return (gint64) (ms * MAX (scale, 1.0));
}

gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

/* ------------------------------------------------------------------ */
/* The state every check shares.                                       */

DalUrl *url;              /* the URL under test */
const char *url_text;     /* as given (never printed: use url_shown) */
static char *url_shown;          /* redacted */
static GMainContext *context;    /* the thread-default one, pushed by main */
static GThread *main_thread;
static const char *slow_sql;     /* NULL: none known */
static const char *fail_sql;
char *fail_url;           /* NULL: none known */
char *plugin_name;

static gboolean
wakeup (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the context until *@counter reaches @target or @ms (scaled)
 * pass. */
static gboolean
wait_count (const guint *counter, guint target, gint64 ms)
{
  gint64 until = now_ms () + scaled_ms (ms);
  GSource *timer = g_timeout_source_new ((guint) scaled_ms (ms));
  g_source_set_callback (timer, wakeup, NULL, NULL);
  g_source_attach (timer, context);
  while (*counter < target && now_ms () < until)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
  return *counter >= target;
}

/* An error from the plugin must be a DAL_ERROR (or a cancellation), must
 * not carry the password, and its hint ends its message. */
static void
check_error_clean (const GError *error, const char *what)
{
  if (error == NULL)
    return;
  const char *pw = dal_url_get_password (url);
  if (pw != NULL && *pw != '\0' && strstr (error->message, pw) != NULL)
    fail ("%s: the error shows the password", what);
  const char *hint = error->domain == DAL_ERROR ? dal_error_get_hint (error) : NULL;
  if (hint != NULL && !g_str_has_suffix (error->message, hint))
    fail ("%s: the message does not end with its hint", what);
}

const char *
code_name (const GError *error)
{
  if (error->domain == DAL_ERROR)
    return dal_error_code_to_string (error->code);
  return g_quark_to_string (error->domain);
}

/* ------------------------------------------------------------------ */
/* Async calls and their contract.                                     */

/* One async call: its callback must run exactly once, on the caller's
 * thread and thread-default main context, never inside the _async call.
 * Every Pending stays registered until the end, when the last check
 * looks for calls that completed twice. */
typedef struct
{
  const char *what;
  gboolean inside;        /* TRUE while the _async call runs */
  guint calls;
  GAsyncResult *result;
  gboolean violated;      /* reported once */
} Pending;

static GPtrArray *pendings;
static guint n_completed;   /* callbacks run, all Pendings */

static Pending *
pending_new (const char *what)
{
  Pending *p = g_new0 (Pending, 1);
  p->what = what;
  p->inside = TRUE;
  g_ptr_array_add (pendings, p);
  return p;
}

static void
pending_free (gpointer data)
{
  Pending *p = data;
  g_clear_object (&p->result);
  g_free (p);
}

static void
pending_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  const char *problem = NULL;
  if (p->inside)
    problem = "completed inside the _async call";
  else if (g_thread_self () != main_thread)
    problem = "completed on another thread than the caller's";
  else if (!g_main_context_is_owner (context)
           || g_main_context_get_thread_default () != context)
    problem = "completed on another main context than the caller's thread-default one";
  else if (p->calls > 0)
    problem = "completed more than once";
  if (problem != NULL && !p->violated)
    {
      p->violated = TRUE;
      fail ("%s: %s", p->what, problem);
    }
  p->calls++;
  n_completed++;
  if (p->result == NULL)
    p->result = g_object_ref (result);
}

/* Marks the _async call as returned, then waits for its completion.
 * Returns: (transfer none) (nullable): its result; NULL (the check
 * failed, @error set) when it did not complete in time. */
static GAsyncResult *
pending_wait (Pending *p, GError **error)
{
  p->inside = FALSE;
  wait_count (&p->calls, 1, WAIT_MS);
  if (p->calls > 0)
    return p->result;
  fail ("%s: did not complete within %" G_GINT64_FORMAT " ms", p->what, scaled_ms (WAIT_MS));
  g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED, "%s did not complete", p->what);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Each call, blocking or async.                                       */

DalConnection *
do_open (gboolean async, const char *text, GCancellable *cancellable, GError **error)
{
  if (!async)
    return dal_connection_open (text, cancellable, error);
  Pending *p = pending_new ("dal_connection_open_async");
  dal_connection_open_async (text, cancellable, pending_cb, p);
  GAsyncResult *res = pending_wait (p, error);
  return res != NULL ? dal_connection_open_finish (res, error) : NULL;
}

static DalResult *
do_query (gboolean async, DalConnection *conn, const char *sql, GVariant *params,
          GCancellable *cancellable, GError **error)
{
  if (!async)
    return dal_connection_query (conn, sql, params, cancellable, error);
  Pending *p = pending_new ("dal_connection_query_async");
  dal_connection_query_async (conn, sql, params, cancellable, pending_cb, p);
  GAsyncResult *res = pending_wait (p, error);
  return res != NULL ? dal_connection_query_finish (conn, res, error) : NULL;
}

static gboolean
do_close (gboolean async, DalConnection *conn, GError **error)
{
  if (!async)
    return dal_connection_close (conn, NULL, error);
  Pending *p = pending_new ("dal_connection_close_async");
  dal_connection_close_async (conn, NULL, pending_cb, p);
  GAsyncResult *res = pending_wait (p, error);
  return res != NULL ? dal_connection_close_finish (conn, res, error) : FALSE;
}

const char *
mode (gboolean async)
{
  return async ? "async" : "blocking";
}

/* A connection to the URL, or NULL with the failure recorded. */
static DalConnection *
open_ok (gboolean async)
{
  g_autoptr (GError) error = NULL;
  DalConnection *conn = do_open (async, url_text, NULL, &error);
  if (conn == NULL)
    fail ("%s open of %s failed: %s", mode (async), url_shown, error->message);
  return conn;
}

/* Closes and drops @conn, recording a failure. */
static void
close_ok (gboolean async, DalConnection *conn)
{
  g_autoptr (GError) error = NULL;
  if (!do_close (async, conn, &error))
    fail ("%s close failed: %s", mode (async), error->message);
  g_object_unref (conn);
}

/* Begins the check named by @format with a new connection (async open
 * or not); NULL (and the check ended, failed) when none opens. */
static DalConnection * G_GNUC_PRINTF (2, 3)
begin_open (gboolean async, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *name = g_strdup_vprintf (format, ap);
  va_end (ap);
  begin (name);
  DalConnection *conn = open_ok (async);
  if (conn == NULL)
    end ();
  return conn;
}

/* `SELECT $1` must give back @n; the connection still works. */
static gboolean
check_alive (gboolean async, DalConnection *conn, gint n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = do_query (async, conn, "SELECT $1",
                                      g_variant_new ("(i)", n), NULL, &error);
  if (r == NULL)
    return CHECK (FALSE, "the connection no longer works: SELECT $1 failed: %s",
                  error->message);
  if (!CHECK (dal_result_get_n_rows (r) == 1 && dal_result_get_n_columns (r) == 1,
              "SELECT $1 gave %u rows of %u columns, not 1 of 1",
              dal_result_get_n_rows (r), dal_result_get_n_columns (r)))
    return FALSE;
  gint got = dal_result_get_int (r, 0, 0, &error);
  return CHECK (error == NULL && got == n, "SELECT $1 with %d gave back \"%s\"", n,
                dal_result_get_string (r, 0, 0, NULL));
}
/* ------------------------------------------------------------------ */
/* open and close                                                      */

static void
test_open_close (gboolean async_open, gboolean async_close)
{
  g_autofree char *name = g_strdup_printf ("open %s, close %s", mode (async_open),
                                           mode (async_close));
  begin (name);
  DalConnection *conn = open_ok (async_open);
  if (conn != NULL)
    {
      CHECK (g_strcmp0 (dal_connection_get_plugin_name (conn), plugin_name) == 0,
             "served by %s, not %s", dal_connection_get_plugin_name (conn), plugin_name);
      CHECK (!dal_connection_is_closed (conn), "a new connection says it is closed");
      check_alive (async_open, conn, 7);
      g_object_ref (conn);
      close_ok (async_close, conn);
      CHECK (dal_connection_is_closed (conn), "a closed connection says it is open");
      /* after the close: refused with DAL_ERROR_CLOSED, also async */
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) r = do_query (async_close, conn, "SELECT $1",
                                          g_variant_new ("(i)", 1), NULL, &error);
      CHECK (r == NULL && g_error_matches (error, DAL_ERROR, DAL_ERROR_CLOSED),
             "a statement after the close gave %s, not DAL_ERROR_CLOSED",
             error != NULL ? code_name (error) : "a result");
      g_object_unref (conn);
    }
  end ();
}

/* ------------------------------------------------------------------ */
/* parameters                                                          */

static const guint8 blob[] = { 0x00, 'a', 0x00, 0xff, '\\', 'x', 0x00, 0x7f };
static const char utf8_text[] = "h\xc3\xa9llo, 'w\xc3\xb6rld' \"x\" \\ $1";

/* The parameters of the round trip, as a tuple (floating). */
static GVariant *
all_params (void)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_TUPLE);
  g_variant_builder_add (&b, "b", TRUE);                          /* $1 */
  g_variant_builder_add (&b, "b", FALSE);                         /* $2 */
  g_variant_builder_add (&b, "n", (gint16) G_MININT16);           /* $3 */
  g_variant_builder_add (&b, "i", (gint32) G_MININT32);           /* $4 */
  g_variant_builder_add (&b, "x", (gint64) G_MAXINT64);           /* $5 */
  g_variant_builder_add (&b, "t", (guint64) G_MAXUINT64);         /* $6 numeric */
  g_variant_builder_add (&b, "d", 1.0 / 3.0);                     /* $7 */
  g_variant_builder_add (&b, "d", -0.1);                          /* $8 */
  g_variant_builder_add (&b, "s", utf8_text);                     /* $9 */
  g_variant_builder_add (&b, "s", "");                            /* $10 */
  g_variant_builder_add_value (&b, g_variant_new_fixed_array (   /* $11 */
                                 G_VARIANT_TYPE_BYTE, blob, sizeof blob, 1));
  g_variant_builder_add (&b, "ms", NULL);                         /* $12 NULL */
  g_variant_builder_add (&b, "mi", FALSE, 0);                     /* $13 NULL */
  g_variant_builder_add (&b, "may", FALSE, NULL);                 /* $14 NULL */
  return g_variant_builder_end (&b);
}

#define N_ALL_PARAMS 14


/* Column @c of row 0 of @r against parameter $(@i + 1) of all_params(). */
static void
check_param_column (DalResult *r, guint c, guint i)
{
  g_autoptr (GError) error = NULL;
  const char *text = dal_result_get_string (r, 0, c, NULL);
  const char *shown = text != NULL ? text : "NULL";
  guint n = i + 1;
  switch (n)
    {
    case 1:
    case 2:
      {
        gboolean v = dal_result_get_boolean (r, 0, c, &error);
        CHECK (error == NULL && v == (n == 1), "$%u (boolean %s) came back as \"%s\"", n,
               n == 1 ? "true" : "false", shown);
        break;
      }
    case 3:
    case 4:
    case 5:
      {
        gint64 want = n == 3 ? G_MININT16 : n == 4 ? G_MININT32 : G_MAXINT64;
        gint64 v = dal_result_get_int64 (r, 0, c, &error);
        CHECK (error == NULL && v == want,
               "$%u (integer %" G_GINT64_FORMAT ") came back as \"%s\"", n, want, shown);
        break;
      }
    case 6:
      CHECK (g_strcmp0 (text, "18446744073709551615") == 0,
             "$6 (numeric 18446744073709551615) came back as \"%s\"", shown);
      break;
    case 7:
    case 8:
      {
        double want = n == 7 ? 1.0 / 3.0 : -0.1;
        double v = dal_result_get_double (r, 0, c, &error);
        CHECK (error == NULL && v == want, "$%u (double %.17g) came back as \"%s\"", n,
               want, shown);
        break;
      }
    case 9:
      CHECK (g_strcmp0 (text, utf8_text) == 0, "$9 (text) came back as \"%s\"", shown);
      break;
    case 10:
      CHECK (text != NULL && *text == '\0', "$10 (empty text) came back as %s",
             text == NULL ? "NULL" : "non-empty text");
      break;
    case 11:
      {
        g_autoptr (GBytes) got = dal_result_get_bytes (r, 0, c, &error);
        gsize len = 0;
        const guint8 *data = got != NULL ? g_bytes_get_data (got, &len) : NULL;
        CHECK (error == NULL && got != NULL && len == sizeof blob
               && memcmp (data, blob, len) == 0,
               "$11 (%zu bytes with NULs) came back as %zu other bytes (column type %s): "
               "give bytes back in bytea's hex form (\\x…) in a DAL_COLUMN_BYTES column",
               sizeof blob, len, dal_result_get_column_type_name (r, c));
        break;
      }
    default:
      CHECK (dal_result_is_null (r, 0, c), "$%u (NULL) came back as \"%s\"", n, shown);
      break;
    }
}

static void
test_params (gboolean async)
{
  DalConnection *conn = begin_open (async, "every parameter type round trips, %s",
                                    mode (async));
  if (conn == NULL)
    return;
  g_autoptr (GVariant) all = g_variant_ref_sink (all_params ());

  /* One at a time: SELECT $1 */
  for (guint i = 0; i < N_ALL_PARAMS; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) child = g_variant_get_child_value (all, i);
      g_autoptr (DalResult) r = do_query (async, conn, "SELECT $1",
                                          g_variant_new_tuple (&child, 1), NULL, &error);
      if (!CHECK (r != NULL, "SELECT $1 with parameter $%u of the list failed: %s", i + 1,
                  error != NULL ? error->message : "?"))
        continue;
      if (CHECK (dal_result_get_n_rows (r) == 1 && dal_result_get_n_columns (r) == 1,
                 "SELECT $1 gave %u rows of %u columns, not 1 of 1",
                 dal_result_get_n_rows (r), dal_result_get_n_columns (r)))
        check_param_column (r, 0, i);
    }

  /* All together: SELECT $1, $2, … */
  g_autoptr (GString) sql = g_string_new ("SELECT $1");
  for (guint i = 2; i <= N_ALL_PARAMS; i++)
    g_string_append_printf (sql, ", $%u", i);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = do_query (async, conn, sql->str, all, NULL, &error);
  if (CHECK (r != NULL, "%s failed: %s", sql->str, error != NULL ? error->message : "?")
      && CHECK (dal_result_get_n_rows (r) == 1
                && dal_result_get_n_columns (r) == N_ALL_PARAMS,
                "%s gave %u rows of %u columns, not 1 of %u", sql->str,
                dal_result_get_n_rows (r), dal_result_get_n_columns (r), N_ALL_PARAMS))
    for (guint i = 0; i < N_ALL_PARAMS; i++)
      check_param_column (r, i, i);
  close_ok (async, conn);
  end ();
}

/* ------------------------------------------------------------------ */
/* errors                                                              */

static void
test_statement_error (gboolean async)
{
  DalConnection *conn = begin_open (async, "a failing statement is a DAL_ERROR, %s",
                                    mode (async));
  if (conn == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = do_query (async, conn, fail_sql, g_variant_new ("(i)", 1),
                                      NULL, &error);
  if (CHECK (r == NULL, "\"%s\" succeeded: give a failing statement with --fail-sql",
             fail_sql))
    {
      diag ("\"%s\": %s: %s (SQLSTATE %s)", fail_sql, code_name (error), error->message,
            error->domain == DAL_ERROR && dal_error_get_sqlstate (error) != NULL
              ? dal_error_get_sqlstate (error) : "none");
      CHECK (g_error_matches (error, DAL_ERROR, DAL_ERROR_QUERY_FAILED),
             "a statement the server refused gave %s %d, not DAL_ERROR_QUERY_FAILED",
             code_name (error), error->code);
      CHECK (*error->message != '\0', "the error has no message");
      check_error_clean (error, "the failing statement");
      check_alive (async, conn, 11);
    }
  close_ok (async, conn);
  end ();
}

static void
test_connect_error (gboolean async)
{
  g_autofree char *name = g_strdup_printf ("a failed connect is a DAL_ERROR, %s", mode (async));
  if (fail_url == NULL)
    {
      skip (name, "no URL known to fail for this dialect: give one with --fail-url URL");
      return;
    }
  begin (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = do_open (async, fail_url, NULL, &error);
  if (CHECK (conn == NULL, "opening the failing URL succeeded: give one that fails "
             "with --fail-url"))
    {
      diag ("%s", error->message);
      CHECK (error->domain == DAL_ERROR && error->code != DAL_ERROR_FAILED,
             "the error is %s %d: give it the DAL_ERROR code of its failure class",
             code_name (error), error->code);
      check_error_clean (error, "the failed connect");
    }
  end ();
}

/* ------------------------------------------------------------------ */
/* cancellation                                                        */

static void
test_cancel_before (gboolean async)
{
  g_autofree char *name = g_strdup_printf ("cancelled before the call, %s", mode (async));
  begin (name);
  g_autoptr (GCancellable) cancelled = g_cancellable_new ();
  g_cancellable_cancel (cancelled);
  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) none = do_open (async, url_text, cancelled, &error);
  CHECK (none == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED),
         "an open with a cancelled GCancellable gave %s, not G_IO_ERROR_CANCELLED",
         error != NULL ? error->message : "a connection");
  g_clear_error (&error);

  DalConnection *conn = open_ok (async);
  if (conn != NULL)
    {
      g_autoptr (DalResult) r = do_query (async, conn, "SELECT $1", g_variant_new ("(i)", 1),
                                          cancelled, &error);
      CHECK (r == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED),
             "a statement with a cancelled GCancellable gave %s, not G_IO_ERROR_CANCELLED",
             error != NULL ? error->message : "a result");
      check_alive (async, conn, 3);
      close_ok (async, conn);
    }
  end ();
}

typedef struct
{
  GCancellable *cancellable;
  gint64 fired_at;
} Canceller;

/* Cancels now, noting when: a timeout source's callback ... */
static gboolean
cancel_source (gpointer data)
{
  Canceller *c = data;
  c->fired_at = now_ms ();
  g_cancellable_cancel (c->cancellable);
  return G_SOURCE_REMOVE;
}

/* ... or, for a blocking call, a thread's, after the statement started
 * (a delay, not a synchronisation: the cancel may come at any time). */
static gpointer
cancel_thread (gpointer data)
{
  g_usleep (CANCEL_AFTER_MS * 1000);
  cancel_source (data);
  return NULL;
}

static void
test_cancel_in_flight (gboolean async)
{
  g_autofree char *name = g_strdup_printf ("cancelled while it runs, %s", mode (async));
  if (slow_sql == NULL)
    {
      skip (name, "no slow statement known for this dialect: give one that runs for "
                  "seconds with --slow-sql SQL");
      return;
    }
  DalConnection *conn = begin_open (async, "%s", name);
  if (conn == NULL)
    return;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Canceller c = { .cancellable = cancellable };
  GThread *thread = NULL;
  GSource *timer = NULL;
  if (async)
    {
      /* from the main context the call completes on */
      timer = g_timeout_source_new (CANCEL_AFTER_MS);
      g_source_set_callback (timer, cancel_source, &c, NULL);
      g_source_attach (timer, context);
    }
  else
    /* from another thread, while this one blocks in the call */
    thread = g_thread_new ("canceller", cancel_thread, &c);

  gint64 start = now_ms ();
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = do_query (async, conn, slow_sql, NULL, cancellable, &error);
  gint64 stop = now_ms ();
  if (thread != NULL)
    g_thread_join (thread);
  if (timer != NULL)
    {
      g_source_destroy (timer);
      g_source_unref (timer);
    }
  if (r != NULL)
    fail ("the slow statement finished (after %" G_GINT64_FORMAT " ms) instead of being "
          "cancelled: honour the GCancellable, or give a slower statement with --slow-sql",
          stop - start);
  else if (c.fired_at == 0)
    fail ("the slow statement failed before it was cancelled: %s", error->message);
  else
    {
      CHECK (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED),
             "the cancelled statement gave %s (%s), not G_IO_ERROR_CANCELLED",
             code_name (error), error->message);
      CHECK (stop - c.fired_at < scaled_ms (CANCEL_LATENCY_MS),
             "the call ended %" G_GINT64_FORMAT " ms after the cancel (at most %"
             G_GINT64_FORMAT " ms): cancel on the server", stop - c.fired_at,
             scaled_ms (CANCEL_LATENCY_MS));
    }
  gint64 again = now_ms ();
  if (check_alive (async, conn, 5))
    CHECK (now_ms () - again < scaled_ms (CANCEL_LATENCY_MS),
           "the next statement took %" G_GINT64_FORMAT " ms: the cancelled one still ran",
           now_ms () - again);
  close_ok (async, conn);
  end ();
}

/* ------------------------------------------------------------------ */
/* closing with calls pending                                          */

#define N_PENDING 6

static void
test_close_pending (gboolean async_close)
{
  DalConnection *conn = begin_open (FALSE, "close (%s) with async calls pending",
                                    mode (async_close));
  if (conn == NULL)
    return;
  Pending *p[N_PENDING];
  for (guint i = 0; i < N_PENDING; i++)
    {
      p[i] = pending_new ("a query_async pending at the close");
      dal_connection_query_async (conn, "SELECT $1", g_variant_new ("(i)", (gint32) i), NULL,
                                  pending_cb, p[i]);
      p[i]->inside = FALSE;
    }
  g_object_ref (conn);
  close_ok (async_close, conn);
  CHECK (dal_connection_is_closed (conn), "closed, but says it is open");
  for (guint i = 0; i < N_PENDING; i++)
    {
      if (pending_wait (p[i], NULL) == NULL)
        continue;
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) r = dal_connection_query_finish (conn, p[i]->result, &error);
      if (r != NULL)
        CHECK (dal_result_get_int (r, 0, 0, NULL) == (gint) i,
               "statement %u gave back \"%s\"", i, dal_result_get_string (r, 0, 0, NULL));
      else
        CHECK (g_error_matches (error, DAL_ERROR, DAL_ERROR_CLOSED),
               "statement %u pending at the close gave %s (%s), not a result or "
               "DAL_ERROR_CLOSED", i, code_name (error), error->message);
    }
  g_object_unref (conn);
  end ();
}

/* ------------------------------------------------------------------ */
/* blocking and async give the same answers                            */

/* What a call gave, as text, for comparing. */
static char *
describe (DalResult *r, const GError *error)
{
  if (r == NULL)
    return g_strdup_printf ("error %s", code_name (error));
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%u rows, %u columns:", dal_result_get_n_rows (r),
                          dal_result_get_n_columns (r));
  for (guint c = 0; c < dal_result_get_n_columns (r); c++)
    g_string_append_printf (s, " %s/%d/%s", dal_result_get_column_name (r, c),
                            (int) dal_result_get_column_type (r, c),
                            dal_result_get_column_type_name (r, c));
  for (guint row = 0; row < dal_result_get_n_rows (r); row++)
    for (guint c = 0; c < dal_result_get_n_columns (r); c++)
      {
        const char *v = dal_result_get_string (r, row, c, NULL);
        g_string_append_printf (s, v != NULL ? " [%s]" : " NULL", v);
      }
  g_string_append_printf (s, " affected %" G_GINT64_FORMAT ", tag %s",
                          dal_result_get_affected_rows (r),
                          dal_result_get_command_tag (r) != NULL
                            ? dal_result_get_command_tag (r) : "none");
  return g_string_free (s, FALSE);
}

static void
test_agree (void)
{
  DalConnection *conn = begin_open (FALSE, "blocking and async calls give the same answers");
  if (conn == NULL)
    return;
  const char *sqls[] = { "SELECT $1", "SELECT $1", "SELECT $1", "SELECT $1, $2, $3",
                         fail_sql, "SELECT $1" };
  for (guint i = 0; i < G_N_ELEMENTS (sqls); i++)
    {
      char *got[2];
      for (int async = 0; async < 2; async++)
        {
          GVariant *params;
          switch (i)
            {
            case 0: params = g_variant_new ("(i)", 42); break;
            case 1: params = g_variant_new ("(s)", utf8_text); break;
            case 2: params = g_variant_new ("(ms)", NULL); break;
            case 3: params = g_variant_new ("(bxd)", TRUE, (gint64) -5, 2.5); break;
            case 4: params = g_variant_new ("(i)", 1); break;
            default:
              params = g_variant_new ("(@ay)", g_variant_new_fixed_array (
                                        G_VARIANT_TYPE_BYTE, blob, sizeof blob, 1));
              break;
            }
          g_autoptr (GError) error = NULL;
          g_autoptr (DalResult) r = do_query (async, conn, sqls[i], params, NULL, &error);
          got[async] = describe (r, error);
        }
      CHECK (strcmp (got[0], got[1]) == 0, "\"%s\" (case %u): blocking gave %s; async gave %s",
             sqls[i], i, got[0], got[1]);
      g_free (got[0]);
      g_free (got[1]);
    }
  close_ok (FALSE, conn);
  end ();
}

/* ------------------------------------------------------------------ */
/* many calls in a row                                                 */

/* Bytes the allocator has handed out and not got back (glibc), or 0 when
 * that cannot be told (another libc, valgrind's or ASan's allocator). */
static gsize
heap_in_use (void)
{
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#elif defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 33)
  if (g_getenv ("LD_PRELOAD") != NULL && strstr (g_getenv ("LD_PRELOAD"), "vgpreload") != NULL)
    return 0;
  struct mallinfo2 mi = mallinfo2 ();
  return mi.uordblks + mi.hblkhd;
#else
  return 0;
#endif
#else
  return 0;
#endif
}

typedef struct
{
  DalConnection *conn;
  guint8 *calls;      /* [n]: completions of call i */
  guint completed;
  guint bad;
} Loop;

typedef struct
{
  Loop *loop;
  guint i;
} LoopCall;

static void
loop_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoopCall *lc = user_data;
  Loop *loop = lc->loop;
  g_autoptr (GError) error = NULL;
  g_autoptr (DalResult) r = dal_connection_query_finish (DAL_CONNECTION (source), result, &error);
  if (loop->calls[lc->i]++ > 0 || g_main_context_get_thread_default () != context
      || r == NULL || dal_result_get_int (r, 0, 0, NULL) != (gint) lc->i)
    {
      if (loop->bad++ == 0)
        fail ("async call %u: %s", lc->i,
              loop->calls[lc->i] > 1 ? "completed twice"
              : g_main_context_get_thread_default () != context ? "completed on another context"
              : r == NULL ? error->message : "a wrong value");
    }
  loop->completed++;
}

/* @n sync calls, then @n async ones, at most 16 in flight. */
static void
run_loop (Loop *loop, LoopCall *lcs, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalResult) r = dal_connection_query (loop->conn, "SELECT $1",
                                                      g_variant_new ("(i)", (gint32) i),
                                                      NULL, &error);
      if (r == NULL || dal_result_get_int (r, 0, 0, NULL) != (gint) i)
        {
          if (loop->bad++ == 0)
            fail ("blocking call %u: %s", i, r == NULL ? error->message : "a wrong value");
          return;
        }
    }
  memset (loop->calls, 0, n);
  loop->completed = 0;
  guint started = 0;
  while (loop->completed < n && loop->bad == 0)
    {
      while (started < n && started - loop->completed < 16)
        {
          lcs[started] = (LoopCall) { loop, started };
          dal_connection_query_async (loop->conn, "SELECT $1",
                                      g_variant_new ("(i)", (gint32) started), NULL, loop_cb,
                                      &lcs[started]);
          started++;
        }
      guint before = loop->completed;
      if (!wait_count (&loop->completed, before + 1, WAIT_MS))
        {
          fail ("async call %u did not complete", loop->completed);
          return;
        }
    }
}

static void
test_many_calls (void)
{
  Loop loop = { 0 };
  loop.conn = begin_open (FALSE, "%d blocking and %d async calls in a row, 3 times",
                          opt_calls, opt_calls);
  if (loop.conn == NULL)
    return;
  guint n = (guint) opt_calls;
  loop.calls = g_new0 (guint8, n);
  LoopCall *lcs = g_new0 (LoopCall, n);
  run_loop (&loop, lcs, MIN (n, 100));  /* warm-up: caches, threads, first use */
  /* Three rounds of @n calls each: a leak grows the heap in use every
   * round, a cache or an allocator's per-thread stock settles. */
  enum { ROUNDS = 3 };
  gssize grew[ROUNDS];
  guint grew_much = 0;
  gboolean measured = heap_in_use () != 0;
  gint64 start = now_ms ();
  for (guint k = 0; k < ROUNDS && loop.bad == 0; k++)
    {
      gsize before = heap_in_use ();
      run_loop (&loop, lcs, n);
      grew[k] = (gssize) heap_in_use () - (gssize) before;
      if (grew[k] >= HEAP_SLACK_BYTES)
        grew_much++;
    }
  gint64 took = now_ms () - start;
  if (measured && loop.bad == 0)
    {
      diag ("%d x (%u + %u) calls in %" G_GINT64_FORMAT " ms; heap in use grew by %zd, "
            "%zd, %zd bytes", ROUNDS, n, n, took, grew[0], grew[1], grew[2]);
      CHECK (grew_much < ROUNDS, "the heap grew by at least %d bytes in each round of %u "
             "calls: something is not freed (run this under valgrind --leak-check=full "
             "to see what)", HEAP_SLACK_BYTES, 2 * n);
    }
  else if (loop.bad == 0)
    diag ("%d x (%u + %u) calls in %" G_GINT64_FORMAT " ms; heap use not measured here "
          "(valgrind, ASan or not glibc): valgrind's leak check is the proof", ROUNDS, n, n,
          took);
  close_ok (FALSE, loop.conn);
  g_free (loop.calls);
  g_free (lcs);
  end ();
}

/* ------------------------------------------------------------------ */
/* The last check: no async call of the suite completed twice.         */

static void
test_exactly_once (void)
{
  begin ("every async call completed exactly once");
  guint before = n_completed;
  /* Give a stray second completion the chance to happen (a bounded look,
   * not a synchronisation: nothing is expected). */
  guint never = 0;
  wait_count (&never, 1, DOUBLE_GRACE_MS);
  CHECK (n_completed == before, "%u completions arrived after their calls were done",
         n_completed - before);
  guint n_calls = pendings->len;
  for (guint i = 0; i < pendings->len; i++)
    {
      Pending *p = pendings->pdata[i];
      CHECK (p->calls == 1, "%s completed %u times", p->what, p->calls);
    }
  diag ("%u async calls checked, and %u more in the loop", n_calls, 3 * (guint) opt_calls);
  end ();
}

/* ------------------------------------------------------------------ */

/* The URL with its path (after the authority) replaced by @path. */
static char *
url_with_path (const char *text, const char *path)
{
  const char *auth = strstr (text, "://");
  if (auth == NULL)
    return NULL;
  auth += 3;
  const char *p = auth + strcspn (auth, "/?#");
  const char *rest = p + strcspn (p, "?#");
  return g_strdup_printf ("%.*s%s%s", (int) (p - text), text, path, rest);
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "plugin-dir", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_plugin_dirs,
      "Search DIR for plugins first (before DAL_PLUGIN_PATH); may be repeated", "DIR" },
    { "slow-sql", 0, 0, G_OPTION_ARG_STRING, &opt_slow_sql,
      "A statement that runs for seconds, to cancel in flight (default: per dialect)", "SQL" },
    { "fail-sql", 0, 0, G_OPTION_ARG_STRING, &opt_fail_sql,
      "A statement the server refuses, with one parameter $1 (default: \"" GENERIC_FAIL_SQL "\")",
      "SQL" },
    { "fail-url", 0, 0, G_OPTION_ARG_STRING, &opt_fail_url,
      "A URL of the plugin's that fails to connect (default: per dialect)", "URL" },
    { "calls", 'n', 0, G_OPTION_ARG_INT, &opt_calls,
      "Calls of each kind in the leak check (default 1000)", "N" },
    { "tap", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_tap, "TAP output (always)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) oc = g_option_context_new ("URL - check a plugin against libdal's contract");
  g_option_context_set_summary (oc,
    "Opens connections to URL through libdal, as an application would, and checks that\n"
    "the plugin serving it keeps libdal's contract: descriptor and ABI, open and close,\n"
    "parameters, errors, cancellation, closing with calls pending, blocking and async\n"
    "agreeing, exactly-once completion, many calls without leaks.  Reports in TAP.\n"
    "Run it under valgrind --leak-check=full to prove the leak check.");
  g_option_context_add_main_entries (oc, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (oc, &argc, &argv, &error))
    {
      fprintf (stderr, "dal-plugin-check: %s (see --help)\n", error->message);
      return 2;
    }
  if (argc != 2 || opt_calls < 1)
    {
      fprintf (stderr, "dal-plugin-check: give one URL (and --calls at least 1); see --help\n");
      return 2;
    }
  url_text = argv[1];

  /* Before the default registry exists: it reads DAL_PLUGIN_PATH once. */
  if (opt_plugin_dirs != NULL)
    {
      g_autofree char *dirs = g_strjoinv (":", opt_plugin_dirs);
      const char *old = g_getenv ("DAL_PLUGIN_PATH");
      g_autofree char *path = old != NULL && *old != '\0'
                                ? g_strconcat (dirs, ":", old, NULL) : g_strdup (dirs);
      g_setenv ("DAL_PLUGIN_PATH", path, TRUE);
    }

  url = dal_url_parse (url_text, &error);
  if (url == NULL)
    {
      fprintf (stderr, "dal-plugin-check: %s\n", error->message);
      return 2;
    }
  url_shown = dal_url_to_string_redacted (url);
  const DialectDefaults *dd = dialect_defaults (dal_url_get_dialect (url));
  slow_sql = opt_slow_sql != NULL ? opt_slow_sql : dd != NULL ? dd->slow_sql : NULL;
  fail_sql = opt_fail_sql != NULL ? opt_fail_sql : dd != NULL ? dd->fail_sql : GENERIC_FAIL_SQL;
  fail_url = opt_fail_url != NULL ? g_strdup (opt_fail_url)
             : dd != NULL ? url_with_path (url_text, dd->fail_path) : NULL;

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  main_thread = g_thread_self ();
  pendings = g_ptr_array_new_with_free_func (pending_free);

  printf ("# dal-plugin-check (libdal %s, plugin ABI %u.%u): %s\n", dal_version_string (),
          DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR, url_shown);
  if (test_descriptor ())
    {
      test_dialect ();
      test_open_close (FALSE, FALSE);
      test_open_close (TRUE, TRUE);
      test_open_close (FALSE, TRUE);
      test_open_close (TRUE, FALSE);
      for (int async = 0; async < 2; async++)
        {
          test_params (async);
          test_statement_error (async);
          test_connect_error (async);
          test_cancel_before (async);
          test_cancel_in_flight (async);
        }
      test_close_pending (FALSE);
      test_close_pending (TRUE);
      test_agree ();
      test_many_calls ();
      test_exactly_once ();
    }
  printf ("1..%u\n", n_tests);
  if (n_failed > 0)
    printf ("# %u of %u checks failed\n", n_failed, n_tests);

  /* Let the last completions' sources go before the context does. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_ptr_array_unref (pendings);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_free (fail_url);
  g_free (url_shown);
  g_free (plugin_name);
  dal_url_unref (url);
  g_strfreev (opt_plugin_dirs);
  g_free (opt_slow_sql);
  g_free (opt_fail_sql);
  g_free (opt_fail_url);
  return n_failed > 0 ? 1 : 0;
}
