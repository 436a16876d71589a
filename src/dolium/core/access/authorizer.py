"""The authorizer: one async decision from several evaluators.

Each evaluator judges a request by one family of rules (S3 ACLs and bucket
policies; Swift container and account ACLs; Pithos sharing) and may do I/O
to do so (look up an account's groups, a parent folder's sharing). The
authorizer combines their answers: an explicit Deny from any of them wins;
otherwise any Allow allows; otherwise nothing allows (`Decision.NONE`),
which callers treat as a refusal.

The composition root chooses the evaluators; the core asks the authorizer
only, and never learns which rules answered. What a refusal looks like on
the wire (AccessDenied, or "not found" so that a stranger cannot probe) is
the caller's rule, not the authorizer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dolium.core.access.actions import Action, Decision, Resource
from dolium.model import Principal


class Evaluator(Protocol):
    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        """ALLOW or DENY when this evaluator's rules say so, NONE when they are silent."""
        ...


class Authorizer:
    """`evaluators` may allow or deny; `grantors` only ever allow (Pithos sharing).

    Grantors are asked last, and only when no evaluator allowed or denied:
    once something allows, an allow-only rule cannot change the answer, so
    the I/O it may need is saved on every request the usual rules allow.
    """

    def __init__(self, evaluators: Sequence[Evaluator], grantors: Sequence[Evaluator] = ()) -> None:
        self.evaluators = tuple(evaluators)
        self.grantors = tuple(grantors)

    async def decide(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        allowed = False
        for evaluator in self.evaluators:
            decision = await evaluator.evaluate(principal, action, resource)
            if decision is Decision.DENY:
                return Decision.DENY  # no later Allow can lift it: stop asking
            allowed = allowed or decision is Decision.ALLOW
        if allowed:
            return Decision.ALLOW
        for grantor in self.grantors:
            if await grantor.evaluate(principal, action, resource) is Decision.ALLOW:
                return Decision.ALLOW
        return Decision.NONE

    async def allows(self, principal: Principal, action: Action, resource: Resource) -> bool:
        return await self.decide(principal, action, resource) is Decision.ALLOW
