# GObject types for bindings: the enums' GTypes (glib-mkenums) and, when
# gobject-introspection is installed, Dal-1.0.gir and Dal-1.0.typelib
# (configure: --enable-introspection=auto).

# -- enum GTypes --
# Every enum of the application headers.  (The plugin kit's enums,
# dal-plugin.h, are for plugins written in C and are not in the GIR.)
dal_enum_headers = \
	include/dal/dal-error.h \
	include/dal/dal-result.h \
	include/dal/dal-migrate.h
dal_enum_templates = \
	include/dal/dal-enum-types.h.template \
	core/dal-enum-types.c.template

include/dal/dal-enum-types.h: $(dal_enum_headers) include/dal/dal-enum-types.h.template
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(GLIB_MKENUMS) --template $(filter %.template,$^) $(filter %.h,$^) > $@.tmp && \
	mv $@.tmp $@
core/dal-enum-types.c: $(dal_enum_headers) core/dal-enum-types.c.template
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(GLIB_MKENUMS) --template $(filter %.template,$^) $(filter %.h,$^) > $@.tmp && \
	mv $@.tmp $@

BUILT_SOURCES = include/dal/dal-enum-types.h
nodist_dalinclude_HEADERS += include/dal/dal-enum-types.h
nodist_core_libdalcore_la_SOURCES = core/dal-enum-types.c
EXTRA_DIST += $(dal_enum_templates)
CLEANFILES += include/dal/dal-enum-types.h core/dal-enum-types.c

# -- GObject Introspection --
# The application headers only: dal-plugin.h is the plugin kit (vtables of
# C function pointers, descriptors the loader reads from a module), which
# no binding can implement or call.
dal_gir_headers = $(filter-out include/dal/dal.h include/dal/dal-plugin.h,\
	$(dalinclude_HEADERS))

if HAVE_INTROSPECTION
-include $(INTROSPECTION_MAKEFILE)
INTROSPECTION_GIRS = Dal-1.0.gir
INTROSPECTION_SCANNER_ARGS = --warn-all
INTROSPECTION_COMPILER_ARGS =
Dal-1.0.gir: core/libdal-1.la
Dal_1_0_gir_NAMESPACE = Dal
Dal_1_0_gir_VERSION = 1.0
Dal_1_0_gir_LIBS = core/libdal-1.la
Dal_1_0_gir_FILES = $(dal_gir_headers) include/dal/dal-version.h \
	include/dal/dal-enum-types.h
Dal_1_0_gir_INCLUDES = GLib-2.0 GObject-2.0 Gio-2.0
Dal_1_0_gir_CFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) -DDAL_COMPILATION
Dal_1_0_gir_EXPORT_PACKAGES = dal-1
Dal_1_0_gir_SCANNERFLAGS = \
	--identifier-prefix=Dal \
	--symbol-prefix=dal \
	--c-include=dal/dal.h

girdir = $(datadir)/gir-1.0
gir_DATA = Dal-1.0.gir
typelibdir = $(libdir)/girepository-1.0
typelib_DATA = Dal-1.0.typelib
CLEANFILES += $(gir_DATA) $(typelib_DATA)
endif
