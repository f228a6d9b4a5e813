"""A standby stack's read of its primary's ``siteMirror``: from the state backend, or from a file.

The standby's config can be judged only with the primary's models in it, so the document is read
before anything is registered. The StackReference reads the primary's last checkpoint from the
backend, never from the primary's site, so it works while that site is down; the backend itself must
not live at the primary's site (docs/disaster-recovery.md). Where even the backend cannot give the
primary's outputs, ``site.primaryOutputsFile`` names a copy of the last known document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

from components.config import ConfigError, ConfigIssue, SiteConfig
from components.config.site_mirror import digest

OUTPUT = "siteMirror"


def read_primary(site: SiteConfig) -> tuple[dict[str, Any] | None, str]:
    """The primary's siteMirror and a description of where it came from.

    The file is named relative to the project directory, where Pulumi runs the program.
    """
    if site.primary_outputs_file:
        path = Path.cwd() / site.primary_outputs_file
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError([ConfigIssue("site.primaryOutputsFile", site.primary_outputs_file,
                                           f"cannot be read as JSON ({error.__class__.__name__}); write it with "
                                           "`pulumi stack output mirroredPrimary --json > FILE` on this stack")]) from None
        document = {k: v for k, v in document.items() if k != "source"}
        source = f"file {site.primary_outputs_file} ({document.get('digest') or digest(document)})"
        pulumi.log.warn(f"site.primaryOutputsFile is set: this run mirrors the primary's last known outputs from "
                        f"{source}, not the primary stack's current ones; remove the key once the primary's state can "
                        "be read again")
        return document, source
    if not site.primary_stack:
        return None, ""
    reference = pulumi.StackReference("primary", stack_name=site.primary_stack)
    # The program's resources depend on the models this names, so it is awaited before any is registered; the
    # SDK's own synchronous invokes wait the same way.
    details = _sync_await(reference.get_output_details(OUTPUT))
    document = details.value if details.value is not None else details.secret_value
    if details.value is None and document is not None:
        # The primary exports siteMirror in the clear; a secret one is refused rather than re-exported in the clear.
        raise ConfigError([ConfigIssue("site.primaryStack", site.primary_stack,
                                       f"exports {OUTPUT} as a secret; it holds no secret and must be a plain output")])
    if document is None:
        raise ConfigError([ConfigIssue("site.primaryStack", site.primary_stack,
                                       f"has no {OUTPUT} output; run `pulumi up` on the primary with this version of "
                                       "the program first, or set site.primaryOutputsFile to its last known copy")])
    return dict(document), f"stack {site.primary_stack} ({document.get('digest', 'no digest')})"
