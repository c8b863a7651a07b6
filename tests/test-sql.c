/* test-sql.c: _dal_sql_session_effect(), what a statement leaves on the
 * session, by its text (dal-sql.c). */
#include "config.h"

#include <string.h>

#include <dal/dal-plugin.h>

#include "dal-private.h"

typedef struct
{
  const char *sql;
  DalSessionEffect effect;
} Case;

#define C DAL_SESSION_CLEAN
#define R DAL_SESSION_RESETTABLE
#define X DAL_SESSION_REPLACE

static void
check_cases (const Case *cases, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      DalSessionEffect got = _dal_sql_session_effect (cases[i].sql);
      if (got != cases[i].effect)
        g_error ("%s: expected %d, got %d", cases[i].sql, cases[i].effect, got);
    }
}

static void
test_clean (void)
{
  static const Case cases[] = {
    { "", C },
    { "   ", C },
    { ";;;", C },
    { "SELECT 1", C },
    { "select * from t where x = $1", C },
    { "INSERT INTO t VALUES (1, 'set x = 1')", C },
    { "UPDATE t SET x = 1", C },
    { "ALTER ROLE r SET search_path = a", C },
    { "BEGIN", C },
    { "COMMIT", C },
    { "ROLLBACK", C },
    { "SHOW search_path", C },
    { "SET LOCAL search_path = a", C },
    { "set local role r", C },
    { "SET LOCAL SESSION AUTHORIZATION r", C },
    { "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", C },
    { "SET CONSTRAINTS ALL DEFERRED", C },
    { "PREPARE TRANSACTION 'x'", C },
    { "SELECT pg_advisory_xact_lock(1)", C },
    { "SELECT pg_try_advisory_xact_lock_shared(1)", C },
    { "SELECT pg_advisory_unlock(1)", C },
    { "CREATE TABLE t (temp int)", C },
    { "CREATE TABLE temp (x int)", C },
    { "SELECT temp FROM t", C },
    { "INSERT INTO temp VALUES (1)", C },
    { "MERGE INTO temp USING s ON true WHEN MATCHED THEN DELETE", C },
    { "SELECT 1 -- ; SET x = 1", C },
    { "SELECT 1 /* ; SET x = 1 */", C },
    { "SELECT 1 /* nested /* ; SET x = 1 */ still a comment; LISTEN c */", C },
    { "SELECT 'pg_advisory_lock(1)'", C },
    { "SELECT 'it''s; set x = 1'", C },
    { "SELECT E'\\'; SET x = 1; '", C },
    { "SELECT e'a\\\\'; select 1", C },
    { "SELECT $$; SET x = 1; $$", C },
    { "SELECT $tag$ $$ ; LISTEN c; $$ $tag$", C },
    { "SELECT $a$x$a$, $1, $2", C },
    { "SELECT \"set_config \"(1)", C },
    { "SELECT \"SET_CONFIG\"(1)", C },
    { "SELECT my_set_config(1), set_configuration", C },
    { "SELECT a$b FROM t", C },
    { "WITH x AS (SELECT 1) SELECT * FROM x", C },
    { "BEGIN; SET LOCAL work_mem = '1MB'; SELECT 1; COMMIT", C },
  };
  check_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_resettable (void)
{
  static const Case cases[] = {
    { "SET search_path = a", R },
    { "set search_path to a, b", R },
    { "  Set\tSEARCH_PATH = a", R },
    { "SET SESSION search_path = a", R },
    { "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", R },
    { "SET TIME ZONE 'UTC'", R },
    { "RESET search_path", R },
    { "RESET ALL", R },
    { "LISTEN chan", R },
    { "UNLISTEN *", R },
    { "DECLARE c CURSOR WITH HOLD FOR SELECT 1", R },
    { "CLOSE c", R },
    { "SELECT pg_advisory_lock(1)", R },
    { "select PG_ADVISORY_LOCK_SHARED(1)", R },
    { "SELECT pg_try_advisory_lock(1, 2)", R },
    { "SELECT pg_try_advisory_lock_shared(1)", R },
    { "SELECT pg_catalog.pg_advisory_lock(1)", R },
    { "SELECT \"pg_advisory_lock\"(1)", R },
    { "SELECT set_config('search_path', 'a', false)", R },
    { "SELECT x FROM t WHERE set_config('a.b', $1, false) IS NOT NULL", R },
    { "SELECT 1; SET search_path = a", R },
    { "SELECT 1; LISTEN c; SELECT 2", R },
    { "-- comment\nSET x = 1", R },
    { "/* c */ SET x = 1", R },
    { "/* a /* b */ c */ LISTEN x", R },
    { "SELECT 'a'';'; SET x = 1", R },
    { "SELECT E'\\\\'; SET x = 1", R },
    { "SELECT $$ x $$; LISTEN c", R },
    { "SELECT $q$ $$ $q$; LISTEN c", R },
    { "SELECT \"a;b\"; SET x = 1", R },
    { "DO $$ BEGIN PERFORM 1; END $$", R },
    { "DO $$ BEGIN PERFORM set_config('a', 'b', false); END $$", R },
    { "BEGIN; SET search_path = a; COMMIT", R },
  };
  check_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_replace (void)
{
  static const Case cases[] = {
    { "PREPARE p AS SELECT 1", X },
    { "prepare p(int) as select $1", X },
    { "DEALLOCATE p", X },
    { "DEALLOCATE ALL", X },
    { "DISCARD ALL", X },
    { "DISCARD PLANS", X },
    { "LOAD 'auto_explain'", X },
    { "CREATE TEMP TABLE t (x int)", X },
    { "create temporary table t (x int)", X },
    { "CREATE GLOBAL TEMPORARY TABLE t (x int)", X },
    { "CREATE LOCAL TEMP TABLE t (x int)", X },
    { "CREATE TEMP VIEW v AS SELECT 1", X },
    { "CREATE OR REPLACE TEMP VIEW v AS SELECT 1", X },
    { "CREATE TEMP SEQUENCE s", X },
    { "CREATE TEMPORARY RECURSIVE VIEW v(x) AS SELECT 1", X },
    { "CREATE TABLE pg_temp.t (x int)", X },
    { "SELECT 1 INTO TEMP t", X },
    { "WITH w AS (SELECT 1) SELECT * INTO TEMPORARY TABLE t FROM w", X },
    { "SET ROLE r", X },
    { "set role none", X },
    { "SET SESSION ROLE r", X },
    { "SET SESSION AUTHORIZATION r", X },
    { "SET SESSION AUTHORIZATION DEFAULT", X },
    { "RESET ROLE", X },
    { "RESET SESSION AUTHORIZATION", X },
    { "SET x = 1; PREPARE p AS SELECT 1", X },
    { "LISTEN c; DISCARD ALL; SELECT 1", X },
    { "/* ; */ PREPARE p AS SELECT 1", X },
    { "SELECT 'a'; /* x */ DEALLOCATE p", X },
    { "DO $$ BEGIN CREATE TEMP TABLE t (x int); END $$", X },
    { "DO 'BEGIN CREATE TEMP TABLE t (x int); END'", X },
    /* What cannot be read is not trusted. */
    { "SELECT 'unterminated", X },
    { "SELECT E'unterminated\\'", X },
    { "SELECT \"unterminated", X },
    { "SELECT $$ unterminated", X },
    { "SELECT $a$ unterminated $b$", X },
    { "SELECT 1 /* unterminated", X },
    { "SELECT 1 /* /* */ still open", X },
  };
  check_cases (cases, G_N_ELEMENTS (cases));
}

/* The largest effect wins, in any order. */
static void
test_order (void)
{
  const char *parts[] = { "SELECT 1", "SET a = 1", "PREPARE p AS SELECT 1" };
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 3; j++)
      {
        g_autofree char *sql = g_strdup_printf ("%s; %s", parts[i], parts[j]);
        g_assert_cmpint (_dal_sql_session_effect (sql), ==, MAX (i, j));
      }
}

/* dal_sql_split_statements(): a script's statements, where they start. */
static void
test_split (void)
{
  static const struct
  {
    const char *sql;
    const char *statements[6];
  } cases[] = {
    { "", { NULL } },
    { " ;; -- nothing\n; /* ; */ ", { NULL } },
    { "SELECT 1", { "SELECT 1", NULL } },
    { "SELECT 1;SELECT 2;", { "SELECT 1", "SELECT 2", NULL } },
    { "SELECT ';' ; SELECT \"a;b\";", { "SELECT ';' ", " SELECT \"a;b\"", NULL } },
    { "SELECT E'\\';' ; x", { "SELECT E'\\';' ", " x", NULL } },
    { "DO $$ BEGIN x; y; END $$; DO $f$ ; $f$", { "DO $$ BEGIN x; y; END $$", " DO $f$ ; $f$", NULL } },
    { "-- a; b\nSELECT 1 /* ; /* ; */ ; */; 2", { "-- a; b\nSELECT 1 /* ; /* ; */ ; */", " 2", NULL } },
    { "SELECT $1; SELECT $tag", { "SELECT $1", " SELECT $tag", NULL } },
    /* unterminated: the rest is one statement */
    { "SELECT 1; SELECT 'oops; SELECT 3", { "SELECT 1", " SELECT 'oops; SELECT 3", NULL } },
    { "SELECT 1; /* open; SELECT 3", { "SELECT 1", " /* open; SELECT 3", NULL } },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize *offsets = NULL;
      guint n = 99;
      g_auto (GStrv) got = dal_sql_split_statements (cases[i].sql, &offsets, &n);
      g_assert_cmpuint (n, ==, g_strv_length ((char **) cases[i].statements));
      g_assert_cmpuint (g_strv_length (got), ==, n);
      for (guint k = 0; k < n; k++)
        {
          if (g_strcmp0 (got[k], cases[i].statements[k]) != 0)
            g_error ("%s: statement %u is \"%s\", expected \"%s\"", cases[i].sql, k,
                     got[k], cases[i].statements[k]);
          /* each is the text at its offset */
          g_assert_true (strncmp (cases[i].sql + offsets[k], got[k], strlen (got[k])) == 0);
        }
      g_free (offsets);
    }
  /* the out arguments are optional */
  g_auto (GStrv) two = dal_sql_split_statements ("a; b", NULL, NULL);
  g_assert_cmpuint (g_strv_length (two), ==, 2);
}

/* _dal_sql_statement_effects(): whether a text may leave a transaction
 * block open, asked first, or of a text just classified (the cached
 * answer), or again. */
static void
test_opens_tx (void)
{
  static const struct
  {
    const char *sql;
    gboolean opens;
  } cases[] = {
    { "SELECT 1", FALSE },
    { "select id from t where id = $1", FALSE },
    { "INSERT INTO t VALUES ('begin')", FALSE },
    { "COMMIT", FALSE },
    { "rollback", FALSE },
    { "END", FALSE },
    { "SAVEPOINT s", FALSE },
    { "SET search_path = a", FALSE },
    { "BEGIN", TRUE },
    { "begin isolation level serializable", TRUE },
    { "/* a comment */ Begin", TRUE },
    { "-- a comment\nSTART TRANSACTION READ ONLY", TRUE },
    { "COMMIT AND CHAIN", TRUE },
    { "ROLLBACK AND CHAIN", TRUE },
    { "SELECT 1; BEGIN", TRUE },
    { "SELECT ';'", TRUE },   /* a ';' anywhere: not read further */
  };
  for (guint pass = 0; pass < 3; pass++)
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        gboolean opens = !cases[i].opens;
        if (pass == 1)
          _dal_sql_session_effect (cases[i].sql);
        DalSessionEffect effect = _dal_sql_statement_effects (cases[i].sql, &opens);
        g_assert_cmpint (effect, ==, _dal_sql_session_effect (cases[i].sql));
        if (opens != cases[i].opens)
          g_error ("%s (pass %u): expected %d, got %d", cases[i].sql, pass,
                   cases[i].opens, opens);
      }
}

/* COPY by its first word, past blanks and comments (nested ones too). */
static void
test_is_copy (void)
{
  static const struct { const char *sql; gboolean copy; } cases[] = {
    { "COPY t FROM STDIN", TRUE },
    { "  copy (SELECT 1) TO STDOUT", TRUE },
    { "-- load\nCoPy t FROM STDIN", TRUE },
    { "/* a /* nested */ comment */ COPY t TO STDOUT", TRUE },
    { "COPY", TRUE },
    { "copying", FALSE },
    { "copy_rows()", FALSE },
    { "SELECT 'COPY'", FALSE },
    { "/* COPY */ SELECT 1", FALSE },
    { "/* unterminated COPY", FALSE },
    { "", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].sql);
      g_assert_cmpint (dal_sql_is_copy (cases[i].sql), ==, cases[i].copy);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sql/clean", test_clean);
  g_test_add_func ("/sql/resettable", test_resettable);
  g_test_add_func ("/sql/replace", test_replace);
  g_test_add_func ("/sql/order", test_order);
  g_test_add_func ("/sql/split", test_split);
  g_test_add_func ("/sql/opens-transaction", test_opens_tx);
  g_test_add_func ("/sql/is-copy", test_is_copy);
  return g_test_run ();
}
