"""The runs workspace's engine: every run folder under a folder, listed, filtered, compared and
exported (no torch, no Textual; the screens live in ``mnist_tui.tui``).

``index`` finds run folders and summarises each (cached by the files' modification times),
``columns`` names what a summary shows, ``filters`` parses the ``/`` filter, ``compare`` builds
the overlaid curves and the settings that differ, ``export`` writes CSV or JSON, and
``tensorboard_events`` writes TensorBoard event files (the optional ``tensorboard`` extra) and
``tensorboard_export`` converts finished folders to them.
"""
