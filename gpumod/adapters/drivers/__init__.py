"""One driver per kind of inference server, each behind the `Driver` protocol."""
