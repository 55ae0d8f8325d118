"""The imperative shell around the pure workflow: the service loop (load, decide, save, act), the request
budget, the intake of raw events, the ledger codec, the wiring of adapters, observability set up once."""
