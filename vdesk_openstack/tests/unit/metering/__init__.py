"""Unit tests of the charging publisher's pure parts and spool."""
