"""Desktop service: subscriber -> persistent Nova instance (issue 3)."""
