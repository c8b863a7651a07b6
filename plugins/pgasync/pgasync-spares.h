/* pgasync-spares.h: a few records of one kind kept for reuse, so that
 * the engine allocates none per statement (its operations, pgasync.c;
 * its completions, pgasync-deliver.c).  Each record carries the GList
 * it is kept by (data: the record).  Also the queue moves those records
 * make, inline. */
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

/* GQueue's link operations, inline: the engine moves each operation and
 * completion through a few queues per statement, and a call into GLib
 * for each costs more than the move itself.  (GQueue's fields are
 * public; these keep them as GLib's own functions do.) */
static inline void
pg_queue_push_tail_link (GQueue *queue, GList *link)
{
  link->next = NULL;
  link->prev = queue->tail;
  if (queue->tail != NULL)
    queue->tail->next = link;
  else
    queue->head = link;
  queue->tail = link;
  queue->length++;
}

static inline GList *
pg_queue_pop_head_link (GQueue *queue)
{
  GList *link = queue->head;
  if (link == NULL)
    return NULL;
  queue->head = link->next;
  if (queue->head != NULL)
    queue->head->prev = NULL;
  else
    queue->tail = NULL;
  link->next = NULL;
  queue->length--;
  return link;
}

G_END_DECLS

#endif /* PGASYNC_SPARES_H */
