"""Subscriptions to newly published processes (issue 13): which subscriptions a process
matches and the other way round (matching, keywords), saving them (services), their pages
under /cuentas/suscripciones/ (forms, views, urls), and the notices' e-mails (notices: the
handler of PROCESS_PUBLISHED, registered with notifications.dispatch by ProcurementConfig).
The rows (Subscription, SubscriptionCriterion, Notice, Digest) are notifications' models:
they name no process, and the outbox keeps the delivery log."""
