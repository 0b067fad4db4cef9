"""Sphinx configuration: the Markdown pages of docs/ (MyST) and the API reference."""

from importlib.metadata import version as _version

project = "negotrack"
author = "negotrack developers"
release = _version("negotrack")
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
html_theme = "alabaster"
# The pages link to repository files (README, CHANGELOG, examples) that are not
# part of the built site; those references are not Sphinx documents.
suppress_warnings = ["myst.xref_missing"]
nitpicky = False
