from mnist_tui.launch import run

run()
