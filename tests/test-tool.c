/* test-tool.c: the `dal` command, run as a user runs it.
 *
 * The command is DAL_TEST_TOOL (the build tree's libtool wrapper); each
 * test spawns it and checks the exit status, stdout and stderr.  Every run
 * is also checked for passwords: none of the test passwords (plain or
 * percent-encoded) may appear in anything the command prints, except
 * where `dal url --keywords --show-password` was asked to.
 *
 * `dal plugins` and `dal url` need no server; `dal query` and `dal pool`
 * are live (the harness's server, through each plugin) and skip without
 * it, except for the usage and settings errors of `dal pool`.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libpq-fe.h>

#include "dal-test.h"
#include "dal-test-net.h"

#define TOOL_SECRET "Tool-S3cret-pw"

typedef struct
{
  int exit_code;
  char *out;
  char *err;
} Run;

static void
run_free (Run *run)
{
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

static const char *
tool_path (void)
{
  return g_getenv ("DAL_TEST_TOOL");
}

/* The tool is there (a `make check` run), else the test is skipped. */
static gboolean
require_tool (void)
{
  if (tool_path () != NULL)
    return TRUE;
  g_test_skip ("DAL_TEST_TOOL is not set: run this test with `make check`");
  return FALSE;
}
#define TOOL_OR_RETURN() G_STMT_START { if (!require_tool ()) return; } G_STMT_END

static void
assert_no_secret (const char *what, const char *text)
{
  const char *secrets[] = {
    TOOL_SECRET,
    g_getenv ("DAL_TEST_PG_PASSWORD"),
    g_getenv ("DAL_TEST_PG_SPECIAL_PASSWORD"),
  };
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      if (secrets[i] == NULL || *secrets[i] == '\0')
        continue;
      g_autofree char *encoded = dal_test_encode (secrets[i]);
      if (strstr (text, secrets[i]) != NULL || strstr (text, encoded) != NULL)
        g_error ("a password (\"%s\") appears in the tool's %s:\n%s", secrets[i], what, text);
    }
}

/* The test's own log shows command lines without the passwords. */
static void
redact_secrets (char **text)
{
  const char *secrets[] = {
    TOOL_SECRET,
    g_getenv ("DAL_TEST_PG_PASSWORD"),
    g_getenv ("DAL_TEST_PG_SPECIAL_PASSWORD"),
  };
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      if (secrets[i] == NULL || *secrets[i] == '\0')
        continue;
      g_autofree char *encoded = dal_test_encode (secrets[i]);
      const char *forms[] = { secrets[i], encoded };
      for (guint k = 0; k < G_N_ELEMENTS (forms); k++)
        {
          g_auto (GStrv) parts = g_strsplit (*text, forms[k], -1);
          g_free (*text);
          *text = g_strjoinv ("****", parts);
        }
    }
}

static void run_check (Run *run, int status, gboolean allow_secret, char **argv);

/* Runs the tool with @args (NULL-terminated) and, when @envp is not NULL,
 * that environment. */
static Run *
run_tool_v (gboolean allow_secret, char **envp, const char * const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) tool_path ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  Run *run = g_new0 (Run, 1);
  int status = 0;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                              &run->out, &run->err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  run_check (run, status, allow_secret, (char **) argv->pdata);
  return run;
}

/* Sets @run's exit code from the wait @status and checks what it
 * printed for passwords (unless @allow_secret); logs the command line. */
static void
run_check (Run *run, int status, gboolean allow_secret, char **argv)
{
  g_autoptr (GError) wait_error = NULL;
  if (g_spawn_check_wait_status (status, &wait_error))
    run->exit_code = 0;
  else if (wait_error->domain == G_SPAWN_EXIT_ERROR)
    run->exit_code = wait_error->code;
  else
    g_error ("dal did not exit normally (%s); stderr:\n%s", wait_error->message, run->err);

  g_autofree char *cmdline = g_strjoinv (" ", argv + 1);
  redact_secrets (&cmdline);
  g_test_message ("dal %s -> %d", cmdline, run->exit_code);
  if (!allow_secret)
    {
      assert_no_secret ("stdout", run->out);
      assert_no_secret ("stderr", run->err);
    }
}

#define run_tool(...) run_tool_v (FALSE, NULL, (const char * const[]) { __VA_ARGS__, NULL })

/* The tool's argv as a GSubprocess wants it. */
static GPtrArray *
tool_argv (const char * const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) tool_path ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* Runs the tool with @input on its stdin. */
static Run *
run_tool_stdin_v (const char *input, const char * const *args)
{
  g_autoptr (GPtrArray) argv = tool_argv (args);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_newv (
    (const char * const *) argv->pdata,
    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
      | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  Run *run = g_new0 (Run, 1);
  g_subprocess_communicate_utf8 (proc, input, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run_check (run, g_subprocess_get_status (proc), FALSE, (char **) argv->pdata);
  return run;
}

#define run_tool_stdin(input, ...) \
  run_tool_stdin_v ((input), (const char * const[]) { __VA_ARGS__, NULL })

/* The line of @err that starts with "dal: " (libdal may log other lines,
 * e.g. a TLS certificate expiry warning). */
static const char *
error_line (const Run *run)
{
  const char *p = run->err;
  if (g_str_has_prefix (p, "dal: "))
    return p;
  p = strstr (p, "\ndal: ");
  return p != NULL ? p + 1 : NULL;
}

static void
assert_failed_with (const Run *run, int code, const char *phrase)
{
  if (run->exit_code != code)
    g_error ("expected exit status %d, got %d; stdout:\n%s\nstderr:\n%s", code,
             run->exit_code, run->out, run->err);
  const char *line = error_line (run);
  if (line == NULL)
    g_error ("no \"dal: <message>\" on stderr:\n%s", run->err);
  if (phrase != NULL && strstr (line, phrase) == NULL)
    g_error ("stderr does not say \"%s\":\n%s", phrase, run->err);
}

static void
assert_ok (const Run *run)
{
  if (run->exit_code != 0)
    g_error ("dal failed (%d); stdout:\n%s\nstderr:\n%s", run->exit_code, run->out, run->err);
  g_assert_null (error_line (run));
}

/* ------------------------------------------------------------------ */
/* dal plugins                                                          */

/* The value on "  key:   value" lines of one plugin's block. */
static char *
plugin_field (const char *out, const char *plugin, const char *key)
{
  g_autofree char *header = g_strdup_printf ("\n%s\n", plugin);
  const char *block = strstr (out, header);
  if (block == NULL)
    return NULL;
  block += strlen (header);
  const char *end = strstr (block, "\n\n");
  g_autofree char *text = end != NULL ? g_strndup (block, end - block) : g_strdup (block);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *prefix = g_strdup_printf ("  %s:", key);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, prefix))
      return g_strstrip (g_strdup (*l + strlen (prefix)));
  return NULL;
}

static void
test_plugins (void)
{
  TOOL_OR_RETURN ();
  g_autoptr (Run) run = run_tool ("plugins");
  assert_ok (run);
  g_assert_cmpstr (run->err, ==, "");

  static const struct
  {
    const char *name;
    const char *serves;
    const char *module;
  } expected[] = {
    { "pgsync", "postgresql+psycopg2, postgresql", "pgsync" },
    { "pgasync", "postgresql+asyncpg", "pgasync" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *serves = plugin_field (run->out, expected[i].name, "serves");
      g_assert_cmpstr (serves, ==, expected[i].serves);
      g_autofree char *abi = plugin_field (run->out, expected[i].name, "ABI");
      g_assert_nonnull (abi);
      g_autofree char *ours = g_strdup_printf ("%d.%d", DAL_PLUGIN_ABI_MAJOR,
                                               DAL_PLUGIN_ABI_MINOR);
      g_assert_true (g_str_has_prefix (abi, ours));
      g_autofree char *file = plugin_field (run->out, expected[i].name, "file");
      g_assert_nonnull (file);
      g_assert_true (g_path_is_absolute (file));
      g_autofree char *base = g_path_get_basename (file);
      g_assert_true (g_str_has_prefix (base, expected[i].module));
      g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
      g_autofree char *descriptor = plugin_field (run->out, expected[i].name, "descriptor");
      g_assert_nonnull (descriptor);
      g_assert_true (g_str_has_suffix (descriptor, ".plugin"));
      g_assert_true (g_file_test (descriptor, G_FILE_TEST_IS_REGULAR));
      g_autofree char *status = plugin_field (run->out, expected[i].name, "status");
      g_assert_nonnull (status);
      g_assert_true (g_str_has_prefix (status, "ok"));
    }
  g_assert_true (g_str_has_prefix (run->out, "search path: "));
}

/* With nothing on the search path: says so, and fails. */
static void
test_plugins_none (void)
{
  TOOL_OR_RETURN ();
  g_autofree char *dir = g_dir_make_tmp ("dal-test-tool-XXXXXX", NULL);
  g_assert_nonnull (dir);
  char **envp = g_get_environ ();
  envp = g_environ_setenv (envp, "DAL_PLUGIN_PATH", dir, TRUE);
  envp = g_environ_setenv (envp, "DAL_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_autoptr (Run) run = run_tool_v (FALSE, envp, (const char * const[]) { "plugins", NULL });
  g_strfreev (envp);
  g_rmdir (dir);
  g_assert_cmpint (run->exit_code, ==, 1);
  g_assert_nonnull (strstr (run->out, "no plugins found"));
  g_assert_nonnull (strstr (run->out, dir));
}

/* ------------------------------------------------------------------ */
/* dal url                                                              */

static void
test_url_parts (void)
{
  TOOL_OR_RETURN ();
  static const struct
  {
    const char *scheme;
    const char *plugin;
    const char *driver;
  } cases[] = {
    { "postgresql+asyncpg", "pgasync", "asyncpg" },
    { "postgresql+psycopg2", "pgsync", "psycopg2" },
    { "postgresql", "pgsync", "(the dialect's default)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = g_strdup_printf (
        "%s://app:" TOOL_SECRET "@db1.example:5432,[2001:db8::1]:5433/appdb"
        "?sslmode=verify-full&application_name=conf", cases[i].scheme);
      g_autoptr (Run) run = run_tool ("url", url);
      assert_ok (run);
      g_autofree char *redacted = g_strdup_printf (
        "url:       %s://app:****@db1.example:5432,[2001:db8::1]:5433/appdb?",
        cases[i].scheme);
      g_assert_nonnull (strstr (run->out, redacted));
      g_autofree char *scheme = g_strdup_printf ("scheme:    %s\n", cases[i].scheme);
      g_assert_nonnull (strstr (run->out, scheme));
      g_assert_nonnull (strstr (run->out, "dialect:   postgresql\n"));
      g_autofree char *driver = g_strdup_printf ("driver:    %s\n", cases[i].driver);
      g_assert_nonnull (strstr (run->out, driver));
      g_assert_nonnull (strstr (run->out, "user:      app\n"));
      g_assert_nonnull (strstr (run->out, "password:  ****\n"));
      g_assert_nonnull (strstr (run->out, "host 1:    db1.example, port 5432\n"));
      g_assert_nonnull (strstr (run->out, "host 2:    2001:db8::1, port 5433\n"));
      g_assert_nonnull (strstr (run->out, "database:  appdb\n"));
      g_autofree char *plugin = g_strdup_printf ("plugin:    %s (", cases[i].plugin);
      g_assert_nonnull (strstr (run->out, plugin));
    }
}

/* A password full of URL-reserved characters, percent-encoded: neither
 * form shows. */
static void
test_url_special_password (void)
{
  TOOL_OR_RETURN ();
  const char *password = g_getenv ("DAL_TEST_PG_SPECIAL_PASSWORD");
  if (password == NULL)
    password = "p@ss:w/rd%?&=#";
  g_autofree char *url = dal_test_url_full ("postgresql+asyncpg", "special", password,
                                            "db.example", "app", NULL);
  g_autofree char *encoded = dal_test_encode (password);
  g_autoptr (Run) run = run_tool_v (TRUE, NULL, (const char * const[]) { "url", url, NULL });
  assert_ok (run);
  g_assert_null (strstr (run->out, password));
  g_assert_null (strstr (run->out, encoded));
  g_assert_null (strstr (run->err, password));
  g_assert_null (strstr (run->err, encoded));
  g_assert_nonnull (strstr (run->out, "special:****@db.example"));
  g_assert_nonnull (strstr (run->out, "password:  ****\n"));
}

/* What libpq makes of the same URL (with the plain scheme), as
 * keyword=value lines. */
static char *
libpq_keywords (const char *url, gboolean with_password)
{
  const char *body = strstr (url, "://");
  g_assert_nonnull (body);
  g_autofree char *libpq_url = g_strconcat ("postgresql", body, NULL);
  char *errmsg = NULL;
  PQconninfoOption *opts = PQconninfoParse (libpq_url, &errmsg);
  if (opts == NULL)
    g_error ("libpq does not parse %s: %s", libpq_url, errmsg);
  GString *out = g_string_new (NULL);
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    if (o->val != NULL && (with_password || strcmp (o->keyword, "password") != 0))
      g_string_append_printf (out, "%s=%s\n", o->keyword, o->val);
  PQconninfoFree (opts);
  return g_string_free (out, FALSE);
}

static const char * const keyword_urls[] = {
  "postgresql+asyncpg://",
  "postgresql+asyncpg://localhost",
  "postgresql+psycopg2://localhost:5433",
  "postgresql+asyncpg://localhost/mydb",
  "postgresql+psycopg2://user@localhost",
  "postgresql+asyncpg://user:" TOOL_SECRET "@localhost",
  "postgresql+asyncpg://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
  "postgresql+psycopg2://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
  "postgresql+asyncpg://[2001:db8::1234]/database",
  "postgresql+asyncpg://[::1]:5433,[::1]:5434/db",
  "postgresql+psycopg2:///dbname?host=/var/lib/postgresql",
  "postgresql+asyncpg://%2Fvar%2Flib%2Fpostgresql/dbname",
  "postgresql+asyncpg://app:p%40ss%3Aw%2Fo%3Frd%23%25%26x@db.example.com:5432/app"
    "?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem",
  "postgres+psycopg2://u@h/db?options=-c%20search_path%3Dx&application_name=a%26b",
  "postgresql://u:" TOOL_SECRET "@h:6543/db?sslmode=require",
};

static void
test_url_keywords (void)
{
  TOOL_OR_RETURN ();
  for (guint i = 0; i < G_N_ELEMENTS (keyword_urls); i++)
    {
      const char *url = keyword_urls[i];
      g_autofree char *expected = libpq_keywords (url, FALSE);
      g_autoptr (Run) run = run_tool ("url", "--keywords", url);
      assert_ok (run);
      if (g_strcmp0 (run->out, expected) != 0)
        g_error ("dal url --keywords %s:\n%s\nlibpq's PQconninfoParse:\n%s", url,
                 run->out, expected);
      g_assert_null (strstr (run->out, "password="));
    }
}

static void
test_url_keywords_show_password (void)
{
  TOOL_OR_RETURN ();
  static const char * const urls[] = {
    "postgresql+asyncpg://user:" TOOL_SECRET "@localhost/db",
    "postgresql+psycopg2://app:p%40ss%3Aw%2Fo%3Frd%23%25%26x@db.example.com:5432/app",
  };
  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autofree char *expected = libpq_keywords (urls[i], TRUE);
      g_autoptr (Run) run = run_tool_v (TRUE, NULL, (const char * const[]) {
                                          "url", "--keywords", "--show-password", urls[i], NULL });
      assert_ok (run);
      g_assert_cmpstr (run->out, ==, expected);
      g_assert_nonnull (strstr (run->out, "password="));
      assert_no_secret ("stderr", run->err);
    }
  /* --show-password alone (without --keywords) shows nothing more. */
  g_autoptr (Run) run = run_tool ("url", "--show-password", urls[0]);
  assert_ok (run);
  g_assert_nonnull (strstr (run->out, "password:  ****"));
}

/* --keywords needs no plugin: it works for a scheme nobody serves. */
static void
test_url_keywords_unserved (void)
{
  TOOL_OR_RETURN ();
  static const char *url = "postgresql+pg8000://u:" TOOL_SECRET "@h:5433/d?sslmode=require";
  g_autofree char *expected = libpq_keywords (url, FALSE);
  g_autoptr (Run) run = run_tool ("url", "--keywords", url);
  assert_ok (run);
  g_assert_cmpstr (run->out, ==, expected);
  g_assert_nonnull (strstr (run->out, "host=h\n"));

  /* Without --keywords the same URL fails: no plugin. */
  g_autoptr (Run) run2 = run_tool ("url", url);
  assert_failed_with (run2, 1, "no plugin serves postgresql+pg8000://");
  g_assert_nonnull (strstr (run2->out, "plugin:    none"));
}

static void
test_url_malformed (void)
{
  TOOL_OR_RETURN ();
  static const struct
  {
    const char *url;
    const char *at;    /* where the problem is */
  } cases[] = {
    { "postgresql+asyncpg://app:" TOOL_SECRET "@db1:99x/app", "99x" },
    { "postgresql+asyncpg://[::1/app", "[::1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *position = g_strdup_printf (
        "position %d", (int) (strstr (cases[i].url, cases[i].at) - cases[i].url) + 1);
      g_autoptr (Run) run = run_tool ("url", cases[i].url);
      assert_failed_with (run, 1, "malformed URL");
      g_assert_nonnull (strstr (error_line (run), position));
      g_assert_cmpstr (run->out, ==, "");
      /* And --keywords refuses it the same way. */
      g_autoptr (Run) run2 = run_tool ("url", "--keywords", cases[i].url);
      assert_failed_with (run2, 1, position);
      g_assert_cmpstr (run2->out, ==, "");
    }
}

static void
test_url_unknown_scheme (void)
{
  TOOL_OR_RETURN ();
  g_autoptr (Run) run = run_tool ("url", "mysql+foo://u:" TOOL_SECRET "@h/d");
  assert_failed_with (run, 1, "no plugin serves mysql+foo://");
  const char *line = error_line (run);
  g_assert_nonnull (strstr (line, "postgresql+asyncpg"));
  g_assert_nonnull (strstr (line, "postgresql+psycopg2"));
  g_assert_nonnull (strstr (run->out, "plugin:    none"));
}

static void
test_url_retired_driver (void)
{
  TOOL_OR_RETURN ();
  g_autoptr (Run) run = run_tool ("url", "postgresql+psycopg://u:" TOOL_SECRET "@h/d");
  assert_failed_with (run, 1, "postgresql+psycopg://");
  const char *line = error_line (run);
  g_assert_nonnull (strstr (line, "postgresql+asyncpg"));
  g_assert_nonnull (strstr (line, "postgresql+psycopg2"));
}

static void
test_usage (void)
{
  TOOL_OR_RETURN ();
  {
    g_autoptr (Run) run = run_tool_v (FALSE, NULL, (const char * const[]) { NULL });
    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_nonnull (strstr (run->err, "usage: dal"));
  }
  {
    g_autoptr (Run) run = run_tool ("--help");
    g_assert_cmpint (run->exit_code, ==, 0);
    g_assert_nonnull (strstr (run->out, "plugins"));
    g_assert_nonnull (strstr (run->out, "query"));
  }
  {
    g_autoptr (Run) run = run_tool ("frobnicate");
    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_nonnull (strstr (run->err, "unknown command"));
  }
  {
    g_autoptr (Run) run = run_tool ("url", "postgresql://a", "postgresql://b");
    g_assert_cmpint (run->exit_code, ==, 2);
  }
  /* dal query's usage errors exit 1, as psql's do */
  {
    g_autoptr (Run) run = run_tool ("query", "-f", "script.sql",
                                    "postgresql+asyncpg://u:" TOOL_SECRET "@h/d", "SELECT 1");
    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_nonnull (strstr (run->err, "either SQL or -f FILE"));
    g_assert_nonnull (strstr (run->err, "usage: dal query"));
  }
  {
    g_autoptr (Run) run = run_tool ("query", "--no-such-option");
    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_nonnull (strstr (run->err, "see dal query --help"));
  }
  /* --help: the usage line names the command once, and the environment
   * variables it reads are listed */
  static const char * const commands[] = { "query", "url", "pool", "check", "migrate", "bench" };
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr (Run) run = run_tool (commands[i], "--help");
      g_assert_cmpint (run->exit_code, ==, 0);
      g_autofree char *usage = g_strdup_printf ("dal %s [OPTION", commands[i]);
      g_autofree char *twice = g_strdup_printf ("%s %s", commands[i], commands[i]);
      if (strstr (run->out, usage) == NULL || strstr (run->out, twice) != NULL)
        g_error ("dal %s --help:\n%s", commands[i], run->out);
      for (const char * const *v = (const char * const[]) {
               "DAL_DATABASE_URL", "DATABASE_URL", "DAL_CONFIG", "PGHOST",
               "DAL_PLUGIN_PATH", NULL }; *v != NULL; v++)
        if (strstr (run->out, *v) == NULL)
          g_error ("dal %s --help does not mention %s:\n%s", commands[i], *v, run->out);
    }
  {
    g_autoptr (Run) run = run_tool ("--help");
    g_assert_nonnull (strstr (run->out, "DAL_DATABASE_URL"));
  }
}

/* ------------------------------------------------------------------ */
/* dal query (live)                                                     */

static void
test_query_table (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);

  g_autoptr (Run) run = run_tool ("query", url,
                                  "SELECT g AS n, repeat($1, g) AS word "
                                  "FROM generate_series(1, 3) AS g ORDER BY g", "xy");
  assert_ok (run);
  g_assert_cmpstr (run->out, ==,
                   " n |  word \n"
                   "---+--------\n"
                   " 1 | xy\n"
                   " 2 | xyxy\n"
                   " 3 | xyxyxy\n"
                   "(3 rows)\n");

  /* Numbers right-aligned; one row. */
  g_autoptr (Run) run2 = run_tool ("query", url, "SELECT $1::int * 2 AS doubled", "21");
  assert_ok (run2);
  g_assert_cmpstr (run2->out, ==,
                   " doubled\n"
                   "---------\n"
                   "      42\n"
                   "(1 row)\n");

  /* No rows. */
  g_autoptr (Run) run3 = run_tool ("query", url, "SELECT 1 AS one WHERE false");
  assert_ok (run3);
  g_assert_cmpstr (run3->out, ==, " one\n-----\n(0 rows)\n");
}

static void
test_query_csv (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);

  g_autoptr (Run) run = run_tool ("query", "--csv", url,
                                  "SELECT $1::text AS \"a,b\", $2::text AS plain, "
                                  "NULL::text AS nothing, $3::text AS multi, $4::int AS n",
                                  "x,\"y", "plain", "line1\nline2", "7");
  assert_ok (run);
  g_assert_cmpstr (run->out, ==,
                   "\"a,b\",plain,nothing,multi,n\r\n"
                   "\"x,\"\"y\",plain,,\"line1\nline2\",7\r\n");

  /* A parameter that looks like SQL is data. */
  static const char *evil = "'); DROP TABLE students; --";
  g_autoptr (Run) run2 = run_tool ("query", "--csv", url, "SELECT $1::text AS v", evil);
  assert_ok (run2);
  g_autofree char *expected = g_strdup_printf ("v\r\n%s\r\n", evil);
  g_assert_cmpstr (run2->out, ==, expected);
}

static void
test_query_null (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);

  g_autoptr (Run) run = run_tool ("query", "--csv", "--null", "NULL", url,
                                  "SELECT $1::text IS NULL AS a, $2::text AS b, "
                                  "$3::text IS NULL AS c", "NULL", "NULLx", "");
  assert_ok (run);
  g_assert_cmpstr (run->out, ==, "a,b,c\r\nt,NULLx,f\r\n");

  /* Without --null, "NULL" is just text. */
  g_autoptr (Run) run2 = run_tool ("query", "--csv", url, "SELECT $1::text IS NULL AS a", "NULL");
  assert_ok (run2);
  g_assert_cmpstr (run2->out, ==, "a\r\nf\r\n");
}

static void
test_query_dml (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);
  g_autofree char *table = g_strdup_printf ("conf_tool_%s_%d",
                                            g_str_has_suffix (scheme, "asyncpg") ? "pa" : "ps",
                                            (int) getpid ());

  static const struct
  {
    const char *sql;       /* TBL: the table */
    const char *params[4];
    const char *expected;  /* stdout */
  } steps[] = {
    { "CREATE TABLE TBL (id int, name text)", { NULL }, "CREATE TABLE\n" },
    { "INSERT INTO TBL VALUES ($1, $2), ($3, $4)", { "1", "one", "2", "two" }, "INSERT 0 2\n" },
    { "UPDATE TBL SET name = upper(name) WHERE id > $1", { "0", NULL }, "UPDATE 2\n" },
    { "SELECT id, name FROM TBL ORDER BY id", { NULL },
      " id | name\n----+------\n  1 | ONE\n  2 | TWO\n(2 rows)\n" },
    { "DELETE FROM TBL WHERE id = $1", { "1", NULL }, "DELETE 1\n" },
    { "DROP TABLE TBL", { NULL }, "DROP TABLE\n" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_auto (GStrv) parts = g_strsplit (steps[i].sql, "TBL", -1);
      g_autofree char *sql = g_strjoinv (table, parts);
      const char *args[8] = { "query", url, sql };
      guint n = 3;
      for (guint p = 0; p < 4 && steps[i].params[p] != NULL; p++)
        args[n++] = steps[i].params[p];
      args[n] = NULL;
      g_autoptr (Run) run = run_tool_v (FALSE, NULL, args);
      assert_ok (run);
      g_assert_cmpstr (run->out, ==, steps[i].expected);
    }
}

static void
test_query_wrong_password (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *q = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            TOOL_SECRET, hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (Run) run = run_tool ("query", url, "SELECT 1");
  /* cannot connect: 2, as psql */
  assert_failed_with (run, 2, "password authentication failed");
  g_assert_nonnull (strstr (error_line (run), "Check the user name and password"));
  g_assert_cmpstr (run->out, ==, "");
}

static void
test_query_sql_error (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);

  /* As psql shows a server's error: ERROR, LINE and a caret. */
  g_autoptr (Run) run = run_tool ("query", url, "SELEC 1");
  g_assert_cmpint (run->exit_code, ==, 1);
  g_assert_cmpstr (run->err, ==,
                   "ERROR:  syntax error at or near \"SELEC\"\n"
                   "LINE 1: SELEC 1\n"
                   "        ^\n");
  g_assert_cmpstr (run->out, ==, "");

  g_autoptr (Run) run2 = run_tool ("query", url, "SELECT $1::int", "abc");
  g_assert_cmpint (run2->exit_code, ==, 1);
  g_assert_true (g_str_has_prefix (run2->err, "ERROR:  invalid input syntax for type integer"));
  g_assert_cmpstr (run2->out, ==, "");
}

/* What dal query prints of a server's error, and of notices, as psql
 * does: the caret in a statement of several lines, under a position
 * counted in characters (multibyte ones before it, a wide one too);
 * DETAIL, HINT and CONTEXT of an error raised in PL/pgSQL; NOTICEs and
 * WARNINGs on stderr, the result on stdout. */
static void
test_query_psql_output (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);

  static const struct
  {
    const char *sql;
    int status;
    const char *err;
    const char *out;
  } cases[] = {
    { "SELECT 'ä' AS a,\n"
      "  'é漢' || nope\n"
      "FROM generate_series(1, 1)", 1,
      "ERROR:  column \"nope\" does not exist\n"
      "LINE 2:   'é漢' || nope\n"
      "                   ^\n", "" },
    { "DO $$ BEGIN RAISE EXCEPTION 'boom %', 7 USING "
      "DETAIL = 'the detail', HINT = 'the hint'; END $$", 1,
      "ERROR:  boom 7\n"
      "DETAIL:  the detail\n"
      "HINT:  the hint\n"
      "CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE\n", "" },
    { "DO $$ BEGIN RAISE NOTICE 'hello %', 42; "
      "RAISE WARNING 'careful' USING DETAIL = 'dd', HINT = 'hh'; "
      "RAISE NOTICE 'bye'; END $$", 0,
      "NOTICE:  hello 42\n"
      "WARNING:  careful\n"
      "DETAIL:  dd\n"
      "HINT:  hh\n"
      "NOTICE:  bye\n", "DO\n" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (Run) run = run_tool ("query", url, cases[i].sql);
      if (run->exit_code != cases[i].status || strcmp (run->err, cases[i].err) != 0)
        g_error ("%s: exit status %d, stderr:\n%s\nexpected %d and:\n%s", cases[i].sql,
                 run->exit_code, run->err, cases[i].status, cases[i].err);
      g_assert_cmpstr (run->out, ==, cases[i].out);
    }
}

/* A script: semicolons in quotes, dollar quotes and comments do not end
 * a statement; it stops at the first error (exit 3) and names the
 * script's line the error is on; --continue runs the rest (exit 1). */
static const char script_text[] =
  "-- a script; with comments\n"                                  /* 1 */
  "CREATE TEMP TABLE scr (id int PRIMARY KEY, s text);\n"         /* 2 */
  "INSERT INTO scr VALUES (1, 'a;b'), (2, $q$x;y$q$);\n"          /* 3 */
  "SELECT id, s /* ; */ FROM scr ORDER BY id;\n"                  /* 4 */
  "\n"                                                            /* 5 */
  "  SELECT id,\n"                                                /* 6 */
  "         nope FROM scr;\n"                                     /* 7 */
  "SELECT 'reached' AS r;\n";                                     /* 8 */

static const char script_out[] =
  "CREATE TABLE\n"
  "INSERT 0 2\n"
  " id |  s \n"
  "----+-----\n"
  "  1 | a;b\n"
  "  2 | x;y\n"
  "(2 rows)\n";

static void
assert_script_error (const Run *run, const char *name)
{
  g_autofree char *expected = g_strdup_printf (
    "dal:%s:7: ERROR:  column \"nope\" does not exist\n"
    "LINE 2:          nope FROM scr\n"
    "                 ^\n", name);
  if (!g_str_has_prefix (run->err, expected))
    g_error ("stderr:\n%s\nexpected it to start with:\n%s", run->err, expected);
}

static void
test_query_script (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, NULL);
  g_autofree char *dir = g_dir_make_tmp ("dal-test-tool-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "script.sql", NULL);
  g_assert_true (g_file_set_contents (file, script_text, -1, NULL));

  {
    g_autoptr (Run) run = run_tool ("query", url, "-f", file);
    g_assert_cmpint (run->exit_code, ==, 3);
    g_assert_cmpstr (run->out, ==, script_out);
    assert_script_error (run, file);
  }
  {
    g_autoptr (Run) run = run_tool ("query", "--continue", url, "-f", file);
    g_assert_cmpint (run->exit_code, ==, 1);
    g_autofree char *out = g_strconcat (script_out, "    r   \n---------\n reached\n(1 row)\n", NULL);
    g_assert_cmpstr (run->out, ==, out);
    assert_script_error (run, file);
  }
  /* stdin: without SQL, and with -f - */
  {
    g_autoptr (Run) run = run_tool_stdin (script_text, "query", url);
    g_assert_cmpint (run->exit_code, ==, 3);
    g_assert_cmpstr (run->out, ==, script_out);
    assert_script_error (run, "<stdin>");
  }
  {
    g_autoptr (Run) run = run_tool_stdin ("SELECT 1 AS a; SELECT 2 AS b\n", "query", "--csv",
                                          url, "-f", "-");
    assert_ok (run);
    g_assert_cmpstr (run->out, ==, "a\r\n1\r\nb\r\n2\r\n");
  }
  /* A script that is not there: an error (1), no connection needed. */
  {
    g_autofree char *missing = g_build_filename (dir, "missing.sql", NULL);
    g_autoptr (Run) run = run_tool ("query", url, "-f", missing);
    assert_failed_with (run, 1, "missing.sql");
  }
  g_unlink (file);
  g_rmdir (dir);
}

/* Cannot connect (nothing listens): 2, as psql. */
static void
test_query_refused (void)
{
  TOOL_OR_RETURN ();
  g_autofree char *url = g_strdup_printf ("postgresql+asyncpg://u@127.0.0.1:%u/d",
                                          dal_test_unused_port ());
  g_autoptr (Run) run = run_tool ("query", url, "SELECT 1");
  assert_failed_with (run, 2, NULL);
}

static void
wait_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL));
  *(gboolean *) data = TRUE;
}

/* How many sessions with @app run pg_sleep now. */
static guint
sleeping (const char *app)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "
    "AND state = 'active' AND query LIKE '%%pg_sleep%%'", app);
  g_autofree char *n = dal_test_admin_query (sql);
  return (guint) g_ascii_strtoull (n, NULL, 10);
}

/* Waits (scaled) until sleeping (@app) is @n; fails the test otherwise. */
static void
wait_sleeping (const char *app, guint n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + dal_test_scaled_ms (timeout_ms) * 1000;
  while (sleeping (app) != n)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("pg_stat_activity: %s does not have %u pg_sleep running", app, n);
      g_usleep (20 * 1000);   /* polling the server's view, not a wait for it */
    }
}

/* Ctrl-C: the running statement is cancelled on the server, dal exits
 * with 130 within a few seconds. */
static void
test_query_sigint (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *app = g_strdup_printf ("dal-sigint-%s", strchr (scheme, '+') + 1);
  g_autofree char *q = g_strdup_printf ("application_name=%s", app);
  g_autofree char *url = dal_test_url (scheme, q);

  g_autoptr (GPtrArray) argv = tool_argv ((const char * const[]) {
                                            "query", url, "SELECT pg_sleep(60)", NULL });
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_newv (
    (const char * const *) argv->pdata,
    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  wait_sleeping (app, 1, 10000);

  gint64 start = g_get_monotonic_time ();
  g_subprocess_send_signal (proc, SIGINT);
  gboolean done = FALSE;
  g_subprocess_wait_async (proc, NULL, wait_done, &done);
  dal_test_wait_for (&done, 5000);
  g_test_message ("dal exited %.3f s after SIGINT",
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 130);
  /* The server's session stopped sleeping: the cancel request was sent
   * (the session itself would sleep on, the client gone). */
  wait_sleeping (app, 0, 5000);
}

/* ------------------------------------------------------------------ */
/* dal pool                                                             */

/* The number on @out's "name: N" line; fails the test without one. */
static guint64
pool_field (const Run *run, const char *name)
{
  g_autofree char *prefix = g_strdup_printf ("%s: ", name);
  g_auto (GStrv) lines = g_strsplit (run->out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, prefix))
      {
        char *end = NULL;
        guint64 v = g_ascii_strtoull (*l + strlen (prefix), &end, 10);
        if (end == *l + strlen (prefix) || *end != '\0')
          g_error ("\"%s\" is not a number in:\n%s", *l, run->out);
        return v;
      }
  g_error ("no \"%s\" line in dal pool's output:\n%s", name, run->out);
  return 0;
}

/* Usage and settings errors: no server needed (port 1 refuses). */
static void
test_pool_usage (void)
{
  TOOL_OR_RETURN ();
  const char *url = "postgresql+asyncpg://u:" TOOL_SECRET "@127.0.0.1:1/d";
  {
    /* (without a URL it takes configuration's: test-config) */
    g_autoptr (Run) run = run_tool ("pool", url, url);
    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_nonnull (strstr (run->err, "usage: dal pool"));
  }
  {
    g_autoptr (Run) run = run_tool ("pool", "--callers", "-1", url);
    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_nonnull (strstr (run->err, "--callers"));
  }
  {
    g_autoptr (Run) run = run_tool ("pool", "--seconds", "0", "--callers", "2", url);
    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_nonnull (strstr (run->err, "--seconds"));
  }
  {
    g_autoptr (Run) run = run_tool ("--help");
    g_assert_nonnull (strstr (run->out, "pool"));
  }
  {
    g_autofree char *bad = g_strconcat (url, "?pool_min_size=5&pool_max_size=2", NULL);
    g_autoptr (Run) run = run_tool ("pool", bad);
    assert_failed_with (run, 1, "pool_min_size=5 is above pool_max_size=2");
    g_assert_cmpstr (run->out, ==, "");
  }
  {
    g_autofree char *bad = g_strconcat (url, "?pool_max_size=3&max_size=3", NULL);
    g_autoptr (Run) run = run_tool ("pool", bad);
    assert_failed_with (run, 1, "both pool_max_size and max_size");
  }
  {
    /* `dal query` opens one connection: a pool option is refused */
    g_autofree char *pooled = g_strconcat (url, "?pool_max_size=3", NULL);
    g_autoptr (Run) run = run_tool ("query", pooled, "SELECT 1");
    assert_failed_with (run, 1, "pool_max_size");
    g_assert_nonnull (strstr (error_line (run), "dal_pool_open()"));
  }
}

/* Without a workload: opens min_size connections and reports them. */
static void
test_pool_open (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, "pool_min_size=3&pool_max_size=5");

  g_autoptr (Run) run = run_tool ("pool", url);
  assert_ok (run);
  g_assert_cmpuint (pool_field (run, "size"), ==, 3);
  g_assert_cmpuint (pool_field (run, "created"), ==, 3);
  g_assert_cmpuint (pool_field (run, "in_use"), ==, 0);
  g_assert_cmpuint (pool_field (run, "waiting"), ==, 0);
  g_assert_cmpuint (pool_field (run, "connect_failures"), ==, 0);
  g_assert_cmpuint (pool_field (run, "one_shots"), ==, 0);
  g_assert_null (strstr (run->out, "calls:"));
  /* every counter of DalPoolStats, one per line */
  static const char * const names[] = {
    "idle", "opening", "one_shots_in_flight", "closed", "acquire_timeouts",
    "failed_health_checks", "resets", "replaced_after_faults", "acquired",
    "retried",
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    pool_field (run, names[i]);
}

/* --callers: one-shots from 16 callers through at most 4 connections. */
static void
test_pool_one_shots (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, "pool_min_size=1&pool_max_size=4");

  g_autoptr (Run) run = run_tool ("pool", "--callers", "16", "--seconds", "0.5", url);
  assert_ok (run);
  guint64 calls = pool_field (run, "calls");
  g_assert_cmpuint (calls, >, 16);
  g_assert_cmpuint (pool_field (run, "errors"), ==, 0);
  g_assert_cmpuint (pool_field (run, "one_shots"), >=, calls);
  g_assert_cmpuint (pool_field (run, "acquired"), ==, 0);
  g_assert_cmpuint (pool_field (run, "size"), <=, 4);
  g_assert_cmpuint (pool_field (run, "size"), >=, 1);
  g_assert_cmpuint (pool_field (run, "created"), <=, 4);
  g_assert_cmpuint (pool_field (run, "in_use"), ==, 0);
  g_assert_cmpuint (pool_field (run, "one_shots_in_flight"), ==, 0);
  g_assert_nonnull (strstr (run->out, "workload: 16 callers, one-shot SELECT 1"));
}

/* --acquire: 8 callers borrowing from a pool of 2. */
static void
test_pool_acquire (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *url = dal_test_url (scheme, "pool_min_size=2&pool_max_size=2");

  g_autoptr (Run) run = run_tool ("pool", "--acquire", "--callers", "8",
                                  "--seconds", "0.5", url);
  assert_ok (run);
  guint64 calls = pool_field (run, "calls");
  g_assert_cmpuint (calls, >, 8);
  g_assert_cmpuint (pool_field (run, "errors"), ==, 0);
  /* The workload's, and the 2 of the final drain. */
  g_assert_cmpuint (pool_field (run, "acquired"), ==, calls + 2);
  g_assert_cmpuint (pool_field (run, "size"), ==, 2);
  g_assert_cmpuint (pool_field (run, "created"), ==, 2);
  g_assert_cmpuint (pool_field (run, "in_use"), ==, 0);
  g_assert_cmpuint (pool_field (run, "idle"), ==, 2);
  g_assert_cmpuint (pool_field (run, "acquire_timeouts"), ==, 0);
}

/* A wrong password fails the opening, at once, and prints no counters. */
static void
test_pool_wrong_password (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *q = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s"
                                        "&pool_min_size=2", ca);
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            TOOL_SECRET, hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), q);
  g_autoptr (Run) run = run_tool ("pool", "--callers", "4", url);
  assert_failed_with (run, 1, "password authentication failed");
  g_assert_cmpstr (run->out, ==, "");
}


/* ------------------------------------------------------------------ */
/* dal check                                                            */

/* A strict reader of one JSON value (RFC 8259), enough to tell that
 * `dal check --json` prints well-formed JSON: returns the end of the value
 * at @p, or NULL. */
static const char *json_value (const char *p);

static const char *
json_ws (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static const char *
json_string_end (const char *p)
{
  if (*p++ != '"')
    return NULL;
  for (; *p != '"'; p++)
    {
      if ((unsigned char) *p < 0x20)
        return NULL;
      if (*p == '\\')
        {
          p++;
          if (*p == 'u')
            {
              for (int i = 1; i <= 4; i++)
                if (!g_ascii_isxdigit (p[i]))
                  return NULL;
              p += 4;
            }
          else if (strchr ("\"\\/bfnrt", *p) == NULL || *p == '\0')
            return NULL;
        }
    }
  return p + 1;
}

static const char *
json_value (const char *p)
{
  p = json_ws (p);
  if (*p == '"')
    return json_string_end (p);
  if (*p == '{' || *p == '[')
    {
      char close = *p == '{' ? '}' : ']';
      p = json_ws (p + 1);
      if (*p == close)
        return p + 1;
      for (;;)
        {
          if (close == '}')
            {
              if ((p = json_string_end (json_ws (p))) == NULL)
                return NULL;
              p = json_ws (p);
              if (*p++ != ':')
                return NULL;
            }
          if ((p = json_value (p)) == NULL)
            return NULL;
          p = json_ws (p);
          if (*p == close)
            return p + 1;
          if (*p++ != ',')
            return NULL;
        }
    }
  const char *words[] = { "true", "false", "null" };
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (g_str_has_prefix (p, words[i]))
      return p + strlen (words[i]);
  const char *start = p;
  if (*p == '-')
    p++;
  if (!g_ascii_isdigit (*p))
    return NULL;
  while (g_ascii_isdigit (*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')
    p++;
  return p > start ? p : NULL;
}

/* stdout is exactly one JSON object (and a newline). */
static void
assert_one_json_object (const Run *run)
{
  const char *end = run->out[0] == '{' ? json_value (run->out) : NULL;
  if (end == NULL || strcmp (json_ws (end), "") != 0)
    g_error ("stdout is not one JSON object:\n%s", run->out);
}

/* The number after "@key": in the JSON text (the first occurrence). */
static double
json_number_of (const Run *run, const char *key)
{
  g_autofree char *needle = g_strdup_printf ("\"%s\":", key);
  const char *p = strstr (run->out, needle);
  if (p == NULL)
    g_error ("no %s in:\n%s", needle, run->out);
  char *end = NULL;
  double v = g_ascii_strtod (p + strlen (needle), &end);
  if (end == p + strlen (needle))
    g_error ("%s is not a number in:\n%s", needle, run->out);
  return v;
}

static void
assert_has (const Run *run, const char *text)
{
  if (strstr (run->out, text) == NULL)
    g_error ("stdout (exit status %d) does not have \"%s\":\n%s\nstderr:\n%s",
             run->exit_code, text, run->out, run->err);
}

static void
assert_status (const Run *run, int status)
{
  if (run->exit_code != status)
    g_error ("expected exit status %d, got %d; stdout:\n%s\nstderr:\n%s", status,
             run->exit_code, run->out, run->err);
}

/* The harness's server by name ("localhost"), TLS verify-full: everything
 * is reported and within budget. */
static void
test_check_tls (gconstpointer data)
{
  const char *scheme = data;
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *hostport = g_strdup_printf ("localhost:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
  g_autofree char *url = dal_test_url_full (scheme, dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);

  g_autoptr (Run) run = run_tool ("check", "--json", "--pings", "10", url);
  assert_status (run, 0);
  assert_one_json_object (run);
  assert_has (run, "\"status\":0");
  assert_has (run, "\"url\":\"postgresql+");
  assert_has (run, ":****@localhost:");
  assert_has (run, "\"connected\":true");
  /* localhost has an A record here (127.0.0.1), and one of its
   * addresses was used. */
  assert_has (run, "\"host\":\"localhost\"");
  assert_has (run, "\"a\":[\"127.0.0.1\"");
  g_assert_true (strstr (run->out, "\"hostaddr\":\"127.0.0.1\"") != NULL
                 || strstr (run->out, "\"hostaddr\":\"::1\"") != NULL);
  assert_has (run, "\"in_use\":true");
  assert_has (run, "\"protocol\":\"TLSv1.");
  assert_has (run, "\"verified\":true");
  g_assert_cmpfloat (json_number_of (run, "cert_days_left"), >, 0);
  /* The phases add up to no more than the whole connect. */
  double total = json_number_of (run, "total");
  double phases = json_number_of (run, "tcp") + json_number_of (run, "tls")
                  + json_number_of (run, "auth");
  g_assert_cmpfloat (json_number_of (run, "tls"), >, 0);
  g_assert_cmpfloat (phases, <=, total + 0.01);
  g_assert_cmpfloat (total, <=, dal_test_scaled_ms (2000));
  assert_has (run, "\"within_budget\":true");
  g_assert_cmpfloat (json_number_of (run, "pings"), ==, 10);
  g_assert_cmpfloat (json_number_of (run, "p50"), <=, json_number_of (run, "p95"));
  g_autofree char *version = dal_test_admin_query ("SHOW server_version_num");
  g_assert_cmpfloat (json_number_of (run, "version_num"), ==, g_ascii_strtod (version, NULL));
  assert_has (run, "\"transaction_pooler\":\"no\"");
  assert_has (run, "\"problems\":[]");
  assert_has (run, "\"error\":null");

  /* The text form says the same. */
  g_autoptr (Run) text = run_tool ("check", "--pings", "3", url);
  assert_status (text, 0);
  assert_has (text, "certificate verified");
  assert_has (text, "within budget (2000 ms)");
  assert_has (text, "over 3 pings: within budget (200 ms)");
  assert_has (text, "status:     0 (accepts connections)");
}

/* PgBouncer in transaction mode, as the URL says: reported as a
 * transaction pooler.  Without the URL's word, the probe finds a pooler
 * answering for the server but cannot tell its mode, and says so. */
static void
test_check_pooler (void)
{
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  const char *port = g_getenv ("DAL_TEST_PGBOUNCER_PORT");
  if (port == NULL)
    {
      g_test_skip ("no PgBouncer (DAL_TEST_PGBOUNCER_PORT)");
      return;
    }
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", port);
  g_autofree char *said = dal_test_url_full ("postgresql+asyncpg", dal_test_env ("DAL_TEST_PG_USER"),
                                             dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                             dal_test_env ("DAL_TEST_PG_DATABASE"),
                                             "sslmode=disable&pooler_mode=transaction");
  g_autoptr (Run) run = run_tool ("check", "--json", "--pings", "3", said);
  assert_status (run, 0);
  assert_one_json_object (run);
  assert_has (run, "\"transaction_pooler\":\"yes\"");
  assert_has (run, "\"url_says_so\":true");
  assert_has (run, "\"in_use\":false");

  g_autofree char *unsaid = dal_test_url_full ("postgresql+psycopg2", dal_test_env ("DAL_TEST_PG_USER"),
                                               dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                               dal_test_env ("DAL_TEST_PG_DATABASE"),
                                               "sslmode=disable");
  g_autoptr (Run) text = run_tool ("check", "--pings", "3", unsaid);
  assert_status (text, 0);
  /* Alone on an idle PgBouncer, a client keeps its server connection: the
   * probe sees PgBouncer's own backend key, not a change of server.  The
   * suite's other tests share this PgBouncer, though, and any of them can
   * take that server connection between two of the probe's transactions;
   * the probe then sees the pid change and says "yes" (rightly).  Either
   * way it must find the pooler; "no" is the failure. */
  if (strstr (text->out, "pooler:     yes: ") != NULL)
    {
      assert_has (text, "pooler:     yes: pg_backend_pid() changed between 5 short transactions");
      assert_has (text, "problem:    a transaction pooler is in front, and the URL does not say so");
    }
  else
    {
      assert_has (text, "pooler:     likely: a pooler or proxy answers for the server");
      assert_has (text, "inconclusive");
    }
}

/* Nothing listens: no response (2), with the catalogue's hint; also in
 * JSON. */
static void
test_check_refused (void)
{
  TOOL_OR_RETURN ();
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%u", dal_test_unused_port ());
  g_autofree char *url = dal_test_url_full ("postgresql+asyncpg", "someone", TOOL_SECRET,
                                            hostport, "db", "sslmode=require");
  g_autoptr (Run) run = run_tool ("check", url);
  assert_status (run, 2);
  assert_has (run, "Connection refused");
  assert_has (run, "  hint:     Is the server running on that host and accepting "
                   "TCP/IP connections on that port?");
  assert_has (run, "status:     2 (no response)");

  g_autoptr (Run) json = run_tool ("check", "--json", url);
  assert_status (json, 2);
  assert_one_json_object (json);
  assert_has (json, "\"connected\":false");
  assert_has (json, "\"code\":\"connection-refused\"");
  assert_has (json, "\"hint\":\"Is the server running");
}

/* No attempt (3): a malformed URL, an unknown scheme, a usage error; the
 * JSON object is printed all the same. */
static void
test_check_no_attempt (void)
{
  TOOL_OR_RETURN ();
  g_autoptr (Run) bad = run_tool ("check", "--json", "postgresql+asyncpg://u:" TOOL_SECRET "@[::1/db");
  assert_status (bad, 3);
  assert_one_json_object (bad);
  assert_has (bad, "\"code\":\"url-malformed\"");
  assert_has (bad, "\"status\":3");

  g_autoptr (Run) scheme = run_tool ("check", "postgresql+nosuchdriver://u:" TOOL_SECRET "@h/db");
  assert_status (scheme, 3);
  assert_has (scheme, "no plugin serves");
  assert_has (scheme, "  hint:     ");

  /* A configuration that cannot be read: no attempt either. */
  g_autoptr (Run) none = run_tool ("check", "--json", "--config", "/nonexistent/dal.conf");
  assert_status (none, 3);
  assert_one_json_object (none);
  assert_has (none, "config-invalid");

  g_autoptr (Run) usage = run_tool ("check", "--pings", "0", "postgresql://h/db");
  assert_status (usage, 3);
  g_assert_nonnull (strstr (usage->err, "usage: dal check"));
}

/* The server refuses the password: rejected (1), auth-failed. */
static void
test_check_wrong_password (void)
{
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", dal_test_env ("DAL_TEST_PG_PORT"));
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
  g_autofree char *url = dal_test_url_full ("postgresql+asyncpg", dal_test_env ("DAL_TEST_PG_USER"),
                                            TOOL_SECRET, hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
  g_autoptr (Run) run = run_tool ("check", "--json", url);
  assert_status (run, 1);
  assert_one_json_object (run);
  assert_has (run, "\"code\":\"auth-failed\"");
  assert_has (run, "password authentication failed");
}

/* PgBouncer with an expired certificate: rejected (1), the reason and the
 * catalogue's hint for it. */
static void
test_check_expired (void)
{
  TOOL_OR_RETURN ();
  DAL_TEST_LIVE_OR_RETURN ();
  const char *port = g_getenv ("DAL_TEST_EXPIRED_PORT");
  if (port == NULL)
    {
      g_test_skip ("no PgBouncer with an expired certificate (DAL_TEST_EXPIRED_PORT)");
      return;
    }
  g_autofree char *hostport = g_strdup_printf ("127.0.0.1:%s", port);
  g_autofree char *ca = dal_test_encode (dal_test_env ("DAL_TEST_CA_FILE"));
  g_autofree char *query = g_strdup_printf ("sslmode=verify-full&sslrootcert=%s", ca);
  g_autofree char *url = dal_test_url_full ("postgresql+psycopg2", dal_test_env ("DAL_TEST_PG_USER"),
                                            dal_test_env ("DAL_TEST_PG_PASSWORD"), hostport,
                                            dal_test_env ("DAL_TEST_PG_DATABASE"), query);
  g_autoptr (Run) run = run_tool ("check", url);
  assert_status (run, 1);
  assert_has (run, "has expired");
  assert_has (run, "  hint:     The server's certificate has expired");
  assert_has (run, "status:     1 (rejects the connection)");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tool/plugins/list", test_plugins);
  g_test_add_func ("/tool/plugins/none", test_plugins_none);
  g_test_add_func ("/tool/url/parts", test_url_parts);
  g_test_add_func ("/tool/url/special-password", test_url_special_password);
  g_test_add_func ("/tool/url/keywords", test_url_keywords);
  g_test_add_func ("/tool/url/keywords-show-password", test_url_keywords_show_password);
  g_test_add_func ("/tool/url/keywords-unserved-scheme", test_url_keywords_unserved);
  g_test_add_func ("/tool/url/malformed", test_url_malformed);
  g_test_add_func ("/tool/url/unknown-scheme", test_url_unknown_scheme);
  g_test_add_func ("/tool/url/retired-driver", test_url_retired_driver);
  g_test_add_func ("/tool/usage", test_usage);

  static const char * const schemes[] = { "postgresql+psycopg2", "postgresql+asyncpg" };
  static const struct
  {
    const char *name;
    GTestDataFunc fn;
  } live[] = {
    { "table", test_query_table },
    { "csv", test_query_csv },
    { "null", test_query_null },
    { "dml", test_query_dml },
    { "wrong-password", test_query_wrong_password },
    { "sql-error", test_query_sql_error },
    { "psql-output", test_query_psql_output },
    { "script", test_query_script },
    { "sigint", test_query_sigint },
  };
  for (guint s = 0; s < G_N_ELEMENTS (schemes); s++)
    for (guint t = 0; t < G_N_ELEMENTS (live); t++)
      {
        g_autofree char *path = g_strdup_printf ("/tool/query/%s/%s", schemes[s], live[t].name);
        g_test_add_data_func (path, schemes[s], live[t].fn);
      }
  g_test_add_func ("/tool/query/refused", test_query_refused);
  g_test_add_func ("/tool/pool/usage", test_pool_usage);
  static const struct
  {
    const char *name;
    GTestDataFunc fn;
  } pool_live[] = {
    { "open", test_pool_open },
    { "one-shots", test_pool_one_shots },
    { "acquire", test_pool_acquire },
    { "wrong-password", test_pool_wrong_password },
  };
  for (guint s = 0; s < G_N_ELEMENTS (schemes); s++)
    for (guint t = 0; t < G_N_ELEMENTS (pool_live); t++)
      {
        g_autofree char *path = g_strdup_printf ("/tool/pool/%s/%s", schemes[s],
                                                 pool_live[t].name);
        g_test_add_data_func (path, schemes[s], pool_live[t].fn);
      }
  for (guint s = 0; s < G_N_ELEMENTS (schemes); s++)
    {
      g_autofree char *path = g_strdup_printf ("/tool/check/%s/tls", schemes[s]);
      g_test_add_data_func (path, schemes[s], test_check_tls);
    }
  g_test_add_func ("/tool/check/pooler", test_check_pooler);
  g_test_add_func ("/tool/check/refused", test_check_refused);
  g_test_add_func ("/tool/check/no-attempt", test_check_no_attempt);
  g_test_add_func ("/tool/check/wrong-password", test_check_wrong_password);
  g_test_add_func ("/tool/check/expired-certificate", test_check_expired);
  /* The bare scheme through the dialect's default plugin. */
  g_test_add_data_func ("/tool/query/postgresql/table", "postgresql", test_query_table);

  return g_test_run ();
}
