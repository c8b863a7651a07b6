/* dal-plugin-files.h: which files loading a plugin reads, and whether
 * they are safe to load (dal-plugin-files.c).  Never installed. */
#ifndef DAL_PLUGIN_FILES_H
#define DAL_PLUGIN_FILES_H

#include <glib.h>

G_BEGIN_DECLS

/* The value of @key (e.g. "dlname") in the libtool archive @la_path,
 * without its quotes; NULL when the file cannot be read, has no such
 * line, or the value is empty.  Free it. */
G_GNUC_INTERNAL char *_dal_libtool_archive_get (const char *la_path,
                                                const char *key);

/* Before the loader runs: checks every file that loading the module
 * @module_base (a path without extension, as lt_dlopenadvise() takes it)
 * may read, the descriptor file @descriptor_file (nullable) and the
 * folders holding them, symbolic links followed.  Each must be owned by
 * root or by geteuid() and not be writable by group or others.  On
 * refusal, FALSE and a DAL_ERROR_PLUGIN_LOAD_FAILED error naming
 * @plugin_name, the file and what to change. */
G_GNUC_INTERNAL gboolean _dal_plugin_files_check (const char *plugin_name,
                                                  const char *descriptor_file,
                                                  const char *module_base,
                                                  GError **error);

G_END_DECLS

#endif /* DAL_PLUGIN_FILES_H */
