# sqlite: the SQLite driver (driver names pysqlite, the default for
# sqlite://, and aiosqlite), on the system libsqlite3.  Optional: configure
# skips it when libsqlite3-dev is not installed.
EXTRA_DIST += plugins/sqlite/sqlite.plugin.in
if HAVE_SQLITE3
plugin_LTLIBRARIES += plugins/sqlite/sqlite.la
plugin_DATA += plugins/sqlite/sqlite.plugin
CLEANFILES += plugins/sqlite/sqlite.plugin
plugins_sqlite_sqlite_la_SOURCES = plugins/sqlite/sqlite.c \
	plugins/sqlite/sqlite-private.h plugins/sqlite/sqlite-url.c \
	plugins/sqlite/sqlite-result.c plugins/sqlite/sqlite-error.c
plugins_sqlite_sqlite_la_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-sqlite\"
plugins_sqlite_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS)
plugins_sqlite_sqlite_la_LIBADD = core/libdal-1.la $(GLIB_LIBS) $(SQLITE3_LIBS)
plugins_sqlite_sqlite_la_LDFLAGS = $(AM_LDFLAGS) $(DAL_PLUGIN_LINK)
endif
