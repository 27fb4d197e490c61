"""The thin edge: parse, confirm, render; every error becomes one line here."""
