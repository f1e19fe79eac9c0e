"""Tests: unit/ (pure logic), functional/ (real services), bench/."""
