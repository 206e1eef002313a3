"""The command line: argument parsing, and the library entry points each command calls."""
