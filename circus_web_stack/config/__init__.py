"""Configuration: the option table, the frozen model and the Circus ini loader."""
