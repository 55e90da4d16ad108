"""The demo experiment `make run` uploads: the shipped rules unchanged, a holdout and one experiment."""

from __future__ import annotations

from tierflow_cli.demo_experiment import DEMO_EXPERIMENT, DEMO_HOLDOUT, DEMO_VERSION, demo_policy_yaml
from tierflow_routing.domain.policy import DEFAULT_ROUTING_POLICY_FILE, load_routing_policy, parse_routing_policy


def test_the_demo_policy_is_the_shipped_rules_with_a_holdout_and_one_experiment() -> None:
    demo = parse_routing_policy(demo_policy_yaml())
    shipped = load_routing_policy(DEFAULT_ROUTING_POLICY_FILE)
    assert demo.version == DEMO_VERSION != shipped.version
    assert demo.rules == shipped.rules
    assert demo.holdout is not None and (demo.holdout.id, demo.holdout.share) == (DEMO_HOLDOUT, 0.1)
    [experiment] = demo.experiments
    assert experiment.id == DEMO_EXPERIMENT and [a.name for a in experiment.arms] == ["control", "robo"]
    assert experiment.population.rules == ["default"]
