"""Lambda entry points. Thin: parse, hand to `ResetService`, report. Wiring lives in `wiring.py`."""
