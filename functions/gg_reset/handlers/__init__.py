"""Lambda entry points. Thin: parse, hand to `ResetService`, report. Wiring lives in
`gg_reset.shell.wiring`."""
