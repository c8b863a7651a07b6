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

# COPY in and out through the plugins beside raw libpq (scripts/bench-copy,
# tests/test-bench); a benchmark program, so it links libpq (`dal` does
# not).  Built by `make check` or `make tools/dal-bench-copy`.
check_PROGRAMS += tools/dal-bench-copy
tools_dal_bench_copy_SOURCES = tools/dal-bench-copy.c
tools_dal_bench_copy_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-bench-copy\"
tools_dal_bench_copy_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tools_dal_bench_copy_LDADD = core/libdal-1.la $(GLIB_LIBS) $(LIBPQ_LIBS)
