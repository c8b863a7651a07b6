# The `dal` command.
bin_PROGRAMS += tools/dal
tools_dal_SOURCES = \
	tools/dal.c \
	tools/dal-tool.h \
	tools/dal-print.c \
	tools/dal-bench.h \
	tools/dal-bench.c \
	tools/dal-bench-libpq.c \
	tools/dal-pool.c \
	tools/dal-check.c \
	tools/dal-migrate.c
tools_dal_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-tool\"
tools_dal_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tools_dal_LDADD = core/libdal-1.la $(GLIB_LIBS) $(LIBPQ_LIBS)
