"""Views for people: notebook display, figures and the HTML briefing.

- :mod:`negotrack.report.legend`: how a cell looks (colours, marks, hatches) and
  how a view names its dates; shared by every view so they read alike.
- :mod:`negotrack.report.notebook`: short ``repr`` and ``_repr_html_`` of matrices,
  histories and diffs.
- :mod:`negotrack.report.plot`: heatmaps, clause timelines and movement charts
  (extra ``plot``).
- :mod:`negotrack.report.html`: the self-contained HTML briefing.
"""
