/* dal-migrate-private.h: what dal-migrate.c and dal-migrate-files.c
 * share (and the tests).  Never installed. */
#ifndef DAL_MIGRATE_PRIVATE_H
#define DAL_MIGRATE_PRIVATE_H

#include "dal-private.h"

G_BEGIN_DECLS

/* The migrations in @directory, sorted by version (state PENDING, no
 * checksums yet); an odd file name, a version twice or a down file
 * without its up file is an error naming the file. */
GPtrArray *_dal_migrate_scan (const char *directory, GError **error);
/* SHA-256 of an up file's bytes, in hex. */
char *_dal_migrate_checksum (const char *contents, gsize length);
/* The line and column (1-based, in characters) of the server's error
 * @position (1-based characters from the start of @text). */
void _dal_migrate_line_column (const char *text, gint64 position,
                               guint *line, guint *column);

G_END_DECLS

#endif /* DAL_MIGRATE_PRIVATE_H */
