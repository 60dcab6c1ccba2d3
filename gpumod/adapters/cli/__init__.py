"""The `gpumod` command line. Heavy libraries are imported inside the commands that use them."""
