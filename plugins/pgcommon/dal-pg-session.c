/* dal-pg-session.c: session settings on a transaction pooler.
 *
 * On a direct connection or a session pooler, the URL's "options"
 * (-c name=value ...) travel in the startup packet and become the
 * session's defaults: nothing to do here.  A transaction pooler drops
 * them (PgBouncer's ignore_startup_parameters, Supabase's 6543), and
 * gives each transaction whatever server connection is free.  There the
 * plugins leave "options" out of the startup packet and send
 *   SELECT set_config($1, $2, true), set_config($3, $4, true), ...
 * in the same implicit transaction (same Sync) as each statement that
 * starts a transaction, or right after the BEGIN of an explicit one, so
 * that the pooler keeps one server connection for both.  The connect
 * engine checks the settings once (dal-pg-connect.c) so that a setting
 * the server refuses fails the connect, not every statement.
 */
#include "config.h"

#include <string.h>

#include "dal-pg.h"

#define SESSION_HINT_REFUSED \
  "Correct the setting's name or value in the URL's options (or the " \
  "configuration's [session] section).  A setting that cannot change " \
  "after the connection started (such as log_connections) cannot be " \
  "applied through a transaction pooler: set it for the role or database " \
  "on the server (ALTER ROLE ... SET, ALTER DATABASE ... SET), or connect " \
  "through the session port (5432) instead"

gboolean
dal_pg_session_new (DalUrl *url, DalPgSession **out, GError **error)
{
  *out = NULL;
  if (dal_url_get_option (url, "options") == NULL
      || !dal_url_is_transaction_pooler (url))
    return TRUE;

  g_autofree char *other = NULL;
  char **pairs = dal_pg_startup_options_parse (dal_url_get_option (url, "options"),
                                               &other);
  if (other != NULL)
    {
      g_strfreev (pairs);
      g_autofree char *shown = g_strescape (other, NULL);
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_UNSUPPORTED,
        "Keep only -c name=value settings in options, or connect through "
        "the session port (5432) instead of the transaction pooler",
        "the startup options \"%s\" cannot be used through a transaction "
        "pooler: it drops the startup packet's options, and only session "
        "settings (-c name=value) can be applied per transaction",
        shown));
      return FALSE;
    }
  if (pairs == NULL)
    return TRUE;

  DalPgSession *s = g_new0 (DalPgSession, 1);
  s->pairs = pairs;
  s->n = g_strv_length (pairs) / 2;
  GString *sql = g_string_new ("SELECT ");
  for (guint i = 0; i < s->n; i++)
    g_string_append_printf (sql, "%sset_config($%u, $%u, true)", i > 0 ? ", " : "",
                            2 * i + 1, 2 * i + 2);
  s->sql = g_string_free (sql, FALSE);
  *out = s;
  return TRUE;
}

void
dal_pg_session_free (DalPgSession *s)
{
  if (s == NULL)
    return;
  g_strfreev (s->pairs);
  g_free (s->sql);
  g_free (s);
}

gboolean
dal_pg_session_send (const DalPgSession *s, PGconn *conn)
{
  return PQsendQueryParams (conn, s->sql, (int) (2 * s->n), NULL,
                            (const char * const *) s->pairs, NULL, NULL, 0);
}

/* The setting the server's message names ("... parameter \"name\" ..."),
 * or NULL. */
static const char *
named_setting (const DalPgSession *s, const char *message)
{
  for (guint i = 0; message != NULL && i < s->n; i++)
    {
      g_autofree char *quoted = g_strdup_printf ("\"%s\"", s->pairs[2 * i]);
      if (strstr (message, quoted) != NULL)
        return s->pairs[2 * i];
    }
  return NULL;
}

GError *
dal_pg_session_error (const DalPgSession *s, gint index, GError *server_error,
                      gboolean at_connect)
{
  g_autofree char *what = dal_pg_error_what_happened (server_error);
  const char *name = index >= 0 ? s->pairs[2 * index]
                                : named_setting (s, dal_error_get_field (server_error,
                                                                         DAL_ERROR_FIELD_MESSAGE));
  g_autofree char *which = name != NULL ? g_strdup_printf ("the session setting %s", name)
                                        : g_strdup ("a session setting");
  GError *e = dal_error_new_hint (
    at_connect ? DAL_ERROR_CONNECT_FAILED : DAL_ERROR_QUERY_FAILED,
    SESSION_HINT_REFUSED,
    "%s cannot be applied through the transaction pooler (each transaction "
    "sets it with set_config()): the server refused it: %s", which, what);
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    dal_error_set_field (e, i, dal_error_get_field (server_error, i));
  g_error_free (server_error);
  return e;
}
