"""Residents who sign in with the City's OpenID Connect provider, and their space."""
