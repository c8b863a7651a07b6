/* dal-url-private.h: what the files of the URL parser and writer share
 * (dal-url.c, dal-url-get.c, dal-url-write.c, ...): the DalUrl structure
 * and a few helpers.  Never installed; nothing here is exported.
 */
#ifndef DAL_URL_PRIVATE_H
#define DAL_URL_PRIVATE_H

#include "dal-private.h"

G_BEGIN_DECLS

struct _DalUrl
{
  gatomicrefcount ref_count;

  char *scheme;                 /* canonical: "postgresql+asyncpg" */
  char *dialect;                /* canonical: "postgresql" */
  char *driver;                 /* NULL for a bare dialect */
  const DalDialect *info;       /* NULL: a dialect no plugin describes */

  /* The connection keywords.  Known dialect: one slot per table entry, in
   * table order.  Other dialects: user, password, host, port, dbname, then
   * every other query option in order of first appearance.  A NULL value
   * is a keyword the URL does not set. */
  GPtrArray *slot_names;        /* char * */
  GPtrArray *slot_values;       /* char *, nullable */

  /* libdal's own options, parallel to _dal_libdal_options_get (). */
  char **libdal_values;
  guint n_libdal;

  /* Derived once parsing is done. */
  guint n_keywords;
  const char **keywords;        /* NULL-terminated; strings are the slots' */
  const char **values;
  guint n_hosts;
  char **hosts;                 /* n_hosts entries */
  char **ports;                 /* n_hosts entries, each nullable */
};

/* -- slots and small helpers (dal-url.c) -- */

/* The value of keyword @name, or NULL. */
G_GNUC_INTERNAL const char *_dal_url_slot_get (const DalUrl *url,
                                               const char *name);
/* Sets keyword @name (taking @value), adding a slot for it if the dialect
 * has no table.  Returns FALSE if a known dialect does not have @name. */
G_GNUC_INTERNAL gboolean _dal_url_slot_set (DalUrl *url, const char *name,
                                            char *value);
/* The option the URL's part @part ("user", "password", "host", "port",
 * "dbname") sets in the URL's dialect (NULL: it has no such part), and
 * its value. */
G_GNUC_INTERNAL const char *_dal_url_part (const DalUrl *url, const char *part);
G_GNUC_INTERNAL const char *_dal_url_part_get (const DalUrl *url,
                                               const char *part);
/* Number of entries in a comma-separated list ("a,,b" has three). */
G_GNUC_INTERNAL guint _dal_url_count_elements (const char *list);
/* Whether libdal has an option table for the URL's dialect. */
G_GNUC_INTERNAL gboolean _dal_url_has_table (const DalUrl *url);
/* The index of keyword @name among the URL's slots, or -1. */
G_GNUC_INTERNAL int _dal_url_slot_find (const DalUrl *url, const char *name);
/* The index of @name among libdal's own options, or -1. */
G_GNUC_INTERNAL int _dal_url_libdal_index (const char *name);
/* Whether @s is NULL or "". */
G_GNUC_INTERNAL gboolean _dal_url_is_empty (const char *s);

G_END_DECLS

#endif /* DAL_URL_PRIVATE_H */
