"""Desktop service: subscriber -> persistent Nova instance."""
