"""``python -m labelmend``: the same as the ``labelmend`` command."""

from labelmend.cli.app import main

main()
