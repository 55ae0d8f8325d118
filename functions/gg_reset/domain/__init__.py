"""The pure core: no AWS imports, no I/O, no clock. Everything here is a function of its arguments."""
