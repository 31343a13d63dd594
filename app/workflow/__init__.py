"""The two state machines (cycle, evaluation), declared once as data, and the services that fire them.

A state changes only here: routes and jobs call these services, which load, check (state,
actor, phase, deadline, data), fire, audit and notify in one transaction.
"""
