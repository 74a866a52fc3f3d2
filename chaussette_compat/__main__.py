"""`python -m chaussette_compat` runs the `chaussette` command."""

from .cli import main

main()
