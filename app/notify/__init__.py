"""Messages to usagers: the outbox, the planner, the dispatcher and its transports."""
