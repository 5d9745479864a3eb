"""The trainer is UI-agnostic: importing and running it must not load Textual."""

import re
import subprocess
import sys
from pathlib import Path

import mnist_tui

PACKAGE = Path(mnist_tui.__file__).parent
# Every module outside tui/ is the engine (``__main__`` runs the program when imported).
ENGINE_FILES = sorted(
    p for p in PACKAGE.rglob("*.py") if "tui" not in p.relative_to(PACKAGE).parts[:-1] and p.stem != "__main__"
)
ENGINE_MODULES = [
    "mnist_tui." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
    for p in ENGINE_FILES
]


def test_the_engine_list_covers_the_packages_that_matter():
    for name in ("mnist_tui.sources.follow", "mnist_tui.runfolder.writer", "mnist_tui.training.loop", "mnist_tui.cli"):
        assert name in ENGINE_MODULES


def test_engine_sources_do_not_mention_textual():
    for path in ENGINE_FILES:
        for line in path.read_text().splitlines():
            stripped = line.strip()
            # textual itself; textual_serve (a web server that starts the app as a subprocess) is fine
            assert not re.match(r"(import|from) textual(\.|\s|$)", stripped), f"{path.name}: {line}"


def test_importing_and_running_the_engine_loads_no_textual():
    code = (
        "import sys, importlib\n"
        f"for name in {ENGINE_MODULES!r}:\n"
        "    try: importlib.import_module(name)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != name: raise\n"
        "from mnist_tui.config import Config\n"
        "from mnist_tui.synthetic import synthetic_digits\n"
        "from mnist_tui.training.loop import Trainer\n"
        "r = Trainer(Config(epochs=1, device='cpu', precision='fp32'), lambda e: None,"
        " datasets=synthetic_digits(0, 200, 50)).run()\n"
        "assert r.error is None, r.error\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print('TEXTUAL:', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "TEXTUAL: []" in out.stdout
