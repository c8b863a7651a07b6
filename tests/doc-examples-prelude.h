/* doc-examples-prelude.h: what the fragments of README.md and the
 * docs/ pages use without declaring it (tests/doc-examples.sh).  Every fragment gets
 * the types and functions; a fragment of statements (marked
 * <!-- doc-example: statements -->), compiled as the body of a function
 * with DOC_EXAMPLE_STATEMENTS defined, also gets the callbacks and the
 * variables of DOC_EXAMPLE_PRELUDE, in a block of its own after them (so
 * it may declare those names again). */
#ifndef DOC_EXAMPLES_PRELUDE_H
#define DOC_EXAMPLES_PRELUDE_H

#include <dal/dal.h>
#include <dal/dal-plugin.h>

/* The application's own things (docs/api.md, COPY). */
typedef struct
{
  const char *id_text, *name, *price_or_null;
} Item;
Item *next_item (gpointer cursor);

/* A plugin's slots (docs/plugins.md). */
gpointer my_connect (DalUrl *url, GCancellable *cancellable, GError **error);
DalResult *my_query (gpointer conn, const char *sql, const DalParams *params,
                     GCancellable *cancellable, GError **error);
void my_close (gpointer conn);
char *my_get_info (gpointer conn, const char *key);

#ifdef DOC_EXAMPLE_STATEMENTS
/* Callbacks the statement fragments name (other fragments define them). */
void on_result (GObject *source, GAsyncResult *result, gpointer user_data);
void on_notification (DalConnection *conn, const char *channel,
                      const char *payload, gint pid, gpointer user_data);
void on_notice (DalConnection *conn, const char *severity,
                const char *sqlstate, const char *message, const char *detail,
                const char *hint, gpointer user_data);
gboolean next_row (gpointer data, guint *n, const char * const **values,
                   GError **error);

#define DOC_EXAMPLE_PRELUDE \
  G_GNUC_UNUSED GError *error = NULL; \
  G_GNUC_UNUSED DalConnection *conn = NULL; \
  G_GNUC_UNUSED DalPool *pool = NULL; \
  G_GNUC_UNUSED DalUrl *url = NULL; \
  G_GNUC_UNUSED DalRegistry *registry = NULL; \
  G_GNUC_UNUSED DalConfig *config = NULL; \
  G_GNUC_UNUSED const char *text = NULL; \
  G_GNUC_UNUSED const char *sql = NULL; \
  G_GNUC_UNUSED const char *user = NULL; \
  G_GNUC_UNUSED const char *const *names = NULL; \
  G_GNUC_UNUSED GVariant *params = NULL; \
  G_GNUC_UNUSED GCancellable *cancellable = NULL; \
  G_GNUC_UNUSED gpointer data = NULL; \
  G_GNUC_UNUSED gpointer cursor = NULL; \
  G_GNUC_UNUSED gint64 id = 0;
#endif

#endif
