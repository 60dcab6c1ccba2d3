"""Process backends: systemd user units, or detached process groups where systemd is absent."""
