# The `dal` command.  It does not link libpq: `dal bench`'s raw-libpq
# baselines are a program of their own, which it runs.
bin_PROGRAMS += tools/dal
tools_dal_SOURCES = \
	tools/dal.c \
	tools/dal-tool.h \
	tools/dal-print.c \
	tools/dal-query.c \
	tools/dal-bench.h \
	tools/dal-bench-run.c \
	tools/dal-bench.c \
	tools/dal-bench-baseline.h \
	tools/dal-bench-baseline.c \
	tools/dal-pool.c \
	tools/dal-check.c \
	tools/dal-migrate.c \
	tools/dal-conformance.c
tools_dal_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-tool\" \
	-DDAL_PKGLIBEXECDIR=\"$(pkglibexecdir)\"
tools_dal_LDADD = core/libdal-1.la $(GLIB_LIBS)
# dal(1) and dal.conf(5) (tests/man-pages.sh checks that they render).
dist_man_MANS = man/dal.1 man/dal.conf.5

# `dal bench`'s raw-libpq baseline (GLib and libpq, not libdal), driven by
# `dal bench` over a pipe; installed where `dal bench` looks for it.
pkglibexec_PROGRAMS = tools/dal-bench-libpq
tools_dal_bench_libpq_SOURCES = \
	tools/dal-bench.h \
	tools/dal-bench-run.c \
	tools/dal-bench-libpq.c
tools_dal_bench_libpq_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-bench-libpq\"
tools_dal_bench_libpq_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tools_dal_bench_libpq_LDADD = $(GLIB_LIBS) $(LIBPQ_LIBS)

# COPY in and out through the plugins beside raw libpq (scripts/bench-copy,
# tests/test-bench); a benchmark program, so it links libpq (`dal` does
# not).  Built by `make check` or `make tools/dal-bench-copy`.
check_PROGRAMS += tools/dal-bench-copy
tools_dal_bench_copy_SOURCES = tools/dal-bench-copy.c
tools_dal_bench_copy_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-bench-copy\"
tools_dal_bench_copy_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tools_dal_bench_copy_LDADD = core/libdal-1.la $(GLIB_LIBS) $(LIBPQ_LIBS)

# The conformance suite for plugins (`dal conformance` runs it), installed
# so that plugin authors have it: public API only (and libltdl, to read
# the module's descriptor as the registry does).
pkglibexec_PROGRAMS += tools/dal-plugin-check
tools_dal_plugin_check_SOURCES = tools/dal-plugin-check.c \
	tools/dal-plugin-check-declared.c tools/dal-plugin-check.h
tools_dal_plugin_check_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"dal-plugin-check\"
tools_dal_plugin_check_LDADD = core/libdal-1.la $(GLIB_LIBS) $(LTDL_LIBS)
