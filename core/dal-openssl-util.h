/* dal-openssl-util.h: the OpenSSL helpers that core's TLS preflight
 * (core/dal-tls.c) and pgcommon's TLS probe (plugins/pgcommon/dal-pg-tls.c)
 * share.
 *
 * Built once, as a convenience library (core/libdalopenssl.la) linked
 * into libdal-1 and into pgcommon; never installed.  Every function is
 * G_GNUC_INTERNAL: nothing here is exported from libdal or from a plugin
 * module, so a plugin does not depend on core's private symbols, and no
 * OpenSSL type reaches a public header.
 */
#ifndef DAL_OPENSSL_UTIL_H
#define DAL_OPENSSL_UTIL_H

#include <glib.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

G_BEGIN_DECLS

/* Initialises OpenSSL, once per process, without its exit handler
 * (OPENSSL_INIT_NO_ATEXIT), unless the application (or anything else)
 * initialised it first: then its choice stands.  libdal's threads (the
 * facade's workers, GLib's pool threads that ran a TLS handshake, the
 * pool's thread, cancel requests) may still be running, or exiting, when
 * the process ends; OpenSSL's exit handler, racing with them, tears down
 * the per-thread state they are freeing (leaked: LeakSanitizer saw it) or
 * using (a crash).  Without it, each thread frees its own state when it
 * ends and the process's memory goes with the process.  Call it before
 * anything of libdal's, or libpq's, uses OpenSSL. */
G_GNUC_INTERNAL
void dal_openssl_init_once (void);

/* @name on one line, RFC 2253 order, UTF-8 left as it is:
 * "CN=libdal test CA".  (transfer full) */
G_GNUC_INTERNAL
char *dal_openssl_name_text (const X509_NAME *name);

/* @t as "2026-12-27 01:42:24 UTC", or "(unreadable date)" when @t is
 * NULL or OpenSSL cannot read it; never NULL.  (transfer full) */
G_GNUC_INTERNAL
char *dal_openssl_time_text (const ASN1_TIME *t);

/* Seconds from now until @cert expires (negative: expired; 0 when
 * OpenSSL cannot read the date). */
G_GNUC_INTERNAL
gint64 dal_openssl_seconds_left (const X509 *cert);

G_END_DECLS

#endif /* DAL_OPENSSL_UTIL_H */
