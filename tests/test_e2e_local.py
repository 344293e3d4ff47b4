"""The quickstart config end to end on the real embedded model, on a small prompt subset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import evalkit

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("llama_cpp", reason="the local extra is not installed: pip install 'evalkit[local]'")


@pytest.mark.slow
def test_quickstart_subset_runs_on_the_embedded_model(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    for system in config["systems"]:
        system["params"]["max_tokens"] = 24  # keep it quick; the pipeline is what is under test
    config.update(limit=2, output_dir=str(tmp_path / "reports"), base_dir=str(ROOT))
    run = evalkit.run(config, progress=False)
    assert run.status == "complete"
    assert len(run.records.responses) == 4
    assert all(r.error is None and r.text.strip() for r in run.records.responses)
    assert {r.model_id for r in run.records.responses} != {""}
    assert len(run.records.judgments) == 4  # one comparison, both orders
    assert all(j.provenance and j.provenance.template_hash for j in run.records.judgments)
    assert len(run.records.grades) == 4
    html = (run.path / "report.html").read_text()
    assert "base-icl-aligned" in html and "<svg" in html
    assert len(run.shift_answers) == 2 and all(a.error is None and a.ranks for a in run.shift_answers)
    assert 'id="shift"' in html  # the quickstart configures the token shift analysis
    meta = json.loads((run.path / "run.json").read_text())
    assert meta["executions"][-1]["calls"]["local/gemma-3-270m"]["calls"] >= 12
    again = evalkit.run(config, progress=False, report=False)
    assert again.records.responses == run.records.responses
    shutil.rmtree(tmp_path / "reports")
