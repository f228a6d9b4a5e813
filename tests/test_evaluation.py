"""The evaluation's scoring code: rules graded on recorded answers, and one run against a stand-in gateway.

The stand-in is a real HTTPS server with a certificate made here; the Job's script runs as the Job runs
it (its own process, its environment), asks each question and grades the answers the stand-in gives.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys

import pytest

from components.jobs import evaluate_model as ev
from offline.run import ROOT
from tests import https_stand_in

QUESTIONS = json.loads((ROOT / "examples/evaluation/questions.json").read_text())
# Answers as a model gave them: right, right (other wording), wrong, right with a unit.
RECORDED = {"units-glucose": "10.0", "abbreviation-npo": "Nothing by mouth.", "triage-choice": "AB+",
            "dose-arithmetic": "330 mg"}


@pytest.mark.parametrize(("expect", "answer", "correct"), [
    ({"exact": "O-"}, " o- ", True),
    ({"exact": "O-"}, "O-.", True),
    ({"exact": "O-"}, "O- (universal donor)", False),
    ({"regex": "nothing (by|per) mouth"}, "NPO means nothing per mouth", True),
    ({"regex": "nothing (by|per) mouth"}, "no food", False),
    ({"number": 10.0, "tolerance": 0.1}, "10,05 mmol/L", True),
    ({"number": 10.0, "tolerance": 0.1}, "about 10.2", False),
    ({"number": 330, "tolerance": 0}, "The dose is 330 mg", True),
    ({"number": 330}, "three hundred and thirty", False),
])
def test_each_rule_grades_as_written(expect, answer, correct):
    assert ev.grade(expect, answer) is correct


def test_recorded_answers_score_and_name_what_they_graded():
    result = ev.record(QUESTIONS, RECORDED, model="llama-2-7b-chat", role="candidate", weights="sha256:" + "a" * 64,
                       pass_score=0.9)
    assert [a["correct"] for a in result["answers"]] == [True, True, False, True]
    assert result["score"] == 0.75 and result["passed"] is False
    assert result["questionSet"] == ev.canonical_digest(QUESTIONS)
    # A missing answer is a wrong one.
    missing = ev.record(QUESTIONS, {}, model="m", role="current", weights="w", pass_score=0.5)
    assert missing["score"] == 0 and not missing["passed"]


def test_the_summary_is_the_config_record_with_a_digest_of_the_whole_result():
    result = ev.record(QUESTIONS, {**RECORDED, "triage-choice": "O-"}, model="m", role="candidate",
                       weights="sha256:" + "a" * 64, pass_score=0.9)
    lines = ev.summary(result).splitlines()
    assert lines[0] == "EVALUATION m candidate: score 1.0 (passed, pass score 0.9)"
    assert lines[-1] == f"  resultDigest: {ev.canonical_digest(result)}"
    changed = {**result, "answers": [{**result["answers"][0], "answer": "10.1"}, *result["answers"][1:]]}
    assert ev.canonical_digest(changed) != ev.canonical_digest(result), "every answer is in the digest"


@pytest.mark.parametrize(("document", "problem"), [
    ({}, "non-empty list `questions`"),
    ({"questions": [{"id": "a", "prompt": "p", "expect": {}}]}, "exactly one of exact, regex, number"),
    ({"questions": [{"id": "a", "prompt": "p", "expect": {"regex": "("}}]}, "regex does not compile"),
    ({"questions": [{"id": "a", "prompt": "p", "expect": {"exact": "x"}},
                    {"id": "a", "prompt": "q", "expect": {"exact": "y"}}]}, "is used twice"),
    ({"questions": [{"id": "a", "prompt": "p", "expect": {"number": "7"}}]}, "must be numbers"),
])
def test_a_question_set_that_cannot_be_graded_is_named(document, problem):
    assert any(problem in p for p in ev.check_question_set(document))
    assert ev.check_question_set(QUESTIONS) == []


def test_recorded_answers_regrade_from_the_command_line(tmp_path):
    questions, answers = tmp_path / "q.json", tmp_path / "a.json"
    questions.write_text(json.dumps(QUESTIONS))
    answers.write_text(json.dumps(RECORDED))
    result = subprocess.run([sys.executable, "-m", "components.jobs.evaluate_model", "grade", str(questions),
                             str(answers)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["score"] == 0.75


# -- one run against a stand-in gateway -------------------------------------------------------------


@pytest.fixture
def gateway(tmp_path):
    """An HTTPS stand-in of the gateway answering from RECORDED, and what it was asked."""
    https_stand_in.self_signed(tmp_path)
    by_prompt = {q["prompt"]: RECORDED[q["id"]] for q in QUESTIONS["questions"]}
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the http.server API)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append({"path": self.path, "auth": self.headers["Authorization"],
                          "revision": self.headers["x-onprem-llm-revision"], "body": body})
            answer = json.dumps({"choices": [{"message": {"content": by_prompt[body["messages"][0]["content"]]}}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, *args):
            pass

    server = https_stand_in.serve(Handler, tmp_path)
    yield f"https://localhost:{server.server_address[1]}/v1", tmp_path, asked
    server.shutdown()


def test_the_job_asks_each_question_as_a_user_of_the_pinned_revision_and_prints_the_record(gateway):
    base_url, directory, asked = gateway
    (directory / "token").write_text("group-token\n")
    (directory / "questions.json").write_text(json.dumps(QUESTIONS))
    env = {**os.environ, "GATEWAY_BASE_URL": base_url, "MODEL_NAME": "llama-2-7b-chat", "REVISION_ROLE": "candidate",
           "WEIGHTS_MANIFEST_DIGEST": "sha256:" + "a" * 64, "QUESTION_SET": str(directory / "questions.json"),
           "PASS_SCORE": "0.7", "TOKEN_FILE": str(directory / "token"), "GATEWAY_CA_FILE": str(directory / "ca.crt")}
    result = subprocess.run([sys.executable, str(ROOT / "components/jobs/evaluate_model.py")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(asked) == 4
    assert {(a["path"], a["auth"], a["revision"]) for a in asked} == {
        ("/v1/chat/completions", "Bearer group-token", "candidate")}
    assert all(a["body"]["temperature"] == 0 and a["body"]["model"] == "llama-2-7b-chat" for a in asked)
    record = json.loads(result.stdout.splitlines()[0])
    assert record["score"] == 0.75 and record["passed"] and record["revisionRole"] == "candidate"
    assert result.stdout.splitlines()[-1] == f"  resultDigest: {ev.canonical_digest(record)}"
    assert result.stdout.splitlines()[1] == ev.audit_line(record), "the one line the audit store keeps"
    # Below the pass score the Job fails, so `kubectl get job` shows it too.
    env["PASS_SCORE"] = "0.9"
    assert subprocess.run([sys.executable, str(ROOT / "components/jobs/evaluate_model.py")], env=env,
                          capture_output=True, text=True, timeout=60).returncode == 1
