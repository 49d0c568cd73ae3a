"""``nsml cluster caps``: the organiser's per-team caps in ``$NSML_SHARED/caps.json``, without a cluster.

The caps in force for a team are its own values, then the values for every team, then ``NSML_SLURM_MAX_*``;
test_nsml_slurm.py shows a run beyond a cap set this way refused by a real cluster.
"""

from __future__ import annotations

import json

import pytest

from nsml_support import nsml_cli


@pytest.fixture
def shared_env(env, tmp_path) -> dict[str, str]:
    return dict(env, NSML_SHARED=str(tmp_path / "shared"))


def caps_in_force(env: dict[str, str], *team: str) -> dict[str, dict]:
    return json.loads(nsml_cli(env, "cluster", "caps", *team, "--json").stdout)["caps"]


def test_caps_for_every_team_and_one_team_come_in_that_order_over_the_environment(shared_env, tmp_path) -> None:
    assert caps_in_force(shared_env) == {"*": {"jobs": None, "cpus": None, "gpus": None}}
    nsml_cli(shared_env, "cluster", "caps", "--max_jobs", "4", "--max_gpus", "8")
    set_red = nsml_cli(shared_env, "cluster", "caps", "--team", "red", "--max_gpus", "2", "--max_jobs", "none")
    assert "caps of team red in" in set_red.stderr and "max_jobs=none, max_gpus=2" in set_red.stderr
    assert set_red.stdout.splitlines() == ["TEAM  MAX_JOBS  MAX_CPUS  MAX_GPUS", "red   -         -         2"]
    environment = dict(shared_env, NSML_SLURM_MAX_CPUS="16", NSML_SLURM_MAX_JOBS="1")
    assert caps_in_force(environment) == {"*": {"jobs": 4, "cpus": 16, "gpus": 8},
                                          "red": {"jobs": None, "cpus": 16, "gpus": 2}}
    assert caps_in_force(environment, "--team", "blue") == {"blue": {"jobs": 4, "cpus": 16, "gpus": 8}}
    assert json.loads((tmp_path / "shared" / "caps.json").read_text()) == \
        {"*": {"jobs": 4, "gpus": 8}, "red": {"jobs": None, "gpus": 2}}

    listed = nsml_cli(shared_env, "cluster", "caps").stdout.splitlines()
    assert [line.split() for line in listed] == [["TEAM", "MAX_JOBS", "MAX_CPUS", "MAX_GPUS"],
                                                 ["(every", "team)", "4", "-", "8"], ["red", "-", "-", "2"]]
    nsml_cli(shared_env, "cluster", "caps", "--team", "red", "--max_jobs", "default", "--max_gpus", "default")
    assert caps_in_force(shared_env) == {"*": {"jobs": 4, "cpus": None, "gpus": 8}}  # red has none of its own


def test_caps_mistakes_are_one_line_errors(shared_env, env) -> None:
    for argv, expected in (
            (("--max_jobs", "many"), "argument --max_jobs: expected a whole number, none (no cap) or default"),
            (("--team", "red team", "--max_jobs", "2"), "--team 'red team': a Slurm account name is letters"),
            (("--max_cpus", "-1"), "argument --max_cpus: expected a whole number")):
        refused = nsml_cli(shared_env, "cluster", "caps", *argv, check=False)
        assert refused.returncode == 2 and expected in refused.stderr, refused.stderr
    refused = nsml_cli(env, "cluster", "caps", check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("nsml: error: nsml cluster caps needs NSML_SHARED")
    refused = nsml_cli(env, "cluster", check=False)
    assert refused.returncode == 2 and "caps" in refused.stderr
