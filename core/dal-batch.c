/* dal-batch.c: DalBatch (statements with their converted parameters) and
 * DalBatchResult (one result or error per statement).  Running them is
 * the facade's (dal-connection-batch.c); sending them, the plugins'. */
#include "config.h"

#include <string.h>

#include "dal-connection-private.h"

typedef struct
{
  const char *sql;          /* in the batch's string chunk */
  DalParamsOwned *params;
} BatchEntry;

struct _DalBatch
{
  gint ref_count;
  GArray *entries;      /* BatchEntry; never shrinks */
  GStringChunk *sql;    /* the texts; one repeated is kept once */
  GPtrArray *arena;     /* blocks holding text parameters (one allocation
                         * per statement would outrun malloc's cache) */
  char *arena_at;       /* free room in the last block */
  gsize arena_left;
};

struct _DalBatchResult
{
  gint ref_count;
  guint n;
  DalResult **results;  /* [n]: each a reference, or in @block */
  DalResult *block;     /* [n]: the results dal_batch_result_take_impl() makes */
  GError **errors;      /* [n]: exactly one of results[i], errors[i] is set */
  /* The three arrays follow, in the same allocation (a batch result is
   * made per batch: one block instead of four). */
};

G_DEFINE_BOXED_TYPE (DalBatch, dal_batch, dal_batch_ref, dal_batch_unref)
G_DEFINE_BOXED_TYPE (DalBatchResult, dal_batch_result, dal_batch_result_ref,
                     dal_batch_result_unref)

static void
entry_clear (BatchEntry *e)
{
  _dal_params_free (e->params);
}

DalBatch *
dal_batch_new (void)
{
  DalBatch *batch = g_new0 (DalBatch, 1);
  batch->ref_count = 1;
  batch->entries = g_array_new (FALSE, FALSE, sizeof (BatchEntry));
  g_array_set_clear_func (batch->entries, (GDestroyNotify) entry_clear);
  batch->sql = g_string_chunk_new (256);
  return batch;
}

DalBatch *
dal_batch_ref (DalBatch *batch)
{
  g_return_val_if_fail (batch != NULL, NULL);
  g_atomic_int_inc (&batch->ref_count);
  return batch;
}

void
dal_batch_unref (DalBatch *batch)
{
  if (batch == NULL || !g_atomic_int_dec_and_test (&batch->ref_count))
    return;
  g_array_unref (batch->entries);
  g_string_chunk_free (batch->sql);
  g_clear_pointer (&batch->arena, g_ptr_array_unref);
  g_free (batch);
}

/* Appends @sql with @owned (taken). */
void
_dal_batch_add_owned (DalBatch *batch, const char *sql, DalParamsOwned *owned)
{
  /* A text the same as the last one's (executemany, a loop) is kept
   * once. */
  guint n = batch->entries->len;
  const char *last = n > 0 ? g_array_index (batch->entries, BatchEntry, n - 1).sql : NULL;
  BatchEntry e = { last != NULL && strcmp (last, sql) == 0
                     ? last : g_string_chunk_insert (batch->sql, sql),
                   owned };
  g_array_append_val (batch->entries, e);
}

gboolean
dal_batch_add (DalBatch *batch, const char *sql, GVariant *params, GError **error)
{
  g_return_val_if_fail (batch != NULL, FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  DalParamsOwned *owned = _dal_params_new (params, error);
  if (owned == NULL)
    return FALSE;
  _dal_batch_add_owned (batch, sql, owned);
  return TRUE;
}

#define ARENA_BLOCK 8192

/* Zeroed room for one statement's text parameters, from the batch's
 * blocks (freed with the batch). */
static gpointer
arena_alloc0 (gsize size, gpointer data)
{
  DalBatch *batch = data;
  size = (size + 7) & ~(gsize) 7;
  if (size > batch->arena_left)
    {
      gsize block = MAX (size, ARENA_BLOCK);
      if (batch->arena == NULL)
        batch->arena = g_ptr_array_new_with_free_func (g_free);
      batch->arena_at = g_malloc0 (block);
      batch->arena_left = block;
      g_ptr_array_add (batch->arena, batch->arena_at);
    }
  gpointer p = batch->arena_at;
  batch->arena_at += size;
  batch->arena_left -= size;
  return p;
}

void
dal_batch_add_texts (DalBatch *batch, const char *sql, guint n_params,
                     const char * const *values)
{
  g_return_if_fail (batch != NULL);
  g_return_if_fail (sql != NULL);
  g_return_if_fail (n_params == 0 || values != NULL);

  _dal_batch_add_owned (batch, sql,
                        _dal_params_new_texts_with (n_params, values, arena_alloc0, batch));
}

guint
dal_batch_get_size (const DalBatch *batch)
{
  g_return_val_if_fail (batch != NULL, 0);
  return batch->entries->len;
}

DalBatchItem *
_dal_batch_items_new (DalBatch *batch, guint *n_items)
{
  guint n = batch->entries->len;
  DalBatchItem *items = g_new (DalBatchItem, n);
  for (guint i = 0; i < n; i++)
    {
      BatchEntry *e = &g_array_index (batch->entries, BatchEntry, i);
      items[i].sql = e->sql;
      items[i].params = *_dal_params_get (e->params);
    }
  *n_items = n;
  return items;
}

/* -- results -- */

DalBatchResult *
dal_batch_result_new (guint n_items)
{
  gsize head = (sizeof (DalBatchResult) + 15) & ~(gsize) 15;
  gsize pointers = n_items * sizeof (gpointer);
  char *mem = g_malloc0 (head + 2 * pointers + _dal_result_block_bytes (n_items));
  DalBatchResult *br = (DalBatchResult *) mem;
  br->ref_count = 1;
  br->n = n_items;
  br->results = (DalResult **) (mem + head);
  br->errors = (GError **) (mem + head + pointers);
  br->block = (DalResult *) (mem + head + 2 * pointers);
  return br;
}

/* Drops what statement @index had.  (A result in the block is the
 * batch result's own: while a plugin fills it or it is being freed,
 * nobody else holds it.) */
static void
batch_result_clear (DalBatchResult *br, guint index)
{
  DalResult *r = br->results[index];
  if (r != NULL && r == _dal_result_block_at (br->block, index))
    _dal_result_block_clear (r);
  else if (r != NULL)
    dal_result_unref (r);
  br->results[index] = NULL;
  g_clear_error (&br->errors[index]);
}

void
dal_batch_result_take (DalBatchResult *br, guint index, DalResult *result,
                       GError *error)
{
  g_return_if_fail (br != NULL);
  g_return_if_fail (index < br->n);
  g_return_if_fail ((result == NULL) != (error == NULL));

  batch_result_clear (br, index);
  br->results[index] = result;
  br->errors[index] = error;
}

void
dal_batch_result_take_impl (DalBatchResult *br, guint index,
                            const DalResultFuncs *funcs, gpointer impl)
{
  g_return_if_fail (br != NULL);
  g_return_if_fail (index < br->n);
  g_return_if_fail (funcs != NULL);

  batch_result_clear (br, index);
  DalResult *r = _dal_result_block_at (br->block, index);
  _dal_result_init (r, funcs, impl, br);
  br->results[index] = r;
}

DalBatchResult *
dal_batch_result_ref (DalBatchResult *br)
{
  g_return_val_if_fail (br != NULL, NULL);
  g_atomic_int_inc (&br->ref_count);
  return br;
}

void
dal_batch_result_unref (DalBatchResult *br)
{
  if (br == NULL || !g_atomic_int_dec_and_test (&br->ref_count))
    return;
  /* (A block result that results[] no longer names was cleared when it
   * was replaced.) */
  for (guint i = 0; i < br->n; i++)
    batch_result_clear (br, i);
  g_free (br);
}

guint
dal_batch_result_get_size (const DalBatchResult *br)
{
  g_return_val_if_fail (br != NULL, 0);
  return br->n;
}

DalResult *
dal_batch_result_get (const DalBatchResult *br, guint index, GError **error)
{
  g_return_val_if_fail (br != NULL, NULL);
  g_return_val_if_fail (index < br->n, NULL);

  if (br->results[index] != NULL)
    return br->results[index];
  if (br->errors[index] != NULL)
    g_propagate_error (error, g_error_copy (br->errors[index]));
  else
    g_set_error_literal (error, DAL_ERROR, DAL_ERROR_FAILED,
                         "the plugin gave no result for the statement");
  return NULL;
}

/* The first failing statement's error, its message prefixed with
 * "@what N of M: ". */
gboolean
_dal_batch_result_check_as (const DalBatchResult *br, const char *what,
                            GError **error)
{
  for (guint i = 0; i < br->n; i++)
    {
      if (br->results[i] != NULL)
        continue;
      GError *e = NULL;
      dal_batch_result_get (br, i, &e);
      g_prefix_error (&e, "%s %u of %u: ", what, i + 1, br->n);
      g_propagate_error (error, e);
      return FALSE;
    }
  return TRUE;
}

gboolean
dal_batch_result_check (const DalBatchResult *br, GError **error)
{
  g_return_val_if_fail (br != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return _dal_batch_result_check_as (br, "statement", error);
}

gint64
dal_batch_result_get_affected_rows (const DalBatchResult *br)
{
  g_return_val_if_fail (br != NULL, 0);
  gint64 sum = 0;
  for (guint i = 0; i < br->n; i++)
    if (br->results[i] != NULL)
      sum += MAX (dal_result_get_affected_rows (br->results[i]), 0);
  return sum;
}

void
_dal_batch_result_redact (DalBatchResult *br, const char *secret)
{
  for (guint i = 0; i < br->n; i++)
    if (br->errors[i] != NULL)
      dal_error_redact (br->errors[i], secret);
}

/* -- executemany's batches (dal-connection-batch.c, dal-pool-batch.c) -- */

/* One batch of @sql per row of @rows (an array of tuples; a floating
 * reference consumed). */
DalBatch *
_dal_batch_new_rows (const char *sql, GVariant *rows, GError **error)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (rows);
  const GVariantType *type = g_variant_get_type (rows);
  if (!g_variant_type_is_array (type)
      || !g_variant_type_is_tuple (g_variant_type_element (type)))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_INVALID_PARAMETER,
        "Pass an array of tuples, one tuple of parameters per row, e.g. "
        "g_variant_new_parsed (\"[(1, 'a'), (2, 'b')]\")",
        "the rows have GVariant type \"%s\", not an array of tuples",
        g_variant_get_type_string (rows)));
      return NULL;
    }
  gsize n = g_variant_n_children (rows);
  if (n == 0)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_INVALID_PARAMETER, "Pass at least one row",
        "there are no rows to run the statement for"));
      return NULL;
    }
  g_autoptr (DalBatch) batch = dal_batch_new ();
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) row = g_variant_get_child_value (rows, i);
      DalParamsOwned *params = _dal_params_new (row, error);
      if (params == NULL)
        {
          g_prefix_error (error, "row %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT ": ",
                          i + 1, n);
          return NULL;
        }
      _dal_batch_add_owned (batch, sql, params);
    }
  return g_steal_pointer (&batch);
}

DalBatch *
_dal_batch_new_text_rows (const char *sql, guint n_rows, guint n_params,
                          const char * const *values, GError **error)
{
  if (n_rows == 0)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_INVALID_PARAMETER, "Pass at least one row",
        "there are no rows to run the statement for"));
      return NULL;
    }
  DalBatch *batch = dal_batch_new ();
  for (guint i = 0; i < n_rows; i++)
    dal_batch_add_texts (batch, sql, n_params,
                         values != NULL ? values + (gsize) i * n_params : NULL);
  return batch;
}

/* The rows' sum, or -1 and the first failing row's error. */
gint64
_dal_batch_result_total (DalBatchResult *br, GError **error)
{
  gint64 total = -1;
  if (br != NULL && _dal_batch_result_check_as (br, "row", error))
    total = dal_batch_result_get_affected_rows (br);
  g_clear_pointer (&br, dal_batch_result_unref);
  return total;
}

DalSessionEffect
_dal_batch_session_effect (DalBatch *batch)
{
  DalSessionEffect effect = DAL_SESSION_CLEAN;
  const char *prev = NULL;
  for (guint i = 0; i < batch->entries->len; i++)
    {
      BatchEntry *e = &g_array_index (batch->entries, BatchEntry, i);
      if (e->sql != prev)   /* (a text repeated is one string in the chunk) */
        effect = MAX (effect, _dal_sql_session_effect (e->sql));
      prev = e->sql;
    }
  return effect;
}
