"""Report rendering: the evidence-maturity report as HTML (self-contained, figures embedded), Markdown and JSON."""

from synth.report.render import figure_ids, to_html, to_markdown, write_report

__all__ = ["figure_ids", "to_html", "to_markdown", "write_report"]
