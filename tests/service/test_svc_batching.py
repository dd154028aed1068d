"""Micro-batching of one-sounding inversions: concurrent soundings share one vectorised call, give
the results they would get alone (real inverter), and a bad sounding only fails itself; through
the API, concurrent requests are answered correctly and the cached name → network resolution
follows alias moves and deletions at once."""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from svc_helpers import register_tiny, sounding

from inversion import InversionInputError
from service.batching import InversionBatcher

MODELS = [
    (100.0, 10.0, 500.0, 5.0, 20.0),
    (20.0, 200.0, 20.0, 3.0, 10.0),
    (300.0, 30.0, 3000.0, 2.0, 40.0),
    (50.0, 500.0, 5.0, 8.0, 15.0),
    (1000.0, 100.0, 10.0, 1.5, 30.0),
]


class GatedCalls:
    """Wraps a vectorised ``invert``: records each call's batch size; the first call waits until
    ``release()`` so that the others queue behind it."""

    def __init__(self, invert: Any) -> None:
        self.invert = invert
        self.sizes: list[int] = []
        self._gate = threading.Event()

    def __call__(self, observations: list[dict]) -> list[dict]:
        self.sizes.append(len(observations))
        if len(self.sizes) == 1:
            assert self._gate.wait(30)
        return self.invert(observations)

    def release(self) -> None:
        self._gate.set()


def _run_concurrently(
    batcher: InversionBatcher, key: Any, observations: list[dict], invert: GatedCalls
) -> list[Any]:
    """Submit ``observations[0]`` (it leads and blocks in ``invert``), queue the rest behind it,
    release the gate; return each result, or the exception it raised."""

    def submit(obs: dict) -> Any:
        try:
            with batcher.arrival() as arrival:
                return arrival.invert(key, obs, invert)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(observations)) as pool:
        futures = [pool.submit(submit, observations[0])]
        _wait_for(lambda: invert.sizes == [1])
        futures += [pool.submit(submit, obs) for obs in observations[1:]]
        _wait_for(lambda: len(batcher._queues.get(key, [])) == len(observations) - 1)
        invert.release()
        return [future.result(timeout=60) for future in futures]


def _wait_for(condition: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _assert_same_result(batched: Any, alone: Any, path: str = "result") -> None:
    """Equal structure, flags and text; numbers equal to float32 rounding (the networks run in
    float32, and BLAS sums a row of a batch in another order than a row alone)."""
    if isinstance(alone, dict):
        assert set(batched) == set(alone), path
        for key in alone:
            if key not in ("elapsed_ms", "timing_ms"):  # wall-clock figures
                _assert_same_result(batched[key], alone[key], f"{path}.{key}")
    elif isinstance(alone, list):
        assert len(batched) == len(alone), path
        for i, (a, b) in enumerate(zip(batched, alone, strict=True)):
            _assert_same_result(a, b, f"{path}[{i}]")
    elif isinstance(alone, float) and not isinstance(alone, bool):
        np.testing.assert_allclose(batched, alone, rtol=1e-5, atol=1e-9, err_msg=path)
    else:
        assert batched == alone, path


def test_queued_soundings_share_one_call() -> None:
    batcher = InversionBatcher()
    invert = GatedCalls(lambda observations: [{"echo": obs["i"]} for obs in observations])
    results = _run_concurrently(batcher, "k", [{"i": i} for i in range(6)], invert)
    assert invert.sizes == [1, 5]
    assert results == [{"echo": i} for i in range(6)]


def test_a_bad_sounding_fails_alone() -> None:
    def invert_all(observations: list[dict]) -> list[dict]:
        if any(obs["i"] == 3 for obs in observations):
            raise ValueError("sounding 3 is bad")
        return [{"echo": obs["i"]} for obs in observations]

    batcher = InversionBatcher()
    invert = GatedCalls(invert_all)
    results = _run_concurrently(batcher, "k", [{"i": i} for i in range(6)], invert)
    assert invert.sizes[:2] == [1, 5] and len(invert.sizes) == 2 + 5  # then one call each
    assert [r for i, r in enumerate(results) if i != 3] == [{"echo": i} for i in (0, 1, 2, 4, 5)]
    assert isinstance(results[3], ValueError) and str(results[3]) == "sounding 3 is bad"


def test_different_keys_are_not_mixed() -> None:
    batcher = InversionBatcher()
    invert = GatedCalls(lambda observations: [{"echo": obs["i"]} for obs in observations])
    results: dict[int, Any] = {}

    def submit(key: str, i: int) -> None:
        with batcher.arrival() as arrival:
            results[i] = arrival.invert(key, {"i": i}, invert)

    with ThreadPoolExecutor(5) as pool:
        pool.submit(submit, "a", 0)
        _wait_for(lambda: invert.sizes == [1])
        for i, key in enumerate("abab", start=1):
            pool.submit(submit, key, i)
        _wait_for(lambda: sum(len(q) for q in batcher._queues.values()) == 4)
        invert.release()
    assert sorted(invert.sizes) == [1, 2, 2]
    assert results == {i: {"echo": i} for i in range(5)}


@pytest.mark.parametrize("refine", [True, False])
def test_batched_results_match_single_inversions(tiny_inverter, refine: bool) -> None:
    observations = [sounding(model) for model in MODELS]
    bad = {**sounding(), "rho_a_ohmm": [-1.0] + sounding()["rho_a_ohmm"][1:]}
    invert = GatedCalls(functools.partial(tiny_inverter.invert, refine=refine))
    results = _run_concurrently(InversionBatcher(), "k", [*observations, bad], invert)
    assert invert.sizes[:2] == [1, len(observations)]
    for obs, result in zip(observations, results, strict=False):
        _assert_same_result(result, tiny_inverter.invert([obs], refine=refine)[0])
    with pytest.raises(InversionInputError) as alone:
        tiny_inverter.invert([bad], refine=refine)
    assert isinstance(results[-1], InversionInputError)
    assert str(results[-1]) == str(alone.value) and results[-1].status == alone.value.status


def test_concurrent_api_requests(app, tiny_inverter) -> None:
    network_id = register_tiny(app, tiny_inverter, "conc")
    bodies = [{"data": sounding(MODELS[i % len(MODELS)])} for i in range(24)]
    bodies[7] = {"data": {**sounding(), "rho_a_ohmm": [1.0, 2.0]}}  # wrong length

    def post(body: dict) -> tuple[int, dict]:
        response = app.test_client().post(f"/api/v1/networks/{network_id}/invert", json=body)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, bodies))
    alone = post(bodies[7])
    assert answers[7] == alone and alone[0] in (400, 422)
    for i, (status, result) in enumerate(answers):
        if i == 7:
            continue
        assert status == 200, result
        assert result["network"] == {"id": network_id, "name": "conc", "version": 1}
        assert result["elapsed_ms"] > 0
        _assert_same_result(result["model"], tiny_inverter.invert([bodies[i]["data"]])[0]["model"])


def test_cached_resolution_follows_alias_moves_and_deletes(
    app, client, auth, tiny_inverter
) -> None:
    first = register_tiny(app, tiny_inverter, "mv", held_out_loss=0.2)
    second = register_tiny(app, tiny_inverter, "mv", held_out_loss=0.9)  # production stays
    body = {"data": sounding(), "refine": False}

    def served_by(ref: str) -> Any:
        response = client.post(f"/api/v1/networks/{ref}/invert", json=body)
        return response.get_json()["network"]["id"] if response.status_code == 200 else 404

    assert served_by("mv") == first and served_by("mv@latest") == second
    moved = client.post(
        f"/api/v1/networks/{second}/aliases", json={"alias": "production"}, headers=auth
    )
    assert moved.status_code == 200
    assert served_by("mv") == second  # at once, not after the cache's 2 s
    assert client.delete(f"/api/v1/networks/{second}", headers=auth).status_code == 204
    assert served_by(second) == 404
    assert served_by("mv") == first and served_by("mv@latest") == first
