"""The negotrack benchmark, as a package of modules; bench/run.py is its command line."""
