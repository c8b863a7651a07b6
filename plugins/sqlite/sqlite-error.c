/* sqlite-error.c: SQLite's result codes as DAL_ERRORs.
 *
 * The codes and SQLSTATEs are those a PostgreSQL plugin gives for the same
 * failure, so that code handling errors works on either dialect:
 *
 *   SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY  QUERY_FAILED, 23505
 *   SQLITE_CONSTRAINT_FOREIGNKEY           QUERY_FAILED, 23503
 *   SQLITE_CONSTRAINT_NOTNULL              QUERY_FAILED, 23502
 *   SQLITE_CONSTRAINT_CHECK                QUERY_FAILED, 23514
 *   other SQLITE_CONSTRAINT                QUERY_FAILED, 23000
 *   SQLITE_BUSY, SQLITE_LOCKED             QUERY_FAILED, 55P03, retryable
 *   SQLITE_READONLY                        QUERY_FAILED, 25006
 *   SQLITE_ERROR "syntax error"            QUERY_FAILED, 42601 (and position)
 *   SQLITE_ERROR "no such table"           QUERY_FAILED, 42P01
 *   SQLITE_ERROR "no such column"          QUERY_FAILED, 42703
 *   SQLITE_RANGE, SQLITE_MISMATCH, TOOBIG  INVALID_PARAMETER
 *   opening: CANTOPEN                      UNKNOWN_DATABASE (no such file) or
 *                                          CONNECT_FAILED, naming the file
 *   opening: NOTADB                        CONNECT_FAILED
 *   anything else                          QUERY_FAILED
 * SQLite's message is kept in the MESSAGE field; the position (1-based,
 * in characters) where SQLite gives an offset (sqlite3_error_offset).
 */
#include "config.h"

#include <string.h>

#include "sqlite-private.h"

typedef struct
{
  int code;                 /* an extended code, or a primary one */
  const char *sqlstate;
  DalErrorCode dal_code;
  const char *hint;
} ErrorClass;

static const ErrorClass classes[] = {
  { SQLITE_CONSTRAINT_UNIQUE, "23505", DAL_ERROR_QUERY_FAILED,
    "Change the value so that it is unique, or update the existing row" },
  { SQLITE_CONSTRAINT_PRIMARYKEY, "23505", DAL_ERROR_QUERY_FAILED,
    "Change the value so that it is unique, or update the existing row" },
  { SQLITE_CONSTRAINT_FOREIGNKEY, "23503", DAL_ERROR_QUERY_FAILED,
    "Insert the referenced row first, or change the value" },
  { SQLITE_CONSTRAINT_NOTNULL, "23502", DAL_ERROR_QUERY_FAILED,
    "Give the column a value" },
  { SQLITE_CONSTRAINT_CHECK, "23514", DAL_ERROR_QUERY_FAILED,
    "Change the value so that it passes the table's CHECK constraint" },
  { SQLITE_CONSTRAINT, "23000", DAL_ERROR_QUERY_FAILED, NULL },
  { SQLITE_BUSY, "55P03", DAL_ERROR_QUERY_FAILED,
    "Retry, or raise busy_timeout (milliseconds) in the URL so that SQLite "
    "waits longer for the other connection's lock" },
  { SQLITE_LOCKED, "55P03", DAL_ERROR_QUERY_FAILED,
    "Retry once the other statement on this database (shared cache) is done" },
  { SQLITE_READONLY, "25006", DAL_ERROR_QUERY_FAILED,
    "The database is open read-only (mode=ro or immutable=1 in the URL, or "
    "the file is not writable): open it without them to write" },
  { SQLITE_RANGE, NULL, DAL_ERROR_INVALID_PARAMETER, NULL },
  { SQLITE_MISMATCH, NULL, DAL_ERROR_INVALID_PARAMETER, NULL },
  { SQLITE_TOOBIG, NULL, DAL_ERROR_INVALID_PARAMETER,
    "Send a smaller value (SQLite's SQLITE_MAX_LENGTH)" },
};

/* SQLITE_ERROR by what its message starts with. */
static const struct { const char *prefix; const char *sqlstate; const char *hint; } messages[] = {
  { "no such table", "42P01", "Create the table first, or check its name" },
  { "no such column", "42703", "Check the column's name" },
  { "near ", "42601", "Fix the statement's syntax where the position points" },
  { "incomplete input", "42601", "Complete the statement" },
};

static const ErrorClass *
find_class (int rc)
{
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    if (classes[i].code == rc)
      return &classes[i];
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    if (classes[i].code == (rc & 0xff))
      return &classes[i];
  return NULL;
}

/**
 * dal_sqlite_error_from_db:
 * @db: the connection
 * @rc: the (extended) result code of the call that failed
 * @sql: (nullable): the text the failing statement was prepared from
 * @sql_offset: where that text starts in what the caller handed over
 *   (a script), in bytes
 *
 * Returns: (transfer full): a DAL_ERROR for the failure @db reports.
 */
GError *
dal_sqlite_error_from_db (sqlite3 *db, int rc, const char *sql, gsize sql_offset)
{
  const char *msg = sqlite3_errmsg (db);
  const ErrorClass *cls = find_class (rc);
  const char *sqlstate = cls != NULL ? cls->sqlstate : NULL;
  const char *hint = cls != NULL ? cls->hint : NULL;
  DalErrorCode code = cls != NULL ? cls->dal_code : DAL_ERROR_QUERY_FAILED;
  if ((rc & 0xff) == SQLITE_ERROR)
    for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
      if (g_str_has_prefix (msg, messages[i].prefix))
        {
          sqlstate = messages[i].sqlstate;
          hint = messages[i].hint;
          break;
        }

  int offset = sql != NULL ? sqlite3_error_offset (db) : -1;
  GError *error;
  if (offset >= 0)
    {
      /* the caller's text up to the offset, in characters */
      glong position = g_utf8_pointer_to_offset (sql - sql_offset, sql + offset) + 1;
      error = dal_error_new_hint (code, hint, "SQLite: %s (at character %ld)", msg,
                                  position);
      g_autofree char *pos = g_strdup_printf ("%ld", position);
      dal_error_set_field (error, DAL_ERROR_FIELD_POSITION, pos);
    }
  else
    error = dal_error_new_hint (code, hint, "SQLite: %s", msg);
  dal_error_set_field (error, DAL_ERROR_FIELD_MESSAGE, msg);
  dal_error_set_field (error, DAL_ERROR_FIELD_SEVERITY, "ERROR");
  if (sqlstate != NULL)
    dal_error_set_field (error, DAL_ERROR_FIELD_SQLSTATE, sqlstate);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    dal_error_set_retryable (error, TRUE);
  return error;
}

/**
 * dal_sqlite_error_open:
 * @db: (nullable): the handle sqlite3_open_v2() gave, if any
 * @rc: its result code
 * @target: what was opened
 *
 * Returns: (transfer full): a DAL_ERROR saying what to change in the URL.
 */
GError *
dal_sqlite_error_open (sqlite3 *db, int rc, const DalSqliteTarget *target)
{
  const char *msg = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);
  GError *error;
  if ((rc & 0xff) == SQLITE_CANTOPEN && !target->may_create
      && !g_file_test (target->shown, G_FILE_TEST_EXISTS))
    error = dal_error_new_hint (
      DAL_ERROR_UNKNOWN_DATABASE,
      "Check the path in the URL (sqlite:///relative.db is relative to the "
      "working directory, sqlite:////absolute/path.db absolute), or drop "
      "mode=ro / mode=rw so that SQLite creates it",
      "the SQLite database \"%s\" does not exist", target->shown);
  else if ((rc & 0xff) == SQLITE_CANTOPEN)
    error = dal_error_new_hint (
      DAL_ERROR_CONNECT_FAILED,
      "Check the path in the URL (sqlite:///relative.db is relative to the "
      "working directory, sqlite:////absolute/path.db absolute): its folder "
      "must exist, and the file and folder be readable (and writable, to "
      "write)",
      "could not open the SQLite database \"%s\": %s", target->shown, msg);
  else if ((rc & 0xff) == SQLITE_NOTADB)
    error = dal_error_new_hint (
      DAL_ERROR_CONNECT_FAILED, "Check the path in the URL",
      "\"%s\" is not a SQLite database", target->shown);
  else
    error = dal_error_new_hint (
      DAL_ERROR_CONNECT_FAILED, "Check the URL's options (vfs=, mode=, cache=)",
      "could not open the SQLite database \"%s\": %s", target->shown, msg);
  dal_error_set_field (error, DAL_ERROR_FIELD_MESSAGE, msg);
  return error;
}
