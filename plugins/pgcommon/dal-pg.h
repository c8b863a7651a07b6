/* dal-pg.h: what the PostgreSQL plugins (pgsync, pgasync) share.
 *
 *   - the connect engine: a plain state machine that tries the URL's hosts
 *     one by one (each resolved address in turn) with libpq's non-blocking
 *     connect, under a deadline per host and one for the whole connect;
 *   - a driver of that engine on a GMainContext (GSource per socket,
 *     GResolver for names, a timer for the deadline), used by pgasync as
 *     is and by pgsync on a private context;
 *   - error classification: libpq's failure text and PGresult fields to
 *     DAL_ERROR codes with a sentence saying what to change;
 *   - the DalResult wrapper over a PGresult, parameter arrays, get_info.
 *
 * Linked into each plugin; nothing here is exported from a module.
 */
#ifndef DAL_PG_H
#define DAL_PG_H

#include <dal/dal-plugin.h>
#include <libpq-fe.h>

G_BEGIN_DECLS

/* -- the connect engine -- */

typedef enum
{
  DAL_PG_STEP_RESOLVE,  /* resolve dal_pg_connector_get_resolve_host() */
  DAL_PG_STEP_READ,     /* wait until the fd is readable (or the deadline) */
  DAL_PG_STEP_WRITE,    /* wait until the fd is writable (or the deadline) */
  DAL_PG_STEP_DONE,     /* connected: dal_pg_connector_steal_conn() */
  DAL_PG_STEP_FAILED,   /* dal_pg_connector_take_error() */
} DalPgStep;

/* How long each phase of a connect took (µs), for get_info's
 * "connect_ms_*" keys.  The phases are those of the attempt that
 * succeeded; total runs from the start of the connect (failed hosts and
 * addresses included). */
typedef struct
{
  gint64 dns;    /* resolving that host's name; 0 for an address or socket */
  gint64 tcp;    /* the TCP (or Unix socket) connect */
  gint64 tls;    /* SSLRequest and handshake; 0 without TLS */
  gint64 auth;   /* startup message to ready: authentication, session start */
  gint64 total;
} DalPgTimings;

typedef struct _DalPgConnector DalPgConnector;

DalPgConnector *dal_pg_connector_new (DalUrl *url);
void dal_pg_connector_free (DalPgConnector *c);
/* Advances as far as it can without blocking; call it again when the fd
 * is ready, when the deadline has passed, or after set_addresses(). */
DalPgStep dal_pg_connector_step (DalPgConnector *c);
int dal_pg_connector_get_fd (DalPgConnector *c);
/* Monotonic time (µs) by which the current step must end; G_MAXINT64: none. */
gint64 dal_pg_connector_get_deadline (DalPgConnector *c);
const char *dal_pg_connector_get_resolve_host (DalPgConnector *c);
/* The addresses (text, e.g. "127.0.0.1", "::1") of the host being
 * resolved, or the resolver's error (taken). */
void dal_pg_connector_set_addresses (DalPgConnector *c, char **addresses,
                                     GError *error);
/* The connection once DONE, and the timings of its connect. */
PGconn *dal_pg_connector_steal_conn (DalPgConnector *c, DalPgTimings *timings);
GError *dal_pg_connector_take_error (DalPgConnector *c);
/* Once FAILED because a server certificate did not verify: a probe to run
 * (blocking, dal_pg_tls_probe_run) before the error is final, or NULL.
 * Its findings then go back with finish_tls_probe (@probe stays the
 * caller's). */
typedef struct _DalPgTlsProbe DalPgTlsProbe;
DalPgTlsProbe *dal_pg_connector_take_tls_probe (DalPgConnector *c);
void dal_pg_connector_finish_tls_probe (DalPgConnector *c, DalPgTlsProbe *probe);

/* Connects on g_task_get_context (@task) without blocking it; completes
 * @task (taking its reference) with a DalPgConnected whose PGconn is in
 * non-blocking mode (destroy notify dal_pg_connected_free) or an error;
 * honours the task's cancellable. */
void dal_pg_connect_async (DalUrl *url, GTask *task);
/* The same, blocking (dal-pg-sync.c): runs dal_pg_connect_async() on a
 * private main context (DalSyncCall) until it completes, so that nothing
 * of the caller's context is dispatched meanwhile.  Returns the PGconn as
 * dal_pg_connect_async() gives it (non-blocking mode; free it with
 * PQfinish) and fills @timings, or NULL and @error. */
PGconn *dal_pg_connect_sync (DalUrl *url, GCancellable *cancellable,
                             DalPgTimings *timings, GError **error);

/* -- errors -- */

/* What to change when a host name does not resolve (the engine's GResolver
 * path and the catalogue's libpq path say the same). */
#define DAL_PG_HINT_HOST_NOT_FOUND \
  "Check the host name in the URL for typos, and that this machine can " \
  "resolve it (DNS, /etc/hosts)"

/* A failed connect attempt, from libpq's (verbose) error text.  @where is
 * "host:port" for the message. */
GError *dal_pg_error_from_connect (const char *libpq_message, const char *where);
/* A failed statement: from the PGresult's fields (or, when @result is
 * NULL or has no SQLSTATE, from the connection's state). */
GError *dal_pg_error_from_result (PGconn *conn, const PGresult *result);
/* libpq's text without severity/SQLSTATE prefixes, on one line. */
char *dal_pg_clean_message (const char *libpq_message);
/* @error's message without the hint sentence it ends with. */
char *dal_pg_error_what_happened (const GError *error);
/* Takes @error (a connect failure towards @host) and returns it, or a
 * replacement with advice for that host: db.<ref>.supabase.co is
 * IPv6-only, so unreachable / unresolvable / timing out there gets a hint
 * naming the session pooler and the IPv4 add-on. */
GError *dal_pg_error_add_host_advice (GError *error, const char *host);

/* -- why a server certificate did not verify (dal-pg-tls.c) -- */

typedef enum
{
  DAL_PG_TLS_UNKNOWN = 0,   /* the probe could not tell */
  DAL_PG_TLS_EXPIRED,
  DAL_PG_TLS_NOT_YET_VALID,
  DAL_PG_TLS_UNTRUSTED,     /* not signed by a CA in sslrootcert */
  DAL_PG_TLS_REVOKED,
  DAL_PG_TLS_OTHER,
} DalPgTlsProblem;

struct _DalPgTlsProbe
{
  /* what to probe */
  char *address;            /* numeric address libpq connected to */
  char *port;
  char *server_name;        /* SNI; nullable */
  char *ca_file;            /* NULL: libpq's ~/.postgresql/root.crt */
  char *crl_file;           /* nullable */
  gint64 deadline;          /* monotonic µs; G_MAXINT64: a few seconds */
  /* the failure it explains (set by the connect engine) */
  guint failure_index;
  char *libpq_message;
  char *where;
  /* the findings */
  DalPgTlsProblem problem;
  char *detail;             /* one clause, e.g. "the server's certificate
                             * ("CN=db") has expired: it was valid until …" */
  int verify_error;         /* X509_V_ERR_* */
  int depth;
  char *subject, *issuer, *not_after, *not_before;  /* of the failing one */
  char *leaf_subject;       /* of the server's own certificate */
};

DalPgTlsProbe *dal_pg_tls_probe_new (const char *address, const char *port,
                                     const char *server_name,
                                     const char *ca_file, const char *crl_file);
void dal_pg_tls_probe_free (DalPgTlsProbe *probe);
/* Blocking (a worker thread): connects, asks for TLS, runs the handshake
 * and fills in the findings.  Sends nothing after the handshake. */
void dal_pg_tls_probe_run (DalPgTlsProbe *probe);
/* The connect error for a certificate that did not verify, with the
 * probe's findings (problem DAL_PG_TLS_UNKNOWN: libpq's words only). */
GError *dal_pg_error_from_tls_probe (const DalPgTlsProbe *probe);

/* The server certificate of @conn's TLS session: when it expires (text,
 * as dal_openssl_time_text) and the seconds left until then (negative:
 * expired).  FALSE without TLS or without a certificate. */
gboolean dal_pg_tls_peer_expiry (PGconn *conn, char **not_after,
                                 gint64 *seconds_left);

/* Input the socket no longer shows: TLS decrypts one record per read, so
 * after libpq's read OpenSSL may still hold the rest of a record libpq's
 * buffer could not take, or (with read-ahead) whole records it read from
 * the socket together.  poll() does not see them: whoever waits for the
 * socket to become readable asks this first, and reads now when it says
 * TRUE.  The start of a record whose rest is still on its way does not
 * count once a read stopped for it (the socket shows the rest): waiting
 * for it never spins.  @conn without TLS: FALSE. */
gboolean dal_pg_tls_input_pending (PGconn *conn);
/* The same for the OpenSSL session dal_pg_tls_read_ahead() returned (an
 * engine's hot path: no lookup), NULL: FALSE. */
gboolean dal_pg_tls_session_pending (gpointer session);
/* Turns on OpenSSL's read-ahead for @conn's TLS session, if it has one:
 * a read takes all the socket holds (one recv() for a TLS record, whose
 * header and body are otherwise read apart; and several records of a
 * pipeline in one).  Only for an engine that asks
 * dal_pg_tls_input_pending() before every wait: libpq's own blocking
 * waits do not see what read-ahead keeps.  Returns the OpenSSL session
 * (valid as long as @conn), or NULL without TLS. */
gpointer dal_pg_tls_read_ahead (PGconn *conn);

/* -- cancel requests and their deadlines (dal-pg-cancel.c) -- */

/* How long, after a cancel request (command_timeout or a GCancellable),
 * the server has to end the statement before the connection is given up;
 * the URL's cancel_timeout overrides it. */
#define DAL_PG_DEFAULT_CANCEL_TIMEOUT_MS 2000

typedef enum
{
  DAL_PG_CANCEL_NONE,
  DAL_PG_CANCEL_BY_CALLER,   /* its GCancellable */
  DAL_PG_CANCEL_BY_TIMEOUT,  /* command_timeout */
} DalPgCancelReason;

/* Sends cancel requests on threads of their own (PQcancel blocks with no
 * time limit on libpq 15), so that no caller, statement or GLib worker
 * waits for one; a request still hanging when the canceller is freed
 * finishes on its own, holding nothing of the connection. */
typedef struct _DalPgCanceller DalPgCanceller;

DalPgCanceller *dal_pg_canceller_new (void);
void dal_pg_canceller_free (DalPgCanceller *c);
/* Asks the server to cancel what @conn runs now.  FALSE when no request
 * could be started (the caller then gives the connection up at its
 * deadline). */
gboolean dal_pg_canceller_send (DalPgCanceller *c, PGconn *conn);
/* Requests sent and not answered yet. */
guint dal_pg_canceller_pending (DalPgCanceller *c);
/* Readable whenever a request has ended; acknowledge() makes it quiet. */
int dal_pg_canceller_get_fd (DalPgCanceller *c);
void dal_pg_canceller_acknowledge (DalPgCanceller *c);

gint64 dal_pg_cancel_timeout_ms (DalUrl *url);

/* The error of a statement that failed with @server_error (taken) after a
 * cancel request: G_IO_ERROR_CANCELLED for the caller's, the timeout error
 * for command_timeout, the "cancel meant for the statement before it"
 * error when it was @exposed to another statement's request; otherwise
 * @server_error itself.  Every server field is kept. */
GError *dal_pg_error_cancelled (GError *server_error, DalPgCancelReason reason,
                                gboolean exposed, gint64 command_timeout_ms);
/* The error of a statement whose cancel request the server left
 * unanswered past cancel_timeout (the connection is then closed). */
GError *dal_pg_error_cancel_unanswered (DalPgCancelReason reason,
                                        gint64 command_timeout_ms,
                                        gint64 cancel_timeout_ms);
/* DAL_ERROR_CONNECTION_LOST: "connection to the server was lost: @why",
 * with the one hint (@why is a clause without a hint of its own). */
GError *dal_pg_error_connection_gone (const char *why);

/* -- COPY FROM STDIN / TO STDOUT (dal-pg-copy.c) -- */

/* The most COPY data held at once, each way: a chunk read from the
 * source (and what libpq queues of it). */
#define DAL_PG_COPY_CHUNK (64 * 1024)

/* A COPY on a plugin's connection, outside pipeline mode, with nothing
 * else in flight.  The plugin fills the first four fields; the engine
 * sets the others. */
typedef struct
{
  PGconn *conn;
  DalPgCanceller *canceller;   /* the plugin's */
  gint64 command_timeout_ms;   /* 0: none; for the whole COPY */
  gint64 cancel_timeout_ms;
  gint64 cancel_deadline;      /* out: when a cancel request went out, its
                                * cancel_timeout */
  gboolean gave_up;            /* out: a cancel request went unanswered:
                                * the plugin closes the connection */
  gboolean was_nonblocking;
} DalPgCopy;

/* The copy_in and copy_out slots (dal-plugin.h), blocking, on @c->conn
 * in either blocking mode (restored after). */
gint64 dal_pg_copy_in (DalPgCopy *c, const char *sql, DalCopyReadFunc read,
                       gpointer source, GCancellable *cancellable, GError **error);
gint64 dal_pg_copy_out (DalPgCopy *c, const char *sql, DalCopyWriteFunc write,
                        gpointer sink, GCancellable *cancellable, GError **error);

/* -- results and parameters -- */

/* Takes @result (PGRES_TUPLES_OK / PGRES_COMMAND_OK). */
DalResult *dal_pg_result_new (PGresult *result);
/* Statement @index of a batch gave @result (taken). */
void dal_pg_batch_result_take (DalBatchResult *br, guint index, PGresult *result);

#define DAL_PG_INLINE_PARAMS 16
typedef struct
{
  int n;
  Oid *types;
  int *formats;
  Oid inline_types[DAL_PG_INLINE_PARAMS];
  int inline_formats[DAL_PG_INLINE_PARAMS];
} DalPgParams;

/* Fills @out for PQsendQueryParams(); release with dal_pg_params_clear(). */
void dal_pg_params_init (DalPgParams *out, const DalParams *params);
void dal_pg_params_clear (DalPgParams *p);

/* -- connection facts -- */

/* A new connection as the connect engine hands it over: the PGconn and
 * the timings of its connect, which the plugin keeps beside it. */
typedef struct
{
  PGconn *conn;
  DalPgTimings timings;
} DalPgConnected;

/* Frees @c, closing its PGconn (PQfinish) unless taken (set to NULL). */
void dal_pg_connected_free (DalPgConnected *c);

/* get_info's keys for both plugins; @timings (nullable) as the connect
 * engine gave them. */
char *dal_pg_get_info (PGconn *conn, const DalPgTimings *timings,
                       const char *key);

/* On an idle connection (nothing sent that is still unanswered): reads,
 * without blocking, what the server sent since (poll() with timeout 0,
 * then PQconsumeInput()), and answers whether the connection still
 * serves.  FALSE when it is gone: end of file, a failed read, or a FATAL
 * message from the server (pg_terminate_backend, shutdown), which then
 * gives @why (may be NULL) its fields; otherwise @why is libpq's account.
 * Other notices read meanwhile go to @notify's notice function (the
 * plugin's DalPgNotify: also the receiver's argument, which this restores).
 * No round trip to the server. */
typedef struct _DalPgNotify DalPgNotify;   /* below */
gboolean dal_pg_check_idle (PGconn *conn, const DalPgNotify *notify,
                            GError **why);

/* -- notifications (dal-pg-notify.c) -- */

/* Where a plugin hands notifications: the core's set_notify arguments. */
struct _DalPgNotify
{
  DalNotifyFunc func;   /* NULL: none wanted (they are dropped) */
  gpointer user_data;
  DalNoticeFunc notice_func;   /* the core's set_notice arguments */
  gpointer notice_data;
};

/* The set_notify slot's work: records @func and @user_data; TRUE. */
gboolean dal_pg_notify_set (DalPgNotify *notify, DalNotifyFunc func,
                            gpointer user_data);
/* Hands every notification libpq has read (PQnotifies) to @notify, in
 * the order they came, and frees them (also with no function set, so
 * that libpq's list never grows).  Call it after every PQconsumeInput()
 * and after reading a statement's results; nothing when @conn is NULL.
 * Returns how many it handed over. */
guint dal_pg_notify_drain (PGconn *conn, const DalPgNotify *notify);
/* The set_notice slot's work: records @func and @user_data and makes
 * @notify the receiver of @conn's notices (PQsetNoticeReceiver; with
 * @func NULL, libpq's default one again: they are logged with g_debug);
 * TRUE.  @notify must outlive @conn. */
gboolean dal_pg_notice_set (PGconn *conn, DalPgNotify *notify,
                            DalNoticeFunc func, gpointer user_data);
/* A notice result's fields by DalErrorField (PQresultErrorField; NULL
 * where it has none): @fields holds DAL_ERROR_N_FIELDS pointers into
 * @result.  Errors are made from the same (dal_pg_error_from_result). */
void dal_pg_result_fields (const PGresult *result, const char **fields);
/* Hands the notice @res to @notify's function as the receiver does, or
 * (none set, or @notify NULL) logs it with g_debug. */
void dal_pg_notice_forward (const DalPgNotify *notify, const PGresult *res);

/* Destroys and unrefs *@source, if any, and sets it to NULL. */
void dal_pg_source_clear (GSource **source);

/* A blocking plugin's idle connection, watched for input on a main
 * context (dal-pg-notify.c): when its socket becomes readable and no
 * statement holds the watch, @read runs on that context (its dispatch),
 * under the watch's lock; it reads without blocking (dal_pg_check_idle)
 * and returns FALSE when the connection is gone, which stops the watch
 * for good.  While held (a statement runs, on any thread) the socket is
 * out of the context's poll set: nothing reads it and nothing wakes.
 * Every function may be called from any thread, but not from @read. */
typedef gboolean (*DalPgIdleRead) (gpointer data);
typedef struct _DalPgIdleWatch DalPgIdleWatch;
/* Watches @fd on @context (a reference is taken), not held. */
DalPgIdleWatch *dal_pg_idle_watch_new (int fd, GMainContext *context,
                                       DalPgIdleRead read, gpointer data);
/* Moves the watch to @context (when it differs). */
void dal_pg_idle_watch_set_context (DalPgIdleWatch *watch, GMainContext *context);
/* A statement starts: waits for a running @read to end, then takes the
 * socket out of the poll set. */
void dal_pg_idle_watch_hold (DalPgIdleWatch *watch);
/* The statement ended: the socket is watched again (unless stopped). */
void dal_pg_idle_watch_release (DalPgIdleWatch *watch);
/* Ends the watch: @read never runs again once this returns. */
void dal_pg_idle_watch_free (DalPgIdleWatch *watch);

/* -- session settings on a transaction pooler (dal-pg-session.c) -- */

typedef struct
{
  guint n;          /* settings */
  char **pairs;     /* name, value, ..., NULL (dal_url_get_session_settings) */
  char *sql;        /* SELECT set_config($1, $2, true), ... */
} DalPgSession;

/* *@out: the settings to send with each transaction, when @url leads to
 * a transaction pooler and its options hold settings; NULL otherwise
 * (they travel in the startup packet, or there are none).  FALSE and a
 * DAL_ERROR_UNSUPPORTED error when the options hold anything else, which
 * a transaction pooler would drop. */
gboolean dal_pg_session_new (DalUrl *url, DalPgSession **out, GError **error);
void dal_pg_session_free (DalPgSession *s);
/* Queues the set_config() statement (no Sync). */
gboolean dal_pg_session_send (const DalPgSession *s, PGconn *conn);
/* The error for @server_error (taken), raised by setting @index (-1:
 * found from the server's message), at connect or before a statement. */
GError *dal_pg_session_error (const DalPgSession *s, gint index,
                              GError *server_error, gboolean at_connect);

/* A statement run as a query turned out to be COPY to or from the
 * client, which the query API cannot serve (dal-pg-batch.c). */
GError *dal_pg_error_copy_in_query (void);
/* Ends a COPY FROM STDIN the query API was answered with: fails it on the
 * server (non-blocking; its error is not the statement's outcome). */
void dal_pg_copy_in_refuse (PGconn *conn);

/* -- batches (dal-pg-batch.c) -- */

/* DAL_ERROR_BATCH_ABORTED for a statement the server skipped because
 * statement @failed (from 0; >= @n_items: unknown) failed first. */
GError *dal_pg_batch_aborted_error (guint failed, guint n_items);

/* Where the session settings go for each statement of a batch (one sync
 * segment): once before the first statement of each transaction, after
 * a BEGIN that opens one. */
typedef struct
{
  gboolean in_block;  /* an explicit transaction block is open */
  gboolean live;      /* the settings hold in the current transaction */
} DalPgSessionTrack;

/* @in_block: a transaction block is open before the batch. */
void dal_pg_session_track_init (DalPgSessionTrack *t, gboolean in_block);
/* For the next statement: 1: the settings go before it, 2: after it,
 * 0: not with it. */
guint8 dal_pg_session_track_next (DalPgSessionTrack *t, const char *sql);

/* The libdal-level settings of a connection, read from its URL. */
gint64 dal_pg_command_timeout_ms (DalUrl *url);

/* -- the postgresql dialect (dal-pg-dialect.c) -- */

/* libpq's keywords, the "postgres" alias, the TLS inputs: what both
 * plugins' descriptors give as dialect_info. */
extern const DalDialect dal_pg_dialect;

/* -- the dialect's hooks -- */

/* DalDialect.query_hosts: SQLAlchemy's host= forms (dal-pg-hosts.c). */
gboolean dal_pg_query_hosts (const char * const *values, gboolean port_option,
                             char **host, char **port, GError **error);
/* DalDialect.session_settings: the settings in libpq's "options"
 * (-c name=value, -cname=value, --name=value), in the order written;
 * @other gets the rest (dal-pg-options.c). */
char **dal_pg_startup_options_parse (const char *options, char **other);
/* DalDialect.session_append: one more "-c name=value" in @options. */
void dal_pg_session_append (GString *options, const char *name,
                            const char *value);

G_END_DECLS

#endif /* DAL_PG_H */
