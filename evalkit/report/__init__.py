"""The HTML report, and a compact summary for notebooks.

The report is one self-contained file with win rates, grades, leaderboard, judge diagnostics,
failures and every example behind the numbers.
"""

from evalkit.report.build import build_report, summary_html

__all__ = ["build_report", "summary_html"]
