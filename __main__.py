"""Pulumi program: validate the stack config, build the platform, export the outputs."""

import pulumi

from components.config import ConfigError, load_config, load_secrets
from components.platform import build_platform, stack_outputs

config = pulumi.Config()
try:
    cfg = load_config(config)
except ConfigError as error:
    # RunError is shown to the operator without a Python traceback.
    raise pulumi.RunError(str(error)) from None

platform = build_platform(cfg, load_secrets(config, cfg))
for name, value in stack_outputs(platform).items():
    pulumi.export(name, value)
