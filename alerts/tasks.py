"""Thin Celery tasks over alerts.services (queue ``alerts`` by routing)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="alerts.deliver", ignore_result=True, acks_late=True)
def deliver(notification_id: int) -> str:
    return services.notification_deliver(notification_id=notification_id)


@shared_task(name="alerts.deliver_operator", ignore_result=True, acks_late=True)
def deliver_operator(notification_id: int) -> str:
    return services.operator_notification_deliver(notification_id=notification_id)


@shared_task(name="alerts.sweep", ignore_result=True)
def sweep() -> int:
    swept = services.notifications_sweep()
    return len(swept) + len(services.operator_notifications_sweep())


@shared_task(name="alerts.remind", ignore_result=True)
def remind() -> int:
    return services.notifications_remind()


@shared_task(name="alerts.escalate_due", ignore_result=True)
def escalate_due() -> int:
    return services.escalations_due()
