/* dal-result.h: the rows and columns a statement returned.
 *
 * A DalResult is immutable and reference counted.  Values arrive as text
 * (the server's text format) and are converted on demand by the typed
 * getters; nothing is allocated per row.
 *
 * SQL NULL: dal_result_get_string() returns %NULL; the numeric getters
 * return 0 (FALSE) without an error, as JDBC and libzdb do: call
 * dal_result_is_null() where NULL and 0 must be told apart.  A value that
 * does not convert (asking for an integer from 'abc') is a
 * DAL_ERROR_TYPE_MISMATCH error naming the column and row.
 */
#ifndef DAL_RESULT_H
#define DAL_RESULT_H

#if !defined(DAL_H_INSIDE) && !defined(DAL_COMPILATION)
#error "include <dal/dal.h>, not this header"
#endif

#include <glib-object.h>
#include <dal/dal-version.h>

G_BEGIN_DECLS

/**
 * DalColumnType:
 *
 * The type of a result column, as far as libdal knows it.  The list only
 * grows at the end.
 */
typedef enum
{
  DAL_COLUMN_OTHER = 0,   /* anything else: read it as a string */
  DAL_COLUMN_BOOLEAN,
  DAL_COLUMN_INT16,
  DAL_COLUMN_INT32,
  DAL_COLUMN_INT64,
  DAL_COLUMN_FLOAT32,
  DAL_COLUMN_FLOAT64,
  DAL_COLUMN_NUMERIC,     /* exact decimal: read as string or double */
  DAL_COLUMN_TEXT,
  DAL_COLUMN_BYTES,
  DAL_COLUMN_DATE,
  DAL_COLUMN_TIME,
  DAL_COLUMN_TIMESTAMP,
  DAL_COLUMN_TIMESTAMPTZ,
  DAL_COLUMN_INTERVAL,
  DAL_COLUMN_UUID,
  DAL_COLUMN_JSON,
} DalColumnType;

typedef struct _DalResult DalResult;

#define DAL_TYPE_RESULT (dal_result_get_type ())
DAL_AVAILABLE_IN_ALL
GType dal_result_get_type (void) G_GNUC_CONST;

DAL_AVAILABLE_IN_ALL
DalResult *dal_result_ref (DalResult *result);
DAL_AVAILABLE_IN_ALL
void dal_result_unref (DalResult *result);

DAL_AVAILABLE_IN_ALL
guint dal_result_get_n_rows (const DalResult *result);
DAL_AVAILABLE_IN_ALL
guint dal_result_get_n_columns (const DalResult *result);
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_column_name (const DalResult *result, guint column);
/* Returns: the index of the first column called @name, or -1. */
DAL_AVAILABLE_IN_ALL
int dal_result_get_column_index (const DalResult *result, const char *name);
DAL_AVAILABLE_IN_ALL
DalColumnType dal_result_get_column_type (const DalResult *result, guint column);
/* Returns: (transfer none): the type's name, e.g. "int4", "text". */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_column_type_name (const DalResult *result, guint column);

/**
 * dal_result_get_affected_rows:
 *
 * Returns: the rows inserted, updated, deleted, selected, moved, fetched or
 *   copied by the statement, or -1 when the statement reports none (DDL).
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_result_get_affected_rows (const DalResult *result);
/* Returns: (transfer none) (nullable): the command tag, e.g. "INSERT 0 3". */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_command_tag (const DalResult *result);

DAL_AVAILABLE_IN_ALL
gboolean dal_result_is_null (const DalResult *result, guint row, guint column);

/**
 * dal_result_get_string:
 * @length: (out) (optional): the value's length in bytes
 *
 * Returns: (transfer none) (nullable): the value as text, %NULL for SQL
 *   NULL.  Valid as long as @result is.
 */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_string (const DalResult *result, guint row,
                                   guint column, gsize *length);
DAL_AVAILABLE_IN_ALL
gint64 dal_result_get_int64 (const DalResult *result, guint row, guint column,
                             GError **error);
DAL_AVAILABLE_IN_ALL
gint dal_result_get_int (const DalResult *result, guint row, guint column,
                         GError **error);
DAL_AVAILABLE_IN_ALL
gdouble dal_result_get_double (const DalResult *result, guint row,
                               guint column, GError **error);
DAL_AVAILABLE_IN_ALL
gboolean dal_result_get_boolean (const DalResult *result, guint row,
                                 guint column, GError **error);
/* bytea is decoded from its hex form; other columns give their text.
 * Returns: (transfer full) (nullable): %NULL for SQL NULL or on error. */
DAL_AVAILABLE_IN_ALL
GBytes *dal_result_get_bytes (const DalResult *result, guint row, guint column,
                              GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalResult, dal_result_unref)

G_END_DECLS

#endif /* DAL_RESULT_H */
