"""Online booking: slots, appointments that never overbook, calendar files."""
