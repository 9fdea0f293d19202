"""A real OpenID provider on loopback, and the tests of signing in with it."""
