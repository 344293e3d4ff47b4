"""Human labels: a blind labeling web app, live dialogues and crowd sheets.

Labels are stored in ``labels.sqlite`` in the run folder and read back as ordinary
Judgment / Grade records with ``source="human:<annotator>"``.
"""

from __future__ import annotations

from evalkit.human.readonly import LABELS_FILE, HumanRecords, read_human_records

__all__ = ["LABELS_FILE", "HumanRecords", "read_human_records"]
