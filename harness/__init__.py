"""Prompt-evaluation harness."""
