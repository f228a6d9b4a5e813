"""Checks of the recorded and rendered output: schemas, CRDs, Pod Security, images, the policy pack.

The policy pack imports as the Pulumi CLI loads it, from its own directory, so that directory goes
on the import path before any check imports ``hipaa``.
"""

import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))
