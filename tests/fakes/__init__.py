"""Stand-ins for parts that cannot run here, built from source by the tests that need them."""
