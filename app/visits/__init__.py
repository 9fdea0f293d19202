"""Visits: what happened at the station, and requests sent on to expert departments."""
