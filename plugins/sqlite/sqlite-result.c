/* sqlite-result.c: a statement's rows, as the core reads them.
 *
 * The statement is stepped to its end and every value is kept as text
 * (DalResultFuncs: values are text), in one string chunk:
 *
 *   INTEGER  decimal
 *   REAL     the shortest decimal that reads back as the same double
 *   TEXT     as stored
 *   BLOB     "\x" and two hex digits per byte, as PostgreSQL's bytea,
 *            which dal_result_get_bytes() decodes
 *
 * Column types.  SQLite types values, not columns, so the rule is:
 *   1. a column with a declared type (a table's column) maps by that
 *      name, the way SQLite's own affinity rules read it: BOOL… is
 *      BOOLEAN; …INT… INT64; …CHAR…, …CLOB…, …TEXT… TEXT; …BLOB… BYTES;
 *      …REAL…, …FLOA…, …DOUB… FLOAT64; DATETIME and TIMESTAMP TIMESTAMP,
 *      DATE DATE, TIME TIME, JSON JSON, UUID UUID; NUMERIC and DECIMAL
 *      NUMERIC;
 *   2. otherwise (an expression, a column declared without a type), the
 *      storage class its non-NULL values share: INTEGER INT64, REAL
 *      FLOAT64 (also mixed with INTEGER), TEXT TEXT, BLOB BYTES; no
 *      values, or values of several classes, OTHER.
 * column_type_name is the declared type in lower case, else the storage
 * class ("integer", "real", "text", "blob", "null").
 */
#include "config.h"

#include <string.h>

#include "sqlite-private.h"

typedef struct
{
  const char *value;   /* NULL: SQL NULL */
  gsize length;
} Cell;

typedef struct
{
  guint n_columns;
  guint n_rows;
  char **names;
  char **type_names;
  DalColumnType *types;
  GArray *cells;       /* Cell, row by row */
  GStringChunk *text;
  gint64 affected;
  char *tag;
} SqliteResult;

static void
r_free (gpointer impl)
{
  SqliteResult *r = impl;
  g_strfreev (r->names);
  g_strfreev (r->type_names);
  g_free (r->types);
  g_array_unref (r->cells);
  g_string_chunk_free (r->text);
  g_free (r->tag);
  g_free (r);
}

static guint
r_n_rows (gpointer impl)
{
  return ((SqliteResult *) impl)->n_rows;
}

static guint
r_n_columns (gpointer impl)
{
  return ((SqliteResult *) impl)->n_columns;
}

static const char *
r_column_name (gpointer impl, guint column)
{
  return ((SqliteResult *) impl)->names[column];
}

static DalColumnType
r_column_type (gpointer impl, guint column)
{
  return ((SqliteResult *) impl)->types[column];
}

static const char *
r_column_type_name (gpointer impl, guint column)
{
  return ((SqliteResult *) impl)->type_names[column];
}

static const char *
r_get_value (gpointer impl, guint row, guint column, gsize *length)
{
  SqliteResult *r = impl;
  const Cell *c = &g_array_index (r->cells, Cell, (gsize) row * r->n_columns + column);
  if (length != NULL)
    *length = c->length;
  return c->value;
}

static gint64
r_affected_rows (gpointer impl)
{
  return ((SqliteResult *) impl)->affected;
}

static const char *
r_command_tag (gpointer impl)
{
  return ((SqliteResult *) impl)->tag;
}

static const DalResultFuncs sqlite_result_funcs = {
  .free = r_free,
  .n_rows = r_n_rows,
  .n_columns = r_n_columns,
  .column_name = r_column_name,
  .column_type = r_column_type,
  .column_type_name = r_column_type_name,
  .get_value = r_get_value,
  .affected_rows = r_affected_rows,
  .command_tag = r_command_tag,
};

/* Rule 1 above; OTHER when the declared type says nothing. */
static DalColumnType
type_from_declared (const char *declared)
{
  g_autofree char *up = g_ascii_strup (declared, -1);
  static const struct { const char *word; gboolean exact; DalColumnType type; } map[] = {
    { "BOOL", FALSE, DAL_COLUMN_BOOLEAN },
    { "DATETIME", TRUE, DAL_COLUMN_TIMESTAMP },
    { "TIMESTAMP", TRUE, DAL_COLUMN_TIMESTAMP },
    { "DATE", TRUE, DAL_COLUMN_DATE },
    { "TIME", TRUE, DAL_COLUMN_TIME },
    { "JSON", TRUE, DAL_COLUMN_JSON },
    { "UUID", TRUE, DAL_COLUMN_UUID },
    { "INT", FALSE, DAL_COLUMN_INT64 },
    { "CHAR", FALSE, DAL_COLUMN_TEXT },
    { "CLOB", FALSE, DAL_COLUMN_TEXT },
    { "TEXT", FALSE, DAL_COLUMN_TEXT },
    { "BLOB", FALSE, DAL_COLUMN_BYTES },
    { "REAL", FALSE, DAL_COLUMN_FLOAT64 },
    { "FLOA", FALSE, DAL_COLUMN_FLOAT64 },
    { "DOUB", FALSE, DAL_COLUMN_FLOAT64 },
    { "NUMERIC", FALSE, DAL_COLUMN_NUMERIC },
    { "DECIMAL", FALSE, DAL_COLUMN_NUMERIC },
  };
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (map[i].exact ? strcmp (up, map[i].word) == 0 : strstr (up, map[i].word) != NULL)
      return map[i].type;
  return DAL_COLUMN_OTHER;
}

/* Rule 2 above: @classes has bit (1 << SQLITE_xxx) for each storage
 * class seen. */
static DalColumnType
type_from_classes (guint classes)
{
  classes &= ~(1u << SQLITE_NULL);
  if (classes == 1u << SQLITE_INTEGER)
    return DAL_COLUMN_INT64;
  if (classes == 1u << SQLITE_FLOAT
      || classes == ((1u << SQLITE_FLOAT) | (1u << SQLITE_INTEGER)))
    return DAL_COLUMN_FLOAT64;
  if (classes == 1u << SQLITE_TEXT)
    return DAL_COLUMN_TEXT;
  if (classes == 1u << SQLITE_BLOB)
    return DAL_COLUMN_BYTES;
  return DAL_COLUMN_OTHER;
}

static const char *
class_name (int type)
{
  switch (type)
    {
    case SQLITE_INTEGER: return "integer";
    case SQLITE_FLOAT: return "real";
    case SQLITE_TEXT: return "text";
    case SQLITE_BLOB: return "blob";
    default: return "null";
    }
}

/* The shortest of %.15g, %.16g, %.17g that reads back as @d. */
static void
format_double (char *buf, gsize size, double d)
{
  for (int digits = 15; digits <= 17; digits++)
    {
      g_ascii_formatd (buf, size, digits == 15 ? "%.15g" : digits == 16 ? "%.16g" : "%.17g", d);
      if (g_ascii_strtod (buf, NULL) == d)
        return;
    }
}

static Cell
keep_value (SqliteResult *r, sqlite3_stmt *stmt, int column)
{
  Cell c = { NULL, 0 };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_INTEGER:
      c.length = g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT,
                             (gint64) sqlite3_column_int64 (stmt, column));
      c.value = g_string_chunk_insert_len (r->text, buf, c.length);
      break;
    case SQLITE_FLOAT:
      format_double (buf, sizeof buf, sqlite3_column_double (stmt, column));
      c.length = strlen (buf);
      c.value = g_string_chunk_insert_len (r->text, buf, c.length);
      break;
    case SQLITE_TEXT:
      {
        const char *text = (const char *) sqlite3_column_text (stmt, column);
        c.length = sqlite3_column_bytes (stmt, column);
        c.value = g_string_chunk_insert_len (r->text, text, c.length);
        break;
      }
    case SQLITE_BLOB:
      {
        static const char hex[] = "0123456789abcdef";
        const guint8 *bytes = sqlite3_column_blob (stmt, column);
        gsize n = sqlite3_column_bytes (stmt, column);
        GString *s = g_string_sized_new (2 + 2 * n);
        g_string_append (s, "\\x");
        for (gsize i = 0; i < n; i++)
          {
            g_string_append_c (s, hex[bytes[i] >> 4]);
            g_string_append_c (s, hex[bytes[i] & 0xf]);
          }
        c.length = s->len;
        c.value = g_string_chunk_insert_len (r->text, s->str, s->len);
        g_string_free (s, TRUE);
        break;
      }
    default:
      break;
    }
  return c;
}

/* The statement's verb, upper case ("INSERT"), skipping blanks and
 * comments. */
static char *
first_word (const char *sql)
{
  const char *p = sql;
  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (p[0] == '-' && p[1] == '-')
        p += strcspn (p, "\n");
      else if (p[0] == '/' && p[1] == '*')
        {
          const char *end = strstr (p + 2, "*/");
          p = end != NULL ? end + 2 : p + strlen (p);
        }
      else
        break;
    }
  const char *start = p;
  while (g_ascii_isalpha (*p))
    p++;
  return g_ascii_strup (start, p - start);
}

/* The tag and row count, as PostgreSQL gives them: "INSERT 0 n",
 * "UPDATE n", "DELETE n", "SELECT n" for a statement that returns rows,
 * else the verb alone, with affected_rows -1. */
static void
set_tag (SqliteResult *r, sqlite3_stmt *stmt)
{
  g_autofree char *verb = first_word (sqlite3_sql (stmt));
  gint64 changes = sqlite3_changes64 (sqlite3_db_handle (stmt));
  gboolean insert = strcmp (verb, "INSERT") == 0 || strcmp (verb, "REPLACE") == 0;
  if (insert || strcmp (verb, "UPDATE") == 0 || strcmp (verb, "DELETE") == 0)
    {
      r->affected = changes;
      r->tag = insert ? g_strdup_printf ("INSERT 0 %" G_GINT64_FORMAT, changes)
                      : g_strdup_printf ("%s %" G_GINT64_FORMAT, verb, changes);
    }
  else if (r->n_columns > 0)
    {
      r->affected = r->n_rows;
      r->tag = g_strdup_printf ("SELECT %u", r->n_rows);
    }
  else
    {
      r->affected = -1;
      r->tag = *verb != '\0' ? g_steal_pointer (&verb) : NULL;
    }
}

/**
 * dal_sqlite_result_run:
 * @stmt: (nullable): a prepared statement with its parameters bound;
 *   %NULL for an empty statement (only blanks or comments)
 * @rc: (out): SQLite's result code when it fails
 *
 * Steps @stmt to its end, keeping every row.  An empty statement gives
 * an empty result (no columns, no command tag).  @stmt is left as it is (the
 * caller resets or finalizes it).
 *
 * Returns: (transfer full) (nullable): the result, or %NULL when a step
 *   failed (*@rc says how; the connection's error message has the rest).
 */
DalResult *
dal_sqlite_result_run (sqlite3_stmt *stmt, int *rc)
{
  SqliteResult *r = g_new0 (SqliteResult, 1);
  r->n_columns = stmt != NULL ? sqlite3_column_count (stmt) : 0;
  r->cells = g_array_new (FALSE, FALSE, sizeof (Cell));
  r->text = g_string_chunk_new (1024);
  guint *classes = g_new0 (guint, r->n_columns);

  int step = SQLITE_DONE;
  while (stmt != NULL && (step = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      for (guint c = 0; c < r->n_columns; c++)
        {
          classes[c] |= 1u << sqlite3_column_type (stmt, c);
          Cell cell = keep_value (r, stmt, c);
          g_array_append_val (r->cells, cell);
        }
      r->n_rows++;
    }
  if (step != SQLITE_DONE)
    {
      *rc = step;
      g_free (classes);
      r_free (r);
      return NULL;
    }

  r->names = g_new0 (char *, r->n_columns + 1);
  r->type_names = g_new0 (char *, r->n_columns + 1);
  r->types = g_new0 (DalColumnType, r->n_columns);
  for (guint c = 0; c < r->n_columns; c++)
    {
      const char *declared = sqlite3_column_decltype (stmt, c);
      r->names[c] = g_strdup (sqlite3_column_name (stmt, c));
      r->types[c] = declared != NULL ? type_from_declared (declared) : DAL_COLUMN_OTHER;
      if (declared != NULL && *declared != '\0')
        r->type_names[c] = g_ascii_strdown (declared, -1);
      else
        {
          /* the class of the last non-NULL value, else "null" */
          guint cls = classes[c] & ~(1u << SQLITE_NULL);
          int last = SQLITE_NULL;
          for (int t = SQLITE_INTEGER; t <= SQLITE_BLOB; t++)
            if (cls & (1u << t))
              last = t;
          r->type_names[c] = g_strdup (class_name (last));
        }
      if (r->types[c] == DAL_COLUMN_OTHER)
        r->types[c] = type_from_classes (classes[c]);
    }
  g_free (classes);
  if (stmt != NULL)
    set_tag (r, stmt);
  else
    r->affected = -1;
  return dal_result_new (&sqlite_result_funcs, r);
}
