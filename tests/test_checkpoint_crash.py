"""Crash consistency: SIGKILL a process at random moments while it rewrites its checkpoint.

A helper process (torch imported once, one thread so forking is safe) forks a writer that
saves checkpoints in a tight loop, each with different content, and kills it with SIGKILL
after a random delay. After every kill this test loads the checkpoint itself: it must be
whole, never a mix of two saves, and never missing or broken in its place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from mnist_tui.rundir import remove_stale_temporaries
from mnist_tui.training.checkpoint import load_checkpoint

KILLS = 25
REPO = Path(__file__).resolve().parents[1]

HELPER = textwrap.dedent(
    """
    import json, os, random, signal, sys, time
    import torch
    torch.set_num_threads(1)  # no thread pool: forking below is safe
    from mnist_tui.model import Net
    from mnist_tui.training.checkpoint import save_checkpoint

    run_dir, kills, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    path = os.path.join(run_dir, "checkpoint.pt")
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())

    # a whole history row, as the trainer saves it (EpochRecord.to_json()): the loader checks each
    row = {"train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.0, "test_acc": 0.5}
    row.update(seconds=1.0, samples_per_s=1.0, lr=0.01)

    def state(i):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(i))  # each save's content says which save it is
        return {
            "epoch": i,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            # 2 MB of padding: long enough writes to land kills in (the loader refuses unknown keys)
            "config": {"epochs": 10**6, "padding": str(i).rjust(1 << 21, ".")},
            "history": [{"epoch": e, **row} for e in range(1, i + 1)],
        }

    save_checkpoint(path, state(0))
    epoch, rng = 0, random.Random(seed)
    for k in range(kills):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: save forever, one byte on the pipe after each finished save
            os.close(r)
            i = epoch
            while True:
                i += 1
                save_checkpoint(path, state(i))
                os.write(w, b"s")
        os.close(w)
        # its first save finished (a loaded machine took longer than the sleep for one, and the
        # kill then always fell on the first rewrite): the kill falls somewhere in a later one
        done = os.read(r, 1)
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while chunk := os.read(r, 4096):
            done += chunk
        os.close(r)
        print(json.dumps({"kill": k, "start": epoch, "saves": len(done)}), flush=True)
        epoch = int(sys.stdin.readline())  # the test's verdict: the epoch it found on disk
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the helper forks its writers")
def test_sigkill_mid_save_always_leaves_a_whole_checkpoint(tmp_path):
    helper = tmp_path / "writer.py"
    helper.write_text(HELPER)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, str(helper), str(run_dir), str(KILLS), "1234"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    kills = stray = total_saves = 0
    try:
        for line in proc.stdout:
            report = json.loads(line)
            names = sorted(p.name for p in run_dir.iterdir())
            assert "checkpoint.pt" in names, names
            assert all(n == "checkpoint.pt" or (n.startswith(".checkpoint.pt.") and n.endswith(".tmp")) for n in names)
            state = load_checkpoint(run_dir)  # raises on a broken file
            epoch = state["epoch"]
            # every reported save is on disk; at most one more finished just before the kill
            assert report["start"] + report["saves"] <= epoch <= report["start"] + report["saves"] + 1
            weights = state["model"].values()
            assert all(torch.all(w == float(epoch)) for w in weights), "content of two saves mixed"
            assert state["config"]["padding"].endswith(f".{epoch}"), "content of two saves mixed"
            assert len(state["history"]) == epoch
            stray += remove_stale_temporaries(run_dir)
            kills += 1
            total_saves += report["saves"]
            proc.stdin.write(f"{epoch}\n")
            proc.stdin.flush()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert kills == KILLS
    assert total_saves >= KILLS  # each writer finished a save before its kill: it was rewriting the file
    assert stray >= 1, "no kill landed mid-write: the test did not exercise what it claims"
    print(f"{kills} kills, {total_saves} saves, {stray} killed mid-write")
