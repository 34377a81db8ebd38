"""Sphinx configuration of the graphnets documentation site (``make docs``).

The guides are the Markdown pages of this folder (read by myst-parser); the API reference
(``api.md`` and ``api/*.md``) is generated from the docstrings by autodoc and napoleon (Google
style: Args, Shapes, Returns, Raises, Example). ``make docs`` builds in strict mode: every
warning fails the build, and so does a reference to a graphnets name that is not documented
(``nitpicky``); references to other libraries are not checked (no network for their
inventories).

To add a guide, list its file in the toctree of ``index.md``; to add a module to the API
reference, add a page ``api/<name>.md`` with an ``automodule`` directive (the toctree of
``api.md`` takes every page of ``api/``).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)  # document the graphnets of this checkout
os.environ.setdefault("MPLBACKEND", "Agg")

import graphnets  # noqa: E402

project = "graphnets"
author = "the graphnets authors"
copyright = "the graphnets authors"
release = version = graphnets.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# -- the guides (Markdown) --------------------------------------------------------------------
myst_heading_anchors = 4  # [text](page.md#a-heading) links, as on GitHub
myst_enable_extensions = ["dollarmath"]

# -- the API reference (docstrings) -----------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # signatures stay short; the types are in the Args sections
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shapes"]
napoleon_use_rtype = False

# -- pictures: ```{plot} blocks run their code at build time and embed the figure -----------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 90)]
plot_rcparams = {"figure.dpi": 90}

# -- strictness -------------------------------------------------------------------------------
nitpicky = True
# Other libraries' names (torch.Tensor, networkx.DiGraph, ...) and the plain words of type
# descriptions ("optional", "list of int") have no inventory here: only graphnets names must
# resolve.
nitpick_ignore_regex = [
    (r"py:.*", r"(?!graphnets\b).*"),
]

# -- output -----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"graphnets {release}"
html_static_path: list[str] = []
