/* dal-copy.c: COPY through the facade (dal-copy.h).
 *
 * The core checks the statement by its words (a COPY, the right
 * direction, text format for the _rows forms) before anything reaches the
 * server, then hands the plugin's copy_in / copy_out slot a source or a
 * sink of its own on the facade's blocking path (blocking_begin /
 * blocking_end: the worker's claim, the pool's statement count, redacted
 * errors).  Sources and sinks hold at most COPY_BUFFER bytes (plus one
 * row): rows are encoded into, and stream writes gathered in, a buffer of
 * that size.
 */
#include "config.h"

#include <string.h>

#include "dal-copy-private.h"

/* -- the statement -- */

/* What the words of a COPY statement say, outside quotes and comments. */
typedef struct
{
  gboolean is_copy;       /* its first word is COPY */
  gboolean stdin_, stdout_;
  gboolean not_text;      /* it names csv or binary */
} CopyWords;

static void
note_word (CopyWords *w, const char *word, gsize len, gboolean first)
{
  char lower[8];
  if (len >= sizeof lower)
    return;
  for (gsize i = 0; i < len; i++)
    lower[i] = g_ascii_tolower (word[i]);
  lower[len] = '\0';
  if (first)
    w->is_copy = strcmp (lower, "copy") == 0;
  else if (strcmp (lower, "stdin") == 0)
    w->stdin_ = TRUE;
  else if (strcmp (lower, "stdout") == 0)
    w->stdout_ = TRUE;
  else if (strcmp (lower, "csv") == 0 || strcmp (lower, "binary") == 0)
    w->not_text = TRUE;
}

/* Reads @sql's words; quoted literals and identifiers ('', "", E'' and
 * dollar quotes are not words) and comments are skipped. */
static CopyWords
copy_words (const char *sql)
{
  CopyWords w = { 0 };
  const char *p = sql;
  gboolean first = TRUE;
  while (*p != '\0')
    {
      if (*p == '\'' || *p == '"')
        {
          char q = *p++;
          while (*p != '\0' && *p++ != q)
            ;
        }
      else if (p[0] == '-' && p[1] == '-')
        p += strcspn (p, "\n");
      else if (p[0] == '/' && p[1] == '*')
        {
          const char *e = strstr (p + 2, "*/");
          p = e != NULL ? e + 2 : p + strlen (p);
        }
      else if (g_ascii_isalpha (*p) || *p == '_')
        {
          const char *start = p;
          while (g_ascii_isalnum (*p) || *p == '_' || *p == '$')
            p++;
          note_word (&w, start, p - start, first);
          first = FALSE;
        }
      else
        p++;
    }
  return w;
}

/* Refuses, before it reaches the server, a statement that is not a COPY
 * FROM STDIN (@in) or TO STDOUT, or that names another format than text
 * when the core encodes the rows (@rows). */
static gboolean
check_statement (const char *sql, gboolean in, gboolean rows, GError **error)
{
  CopyWords w = copy_words (sql);
  const char *want = in ? "COPY ... FROM STDIN" : "COPY ... TO STDOUT";
  if (!w.is_copy || (in ? !w.stdin_ : !w.stdout_))
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        in ? "Give it a statement such as COPY items (id, name) FROM STDIN"
           : "Give it a statement such as COPY items TO STDOUT, or COPY "
             "(SELECT ...) TO STDOUT",
        "the statement is not a %s, which this call runs", want));
      return FALSE;
    }
  if (rows && w.not_text)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        in ? "Leave the format out of the statement (text is the default), "
             "or send csv or binary data with dal_connection_copy_from_stream()"
           : "Leave the format out of the statement (text is the default), "
             "or read csv or binary data with dal_connection_copy_to_stream()",
        "the statement names the csv or binary format, but rows are %s in "
        "COPY's text format", in ? "encoded" : "decoded"));
      return FALSE;
    }
  return TRUE;
}

gboolean
_dal_copy_check (DalConnection *self, const char *sql, gboolean in, gboolean rows,
                 GError **error)
{
  if (!check_statement (sql, in, rows, error))
    return FALSE;
  if ((in ? (gpointer) self->funcs->copy_in : (gpointer) self->funcs->copy_out) == NULL)
    {
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Use a postgresql+asyncpg:// or postgresql+psycopg2:// URL for COPY",
        "the %s plugin cannot run COPY ... %s", dal_connection_get_plugin_name (self),
        in ? "FROM STDIN" : "TO STDOUT"));
      return FALSE;
    }
  return TRUE;
}

gint64
_dal_copy_run_slot (DalConnection *self, const char *sql, gboolean in, gpointer func,
                    gpointer data, GCancellable *cancellable, GError **error)
{
  return in ? self->funcs->copy_in (self->handle, sql, (DalCopyReadFunc) func, data,
                                    cancellable, error)
            : self->funcs->copy_out (self->handle, sql, (DalCopyWriteFunc) func, data,
                                     cancellable, error);
}

/* Runs the plugin's slot on the facade's blocking path. */
static gint64
run_copy (DalConnection *self, const char *sql, gboolean in, gboolean rows,
          gpointer func, gpointer data, GCancellable *cancellable, GError **error)
{
  if (!_dal_copy_check (self, sql, in, rows, error))
    return -1;

  GError *local = NULL;
  gint64 n = -1;
  gboolean claimed = FALSE;
  if (blocking_begin (self, sql, cancellable, &claimed, &local))
    n = _dal_copy_run_slot (self, sql, in, func, data, cancellable, &local);
  if (local == NULL && n < 0)
    local = _dal_copy_failed_error ();
  blocking_end (self, claimed, local, error);
  return local == NULL ? n : -1;
}

/* -- COPY FROM STDIN -- */

GError *
_dal_copy_failed_error (void)
{
  return dal_error_new_hint (DAL_ERROR_FAILED, NULL, "the COPY failed");
}

gssize
_dal_copy_stream_read (gpointer source, char *buffer, gsize size, GCancellable *cancellable,
             GError **error)
{
  return g_input_stream_read (source, buffer, size, cancellable, error);
}

gint64
dal_connection_copy_from_stream (DalConnection *self, const char *sql,
                                 GInputStream *input, GCancellable *cancellable,
                                 GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (G_IS_INPUT_STREAM (input), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  return run_copy (self, sql, TRUE, FALSE, (gpointer) _dal_copy_stream_read, input,
                   cancellable, error);
}

/* g_string_append_len() for bytes from elsewhere, at the cost of a
 * memcpy while @out has room (rows are encoded value by value). */
static inline void
append_bytes (GString *out, const char *p, gsize n)
{
  if (out->len + n >= out->allocated_len)
    {
      g_string_append_len (out, p, n);
      return;
    }
  memcpy (out->str + out->len, p, n);
  out->len += n;
  out->str[out->len] = '\0';
}

/* The bytes COPY's text format escapes (backslash, tab, newline,
 * carriage return): a table, since most values have none and are short
 * (a function like strcspn() costs more to set up than to run on them). */
static const guint8 needs_escape[256] = {
  ['\\'] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Appends @value in COPY's text format, then @sep. */
static void
encode_value (GString *out, const char *value, char sep)
{
  if (value == NULL)
    {
      char null[3] = { '\\', 'N', sep };
      append_bytes (out, null, 3);
      return;
    }
  const char *p = value;
  for (;;)
    {
      const char *plain = p;
      while (*p != '\0' && !needs_escape[(guchar) *p])
        p++;
      append_bytes (out, plain, p - plain);
      if (*p == '\0')
        break;
      char esc[2] = { '\\', *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\' };
      append_bytes (out, esc, 2);
      p++;
    }
  append_bytes (out, &sep, 1);
}

gssize
_dal_copy_rows_read (gpointer source, char *buffer, gsize size, GCancellable *cancellable,
           GError **error)
{
  RowSource *s = source;
  if (s->offset > 0)
    {
      g_string_erase (s->pending, 0, s->offset);
      s->offset = 0;
    }
  while (s->pending->len < size && !s->ended)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return -1;
      guint n = 0;
      const char * const *values = NULL;
      GError *local = NULL;
      if (!s->next_row (s->user_data, &n, &values, &local))
        {
          if (local != NULL)
            {
              g_propagate_error (error, local);
              return -1;
            }
          s->ended = TRUE;
          break;
        }
      for (guint i = 0; i < n; i++)
        encode_value (s->pending, values[i], i + 1 < n ? '\t' : '\n');
      if (n == 0)
        append_bytes (s->pending, "\n", 1);
    }
  gsize n = MIN (size, s->pending->len);
  memcpy (buffer, s->pending->str, n);
  s->offset = n;
  return n;
}

gint64
dal_connection_copy_from_rows (DalConnection *self, const char *sql,
                               DalCopyRowsFunc next_row, gpointer user_data,
                               GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (next_row != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  RowSource s = { next_row, user_data, g_string_sized_new (COPY_BUFFER + 1024), 0, FALSE };
  gint64 n = run_copy (self, sql, TRUE, TRUE, (gpointer) _dal_copy_rows_read, &s, cancellable,
                       error);
  g_string_free (s.pending, TRUE);
  return n;
}

/* -- COPY TO STDOUT -- */

gboolean
_dal_copy_sink_flush (StreamSink *s, GCancellable *cancellable, GError **error)
{
  gboolean ok = s->len == 0
                || g_output_stream_write_all (s->output, s->buffer, s->len, NULL,
                                              cancellable, error);
  s->len = 0;
  return ok;
}

gboolean
_dal_copy_stream_write (gpointer sink, const char *data, gsize size, GCancellable *cancellable,
              GError **error)
{
  StreamSink *s = sink;
  if (s->len + size > COPY_BUFFER && !_dal_copy_sink_flush (s, cancellable, error))
    return FALSE;
  if (size >= COPY_BUFFER)
    return g_output_stream_write_all (s->output, data, size, NULL, cancellable, error);
  memcpy (s->buffer + s->len, data, size);
  s->len += size;
  return TRUE;
}

gint64
dal_connection_copy_to_stream (DalConnection *self, const char *sql,
                               GOutputStream *output, GCancellable *cancellable,
                               GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  StreamSink s = { output, g_malloc (COPY_BUFFER), 0 };
  gint64 n = run_copy (self, sql, FALSE, FALSE, (gpointer) _dal_copy_stream_write, &s,
                       cancellable, error);
  if (n >= 0 && (!_dal_copy_sink_flush (&s, cancellable, error)
                 || !g_output_stream_flush (output, cancellable, error)))
    n = -1;
  g_free (s.buffer);
  return n;
}

/* The character a backslash escape stands for, or 0 for a numeric one. */
static char
unescape_char (char c)
{
  switch (c)
    {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    case 'x': return 0;
    default: return g_ascii_isdigit (c) && c < '8' ? 0 : c;
    }
}

/* Decodes the escapes of the field at @p (up to @end) in place; returns
 * its new end. */
static char *
decode_field (char *p, char *end)
{
  /* Most fields have no escape: nothing to move. */
  char *out = memchr (p, '\\', end - p);
  if (out == NULL)
    return end;
  p = out;
  while (p < end)
    {
      if (*p != '\\' || p + 1 >= end)
        {
          *out++ = *p++;
          continue;
        }
      p++;
      char c = unescape_char (*p);
      if (c != 0)
        {
          *out++ = c;
          p++;
          continue;
        }
      /* \ooo (1 to 3 octal digits) or \xhh (1 or 2 hex digits). */
      gboolean hex = *p == 'x';
      guint v = 0, digits = 0;
      if (hex)
        p++;
      while (p < end && digits < (hex ? 2u : 3u)
             && (hex ? g_ascii_isxdigit (*p) : (*p >= '0' && *p <= '7')))
        {
          v = v * (hex ? 16 : 8) + (hex ? (guint) g_ascii_xdigit_value (*p) : (guint) (*p - '0'));
          p++, digits++;
        }
      *out++ = digits > 0 ? (char) v : 'x';
    }
  return out;
}

gboolean
_dal_copy_rows_write (gpointer sink, const char *data, gsize size, GCancellable *cancellable,
            GError **error)
{
  RowSink *s = sink;
  if (size > 0 && data[size - 1] == '\n')
    size--;
  g_string_set_size (s->row, size);
  memcpy (s->row->str, data, size);

  /* s->values only grows: its first @n are this row's. */
  guint n = 0;
  char *p = s->row->str, *end = p + s->row->len;
  for (;;)
    {
      char *tab = memchr (p, '\t', end - p);
      char *field_end = tab != NULL ? tab : end;
      char *value = NULL;
      if (!(field_end - p == 2 && p[0] == '\\' && p[1] == 'N'))
        {
          *decode_field (p, field_end) = '\0';
          value = p;
        }
      if (n < s->values->len)
        s->values->pdata[n] = value;
      else
        g_ptr_array_add (s->values, value);
      n++;
      if (tab == NULL)
        break;
      p = tab + 1;
    }
  GError *local = NULL;
  if (s->row_func (s->user_data, n, (const char * const *) s->values->pdata, &local))
    return TRUE;
  if (local == NULL)
    local = dal_error_new_hint (DAL_ERROR_FAILED, "Set an error when the row "
                                "function returns FALSE",
                                "the row function stopped the COPY");
  g_propagate_error (error, local);
  return FALSE;
}

gint64
dal_connection_copy_to_rows (DalConnection *self, const char *sql,
                             DalCopyRowFunc row_func, gpointer user_data,
                             GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DAL_IS_CONNECTION (self), -1);
  g_return_val_if_fail (sql != NULL, -1);
  g_return_val_if_fail (row_func != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  RowSink s = { row_func, user_data, g_string_new (NULL), g_ptr_array_new () };
  gint64 n = run_copy (self, sql, FALSE, TRUE, (gpointer) _dal_copy_rows_write, &s, cancellable,
                       error);
  g_string_free (s.row, TRUE);
  g_ptr_array_unref (s.values);
  return n;
}
