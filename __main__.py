"""Pulumi program: validate the stack config, build this stack's site, export the outputs."""

import pulumi
from pulumi.runtime import config as runtime_config

from components.config import ConfigError, load_engine_config, site_of
from components.platform import build_platform, stack_outputs
from components.primary_site import read_primary


def engine_config() -> tuple[dict[str, str], set[str]]:
    """Every config key of every namespace, and the secret ones, as the CLI hands them to the program."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {key for key in values if runtime_config.is_config_secret(key)}
    return values, secret_keys | set(runtime_config.get_config_secret_keys_env())


# Every config check runs here, before any resource is registered (a standby's read of its primary aside).
try:
    config, secret_keys = engine_config()
    site = site_of(config, project=pulumi.get_project())
    primary, source = read_primary(site) if site.role == "standby" else (None, "")
    cfg, secret_values = load_engine_config(config, secret_keys, project=pulumi.get_project(),
                                            primary=primary, primary_source=source)
except ConfigError as error:
    # RunError is shown to the operator without a Python traceback; the message holds no secret value.
    raise pulumi.RunError(str(error)) from None

platform = build_platform(cfg, {key: pulumi.Output.secret(value) for key, value in secret_values.items()})
mirrored = {**primary, "source": source} if primary else None
for name, value in stack_outputs(platform, mirrored).items():
    pulumi.export(name, value)
