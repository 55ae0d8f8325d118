"""The gg-reset CDK app: one stack built from small named constructs (see `infra.stack`)."""
