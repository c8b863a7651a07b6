/* dal-pg-result.c: DalResult over a PGresult, without copying it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dal-pg.h"

/* Built-in type OIDs (pg_type.dat); stable across server versions. */
static const struct
{
  Oid oid;
  DalColumnType type;
  const char *name;
} known_types[] = {
  { 16, DAL_COLUMN_BOOLEAN, "bool" },
  { 17, DAL_COLUMN_BYTES, "bytea" },
  { 18, DAL_COLUMN_TEXT, "char" },
  { 19, DAL_COLUMN_TEXT, "name" },
  { 20, DAL_COLUMN_INT64, "int8" },
  { 21, DAL_COLUMN_INT16, "int2" },
  { 23, DAL_COLUMN_INT32, "int4" },
  { 25, DAL_COLUMN_TEXT, "text" },
  { 26, DAL_COLUMN_INT64, "oid" },
  { 114, DAL_COLUMN_JSON, "json" },
  { 700, DAL_COLUMN_FLOAT32, "float4" },
  { 701, DAL_COLUMN_FLOAT64, "float8" },
  { 1042, DAL_COLUMN_TEXT, "bpchar" },
  { 1043, DAL_COLUMN_TEXT, "varchar" },
  { 1082, DAL_COLUMN_DATE, "date" },
  { 1083, DAL_COLUMN_TIME, "time" },
  { 1114, DAL_COLUMN_TIMESTAMP, "timestamp" },
  { 1184, DAL_COLUMN_TIMESTAMPTZ, "timestamptz" },
  { 1186, DAL_COLUMN_INTERVAL, "interval" },
  { 1700, DAL_COLUMN_NUMERIC, "numeric" },
  { 2950, DAL_COLUMN_UUID, "uuid" },
  { 3802, DAL_COLUMN_JSON, "jsonb" },
};

static gssize
find_type (Oid oid)
{
  for (gsize i = 0; i < G_N_ELEMENTS (known_types); i++)
    if (known_types[i].oid == oid)
      return (gssize) i;
  return -1;
}

static void
r_free (gpointer impl)
{
  PQclear (impl);
}

static guint
r_n_rows (gpointer impl)
{
  return (guint) PQntuples (impl);
}

static guint
r_n_columns (gpointer impl)
{
  return (guint) PQnfields (impl);
}

static const char *
r_column_name (gpointer impl, guint column)
{
  return PQfname (impl, (int) column);
}

static DalColumnType
r_column_type (gpointer impl, guint column)
{
  gssize i = find_type (PQftype (impl, (int) column));
  return i >= 0 ? known_types[i].type : DAL_COLUMN_OTHER;
}

static const char *
r_column_type_name (gpointer impl, guint column)
{
  gssize i = find_type (PQftype (impl, (int) column));
  return i >= 0 ? known_types[i].name : "other";
}

static const char *
r_get_value (gpointer impl, guint row, guint column, gsize *length)
{
  /* libpq gives "" for NULL: only an empty value needs asking which. */
  const char *v = PQgetvalue (impl, (int) row, (int) column);
  if (v == NULL || (*v == '\0' && PQgetisnull (impl, (int) row, (int) column)))
    return NULL;
  if (length != NULL)
    *length = (gsize) PQgetlength (impl, (int) row, (int) column);
  return v;
}

static gint64
r_affected_rows (gpointer impl)
{
  const char *n = PQcmdTuples (impl);
  return n != NULL && *n != '\0' ? g_ascii_strtoll (n, NULL, 10) : -1;
}

static const char *
r_command_tag (gpointer impl)
{
  const char *tag = PQcmdStatus (impl);
  return tag != NULL && *tag != '\0' ? tag : NULL;
}

static const DalResultFuncs pg_result_funcs = {
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

DalResult *
dal_pg_result_new (PGresult *result)
{
  return dal_result_new (&pg_result_funcs, result);
}

void
dal_pg_batch_result_take (DalBatchResult *br, guint index, PGresult *result)
{
  dal_batch_result_take_impl (br, index, &pg_result_funcs, result);
}
