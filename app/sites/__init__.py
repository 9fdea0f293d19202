"""Mairies, their stations, opening hours, closures, and the services and needs catalogs."""
