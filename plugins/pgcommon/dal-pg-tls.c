/* dal-pg-tls.c: why did the server's certificate not verify?
 *
 * libpq 15 reports every failed certificate check as "SSL error:
 * certificate verify failed": an expired certificate, one from another CA
 * and a revoked one all read the same.  When that happens, the connect
 * engine connects once more to the same address and port, asks for TLS
 * the way libpq does (SSLRequest), and runs the handshake with OpenSSL and
 * the same CA file, recording the first verification error instead of
 * stopping at it.  Nothing is sent after the handshake (no startup
 * message, no password); the socket is closed.  Blocking: the engine runs
 * it in a worker thread, within what is left of the connect budget.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/dal-openssl-util.h"
#include "dal-pg.h"

DalPgTlsProbe *
dal_pg_tls_probe_new (const char *address, const char *port,
                      const char *server_name, const char *ca_file,
                      const char *crl_file)
{
  dal_openssl_init_once ();
  DalPgTlsProbe *p = g_new0 (DalPgTlsProbe, 1);
  p->address = g_strdup (address);
  p->port = g_strdup (port != NULL ? port : "5432");
  p->server_name = g_strdup (server_name);
  p->ca_file = g_strdup (ca_file);
  p->crl_file = g_strdup (crl_file);
  p->deadline = G_MAXINT64;
  return p;
}

void
dal_pg_tls_probe_free (DalPgTlsProbe *p)
{
  if (p == NULL)
    return;
  g_free (p->address);
  g_free (p->port);
  g_free (p->server_name);
  g_free (p->ca_file);
  g_free (p->crl_file);
  g_free (p->libpq_message);
  g_free (p->where);
  g_free (p->detail);
  g_free (p->subject);
  g_free (p->issuer);
  g_free (p->not_after);
  g_free (p->not_before);
  g_free (p->leaf_subject);
  g_free (p);
}

static int
remaining_ms (const DalPgTlsProbe *p)
{
  if (p->deadline == G_MAXINT64)
    return 3000;
  gint64 ms = (p->deadline - g_get_monotonic_time ()) / 1000;
  return (int) CLAMP (ms, 0, 3000);
}

/* A TCP connection to the numeric address, or -1. */
static int
probe_connect (DalPgTlsProbe *p)
{
  struct addrinfo hints = { 0 };
  struct addrinfo *res = NULL;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo (p->address, p->port, &hints, &res) != 0 || res == NULL)
    return -1;

  int fd = socket (res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      freeaddrinfo (res);
      return -1;
    }
  int rc = connect (fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo (res);
  if (rc != 0 && errno != EINPROGRESS)
    {
      close (fd);
      return -1;
    }
  if (rc != 0)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLOUT };
      int err = 0;
      socklen_t len = sizeof err;
      if (poll (&pfd, 1, remaining_ms (p)) != 1
          || getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        {
          close (fd);
          return -1;
        }
    }

  /* Blocking from here on, each read and write bounded by the deadline. */
  struct timeval tv = { .tv_sec = remaining_ms (p) / 1000,
                        .tv_usec = (remaining_ms (p) % 1000) * 1000 };
  if (tv.tv_sec == 0 && tv.tv_usec == 0)
    tv.tv_usec = 1000;
  if (!g_unix_set_fd_nonblocking (fd, FALSE, NULL)
      || setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0
      || setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* The SSLRequest; TRUE when the server answers 'S'. */
static gboolean
probe_ssl_request (int fd)
{
  static const guchar request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
  if (send (fd, request, sizeof request, MSG_NOSIGNAL) != (ssize_t) sizeof request)
    return FALSE;
  char answer = 0;
  return recv (fd, &answer, 1, 0) == 1 && answer == 'S';
}

/* Records the first verification error and lets the handshake go on. */
static int
verify_cb (int ok, X509_STORE_CTX *store)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data (store, SSL_get_ex_data_X509_STORE_CTX_idx ());
  DalPgTlsProbe *p = ssl != NULL ? SSL_get_app_data (ssl) : NULL;
  X509 *leaf = X509_STORE_CTX_get0_cert (store);
  if (p != NULL && p->leaf_subject == NULL && leaf != NULL)
    p->leaf_subject = dal_openssl_name_text (X509_get_subject_name (leaf));
  if (ok)
    return 1;
  if (p != NULL && p->verify_error == 0)
    {
      X509 *cert = X509_STORE_CTX_get_current_cert (store);
      p->verify_error = X509_STORE_CTX_get_error (store);
      p->depth = X509_STORE_CTX_get_error_depth (store);
      if (cert != NULL)
        {
          p->subject = dal_openssl_name_text (X509_get_subject_name (cert));
          p->issuer = dal_openssl_name_text (X509_get_issuer_name (cert));
          p->not_after = dal_openssl_time_text (X509_get0_notAfter (cert));
          p->not_before = dal_openssl_time_text (X509_get0_notBefore (cert));
        }
    }
  return 1;
}

/* The CA file the probe verifies with: the URL's, else libpq's default. */
static char *
probe_ca_file (const DalPgTlsProbe *p)
{
  const DalDialectTls *tls = dal_pg_dialect.tls;
  if (p->ca_file != NULL)
    return g_strdup (p->ca_file);
  return g_build_filename (g_get_home_dir (), tls->default_dir,
                           tls->default_root_cert, NULL);
}

static void
describe (DalPgTlsProbe *p)
{
  const char *subject = p->subject != NULL ? p->subject : "?";
  const char *issuer = p->issuer != NULL ? p->issuer : "?";
  const char *leaf = p->leaf_subject != NULL ? p->leaf_subject : subject;
  g_autofree char *whose = p->depth == 0
    ? g_strdup_printf ("the server's certificate (\"%s\")", subject)
    : g_strdup_printf ("the CA certificate \"%s\" in the chain of the server's "
                       "certificate (\"%s\")", subject, leaf);
  g_autofree char *ca = probe_ca_file (p);

  switch (p->verify_error)
    {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      p->problem = DAL_PG_TLS_EXPIRED;
      p->detail = g_strdup_printf ("%s has expired: it was valid until %s",
                                   whose, p->not_after != NULL ? p->not_after : "?");
      break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      p->problem = DAL_PG_TLS_NOT_YET_VALID;
      p->detail = g_strdup_printf ("%s is not valid before %s (is this "
                                   "machine's clock right?)", whose,
                                   p->not_before != NULL ? p->not_before : "?");
      break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      p->problem = DAL_PG_TLS_UNTRUSTED;
      p->detail = g_strdup_printf ("the server's certificate (\"%s\") is issued "
                                   "under the CA \"%s\", which is not in the CA "
                                   "file \"%s\" (sslrootcert)", leaf, subject, ca);
      break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      p->problem = DAL_PG_TLS_UNTRUSTED;
      p->detail = g_strdup_printf ("the server's certificate (\"%s\") is "
                                   "self-signed and not in the CA file \"%s\" "
                                   "(sslrootcert)", subject, ca);
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      p->problem = DAL_PG_TLS_UNTRUSTED;
      p->detail = g_strdup_printf ("the server's certificate (\"%s\") is issued "
                                   "by \"%s\", which is not in the CA file \"%s\" "
                                   "(sslrootcert)", leaf, issuer, ca);
      break;
    case X509_V_ERR_CERT_REVOKED:
      p->problem = DAL_PG_TLS_REVOKED;
      p->detail = g_strdup_printf ("%s has been revoked (sslcrl)", whose);
      break;
    default:
      p->problem = DAL_PG_TLS_OTHER;
      p->detail = g_strdup_printf ("%s did not verify: %s", whose,
                                   X509_verify_cert_error_string (p->verify_error));
      break;
    }
}

void
dal_pg_tls_probe_run (DalPgTlsProbe *p)
{
  g_return_if_fail (p != NULL);
  p->problem = DAL_PG_TLS_UNKNOWN;
  if (p->address == NULL || remaining_ms (p) <= 0)
    return;

  int fd = probe_connect (p);
  if (fd < 0)
    return;
  if (!probe_ssl_request (fd))
    {
      close (fd);
      return;
    }

  g_autofree char *ca = probe_ca_file (p);
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());
  SSL *ssl = NULL;
  if (ctx == NULL)
    goto out;
  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations (ctx, ca, NULL) != 1)
    goto out;
  if (p->crl_file != NULL)
    {
      X509_STORE *store = SSL_CTX_get_cert_store (ctx);
      X509_LOOKUP *lookup = X509_STORE_add_lookup (store, X509_LOOKUP_file ());
      if (lookup != NULL && X509_load_crl_file (lookup, p->crl_file, X509_FILETYPE_PEM) > 0)
        X509_STORE_set_flags (store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, verify_cb);
  ssl = SSL_new (ctx);
  if (ssl == NULL)
    goto out;
  SSL_set_app_data (ssl, p);
  if (p->server_name != NULL && !g_hostname_is_ip_address (p->server_name)
      && p->server_name[0] != '/')
    SSL_set_tlsext_host_name (ssl, p->server_name);
  SSL_set_fd (ssl, fd);
  (void) SSL_connect (ssl);
  if (p->verify_error != 0)
    describe (p);

out:
  if (ssl != NULL)
    SSL_free (ssl);
  if (ctx != NULL)
    SSL_CTX_free (ctx);
  ERR_clear_error ();
  close (fd);
}

/* -- the TLS session of a connection that succeeded -- */

gboolean
dal_pg_tls_session_pending (gpointer session)
{
  SSL *ssl = session;
  /* SSL_has_pending() also counts the start of a record whose rest is on
   * its way, which only the socket can bring: after a read that stopped
   * for it, OpenSSL wants to read (and the socket shows the rest). */
  return ssl != NULL && SSL_has_pending (ssl) && !SSL_want_read (ssl);
}

gboolean
dal_pg_tls_input_pending (PGconn *conn)
{
  return dal_pg_tls_session_pending (PQsslInUse (conn) ? PQsslStruct (conn, "OpenSSL") : NULL);
}

gpointer
dal_pg_tls_read_ahead (PGconn *conn)
{
  SSL *ssl = PQsslInUse (conn) ? PQsslStruct (conn, "OpenSSL") : NULL;
  if (ssl != NULL)
    SSL_set_read_ahead (ssl, 1);
  return ssl;
}

gboolean
dal_pg_tls_peer_expiry (PGconn *conn, char **not_after, gint64 *seconds_left)
{
  SSL *ssl = PQsslInUse (conn) ? PQsslStruct (conn, "OpenSSL") : NULL;
  /* The client's view of the chain starts with the server's own
   * certificate. */
  STACK_OF (X509) *chain = ssl != NULL ? SSL_get_peer_cert_chain (ssl) : NULL;
  X509 *cert = chain != NULL && sk_X509_num (chain) > 0 ? sk_X509_value (chain, 0) : NULL;
  if (cert == NULL)
    return FALSE;
  if (not_after != NULL)
    *not_after = dal_openssl_time_text (X509_get0_notAfter (cert));
  if (seconds_left != NULL)
    *seconds_left = dal_openssl_seconds_left (cert);
  return TRUE;
}
