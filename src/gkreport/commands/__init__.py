"""The command line: the parser, one module per command, the guard, the terminal, process plumbing."""
