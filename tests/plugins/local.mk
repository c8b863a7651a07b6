# Small plugins for the core's unit tests (a fake database, and bad
# plugins of every kind).  Built as real modules (-rpath) but never
# installed.
DAL_TEST_PLUGIN_LINK = $(DAL_PLUGIN_LINK) -rpath /nowhere

# tests/plugins/ is the "good" folder: its descriptors all work.  The bad
# plugins' descriptors live in folders of their own (bad/, conflict/,
# shadow/) and name their modules with Module=../NAME, so that the good
# folder stays clean.
DAL_TEST_PLUGIN_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/plugins
DAL_TEST_PLUGIN_LIBADD = core/libdal-1.la $(GLIB_LIBS)
DAL_TEST_PLUGIN_LDFLAGS = $(AM_LDFLAGS) $(DAL_TEST_PLUGIN_LINK)
DAL_TEST_FAKESYNC_SOURCES = tests/plugins/fakesync.c \
	tests/plugins/fake-db.c tests/plugins/fake-db.h

# The fake database behind a blocking-only and an async-only plugin.
check_LTLIBRARIES += tests/plugins/fakesync.la tests/plugins/fakeasync.la
tests_plugins_fakesync_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_fakesync_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS)
tests_plugins_fakesync_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_fakesync_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_fakeasync_la_SOURCES = tests/plugins/fakeasync.c \
	tests/plugins/fake-db.c tests/plugins/fake-db.h
tests_plugins_fakeasync_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS)
tests_plugins_fakeasync_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_fakeasync_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

# Variants of fakesync.c (see the top of that file).
check_LTLIBRARIES += tests/plugins/fakepg.la tests/plugins/oldfuncs.la \
	tests/plugins/spy.la tests/plugins/badabi.la tests/plugins/newminor.la \
	tests/plugins/incomplete.la tests/plugins/nosym.la

check_LTLIBRARIES += tests/plugins/fakedb.la
tests_plugins_fakedb_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_fakedb_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_FAKEDB
tests_plugins_fakedb_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_fakedb_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_fakepg_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES) \
	plugins/pgcommon/dal-pg-dialect.c plugins/pgcommon/dal-pg-hosts.c \
	plugins/pgcommon/dal-pg-options.c
tests_plugins_fakepg_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_FAKEPG \
	-I$(top_srcdir)/plugins/pgcommon $(LIBPQ_CFLAGS)
tests_plugins_fakepg_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_fakepg_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_oldfuncs_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_oldfuncs_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_OLDFUNCS
tests_plugins_oldfuncs_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_oldfuncs_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_spy_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_spy_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_SPY
tests_plugins_spy_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_spy_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_badabi_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_badabi_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_BADABI
tests_plugins_badabi_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_badabi_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_newminor_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_newminor_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_NEWMINOR
tests_plugins_newminor_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_newminor_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

tests_plugins_incomplete_la_SOURCES = $(DAL_TEST_FAKESYNC_SOURCES)
tests_plugins_incomplete_la_CPPFLAGS = $(DAL_TEST_PLUGIN_CPPFLAGS) -DFAKE_VARIANT_INCOMPLETE
tests_plugins_incomplete_la_LIBADD = $(DAL_TEST_PLUGIN_LIBADD)
tests_plugins_incomplete_la_LDFLAGS = $(DAL_TEST_PLUGIN_LDFLAGS)

# A loadable module that exports no descriptor (linked without the
# export list, which would be empty).
tests_plugins_nosym_la_SOURCES = tests/plugins/nosym.c
tests_plugins_nosym_la_LIBADD = $(GLIB_LIBS)
tests_plugins_nosym_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version \
	-no-undefined -rpath /nowhere

# Descriptor files, copied into the build tree by the suffix rule in
# Makefile.am.
DAL_TEST_DESCRIPTORS = \
	tests/plugins/fakesync.plugin \
	tests/plugins/fakeasync.plugin \
	tests/plugins/fakepg.plugin \
	tests/plugins/oldfuncs.plugin \
	tests/plugins/spy.plugin \
	tests/plugins/bad/badabi.plugin \
	tests/plugins/bad/newminor.plugin \
	tests/plugins/bad/nosym.plugin \
	tests/plugins/bad/missing.plugin \
	tests/plugins/bad/notaso.plugin \
	tests/plugins/bad/brokenla.plugin \
	tests/plugins/bad/disagree.plugin \
	tests/plugins/bad/incomplete.plugin \
	tests/plugins/conflict/one.plugin \
	tests/plugins/conflict/two.plugin \
	tests/plugins/shadow/fakesync.plugin \
	tests/plugins/dialect/fakedb.plugin
check_DATA += $(DAL_TEST_DESCRIPTORS) tests/plugins/bad/notaso.so \
	tests/plugins/bad/brokenla.la
EXTRA_DIST += $(DAL_TEST_DESCRIPTORS:=.in)
CLEANFILES += $(DAL_TEST_DESCRIPTORS) tests/plugins/bad/notaso.so \
	tests/plugins/bad/brokenla.la

# A "module" that is not a shared object: the loader must refuse it.
tests/plugins/bad/notaso.so:
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	echo "This text file is not a shared object." > $@

# A libtool archive whose shared object is that text file.
tests/plugins/bad/brokenla.la:
	$(AM_V_GEN)$(MKDIR_P) $(@D) && { \
	  echo "# brokenla.la - a libtool library file (for the unit tests)"; \
	  echo "dlname='notaso.so'"; \
	  echo "library_names='notaso.so'"; \
	  echo "old_library=''"; \
	  echo "installed=no"; \
	  echo "shouldnotlink=yes"; \
	  echo "libdir='/nowhere'"; \
	} > $@
