"""One person's data, found by their email or phone and erased on request (RGPD)."""
