"""The floor for a first frame: a Textual app of a header, one line and a footer, nothing else.

``throughput.py`` launches it alternately with the dashboard, so the two first frames are taken
on the machine in the same state (on the Zen 3 here the same launch took 0.28-0.56 s).
"""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Bare(App):
    TITLE = "mnist-tui"
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("a bare Textual app")
        yield Footer()


if __name__ == "__main__":
    Bare().run()
