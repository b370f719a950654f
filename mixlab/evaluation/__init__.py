"""Evaluation with task metrics.

``mixlab.evaluation.metrics`` holds the metric functions, ``(targets, predictions) -> {key: score}`` on
t5's 0-100 scale, looked up by the names that tasks declare in ``Task.metrics``. Importing this package
loads nothing heavy; the metrics that need ``rouge-score`` or ``sacrebleu`` import them when called.
"""
