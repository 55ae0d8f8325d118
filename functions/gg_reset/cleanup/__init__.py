"""Automatic cleanup: which groups a rule selects (`selection`, shared by `gg-reset plan`, `request
--select` and the janitor) and the scheduled janitor that plans and sends requests for them."""
