from mnist_tui.cli import run

run()
