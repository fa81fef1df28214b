"""Thin Celery tasks over statuspages.outbox (queue ``alerts`` by routing)."""

from __future__ import annotations

from celery import shared_task

from . import outbox, services


@shared_task(name="statuspages.deliver", ignore_result=True, acks_late=True)
def deliver(message_id: int) -> str:
    return outbox.message_deliver(message_id=message_id)


@shared_task(name="statuspages.sweep", ignore_result=True)
def sweep() -> int:
    services.subscribers_prune_unconfirmed()
    return len(outbox.messages_sweep())
