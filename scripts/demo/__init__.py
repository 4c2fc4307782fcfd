"""Demo settings and accounts for `./scripts/run --demo` and `./scripts/run`."""
