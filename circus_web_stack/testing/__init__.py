"""Test support: fake clock and system, and a real-daemon harness."""
