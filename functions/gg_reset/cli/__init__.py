"""The operator CLI (`gg-reset`): the typer app in `app.py`, one module per command family. It runs on a
laptop or a CI runner, never in a Lambda (the Lambda asset leaves this package out)."""
