/* sqlite-private.h: the SQLite plugin's internals, shared by its files.
 *
 *   sqlite.c         the connection: open, statements, scripts, deadlines
 *   sqlite-url.c     the dialect (its URL options) and the URI filename
 *   sqlite-result.c  results: column types and values as text
 *   sqlite-error.c   SQLite's result codes as DAL_ERRORs
 */
#ifndef DAL_SQLITE_PRIVATE_H
#define DAL_SQLITE_PRIVATE_H

#include <sqlite3.h>

#include <dal/dal-plugin.h>

G_BEGIN_DECLS

/* What SQLite opens for a URL (sqlite-url.c). */
typedef struct
{
  char *uri;               /* "file:...?mode=ro&..." for sqlite3_open_v2 */
  char *shown;             /* the file (or "in-memory database") for messages */
  int flags;               /* SQLITE_OPEN_* */
  gboolean may_create;     /* a missing file is created */
  guint busy_timeout_ms;
  const char *journal_mode;   /* (nullable) borrowed from the URL */
  int foreign_keys;           /* -1: leave SQLite's default */
} DalSqliteTarget;

extern const DalDialect dal_sqlite_dialect;

void dal_sqlite_target_init (DalSqliteTarget *target, const DalUrl *url);
void dal_sqlite_target_clear (DalSqliteTarget *target);

/* Results (sqlite-result.c). */
DalResult *dal_sqlite_result_run (sqlite3_stmt *stmt, int *rc);

/* Errors (sqlite-error.c). */
GError *dal_sqlite_error_from_db (sqlite3 *db, int rc, const char *sql,
                                  gsize sql_offset);
GError *dal_sqlite_error_open (sqlite3 *db, int rc,
                               const DalSqliteTarget *target);

G_END_DECLS

#endif /* DAL_SQLITE_PRIVATE_H */
