"""Checks of the recorded and rendered output: CRD schemas, the policy pack, the compliance report."""
