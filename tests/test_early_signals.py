"""Kill or hang-up before the run's own handler is in place ends the command as Ctrl-C does:
one line, 128 + N, and the new run folder it had claimed taken away again."""

from __future__ import annotations

import os
import signal

import pytest

from mnist_tui import cli


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_the_folder_is_claimed_ends_cleanly(tmp_path, capsys, monkeypatch, signum):
    """It died without a word, leaving a new folder that held only its .lock."""
    run_dir = tmp_path / "run"
    claim, before = cli.prepare_run, signal.getsignal(signum)

    def claimed_then_signalled(*args):
        config = claim(*args)
        assert (run_dir / ".lock").exists()
        os.kill(os.getpid(), signum)  # as `kill` from another terminal, at this moment
        return config

    monkeypatch.setattr(cli, "prepare_run", claimed_then_signalled)
    code = cli.main(["--headless", "--dataset", "synthetic", "--run-dir", str(run_dir), "--epochs", "1"])
    assert code == 128 + signum
    assert capsys.readouterr().err.strip() == "mnist-tui: interrupted"
    assert not run_dir.exists()
    assert signal.getsignal(signum) == before  # put back as it was
