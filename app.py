#!/usr/bin/env python3
"""The gg-reset CDK app. `make synth` runs this file directly; `cdk synth|deploy` runs it through cdk.json.

Both give the same template: run directly, the app loads the context of cdk.json itself (the CLI passes the
same context, plus any `-c key=value`, which wins). Synthesis needs no AWS credentials and no Docker.
"""

from __future__ import annotations

from infra.app import build_app

if __name__ == "__main__":
    build_app().synth()
