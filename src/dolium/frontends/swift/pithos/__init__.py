"""Synnefo Pithos' extensions on the Swift front end, one module a feature:
sharing and groups, listings of what is shared, public links, versions and
`until`, purges, moves, partial updates, and folders by `?delimiter`.

Handlers here read and write the wire; every rule (who may do what, what
the past holds, how bytes are spliced) is the core's."""
