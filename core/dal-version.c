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
dal_check_version (guint required_major, guint required_minor,
                   guint required_micro)
{
  if (required_major != DAL_MAJOR_VERSION)
    return "libdal's major version differs from the one required";
  if (required_minor > DAL_MINOR_VERSION
      || (required_minor == DAL_MINOR_VERSION
          && required_micro > DAL_MICRO_VERSION))
    return "libdal is older than the version required";
  return NULL;
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
