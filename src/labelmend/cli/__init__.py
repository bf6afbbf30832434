"""The ``labelmend`` command line: parses, calls one library function, prints."""
