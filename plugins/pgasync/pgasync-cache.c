/* pgasync-cache.c: pgasync's statement cache: named prepared statements,
 * least recently used evicted, and what a failed statement says about
 * them (26000 / 42P05 clear it, a stale plan drops its entry). */
#include "config.h"

#include <string.h>

#include "pgasync-private.h"

void
cache_entry_free (CacheEntry *e)
{
  g_free (e->name);
  g_free (e);
}

void
cache_forget (PgAsync *pg, const char *key)
{
  CacheEntry *e = g_hash_table_lookup (pg->cache, key);
  if (e == NULL)
    return;
  g_queue_delete_link (&pg->cache_lru, e->lru_link);
  g_hash_table_remove (pg->cache, key);
}

/* Forgets the entry @op used if it is still the one it used; with
 * @deallocate, its statement is deallocated before the next statement. */
static void
cache_forget_op (PgAsync *pg, PgOp *op, gboolean deallocate)
{
  CacheEntry *e = g_hash_table_lookup (pg->cache, op->cache_key);
  if (e == NULL || g_strcmp0 (e->name, op->cache_name) != 0)
    return;
  if (deallocate)
    g_queue_push_tail (&pg->deallocate, g_strdup (e->name));
  cache_forget (pg, op->cache_key);
}

/* The server's statements no longer match the cache (26000: ours are gone,
 * e.g. DISCARD ALL; 42P05: a name is taken): start afresh. */
static void
cache_clear (PgAsync *pg)
{
  g_hash_table_remove_all (pg->cache);
  g_queue_clear (&pg->cache_lru);
  g_queue_clear_full (&pg->deallocate, g_free);
}

/* Statement names: a random per-process prefix and a per-process counter,
 * so that two connections, of this process or another, sharing one server
 * connection through a session pooler never collide. */
char *
statement_name_new (void)
{
  static gsize prefix;
  static gint counter;
  if (g_once_init_enter (&prefix))
    g_once_init_leave (&prefix, (gsize) g_random_int () | 1);
  guint n = (guint) g_atomic_int_add (&counter, 1) + 1;
  return g_strdup_printf ("dal_%08x_%u", (guint32) prefix, n);
}

static gboolean
is_stale_plan (const PGresult *r)
{
  const char *primary = PQresultErrorField (r, PG_DIAG_MESSAGE_PRIMARY);
  return g_strcmp0 (PQresultErrorField (r, PG_DIAG_SQLSTATE), "0A000") == 0
         && primary != NULL && strstr (primary, "cached plan must not change result type") != NULL;
}

/* Keeps what a failed statement says about the cache. */
void
cache_note_failure (PgAsync *pg, PgOp *op, const PGresult *r)
{
  const char *state = PQresultErrorField (r, PG_DIAG_SQLSTATE);
  if (op->deallocates != NULL)
    {
      /* Still there (inside a failed transaction): again later. */
      if (g_strcmp0 (state, "26000") != 0 && pg->cache_size > 0)
        g_queue_push_tail (&pg->deallocate, g_strdup (op->deallocates));
      return;
    }
  if (op->cache_key == NULL)
    return;
  if (g_strcmp0 (state, "26000") == 0 || g_strcmp0 (state, "42P05") == 0)
    cache_clear (pg);
  else if (op->prepares && op->groups_left == 2)
    cache_forget_op (pg, op, FALSE);  /* its own Prepare failed */
  else if (is_stale_plan (r))
    {
      op->stale_plan = TRUE;
      cache_forget_op (pg, op, TRUE);
    }
}

