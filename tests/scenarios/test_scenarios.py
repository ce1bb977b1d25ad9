"""One test per scenario folder (tests/scenarios/<name>/scenario.yaml), over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenarios.runner import World, load, scenario_dirs

pytestmark = pytest.mark.e2e
SCENARIOS = {path.name: load(path) for path in scenario_dirs()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    started = World.start(tmp_path_factory.mktemp("scenarios"), SCENARIOS)
    yield started
    started.stop()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(world: World, name: str) -> None:
    scenario = SCENARIOS[name]
    mandate = world.prepare(name, scenario)
    for index, step in enumerate(scenario["steps"]):
        view = world.run_step(name, name, mandate, step)
        expect = step["expect"]
        where = f"{name} step {index}: {view.get('details')}"
        assert view["decision"] == expect["decision"], where
        if "reasons" in expect:
            assert view["reasons"] == expect["reasons"], where
        if "step_up" in expect:
            assert bool(view.get("human_request")) == expect["step_up"], where
        assert view.get("receipt"), where  # every final decision is receipted


def test_every_scenario_folder_is_well_formed() -> None:
    assert len(SCENARIOS) >= 20
    for name, scenario in SCENARIOS.items():
        assert scenario.get("description") and scenario.get("source"), name
        assert all("expect" in step for step in scenario["steps"]), name
        assert Path(__file__).parent.joinpath(name, "scenario.yaml").exists()
