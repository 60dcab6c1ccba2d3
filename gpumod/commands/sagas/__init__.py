"""Sagas: commands that act on the machine, recording intent before and outcome after."""
