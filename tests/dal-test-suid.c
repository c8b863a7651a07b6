/* dal-test-suid.c: a helper for test-registry's /registry/env/setuid.
 * The test runs a setuid copy of it: it prints its real and effective
 * uids and the search path of a registry made from the environment
 * (DAL_PLUGIN_PATH), which libdal must ignore in a setuid program.
 * Linked with -no-install, so that it runs without libtool's wrapper
 * (a setuid program gets no LD_LIBRARY_PATH). */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <dal/dal.h>

int
main (void)
{
  g_autoptr (DalRegistry) registry = dal_registry_new (NULL, FALSE);
  g_autofree char *path = dal_registry_get_search_path (registry);
  printf ("uid=%u euid=%u path=%s\n", (unsigned) getuid (),
          (unsigned) geteuid (), path);
  /* Out now: in a setuid program an ASan build's leak check at exit
   * cannot run and ends the process without flushing stdio. */
  fflush (stdout);
  return 0;
}
