/* dal-sql.c: what a statement does to the session, by its text alone.
 *
 * The pool asks this after each statement a borrower ran, so that
 * releasing a clean connection costs nothing and a dirty one gets the
 * reset (or is replaced).  One pass over the text, no allocation: a small
 * lexer that knows PostgreSQL's comments (nested block comments), string
 * literals ('', E'' with backslash escapes), quoted identifiers and
 * dollar quotes, and hands each word to a per-statement state.
 *
 * Decisions beyond dal-private.h's list:
 *   - SET LOCAL ..., SET TRANSACTION ..., SET CONSTRAINTS ... end with the
 *     transaction: CLEAN;
 *   - SET SESSION CHARACTERISTICS AS TRANSACTION ... sets the
 *     default_transaction_* settings for the session, which RESET ALL
 *     undoes: RESETTABLE.  SET SESSION x = y is SET x = y: RESETTABLE;
 *   - SET SESSION AUTHORIZATION, SET [SESSION] ROLE, RESET ROLE, RESET
 *     SESSION AUTHORIZATION: REPLACE (as the header says); SET LOCAL ROLE
 *     and SET LOCAL SESSION AUTHORIZATION are transaction-scoped: CLEAN;
 *   - PREPARE TRANSACTION (two-phase commit) ends the transaction and
 *     leaves nothing on the session: CLEAN; any other PREPARE: REPLACE;
 *   - a temporary table made another way also counts: SELECT ... INTO
 *     TEMP, and CREATE ... pg_temp.name;
 *   - DO: at least RESETTABLE, and its body (a string or dollar quote) is
 *     classified like SQL too (CREATE TEMP TABLE in it gives REPLACE);
 *   - functions of the user's that change the session cannot be seen
 *     from the text: they are not found.
 */
#include "config.h"

#include <string.h>

#include "dal-private.h"

#define WORD_MAX 48  /* longer words match nothing we look for */

typedef struct
{
  DalSessionEffect effect;   /* the largest so far, whole text */
  /* The statement being read. */
  guint n_words;             /* unquoted words seen in it */
  char first[WORD_MAX];      /* its first three words, lower case */
  char second[WORD_MAX];
  char third[WORD_MAX];
  char prev[WORD_MAX];       /* the word before the current one */
  gboolean is_do;
  DalSessionEffect stmt;     /* this statement's effect so far */
  gboolean *listens;         /* set when a statement is a LISTEN */
  gboolean in_body;          /* a DO body: any word LISTEN counts */
  /* Splitting (dal_sql_split_statements()): where each statement with
   * something other than blanks in it starts and ends, byte offsets from
   * origin in pairs; NULL when not splitting. */
  GArray *bounds;
  const char *origin;
  const char *stmt_start;    /* where the statement being read starts */
  gboolean stmt_content;     /* it has more than blanks and comments */
} Scan;

static DalSessionEffect classify (const char *sql, const char *end,
                                  gboolean *listens, gboolean in_body,
                                  GArray *bounds);

static void
raise_to (DalSessionEffect *e, DalSessionEffect v)
{
  if (v > *e)
    *e = v;
}

static gboolean
is_word_start (guchar c)
{
  return g_ascii_isalpha (c) || c == '_' || c >= 0x80;
}

static gboolean
is_word_char (guchar c)
{
  return is_word_start (c) || g_ascii_isdigit (c) || c == '$';
}

static gboolean
is_one_of (const char *word, const char * const *list)
{
  for (; *list != NULL; list++)
    if (strcmp (word, *list) == 0)
      return TRUE;
  return FALSE;
}

/* Functions that leave session state behind. */
static const char * const session_functions[] = {
  "pg_advisory_lock", "pg_advisory_lock_shared",
  "pg_try_advisory_lock", "pg_try_advisory_lock_shared",
  "set_config", NULL
};

/* The effect of a statement known by its first words (the statement may
 * have fewer: then the missing ones are ""). */
static DalSessionEffect
statement_effect (const Scan *s)
{
  const char *a = s->first, *b = s->second, *c = s->third;

  /* Most statements are none of these: one look at the first letter. */
  if (strchr ("sprldcu", a[0]) == NULL)
    return DAL_SESSION_CLEAN;

  if (strcmp (a, "set") == 0)
    {
      if (is_one_of (b, (const char * const[]) { "local", "transaction",
                                                 "constraints", NULL }))
        return DAL_SESSION_CLEAN;
      if (strcmp (b, "role") == 0)
        return DAL_SESSION_REPLACE;
      /* SET SESSION is SET: SET SESSION ROLE too. */
      if (strcmp (b, "session") == 0
          && (strcmp (c, "authorization") == 0 || strcmp (c, "role") == 0))
        return DAL_SESSION_REPLACE;
      return DAL_SESSION_RESETTABLE;
    }
  if (strcmp (a, "reset") == 0)
    {
      if (strcmp (b, "role") == 0
          || (strcmp (b, "session") == 0 && strcmp (c, "authorization") == 0))
        return DAL_SESSION_REPLACE;
      return DAL_SESSION_RESETTABLE;
    }
  if (strcmp (a, "prepare") == 0)
    return strcmp (b, "transaction") == 0 ? DAL_SESSION_CLEAN : DAL_SESSION_REPLACE;
  if (is_one_of (a, (const char * const[]) { "listen", "unlisten", "declare",
                                             "close", "do", NULL }))
    return DAL_SESSION_RESETTABLE;
  if (is_one_of (a, (const char * const[]) { "deallocate", "discard", "load",
                                             NULL }))
    return DAL_SESSION_REPLACE;
  return DAL_SESSION_CLEAN;
}

/* The statement that ends at @at (its ';', or the end of the text). */
static void
add_bounds (Scan *s, const char *at)
{
  if (s->bounds != NULL && s->stmt_content)
    {
      gsize pair[2] = { s->stmt_start - s->origin, at - s->origin };
      g_array_append_vals (s->bounds, pair, 2);
    }
  s->stmt_content = FALSE;
  s->stmt_start = at + 1;
}

static void
end_statement (Scan *s)
{
  if (s->n_words > 0)
    raise_to (&s->stmt, statement_effect (s));
  if (strcmp (s->first, "listen") == 0)
    *s->listens = TRUE;
  raise_to (&s->effect, s->stmt);
  s->n_words = 0;
  s->first[0] = s->second[0] = s->third[0] = s->prev[0] = '\0';
  s->is_do = FALSE;
  s->stmt = DAL_SESSION_CLEAN;
}

/* One word of the statement: @word as written (@len bytes); @quoted for
 * a "quoted identifier" (its case is kept, it is no keyword). */
static void
take_word (Scan *s, const char *word, gsize len, gboolean quoted)
{
  char w[WORD_MAX];
  if (len >= WORD_MAX)
    {
      if (!quoted)
        s->n_words++;
      s->prev[0] = '\0';
      return;
    }
  for (gsize i = 0; i < len; i++)
    w[i] = quoted || word[i] < 'A' || word[i] > 'Z' ? word[i] : word[i] + ('a' - 'A');
  w[len] = '\0';

  /* (Every word of every statement comes here: the first letter spares
   * most of them the comparisons.) */
  if ((w[0] == 'p' || w[0] == 's') && is_one_of (w, session_functions))
    raise_to (&s->stmt, DAL_SESSION_RESETTABLE);
  if (!quoted && s->in_body && strcmp (w, "listen") == 0)
    *s->listens = TRUE;   /* PL/pgSQL: LISTEN after BEGIN, THEN, ... */
  if (!quoted)
    {
      /* CREATE [GLOBAL|LOCAL|OR REPLACE] TEMP ..., SELECT ... INTO TEMP
       * (but INSERT / MERGE INTO temp name a table called "temp"). */
      if (w[0] == 't' && (strcmp (w, "temp") == 0 || strcmp (w, "temporary") == 0)
          && (is_one_of (s->prev, (const char * const[]) {
                           "create", "global", "local", "replace", NULL })
              || (strcmp (s->prev, "into") == 0
                  && !is_one_of (s->first, (const char * const[]) {
                                   "insert", "merge", NULL }))))
        raise_to (&s->stmt, DAL_SESSION_REPLACE);
      if (w[0] == 'p' && strcmp (w, "pg_temp") == 0 && strcmp (s->first, "create") == 0)
        raise_to (&s->stmt, DAL_SESSION_REPLACE);
      if (s->n_words == 0)
        {
          memcpy (s->first, w, len + 1);
          s->is_do = strcmp (w, "do") == 0;
        }
      else if (s->n_words == 1)
        memcpy (s->second, w, len + 1);
      else if (s->n_words == 2)
        memcpy (s->third, w, len + 1);
      s->n_words++;
    }
  memcpy (s->prev, w, len + 1);
}

/* The end of the dollar quote opened by @tag (@tag_len bytes, both
 * dollars included) whose body starts at @p, or NULL. */
static const char *
dollar_quote_end (const char *p, const char *end, const char *tag, gsize tag_len)
{
  for (; p + tag_len <= end; p++)
    if (*p == '$' && memcmp (p, tag, tag_len) == 0)
      return p;
  return NULL;
}

/* Skips white space and comments (-- to the end of the line, nested
 * block comments) from @p; NULL for an unterminated block comment. */
static const char *
skip_blank (const char *p, const char *end)
{
  while (p < end)
    {
      if (g_ascii_isspace (*p))
        p++;
      else if (*p == '-' && p + 1 < end && p[1] == '-')
        {
          while (p < end && *p != '\n')
            p++;
        }
      else if (*p == '/' && p + 1 < end && p[1] == '*')
        {
          guint depth = 1;
          p += 2;
          while (depth > 0)
            {
              if (p + 1 >= end)
                return NULL;
              if (p[0] == '/' && p[1] == '*')
                depth++, p += 2;
              else if (p[0] == '*' && p[1] == '/')
                depth--, p += 2;
              else
                p++;
            }
        }
      else
        break;
    }
  return p;
}

/* The text between @p and @end; REPLACE when it cannot be read. */
static DalSessionEffect
classify (const char *p, const char *end, gboolean *listens, gboolean in_body,
          GArray *bounds)
{
  Scan s = { 0 };
  s.listens = listens;
  s.in_body = in_body;
  s.bounds = bounds;
  s.origin = s.stmt_start = p;

  while (p < end)
    {
      guchar c = (guchar) *p;

      if (g_ascii_isspace (c) || (c == '-' && p + 1 < end && p[1] == '-')
          || (c == '/' && p + 1 < end && p[1] == '*'))
        {
          p = skip_blank (p, end);
          if (p == NULL)
            goto unreadable;   /* unterminated comment */
          continue;
        }
      if (c != ';')
        s.stmt_content = TRUE;
      if (c == '\'' || c == '"')
        {
          /* 'text' ('' inside), "identifier" ("" inside); E'text' is
           * read where the E is (below). */
          const char *body = ++p;
          for (;;)
            {
              if (p >= end)
                goto unreadable;
              if ((guchar) *p == c)
                {
                  if (p + 1 < end && (guchar) p[1] == c)
                    {
                      p += 2;
                      continue;
                    }
                  break;
                }
              p++;
            }
          if (c == '"')
            take_word (&s, body, p - body, TRUE);
          else if (s.is_do)
            raise_to (&s.stmt, classify (body, p, listens, TRUE, NULL));
          p++;
        }
      else if (c == '$' && p + 1 < end && g_ascii_isdigit (p[1]))
        {
          p++;                                /* $1: a parameter */
          while (p < end && g_ascii_isdigit (*p))
            p++;
        }
      else if (c == '$')
        {
          const char *q = p + 1;
          if (q < end && is_word_start (*q))
            while (q < end && is_word_char (*q) && *q != '$')
              q++;
          if (q < end && *q == '$')
            {
              gsize tag_len = q + 1 - p;
              const char *close = dollar_quote_end (q + 1, end, p, tag_len);
              if (close == NULL)
                goto unreadable;
              if (s.is_do)
                raise_to (&s.stmt, classify (q + 1, close, listens, TRUE, NULL));
              p = close + tag_len;
            }
          else
            p++;
        }
      else if ((c == 'e' || c == 'E') && p + 1 < end && p[1] == '\'')
        {
          /* E'text': backslash escapes, and '' too. */
          const char *body = p + 2;
          p = body;
          for (;;)
            {
              if (p >= end)
                goto unreadable;
              if (*p == '\\' && p + 1 < end)
                p += 2;
              else if (*p == '\'' && p + 1 < end && p[1] == '\'')
                p += 2;
              else if (*p == '\'')
                break;
              else
                p++;
            }
          if (s.is_do)
            raise_to (&s.stmt, classify (body, p, listens, TRUE, NULL));
          p++;
        }
      else if (is_word_start (c))
        {
          const char *word = p;
          while (p < end && is_word_char (*p))
            p++;
          take_word (&s, word, p - word, FALSE);
        }
      else if (c == ';')
        {
          end_statement (&s);
          add_bounds (&s, p);
          p++;
        }
      else
        {
          /* Numbers, operators, punctuation: no word, but they separate
           * words ("create temp" must be adjacent). */
          s.prev[0] = '\0';
          p++;
          while (p < end && (g_ascii_isalnum (*p) || *p == '.') && g_ascii_isdigit (c))
            p++;
        }
    }
  end_statement (&s);
  add_bounds (&s, end);
  return s.effect;

unreadable:
  /* An unterminated quote or comment: the rest is one statement (the
   * server says what is wrong with it). */
  s.stmt_content = TRUE;
  add_bounds (&s, end);
  return DAL_SESSION_REPLACE;
}

/* The last text a thread classified, and what it does: a service runs
 * the same statements over and over, and the pool classifies each of
 * them (a text comparison costs a tenth of reading the text). */
typedef struct
{
  char *sql;
  DalSessionEffect effect;
  gint opens_tx;             /* -1: not asked yet; else a gboolean */
} LastClassified;

#define LAST_CLASSIFIED_MAX 1024   /* longer texts are not kept */

static void
last_classified_free (gpointer data)
{
  LastClassified *last = data;
  g_free (last->sql);
  g_free (last);
}

static GPrivate last_classified = G_PRIVATE_INIT (last_classified_free);

/* Whether @sql may leave a transaction block open: a BEGIN (or an AND
 * CHAIN), or any text with a ';' in it (several statements, or one this
 * does not read). */
static gboolean
may_open_transaction (const char *sql)
{
  return strchr (sql, ';') != NULL
         || dal_sql_transaction_control (sql) == DAL_SQL_TX_BEGIN;
}

DalSessionEffect
_dal_sql_statement_effects (const char *sql, gboolean *opens_tx)
{
  g_return_val_if_fail (sql != NULL, DAL_SESSION_REPLACE);
  LastClassified *last = g_private_get (&last_classified);
  if (last != NULL && last->sql != NULL && strcmp (last->sql, sql) == 0)
    {
      if (opens_tx != NULL)
        {
          if (last->opens_tx < 0)
            last->opens_tx = may_open_transaction (sql);
          *opens_tx = last->opens_tx;
        }
      return last->effect;
    }

  gsize len = strlen (sql);
  gboolean listens;
  DalSessionEffect effect = classify (sql, sql + len, &listens, FALSE, NULL);
  gint tx = opens_tx != NULL ? may_open_transaction (sql) : -1;
  if (opens_tx != NULL)
    *opens_tx = tx;
  if (len <= LAST_CLASSIFIED_MAX)
    {
      if (last == NULL)
        {
          last = g_new0 (LastClassified, 1);
          g_private_set (&last_classified, last);
        }
      g_free (last->sql);
      last->sql = g_strndup (sql, len);
      last->effect = effect;
      last->opens_tx = tx;
    }
  return effect;
}

DalSessionEffect
_dal_sql_session_effect (const char *sql)
{
  return _dal_sql_statement_effects (sql, NULL);
}

gboolean
dal_sql_is_copy (const char *sql)
{
  g_return_val_if_fail (sql != NULL, FALSE);
  const char *p = skip_blank (sql, sql + strlen (sql));
  return p != NULL && g_ascii_strncasecmp (p, "copy", 4) == 0 && !is_word_char (p[4]);
}

gboolean
_dal_sql_listens (const char *sql)
{
  g_return_val_if_fail (sql != NULL, FALSE);
  gboolean listens = FALSE;
  /* Unreadable text (an unterminated quote) is no LISTEN: the server
   * refuses it anyway. */
  classify (sql, sql + strlen (sql), &listens, FALSE, NULL);
  return listens;
}

/* -- transaction control -- */

#define TX_WORDS 8

/* The first words of @sql (lower case; "" past the last), up to the
 * first thing that is not a plain word: enough to tell transaction
 * control and the statements that must run outside a transaction
 * block. */
static guint
first_words (const char *sql, char words[TX_WORDS][WORD_MAX])
{
  const char *p = sql, *end = sql + strlen (sql);
  guint n = 0;
  for (guint i = 0; i < TX_WORDS; i++)
    words[i][0] = '\0';
  while (n < TX_WORDS)
    {
      p = skip_blank (p, end);
      if (p == NULL || p >= end || !is_word_start (*p))
        break;
      const char *w = p;
      while (p < end && (is_word_char (*p) || *p == '.'))
        p++;
      gsize len = MIN ((gsize) (p - w), WORD_MAX - 1);
      for (gsize i = 0; i < len; i++)
        words[n][i] = g_ascii_tolower (w[i]);
      words[n][len] = '\0';
      n++;
    }
  return n;
}

DalSqlTxControl
dal_sql_transaction_control (const char *sql)
{
  g_return_val_if_fail (sql != NULL, DAL_SQL_TX_NONE);
  char w[TX_WORDS][WORD_MAX];
  guint n = first_words (sql, w);
  if (n == 0)
    return DAL_SQL_TX_NONE;

  const char *a = w[0], *b = w[1];
  if (strcmp (a, "begin") == 0 || (strcmp (a, "start") == 0 && strcmp (b, "transaction") == 0))
    return DAL_SQL_TX_BEGIN;
  if (is_one_of (a, (const char * const[]) { "savepoint", "release", NULL }))
    return DAL_SQL_TX_SAVEPOINT;
  if (is_one_of (a, (const char * const[]) { "commit", "end", "rollback", "abort", NULL }))
    {
      gboolean chain = FALSE;
      for (guint i = 1; i < n; i++)
        {
          if (strcmp (w[i], "to") == 0)
            return DAL_SQL_TX_SAVEPOINT;   /* ROLLBACK [WORK] TO [SAVEPOINT] */
          if (strcmp (w[i], "chain") == 0 && strcmp (w[i - 1], "and") == 0)
            chain = TRUE;
        }
      /* COMMIT / ROLLBACK PREPARED 'id' cannot run inside a transaction
       * block and leaves none open: like an end. */
      return chain ? DAL_SQL_TX_BEGIN : DAL_SQL_TX_END;
    }
  if (strcmp (a, "prepare") == 0 && strcmp (b, "transaction") == 0)
    return DAL_SQL_TX_END;

  /* What PostgreSQL runs only outside a transaction block. */
  if (strcmp (a, "vacuum") == 0
      || (is_one_of (a, (const char * const[]) { "create", "drop", NULL })
          && is_one_of (b, (const char * const[]) { "database", "tablespace",
                                                     "subscription", NULL }))
      || (strcmp (a, "alter") == 0
          && is_one_of (b, (const char * const[]) { "system", "subscription", NULL }))
      || (strcmp (a, "reindex") == 0
          && is_one_of (b, (const char * const[]) { "system", "database", NULL })))
    return DAL_SQL_TX_OUTSIDE;
  if (is_one_of (a, (const char * const[]) { "create", "drop", "reindex", "alter", NULL }))
    for (guint i = 1; i < n; i++)
      if (strcmp (w[i], "concurrently") == 0)
        return DAL_SQL_TX_OUTSIDE;
  return DAL_SQL_TX_NONE;
}

/* -- splitting a script -- */

char **
dal_sql_split_statements (const char *sql, gsize **offsets, guint *n_statements)
{
  g_return_val_if_fail (sql != NULL, NULL);
  g_autoptr (GArray) bounds = g_array_new (FALSE, FALSE, sizeof (gsize));
  gboolean listens;
  classify (sql, sql + strlen (sql), &listens, FALSE, bounds);

  guint n = bounds->len / 2;
  const gsize *b = (const gsize *) (gpointer) bounds->data;
  char **statements = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    statements[i] = g_strndup (sql + b[2 * i], b[2 * i + 1] - b[2 * i]);
  if (offsets != NULL)
    {
      *offsets = g_new (gsize, n + 1);
      for (guint i = 0; i < n; i++)
        (*offsets)[i] = b[2 * i];
      (*offsets)[n] = 0;
    }
  if (n_statements != NULL)
    *n_statements = n;
  return statements;
}
