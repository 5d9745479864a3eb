"""What a face says of a run it saw end: where the run is kept and how to go on with it.

No Textual: the dashboard prints its line after the window has closed, the headless reporter
on stderr when the run was stopped. Over any source, by what the source can do (``save``).
"""

from __future__ import annotations

from mnist_tui.plan import Plan
from mnist_tui.runfolder.reader import holds_results
from mnist_tui.sources.base import RunSource
from mnist_tui.training.events import RunResult


def kept_line(source: RunSource | None, result: RunResult | None, plan: Plan) -> str | None:
    """The dashboard's: where a run trained here is kept, and how to see it again; none for an
    emptied folder. ``plan``: the run's, so a sprint's 2.5 epochs are said so (not "3 epochs")."""
    where = source.run_dir if source is not None and source.capabilities.save else None
    if result is None or not result.epochs_done or where is None or not holds_results(where):
        return None
    line = f"mnist-tui: {plan.trained(result.epochs_done)} kept in {where}; replay: mnist-tui --replay {where}"
    if result.stopped:  # quit before the plan's end: say how to train on
        from mnist_tui.training.resume import continue_command

        line += f"; continue: {continue_command(where, plan.epochs, headless=False)}"
    return line


def what_was_kept(source: RunSource, epochs_done: int, planned: int | None = None) -> str | None:
    """The headless reporter's, after a stop: the checkpoint kept and how to continue it (with
    the plan in force), for whoever stopped the run."""
    if source.run_dir is None or not source.capabilities.save:
        return None
    if epochs_done:
        from mnist_tui.training.resume import continue_command

        command = continue_command(source.run_dir, planned)
        return f"checkpoint of epoch {epochs_done} kept in {source.run_dir}; continue with: {command}"
    return "no epoch finished, so nothing was saved"
