"""Clients of the peers linkage talks to over HTTP (intermediate server, 住基 / 住基GW)."""
