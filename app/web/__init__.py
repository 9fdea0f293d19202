"""What the staff and public pages share."""
