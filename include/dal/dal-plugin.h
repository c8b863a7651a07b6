/* dal-plugin.h: everything a driver plugin includes.
 *
 * A plugin is a loadable module (libtool: -module -avoid-version) that
 * exports one symbol, a const DalPluginDescriptor, and ships a descriptor
 * file beside it so the registry knows what it serves without loading it:
 *
 *   # myplugin.plugin
 *   [libdal Plugin]
 *   Module=myplugin              # module file name without extension
 *   Dialect=postgresql
 *   Drivers=mydriver;            # the "driver" in dialect+driver://
 *   DialectDefault=false         # true: also serves the bare dialect://
 *   Description=What it is, in one line
 *
 * and in myplugin.c:
 *
 *   static const DalPluginFuncs funcs = { .connect = …, .query = …, … };
 *   static const char * const drivers[] = { "mydriver", NULL };
 *   DAL_PLUGIN_EXPORT const DalPluginDescriptor
 *   DAL_PLUGIN_DESCRIPTOR_SYMBOL (myplugin) = {
 *     DAL_PLUGIN_ABI_INIT,
 *     .name = "myplugin", .dialect = "postgresql", .drivers = drivers,
 *     .funcs = &funcs,
 *   };
 *
 * The symbol carries the module name (myplugin_LTX_dal_plugin_descriptor)
 * so that several plugins can be preloaded into one static program.
 *
 * ABI rules (as GStreamer's and SQLite's): the core refuses a plugin whose
 * ABI major differs from its own or whose minor is newer; DalPluginFuncs
 * only grows by appending, and the core never reads a slot beyond the
 * funcs_size the plugin was built with (a missing slot counts as NULL).
 */
#ifndef DAL_PLUGIN_H
#define DAL_PLUGIN_H

#include <dal/dal.h>

#define DAL_H_INSIDE
#include <dal/dal-version.h>
#undef DAL_H_INSIDE

G_BEGIN_DECLS

/* -- query parameters, as the core hands them to a plugin -- */

typedef enum
{
  DAL_PARAM_NULL = 0,  /* SQL NULL; values[i] is NULL */
  DAL_PARAM_BOOLEAN,   /* "t" / "f" */
  DAL_PARAM_INT16,     /* decimal text */
  DAL_PARAM_INT32,
  DAL_PARAM_INT64,
  DAL_PARAM_NUMERIC,   /* decimal text too large for int64 (GVariant 't') */
  DAL_PARAM_DOUBLE,    /* text that round-trips ("%.17g"), or NaN/Infinity/-Infinity */
  DAL_PARAM_TEXT,      /* UTF-8 text; its type is left for the server to infer */
  DAL_PARAM_BYTES,     /* raw bytes (binary format); lengths[i] counts them */
} DalParamType;

/**
 * DalParams:
 * @n: number of parameters ($1 … $n)
 * @types: the type of each
 * @values: each value as text (raw bytes for DAL_PARAM_BYTES), %NULL for
 *   SQL NULL; not NUL-terminated for bytes
 * @lengths: the length in bytes of each value
 *
 * Valid until the operation completes.
 */
typedef struct
{
  guint n;
  const DalParamType *types;
  const char * const *values;
  const int *lengths;
} DalParams;

/* -- results -- */

/**
 * DalResultFuncs:
 *
 * How the core reads a plugin's result without copying it.  Values are
 * text; get_value returns %NULL for SQL NULL.  All slots are required.
 */
typedef struct
{
  void          (*free)             (gpointer impl);
  guint         (*n_rows)           (gpointer impl);
  guint         (*n_columns)        (gpointer impl);
  const char   *(*column_name)      (gpointer impl, guint column);
  DalColumnType (*column_type)      (gpointer impl, guint column);
  const char   *(*column_type_name) (gpointer impl, guint column);
  const char   *(*get_value)        (gpointer impl, guint row, guint column,
                                     gsize *length);
  gint64        (*affected_rows)    (gpointer impl);
  const char   *(*command_tag)      (gpointer impl);
} DalResultFuncs;

/**
 * dal_result_new:
 * @funcs: (transfer none): static accessors
 * @impl: (transfer full): the plugin's result, freed with @funcs->free
 *
 * Returns: (transfer full): a DalResult wrapping @impl.
 */
DAL_AVAILABLE_IN_ALL
DalResult *dal_result_new (const DalResultFuncs *funcs, gpointer impl);

/* -- batches, COPY and notifications, as plugins see them (ABI 1.4) -- */

/**
 * DalBatchItem:
 * @sql: one statement
 * @params: its parameters
 *
 * One statement of a batch, as the core hands it to a plugin; valid
 * until the operation completes.
 */
typedef struct
{
  const char *sql;
  DalParams params;
} DalBatchItem;

typedef struct _DalBatchResult DalBatchResult;

/**
 * dal_batch_result_new:
 * @n_items: the number of statements in the batch
 *
 * For plugins: an empty result for a batch of @n_items statements, to be
 * filled with dal_batch_result_take().
 *
 * Returns: (transfer full): a new DalBatchResult.
 */
DAL_AVAILABLE_IN_ALL
DalBatchResult *dal_batch_result_new (guint n_items);

/**
 * dal_batch_result_take:
 * @batch_result: a result from dal_batch_result_new()
 * @index: the statement's index in the batch
 * @result: (transfer full) (nullable): its result, or
 * @error: (transfer full) (nullable): its error (exactly one is set)
 *
 * For plugins: sets what statement @index gave.
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_result_take (DalBatchResult *batch_result, guint index,
                            DalResult *result, GError *error);

/**
 * dal_batch_result_take_impl:
 * @batch_result: a result from dal_batch_result_new()
 * @index: the statement's index in the batch
 * @funcs: (transfer none): static accessors, as for dal_result_new()
 * @impl: (transfer full): the plugin's result, freed with @funcs->free
 *
 * For plugins: sets statement @index's result, as
 * dal_batch_result_take (batch_result, index, dal_result_new (funcs,
 * impl), NULL) would, without an allocation of its own: the statements'
 * DalResults live in one block of the batch result, and a reference
 * taken on one of them holds the batch result.
 */
DAL_AVAILABLE_IN_ALL
void dal_batch_result_take_impl (DalBatchResult *batch_result, guint index,
                                 const DalResultFuncs *funcs, gpointer impl);

/**
 * DalCopyReadFunc:
 * @source: the core's data source
 * @buffer: where to put the data
 * @size: the room in @buffer
 * @cancellable: (nullable): the caller's
 * @error: return location for an error
 *
 * Gives the next bytes of COPY data, in the format the COPY statement
 * names (the core encodes rows the caller supplies).  Blocks at most as
 * long as the caller's source does.
 *
 * Returns: the number of bytes put in @buffer, 0 at the end of the data,
 *   -1 on error.
 */
typedef gssize (*DalCopyReadFunc) (gpointer source, char *buffer, gsize size,
                                   GCancellable *cancellable, GError **error);

/**
 * DalCopyWriteFunc:
 * @sink: the core's data sink
 * @data: one row of COPY data as the server sent it (a whole row of text
 *   or csv format, its newline included; in binary format a chunk)
 * @size: its length in bytes
 * @cancellable: (nullable): the caller's
 * @error: return location for an error
 *
 * Returns: %FALSE (with @error set) to stop the COPY.
 */
typedef gboolean (*DalCopyWriteFunc) (gpointer sink, const char *data,
                                      gsize size, GCancellable *cancellable,
                                      GError **error);

/**
 * DalNotifyFunc:
 * @channel: the channel's name
 * @payload: the payload ("" when there is none)
 * @pid: the process ID of the server session that sent it
 * @user_data: what the core gave set_notify
 *
 * A notification the server sent (LISTEN/NOTIFY).
 */
typedef void (*DalNotifyFunc) (const char *channel, const char *payload,
                               gint pid, gpointer user_data);

/**
 * DalNoticeFunc:
 * @fields: (array fixed-size=14): the notice's fields, indexed by
 *   #DalErrorField (%DAL_ERROR_N_FIELDS entries, %NULL where the server
 *   sent none): at least %DAL_ERROR_FIELD_SEVERITY and
 *   %DAL_ERROR_FIELD_MESSAGE
 * @user_data: what the core gave set_notice
 *
 * A notice the server sent (NOTICE, WARNING, INFO, ... for example from
 * RAISE NOTICE): a message that is no error and answers no request.
 * @fields and its strings belong to the plugin and are valid during the
 * call only.
 */
typedef void (*DalNoticeFunc) (const char * const *fields, gpointer user_data);

/**
 * DalCall:
 *
 * The core's record of one async call handed to a plugin's query_call
 * slot: what GTask is to query_async, at a fraction of the cost.  The
 * plugin completes it with dal_call_return().
 */
typedef struct _DalCall DalCall;

/**
 * dal_call_get_cancellable:
 * @call: a call given to query_call
 *
 * Returns: (transfer none) (nullable): the caller's GCancellable.
 */
DAL_AVAILABLE_IN_ALL
GCancellable *dal_call_get_cancellable (DalCall *call);

/**
 * dal_call_return:
 * @call: (transfer full): a call given to query_call
 * @result: (transfer full) (nullable): the statement's result, or
 * @error: (transfer full) (nullable): why it failed (exactly one is set)
 *
 * Completes @call: the caller's callback runs now, on this thread, before
 * this returns; then the plugin's reference to @call is dropped.  Call it
 * exactly once per call, on the connection's main context, from a
 * dispatch of the plugin's own source (never from inside a call of the
 * application's).  A cancelled call completes with G_IO_ERROR_CANCELLED
 * as with GTask.
 */
DAL_AVAILABLE_IN_ALL
void dal_call_return (DalCall *call, DalResult *result, GError *error);

/* -- the function table -- */

/**
 * DalPluginFuncs:
 *
 * A plugin fills the blocking slots, the async slots, or both; the core
 * supplies the other half:
 *   - no async slots: the core runs the blocking slot in a worker thread,
 *     one operation at a time per connection, in order;
 *   - no blocking slots: the core runs the async slot on a private main
 *     context and waits (so an async-only plugin must attach its sources
 *     to g_task_get_context(task), never to a context of its own).  Such
 *     a blocking call iterates only that private context: while async
 *     calls started on the connection are still pending (their sources
 *     are due on the caller's context), the core refuses it with
 *     DAL_ERROR_BUSY instead of waiting forever.
 *
 * Async slots get a GTask the core made (source object, cancellable and
 * callback are the caller's), and own that reference: the plugin
 * completes the task exactly once, on g_task_get_context(task), then
 * unrefs it.  It completes with g_task_return_pointer() and the
 * connection handle with the plugin's close function as destroy notify
 * (connect_async: if the caller cancelled meanwhile, the core drops the
 * handle through it), or a DalResult and dal_result_unref (query_async),
 * or g_task_return_error().  g_task_get_cancellable(task)
 * gives the caller's GCancellable: a plugin that can cancel on the server
 * does so, and completes the task with G_IO_ERROR_CANCELLED.
 *
 * Errors are DAL_ERROR errors with the code of their failure class; the
 * message says what happened and what to change and never contains the
 * password (see dal_error_new_hint()).
 *
 * The connection handle is the plugin's own; the core only passes it back.
 */
typedef struct
{
  /* ABI 1.0 */
  gpointer   (*connect)       (DalUrl *url, GCancellable *cancellable,
                               GError **error);
  void       (*connect_async) (DalUrl *url, GTask *task);
  DalResult *(*query)         (gpointer conn, const char *sql,
                               const DalParams *params,
                               GCancellable *cancellable, GError **error);
  void       (*query_async)   (gpointer conn, const char *sql,
                               const DalParams *params, GTask *task);
  /* Required.  Frees the connection.  Tasks still pending on it complete
   * with DAL_ERROR_CLOSED.  Never called while a blocking slot runs; may
   * be called from another thread than the one that connected (the
   * worker, or the thread dropping the last reference). */
  void       (*close)         (gpointer conn);
  /* Optional: see dal_connection_get_info(). */
  char      *(*get_info)      (gpointer conn, const char *key);

  /* ABI 1.1 */
  /* Optional.  TRUE once the connection can serve no statement any more
   * (the server went away, or the plugin gave up on it, e.g. after a
   * cancel request that was never answered); it never becomes FALSE
   * again.  Must not block and may be called from any thread, also while
   * a blocking slot runs on another thread: read an atomic flag.  Without
   * this slot the core only learns of it from a DAL_ERROR_CONNECTION_LOST
   * error (see dal_connection_is_closed()). */
  gboolean   (*is_lost)       (gpointer conn);

  /* ABI 1.2 (both optional; for plugins with async slots, which live on
   * a main context: the pool moves idle connections between threads'
   * contexts and checks them before handing them out) */
  /* Moves an idle connection (nothing pending, no blocking call running)
   * to @context: from now on its sources are attached there and its
   * async calls come from there.  May be called from any thread, but
   * never while anyone iterates the old context on another thread nor
   * while a call on the connection runs.  Returns FALSE when it cannot
   * (then nothing changed). */
  gboolean   (*set_context)   (gpointer conn, GMainContext *context);
  /* On an idle connection: reads, without blocking, what the server sent
   * while it was idle (a termination notice, end of file) and returns
   * FALSE when the connection is gone (is_lost is TRUE from then on).
   * No round trip to the server.  Called like set_context. */
  gboolean   (*check_idle)    (gpointer conn);

  /* ABI 1.3 */
  /* Optional, blocking: runs @sql, any number of statements separated by
   * semicolons and no parameters, as one request (PostgreSQL's simple
   * query protocol), stopping at the first statement that fails; results
   * are dropped.  Honours @cancellable and the connection's statement
   * deadlines as the query slot does.  A failure's
   * DAL_ERROR_FIELD_POSITION counts characters in the whole of @sql.
   * Serves dal_connection_execute_script() (and so `dal migrate`). */
  gboolean   (*execute_script) (gpointer conn, const char *sql,
                                GCancellable *cancellable, GError **error);

  /* ABI 1.4 (all optional; without them the core refuses the call with
   * DAL_ERROR_UNSUPPORTED, naming the plugin) */
  /* Batches: the @n_items statements are sent together under one sync
   * point (one implicit transaction) and the result holds one DalResult
   * or GError per item (dal_batch_result_new() and
   * dal_batch_result_take()); a batch-level failure (nothing could run,
   * the connection was lost, cancelled) is an error instead.  The async
   * slot completes @task like query_async, with a DalBatchResult and
   * dal_batch_result_unref.  See dal-batch.h for the semantics. */
  DalBatchResult *(*batch)    (gpointer conn, const DalBatchItem *items,
                               guint n_items, GCancellable *cancellable,
                               GError **error);
  void       (*batch_async)   (gpointer conn, const DalBatchItem *items,
                               guint n_items, GTask *task);
  /* COPY, blocking (see dal-copy.h).  copy_in runs @sql (COPY ... FROM
   * STDIN) and feeds it what @read returns until it returns 0; copy_out
   * runs @sql (COPY ... TO STDOUT) and hands every row to @write as it
   * arrives.  Neither holds more than a bounded amount of data.  Both
   * return the number of rows the server reports, or -1 with @error set
   * (an error of @read or @write ends the COPY: the server rolls it
   * back). */
  gint64     (*copy_in)       (gpointer conn, const char *sql,
                               DalCopyReadFunc read, gpointer source,
                               GCancellable *cancellable, GError **error);
  gint64     (*copy_out)      (gpointer conn, const char *sql,
                               DalCopyWriteFunc write, gpointer sink,
                               GCancellable *cancellable, GError **error);
  /* Notifications (LISTEN/NOTIFY): from now on the plugin calls @func
   * for every notification the server sends, in the order they arrive,
   * with @user_data; @func NULL stops it.  The plugin may call @func from
   * any thread (the one that read the notification); the core brings it
   * to the right main context.  Returns FALSE if it cannot deliver
   * notifications on this connection. */
  gboolean   (*set_notify)    (gpointer conn, DalNotifyFunc func,
                               gpointer user_data);
  /* query_async without a GTask, for plugins that complete many calls
   * per main-context iteration (the core's DalCall costs a fraction of
   * a GTask).  Either returns FALSE at once, having started nothing and
   * kept nothing (e.g. the calling thread's default main context is not
   * the one the connection lives on: the core then uses query_async), or
   * takes @call (its reference and the duty to complete it) and returns
   * TRUE.  The plugin completes @call exactly once with
   * dal_call_return(), which runs the caller's callback before it
   * returns: so only from a dispatch of a source of its own on the
   * connection's main context, never from inside a call of the
   * application's (not from query_call itself, a blocking call or
   * close).  @sql and @params stay valid until then. */
  gboolean   (*query_call)    (gpointer conn, const char *sql,
                               const DalParams *params, DalCall *call);

  /* ABI 1.6 */
  /* Optional.  Notices (NOTICE, WARNING, INFO, ...: the server's
   * messages that are not errors): from now on the plugin calls @func
   * for every notice the server sends, in the order they arrive, with
   * @user_data; @func NULL stops it.  Like set_notify: any thread, the
   * core brings them to the connection's main context, in one queue with
   * the notifications (their relative order is kept).  Returns FALSE if
   * it cannot deliver notices on this connection. */
  gboolean   (*set_notice)    (gpointer conn, DalNoticeFunc func,
                               gpointer user_data);
} DalPluginFuncs;

/* -- waiting for an async operation (for plugins) -- */

/**
 * DalSyncCall:
 *
 * Runs an async operation to completion from blocking code, on a private
 * GMainContext, so that nothing else of the calling thread's is
 * dispatched meanwhile.  The one implementation of "start the async call,
 * iterate until it is done" for the core and the plugins:
 *
 *   DalSyncCall *call = dal_sync_call_new ();
 *   start_something_async (…, dal_sync_call_done, call);
 *   GAsyncResult *result = dal_sync_call_wait (call);
 *   value = start_something_finish (result, error);
 *   dal_sync_call_free (call);
 *
 * dal_sync_call_new() makes a private context and pushes it as the
 * calling thread's default; the operation must attach every source it
 * needs to that context (g_task_get_context() of a GTask made now, or
 * g_main_context_get_thread_default()), never to a context of its own or
 * to the global default: those are not iterated while it waits.
 * dal_sync_call_wait() iterates the private context until the operation's
 * callback ran, pops the context and returns the result (owned by @call,
 * valid until dal_sync_call_free()).  Everything happens on the calling
 * thread: new, wait and free on the same thread, once each, in that
 * order (free without wait is allowed only if the operation was never
 * started: it pops the context).
 */
typedef struct _DalSyncCall DalSyncCall;

DAL_AVAILABLE_IN_ALL
DalSyncCall  *dal_sync_call_new  (void);
/* The GAsyncReadyCallback to start the operation with; @call as user_data. */
DAL_AVAILABLE_IN_ALL
void          dal_sync_call_done (GObject *source, GAsyncResult *result,
                                  gpointer call);
/* Returns: (transfer none): the operation's result. */
DAL_AVAILABLE_IN_ALL
GAsyncResult *dal_sync_call_wait (DalSyncCall *call);
DAL_AVAILABLE_IN_ALL
void          dal_sync_call_free (DalSyncCall *call);

/* -- dialects: what a URL of the plugin's dialect may say (ABI 1.5) -- */

/**
 * DalUrlOptionType:
 * @DAL_URL_OPTION_STRING: any text
 * @DAL_URL_OPTION_DURATION: seconds, fractions allowed ("2.5"), >= 0
 * @DAL_URL_OPTION_UINT: a non-negative integer
 * @DAL_URL_OPTION_BOOLEAN: true/false, 1/0, yes/no, on/off
 * @DAL_URL_OPTION_ENUM: one of the option's choices
 * @DAL_URL_OPTION_PORT: 1 to 65535 (a comma list of them where the
 *   dialect has DAL_DIALECT_HOST_LIST)
 *
 * How the core checks an option's value before any I/O.
 */
typedef enum
{
  DAL_URL_OPTION_STRING = 0,
  DAL_URL_OPTION_DURATION,
  DAL_URL_OPTION_UINT,
  DAL_URL_OPTION_BOOLEAN,
  DAL_URL_OPTION_ENUM,
  DAL_URL_OPTION_PORT,
} DalUrlOptionType;

/* The option's value is a secret: redacted wherever the URL is shown,
 * like the password. */
#define DAL_URL_OPTION_SECRET (1u << 0)

/**
 * DalUrlOption:
 * @name: the option's name in the URL's query (case-sensitive)
 * @type: how its value is checked
 * @flags: DAL_URL_OPTION_SECRET
 * @choices: (nullable): the %NULL-terminated values of an ENUM option
 * @min_client_version: the client library version that brought it
 *   (MAJOR * 10000 + MINOR), 0 for any
 *
 * One option of a dialect's URLs.  Static data; only ever appended to.
 */
typedef struct
{
  const char *name;
  DalUrlOptionType type;
  guint flags;
  const char * const *choices;
  guint min_client_version;
} DalUrlOption;

/* Host and port may each list several servers ("h1,h2", "5432,5433"). */
#define DAL_DIALECT_HOST_LIST  (1u << 0)
/* The dialect's URLs name a file, not a server: a user, password, host or
 * port in the URL is an error. */
#define DAL_DIALECT_NO_SERVER  (1u << 1)

/**
 * DalDialectTlsInput:
 * @option: (nullable): the URL option that sets this input of the TLS
 *   policy ("sslmode"); %NULL: the dialect's URLs cannot set it
 * @env: (nullable): the environment variable the client library reads
 *   when the URL does not set it ("PGSSLMODE")
 */
typedef struct
{
  const char *option;
  const char *env;
} DalDialectTlsInput;

/**
 * DalDialectTls:
 * @mode: the TLS mode; its values are the policy's words (disable,
 *   allow, prefer, require, verify-ca, verify-full)
 * @root_cert, @cert, @key, @key_password, @crl, @crl_dir: the CA file,
 *   client certificate and key, the key's password, the CRL file and
 *   folder
 * @min_protocol, @max_protocol: TLS protocol bounds ("TLSv1.2")
 * @host, @host_address: the server names and numeric addresses the
 *   policy judges (local, Supabase) when the URL's host part is empty
 * @default_mode: (nullable): the client library's mode when nothing sets
 *   one ("prefer")
 * @default_dir: (nullable): the folder under the home directory where
 *   the client library looks for the files below (".postgresql")
 * @default_root_cert, @default_cert, @default_key: (nullable): the files
 *   in @default_dir it uses when nothing names one
 * @more_options: (nullable): the dialect's other TLS options, which the
 *   policy does not read, %NULL-terminated ("sslsni"): a configuration
 *   file's [tls] section takes them next to the inputs' options
 *
 * Where the core's TLS policy (docs/tls.md) finds its inputs in a URL of
 * the dialect and in the environment.  A dialect with a %NULL
 * DalDialect.tls is left alone by the policy.  Static data; fields are
 * only ever appended.
 */
typedef struct
{
  DalDialectTlsInput mode;
  DalDialectTlsInput root_cert;
  DalDialectTlsInput cert;
  DalDialectTlsInput key;
  DalDialectTlsInput key_password;
  DalDialectTlsInput crl;
  DalDialectTlsInput crl_dir;
  DalDialectTlsInput min_protocol;
  DalDialectTlsInput max_protocol;
  DalDialectTlsInput host;
  DalDialectTlsInput host_address;
  const char *default_mode;
  const char *default_dir;
  const char *default_root_cert;
  const char *default_cert;
  const char *default_key;
  const char * const *more_options;
} DalDialectTls;

/**
 * DalUrlNewerValue:
 * @option: an option of the dialect
 * @value: a value of it that only newer client libraries understand
 * @min_client_version: the version that brought it (as in DalUrlOption)
 * @what: (nullable): how messages name it ("sslrootcert=system (the
 *   operating system's CA store)"); %NULL: option=value
 * @hint: (nullable): what to write instead, for the message
 *
 * A value dal_url_check_client_version() refuses below
 * @min_client_version.  Static data.
 */
typedef struct
{
  const char *option;
  const char *value;
  guint min_client_version;
  const char *what;
  const char *hint;
} DalUrlNewerValue;

/**
 * DalDialectMapOption:
 * @name: a query option the dialect's options do not have
 * @value: (nullable): its decoded value; %NULL only asks which option
 *   @name stands for (an edit that removes it)
 * @mapped_value: (out): the value to store, static text (left alone when
 *   @value is %NULL)
 * @error: return location for a DAL_ERROR_URL_INVALID_VALUE
 *
 * Reads an older or foreign spelling of an option ("ssl=true" for
 * "sslmode=require").  Called while a URL is parsed or edited; must not
 * block.
 *
 * Returns: (nullable): the option @name stands for, with *@mapped_value
 *   set; %NULL when @name is not such a spelling (no error), or when
 *   @value is not one it takes (@error set).
 */
typedef const char *(*DalDialectMapOption) (const char *name,
                                            const char *value,
                                            const char **mapped_value,
                                            GError **error);

/**
 * DalDialectQueryHosts:
 * @values: the decoded values of the query's host= options, in order,
 *   %NULL-terminated (at least one)
 * @port_option: whether the query also has a port= option
 * @host: (out) (transfer full): the value for the dialect's host option
 * @port: (inout) (transfer full) (nullable): the value of its port option
 *   so far; the hook may free it and set another (or %NULL)
 * @error: return location for a DAL_ERROR_URL_INVALID_VALUE
 *
 * Reads a query that names servers with host= options (SQLAlchemy's
 * postgresql dialect takes several host= options and "host=name:port").
 * Called once the whole query is read; must not block.
 *
 * Returns: %FALSE with @error set when the options cannot be read so.
 */
typedef gboolean (*DalDialectQueryHosts) (const char * const *values,
                                          gboolean port_option,
                                          char **host, char **port,
                                          GError **error);

/**
 * DalDialectSessionSettings:
 * @value: (nullable): the value of the dialect's session option
 * @other: (out) (optional) (transfer full) (nullable): what @value says
 *   that is not a setting, written as the option takes it, or %NULL
 *
 * Reads the session settings a URL's session option carries (for
 * PostgreSQL, the "-c name=value" of libpq's "options").
 *
 * Returns: (transfer full) (nullable): { name, value, ..., %NULL }, or
 *   %NULL when there is none.
 */
typedef char **(*DalDialectSessionSettings) (const char *value, char **other);

/**
 * DalDialectSessionAppend:
 * @value: the session option's text so far (may be empty)
 * @name: a setting's name
 * @setting: its value
 *
 * Appends one setting to the session option's text, as
 * DalDialectSessionSettings will read it back (a configuration file's
 * [session] section is written so).
 */
typedef void (*DalDialectSessionAppend) (GString *value, const char *name,
                                         const char *setting);

/**
 * DalDialect:
 * @name: the canonical dialect ("postgresql"), as in the descriptor
 * @aliases: (nullable): other spellings of it, %NULL-terminated
 *   ("postgres")
 * @flags: DAL_DIALECT_* bits
 * @options: the options its URLs may set, in the client library's order
 * @n_options: how many
 * @user_option, @password_option, @host_option, @port_option,
 *   @path_option: (nullable): the option that the URL's user, password,
 *   host, port and path (after its first "/") set ("user", "password",
 *   "host", "port", "dbname" for PostgreSQL); %NULL where the dialect's
 *   URLs have no such part
 * @client_library: (nullable): the client library's name, for messages
 *   ("libpq")
 * @docs_hint: (nullable): where an unknown option's message sends the
 *   user ("See the libpq connection parameters")
 * @host_address_option: (nullable): the option that gives numeric
 *   addresses parallel to the host list ("hostaddr"): when set, it
 *   decides how many servers the URL names
 * @synonyms: (nullable): the names @map_option reads, %NULL-terminated
 *   (for "did you mean" suggestions)
 * @map_option: (nullable): reads the spellings in @synonyms
 * @tls: (nullable): where the core's TLS policy finds its inputs
 * @newer_values, @n_newer_values: option values that need a newer client
 *   library than their option does
 * @query_hosts: (nullable): reads the query's host= options (then they
 *   are not stored one by one; needs @host_option and @port_option);
 *   %NULL: host= is an option like any other
 * @session_option: (nullable): the option that carries session settings
 *   ("options"); %NULL: the dialect's URLs set none
 * @session_settings, @session_append: read and write @session_option
 *   (both set when it is)
 *
 * What a URL of the dialect may say: the core checks a URL against the
 * dialect of the plugin that will serve it, before any I/O, and refuses
 * an option that is neither the dialect's nor libdal's own (see
 * docs/plugins.md).  Static data; fields are only ever appended.
 */
typedef struct
{
  const char *name;
  const char * const *aliases;
  guint flags;
  const DalUrlOption *options;
  guint n_options;
  const char *user_option;
  const char *password_option;
  const char *host_option;
  const char *port_option;
  const char *path_option;
  /* Appended (ABI 1.5): */
  const char *client_library;
  const char *docs_hint;
  const char *host_address_option;
  const char * const *synonyms;
  DalDialectMapOption map_option;
  const DalDialectTls *tls;
  const DalUrlNewerValue *newer_values;
  guint n_newer_values;
  DalDialectQueryHosts query_hosts;
  const char *session_option;
  DalDialectSessionSettings session_settings;
  DalDialectSessionAppend session_append;
} DalDialect;

/* Capability bits: what `dal plugins` shows; the core relies on the
 * function slots, not on these. */
#define DAL_PLUGIN_CAP_ASYNC     (1u << 0)  /* serves async calls without threads */
#define DAL_PLUGIN_CAP_PIPELINE  (1u << 1)  /* many statements in flight per connection */
#define DAL_PLUGIN_CAP_CANCEL    (1u << 2)  /* cancels statements on the server */
#define DAL_PLUGIN_CAP_TLS       (1u << 3)  /* honours the TLS policy */

/* Descriptor flags. */
#define DAL_PLUGIN_DIALECT_DEFAULT (1u << 0) /* serves the bare dialect:// too */

/**
 * DalPluginDescriptor:
 * @abi_major, @abi_minor: the ABI the plugin was built against
 * @funcs_size: sizeof (DalPluginFuncs) as the plugin was built
 * @flags: DAL_PLUGIN_DIALECT_DEFAULT
 * @name: the module name ("pgsync")
 * @dialect: the canonical dialect ("postgresql")
 * @drivers: %NULL-terminated driver names
 * @caps: DAL_PLUGIN_CAP_* bits
 * @funcs: the function table
 * @description: one line for `dal plugins`
 * @dialect_info: (nullable): what the dialect's URLs may say (ABI 1.5);
 *   %NULL: the core accepts any option and leaves it to the plugin
 *
 * Fields are only ever appended, with a minor ABI bump.
 */
typedef struct
{
  guint32 abi_major;
  guint32 abi_minor;
  guint32 funcs_size;
  guint32 flags;
  const char *name;
  const char *dialect;
  const char * const *drivers;
  guint64 caps;
  const DalPluginFuncs *funcs;
  const char *description;
  /* ABI 1.5 */
  const DalDialect *dialect_info;
} DalPluginDescriptor;

#define DAL_PLUGIN_ABI_INIT \
  .abi_major = DAL_PLUGIN_ABI_MAJOR, .abi_minor = DAL_PLUGIN_ABI_MINOR, \
  .funcs_size = sizeof (DalPluginFuncs)

#define DAL_PLUGIN_DESCRIPTOR_SYMBOL(modname) \
  modname##_LTX_dal_plugin_descriptor

#define DAL_PLUGIN_EXPORT G_MODULE_EXPORT

/* -- errors, for plugins -- */

/**
 * dal_error_new_hint:
 * @code: the failure class
 * @hint: (nullable): one sentence saying what to change
 * @format: what happened (printf format)
 *
 * Makes a DAL_ERROR whose message is what happened followed by @hint.
 * Its retryable flag starts from @code (too many connections, a pooler's
 * client limit, a lost connection are retryable).
 *
 * Returns: (transfer full): a new GError.
 */
DAL_AVAILABLE_IN_ALL
GError *dal_error_new_hint (DalErrorCode code, const char *hint,
                            const char *format, ...) G_GNUC_PRINTF (3, 4);

/**
 * dal_printable:
 * @text: a user's text (an option's value, a host name)
 *
 * @text made safe to quote in a message: valid UTF-8 stays readable;
 * control characters, quotes, backslashes and bytes of invalid UTF-8
 * become \xNN.  The way libdal and its plugins quote values in errors.
 *
 * Returns: (transfer full): the text to show.
 */
DAL_AVAILABLE_IN_ALL
char *dal_printable (const char *text);

/* Sets a server field; setting the SQLSTATE also updates the retryable
 * flag from its class (40001, 40P01, 53xxx, 57P0x, 08xxx are retryable). */
DAL_AVAILABLE_IN_ALL
void dal_error_set_field (GError *error, DalErrorField field,
                          const char *value);
DAL_AVAILABLE_IN_ALL
void dal_error_set_retryable (GError *error, gboolean retryable);

/**
 * dal_error_redact:
 * @error: a DAL_ERROR (or any GError)
 * @secret: (nullable): text that must not appear, e.g. the password
 *
 * Replaces @secret with "****" in the message and the server fields,
 * without mangling text that merely shares letters with it:
 *
 *  - an occurrence counts when it is a whole token: where @secret starts
 *    (ends) with a letter or digit, the character before (after) it is
 *    not one, the start and end of the text counting as boundaries.  So
 *    a password between ':' and '@', in quotes, after "password=" or as
 *    a word of its own is replaced, while with the password "a" the text
 *    "could not resolve host name" stays as it is.  Repeats written
 *    back to back ("pwpw") count as one token;
 *  - a secret of 8 or more characters is replaced wherever it occurs,
 *    even glued to other letters: a chance match that long is improbable;
 *  - the hint (dal_error_get_hint() and the end of the message that
 *    repeats it) is advice written by libdal or the plugin, never a place
 *    for a secret, and is left alone, except when it is the server's own
 *    hint (redacted like the fields) or when @secret has 8 or more
 *    characters and is not a plain word of letters only.
 *
 * Plugins call it on every error they build from text they did not write
 * themselves.  Only the message of an error of another domain is
 * redacted, by the same rules.
 */
DAL_AVAILABLE_IN_ALL
void dal_error_redact (GError *error, const char *secret);

/* -- client library versions, for plugins -- */

/**
 * dal_url_check_client_version:
 * @url: the URL about to be connected
 * @version: the client library's version as MAJOR * 10000 + MINOR, the
 *   way libpq's PQlibVersion() gives it (150018 is 15.18)
 * @library: the library's name for the message ("libpq")
 * @error: return location for a DAL_ERROR_UNSUPPORTED error
 *
 * A plugin calls this before it connects.  Every option @url sets is
 * checked against the client library version that brought it (the
 * option table's min_client_version), and so are values only newer
 * versions understand (sslrootcert=system needs libpq 16).  The error
 * names the option, the version needed and the version found, instead of
 * the library's own "invalid connection option".
 *
 * Returns: %TRUE when the client library can do what @url asks.
 */
DAL_AVAILABLE_IN_ALL
gboolean dal_url_check_client_version (const DalUrl *url, guint version,
                                       const char *library, GError **error);

/**
 * DalSqlTxControl:
 * @DAL_SQL_TX_NONE: an ordinary statement: it runs in the transaction
 *   block that is open, or in a transaction of its own
 * @DAL_SQL_TX_BEGIN: a transaction block is open after it: BEGIN, START
 *   TRANSACTION, COMMIT / ROLLBACK ... AND CHAIN
 * @DAL_SQL_TX_END: no transaction block is open after it: COMMIT, END,
 *   ROLLBACK, ABORT, PREPARE TRANSACTION, COMMIT / ROLLBACK PREPARED
 * @DAL_SQL_TX_SAVEPOINT: SAVEPOINT, RELEASE, ROLLBACK TO
 * @DAL_SQL_TX_OUTSIDE: must run outside any transaction block, even an
 *   implicit one shared with another statement: VACUUM, CREATE / DROP
 *   DATABASE or TABLESPACE, ALTER SYSTEM, ... CONCURRENTLY
 *
 * What a statement does to the transaction, by its first words
 * (comments and letter case understood).
 */
typedef enum
{
  DAL_SQL_TX_NONE = 0,
  DAL_SQL_TX_BEGIN,
  DAL_SQL_TX_END,
  DAL_SQL_TX_SAVEPOINT,
  DAL_SQL_TX_OUTSIDE,
} DalSqlTxControl;

/**
 * dal_sql_transaction_control:
 * @sql: one statement
 *
 * The statement classifier's view of @sql's transaction control: how a
 * plugin tracks the transaction state that the statements it has queued
 * will leave (e.g. to send session settings with each transaction on a
 * transaction pooler).  No allocation; reads the first words only.
 *
 * Returns: what @sql does to the transaction.
 */
DAL_AVAILABLE_IN_ALL
DalSqlTxControl dal_sql_transaction_control (const char *sql);

/**
 * dal_sql_split_statements:
 * @sql: SQL text: statements separated by semicolons
 * @offsets: (out) (optional) (array length=n_statements) (transfer full):
 *   where each statement starts in @sql, in bytes
 * @n_statements: (out) (optional): how many statements there are
 *
 * Splits a script into its statements with the statement classifier's
 * lexer: a semicolon ends a statement only outside string literals
 * ('...', E'...'), quoted identifiers, dollar quotes and comments (nested
 * block comments too).  Each statement is the text from just after the
 * previous semicolon (or the start) up to its own semicolon, excluded,
 * exactly as written: leading blanks and comments are kept, so that a
 * server's error position counts from where the statement starts in
 * @sql.  Pieces holding nothing but blanks and comments are left out.
 * An unterminated quote or comment makes the rest of @sql one statement
 * (the server then says what is wrong with it).  Never fails.
 *
 * Returns: (transfer full) (array zero-terminated=1): the statements, in
 *   order; free with g_strfreev()
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
char **dal_sql_split_statements (const char *sql, gsize **offsets,
                                 guint *n_statements);

/* The connect budget when the URL has no connect_timeout: the whole
 * connect (every host tried) must finish within it. */
#define DAL_DEFAULT_CONNECT_TIMEOUT_MS 10000

G_END_DECLS

#endif /* DAL_PLUGIN_H */
