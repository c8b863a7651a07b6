# Tests: GLib test programs speaking TAP.  Unit tests need nothing; live
# tests need the servers that tests/harness/pg-harness starts (`make
# check-live`, or scripts/test).  Without them live tests skip, unless
# DAL_TEST_REQUIRE_SERVER=1, when they fail.
LOG_COMPILER = $(top_srcdir)/tests/harness/tap-run
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh

# The build tree's plugins only: never the installed ones.  (The SQLite
# plugin's tests add plugins/sqlite themselves: with it in every test's
# path, the ASan build's leak check crashed in its own tracer at the exit
# of some `dal query` runs, in glibc 2.36's dynamic TLS; see
# docs/troubleshooting.md.)
AM_TESTS_ENVIRONMENT = \
	DAL_PLUGIN_PATH='$(abs_top_builddir)/plugins/pgsync:$(abs_top_builddir)/plugins/pgasync'; \
	export DAL_PLUGIN_PATH; \
	DAL_PLUGIN_SYSTEM_PATH=; export DAL_PLUGIN_SYSTEM_PATH; \
	DAL_TEST_PLUGINS='$(abs_top_builddir)/tests/plugins'; export DAL_TEST_PLUGINS; \
	DAL_TEST_TOOL='$(abs_top_builddir)/tools/dal'; export DAL_TEST_TOOL; \
	DAL_TEST_SUID_HELPER='$(abs_top_builddir)/tests/dal-test-suid'; export DAL_TEST_SUID_HELPER; \
	DAL_TEST_SRCDIR='$(abs_top_srcdir)/tests'; export DAL_TEST_SRCDIR; \
	LIBTOOL='$(LIBTOOL)'; export LIBTOOL; \
	G_DEBUG=fatal-criticals; export G_DEBUG;
# The registry refuses plugins in folders others may write
# (core/dal-plugin-files.c): a tree checked out or built under umask 002
# has group-writable ones, so the build tree's plugin folders are made
# writable by their owner only before each test.
AM_TESTS_ENVIRONMENT += \
	chmod -R go-w '$(abs_top_builddir)/plugins' '$(abs_top_builddir)/tests/plugins' \
	  '$(abs_top_builddir)/examples' 2>/dev/null || :;

EXTRA_DIST += tests/harness/pg-harness tests/harness/tap-run

# The libdal-1 the test programs link: the core's objects again
# (core/libdalcore.la) with the same soname, libdal-1.so.0, exporting the
# _dal_* internals as well (tests/internal/libdal-internal.map).  A plugin
# a test loads, linked against the real core/libdal-1.la, binds to this
# one by soname: one core per test process (tests/test-one-core.c).
# Never installed; plugins, tools and examples link core/libdal-1.la.
check_LTLIBRARIES += tests/internal/libdal-1.la
tests_internal_libdal_1_la_SOURCES =
tests_internal_libdal_1_la_LIBADD = core/libdalcore.la
tests_internal_libdal_1_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(DAL_LT_VERSION_INFO) \
	-no-undefined -rpath $(abs_top_builddir)/tests/internal \
	-Wl,--version-script=$(top_srcdir)/tests/internal/libdal-internal.map
EXTRA_tests_internal_libdal_1_la_DEPENDENCIES = tests/internal/libdal-internal.map
EXTRA_DIST += tests/internal/libdal-internal.map
DAL_TEST_LIBDAL = tests/internal/libdal-1.la

# Helpers every test program links.
check_LTLIBRARIES += tests/libdaltest.la
tests_libdaltest_la_SOURCES = tests/dal-test.c tests/dal-test.h
tests_libdaltest_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core
tests_libdaltest_la_LIBADD = $(DAL_TEST_LIBDAL) $(GLIB_LIBS)

DAL_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core -I$(top_srcdir)/tests
DAL_TEST_LDADD = tests/libdaltest.la $(DAL_TEST_LIBDAL) $(GLIB_LIBS)

# libdal-1.so exports exactly the functions include/dal/*.h declare, with
# their ELF version; and a test process holds one copy of the core.
TESTS += tests/check-exports.sh tests/test-one-core
EXTRA_DIST += tests/check-exports.sh
check_PROGRAMS += tests/test-one-core
tests_test_one_core_SOURCES = tests/test-one-core.c
tests_test_one_core_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_one_core_LDADD = $(DAL_TEST_LDADD)

# -- unit tests --
TESTS += tests/test-url
check_PROGRAMS += tests/test-url
tests_test_url_SOURCES = tests/test-url.c
tests_test_url_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_url_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_test_url_LDADD = $(DAL_TEST_LDADD) $(LIBPQ_LIBS)

# What a statement leaves on the session (core/dal-sql.c).
TESTS += tests/test-sql
check_PROGRAMS += tests/test-sql
tests_test_sql_SOURCES = tests/test-sql.c
tests_test_sql_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_sql_LDADD = $(DAL_TEST_LDADD)

# The core's unit tests, over the fake plugins of tests/plugins/.
TESTS += tests/test-errors tests/test-registry tests/test-connection
check_PROGRAMS += tests/test-errors tests/test-registry tests/test-connection
tests_test_errors_SOURCES = tests/test-errors.c
tests_test_errors_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_errors_LDADD = $(DAL_TEST_LDADD)
tests_test_registry_SOURCES = tests/test-registry.c
tests_test_registry_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
# (dlopen(), to compare the loader's own reason for refusing a file)
tests_test_registry_LDADD = $(DAL_TEST_LDADD) $(LIBADD_DLOPEN)
# The setuid helper of /registry/env/setuid (DAL_TEST_SUID_HELPER).
check_PROGRAMS += tests/dal-test-suid
tests_dal_test_suid_SOURCES = tests/dal-test-suid.c
tests_dal_test_suid_LDADD = core/libdal-1.la $(GLIB_LIBS)
tests_dal_test_suid_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_test_connection_SOURCES = tests/test-connection.c
tests_test_connection_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_connection_LDADD = $(DAL_TEST_LDADD)

# Dialects declared by plugins (tests/plugins/dialect/fakedb).
TESTS += tests/test-dialect
check_PROGRAMS += tests/test-dialect
tests_test_dialect_SOURCES = tests/test-dialect.c
tests_test_dialect_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_dialect_LDADD = $(DAL_TEST_LDADD)

# Pool settings and the pool-option refusal (no server).
TESTS += tests/test-pool-settings
check_PROGRAMS += tests/test-pool-settings
tests_test_pool_settings_SOURCES = tests/test-pool-settings.c
tests_test_pool_settings_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_pool_settings_LDADD = $(DAL_TEST_LDADD)

# fakesync preloaded into the program (libtool -dlpreopen).  No static
# archive is needed although configure says disable-static: for a module
# without one, libtool preopens its shared object (the .la's dlname): the
# program is linked against fakesync.so and gets a preloaded-symbols table
# (lt__PROGRAM__LTX_preloaded_symbols) naming it, which
# LTDL_SET_PRELOADED_SYMBOLS() hands to libltdl.
TESTS += tests/test-preload
check_PROGRAMS += tests/test-preload
tests_test_preload_SOURCES = tests/test-preload.c
tests_test_preload_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_preload_LDADD = $(DAL_TEST_LDADD) $(LTDL_LIBS)
tests_test_preload_LDFLAGS = $(AM_LDFLAGS) -dlpreopen tests/plugins/fakesync.la
tests_test_preload_DEPENDENCIES = tests/libdaltest.la $(DAL_TEST_LIBDAL) \
	tests/plugins/fakesync.la

# `dal bench` smoke test (live; the tool is DAL_TEST_TOOL).
TESTS += tests/test-bench
check_PROGRAMS += tests/test-bench
tests_test_bench_SOURCES = tests/test-bench.c
tests_test_bench_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_bench_LDADD = $(DAL_TEST_LDADD)

# Conformance: one application, every PostgreSQL plugin (live).
TESTS += tests/test-conformance
check_PROGRAMS += tests/test-conformance
tests_test_conformance_SOURCES = tests/test-conformance.c
tests_test_conformance_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_conformance_LDADD = $(DAL_TEST_LDADD)

# The `dal` command, spawned as a user runs it (`dal query` is live).
TESTS += tests/test-tool
check_PROGRAMS += tests/test-tool
tests_test_tool_SOURCES = tests/test-tool.c $(DAL_TEST_NET_SOURCES)
tests_test_tool_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_tool_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_test_tool_LDADD = $(DAL_TEST_LDADD) $(LIBPQ_LIBS)
# Suppressions tap-run adds under DAL_TEST_VALGRIND=1 (PCRE2 JIT reads).
EXTRA_DIST += tests/harness/glib.supp

include tests/plugins/local.mk

# pgasync against the harness's PostgreSQL and PgBouncer (live; skips without).
TESTS += tests/test-pgasync
check_PROGRAMS += tests/test-pgasync
tests_test_pgasync_SOURCES = tests/test-pgasync.c
tests_test_pgasync_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_pgasync_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_test_pgasync_LDADD = $(DAL_TEST_LDADD) $(LIBPQ_LIBS)

# The connection facade as the pool uses it, and plugin ABI 1.2 (live).
TESTS += tests/test-pool-facade
check_PROGRAMS += tests/test-pool-facade
tests_test_pool_facade_SOURCES = tests/test-pool-facade.c
tests_test_pool_facade_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_pool_facade_LDADD = $(DAL_TEST_LDADD)

# The TLS policy and the error catalogue (live; the policy and classifier
# tests run without servers too).  dal-test-net.c: log recorder, fake
# resolver, silent listeners and a fake pooler that refuses clients.
DAL_TEST_NET_SOURCES = tests/dal-test-net.c tests/dal-test-net.h
TESTS += tests/test-tls tests/test-errors-live
check_PROGRAMS += tests/test-tls tests/test-errors-live
tests_test_tls_SOURCES = tests/test-tls.c $(DAL_TEST_NET_SOURCES)
tests_test_tls_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_tls_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_test_tls_LDADD = $(DAL_TEST_LDADD) $(LIBPQ_LIBS)
tests_test_errors_live_SOURCES = tests/test-errors-live.c $(DAL_TEST_NET_SOURCES)
tests_test_errors_live_CPPFLAGS = $(DAL_TEST_CPPFLAGS) -I$(top_srcdir)/plugins/pgcommon
tests_test_errors_live_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_test_errors_live_LDADD = plugins/pgcommon/libdalpg.la $(DAL_TEST_LDADD) $(LIBPQ_LIBS)

# The engine under faults (live): a server or network gone silent, a
# stopped backend, re-entrancy, idle wake-ups, the statement cache.
TESTS += tests/test-faults
check_PROGRAMS += tests/test-faults
tests_test_faults_SOURCES = tests/test-faults.c $(DAL_TEST_NET_SOURCES)
tests_test_faults_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_faults_LDADD = $(DAL_TEST_LDADD)

# The connect engine: where host names come from (URL, service file,
# PGHOST) and when it stops trying (unit; live parts skip without servers).
TESTS += tests/test-pg-connect
check_PROGRAMS += tests/test-pg-connect
tests_test_pg_connect_SOURCES = tests/test-pg-connect.c $(DAL_TEST_NET_SOURCES)
tests_test_pg_connect_CPPFLAGS = $(DAL_TEST_CPPFLAGS) -I$(top_srcdir)/plugins/pgcommon
tests_test_pg_connect_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_test_pg_connect_LDADD = plugins/pgcommon/libdalpg.la $(DAL_TEST_LDADD) $(LIBPQ_LIBS)

# DalPool (live): opening, acquire timeouts and order, reset on release
# (direct and through PgBouncer), limits, killed connections and a server
# restart, pipelined cancels, load through PgBouncer, threads, warnings.
TESTS += tests/test-pool
check_PROGRAMS += tests/test-pool
tests_test_pool_SOURCES = tests/test-pool.c $(DAL_TEST_NET_SOURCES)
tests_test_pool_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_pool_LDADD = $(DAL_TEST_LDADD)

# Batches and executemany, both PostgreSQL plugins, direct and through
# PgBouncer in transaction mode (live); the refusal of the fake plugins.
TESTS += tests/test-batch
check_PROGRAMS += tests/test-batch
tests_test_batch_SOURCES = tests/test-batch.c
tests_test_batch_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_batch_LDADD = $(DAL_TEST_LDADD)

# Session settings (options=-c ...) on every connection kind, PgBouncer
# in transaction mode included (live).
TESTS += tests/test-session
check_PROGRAMS += tests/test-session
tests_test_session_SOURCES = tests/test-session.c
tests_test_session_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_session_LDADD = $(DAL_TEST_LDADD)

# DalMigrator and `dal migrate` (live; folder checks without a server).
TESTS += tests/test-migrate
check_PROGRAMS += tests/test-migrate
tests_test_migrate_SOURCES = tests/test-migrate.c
tests_test_migrate_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_migrate_LDADD = $(DAL_TEST_LDADD)

# DalConfig, dal_url_with_options() and `dal` reading configuration
# (unit; the live parts skip without the harness).
TESTS += tests/test-config
check_PROGRAMS += tests/test-config
tests_test_config_SOURCES = tests/test-config.c
tests_test_config_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_config_LDADD = $(DAL_TEST_LDADD)
tests_test_config_DEPENDENCIES = tests/libdaltest.la $(DAL_TEST_LIBDAL) tools/dal

# COPY in and out through both plugins (live), and the facade's refusals.
TESTS += tests/test-copy
check_PROGRAMS += tests/test-copy
tests_test_copy_SOURCES = tests/test-copy.c
tests_test_copy_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_copy_LDADD = $(DAL_TEST_LDADD)
# LISTEN/NOTIFY (live; the statement classifier part runs without).
TESTS += tests/test-notify
check_PROGRAMS += tests/test-notify
tests_test_notify_SOURCES = tests/test-notify.c
tests_test_notify_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_notify_LDADD = $(DAL_TEST_LDADD)

# COPY, batch cancel and timeout, executemany through PgBouncer in
# transaction mode, both PostgreSQL plugins (live).
TESTS += tests/test-pgbouncer
check_PROGRAMS += tests/test-pgbouncer
tests_test_pgbouncer_SOURCES = tests/test-pgbouncer.c
tests_test_pgbouncer_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_pgbouncer_LDADD = $(DAL_TEST_LDADD)

# The SQLite plugin (no server; the switch to PostgreSQL by URL is live).
if HAVE_SQLITE3
TESTS += tests/test-sqlite
check_PROGRAMS += tests/test-sqlite
tests_test_sqlite_SOURCES = tests/test-sqlite.c
tests_test_sqlite_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_sqlite_LDADD = $(DAL_TEST_LDADD)
endif
# The installed conformance suite (tools/dal-plugin-check) on every
# plugin, one test script each (tests/conformance-lib.sh): pgsync and
# pgasync (live), the example plugin (no server), the SQLite plugin once
# it is built (a hook: tests/conformance-sqlite.sh skips without it).
# The out-of-tree test installs libdal into a temporary DESTDIR, builds
# examples/plugin/ there with its Makefile (pkg-config only) and runs the
# installed suite on it (tests/out-of-tree.sh).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
SH_LOG_DRIVER = $(LOG_DRIVER)
AM_TESTS_ENVIRONMENT += \
	DAL_PLUGIN_CHECK='$(abs_top_builddir)/tools/dal-plugin-check'; export DAL_PLUGIN_CHECK; \
	DAL_TEST_BUILDDIR='$(abs_top_builddir)'; export DAL_TEST_BUILDDIR;
TESTS += tests/conformance-echo.sh tests/conformance-pgsync.sh \
	tests/conformance-pgasync.sh tests/conformance-sqlite.sh tests/out-of-tree.sh
# Its "make install" relinks each plugin for its installed place, and
# libtool relinks in the build tree: while the linker writes, the
# plugin's .libs/*.so is the new, unfinished file (the uninstalled one
# is moved aside meanwhile).  A test loading that plugin then finds a
# truncated file ("file too short"), so this test runs after every other
# one of the run.
tests/out-of-tree.log: $(filter-out tests/out-of-tree.log,$(TEST_LOGS))
# The man pages render without warnings and cover the subcommands.
TESTS += tests/man-pages.sh
EXTRA_DIST += tests/man-pages.sh
# The GTypes bindings rely on: enums, boxed types, error details.
TESTS += tests/test-gtypes
check_PROGRAMS += tests/test-gtypes
tests_test_gtypes_SOURCES = tests/test-gtypes.c
tests_test_gtypes_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_gtypes_LDADD = $(DAL_TEST_LDADD)

# libdal from Python through the typelib (core/gobject.mk); skipped without
# gobject-introspection or python3-gi.
TESTS += tests/test-gi.sh
EXTRA_DIST += tests/test-gi.sh tests/test-gi.py
AM_TESTS_ENVIRONMENT += PYTHON3='$(PYTHON3)'; export PYTHON3;
EXTRA_DIST += tests/conformance-lib.sh tests/conformance-echo.sh \
	tests/conformance-pgsync.sh tests/conformance-pgasync.sh \
	tests/conformance-sqlite.sh tests/out-of-tree.sh

# Doc comments (tests/doc-coverage.sh): fails on a public symbol of
# include/dal without a complete doc comment, and runs gi-docgen check on
# Dal-1.0.gir when both are there.
TESTS += tests/doc-coverage.sh
EXTRA_DIST += tests/doc-coverage.sh tests/doc-coverage.py tests/doc-coverage-bad.h

# Every ```c block of README.md and docs/*.md compiles, and the complete
# programs among them run on the harness's server (tests/doc-examples.sh
# says how blocks are marked).
AM_TESTS_ENVIRONMENT += \
	DAL_TEST_CC='$(CC)'; export DAL_TEST_CC; \
	DAL_TEST_CFLAGS='$(SAN_CFLAGS) $(GLIB_CFLAGS) -I$(abs_top_srcdir)/include -I$(abs_top_builddir)/include'; \
	export DAL_TEST_CFLAGS; \
	DAL_TEST_LIBS='$(SAN_CFLAGS) $(GLIB_LIBS)'; export DAL_TEST_LIBS;
TESTS += tests/doc-examples.sh
EXTRA_DIST += tests/doc-examples.sh tests/doc-examples.sql \
	tests/doc-examples-prelude.h

# Each _async function's own _finish, and NULL URLs (fake plugins; pgasync
# live).
TESTS += tests/test-async-pairs
check_PROGRAMS += tests/test-async-pairs
tests_test_async_pairs_SOURCES = tests/test-async-pairs.c
tests_test_async_pairs_CPPFLAGS = $(DAL_TEST_CPPFLAGS)
tests_test_async_pairs_LDADD = $(DAL_TEST_LDADD)
