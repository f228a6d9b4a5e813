"""The site's evaluation question set: a JSON file of the site repository, named by ``evaluation.questionSet``.

Read where the program runs (the project directory, as Pulumi runs it); its digest is what an evaluation
record names, so a record made on another set does not pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.config.issues import ConfigIssue
from components.jobs.evaluate_model import canonical_digest, check_question_set


def load(path: str) -> tuple[dict[str, Any] | None, list[ConfigIssue]]:
    """The question set, or the issues that make it unusable (each naming evaluation.questionSet)."""
    file = Path.cwd() / path
    try:
        document = json.loads(file.read_text())
    except FileNotFoundError:
        return None, [ConfigIssue("evaluation.questionSet", path, f"no such file under {Path.cwd()}; name the JSON "
                                  "question set relative to Pulumi.yaml")]
    except (OSError, ValueError) as error:
        return None, [ConfigIssue("evaluation.questionSet", path, f"is not readable JSON ({error})")]
    problems = check_question_set(document)
    if problems:
        return None, [ConfigIssue("evaluation.questionSet", path, "; ".join(problems))]
    return document, []


def digest(document: dict[str, Any]) -> str:
    return canonical_digest(document)
