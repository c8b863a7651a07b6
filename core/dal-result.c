/* dal-result.c: DalResult, a reference-counted view of a plugin's result.
 * Values stay where the plugin put them (a PGresult, say); the getters
 * convert text on demand and allocate nothing per row. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dal-private.h"

struct _DalResult
{
  gint ref_count;
  const DalResultFuncs *funcs;
  gpointer impl;
  guint n_rows;
  guint n_columns;
  DalBatchResult *owner;      /* held in a batch's block: its references
                               * are the batch result's (dal-batch.c) */
};

G_DEFINE_BOXED_TYPE (DalResult, dal_result, dal_result_ref, dal_result_unref)

DalResult *
dal_result_new (const DalResultFuncs *funcs, gpointer impl)
{
  g_return_val_if_fail (funcs != NULL, NULL);

  DalResult *result = g_new (DalResult, 1);
  _dal_result_init (result, funcs, impl, NULL);
  return result;
}

void
_dal_result_init (DalResult *result, const DalResultFuncs *funcs, gpointer impl,
                  DalBatchResult *owner)
{
  result->ref_count = 1;
  result->funcs = funcs;
  result->impl = impl;
  result->n_rows = funcs->n_rows (impl);
  result->n_columns = funcs->n_columns (impl);
  result->owner = owner;
}

gsize
_dal_result_block_bytes (guint n)
{
  return n * sizeof (DalResult);
}

DalResult *
_dal_result_block_at (DalResult *block, guint index)
{
  return &block[index];
}

void
_dal_result_block_clear (DalResult *result)
{
  if (result->funcs != NULL)
    result->funcs->free (result->impl);
  result->funcs = NULL;
  result->impl = NULL;
}


DalResult *
dal_result_ref (DalResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  if (G_UNLIKELY (result->owner != NULL))
    dal_batch_result_ref (result->owner);
  else
    g_atomic_int_inc (&result->ref_count);
  return result;
}

void
dal_result_unref (DalResult *result)
{
  g_return_if_fail (result != NULL);
  if (G_UNLIKELY (result->owner != NULL))
    dal_batch_result_unref (result->owner);
  else if (g_atomic_int_dec_and_test (&result->ref_count))
    {
      result->funcs->free (result->impl);
      g_free (result);
    }
}

guint
dal_result_get_n_rows (const DalResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_rows;
}

guint
dal_result_get_n_columns (const DalResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_columns;
}

const char *
dal_result_get_column_name (const DalResult *result, guint column)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (column < result->n_columns, NULL);
  return result->funcs->column_name (result->impl, column);
}

int
dal_result_get_column_index (const DalResult *result, const char *name)
{
  g_return_val_if_fail (result != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);
  for (guint c = 0; c < result->n_columns; c++)
    if (g_strcmp0 (result->funcs->column_name (result->impl, c), name) == 0)
      return (int) c;
  return -1;
}

DalColumnType
dal_result_get_column_type (const DalResult *result, guint column)
{
  g_return_val_if_fail (result != NULL, DAL_COLUMN_OTHER);
  g_return_val_if_fail (column < result->n_columns, DAL_COLUMN_OTHER);
  return result->funcs->column_type (result->impl, column);
}

const char *
dal_result_get_column_type_name (const DalResult *result, guint column)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (column < result->n_columns, NULL);
  return result->funcs->column_type_name (result->impl, column);
}

gint64
dal_result_get_affected_rows (const DalResult *result)
{
  g_return_val_if_fail (result != NULL, -1);
  return result->funcs->affected_rows (result->impl);
}

const char *
dal_result_get_command_tag (const DalResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->funcs->command_tag (result->impl);
}

#define CHECK_CELL(result, row, column, val)                  \
  G_STMT_START {                                              \
    g_return_val_if_fail ((result) != NULL, (val));           \
    g_return_val_if_fail ((row) < (result)->n_rows, (val));   \
    g_return_val_if_fail ((column) < (result)->n_columns, (val)); \
  } G_STMT_END

gboolean
dal_result_is_null (const DalResult *result, guint row, guint column)
{
  CHECK_CELL (result, row, column, TRUE);
  return result->funcs->get_value (result->impl, row, column, NULL) == NULL;
}

const char *
dal_result_get_string (const DalResult *result, guint row, guint column,
                       gsize *length)
{
  CHECK_CELL (result, row, column, NULL);
  gsize len = 0;
  const char *v = result->funcs->get_value (result->impl, row, column, &len);
  if (length != NULL)
    *length = v != NULL ? len : 0;
  return v;
}

static void
set_mismatch (const DalResult *result, guint row, guint column,
              const char *value, const char *wanted, GError **error)
{
  const char *name = result->funcs->column_name (result->impl, column);
  g_propagate_error (error, dal_error_new_hint (
    DAL_ERROR_TYPE_MISMATCH,
    "Read it with dal_result_get_string(), or cast it in SQL",
    "column \"%s\" (index %u) row %u holds \"%.40s\" (%s), which is not %s",
    name != NULL ? name : "?", column, row, value,
    result->funcs->column_type_name (result->impl, column), wanted));
}

/* An integer as the server writes one: an optional sign and at most 18
 * digits (which cannot overflow).  Read here because this runs per cell
 * and g_ascii_strtoll costs ~200 instructions a value; anything else
 * (spaces, longer numbers, not a number) is left to g_ascii_strtoll. */
static gboolean
parse_int64_fast (const char *v, gint64 *out)
{
  const char *p = v;
  gboolean negative = *p == '-';
  if (*p == '-' || *p == '+')
    p++;
  const char *digits = p;
  gint64 n = 0;
  while (*p >= '0' && *p <= '9' && p - digits < 18)
    n = n * 10 + (*p++ - '0');
  if (p == digits || *p != '\0')
    return FALSE;
  *out = negative ? -n : n;
  return TRUE;
}

gint64
dal_result_get_int64 (const DalResult *result, guint row, guint column,
                      GError **error)
{
  CHECK_CELL (result, row, column, 0);
  const char *v = result->funcs->get_value (result->impl, row, column, NULL);
  if (v == NULL)
    return 0;
  gint64 n;
  if (parse_int64_fast (v, &n))
    return n;
  char *end = NULL;
  errno = 0;
  n = g_ascii_strtoll (v, &end, 10);
  if (errno != 0 || end == v || *end != '\0')
    {
      set_mismatch (result, row, column, v, "a 64-bit integer", error);
      return 0;
    }
  return n;
}

gint
dal_result_get_int (const DalResult *result, guint row, guint column,
                    GError **error)
{
  CHECK_CELL (result, row, column, 0);
  GError *local = NULL;
  gint64 n = dal_result_get_int64 (result, row, column, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return 0;
    }
  if (n < G_MININT || n > G_MAXINT)
    {
      const char *v = result->funcs->get_value (result->impl, row, column, NULL);
      set_mismatch (result, row, column, v, "a 32-bit integer", error);
      return 0;
    }
  return (gint) n;
}

gdouble
dal_result_get_double (const DalResult *result, guint row, guint column,
                       GError **error)
{
  CHECK_CELL (result, row, column, 0.0);
  const char *v = result->funcs->get_value (result->impl, row, column, NULL);
  if (v == NULL)
    return 0.0;
  /* PostgreSQL spells the specials NaN, Infinity, -Infinity, as strtod
   * reads them. */
  char *end = NULL;
  errno = 0;
  gdouble d = g_ascii_strtod (v, &end);
  if (end == v || *end != '\0' || (errno == ERANGE && d != 0.0))
    {
      set_mismatch (result, row, column, v, "a number", error);
      return 0.0;
    }
  return d;
}

gboolean
dal_result_get_boolean (const DalResult *result, guint row, guint column,
                        GError **error)
{
  CHECK_CELL (result, row, column, FALSE);
  const char *v = result->funcs->get_value (result->impl, row, column, NULL);
  if (v == NULL)
    return FALSE;
  if (strcmp (v, "t") == 0 || g_ascii_strcasecmp (v, "true") == 0
      || strcmp (v, "1") == 0)
    return TRUE;
  if (strcmp (v, "f") == 0 || g_ascii_strcasecmp (v, "false") == 0
      || strcmp (v, "0") == 0)
    return FALSE;
  set_mismatch (result, row, column, v, "a boolean", error);
  return FALSE;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

GBytes *
dal_result_get_bytes (const DalResult *result, guint row, guint column,
                      GError **error)
{
  CHECK_CELL (result, row, column, NULL);
  gsize len = 0;
  const char *v = result->funcs->get_value (result->impl, row, column, &len);
  if (v == NULL)
    return NULL;
  if (result->funcs->column_type (result->impl, column) != DAL_COLUMN_BYTES)
    return g_bytes_new (v, len);

  /* bytea's text form is "\x" followed by two hex digits per byte. */
  if (len < 2 || v[0] != '\\' || v[1] != 'x' || len % 2 != 0)
    {
      set_mismatch (result, row, column, v, "bytea in hex format", error);
      return NULL;
    }
  gsize n = (len - 2) / 2;
  guint8 *out = g_malloc (n > 0 ? n : 1);
  for (gsize i = 0; i < n; i++)
    {
      int hi = hex_value (v[2 + 2 * i]);
      int lo = hex_value (v[3 + 2 * i]);
      if (hi < 0 || lo < 0)
        {
          g_free (out);
          set_mismatch (result, row, column, v, "bytea in hex format", error);
          return NULL;
        }
      out[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (out, n);
}
