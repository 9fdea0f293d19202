"""Server-rendered pages for usagers and staff."""
