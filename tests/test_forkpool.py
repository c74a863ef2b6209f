"""shared_map: the same results, in order, from the caller alone or with forked workers; worker errors surface."""

from __future__ import annotations

import os

import pytest

from harness.errors import UserError
from harness.forkpool import shared_map


def _scaled(shared: dict, x: int) -> tuple[int, int]:
    return x * shared["factor"], os.getpid()


def _picky(shared: None, x: int) -> int:
    if x == 5:
        raise UserError(f"job {x}: bad input; fix it")
    return x


def test_results_come_back_in_order_and_equal_to_the_serial_map():
    jobs = list(range(40))
    serial = shared_map(_scaled, {"factor": 3}, jobs, 1)
    parallel = shared_map(_scaled, {"factor": 3}, jobs, 2)
    assert [v for v, _ in parallel] == [v for v, _ in serial] == [3 * j for j in jobs]
    assert {pid for _, pid in serial} == {os.getpid()}


def test_an_error_keeps_its_type_and_message_from_any_process():
    for processes in (1, 2):
        with pytest.raises(UserError, match="job 5: bad input"):
            shared_map(_picky, None, list(range(12)), processes)


def test_no_jobs_and_one_job_need_no_worker():
    assert shared_map(_scaled, {"factor": 2}, [], 4) == []
    assert shared_map(_scaled, {"factor": 2}, [7], 4)[0][0] == 14


def test_the_collector_is_off_during_the_map_and_back_on_after():
    import gc

    assert gc.isenabled()
    for processes in (1, 2):
        assert not any(shared_map(_collecting, None, list(range(6)), processes))
        assert gc.isenabled()


def _collecting(shared: None, x: int) -> bool:
    import gc

    return gc.isenabled()
