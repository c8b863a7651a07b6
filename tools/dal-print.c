/* dal-print.c: how `dal query` shows rows. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dal-tool.h"

/* Display width in characters of UTF-8 text (invalid bytes count as 1). */
static gsize
display_width (const char *s)
{
  return g_utf8_validate (s, -1, NULL) ? (gsize) g_utf8_strlen (s, -1) : strlen (s);
}

static void
pad (FILE *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    fputc (' ', out);
}

static gboolean
is_numeric (DalColumnType t)
{
  return t == DAL_COLUMN_INT16 || t == DAL_COLUMN_INT32 || t == DAL_COLUMN_INT64
         || t == DAL_COLUMN_FLOAT32 || t == DAL_COLUMN_FLOAT64
         || t == DAL_COLUMN_NUMERIC;
}

void
dal_tool_print_table (const DalResult *result, FILE *out)
{
  guint rows = dal_result_get_n_rows (result);
  guint cols = dal_result_get_n_columns (result);

  if (cols == 0)
    {
      const char *tag = dal_result_get_command_tag (result);
      fprintf (out, "%s\n", tag != NULL ? tag : "OK");
      return;
    }

  g_autofree gsize *width = g_new0 (gsize, cols);
  for (guint c = 0; c < cols; c++)
    {
      width[c] = display_width (dal_result_get_column_name (result, c));
      for (guint r = 0; r < rows; r++)
        {
          const char *v = dal_result_get_string (result, r, c, NULL);
          if (v != NULL)
            width[c] = MAX (width[c], display_width (v));
        }
    }

  for (guint c = 0; c < cols; c++)
    {
      const char *name = dal_result_get_column_name (result, c);
      gsize w = display_width (name);
      fprintf (out, "%s%*s%s", c > 0 ? " | " : " ", (int) ((width[c] - w) / 2), "", name);
      pad (out, width[c] - w - (width[c] - w) / 2);
    }
  fputc ('\n', out);
  for (guint c = 0; c < cols; c++)
    {
      fputs (c > 0 ? "-+-" : "-", out);
      for (gsize i = 0; i < width[c]; i++)
        fputc ('-', out);
    }
  fputs ("-\n", out);

  for (guint r = 0; r < rows; r++)
    {
      for (guint c = 0; c < cols; c++)
        {
          const char *v = dal_result_get_string (result, r, c, NULL);
          if (v == NULL)
            v = "";
          gsize w = display_width (v);
          fputs (c > 0 ? " | " : " ", out);
          if (is_numeric (dal_result_get_column_type (result, c)))
            {
              pad (out, width[c] - w);
              fputs (v, out);
            }
          else
            {
              fputs (v, out);
              if (c + 1 < cols)
                pad (out, width[c] - w);
            }
        }
      fputc ('\n', out);
    }
  fprintf (out, "(%u row%s)\n", rows, rows == 1 ? "" : "s");
}

static void
csv_field (FILE *out, const char *v)
{
  if (v == NULL)
    return;
  if (strpbrk (v, ",\"\r\n") == NULL)
    {
      fputs (v, out);
      return;
    }
  fputc ('"', out);
  for (const char *p = v; *p != '\0'; p++)
    {
      if (*p == '"')
        fputc ('"', out);
      fputc (*p, out);
    }
  fputc ('"', out);
}

void
dal_tool_print_csv (const DalResult *result, FILE *out)
{
  guint rows = dal_result_get_n_rows (result);
  guint cols = dal_result_get_n_columns (result);

  for (guint c = 0; c < cols; c++)
    {
      if (c > 0)
        fputc (',', out);
      csv_field (out, dal_result_get_column_name (result, c));
    }
  if (cols > 0)
    fputs ("\r\n", out);
  for (guint r = 0; r < rows; r++)
    {
      for (guint c = 0; c < cols; c++)
        {
          if (c > 0)
            fputc (',', out);
          csv_field (out, dal_result_get_string (result, r, c, NULL));
        }
      fputs ("\r\n", out);
    }
}

int
dal_tool_fail (const GError *error)
{
  fprintf (stderr, "dal: %s\n", error->message);
  return 1;
}

static int
compare_gint64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

void
dal_tool_sort_ns (GArray *ns)
{
  g_array_sort (ns, compare_gint64);
}

double
dal_tool_percentile_ms (GArray *sorted_ns, double fraction)
{
  if (sorted_ns->len == 0)
    return NAN;
  gsize rank = (gsize) ceil (fraction * sorted_ns->len);
  rank = CLAMP (rank, 1, sorted_ns->len);
  return g_array_index (sorted_ns, gint64, rank - 1) / 1e6;
}
