# pgasync: non-blocking, pipelined libpq driver (driver name asyncpg).
plugin_LTLIBRARIES += plugins/pgasync/pgasync.la
plugin_DATA += plugins/pgasync/pgasync.plugin
EXTRA_DIST += plugins/pgasync/pgasync.plugin.in
CLEANFILES += plugins/pgasync/pgasync.plugin
plugins_pgasync_pgasync_la_SOURCES = plugins/pgasync/pgasync.c \
	plugins/pgasync/pgasync-private.h plugins/pgasync/pgasync-cache.c plugins/pgasync/pgasync-copy.c \
	plugins/pgasync/pgasync-deliver.c plugins/pgasync/pgasync-deliver.h \
	plugins/pgasync/pgasync-hub.c plugins/pgasync/pgasync-hub.h plugins/pgasync/pgasync-spares.h \
	plugins/pgasync/pgasync-notify.c plugins/pgasync/pgasync-batch.c \
	plugins/pgasync/pgasync-send.c
plugins_pgasync_pgasync_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pgcommon \
	-DG_LOG_DOMAIN=\"dal-pgasync\"
plugins_pgasync_pgasync_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
plugins_pgasync_pgasync_la_LIBADD = plugins/pgcommon/libdalpg.la core/libdal-1.la \
	$(GLIB_LIBS) $(LIBPQ_LIBS)
plugins_pgasync_pgasync_la_LDFLAGS = $(AM_LDFLAGS) $(DAL_PLUGIN_LINK)
