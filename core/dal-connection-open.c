/* dal-connection-open.c: opening a DalConnection (see dal-connection.c
 * for the facade as a whole).
 *
 * Before any plugin connects, the core's TLS policy runs (dal-tls.c:
 * effective TLS mode, OpenSSL preflight of the certificate files) and the
 * plugin gets the effective URL; the connection keeps the caller's.
 * dal_connection_open_async() resolves the plugin (which may load it) and
 * runs the TLS policy (which reads files) in a worker thread, so that the
 * caller's thread never waits for the disk.  A URL with pool_* options is
 * refused: dal_connection_open() opens no pool. */
#include "config.h"

#include "dal-connection-private.h"

/* Scrubs @url's password out of *@error, if set. */
static void
redact_url (DalUrl *url, GError **error)
{
  if (error != NULL && *error != NULL)
    dal_error_redact (*error, dal_url_get_password (url));
}

/* -- opening -- */

typedef struct
{
  DalRegistry *registry; /* the caller's (NULL: the default one); a
                          * reference in an async open's task data */
  DalUrl *url;           /* the caller's */
  DalUrl *plugin_url;    /* after the TLS policy: what the plugin gets */
  DalPlugin *plugin;
} OpenData;

static void
open_data_free (OpenData *d)
{
  dal_url_unref (d->url);
  g_clear_pointer (&d->registry, dal_registry_unref);
  g_clear_pointer (&d->plugin_url, dal_url_unref);
  g_free (d);
}

/* A URL with a pool option is not for a single connection: say so
 * rather than ignore it.  No I/O. */
static gboolean
refuse_pool_options (const DalUrl *url, GError **error)
{
  const char *option = NULL;
  if (!_dal_url_has_pool_options (url, &option))
    return TRUE;
  g_propagate_error (error,
                     dal_error_new_hint (DAL_ERROR_UNSUPPORTED,
                                         "Open a pool with dal_pool_open(), or "
                                         "drop the option from the URL",
                                         "the URL sets %s, a pool option, but "
                                         "dal_connection_open() opens one "
                                         "connection, not a pool", option));
  return FALSE;
}

/* The caller's task for opening @url, with the source tag @tag (the
 * _async function the caller called). */
static GTask *
open_task_new (DalRegistry *registry, DalUrl *url, GCancellable *cancellable,
               GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  g_task_set_name (task, "dal_connection_open_async");
  OpenData *d = g_new0 (OpenData, 1);
  /* The caller may drop the registry once the _async call returns. */
  d->registry = registry != NULL ? dal_registry_ref (registry) : NULL;
  d->url = dal_url_ref (url);
  g_task_set_task_data (task, d, (GDestroyNotify) open_data_free);
  return task;
}

/* The part of opening that may wait for the disk: resolving the plugin
 * (which may load its module) and the TLS policy (dal-tls.c: it reads the
 * certificate files; a configuration problem fails here, without any
 * network activity).  Sets d->plugin and d->plugin_url, or returns FALSE
 * with a redacted error. */
static gboolean
open_prepare (OpenData *d, GError **error)
{
  d->plugin = dal_registry_resolve (d->registry, d->url, error);
  if (d->plugin == NULL)
    {
      redact_url (d->url, error);
      return FALSE;
    }
  d->plugin_url = _dal_tls_apply (d->url, error);
  if (d->plugin_url == NULL)
    {
      redact_url (d->url, error);
      return FALSE;
    }
  return TRUE;
}

/* The plugin's blocking connect, once prepared. */
static DalConnection *
open_connect_blocking (OpenData *d, GCancellable *cancellable, GError **error)
{
  const DalPluginFuncs *funcs = _dal_plugin_get_funcs (d->plugin);
  gpointer handle = funcs->connect (d->plugin_url, cancellable, error);
  if (handle == NULL)
    {
      redact_url (d->url, error);
      return NULL;
    }
  return connection_new (d->url, d->plugin, handle);
}

static void
open_plugin_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;  /* the caller's */
  OpenData *d = g_task_get_task_data (task);
  GError *error = NULL;
  gpointer handle = g_task_propagate_pointer (G_TASK (result), &error);
  if (handle == NULL)
    {
      redact_url (d->url, &error);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, connection_new (d->url, d->plugin, handle),
                           g_object_unref);
  g_object_unref (task);
}

/* The plugin's connect_async, once prepared, on the thread-default
 * context (the caller's); takes @task's reference. */
static void
open_connect_async (GTask *task)
{
  OpenData *d = g_task_get_task_data (task);
  /* The plugin completes (and releases) its own task; ours follows. */
  GTask *inner = g_task_new (NULL, g_task_get_cancellable (task),
                             open_plugin_done, task);
  g_task_set_name (inner, "dal plugin connect");
  _dal_plugin_get_funcs (d->plugin)->connect_async (d->plugin_url, inner);
}

DalConnection *
dal_connection_open_url (DalRegistry *registry, DalUrl *url,
                         GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!refuse_pool_options (url, error))
    return NULL;
  OpenData prepared = { registry, url, NULL, NULL };
  if (!open_prepare (&prepared, error))
    return NULL;
  g_autoptr (DalUrl) plugin_url = prepared.plugin_url;
  if (_dal_plugin_get_funcs (prepared.plugin)->connect != NULL)
    return open_connect_blocking (&prepared, cancellable, error);

  /* An async-only plugin: its connect_async on a private context. */
  DalSyncCall *call = dal_sync_call_new ();
  GTask *task = open_task_new (registry, url, cancellable, dal_sync_call_done, call,
                               dal_connection_open_url_async);
  OpenData *d = g_task_get_task_data (task);
  d->plugin = prepared.plugin;
  d->plugin_url = dal_url_ref (plugin_url);
  open_connect_async (task);
  DalConnection *conn = dal_connection_open_url_finish (dal_sync_call_wait (call),
                                                       error);
  dal_sync_call_free (call);
  return conn;
}

DalConnection *
dal_connection_open (const char *url, GCancellable *cancellable, GError **error)
{
  /* (A NULL @url fails in dal_url_parse(), with "no URL given".) */
  g_autoptr (DalUrl) parsed = dal_url_parse (url, error);
  if (parsed == NULL)
    return NULL;
  return dal_connection_open_url (NULL, parsed, cancellable, error);
}

/* In a worker thread: prepares, and for a plugin without connect_async
 * connects as well (its blocking connect).  Completes @prep with the
 * connection, or with NULL when the plugin's connect_async is to follow
 * on the caller's context. */
static void
open_thread (GTask *prep, gpointer source, gpointer task_data,
             GCancellable *unused)
{
  GTask *task = task_data;  /* the caller's; open_prepared holds it */
  OpenData *d = g_task_get_task_data (task);
  GError *error = NULL;

  if (!open_prepare (d, &error))
    {
      g_task_return_error (prep, error);
      return;
    }
  if (_dal_plugin_get_funcs (d->plugin)->connect_async != NULL)
    {
      g_task_return_pointer (prep, NULL, NULL);
      return;
    }
  DalConnection *conn = open_connect_blocking (d, g_task_get_cancellable (task), &error);
  if (conn == NULL)
    g_task_return_error (prep, error);
  else
    g_task_return_pointer (prep, conn, g_object_unref);
}

/* Back on the caller's context. */
static void
open_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;  /* the caller's */
  GError *error = NULL;
  DalConnection *conn = g_task_propagate_pointer (G_TASK (result), &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else if (conn != NULL)
    {
      /* Made on a worker thread: notifications go to the caller's context. */
      _dal_notify_set_context (conn, g_task_get_context (task));
      g_task_return_pointer (task, conn, g_object_unref);
    }
  else if (!g_task_return_error_if_cancelled (task))
    {
      open_connect_async (task);
      return;
    }
  g_object_unref (task);
}

/* dal_connection_open_url_async(), its result tagged @tag. */
static void
open_url_async (DalRegistry *registry, DalUrl *url, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = open_task_new (registry, url, cancellable, callback, user_data, tag);
  GError *error = NULL;
  if (!refuse_pool_options (url, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* Nothing that may block runs on the caller's thread: the worker
   * prepares (and connects, for a plugin with blocking slots only), then
   * open_prepared() continues on the caller's context. */
  GTask *prep = g_task_new (NULL, NULL, open_prepared, task);
  g_task_set_name (prep, "dal open: plugin and TLS policy");
  g_task_set_task_data (prep, task, NULL);
  g_task_run_in_thread (prep, open_thread);
  g_object_unref (prep);
}

void
dal_connection_open_url_async (DalRegistry *registry, DalUrl *url,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (url != NULL);
  open_url_async (registry, url, cancellable, callback, user_data,
                  dal_connection_open_url_async);
}

/* The _finish of an open (no source object) tagged @tag: a result of
 * another call is a critical. */
gpointer
_dal_open_finish (GAsyncResult *result, gpointer tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, tag), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

DalConnection *
dal_connection_open_url_finish (GAsyncResult *result, GError **error)
{
  return _dal_open_finish (result, dal_connection_open_url_async, error);
}

/* Parses @url for an _async open: on failure completes a task of its
 * own (source tag @tag, so the _finish that goes with @tag takes it) with
 * the error, and returns NULL. */
DalUrl *
_dal_url_parse_for_async (const char *url, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data,
                          gpointer tag)
{
  GError *error = NULL;
  DalUrl *parsed = dal_url_parse (url, &error);
  if (parsed == NULL)
    {
      GTask *task = g_task_new (NULL, cancellable, callback, user_data);
      g_task_set_source_tag (task, tag);
      g_task_return_error (task, error);
      g_object_unref (task);
    }
  return parsed;
}

void
dal_connection_open_async (const char *url, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (DalUrl) parsed = _dal_url_parse_for_async (url, cancellable, callback,
                                                       user_data,
                                                       dal_connection_open_async);
  if (parsed == NULL)
    return;
  open_url_async (NULL, parsed, cancellable, callback, user_data,
                  dal_connection_open_async);
}

DalConnection *
dal_connection_open_finish (GAsyncResult *result, GError **error)
{
  return _dal_open_finish (result, dal_connection_open_async, error);
}

