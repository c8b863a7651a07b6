/* query.c: open the database a URL names, run one statement with
 * parameters, print the rows.
 *
 *   examples/query [URL]        (without URL: $DATABASE_URL)
 *
 * The same program runs on every plugin: the URL's scheme picks it
 * (postgresql+asyncpg://, postgresql+psycopg2://, postgresql://).
 */
#include <stdio.h>

#include <dal/dal.h>

/* Prints an error the way a user can act on it. */
static int
fail (const char *what, const GError *error)
{
  /* The message says what happened and ends with what to change. */
  fprintf (stderr, "%s failed: %s\n", what, error->message);

  if (error->domain == DAL_ERROR)
    {
      fprintf (stderr, "  code:      %s\n", dal_error_code_to_string (error->code));
      if (dal_error_get_sqlstate (error) != NULL)
        fprintf (stderr, "  sqlstate:  %s\n", dal_error_get_sqlstate (error));
      /* The "what to change" sentence alone, e.g. for a log field. */
      if (dal_error_get_hint (error) != NULL)
        fprintf (stderr, "  hint:      %s\n", dal_error_get_hint (error));
      if (dal_error_is_retryable (error))
        fprintf (stderr, "  (trying again later may succeed)\n");
    }
  return 1;
}

int
main (int argc, char **argv)
{
  const char *url = argc > 1 ? argv[1] : g_getenv ("DATABASE_URL");
  if (url == NULL)
    {
      fprintf (stderr, "usage: %s URL   (or set DATABASE_URL)\n", argv[0]);
      return 2;
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (DalConnection) conn = dal_connection_open (url, NULL, &error);
  if (conn == NULL)
    return fail ("connect", error);

  /* $1 and $2 travel apart from the SQL text.  They are sent untyped and
   * the server infers their types from the statement: $1 is an integer
   * here, $2 a text. */
  g_autoptr (DalResult) result = dal_connection_query (
    conn,
    "SELECT n, n * n AS square, repeat($2, n) AS bar, "
    "       CASE WHEN n % 2 = 0 THEN 'even' END AS note "
    "FROM generate_series(1, $1) AS n",
    g_variant_new ("(is)", 5, "#"), NULL, &error);
  if (result == NULL)
    return fail ("query", error);

  guint n_rows = dal_result_get_n_rows (result);
  guint n_columns = dal_result_get_n_columns (result);

  for (guint c = 0; c < n_columns; c++)
    printf ("%s%s", c > 0 ? "\t" : "", dal_result_get_column_name (result, c));
  printf ("\n");

  for (guint r = 0; r < n_rows; r++)
    {
      for (guint c = 0; c < n_columns; c++)
        {
          /* Every value can be read as text; SQL NULL is NULL. */
          const char *value = dal_result_get_string (result, r, c, NULL);
          printf ("%s%s", c > 0 ? "\t" : "", value != NULL ? value : "NULL");
        }
      printf ("\n");
    }

  /* Typed getters convert on demand and fail on values that do not fit. */
  gint64 total = 0;
  for (guint r = 0; r < n_rows; r++)
    {
      total += dal_result_get_int64 (result, r, 1, &error);
      if (error != NULL)
        return fail ("reading a value", error);
    }
  printf ("(%u rows through %s; sum of squares %" G_GINT64_FORMAT ")\n", n_rows,
          dal_connection_get_plugin_name (conn), total);

  if (!dal_connection_close (conn, NULL, &error))
    return fail ("close", error);
  return 0;
}
