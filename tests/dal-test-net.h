/* dal-test-net.h: network and logging stand-ins for the TLS and error
 * tests: a log recorder, a fake GResolver, loopback listeners that never
 * answer, and a fake server that answers every connection with one
 * ErrorResponse (the way a pooler refuses a client).  Everything listens
 * on 127.0.0.1 only; nothing is ever resolved through the system.
 */
#ifndef DAL_TEST_NET_H
#define DAL_TEST_NET_H

#include <gio/gio.h>

G_BEGIN_DECLS

/* -- log recording -- */

/* Installs a log writer that records every message ("domain: message")
 * and then prints it as usual.  Call first thing in main(). */
void dal_test_log_install (void);
void dal_test_log_clear (void);
/* How many recorded messages contain @needle. */
guint dal_test_log_count (const char *needle);
/* Every recorded message, joined with newlines. */
char *dal_test_log_dump (void);

/* -- a fake resolver -- */

/* Makes a resolver the default that knows only the names added with
 * dal_test_resolver_add() (GLib itself answers IP literals and
 * "localhost"); any other name fails with G_RESOLVER_ERROR_NOT_FOUND. */
void dal_test_resolver_install (void);
void dal_test_resolver_add (const char *name, const char *address);
/* How many lookups reached the resolver (for @name, or all when NULL). */
guint dal_test_resolver_lookups (const char *name);

/* -- loopback listeners -- */

typedef struct _DalTestListener DalTestListener;

/* A TCP socket listening on 127.0.0.1 (any free port) that never
 * accepts: connections complete into its backlog and are never answered.
 * With @fill, one connection is made to it at once, so that with
 * backlog 0 further connection attempts hang in the TCP handshake. */
DalTestListener *dal_test_listener_new (int backlog, gboolean fill);
guint16 dal_test_listener_get_port (DalTestListener *l);
/* Accepts (and closes) whatever waits; returns how many connections
 * came in (not counting the filler). */
guint dal_test_listener_drain (DalTestListener *l);
void dal_test_listener_free (DalTestListener *l);

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
guint16 dal_test_unused_port (void);

/* -- a network in front of the real server -- */

typedef struct _DalTestProxy DalTestProxy;

/* A TCP proxy on 127.0.0.1:@port (0: any free port) to the real server
 * on 127.0.0.1:@upstream, forwarding on a thread of its own; NULL if
 * @port is taken.  With @slice > 0, what the server sends reaches the
 * client in slices of at most @slice bytes, @pause_us apart, as over a
 * network with a small segment size (TLS records arrive in pieces);
 * what the client sends goes through as it comes. */
DalTestProxy *dal_test_proxy_new (guint16 port, guint16 upstream, gsize slice,
                                  gulong pause_us);
guint16 dal_test_proxy_get_port (DalTestProxy *p);
/* Frozen, it reads and accepts nothing: a network that went silent (new
 * connections wait in the backlog, as at a stopped postmaster). */
void dal_test_proxy_set_frozen (DalTestProxy *p, gboolean frozen);
/* Stops the thread and closes the listener and every connection, as a
 * server that went down; a new proxy on the same port (at once: the
 * listeners reuse their address) brings it back. */
void dal_test_proxy_free (DalTestProxy *p);

/* -- a fake server that refuses every client -- */

typedef struct _DalTestFakeServer DalTestFakeServer;

/* Listens on 127.0.0.1; for each connection answers an SSLRequest (or
 * GSSENCRequest) with 'N', reads the StartupMessage, sends an
 * ErrorResponse (S/V FATAL, C @sqlstate, M @message) and closes. */
DalTestFakeServer *dal_test_fake_server_new (const char *sqlstate,
                                             const char *message);
guint16 dal_test_fake_server_get_port (DalTestFakeServer *s);
/* Clients that got the ErrorResponse. */
guint dal_test_fake_server_get_served (DalTestFakeServer *s);
void dal_test_fake_server_free (DalTestFakeServer *s);

/* -- certificates -- */

/* Runs openssl with @argv (NULL-terminated, without "openssl"); fails
 * the test if it fails. */
void dal_test_openssl (const char * const *argv);

G_END_DECLS

#endif /* DAL_TEST_NET_H */
