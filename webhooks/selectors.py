"""Reads other parts of the service share."""

from webhooks.models import Delivery


def backlog() -> int:
    """Deliveries waiting to be sent (pending, for an active endpoint): the metrics' backlog."""
    return Delivery.objects.pending().count()
