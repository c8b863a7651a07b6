/* dal-tool.h: what the parts of the `dal` command share. */
#ifndef DAL_TOOL_H
#define DAL_TOOL_H

#include <dal/dal.h>

G_BEGIN_DECLS

/* Prints @result as an aligned table (psql style) or as CSV. */
void dal_tool_print_table (const DalResult *result, FILE *out);
void dal_tool_print_csv (const DalResult *result, FILE *out);

/* Latencies: sorts an array of gint64 nanoseconds; the nearest-rank
 * percentile (@fraction 0.95 for p95) of a sorted one, in milliseconds
 * (NAN when empty). */
void dal_tool_sort_ns (GArray *ns);
double dal_tool_percentile_ms (GArray *sorted_ns, double fraction);

/* Prints "dal: <message>" on stderr; returns the exit status to use. */
int dal_tool_fail (const GError *error);

/* The "Environment:" part of every --help: the variables that choose
 * the URL, the configuration file and the plugins (dal.c). */
extern const char dal_tool_environment_help[];

/* Option parsing and usage errors as every subcommand reports them
 * (dal.c); @command is the subcommand's name. */
gboolean dal_tool_parse_options (const char *command, GOptionEntry *entries,
                                 int *argc, char ***argv);
int dal_tool_usage_error (const char *command, const char *what);

/* The URL a subcommand works on: @url_arg when given (it is parsed);
 * otherwise the one configuration gives (@config_file when not %NULL, else
 * the documented search and the environment: docs/config.md).  With
 * @migration, the migration URL instead of the application's.  Errors say
 * what to change. */
DalUrl *dal_tool_get_url (const char *url_arg, const char *config_file,
                          gboolean migration, GError **error);

/* Whether @arg is written as a URL ("scheme://…"), so that a subcommand
 * can tell an optional URL argument from the arguments after it. */
gboolean dal_tool_is_url (const char *arg);

/* `dal query` (dal-query.c). */
int dal_tool_query (int argc, char **argv);

/* `dal bench` (dal-bench.c). */
int dal_tool_bench (int argc, char **argv);

/* `dal migrate` (dal-migrate.c). */
int dal_tool_migrate (int argc, char **argv);

/* `dal pool` (dal-pool.c). */
int dal_tool_pool (int argc, char **argv);

/* `dal check` (dal-check.c). */
int dal_tool_check (int argc, char **argv);

/* `dal conformance` (dal-conformance.c). */
int dal_tool_conformance (int argc, char **argv);

G_END_DECLS

#endif /* DAL_TOOL_H */
