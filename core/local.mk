# libdal itself.  The core never calls a client library: everything
# PostgreSQL-specific lives in the plugins (plugins/pgcommon).
lib_LTLIBRARIES += core/libdal-1.la

dalincludedir = $(includedir)/dal-$(DAL_API_VERSION)/dal
dalinclude_HEADERS = \
	include/dal/dal.h \
	include/dal/dal-version.h \
	include/dal/dal-error.h \
	include/dal/dal-url.h \
	include/dal/dal-result.h \
	include/dal/dal-registry.h \
	include/dal/dal-connection.h \
	include/dal/dal-batch.h \
	include/dal/dal-copy.h \
	include/dal/dal-notify.h \
	include/dal/dal-pool.h \
	include/dal/dal-migrate.h \
	include/dal/dal-config.h \
	include/dal/dal-plugin.h

# The OpenSSL helpers that the core's TLS preflight and pgcommon's TLS
# probe share (core/dal-openssl-util.h): one copy, linked into libdal-1
# and into pgcommon.  Its functions are G_GNUC_INTERNAL, so nothing of it
# is exported from libdal or from a plugin module.
noinst_LTLIBRARIES += core/libdalopenssl.la
core_libdalopenssl_la_SOURCES = \
	core/dal-openssl-util.h \
	core/dal-openssl-util.c
core_libdalopenssl_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
core_libdalopenssl_la_LIBADD = $(OPENSSL_LIBS)

core_libdal_1_la_SOURCES = \
	core/dal-private.h \
	core/dal-error.c \
	core/dal-url-private.h \
	core/dal-url.c \
	core/dal-url-hosts.c \
	core/dal-url-get.c \
	core/dal-url-write.c \
	core/dal-url-edit.c \
	core/dal-config-private.h \
	core/dal-config.c \
	core/dal-config-url.c \
	core/dal-url-options.c \
	core/dal-dialect.c \
	core/dal-registry.c \
	core/dal-plugin-files.h \
	core/dal-plugin-files.c \
	core/dal-params.c \
	core/dal-result.c \
	core/dal-connection-private.h \
	core/dal-connection.c \
	core/dal-connection-open.c \
	core/dal-call.c \
	core/dal-connection-pool.c \
	core/dal-connection-batch.c \
	core/dal-batch.c \
	core/dal-copy.c \
	core/dal-notify.c \
	core/dal-pool-private.h \
	core/dal-pool.c \
	core/dal-pool-calls.c \
	core/dal-pool-batch.c \
	core/dal-pool-open.c \
	core/dal-pool-release.c \
	core/dal-sql.c \
	core/dal-tls.c \
	core/dal-pool-settings.c \
	core/dal-version.c \
	core/dal-migrate-private.h \
	core/dal-migrate.c \
	core/dal-migrate-files.c
core_libdal_1_la_CPPFLAGS = $(AM_CPPFLAGS) -DDAL_COMPILATION \
	-DG_LOG_DOMAIN=\"dal\" \
	-DDAL_PLUGIN_DIR=\"$(plugindir)\"
core_libdal_1_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
core_libdal_1_la_LIBADD = core/libdalopenssl.la $(GLIB_LIBS) $(OPENSSL_LIBS) $(LTDL_LIBS)
# Only dal_* is exported; names starting with _dal_ are private to libdal
# and its tests (declared in core/dal-private.h, never installed).
core_libdal_1_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(DAL_LT_VERSION_INFO) \
	-export-symbols-regex '^_?dal_' -no-undefined
