"""gpumod: an event-sourced manager for inference services sharing one GPU."""

__version__ = "0.1.0"
