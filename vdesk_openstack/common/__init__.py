"""Small helpers shared by the HSS and the desktop service."""
