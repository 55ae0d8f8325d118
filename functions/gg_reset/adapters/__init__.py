"""Production adapters: the only code that talks to AWS SDKs."""
