#ifndef DAL_VERSION_H
#define DAL_VERSION_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* The API version: part of the library name (libdal-1) and of the include
 * directory (dal-1).  It changes only when the API breaks. */
#define DAL_API_VERSION 1

/* Version of the plugin ABI this header describes; see dal-plugin.h. */
#define DAL_PLUGIN_ABI_MAJOR 1
#define DAL_PLUGIN_ABI_MINOR 5

/**
 * dal_version_string:
 *
 * Returns: (transfer none): the version of the libdal library in use,
 *   such as "0.1.0".
 */
const char *dal_version_string (void);

G_END_DECLS

#endif /* DAL_VERSION_H */
