/* dal-bench-baseline.c: `dal bench` drives its raw-libpq baseline, a
 * program of its own (tools/dal-bench-libpq), over a pipe, so that the dal
 * binary does not link libpq and the baseline still takes its turns in the
 * same run as the plugins. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "dal-bench-baseline.h"

struct _Baseline
{
  GSubprocess *process;
  GOutputStream *in;         /* the program's stdin */
  GDataInputStream *out;     /* its stdout */
};

static gboolean
is_program (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR)
         && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
}

static char *
executable_in (const char *dir)
{
  char *path = g_build_filename (dir, BASELINE_PROGRAM, NULL);
  if (is_program (path))
    return path;
  g_free (path);
  return NULL;
}

static char *
named (const char *path, const char *where, GError **error)
{
  if (is_program (path))
    return g_strdup (path);
  g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED,
               "%s \"%s\" is not an executable file; name the raw-libpq baseline "
               "program (" BASELINE_PROGRAM ")", where, path);
  return NULL;
}

char *
baseline_find (const char *option, GError **error)
{
  if (option != NULL)
    return named (option, "--baseline", error);
  const char *env = g_getenv ("DAL_BENCH_BASELINE");
  if (env != NULL && *env != '\0')
    return named (env, "DAL_BENCH_BASELINE", error);

  char *path = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      g_autofree char *base = g_path_get_basename (dir);
      path = executable_in (dir);
      if (path == NULL && strcmp (base, ".libs") == 0)
        {
          /* a libtool build tree: the wrapper is one folder up */
          g_autofree char *up = g_path_get_dirname (dir);
          path = executable_in (up);
        }
    }
  if (path == NULL)
    path = executable_in (DAL_PKGLIBEXECDIR);
  if (path == NULL)
    g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED,
                 "cannot find the raw-libpq baseline program " BASELINE_PROGRAM
                 " (looked next to this program and in " DAL_PKGLIBEXECDIR "); "
                 "build it (make), or name it with --baseline PATH or "
                 "DAL_BENCH_BASELINE");
  return path;
}

static gboolean
send_line (Baseline *b, const char *line, GError **error)
{
  return g_output_stream_write_all (b->in, line, strlen (line), NULL, NULL, error)
         && g_output_stream_flush (b->in, NULL, error);
}

/* The program's next line; NULL with an error at EOF. */
static char *
read_line (Baseline *b, GError **error)
{
  GError *local = NULL;
  char *line = g_data_input_stream_read_line (b->out, NULL, NULL, &local);
  if (line == NULL && local == NULL)
    local = g_error_new (DAL_ERROR, DAL_ERROR_FAILED,
                         "the raw-libpq baseline program stopped (see its "
                         "messages above)");
  if (local != NULL)
    g_propagate_error (error, local);
  return line;
}

Baseline *
baseline_start (const char *program, DalUrl *url, const char *name,
                const char *mode, int n_conns, int capacity, int group,
                gboolean prepared, GError **error)
{
  Baseline *b = g_new0 (Baseline, 1);
  const char *argv[] = { program, NULL };
  b->process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE
                                          | G_SUBPROCESS_FLAGS_STDOUT_PIPE, error);
  if (b->process == NULL)
    {
      g_prefix_error (error, "starting %s: ", program);
      baseline_free (b);
      return NULL;
    }
  b->in = g_object_ref (g_subprocess_get_stdin_pipe (b->process));
  b->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (b->process));

  /* The keywords (the password among them) go over the pipe. */
  g_autoptr (GString) setup = g_string_new (NULL);
  const char * const *kw, * const *val;
  guint n = dal_url_get_keywords (url, &kw, &val);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *escaped = g_strescape (val[i], NULL);
      g_string_append_printf (setup, "kw %s %s\n", kw[i], escaped);
      memset (escaped, 0, strlen (escaped));
    }
  g_string_append_printf (setup, "open %s %s %d %d %d %d\n", name, mode, n_conns,
                          capacity, group, prepared ? 1 : 0);
  gboolean ok = send_line (b, setup->str, error);
  memset (setup->str, 0, setup->len);
  g_autofree char *reply = ok ? read_line (b, error) : NULL;
  if (reply != NULL && strcmp (reply, "ok") != 0)
    g_set_error (error, DAL_ERROR, DAL_ERROR_CONNECT_FAILED,
                 "raw libpq could not open its connections (see above)");
  if (reply == NULL || strcmp (reply, "ok") != 0)
    {
      baseline_free (b);
      return NULL;
    }
  return b;
}

gboolean
baseline_slice (Baseline *b, Run *run, GError **error)
{
  char warmup[G_ASCII_DTOSTR_BUF_SIZE], measure[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *command = g_strdup_printf (
    "slice %s %s %s %s\n", workload_names[run->workload], shape_names[run->shape],
    g_ascii_dtostr (warmup, sizeof warmup, run->warmup_s),
    g_ascii_dtostr (measure, sizeof measure, run->measure_s));
  if (!send_line (b, command, error))
    return FALSE;
  g_autofree char *reply = read_line (b, error);
  if (reply == NULL)
    return FALSE;

  g_auto (GStrv) f = g_strsplit (reply, " ", -1);
  guint64 queries = 0, errors = 0, n = 0;
  double v[4];
  gboolean ok = g_strv_length (f) == 8 && strcmp (f[0], "done") == 0
                && g_ascii_string_to_unsigned (f[1], 10, 0, G_MAXUINT64, &queries, NULL)
                && g_ascii_string_to_unsigned (f[2], 10, 0, G_MAXUINT, &errors, NULL)
                && g_ascii_string_to_unsigned (f[7], 10, 0, G_MAXUINT32, &n, NULL)
                && n <= queries;
  for (int i = 0; ok && i < 4; i++)
    {
      char *end = NULL;
      v[i] = g_ascii_strtod (f[3 + i], &end);
      ok = end != f[3 + i] && *end == '\0';
    }
  if (!ok)
    {
      g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED,
                   "the raw-libpq baseline program answered \"%.40s\", not a "
                   "slice's figures: is " BASELINE_PROGRAM " from this build?",
                   reply);
      return FALSE;
    }
  run->queries = queries;
  run->errors = (guint) errors;
  run->measured_s = v[0];
  run->user_us = v[1];
  run->sys_us = v[2];
  run->csw = v[3];
  run->latencies = g_array_sized_new (FALSE, FALSE, sizeof (gint64), (guint) n);
  g_array_set_size (run->latencies, (guint) n);
  gsize got = 0;
  if (!g_input_stream_read_all (G_INPUT_STREAM (b->out), run->latencies->data,
                                n * sizeof (gint64), &got, NULL, error))
    return FALSE;
  if (got != n * sizeof (gint64))
    {
      g_set_error (error, DAL_ERROR, DAL_ERROR_FAILED,
                   "the raw-libpq baseline program stopped in the middle of its "
                   "latencies");
      return FALSE;
    }
  return TRUE;
}

void
baseline_free (Baseline *b)
{
  if (b == NULL)
    return;
  if (b->in != NULL)
    g_output_stream_close (b->in, NULL, NULL);
  if (b->process != NULL)
    g_subprocess_wait (b->process, NULL, NULL);
  g_clear_object (&b->in);
  g_clear_object (&b->out);
  g_clear_object (&b->process);
  g_free (b);
}
