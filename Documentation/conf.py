# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration of uvirtio's documentation (`make docs`, through
# scripts/docs.sh).  The `.. kernel-doc::` directive is the kernel's own
# extension, Documentation/sphinx/kerneldoc.py of the kernel source tree
# in $UVIRTIO_KSRC, running that tree's scripts/kernel-doc; the file
# names it takes are relative to the top of this repository.
import os
import sys

_ksrc = os.environ.get('UVIRTIO_KSRC')
if not _ksrc:
    sys.exit('conf.py: UVIRTIO_KSRC (a kernel source tree) is not set; '
             'build the documentation with `make docs`')
sys.path.insert(0, os.path.join(_ksrc, 'Documentation', 'sphinx'))

project = 'uvirtio'
copyright = 'the uvirtio authors'
master_doc = 'index'
extensions = ['kerneldoc']
kerneldoc_bin = os.path.join(_ksrc, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                 '..'))
primary_domain = 'c'
highlight_language = 'none'
html_theme = 'alabaster'
exclude_patterns = ['_build']
