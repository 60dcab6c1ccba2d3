"""Everything that does I/O: CLI, files, GPU, processes, HTTP."""
