"""Users' judgments of fraga's answers, kept beside the index and turned into gold questions.

- ``store``: the SQLite database ``INDEX_DIR/feedback.sqlite`` (append-only, WAL mode).
- ``record``: a judgment built from an answer and the passages it showed.
- ``export``: judgments as rows of the gold-set format (``eval/GOLD.md``).
- ``stats``: the share of good answers over time and per district, and its chart.
"""

from fraga.feedback.store import GOOD, UNANSWERABLE, VERDICTS, WRONG, Feedback, FeedbackError, FeedbackStore, PassageRef

__all__ = ["GOOD", "UNANSWERABLE", "VERDICTS", "WRONG", "Feedback", "FeedbackError", "FeedbackStore", "PassageRef"]
