"""Assembles the policy pack. Constructing PolicyPack starts the analyzer server, so nothing imports this file."""

from hipaa import PACK_NAME, policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.ADVISORY)
