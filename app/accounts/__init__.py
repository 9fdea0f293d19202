"""Staff accounts: agents, roles, authentication and what each may do."""
