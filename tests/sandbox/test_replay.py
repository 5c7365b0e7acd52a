from oyren.collect.checkpoints import FileCrawlStore
from oyren.collect.plan import PlannerSettings
from oyren.collect.track import TrackSettings
from oyren.inputs.observations import read_observations
from oyren.rules.campaign import parse_campaign
from oyren.sandbox.api import Faults, SandboxConfig
from oyren.sandbox.replay import collect_sandbox
from oyren.sandbox.simulate import sandbox_campaign, simulate


def test_collect_sandbox_replays_a_campaign_over_http_until_the_deadline_is_covered(tmp_path):
    campaign = parse_campaign(
        sandbox_campaign().source_text.replace("starts = 2024-02-21", "starts = 2024-04-18")
    )
    sim = simulate(campaign, videos=150, seed=6)
    config = SandboxConfig(faults=Faults.typical(), latency_s=1.0)
    with FileCrawlStore(tmp_path, durable=False) as store:
        report = collect_sandbox(
            campaign,
            sim,
            store,
            config=config,
            track_settings=TrackSettings(planner=PlannerSettings(contenders=10)),
        )
        path = store.observations_path(campaign.id)
    assert report.track.finished
    assert report.started_at == campaign.window_start_ts
    assert campaign.cutoff_ts < report.ended_at < campaign.cutoff_ts + 7 * 86400
    # Every research request the client counted was answered by the sandbox, faults included.
    charged = ("ok", "500", "504", "expired", "empty")
    assert report.track.requests == sum(report.sandbox[k] for k in charged)
    truth = {v.video_id: v for v in sim.videos}
    observations = list(read_observations(path))
    assert all(o == truth[o.video_id].observe(o.collected_at) for o in observations)
    assert report.track.coverage is not None
    assert {r.basis for r in report.track.coverage.best_video} <= {"observed", "interpolated"}
