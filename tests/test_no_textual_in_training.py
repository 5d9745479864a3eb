"""The trainer is UI-agnostic: importing and running it must not load Textual."""

import subprocess
import sys
from pathlib import Path

import mnist_tui

PACKAGE = Path(mnist_tui.__file__).parent
ENGINE_MODULES = ["mnist_tui.training." + p.stem for p in (PACKAGE / "training").glob("*.py")] + [
    "mnist_tui.headless",
    "mnist_tui.data",
    "mnist_tui.synthetic",
    "mnist_tui.model",
    "mnist_tui.render",
]
ENGINE_MODULES += ["mnist_tui.insight." + p.stem for p in (PACKAGE / "insight").glob("*.py")]


def test_training_sources_do_not_mention_textual():
    for path in [*(PACKAGE / "training").glob("*.py"), *(PACKAGE / "insight").glob("*.py")]:
        for line in path.read_text().splitlines():
            stripped = line.strip()
            assert not (stripped.startswith(("import textual", "from textual"))), f"{path.name}: {line}"


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
