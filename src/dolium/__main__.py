"""`python -m dolium`: the same as the `dolium` command."""

from dolium.cli import main

main()
