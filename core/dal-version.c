/* dal-version.c: version and small process-wide helpers. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "dal-private.h"

const char *
dal_version_string (void)
{
  return PACKAGE_VERSION;
}

const char *
_dal_secure_getenv (const char *name)
{
#ifdef HAVE_SECURE_GETENV
  return secure_getenv (name);
#else
  if (getuid () != geteuid () || getgid () != getegid ())
    return NULL;
  return getenv (name);
#endif
}
