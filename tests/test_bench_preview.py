"""`make bench`'s suite figure: judged on a run with the caches a developer's loop has, never on the run that filled them."""

from __future__ import annotations

from bench import preview


def test_a_run_that_filled_the_caches_is_measured_again(monkeypatch, tmp_path):
    monkeypatch.setenv("ONPREM_LLM_CACHE", str(tmp_path))
    runs = iter([(300.0, 500.0), (100.0, 190.0)])

    def suite():
        (tmp_path / "offline").mkdir(exist_ok=True)
        (tmp_path / "offline" / f"entry-{len(list((tmp_path / 'offline').iterdir()))}.render.json").write_text("{}")
        return next(runs)

    monkeypatch.setattr(preview, "suite", suite)
    assert preview.suite_figures() == ((100.0, 190.0), (300.0, 500.0))


def test_a_run_that_found_every_entry_is_the_figure(monkeypatch, tmp_path):
    monkeypatch.setenv("ONPREM_LLM_CACHE", str(tmp_path))
    (tmp_path / "offline").mkdir()
    (tmp_path / "offline" / "entry.render.json").write_text("{}")
    runs = iter([(100.0, 190.0)])
    monkeypatch.setattr(preview, "suite", lambda: next(runs))
    assert preview.suite_figures() == ((100.0, 190.0), None)
