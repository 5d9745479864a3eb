"""mnist-tui: train a small CNN on MNIST and watch it learn in the terminal."""

__version__ = "0.1.0"
