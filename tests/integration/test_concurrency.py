"""Several processes appending to one stream at the same expected version: exactly one wins."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest

from gpumod.bootstrap import App
from gpumod.events.chain import verify_store
from tests.integration.support import contend, db_file, raw_rows

JOIN_TIMEOUT_S = 120  # a deadline against hanging forever, not a measurement


@pytest.mark.parametrize(("writers", "rounds"), [(2, 3), (4, 6)])
def test_one_writer_wins_each_round_and_the_log_stays_whole(
        app: App, writers: int, rounds: int) -> None:
    path = db_file(app.store)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(writers, timeout=JOIN_TIMEOUT_S)
    results = ctx.Queue()
    processes = [ctx.Process(target=contend,
                             args=(str(path), "shared", w, rounds, barrier, results))
                 for w in range(writers)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=JOIN_TIMEOUT_S) for _ in range(writers * rounds)]
    for process in processes:
        process.join(JOIN_TIMEOUT_S)
        assert process.exitcode == 0

    for round_ in range(rounds):
        this_round = [o for o in outcomes if o[0] == round_]
        assert Counter(o[2] for o in this_round) == {"won": 1, "conflict": writers - 1}
        assert {o[3] for o in this_round} == {round_}  # all read the same version
        assert {o[4] for o in this_round if o[2] == "conflict"} == {round_ + 1}

    rows = raw_rows(path)
    positions = [row[0] for row in rows]
    assert positions == list(range(1, 2 * rounds + 1))  # no gap, losers wrote nothing
    assert len({row[3] for row in rows}) == len(rows)  # no duplicate event id
    shared = [row for row in rows if row[1] == "shared"]
    assert [row[2] for row in shared] == list(range(1, rounds + 1))
    winners = {o[1]: 0 for o in outcomes}
    for o in outcomes:
        if o[2] == "won":
            winners[o[1]] += 1
    for worker, wins in winners.items():
        own = [row for row in rows if row[1] == f"writer-{worker}"]
        assert [row[2] for row in own] == list(range(1, wins + 1))
    # Each winner's two events are adjacent: batches never interleave.
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert first[1].startswith("writer-")
        assert second[1] == "shared"
        assert first[11] == second[11]  # same actor
    assert verify_store(app.store).count == 2 * rounds

