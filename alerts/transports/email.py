"""Email through Django's email backend (SMTP configured by EMAIL_*)."""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from uptime import failures

from ..models import Event
from .base import Transport, TransportError, message_for, send_timeout

if TYPE_CHECKING:
    from ..models import Channel, Notification


def _smtp_error(exc: smtplib.SMTPException) -> TransportError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        permanent = bool(codes) and all(
            failures.smtp_reply_is_permanent(code) for code in codes
        )
        return TransportError(f"recipient refused: {codes}", permanent=permanent)
    code = getattr(exc, "smtp_code", None)
    if isinstance(code, int):
        text = getattr(exc, "smtp_error", b"")
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return TransportError(
            f"SMTP {code}: {text}"[:300],
            permanent=failures.smtp_reply_is_permanent(code),
        )
    return TransportError(f"SMTP error: {exc}"[:300])


def _confirmation(channel: Channel) -> tuple[str, str, str]:
    # Imported here: the services import the transports.
    from ..services.confirmation import CONFIRM_MAX_AGE, confirmation_link

    context = {
        "channel": channel,
        "project": channel.project,
        "link": confirmation_link(channel),
        "days": CONFIRM_MAX_AGE.days,
    }
    subject = f"Confirm alerts from {channel.project.name}"
    return (
        subject,
        render_to_string("alerts/email/confirm.txt", context),
        render_to_string("alerts/email/confirm.html", context),
    )


class EmailTransport(Transport):
    target_label = "Email address"
    target_help = "It receives alerts once its recipient confirms it."

    def notify(self, notification: Notification) -> None:
        msg = message_for(notification)
        if msg.event == Event.CONFIRMATION:
            subject, text, html = _confirmation(self.channel)
        else:
            context = {
                "message": msg,
                "channel": self.channel,
                "site_url": settings.SITE_URL,
            }
            subject = msg.subject
            text = render_to_string("alerts/email/alert.txt", context)
            html = render_to_string("alerts/email/alert.html", context)
        email = EmailMultiAlternatives(
            subject=subject.replace("\n", " ")[:250],
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[self.channel.target],
            # The same id on a resend, so a mail client can fold duplicates.
            headers={
                "Message-ID": f"<{notification.uid.hex}@uptime-monitor>",
                "X-Uptime-Event": msg.event,
            },
            connection=get_connection(fail_silently=False, timeout=send_timeout()),
        )
        email.attach_alternative(html, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPException as exc:
            raise _smtp_error(exc) from None
        except OSError as exc:  # refused, unreachable, timed out: try again
            raise TransportError(f"SMTP connection failed: {exc}"[:300]) from None
