"""The waiting queue: tickets, their numbers and order, calls, and waiting estimates."""
