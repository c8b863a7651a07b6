# What the two PostgreSQL plugins share: connect engine (non-blocking,
# host by host, with deadlines), error classification, the TLS probe
# that says why a server certificate did not verify (OpenSSL), result
# wrapper, parameter conversion.  Linked into each plugin.
noinst_LTLIBRARIES += plugins/pgcommon/libdalpg.la
plugins_pgcommon_libdalpg_la_SOURCES = \
	plugins/pgcommon/dal-pg.h \
	plugins/pgcommon/dal-pg-batch.c \
	plugins/pgcommon/dal-pg-cancel.c \
	plugins/pgcommon/dal-pg-dialect.c \
	plugins/pgcommon/dal-pg-connect.c \
	plugins/pgcommon/dal-pg-copy.c \
	plugins/pgcommon/dal-pg-error.c \
	plugins/pgcommon/dal-pg-hosts.c \
	plugins/pgcommon/dal-pg-notify.c \
	plugins/pgcommon/dal-pg-options.c \
	plugins/pgcommon/dal-pg-result.c \
	plugins/pgcommon/dal-pg-session.c \
	plugins/pgcommon/dal-pg-sync.c \
	plugins/pgcommon/dal-pg-tls.c \
	plugins/pgcommon/dal-pg-util.c
# core/dal-openssl-util.h (X509 names and dates)
# comes from core/libdalopenssl.la, not from libdal: no private symbol.
plugins_pgcommon_libdalpg_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
plugins_pgcommon_libdalpg_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS) $(OPENSSL_CFLAGS)
plugins_pgcommon_libdalpg_la_LIBADD = core/libdalopenssl.la $(LIBPQ_LIBS) $(OPENSSL_LIBS)

# How every plugin module is linked: one exported symbol.
DAL_PLUGIN_LINK = -module -avoid-version -no-undefined \
	-export-symbols-regex '_LTX_dal_plugin_descriptor$$'
