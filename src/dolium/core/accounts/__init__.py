"""Accounts (tenants), their users and access keys."""
