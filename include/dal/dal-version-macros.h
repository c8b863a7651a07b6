/* dal-version-macros.h: which version of libdal brought each symbol, in
 * the way GLib does it.
 *
 * A program may define DAL_VERSION_MIN_REQUIRED (the oldest libdal it
 * supports) and DAL_VERSION_MAX_ALLOWED (the newest libdal API it may
 * use) before including <dal/dal.h>, as DAL_VERSION_0_1 and the like.
 * The compiler then warns about a symbol deprecated since the former, or
 * added after the latter.  Both default to the headers' own version.
 */
#ifndef DAL_VERSION_MACROS_H
#define DAL_VERSION_MACROS_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib.h>

/**
 * DAL_ENCODE_VERSION:
 * @major: a major version
 * @minor: a minor version
 *
 * Encodes a libdal version as a number, for comparing with
 * %DAL_VERSION_MIN_REQUIRED and %DAL_VERSION_MAX_ALLOWED.
 *
 * Since: 0.1
 */
#define DAL_ENCODE_VERSION(major, minor) ((major) << 16 | (minor) << 8)

/**
 * DAL_VERSION_0_1:
 *
 * libdal 0.1, the first release.
 *
 * Since: 0.1
 */
#define DAL_VERSION_0_1 (DAL_ENCODE_VERSION (0, 1))

/**
 * DAL_VERSION_CUR_STABLE:
 *
 * The version of these headers, as a DAL_VERSION_ number.
 *
 * Since: 0.1
 */
#define DAL_VERSION_CUR_STABLE DAL_VERSION_0_1

/**
 * DAL_VERSION_MIN_REQUIRED:
 *
 * The oldest libdal version the program supports: symbols deprecated in
 * a later version give no warning.  Define it before including
 * <dal/dal.h>; it defaults to %DAL_VERSION_CUR_STABLE.
 *
 * Since: 0.1
 */
#ifndef DAL_VERSION_MIN_REQUIRED
#define DAL_VERSION_MIN_REQUIRED (DAL_VERSION_CUR_STABLE)
#endif

/**
 * DAL_VERSION_MAX_ALLOWED:
 *
 * The newest libdal API the program may use: symbols added after it
 * give a warning.  Define it before including <dal/dal.h>; it defaults
 * to %DAL_VERSION_CUR_STABLE.
 *
 * Since: 0.1
 */
#ifndef DAL_VERSION_MAX_ALLOWED
#define DAL_VERSION_MAX_ALLOWED (DAL_VERSION_CUR_STABLE)
#endif

#if DAL_VERSION_MAX_ALLOWED < DAL_VERSION_MIN_REQUIRED
#error "DAL_VERSION_MAX_ALLOWED must be >= DAL_VERSION_MIN_REQUIRED"
#endif

/* _DAL_EXTERN: how a public symbol is declared.  Only the symbols the
 * headers declare are exported from libdal-1.so (core/libdal.map). */
#define _DAL_EXTERN extern

/**
 * DAL_AVAILABLE_IN_ALL:
 *
 * Marks a symbol that has been in libdal since its first release.
 *
 * Since: 0.1
 */
#define DAL_AVAILABLE_IN_ALL _DAL_EXTERN

/**
 * DAL_AVAILABLE_IN_0_1:
 *
 * Marks a symbol added in libdal 0.1.
 *
 * Since: 0.1
 */
#if DAL_VERSION_MAX_ALLOWED < DAL_VERSION_0_1
#define DAL_AVAILABLE_IN_0_1 G_UNAVAILABLE (0, 1) _DAL_EXTERN
#else
#define DAL_AVAILABLE_IN_0_1 _DAL_EXTERN
#endif

/**
 * DAL_DEPRECATED_IN_0_1:
 *
 * Marks a symbol deprecated in libdal 0.1.
 *
 * Since: 0.1
 */
/**
 * DAL_DEPRECATED_IN_0_1_FOR:
 * @f: what to use instead
 *
 * Marks a symbol deprecated in libdal 0.1 in favour of @f.
 *
 * Since: 0.1
 */
#if DAL_VERSION_MIN_REQUIRED >= DAL_VERSION_0_1
#define DAL_DEPRECATED_IN_0_1 G_DEPRECATED _DAL_EXTERN
#define DAL_DEPRECATED_IN_0_1_FOR(f) G_DEPRECATED_FOR (f) _DAL_EXTERN
#else
#define DAL_DEPRECATED_IN_0_1 _DAL_EXTERN
#define DAL_DEPRECATED_IN_0_1_FOR(f) _DAL_EXTERN
#endif

#endif /* DAL_VERSION_MACROS_H */
