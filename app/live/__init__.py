"""Live updates: websockets for lobby screens, consoles and phones, fanned out across
instances through Litestar's channels (in-process, PostgreSQL LISTEN/NOTIFY or Redis)."""
