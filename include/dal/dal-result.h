/* dal-result.h: the rows and columns a statement returned (see the doc
 * comment of DalResult below). */
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
 * @DAL_COLUMN_OTHER: anything else: read it as a string
 * @DAL_COLUMN_BOOLEAN: a boolean (PostgreSQL's bool)
 * @DAL_COLUMN_INT16: a 16-bit integer (int2)
 * @DAL_COLUMN_INT32: a 32-bit integer (int4)
 * @DAL_COLUMN_INT64: a 64-bit integer (int8, oid)
 * @DAL_COLUMN_FLOAT32: a single-precision float (float4)
 * @DAL_COLUMN_FLOAT64: a double-precision float (float8)
 * @DAL_COLUMN_NUMERIC: exact decimal: read as string or double
 * @DAL_COLUMN_TEXT: text (text, varchar, char, bpchar, name)
 * @DAL_COLUMN_BYTES: binary data (bytea): read with dal_result_get_bytes()
 * @DAL_COLUMN_DATE: a date
 * @DAL_COLUMN_TIME: a time of day
 * @DAL_COLUMN_TIMESTAMP: a timestamp without time zone
 * @DAL_COLUMN_TIMESTAMPTZ: a timestamp with time zone
 * @DAL_COLUMN_INTERVAL: an interval
 * @DAL_COLUMN_UUID: a UUID
 * @DAL_COLUMN_JSON: json or jsonb
 *
 * The type of a result column, as far as libdal knows it
 * (dal_result_get_column_type()).  Every value can be read as text with
 * dal_result_get_string() whatever its type; the type says which typed
 * getter makes sense.  The list only grows at the end.
 *
 * Since: 0.1
 */
typedef enum
{
  DAL_COLUMN_OTHER = 0,
  DAL_COLUMN_BOOLEAN,
  DAL_COLUMN_INT16,
  DAL_COLUMN_INT32,
  DAL_COLUMN_INT64,
  DAL_COLUMN_FLOAT32,
  DAL_COLUMN_FLOAT64,
  DAL_COLUMN_NUMERIC,
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

/**
 * DalResult:
 *
 * The rows and columns a statement returned, with its command tag and
 * affected-row count.
 *
 * A `DalResult` is immutable and reference counted (dal_result_ref(),
 * dal_result_unref(), `g_autoptr (DalResult)`); it may be read from any
 * thread, by several at once, and outlives the connection that gave it.
 * Values arrive as text (the server's text format) and are converted on
 * demand by the typed getters; nothing is allocated per row.  Rows and
 * columns are counted from 0.
 *
 * SQL NULL: dal_result_get_string() returns %NULL; the numeric getters
 * return 0 (%FALSE) without an error, as JDBC and libzdb do: call
 * dal_result_is_null() where NULL and 0 must be told apart.  A value that
 * does not convert (asking for an integer from 'abc') is a
 * %DAL_ERROR_TYPE_MISMATCH error naming the column and row.
 *
 * A row or column index out of range, or a %NULL @result, is a
 * programming error: a critical warning, and the getter returns its
 * failure value (%NULL, 0, -1 or %FALSE) without setting an error.
 *
 * Since: 0.1
 */
typedef struct _DalResult DalResult;

/**
 * DAL_TYPE_RESULT:
 *
 * The #GType of #DalResult, a boxed type.
 *
 * Since: 0.1
 */
#define DAL_TYPE_RESULT (dal_result_get_type ())

/**
 * dal_result_get_type:
 *
 * Gets the #GType of #DalResult.
 *
 * Returns: the #GType of #DalResult, a boxed type copied by reference.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GType dal_result_get_type (void) G_GNUC_CONST;

/**
 * dal_result_ref:
 * @result: a #DalResult
 *
 * Takes a reference on @result.  Thread-safe.
 *
 * Returns: (transfer full): @result
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_result_ref (DalResult *result);

/**
 * dal_result_unref:
 * @result: (transfer full): a #DalResult
 *
 * Drops a reference on @result; the last one frees it, and every string
 * a getter returned from it.  Thread-safe.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void dal_result_unref (DalResult *result);

/**
 * dal_result_get_n_rows:
 * @result: a #DalResult
 *
 * Counts the rows.
 *
 * Thread-safe.
 *
 * Returns: the number of rows (0 for a statement that returns none, such
 *   as an INSERT without RETURNING).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_result_get_n_rows (const DalResult *result);

/**
 * dal_result_get_n_columns:
 * @result: a #DalResult
 *
 * Counts the columns.
 *
 * Thread-safe.
 *
 * Returns: the number of columns (0 for a statement that returns no rows).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
guint dal_result_get_n_columns (const DalResult *result);

/**
 * dal_result_get_column_name:
 * @result: a #DalResult
 * @column: a column index, less than dal_result_get_n_columns()
 *
 * Gets a column's name.
 *
 * Thread-safe.
 *
 * Returns: (transfer none): the column's name as the server gave it
 *   (its alias when the statement set one), valid as long as @result is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_column_name (const DalResult *result, guint column);

/**
 * dal_result_get_column_index:
 * @result: a #DalResult
 * @name: a column name, compared exactly (case-sensitive)
 *
 * Finds a column by name.
 *
 * Thread-safe.
 *
 * Returns: the index of the first column called @name, or -1 when there
 *   is none.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
int dal_result_get_column_index (const DalResult *result, const char *name);

/**
 * dal_result_get_column_type:
 * @result: a #DalResult
 * @column: a column index, less than dal_result_get_n_columns()
 *
 * Gets a column's type.
 *
 * Thread-safe.
 *
 * Returns: the column's type, %DAL_COLUMN_OTHER for one libdal does not
 *   know.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
DalColumnType dal_result_get_column_type (const DalResult *result, guint column);

/**
 * dal_result_get_column_type_name:
 * @result: a #DalResult
 * @column: a column index, less than dal_result_get_n_columns()
 *
 * Gets the name of a column's type, as the database calls it.
 *
 * Thread-safe.
 *
 * Returns: (transfer none): the type's name as the plugin knows it, e.g.
 *   "int4", "text" ("other" on the PostgreSQL plugins for a type libdal
 *   does not know), valid as long as @result is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_column_type_name (const DalResult *result, guint column);

/**
 * dal_result_get_affected_rows:
 * @result: a #DalResult
 *
 * Gets how many rows the statement affected.
 *
 * Thread-safe.
 *
 * Returns: the rows inserted, updated, deleted, selected, moved, fetched or
 *   copied by the statement, or -1 when the statement reports none (DDL).
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_result_get_affected_rows (const DalResult *result);

/**
 * dal_result_get_command_tag:
 * @result: a #DalResult
 *
 * Gets the command tag the server sent when the statement completed.
 *
 * Thread-safe.
 *
 * Returns: (transfer none) (nullable): the command tag, e.g. "INSERT 0 3",
 *   or %NULL when the server sent none; valid as long as @result is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_command_tag (const DalResult *result);

/**
 * dal_result_is_null:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 *
 * Tells SQL NULL from a value, where the typed getters do not.
 *
 * Thread-safe.
 *
 * Returns: %TRUE when the value is SQL NULL.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_result_is_null (const DalResult *result, guint row, guint column);

/**
 * dal_result_get_string:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 * @length: (out) (optional): the value's length in bytes (0 for SQL NULL)
 *
 * Reads a value as the text the server sent, whatever its type (bytea in
 * its hex form, `\x…`).  Cannot fail.
 *
 * Thread-safe.
 *
 * Returns: (transfer none) (nullable): the value as text, NUL-terminated,
 *   %NULL for SQL NULL.  Valid as long as @result is.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *dal_result_get_string (const DalResult *result, guint row,
                                   guint column, gsize *length);

/**
 * dal_result_get_int64:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 * @error: return location for a %DAL_ERROR_TYPE_MISMATCH error
 *
 * Reads a value as a 64-bit integer (decimal text, an optional sign).
 *
 * Thread-safe.
 *
 * Returns: the value; 0 for SQL NULL (without an error), and 0 with
 *   @error set when the value is not an integer or does not fit.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint64 dal_result_get_int64 (const DalResult *result, guint row, guint column,
                             GError **error);

/**
 * dal_result_get_int:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 * @error: return location for a %DAL_ERROR_TYPE_MISMATCH error
 *
 * Reads a value as an integer, as dal_result_get_int64() does, and checks
 * that it fits in a #gint.
 *
 * Thread-safe.
 *
 * Returns: the value; 0 for SQL NULL (without an error), and 0 with
 *   @error set when the value is not an integer or does not fit in 32
 *   bits.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gint dal_result_get_int (const DalResult *result, guint row, guint column,
                         GError **error);

/**
 * dal_result_get_double:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 * @error: return location for a %DAL_ERROR_TYPE_MISMATCH error
 *
 * Reads a value as a double: any number the server writes, numeric
 * included (rounded to the nearest double), and "NaN", "Infinity",
 * "-Infinity".
 *
 * Thread-safe.
 *
 * Returns: the value; 0.0 for SQL NULL (without an error), and 0.0 with
 *   @error set when the value is not a number or is out of range.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gdouble dal_result_get_double (const DalResult *result, guint row,
                               guint column, GError **error);

/**
 * dal_result_get_boolean:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 * @error: return location for a %DAL_ERROR_TYPE_MISMATCH error
 *
 * Reads a value as a boolean: "t", "true" (any case) and "1" are %TRUE;
 * "f", "false" (any case) and "0" are %FALSE.
 *
 * Thread-safe.
 *
 * Returns: the value; %FALSE for SQL NULL (without an error), and %FALSE
 *   with @error set for any other text.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_result_get_boolean (const DalResult *result, guint row,
                                 guint column, GError **error);

/**
 * dal_result_get_bytes:
 * @result: a #DalResult
 * @row: a row index, less than dal_result_get_n_rows()
 * @column: a column index, less than dal_result_get_n_columns()
 * @error: return location for a %DAL_ERROR_TYPE_MISMATCH error
 *
 * Reads a value as bytes.  A %DAL_COLUMN_BYTES (bytea) value is decoded
 * from its hex form; other columns give their text, without its NUL.
 *
 * Thread-safe.
 *
 * Returns: (transfer full) (nullable): the bytes; %NULL for SQL NULL
 *   (without an error), and %NULL with @error set for bytea that is not
 *   in hex form.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
GBytes *dal_result_get_bytes (const DalResult *result, guint row, guint column,
                              GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DalResult, dal_result_unref)

G_END_DECLS

#endif /* DAL_RESULT_H */
