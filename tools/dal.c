/* dal: the libdal command.
 *
 *   dal plugins                       what is installed and what it serves
 *   dal url [--keywords] [URL]        a URL's parts (redacted) and its plugin
 *   dal query [--csv] [URL] SQL [PARAM…] run one statement (-f FILE: a script)
 *   dal bench [--json] [--seconds N] [URL…]  plugins against raw libpq
 *   dal pool [--callers N] [--seconds S] [--acquire] [URL]  a pool's counters
 *   dal check [--json] [--pings N] [URL]  a connection doctor
 *   dal migrate [--url URL] [--dir DIR] status|up|down|new  schema migrations
 *   dal conformance URL [OPTION…]     check a plugin against libdal's contract
 *
 * Without a URL argument a subcommand takes its URL from configuration
 * (--config FILE, else $DAL_CONFIG or the search) and the environment
 * (DAL_DATABASE_URL, DATABASE_URL, libpq's PG*): docs/config.md.
 *
 * Every error goes to stderr as "dal: <message>" with exit status 1; usage
 * errors exit with 2, except in `dal query`, which exits as psql does
 * (dal-query.c: 1 for a usage error too, 2 when it cannot connect, 3 for
 * a script stopped at an error, 130 for Ctrl-C); dal check exits as
 * pg_isready does (dal-check.c).  No output ever shows a password, except
 * `dal url --keywords --show-password`.
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "dal-tool.h"

typedef struct
{
  const char *name;
  const char *args;
  const char *summary;
  int (*run) (int argc, char **argv);
} Command;

static const Command *find_command (const char *name);

/* What --help says of the environment: every subcommand that takes a URL
 * reads the same variables (docs/config.md). */
const char dal_tool_environment_help[] =
  "Environment:\n"
  "  DAL_DATABASE_URL, DATABASE_URL  the URL when none is given (in this order)\n"
  "  DAL_MIGRATION_URL               dal migrate's URL when none is given\n"
  "  DAL_CONFIG                      the configuration file (docs/config.md;\n"
  "                                  else $XDG_CONFIG_HOME/dal/dal.conf, then\n"
  "                                  /etc/dal/dal.conf)\n"
  "  DAL_DRIVER_MAP                  scheme renames (dialect+driver=...)\n"
  "  PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ...\n"
  "                                  libpq's defaults for what a URL leaves out\n"
  "  DAL_PLUGIN_PATH                 more plugin folders, searched first\n"
  "  DAL_PLUGIN_SYSTEM_PATH          replaces the installed plugin folder\n"
  "\nSee dal(1) and dal.conf(5).";

/* Parses @argc/@argv with @entries; prints usage errors. */
static gboolean
parse_options (const Command *cmd, GOptionEntry *entries, int *argc, char ***argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (cmd->args);
  g_option_context_set_summary (ctx, cmd->summary);
  g_option_context_set_description (ctx, dal_tool_environment_help);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "dal %s: %s (see dal %s --help)\n", cmd->name,
               error->message, cmd->name);
      return FALSE;
    }
  return TRUE;
}

static int
usage_error (const Command *cmd, const char *what)
{
  fprintf (stderr, "dal %s: %s\nusage: dal %s %s\n", cmd->name, what, cmd->name,
           cmd->args);
  return 2;
}

/* For the subcommands in other files (dal-tool.h). */
gboolean
dal_tool_parse_options (const char *command, GOptionEntry *entries,
                        int *argc, char ***argv)
{
  return parse_options (find_command (command), entries, argc, argv);
}

int
dal_tool_usage_error (const char *command, const char *what)
{
  return usage_error (find_command (command), what);
}

/* The URL configuration gives, and (nullable) where it comes from. */
static DalUrl *
config_url (const char *config_file, gboolean migration, char **origin,
            GError **error)
{
  g_autoptr (DalConfig) config = dal_config_load (config_file, error);
  if (config == NULL)
    return NULL;
  DalUrl *url = migration ? dal_config_get_migration_url (config, error)
                          : dal_config_get_url (config, error);
  if (url != NULL && origin != NULL)
    *origin = g_strdup (dal_config_get_origin (config, migration
                                                         ? "migration_url"
                                                         : "url"));
  return url;
}

DalUrl *
dal_tool_get_url (const char *url_arg, const char *config_file,
                  gboolean migration, GError **error)
{
  if (url_arg != NULL)
    return dal_url_parse (url_arg, error);
  return config_url (config_file, migration, NULL, error);
}

gboolean
dal_tool_is_url (const char *arg)
{
  const char *sep = arg != NULL ? strstr (arg, "://") : NULL;
  if (sep == NULL || sep == arg)
    return FALSE;
  for (const char *p = arg; p < sep; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* -- dal plugins -- */

static char *
describe_schemes (DalPlugin *p)
{
  GString *s = g_string_new (NULL);
  for (const char * const *d = dal_plugin_get_drivers (p); *d != NULL; d++)
    g_string_append_printf (s, "%s%s+%s", s->len ? ", " : "",
                            dal_plugin_get_dialect (p), *d);
  if (dal_plugin_is_dialect_default (p))
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", dal_plugin_get_dialect (p));
  return g_string_free (s, FALSE);
}

static int
cmd_plugins (int argc, char **argv)
{
  if (!parse_options (find_command ("plugins"), (GOptionEntry[]) { { NULL } }, &argc, &argv))
    return 2;

  g_autoptr (GPtrArray) plugins = dal_registry_list (NULL);
  g_autofree char *path = dal_registry_get_search_path (NULL);
  printf ("search path: %s\n", path);
  if (plugins->len == 0)
    {
      printf ("no plugins found\n");
      return 1;
    }

  int status = 0;
  for (guint i = 0; i < plugins->len; i++)
    {
      DalPlugin *p = plugins->pdata[i];
      g_autofree char *schemes = describe_schemes (p);
      guint major, minor;
      dal_plugin_get_abi_version (p, &major, &minor);
      const GError *err = dal_plugin_get_load_error (p);

      printf ("\n%s\n", dal_plugin_get_name (p));
      printf ("  serves:      %s\n", schemes);
      if (dal_plugin_get_description (p) != NULL)
        printf ("  description: %s\n", dal_plugin_get_description (p));
      printf ("  file:        %s\n", dal_plugin_get_filename (p));
      printf ("  descriptor:  %s\n", dal_plugin_get_descriptor_filename (p));
      if (major > 0)
        printf ("  ABI:         %u.%u (this libdal: %u.%u)\n", major, minor,
                DAL_PLUGIN_ABI_MAJOR, DAL_PLUGIN_ABI_MINOR);
      if (err != NULL)
        {
          printf ("  status:      cannot be used: %s\n", err->message);
          status = 1;
        }
      else
        printf ("  status:      ok, %s\n", dal_plugin_is_async (p)
                                             ? "non-blocking (async natively)"
                                             : "blocking (async through a worker thread)");
    }
  return status;
}

/* -- dal url -- */

static int
cmd_url (int argc, char **argv)
{
  const Command *cmd = find_command ("url");
  gboolean keywords = FALSE, show_password = FALSE, migration = FALSE;
  g_autofree char *config_file = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Without a URL argument: read this configuration file", "FILE" },
    { "migration", 'm', 0, G_OPTION_ARG_NONE, &migration,
      "Without a URL argument: the migration URL instead", NULL },
    { "keywords", 'k', 0, G_OPTION_ARG_NONE, &keywords,
      "Print the client library's connection keywords (keyword=value)", NULL },
    { "show-password", 0, 0, G_OPTION_ARG_NONE, &show_password,
      "With --keywords: include the password (and other secrets)", NULL },
    { NULL }
  };
  if (!parse_options (cmd, entries, &argc, &argv))
    return 2;
  if (argc > 2)
    return usage_error (cmd, "expected at most one URL");

  g_autoptr (GError) error = NULL;
  g_autofree char *origin = NULL;
  g_autoptr (DalUrl) url = argc == 2 ? dal_url_parse (argv[1], &error)
                                     : config_url (config_file, migration,
                                                   &origin, &error);
  if (url == NULL)
    return dal_tool_fail (error);

  if (keywords)
    {
      const char * const *kw, * const *val;
      guint n = dal_url_get_keywords (url, &kw, &val);
      for (guint i = 0; i < n; i++)
        if (show_password || !dal_url_option_is_secret (kw[i]))
          printf ("%s=%s\n", kw[i], val[i]);
      return 0;
    }

  g_autofree char *redacted = dal_url_to_string_redacted (url);
  printf ("url:       %s\n", redacted);
  if (origin != NULL)
    printf ("from:      %s\n", origin);
  printf ("scheme:    %s\n", dal_url_get_scheme (url));
  printf ("dialect:   %s\n", dal_url_get_dialect (url));
  printf ("driver:    %s\n", dal_url_get_driver (url) != NULL
                               ? dal_url_get_driver (url) : "(the dialect's default)");
  if (dal_url_get_user (url) != NULL)
    printf ("user:      %s\n", dal_url_get_user (url));
  if (dal_url_get_password (url) != NULL)
    printf ("password:  ****\n");
  for (guint i = 0; i < dal_url_get_n_hosts (url); i++)
    {
      const char *host = dal_url_get_host (url, i);
      const char *port = dal_url_get_port (url, i);
      printf ("host %u:    %s%s%s\n", i + 1, *host != '\0' ? host : "(default)",
              port != NULL ? ", port " : "", port != NULL ? port : "");
    }
  if (dal_url_get_database (url) != NULL)
    printf ("database:  %s\n", dal_url_get_database (url));

  DalPlugin *plugin = dal_registry_resolve (NULL, url, &error);
  if (plugin == NULL)
    {
      printf ("plugin:    none\n");
      return dal_tool_fail (error);
    }
  printf ("plugin:    %s (%s)\n", dal_plugin_get_name (plugin),
          dal_plugin_get_filename (plugin));
  return 0;
}

/* -- dispatch -- */

static const Command commands[] = {
  { "plugins", "", "List the installed plugins, the schemes each serves, "
    "their files and ABI versions.", cmd_plugins },
  { "url", "[--config FILE] [--migration] [URL]", "Show a URL's parts (password redacted) and the plugin that "
    "would serve it; --keywords prints the connection keywords it yields. "
    "Without URL: the one configuration gives, and where it comes from.",
    cmd_url },
  { "query", "[--config FILE] [URL] SQL [PARAM…] | [URL] -f FILE | [URL] < FILE", "Run one SQL statement ($1, $2, … for the "
    "parameters) and print what it returns; or a script (-f FILE, or SQL on "
    "stdin) statement by statement.  Exit status as psql's: 0 ok, 1 error, "
    "2 connection failed, 3 a script stopped at an error, 130 Ctrl-C "
    "(which cancels the running statement on the server).", dal_tool_query },
  { "bench", "[--json] [--seconds N] [--config FILE] [URL…]", "Benchmark each URL's plugin "
    "against raw libpq (see dal-bench.c).", dal_tool_bench },
  { "pool", "[--callers N] [--seconds S] [--acquire] [--config FILE] [URL]", "Open a pool "
    "(the URL's pool_* options are its settings), optionally run N "
    "concurrent callers doing SELECT 1 one-shots (or acquire, SELECT 1, "
    "release) for S seconds, and print the pool's counters.", dal_tool_pool },
  { "check", "[--json] [--pings N] [--config FILE] [URL]", "Diagnose a "
    "connection: DNS, connect phases, TLS, server, pooler, latency; exit "
    "status as pg_isready's (0 ok, 1 rejected, 2 no response, 3 no attempt).",
    dal_tool_check },
  { "migrate", "[--config FILE] [--url URL] [--dir DIR] status | up [TARGET] "
    "| down [TARGET] | new NAME", "Schema migrations from a folder of "
    "NNNN_name.up.sql / .down.sql files (docs/migrate.md).", dal_tool_migrate },
  { "conformance", "URL [--plugin-dir DIR] [--slow-sql SQL] [--fail-sql SQL] "
    "[--fail-url URL] [--calls N]", "Run the conformance suite (dal-plugin-check) "
    "on the plugin serving URL; TAP on stdout (docs/plugins.md).",
    dal_tool_conformance },
};

static const Command *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static int
usage (FILE *out)
{
  fprintf (out, "usage: dal COMMAND [OPTION…] [ARG…]\n\ncommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].args);
  fprintf (out, "\n`dal COMMAND --help` describes each.  libdal %s\n\n%s\n",
           dal_version_string (), dal_tool_environment_help);
  return out == stdout ? 0 : 2;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2)
    return usage (stderr);
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    return usage (stdout);
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("dal (libdal) %s\n", dal_version_string ());
      return 0;
    }
  const Command *cmd = find_command (argv[1]);
  if (cmd == NULL)
    {
      fprintf (stderr, "dal: unknown command \"%s\"\n", argv[1]);
      return usage (stderr);
    }
  /* "Usage: dal NAME [OPTION…] ARGS" in --help: the program name is
   * "dal NAME" (GOption would take argv[0], the bare subcommand). */
  g_autofree char *prgname = g_strdup_printf ("dal %s", cmd->name);
  g_set_prgname (prgname);
  return cmd->run (argc - 1, argv + 1);
}
