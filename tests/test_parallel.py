"""utils.run_parallel: the results in the order of the jobs, whatever order they finish
in; really in separate processes; an error in a job reaches the caller."""
import os
import time

import pytest

import utils


def later_jobs_finish_first(delay, index, progress_position):
    """Job i sleeps (3 - i) * delay: with two workers job 1 finishes before job 0."""
    time.sleep(delay * (3 - index))
    return index, os.getpid(), progress_position


def fails_at_two(index, progress_position):
    if index == 2:
        raise ValueError(f"job {index} failed")
    return index


def test_results_come_in_job_order():
    jobs = [dict(index=i) for i in range(4)]
    results = utils.run_parallel(later_jobs_finish_first, jobs, shared=(0.05,), num_workers=2)
    assert [index for index, _, _ in results] == [0, 1, 2, 3]
    processes = {pid for _, pid, _ in results}
    assert len(processes) == 2 and os.getpid() not in processes
    assert {line for _, _, line in results} == {0, 1}  # one progress line per worker


def test_one_worker_runs_in_this_process():
    results = utils.run_parallel(later_jobs_finish_first, [dict(index=3), dict(index=2)],
                                 shared=(0.0,), num_workers=1)
    assert results == [(3, os.getpid(), 0), (2, os.getpid(), 0)]


@pytest.mark.parametrize("num_workers", [1, 2])
def test_an_error_in_a_job_reaches_the_caller(num_workers):
    with pytest.raises(ValueError, match="job 2 failed"):
        utils.run_parallel(fails_at_two, [dict(index=i) for i in range(4)],
                           num_workers=num_workers)
