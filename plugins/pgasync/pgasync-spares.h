/* pgasync-spares.h: a few records of one kind kept for reuse, so that
 * the engine allocates none per statement (its operations, pgasync.c;
 * its completions, pgasync-deliver.c).  Each record carries the GList
 * it is kept by (data: the record). */
#ifndef PGASYNC_SPARES_H
#define PGASYNC_SPARES_H

#include <glib.h>

G_BEGIN_DECLS

/* How many records a list keeps; the others are freed. */
#define PG_SPARES_MAX 16

typedef struct
{
  GList *head;
  guint n;
} PgSpares;

/* A kept record, or NULL. */
static inline gpointer
pg_spares_take (PgSpares *spares)
{
  GList *l = spares->head;
  if (l == NULL)
    return NULL;
  spares->head = l->next;
  spares->n--;
  return l->data;
}

/* Keeps the record @link belongs to, or frees it (g_free) when enough
 * are kept. */
static inline void
pg_spares_put (PgSpares *spares, GList *link)
{
  if (spares->n >= PG_SPARES_MAX)
    {
      g_free (link->data);
      return;
    }
  link->next = spares->head;
  spares->head = link;
  spares->n++;
}

static inline void
pg_spares_clear (PgSpares *spares)
{
  gpointer record;
  while ((record = pg_spares_take (spares)) != NULL)
    g_free (record);
}

G_END_DECLS

#endif /* PGASYNC_SPARES_H */
