"""Evaluate one revision of a model on the site's own questions, through the gateway, and print a record to keep.

Runs in the vLLM image (Python 3, standard library only) as the evaluation Job, and is importable for
tests and for re-grading recorded answers (``python -m components.jobs.evaluate_model grade QUESTIONS ANSWERS``).

The question set is JSON: ``{"questions": [{"id", "prompt", "expect"}...]}`` where ``expect`` is one of
``{"exact": "B"}`` (the answer, trimmed and case-folded, equals it), ``{"regex": "..."}`` (the pattern
matches somewhere in the answer, case-insensitive), or ``{"number": 7.4, "tolerance": 0.1}`` (the first
number in the answer is within the tolerance). No model judges another: every grade is one of these rules.

Each prompt goes to ``/v1/chat/completions`` at temperature 0 with the header that pins the revision
(``x-onprem-llm-revision: candidate`` or ``current``), as a user of a group the model admits. The record
lists every answer with its grade, the score (share correct), the digests of the question set and of the
weights under test; its own digest is printed last, with the lines to copy into the stack config as
``models.<key>.candidate.evaluation`` (which production requires before a promotion when
``evaluation.requirePassing`` is on). The Job's log is the record: it is kept with the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
import sys
import urllib.request
from typing import Any

REVISION_HEADER = "x-onprem-llm-revision"
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def canonical_digest(document: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_question_set(document: Any) -> list[str]:
    """What is wrong with a question set (empty when it can be graded)."""
    problems = []
    questions = document.get("questions") if isinstance(document, dict) else None
    if not isinstance(questions, list) or not questions:
        return ["the question set needs a non-empty list `questions`"]
    seen = set()
    for index, q in enumerate(questions):
        where = f"questions[{index}]"
        if not isinstance(q, dict) or not isinstance(q.get("id"), str) or not isinstance(q.get("prompt"), str):
            problems.append(f"{where} needs a string `id` and a string `prompt`")
            continue
        if q["id"] in seen:
            problems.append(f"{where}: id {q['id']!r} is used twice")
        seen.add(q["id"])
        expect = q.get("expect")
        kinds = sorted(set(expect) & {"exact", "regex", "number"}) if isinstance(expect, dict) else []
        if len(kinds) != 1:
            problems.append(f"{where} ({q['id']}): `expect` needs exactly one of exact, regex, number")
        elif kinds == ["regex"]:
            try:
                re.compile(expect["regex"])
            except (re.error, TypeError) as error:
                problems.append(f"{where} ({q['id']}): regex does not compile: {error}")
        elif kinds == ["number"] and not (isinstance(expect["number"], (int, float))
                                          and isinstance(expect.get("tolerance", 0), (int, float))):
            problems.append(f"{where} ({q['id']}): number and tolerance must be numbers")
    return problems


def grade(expect: dict[str, Any], answer: str) -> bool:
    """Whether ``answer`` meets the question's rule."""
    text = answer.strip()
    if "exact" in expect:
        return text.casefold().rstrip(".") == str(expect["exact"]).strip().casefold().rstrip(".")
    if "regex" in expect:
        return re.search(expect["regex"], text, re.IGNORECASE) is not None
    found = NUMBER.search(text)
    if found is None:
        return False
    return abs(float(found.group().replace(",", ".")) - float(expect["number"])) <= float(expect.get("tolerance", 0))


def record(questions: dict[str, Any], answers: dict[str, str], *, model: str, role: str, weights: str,
           pass_score: float) -> dict[str, Any]:
    """The evaluation's record: every answer with its grade, the score and what was evaluated."""
    graded = [{"id": q["id"], "answer": answers.get(q["id"], ""), "correct": grade(q["expect"], answers.get(q["id"], ""))}
              for q in questions["questions"]]
    score = round(sum(g["correct"] for g in graded) / len(graded), 4)
    return {"model": model, "revisionRole": role, "weightsManifest": weights,
            "questionSet": canonical_digest(questions), "score": score, "passScore": pass_score,
            "passed": score >= pass_score, "answers": graded}


AUDIT_MARKER = "EVALUATION-RECORD "
"""Prefix of the one log line the audit trail keeps: the record without prompts or answers."""


def audit_line(result: dict[str, Any]) -> str:
    """What the audit store keeps of a run: score, verdict and digests; the answers stay in the Job's own log."""
    kept = {k: v for k, v in result.items() if k != "answers"}
    return AUDIT_MARKER + json.dumps({**kept, "resultDigest": canonical_digest(result)}, sort_keys=True)


def summary(result: dict[str, Any]) -> str:
    """The lines an operator copies into the stack config, with the record's digest."""
    return "\n".join([
        f"EVALUATION {result['model']} {result['revisionRole']}: score {result['score']} "
        f"({'passed' if result['passed'] else 'FAILED'}, pass score {result['passScore']})",
        "evaluation:",
        f"  score: {result['score']}",
        f"  weightsManifest: {result['weightsManifest']}",
        f"  questionSet: {result['questionSet']}",
        f"  resultDigest: {canonical_digest(result)}",
    ])


def ask(base_url: str, token: str, model: str, role: str, prompt: str, max_tokens: int,
        context: ssl.SSLContext) -> str:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": 0,
                       "max_tokens": max_tokens}).encode()
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", REVISION_HEADER: role})
    with urllib.request.urlopen(request, timeout=300, context=context) as response:
        return json.load(response)["choices"][0]["message"]["content"] or ""


def main() -> int:
    if sys.argv[1:2] == ["grade"]:
        # Re-grade recorded answers offline: `grade QUESTIONS.json ANSWERS.json` ({id: answer}).
        with open(sys.argv[2]) as q, open(sys.argv[3]) as a:
            questions, answers = json.load(q), json.load(a)
        result = record(questions, answers, model="offline", role="recorded", weights="recorded", pass_score=0)
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    with open(os.environ["QUESTION_SET"]) as f:
        questions = json.load(f)
    problems = check_question_set(questions)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    with open(os.environ["TOKEN_FILE"]) as f:
        token = f.read().strip()
    model, role = os.environ["MODEL_NAME"], os.environ["REVISION_ROLE"]
    context = ssl.create_default_context(cafile=os.environ["GATEWAY_CA_FILE"])
    answers = {}
    for q in questions["questions"]:
        try:
            answers[q["id"]] = ask(os.environ["GATEWAY_BASE_URL"], token, model, role, q["prompt"],
                                   int(os.environ.get("MAX_TOKENS", "256")), context)
        except OSError as error:  # an unanswered question is a wrong answer, and the log says why
            print(f"{q['id']}: no answer ({error})", file=sys.stderr)
    result = record(questions, answers, model=model, role=role, weights=os.environ["WEIGHTS_MANIFEST_DIGEST"],
                    pass_score=float(os.environ["PASS_SCORE"]))
    print(json.dumps(result, sort_keys=True))
    # The audit store keeps this line alone; the lines to copy come last.
    print(audit_line(result))
    print(summary(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
