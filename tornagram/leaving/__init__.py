"""Leaving: a person takes their data (export) or their account away (deletion)."""
