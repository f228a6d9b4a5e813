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


def test_a_run_that_found_every_entry_is_the_figure_even_if_it_pruned_some(monkeypatch, tmp_path):
    monkeypatch.setenv("ONPREM_LLM_CACHE", str(tmp_path))
    (tmp_path / "offline").mkdir()
    for name in ("used", "unused"):
        (tmp_path / "offline" / f"{name}.render.json").write_text("{}")
    runs = iter([(100.0, 190.0)])

    def suite():
        (tmp_path / "offline" / "unused.render.json").unlink()
        return next(runs)

    monkeypatch.setattr(preview, "suite", suite)
    assert preview.suite_figures() == ((100.0, 190.0), None)


def test_a_run_that_pruned_as_many_entries_as_it_filled_is_measured_again(monkeypatch, tmp_path):
    monkeypatch.setenv("ONPREM_LLM_CACHE", str(tmp_path))
    (tmp_path / "offline").mkdir()
    (tmp_path / "offline" / "old.render.json").write_text("{}")
    runs = iter([(300.0, 500.0), (100.0, 190.0)])

    def suite():
        if (tmp_path / "offline" / "old.render.json").exists():
            (tmp_path / "offline" / "old.render.json").unlink()
            (tmp_path / "offline" / "new.render.json").write_text("{}")
        return next(runs)

    monkeypatch.setattr(preview, "suite", suite)
    assert preview.suite_figures() == ((100.0, 190.0), (300.0, 500.0))
