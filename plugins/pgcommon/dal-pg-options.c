/* dal-pg-options.c: session settings in libpq's "options" keyword, the
 * postgresql dialect's session option (DalDialect.session_settings and
 * .session_append): "-c name=value" and its other spellings, read the way
 * the server splits the startup packet's options.  The session settings
 * on transaction poolers (dal-pg-session.c) and a configuration file's
 * [session] section (written into "options" by the core) use it.
 */
#include "config.h"

#include <string.h>

#include "dal-pg.h"

/* Appends @token to @out as libpq's "options" wants it: spaces and
 * backslashes escaped with a backslash. */
static void
append_escaped (GString *out, const char *token)
{
  for (const char *p = token; *p != '\0'; p++)
    {
      if (*p == '\\' || g_ascii_isspace (*p))
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
}

/* Splits @options the way the server does (pg_split_opts): on unescaped
 * white space, a backslash taking the next character literally. */
static GPtrArray *
split_options (const char *options)
{
  GPtrArray *tokens = g_ptr_array_new_with_free_func (g_free);
  const char *p = options;
  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      GString *t = g_string_new (NULL);
      while (*p != '\0' && !g_ascii_isspace (*p))
        {
          if (*p == '\\' && p[1] != '\0')
            p++;
          g_string_append_c (t, *p++);
        }
      g_ptr_array_add (tokens, g_string_free (t, FALSE));
    }
  return tokens;
}

/* "name=value" as a setting: the server's spelling of the name ('-'
 * becomes '_'); FALSE without '=' or a name. */
static gboolean
take_setting (GPtrArray *pairs, const char *arg)
{
  const char *eq = strchr (arg, '=');
  if (eq == NULL || eq == arg)
    return FALSE;
  char *name = g_strndup (arg, eq - arg);
  g_strdelimit (name, "-", '_');
  g_ptr_array_add (pairs, name);
  g_ptr_array_add (pairs, g_strdup (eq + 1));
  return TRUE;
}

char **
dal_pg_startup_options_parse (const char *options, char **other)
{
  g_autoptr (GPtrArray) pairs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) rest = g_string_new (NULL);
  g_autoptr (GPtrArray) tokens = split_options (options != NULL ? options : "");

  for (guint i = 0; i < tokens->len; i++)
    {
      const char *t = tokens->pdata[i];
      if (strcmp (t, "-c") == 0 && i + 1 < tokens->len
          && take_setting (pairs, tokens->pdata[i + 1]))
        {
          i++;
          continue;
        }
      if (g_str_has_prefix (t, "-c") && t[2] != '\0' && take_setting (pairs, t + 2))
        continue;
      if (g_str_has_prefix (t, "--") && take_setting (pairs, t + 2))
        continue;
      if (rest->len > 0)
        g_string_append_c (rest, ' ');
      append_escaped (rest, t);
    }

  if (other != NULL)
    *other = rest->len > 0 ? g_strdup (rest->str) : NULL;
  if (pairs->len == 0)
    return NULL;
  g_ptr_array_add (pairs, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&pairs), FALSE);
}


/* One more "-c name=value" in the text of "options". */
void
dal_pg_session_append (GString *options, const char *name, const char *value)
{
  if (options->len > 0)
    g_string_append_c (options, ' ');
  g_string_append_printf (options, "-c %s=", name);
  append_escaped (options, value);
}
