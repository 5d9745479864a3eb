"""Run sources: the trainer, the replayer and the follower, each reporting the same plain events.

A face (the dashboard, the headless reporter) takes any :class:`~.base.RunSource` and asks
only what it can do (:class:`~.base.Capabilities`), never which kind it is.
"""
