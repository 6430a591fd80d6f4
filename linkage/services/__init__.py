"""Writes: every change to linkage's data goes through a function here (`<entity>_<action>`)."""
