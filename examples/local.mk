# Examples: small programs a user copies from.  `make check` builds them
# (they need a database to run, so they are not tests) so that they keep
# compiling; they are never installed.
check_PROGRAMS += examples/query examples/async examples/migration-url \
	examples/config-app

examples_query_SOURCES = examples/query.c
examples_query_LDADD = core/libdal-1.la $(GLIB_LIBS)

examples_async_SOURCES = examples/async.c
examples_async_LDADD = core/libdal-1.la $(GLIB_LIBS)

examples_migration_url_SOURCES = examples/migration-url.c
examples_migration_url_LDADD = core/libdal-1.la $(GLIB_LIBS)

examples_config_app_SOURCES = examples/config-app.c
examples_config_app_LDADD = core/libdal-1.la $(GLIB_LIBS)

# The out-of-tree plugin skeleton: built here too (never installed), so
# that it keeps compiling against the headers; examples/plugin/Makefile is
# how a plugin author builds it against an installed libdal.
check_LTLIBRARIES += examples/plugin/echo.la
examples_plugin_echo_la_SOURCES = examples/plugin/echo.c
examples_plugin_echo_la_LIBADD = core/libdal-1.la $(GLIB_LIBS)
examples_plugin_echo_la_LDFLAGS = $(AM_LDFLAGS) $(DAL_PLUGIN_LINK) -rpath /nowhere
# Its sources are installed as documentation: the plugin kit a developer
# copies with only an installed libdal (docs/plugins.md).
pluginexampledir = $(docdir)/examples/plugin
pluginexample_DATA = examples/plugin/echo.c examples/plugin/echo.plugin \
	examples/plugin/Makefile examples/plugin/README.md

EXTRA_DIST += \
	examples/dal.conf \
	examples/migrations/0001_create_notes.up.sql \
	examples/migrations/0001_create_notes.down.sql \
	examples/migrations/0002_add_author.up.sql \
	examples/migrations/0002_add_author.down.sql \
	examples/plugin/README.md \
	examples/plugin/Makefile \
	examples/plugin/echo.plugin
