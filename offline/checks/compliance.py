"""The compliance report: per HIPAA section, the policies serving it, what passed, what failed, and the exceptions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from offline.checks import checkov
from offline.checks.policy import PolicyReport, hipaa

# Controls of the design document's checklists that no resource can show, and what covers them instead.
ORGANISATIONAL = {
    "Business Associate Agreements with vendors": "contracts; not visible in any resource",
    "Staff training and sanctions": "HR records (164.308(a)(5), (a)(1)(ii)(C))",
    "MFA for administrators": "enforced at the identity provider that vSphere SSO and the gateway trust",
    "Vulnerability scanning and patching": "registry scanning and the patch process; the pack only pins images",
    "Security incident response": "runbooks and on-call (164.308(a)(6)); alerts here feed it",
    "Tested restore procedures": "restore drills with measured RTO/RPO, reports kept six years (164.308(a)(7)(ii)(D))",
    "Compliance audit, insurance and liability": "organisational reviews",
}


def compliance(report: PolicyReport, pack_config: dict[str, Any]) -> dict[str, Any]:
    failed: dict[str, set[str]] = defaultdict(set)
    for violation in report.violations:
        failed[violation.policy].add(violation.urn)
    sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rule in hipaa.RULES:
        checked = report.checked.get(rule.name, 0)
        sections[rule.citation].append({
            "policy": rule.name,
            "title": rule.title,
            "level": report.levels.get(rule.name),
            "checked": checked,
            "failed": len(failed[rule.name]),
            "violations": [
                {"urn": v.urn, "message": v.message, "level": v.level}
                for v in report.violations if v.policy == rule.name
            ],
        })
    exceptions = []
    for rule_name, key in (("pod-security-restricted", "privilegedNamespaces"),
                           ("default-deny-network-policy", "networkPolicyExemptNamespaces")):
        entry = pack_config.get(rule_name) or {}
        for namespace, reason in sorted((entry.get(key) or {}).items()):
            exceptions.append({"policy": rule_name, "namespace": namespace, "reason": reason})
    for entry in (pack_config.get("effective-capability") or {}).get("exceptions") or []:
        exceptions.append({"policy": "effective-capability", "namespace": ", ".join(entry.get("namespaces") or ["*"]),
                           "reason": f"{entry['subject']} may {', '.join(entry['capabilities'])}: {entry['reason']}"})
    return {
        "sections": {citation: sections[citation] for citation in sorted(sections)},
        "exceptions": exceptions,
        # checkov's findings on the charts' objects that no value fixes (tests/test_checkov.py runs it on every stack).
        "checkovExceptions": checkov.report_rows(checkov.load()),
        "organisational": ORGANISATIONAL,
        "mandatoryViolations": len(report.mandatory),
    }


def markdown(document: dict[str, Any]) -> str:
    lines = ["# Compliance report", "", f"Mandatory violations: {document['mandatoryViolations']}", ""]
    for citation, policies in document["sections"].items():
        lines += [f"## 45 CFR {citation}", "", "| Policy | Level | Checked | Failed |", "|---|---|---|---|"]
        lines += [f"| {p['policy']} ({p['title']}) | {p['level']} | {p['checked']} | {p['failed']} |" for p in policies]
        for policy in policies:
            lines += [f"- **{policy['policy']}** `{v['urn']}`: {v['message']}" for v in policy["violations"]]
        lines.append("")
    lines += ["## Exceptions", "", "| Policy | Namespace | Reason |", "|---|---|---|"]
    lines += [f"| {e['policy']} | {e['namespace']} | {e['reason']} |" for e in document["exceptions"]]
    lines += ["", "## checkov exceptions (charts' objects)", "", "| Checks | Chart | Objects | Reason |", "|---|---|---|---|"]
    lines += [f"| {e['checks']} | {e['chart']} | {e['objects']} | {e['reason']} |" for e in document["checkovExceptions"]]
    lines += ["", "## Organisational controls (no policy can check these)", ""]
    lines += [f"- {control}: {cover}" for control, cover in document["organisational"].items()]
    return "\n".join(lines) + "\n"
