"""Database of the desktop service: desktops (mappings) and sessions."""
