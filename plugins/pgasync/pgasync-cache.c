/* pgasync-cache.c: pgasync's statement cache: named prepared statements,
 * least recently used evicted, and what a failed statement says about
 * them (26000 / 42P05 clear it, a stale plan drops its entry). */
#include "config.h"

#include <string.h>

#include "pgasync-private.h"

void
cache_entry_unref (CacheEntry *e)
{
  if (--e->refs > 0)
    return;
  g_free (e->key);
  g_free (e->name);
  g_free (e);
}

static guint
memo_slot (const char *sql)
{
  return ((guintptr) sql >> 3) % PGASYNC_CACHE_MEMO;
}

/* Whether @e is the entry for @sql with @pp. */
static gboolean
entry_matches (const CacheEntry *e, const char *sql, const DalPgParams *pp)
{
  if (e->n_params != pp->n)
    return FALSE;
  for (int i = 0; i < pp->n; i++)
    if (e->key[i] != (pp->types[i] != 0 ? 'b' : 't'))
      return FALSE;
  return strcmp (e->sql, sql) == 0;
}

/* The key of @sql with @pp, in pg->cache_key_buf. */
static const char *
build_key (PgAsync *pg, const char *sql, const DalPgParams *pp)
{
  GString *key = pg->cache_key_buf;
  g_string_truncate (key, 0);
  for (int i = 0; i < pp->n; i++)
    g_string_append_c (key, pp->types[i] != 0 ? 'b' : 't');
  g_string_append_c (key, '\x1f');
  g_string_append (key, sql);
  return key->str;
}

CacheEntry *
cache_lookup (PgAsync *pg, const char *sql, const DalPgParams *pp)
{
  CacheEntry **memo = &pg->cache_memo[memo_slot (sql)];
  if (*memo != NULL && entry_matches (*memo, sql, pp))
    return *memo;

  CacheEntry *e = g_hash_table_lookup (pg->cache, build_key (pg, sql, pp));
  if (e != NULL)
    *memo = e;
  return e;
}

CacheEntry *
cache_insert (PgAsync *pg, const char *sql, const DalPgParams *pp)
{
  CacheEntry *e = g_new0 (CacheEntry, 1);
  e->refs = 1;
  e->n_params = pp->n;
  e->key = g_strdup (build_key (pg, sql, pp));
  e->sql = e->key + pp->n + 1;
  e->name = statement_name_new ();
  g_queue_push_tail (&pg->cache_lru, e);
  e->lru_link = pg->cache_lru.tail;
  g_hash_table_insert (pg->cache, e->key, e);
  pg->cache_memo[memo_slot (sql)] = e;
  return e;
}

void
cache_forget (PgAsync *pg, CacheEntry *e)
{
  for (guint i = 0; i < PGASYNC_CACHE_MEMO; i++)
    if (pg->cache_memo[i] == e)
      pg->cache_memo[i] = NULL;
  g_queue_delete_link (&pg->cache_lru, e->lru_link);
  g_hash_table_remove (pg->cache, e->key);  /* (drops the cache's reference) */
}

/* Forgets the entry @op used if it is still in the cache; with
 * @deallocate, its statement is deallocated before the next statement. */
static void
cache_forget_op (PgAsync *pg, PgOp *op, gboolean deallocate)
{
  CacheEntry *e = op->cache_entry;
  if (g_hash_table_lookup (pg->cache, e->key) != e)
    return;
  if (deallocate)
    g_queue_push_tail (&pg->deallocate, g_strdup (e->name));
  cache_forget (pg, e);
}

/* The server's statements no longer match the cache (26000: ours are gone,
 * e.g. DISCARD ALL; 42P05: a name is taken): start afresh. */
static void
cache_clear (PgAsync *pg)
{
  memset (pg->cache_memo, 0, sizeof pg->cache_memo);
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
  if (op->cache_entry == NULL)
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

