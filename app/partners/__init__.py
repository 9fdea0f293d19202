"""Partners who refer people (a CCAS, a France Services, an association): their accounts,
keys bound to mairies, bookings and page."""
