"""The mairies as open data, in the national formats others read them in."""
