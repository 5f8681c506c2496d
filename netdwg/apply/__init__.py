"""Executing plans on a host: what it should have (desired), what it has (observe),
the transaction that applies a Plan with rollback (execute), one CLI run (session).

Only this package, host/, guard/ and lab/ touch the system.
"""
