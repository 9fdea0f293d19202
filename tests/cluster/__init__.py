"""Several real instances sharing one PostgreSQL database: races, fan-out, exactly-once
work, and the faults a deployment meets (a killed process, a restarted database, a mail
server away, a dropped network path)."""
