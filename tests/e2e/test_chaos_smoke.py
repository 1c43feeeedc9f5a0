"""The chaos harness on a tiny workload without faults: the product loses nothing, and the harness
counts nothing that did not happen (its figures are honest), in under half a minute."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from chaos.__main__ import SMALL
from chaos.workload import FIGURES, ChaosConfig, run

pytestmark = pytest.mark.e2e


def test_a_small_workload_without_faults_counts_zero(tmp_path: Path) -> None:
    config = replace(ChaosConfig(**SMALL), rate=0.0)

    report = run(config, tmp_path / "data")

    assert set(report["figures"]) == set(FIGURES)
    assert report["figures"] == dict.fromkeys(FIGURES, 0), report["details"]
    workload = report["workload"]
    assert (
        workload["inbound_stored"]
        == workload["inbound_acknowledged"]
        == config.new_senders + config.known_messages
    )
    expected_sends = config.new_senders + config.replies + config.scheduled + config.broadcast
    assert workload["graph_sends_accepted"] == expected_sends, workload
    assert report["settled"]
