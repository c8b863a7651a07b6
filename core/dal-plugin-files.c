/* dal-plugin-files.c: the files a plugin is loaded from, and whether
 * they are safe to load.
 *
 * Loading a module runs its code in the program.  Whoever can replace
 * the file, or write the folder that holds it (and so put another file
 * under its name), chooses that code.  So before the loader runs, every
 * file it may read for a plugin is checked: the descriptor file (which
 * names the module), the libtool archive (which names the shared object)
 * and each shared object the loader may try, with the folders holding
 * them, as named and after symbolic links.  Each must be owned by root or
 * by the user the program runs as, and not be writable by group or
 * others.  With every folder safe, the names cannot change between this
 * check and the loader's open, except by their owner.
 *
 * Which shared objects libltdl tries for "dir/name" (lt_dlopenadvise with
 * lt_dladvise_ext): "dir/name.la" first; from it, "libdir/dlname" when
 * installed, "dir/.libs/dlname" when not, then "dir/dlname"; without the
 * archive, "dir/name.so".  All of those that exist are checked, whichever
 * one the loader ends up opening.  Libraries a module links against are
 * the system loader's business (its own search path), not checked here. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ltdl.h>

#include "dal-private.h"
#include "dal-plugin-files.h"

char *
_dal_libtool_archive_get (const char *la_path, const char *key)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (la_path, &text, NULL, NULL))
    return NULL;
  g_autofree char *start = g_strconcat ("\n", key, "=", NULL);
  const char *line = strstr (text, start);
  if (line == NULL)
    return NULL;
  line += strlen (start);
  const char *end = strpbrk (line, "\n");
  if (end == NULL)
    end = line + strlen (line);
  g_autofree char *value = g_strndup (line, end - line);
  g_strstrip (value);
  gsize len = strlen (value);
  if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'')
    {
      value[len - 1] = '\0';
      memmove (value, value + 1, len - 1);
    }
  return *value != '\0' ? g_steal_pointer (&value) : NULL;
}

/* Adds @path to @files if it names something (a dangling link too: the
 * check then refuses it). */
static void
add_if_present (GPtrArray *files, char *path)
{
  struct stat st;
  if (lstat (path, &st) == 0)
    g_ptr_array_add (files, path);
  else
    g_free (path);
}

/* Every module file the loader may read for @base, in its order. */
static GPtrArray *
module_files (const char *base)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *la = g_strconcat (base, ".la", NULL);
  g_autofree char *dir = g_path_get_dirname (base);
  g_autofree char *dlname = _dal_libtool_archive_get (la, "dlname");

  add_if_present (files, g_strdup (la));
  if (dlname != NULL)
    {
      g_autofree char *installed = _dal_libtool_archive_get (la, "installed");
      g_autofree char *libdir = _dal_libtool_archive_get (la, "libdir");
      if (g_strcmp0 (installed, "yes") == 0 && libdir != NULL)
        add_if_present (files, g_build_filename (libdir, dlname, NULL));
      if (g_strcmp0 (installed, "yes") != 0)
        add_if_present (files, g_build_filename (dir, ".libs", dlname, NULL));
      add_if_present (files, g_build_filename (dir, dlname, NULL));
    }
  add_if_present (files, g_strconcat (base, LT_MODULE_EXT, NULL));
#if defined(LT_SHARED_EXT)
  if (strcmp (LT_SHARED_EXT, LT_MODULE_EXT) != 0)
    add_if_present (files, g_strconcat (base, LT_SHARED_EXT, NULL));
#endif
  return files;
}

/* Refuses @st (of @path, a file or a folder) unless root or we own it
 * and neither group nor others may write it. */
static gboolean
check_stat (const char *plugin_name, const char *path, const struct stat *st,
            gboolean is_dir, GError **error)
{
  const char *what = is_dir ? "folder" : "file";
  uid_t me = geteuid ();
  g_autofree char *shown = _dal_printable (path);

  if (st->st_uid != 0 && st->st_uid != me)
    {
      g_autofree char *hint = g_strdup_printf (
        "Give the %s to root or to the user that runs the program "
        "(chown root %s), or install the plugin in a folder of your own",
        what, shown);
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED, hint,
        "plugin %s is refused: the %s %s is owned by uid %u, which is "
        "neither root nor the user running this program (uid %u)",
        plugin_name, what, shown, (guint) st->st_uid, (guint) me);
      return FALSE;
    }
  if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_autofree char *hint = g_strdup_printf (
        "Run chmod go-w %s, so that only its owner can change %s", shown,
        is_dir ? "what it holds" : "it");
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED, hint,
        "plugin %s is refused: the %s %s is writable by %s (mode %04o), so "
        "someone else could put their code in its place",
        plugin_name, what, shown,
        (st->st_mode & S_IWOTH) != 0 ? "others" : "its group",
        (guint) (st->st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_folder (const char *plugin_name, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;
  if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    return TRUE;  /* then the loader finds nothing there either */
  return check_stat (plugin_name, dir, &st, TRUE, error);
}

/* @path, its folder, and (through links) the file and folder it is. */
static gboolean
check_file (const char *plugin_name, const char *path, GError **error)
{
  if (!check_folder (plugin_name, path, error))
    return FALSE;

  g_autofree char *real = realpath (path, NULL);
  if (real == NULL)
    {
      int saved = errno;
      g_autofree char *shown = _dal_printable (path);
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED,
        "Fix or remove the file (a symbolic link must lead to the module)",
        "plugin %s is refused: %s cannot be resolved: %s", plugin_name,
        shown, g_strerror (saved));
      return FALSE;
    }
  if (strcmp (real, path) != 0 && !check_folder (plugin_name, real, error))
    return FALSE;

  /* The file itself, opened without following a link that appeared
   * since realpath(). */
  int fd = open (real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_autofree char *shown = _dal_printable (real);
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED,
        "Make the file readable by the user that runs the program",
        "plugin %s is refused: %s cannot be opened: %s", plugin_name, shown,
        g_strerror (saved));
      return FALSE;
    }
  close (fd);
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *shown = _dal_printable (real);
      *error = dal_error_new_hint (
        DAL_ERROR_PLUGIN_LOAD_FAILED,
        "Install the plugin as a regular file",
        "plugin %s is refused: %s is not a regular file", plugin_name, shown);
      return FALSE;
    }
  return check_stat (plugin_name, real, &st, FALSE, error);
}

gboolean
_dal_plugin_files_check (const char *plugin_name, const char *descriptor_file,
                         const char *module_base, GError **error)
{
  g_return_val_if_fail (error != NULL && *error == NULL, FALSE);

  if (descriptor_file != NULL && !check_file (plugin_name, descriptor_file, error))
    return FALSE;
  g_autoptr (GPtrArray) files = module_files (module_base);
  for (guint i = 0; i < files->len; i++)
    if (!check_file (plugin_name, files->pdata[i], error))
      return FALSE;
  return TRUE;
}
