"""Projections: pure folds over events, and the values they produce.

Each projection has a reference fold over a list of recorded events; the
tracker answers from the store's indexed queries, which the tests hold equal
to the folds.
"""
