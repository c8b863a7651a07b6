/* fake-db.c: the fake database behind the test plugins; see fake-db.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fake-db.h"

/* -- results -- */

typedef struct
{
  char *data;   /* NUL-terminated copy; NULL for SQL NULL */
  gsize len;
} Cell;

typedef struct
{
  const char *name;
  DalColumnType type;
  const char *type_name;
} Column;

typedef struct
{
  guint n_rows;
  guint n_columns;
  const Column *columns;  /* static */
  Cell *cells;            /* n_rows * n_columns */
  gint64 affected;
  char *tag;
} FakeResult;

static void
fake_result_free (gpointer impl)
{
  FakeResult *r = impl;
  for (guint i = 0; i < r->n_rows * r->n_columns; i++)
    g_free (r->cells[i].data);
  g_free (r->cells);
  g_free (r->tag);
  g_free (r);
}

static guint
fake_result_n_rows (gpointer impl)
{
  return ((FakeResult *) impl)->n_rows;
}

static guint
fake_result_n_columns (gpointer impl)
{
  return ((FakeResult *) impl)->n_columns;
}

static const char *
fake_result_column_name (gpointer impl, guint column)
{
  return ((FakeResult *) impl)->columns[column].name;
}

static DalColumnType
fake_result_column_type (gpointer impl, guint column)
{
  return ((FakeResult *) impl)->columns[column].type;
}

static const char *
fake_result_column_type_name (gpointer impl, guint column)
{
  return ((FakeResult *) impl)->columns[column].type_name;
}

static const char *
fake_result_get_value (gpointer impl, guint row, guint column, gsize *length)
{
  FakeResult *r = impl;
  const Cell *c = &r->cells[row * r->n_columns + column];
  if (length != NULL)
    *length = c->len;
  return c->data;
}

static gint64
fake_result_affected_rows (gpointer impl)
{
  return ((FakeResult *) impl)->affected;
}

static const char *
fake_result_command_tag (gpointer impl)
{
  return ((FakeResult *) impl)->tag;
}

static const DalResultFuncs fake_result_funcs = {
  .free = fake_result_free,
  .n_rows = fake_result_n_rows,
  .n_columns = fake_result_n_columns,
  .column_name = fake_result_column_name,
  .column_type = fake_result_column_type,
  .column_type_name = fake_result_column_type_name,
  .get_value = fake_result_get_value,
  .affected_rows = fake_result_affected_rows,
  .command_tag = fake_result_command_tag,
};

static FakeResult *
result_new (const Column *columns, guint n_columns, guint n_rows,
            gint64 affected, char *tag)
{
  FakeResult *r = g_new0 (FakeResult, 1);
  r->columns = columns;
  r->n_columns = n_columns;
  r->n_rows = n_rows;
  r->cells = g_new0 (Cell, (gsize) MAX (n_rows * n_columns, 1));
  r->affected = affected;
  r->tag = tag;
  return r;
}

/* Sets a cell to @len bytes of @data (NULL: SQL NULL). */
static void
cell_set (FakeResult *r, guint row, guint column, const char *data, gsize len)
{
  Cell *c = &r->cells[row * r->n_columns + column];
  g_free (c->data);
  c->data = NULL;
  c->len = 0;
  if (data == NULL)
    return;
  c->data = g_malloc (len + 1);
  memcpy (c->data, data, len);
  c->data[len] = '\0';
  c->len = len;
}

static void
cell_take (FakeResult *r, guint row, guint column, char *text)
{
  cell_set (r, row, column, text, text != NULL ? strlen (text) : 0);
  g_free (text);
}

static DalResult *
wrap (FakeResult *r)
{
  return dal_result_new (&fake_result_funcs, r);
}

/* -- connections -- */

struct _FakeConn
{
  char *user;
  char *password;
  gint n_run;            /* statements started */
  gint in_flight;
  gint max_concurrent;
  gboolean in_tx;
  gboolean tx_failed;
  gint lost;             /* atomic */
};

static gint closed_total;
static GMutex closed_lock;
static GHashTable *closed_by_user;   /* user -> GINT_TO_POINTER (count) */

/* The module can be unloaded (when its registry is freed): free what it
 * holds, so that valgrind sees no leak. */
__attribute__ ((destructor)) static void
fake_db_unloaded (void)
{
  g_clear_pointer (&closed_by_user, g_hash_table_unref);
}

static const char *
url_password (DalUrl *url)
{
  const char *pw = dal_url_get_password (url);
  return pw != NULL ? pw : "";
}

guint
fake_connect_delay_ms (DalUrl *url)
{
  return g_strcmp0 (dal_url_get_database (url), "slow") == 0 ? 2000 : 0;
}

FakeConn *
fake_conn_open (DalUrl *url, GError **error)
{
  const char *db = dal_url_get_database (url);

  if (g_strcmp0 (db, "leak") == 0)
    {
      GError *e = dal_error_new_hint (DAL_ERROR_AUTH_FAILED,
                                      "Check the password",
                                      "fake: password \"%s\" rejected",
                                      url_password (url));
      dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, url_password (url));
      g_propagate_error (error, e);
      return NULL;
    }
  if (g_strcmp0 (db, "refuse") == 0)
    {
      g_propagate_error (error, dal_error_new_hint (DAL_ERROR_CONNECTION_REFUSED,
                                                    "Start the fake server",
                                                    "fake: connection refused"));
      return NULL;
    }

  FakeConn *conn = g_new0 (FakeConn, 1);
  conn->user = g_strdup (dal_url_get_user (url));
  conn->password = g_strdup (url_password (url));
  return conn;
}

void
fake_conn_close (FakeConn *conn)
{
  g_atomic_int_inc (&closed_total);
  g_mutex_lock (&closed_lock);
  if (closed_by_user == NULL)
    closed_by_user = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *user = conn->user != NULL ? conn->user : "";
  gint n = GPOINTER_TO_INT (g_hash_table_lookup (closed_by_user, user));
  g_hash_table_insert (closed_by_user, g_strdup (user), GINT_TO_POINTER (n + 1));
  g_mutex_unlock (&closed_lock);
  g_free (conn->user);
  g_free (conn->password);
  g_free (conn);
}

gboolean
fake_conn_is_lost (FakeConn *conn)
{
  return g_atomic_int_get (&conn->lost);
}

static GError *
lost_error (void)
{
  return dal_error_new_hint (DAL_ERROR_CONNECTION_LOST, "Open a new connection",
                             "fake: the connection was lost");
}

char *
fake_conn_get_info (FakeConn *conn, const char *key)
{
  if (strcmp (key, "user") == 0)
    return g_strdup (conn->user);
  if (strcmp (key, "statements") == 0)
    return g_strdup_printf ("%d", g_atomic_int_get (&conn->n_run));
  if (strcmp (key, "transaction_status") == 0)
    return g_strdup (!conn->in_tx ? "idle" : conn->tx_failed ? "inerror" : "intrans");
  return NULL;
}

gboolean
fake_sleep (guint ms, GCancellable *cancellable, GError **error)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      gint64 now = g_get_monotonic_time ();
      if (now >= end)
        return TRUE;
      g_usleep (MIN (end - now, 2000));
    }
}

void
fake_conn_end (FakeConn *conn)
{
  g_atomic_int_add (&conn->in_flight, -1);
}

static const char *const param_type_names[] = {
  [DAL_PARAM_NULL] = "null",
  [DAL_PARAM_BOOLEAN] = "boolean",
  [DAL_PARAM_INT16] = "int16",
  [DAL_PARAM_INT32] = "int32",
  [DAL_PARAM_INT64] = "int64",
  [DAL_PARAM_NUMERIC] = "numeric",
  [DAL_PARAM_DOUBLE] = "double",
  [DAL_PARAM_TEXT] = "text",
  [DAL_PARAM_BYTES] = "bytes",
};

static const Column echo_columns[] = {
  { "type", DAL_COLUMN_TEXT, "text" },
  { "value", DAL_COLUMN_TEXT, "text" },
  { "length", DAL_COLUMN_INT32, "int4" },
};

static const Column rows_columns[] = {
  { "i", DAL_COLUMN_INT32, "int4" },
  { "big", DAL_COLUMN_INT64, "int8" },
  { "f", DAL_COLUMN_FLOAT64, "float8" },
  { "b", DAL_COLUMN_BOOLEAN, "bool" },
  { "t", DAL_COLUMN_TEXT, "text" },
  { "bin", DAL_COLUMN_BYTES, "bytea" },
  { "num", DAL_COLUMN_NUMERIC, "numeric" },
};

static const Column count_columns[] = { { "count", DAL_COLUMN_INT64, "int8" } };
static const Column closed_columns[] = { { "closed", DAL_COLUMN_INT64, "int8" } };
static const Column thread_columns[] = { { "thread", DAL_COLUMN_TEXT, "text" } };
static const Column bytea_columns[] = { { "bin", DAL_COLUMN_BYTES, "bytea" } };
static const Column state_columns[] = {
  { "count", DAL_COLUMN_INT64, "int8" },
  { "max_concurrent", DAL_COLUMN_INT32, "int4" },
  { "thread", DAL_COLUMN_TEXT, "text" },
};

static char *
thread_text (void)
{
  return g_strdup_printf ("%p", (void *) g_thread_self ());
}

static DalResult *
run_echo (const DalParams *params)
{
  guint n = params != NULL ? params->n : 0;
  FakeResult *r = result_new (echo_columns, G_N_ELEMENTS (echo_columns), n, n,
                              g_strdup_printf ("SELECT %u", n));
  for (guint i = 0; i < n; i++)
    {
      DalParamType t = params->types[i];
      const char *name = (guint) t < G_N_ELEMENTS (param_type_names)
                           ? param_type_names[t] : "invalid";
      cell_set (r, i, 0, name, strlen (name));
      cell_set (r, i, 1, params->values[i],
                params->values[i] != NULL ? (gsize) params->lengths[i] : 0);
      cell_take (r, i, 2, g_strdup_printf ("%d", params->lengths[i]));
    }
  return wrap (r);
}

static DalResult *
run_rows (guint n)
{
  FakeResult *r = result_new (rows_columns, G_N_ELEMENTS (rows_columns), n, n,
                              g_strdup_printf ("SELECT %u", n));
  for (guint row = 0; row < n; row++)
    {
      if (row % 3 == 2)
        continue;  /* all NULL */
      char dbl[G_ASCII_DTOSTR_BUF_SIZE];
      cell_take (r, row, 0, g_strdup_printf ("%u", row));
      cell_take (r, row, 1, g_strdup_printf ("%" G_GINT64_FORMAT,
                                             (gint64) row * G_GINT64_CONSTANT (3000000000)));
      g_ascii_dtostr (dbl, sizeof dbl, row + 0.25);
      cell_set (r, row, 2, dbl, strlen (dbl));
      cell_set (r, row, 3, row % 2 == 0 ? "t" : "f", 1);
      cell_take (r, row, 4, g_strdup_printf ("row %u", row));
      /* bytea in hex: bytes row, 0, 0xff, row ^ 0x5a */
      cell_take (r, row, 5, g_strdup_printf ("\\x%02x00ff%02x", row & 0xff,
                                             (row ^ 0x5a) & 0xff));
      cell_take (r, row, 6, g_strdup_printf ("%u12345678901234567890.5", row + 1));
    }
  return wrap (r);
}

static DalResult *
one_value (const Column *columns, char *text)
{
  FakeResult *r = result_new (columns, 1, 1, 1, g_strdup ("SELECT 1"));
  cell_take (r, 0, 0, text);
  return wrap (r);
}

static DalResult *
tag_only (char *tag, gint64 affected)
{
  return wrap (result_new (NULL, 0, 0, affected, tag));
}

DalResult *
fake_conn_run (FakeConn *conn, const char *sql, const DalParams *params,
               guint *sleep_ms, GError **error)
{
  gint n_run = g_atomic_int_add (&conn->n_run, 1) + 1;
  gint in_flight = g_atomic_int_add (&conn->in_flight, 1) + 1;
  gint max = g_atomic_int_get (&conn->max_concurrent);
  while (in_flight > max
         && !g_atomic_int_compare_and_exchange (&conn->max_concurrent, max, in_flight))
    max = g_atomic_int_get (&conn->max_concurrent);

  *sleep_ms = 0;
  g_auto (GStrv) words = g_strsplit (sql, " ", 2);
  const char *verb = words[0] != NULL ? words[0] : "";
  const char *arg = words[0] != NULL && words[1] != NULL ? words[1] : NULL;

  if (g_atomic_int_get (&conn->lost))
    {
      g_propagate_error (error, lost_error ());
      return NULL;
    }
  if (strcmp (verb, "lose") == 0)
    {
      g_atomic_int_set (&conn->lost, TRUE);
      if (g_strcmp0 (arg, "quietly") == 0)
        return tag_only (g_strdup ("LOSE"), -1);
      g_propagate_error (error, lost_error ());
      return NULL;
    }
  if (strcmp (verb, "echo") == 0)
    return run_echo (params);
  if (strcmp (verb, "rows") == 0 && arg != NULL)
    return run_rows ((guint) strtoul (arg, NULL, 10));
  if (strcmp (verb, "sleep") == 0 && arg != NULL)
    {
      *sleep_ms = (guint) strtoul (arg, NULL, 10);
      return tag_only (g_strdup ("SLEEP"), -1);
    }
  if (strcmp (verb, "count") == 0)
    return one_value (count_columns, g_strdup_printf ("%d", n_run));
  if (strcmp (verb, "closed") == 0 && arg == NULL)
    return one_value (closed_columns,
                      g_strdup_printf ("%d", g_atomic_int_get (&closed_total)));
  if (strcmp (verb, "closed") == 0)
    {
      g_mutex_lock (&closed_lock);
      gint n = closed_by_user != NULL
                 ? GPOINTER_TO_INT (g_hash_table_lookup (closed_by_user, arg)) : 0;
      g_mutex_unlock (&closed_lock);
      return one_value (closed_columns, g_strdup_printf ("%d", n));
    }
  if (strcmp (verb, "bytea") == 0)
    return one_value (bytea_columns, g_strdup (arg != NULL ? arg : ""));
  if (strcmp (verb, "thread") == 0)
    return one_value (thread_columns, thread_text ());
  if (strcmp (verb, "state") == 0)
    {
      FakeResult *r = result_new (state_columns, G_N_ELEMENTS (state_columns), 1, 1,
                                  g_strdup ("SELECT 1"));
      cell_take (r, 0, 0, g_strdup_printf ("%d", n_run));
      cell_take (r, 0, 1, g_strdup_printf ("%d", g_atomic_int_get (&conn->max_concurrent)));
      cell_take (r, 0, 2, thread_text ());
      return wrap (r);
    }
  if (strcmp (verb, "affected") == 0 && arg != NULL)
    {
      gint64 n = g_ascii_strtoll (arg, NULL, 10);
      return tag_only (g_strdup_printf ("UPDATE %" G_GINT64_FORMAT, n), n);
    }
  if (strcmp (verb, "BEGIN") == 0)
    {
      conn->in_tx = TRUE;
      conn->tx_failed = FALSE;
      return tag_only (g_strdup ("BEGIN"), -1);
    }
  if (strcmp (verb, "COMMIT") == 0)
    {
      gboolean failed = conn->in_tx && conn->tx_failed;
      conn->in_tx = conn->tx_failed = FALSE;
      return tag_only (g_strdup (failed ? "ROLLBACK" : "COMMIT"), -1);
    }
  if (strcmp (verb, "ROLLBACK") == 0)
    {
      conn->in_tx = conn->tx_failed = FALSE;
      return tag_only (g_strdup ("ROLLBACK"), -1);
    }
  if (strcmp (verb, "fail") == 0)
    {
      const char *sqlstate = arg != NULL ? arg : "42P01";
      GError *e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                      "fake: statement \"%s\" failed", sql);
      dal_error_set_field (e, DAL_ERROR_FIELD_SEVERITY, "ERROR");
      dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, sqlstate);
      g_autofree char *detail = g_strdup_printf ("detail of %s", sql);
      g_autofree char *hint = g_strdup_printf ("server hint of %s", sql);
      dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, detail);
      dal_error_set_field (e, DAL_ERROR_FIELD_HINT, hint);
      if (conn->in_tx)
        conn->tx_failed = TRUE;
      g_propagate_error (error, e);
      return NULL;
    }
  if (strcmp (verb, "leak") == 0)
    {
      /* Deliberately not redacted: the core must do it. */
      GError *e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, conn->password,
                                      "fake: the password is \"%s\"", conn->password);
      g_autofree char *detail = g_strdup_printf ("detail: %s!", conn->password);
      dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, detail);
      dal_error_set_field (e, DAL_ERROR_FIELD_MESSAGE, conn->password);
      g_propagate_error (error, e);
      return NULL;
    }

  GError *e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL,
                                  "fake: syntax error in \"%s\"", sql);
  dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, "42601");
  g_propagate_error (error, e);
  return NULL;
}
