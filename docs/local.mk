# Documentation (Markdown, read on the forge or in the tarball).
EXTRA_DIST += $(wildcard $(srcdir)/docs/*.md)
