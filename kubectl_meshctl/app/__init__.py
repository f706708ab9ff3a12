"""Use cases: each command's work as a typed function that combines Sources and the pure core.

Why this package exists: the CLI only parses flags and prints; what a command *does* (which objects to read,
which core function to call, what the outcome means) lives here, typed, testable without click, and
never printing or exiting.  Outcomes carry the notes the shell prints and the facts it maps to exit codes.
"""
