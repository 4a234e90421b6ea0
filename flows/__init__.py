"""The process in Prefect: one flow run per case over small idempotent tasks, durable legal timers,
the outbox dispatcher and the periodic reconciliation.

Flows never write the database themselves: every step is a service call (``services/``), so a flow
run that is re-run (after a crash, a retry or a resume) repeats nothing a person could see twice."""
