/* dal-conformance.c: `dal conformance URL [OPTION…]` runs the installed
 * conformance suite, dal-plugin-check (tools/dal-plugin-check.c), with
 * the same arguments; its TAP report and exit status are the command's.
 * The program is $(pkglibexecdir)/dal-plugin-check, or DAL_PLUGIN_CHECK
 * when set (the build tree's tests set it). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dal-tool.h"

#define CHECK_PROGRAM "dal-plugin-check"

int
dal_tool_conformance (int argc, char **argv)
{
  const char *env = g_getenv ("DAL_PLUGIN_CHECK");
  g_autofree char *program = env != NULL && *env != '\0'
                               ? g_strdup (env)
                               : g_build_filename (DAL_PKGLIBEXECDIR, CHECK_PROGRAM, NULL);
  if (argc < 2)
    return dal_tool_usage_error ("conformance", "expected a URL (or --help)");

  /* argv[0] is "conformance": the program gets everything after it. */
  g_autofree char **args = g_new0 (char *, argc + 1);
  args[0] = program;
  for (int i = 1; i < argc; i++)
    args[i] = argv[i];
  fflush (stdout);
  execv (program, args);
  fprintf (stderr, "dal conformance: cannot run %s: %s; install libdal's %s, or name it "
           "with DAL_PLUGIN_CHECK\n", program, g_strerror (errno), CHECK_PROGRAM);
  return 1;
}
