"""The authorizer's cost per decision, for a user without and with identity policies.

Usage: python bench/authorizer.py [--n 200000]
Prints one line per case: decisions/s and microseconds per decision, for a
GetObject by a user of the bucket's tenant (the most common request). A
program, not a test: it asserts nothing on time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time

from dolium.core.access.actions import Action, Resource
from dolium.core.access.authorizer import Authorizer
from dolium.core.access.s3_evaluator import S3Evaluator
from dolium.model import Bucket, Principal

BUCKET = Bucket(name="bench", owner="acme", created=0.0)
RESOURCE = Resource(BUCKET, "photos/cat.jpg")
USER = Principal(tenant="acme", user="dev", canonical_id="a" * 64)


def _policy(n: int) -> str:
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::other{i}/*"}
        for i in range(n - 1)
    ]
    statements.append({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bench/*"})
    statements.append({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


async def _rate(label: str, principal: Principal, n: int) -> None:
    authorizer = Authorizer([S3Evaluator()])
    assert await authorizer.allows(principal, Action.READ, RESOURCE)
    start = time.perf_counter()
    for _ in range(n):
        await authorizer.decide(principal, Action.READ, RESOURCE)
    took = time.perf_counter() - start
    print(f"{label:<40} {n / took:>12,.0f} decisions/s {took / n * 1e6:>8.2f} us each")


async def main(n: int) -> None:
    await _rate("no policies", USER, n)
    await _rate("1 policy, 2 statements", dataclasses.replace(USER, policies=(_policy(1),)), n)
    three = tuple(_policy(5) for _ in range(3))
    await _rate("3 policies, 6 statements each", dataclasses.replace(USER, policies=three), n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    asyncio.run(main(parser.parse_args().n))
