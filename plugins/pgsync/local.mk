# pgsync: blocking libpq driver (driver name psycopg2; default for postgresql).
plugin_LTLIBRARIES += plugins/pgsync/pgsync.la
plugin_DATA += plugins/pgsync/pgsync.plugin
EXTRA_DIST += plugins/pgsync/pgsync.plugin.in
CLEANFILES += plugins/pgsync/pgsync.plugin
plugins_pgsync_pgsync_la_SOURCES = plugins/pgsync/pgsync.c \
	plugins/pgsync/pgsync-private.h plugins/pgsync/pgsync-batch.c
plugins_pgsync_pgsync_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pgcommon \
	-DG_LOG_DOMAIN=\"dal-pgsync\"
plugins_pgsync_pgsync_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
plugins_pgsync_pgsync_la_LIBADD = plugins/pgcommon/libdalpg.la core/libdal-1.la \
	$(GLIB_LIBS) $(LIBPQ_LIBS)
plugins_pgsync_pgsync_la_LDFLAGS = $(AM_LDFLAGS) $(DAL_PLUGIN_LINK)
