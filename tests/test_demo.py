from oyren.accounts import authenticate
from oyren.db import open_database, transaction
from oyren.demo import build_demo
from oyren.engine import evaluate_observations
from oyren.results import results_to_dict
from oyren.simulate import observations
from oyren.store import standings


def test_build_demo_stores_what_the_engine_decides_from_the_simulation(tmp_path):
    stages = []
    demo = build_demo(tmp_path, videos=200, seed=3,
                      progress=lambda stage, done, total: stages.append(stage))  # fmt: skip
    expected = evaluate_observations(demo.campaign, observations(demo.simulation))
    assert results_to_dict(demo.results) == results_to_dict(expected)
    assert demo.observations == sum(1 for _ in observations(demo.simulation))
    assert {"inventing videos", "storing observations"} <= set(stages)
    engine = open_database(demo.settings.database_url)
    try:
        with transaction(engine) as session:
            stored = standings(session, campaign_id=demo.campaign.id)
            user = authenticate(session, username=demo.organizer, password=demo.password)
    finally:
        engine.dispose()
    assert results_to_dict(stored.results) == results_to_dict(expected)
    assert user is not None and user.role == "organizer"


def test_build_demo_twice_replaces_the_earlier_store(tmp_path):
    first = build_demo(tmp_path, videos=50, seed=1)
    second = build_demo(tmp_path, videos=80, seed=2)
    assert len(first.results.entries) == 50
    assert len(second.results.entries) == 80
    assert first.password != second.password
