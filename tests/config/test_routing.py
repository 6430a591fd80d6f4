"""A queue per stage (settings CELERY_TASK_ROUTES): each task goes to its stage's queue and
to no other, on the broker the suite runs on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from config import celery_app
from linkage import tasks
from linkage.metrics import _queue_depths

STAGES = settings.CELERY_QUEUES_BY_STAGE


@pytest.fixture
def empty_queues() -> Iterator[None]:
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def queue_of(task_name: str) -> str:
    route = celery_app.amqp.router.route({}, task_name)
    return str(route["queue"].name)


def test_each_stage_has_its_queue() -> None:
    assert queue_of("linkage.tasks.code_request_advance") == STAGES["request"]
    assert queue_of("linkage.tasks.code_requests_advance") == STAGES["request"]
    assert queue_of("linkage.tasks.code_acquisition_file_send") == STAGES["request"]
    assert queue_of("linkage.tasks.code_acquisition_files_drain") == STAGES["request"]
    assert queue_of("linkage.tasks.code_requests_confirm") == STAGES["confirm"]
    assert queue_of("linkage.tasks.notice_deliver") == STAGES["notices"]
    assert queue_of("backbone.tasks.serial_numbers_forward") == STAGES["backbone"]
    assert queue_of("intermediate.tasks.network_serials_obtain") == STAGES["national"]
    # The sweeps and the daily jobs: the default queue.
    for name in ("code_requests_sweep", "notices_sweep", "audit_chain_verify"):
        assert queue_of(f"linkage.tasks.{name}") == settings.CELERY_TASK_DEFAULT_QUEUE


def test_every_task_of_the_apps_goes_to_a_configured_queue() -> None:
    celery_app.loader.import_default_modules()
    configured = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    ours = [
        n for n in celery_app.tasks if n.split(".")[0] in ("linkage", "backbone", "intermediate")
    ]
    assert len(ours) >= 15
    assert {queue_of(name) for name in ours} <= configured


def test_no_two_queues_share_a_binding() -> None:
    keys = [(q.exchange.name, q.routing_key) for q in settings.CELERY_TASK_QUEUES]
    assert len(set(keys)) == len(keys)
    assert all(routing_key for _, routing_key in keys)
    # Every name is the installation's (CELERY_QUEUE): two on one broker never share a queue.
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert all(name.startswith(f"{default}.") for name in STAGES.values())


def test_a_message_lands_in_its_stages_queue_alone(empty_queues: None) -> None:
    before = _queue_depths()
    assert set(before) == {queue.name for queue in settings.CELERY_TASK_QUEUES}

    tasks.notice_deliver.apply_async(args=[0])  # no worker runs here: it stays queued

    after = _queue_depths()
    assert after[STAGES["notices"]] == before[STAGES["notices"]] + 1
    assert {q: n for q, n in after.items() if q != STAGES["notices"]} == {
        q: n for q, n in before.items() if q != STAGES["notices"]
    }


def test_a_periodic_run_still_queued_when_the_next_is_due_is_dropped() -> None:
    """Under a backlog the runs of the sweeps and of the confirmation do not pile up."""
    every = {
        name: entry
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if isinstance(entry["schedule"], int | float)
    }
    assert set(every) == {
        "code-requests-confirm",
        "code-requests-sweep",
        "copies-sweep",
        "inquiries-sweep",
        "notices-sweep",
        "screening-due-sweep",
        "simulators-sweep",
        "business-systems-sweep",
    }
    for name, entry in every.items():
        assert entry["options"]["expires"] == entry["schedule"], name


def test_a_periodic_job_is_acknowledged_when_it_starts_other_work_when_done() -> None:
    """A run longer than RabbitMQ's consumer_timeout must not cost the worker (linkage.tasks,
    PERIODIC); every other task is acknowledged once done, so a worker lost mid-task leaves
    it to another."""
    from config.celery import app

    periodic = {
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("linkage.")
    }
    assert len(periodic) == 11
    ours = {name: task for name, task in app.tasks.items() if name.startswith("linkage.tasks.")}
    assert periodic < set(ours)
    for name, task in ours.items():
        assert task.acks_late is (name not in periodic), name
