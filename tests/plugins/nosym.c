/* nosym.c: a loadable module that is not a libdal plugin (it exports no
 * descriptor). */
#include "config.h"

#include <glib.h>

int nosym_answer (void);

int
nosym_answer (void)
{
  return 42;
}
