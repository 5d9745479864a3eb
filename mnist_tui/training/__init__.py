"""Training: the loop, its control, its events, checkpoints and the metrics log.

Nothing in this package imports Textual: the dashboard and the headless reporter are
two faces over the same trainer (a test checks this).
"""
